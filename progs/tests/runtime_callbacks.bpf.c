/* Runtime test: bpf_loop, bpf_for_each_map_elem, bpf_spin_lock and bpf_kptr_xchg. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef __kptr_ref
#define __kptr_ref __attribute__((btf_type_tag("kptr_ref")))
#endif

struct io {
  __u64 a, b, c, d;
  __s64 out[8];
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u64);
} table SEC(".maps");

struct locked {
  struct bpf_spin_lock lock;
  __u32 pad;
  __u64 value;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct locked);
} guarded SEC(".maps");

struct sk_buff;
struct holder {
  struct sk_buff __kptr_ref *skb;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct holder);
} held SEC(".maps");

struct sum_ctx {
  __u64 sum;
  __u64 limit;
};

static int add_index(__u32 index, struct sum_ctx *ctx) {
  ctx->sum += index;
  return ctx->sum >= ctx->limit; /* 1 stops the loop */
}

/* Sums 0..a-1, stopping once the sum reaches b. */
SEC("cb/loop") int loop(struct io *io) {
  struct sum_ctx ctx = {.sum = 0, .limit = io->b};
  io->out[0] = bpf_loop(io->a, add_index, &ctx, 0);
  io->out[1] = ctx.sum;
  io->out[2] = bpf_loop(1, add_index, &ctx, 1); /* flags must be 0 */
  io->out[3] = bpf_loop(1 << 24, add_index, &ctx, 0); /* too many */
  return 0;
}

static long visit(void *map, __u32 *key, __u64 *value, struct sum_ctx *ctx) {
  ctx->sum += *key * 1000 + *value;
  *value += 1; /* values are writable */
  return ++ctx->limit >= 100;
}

/* Visits the table user space filled; every value is incremented. */
SEC("cb/for_each") int for_each(struct io *io) {
  struct sum_ctx ctx = {0, io->a};
  io->out[0] = bpf_for_each_map_elem(&table, visit, &ctx, 0);
  io->out[1] = ctx.sum;
  return 0;
}

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} indexed SEC(".maps");

struct kept_ctx {
  __u64 key_address;
  __u64 stop_at;
};

static long keep_key(void *map, __u32 *key, __u64 *value, struct kept_ctx *ctx) {
  ctx->key_address = (__u64)key;
  return *key >= ctx->stop_at;
}

static int nothing(__u32 index, void *ctx) { return 0; }

/* Keeps the last visited key's pointer past the walk and reads it after other helper calls:
 * it still holds that key (an ARRAY's keys are not map memory). */
SEC("cb/kept_key") int kept_key(struct io *io) {
  struct kept_ctx ctx = {0, io->a};
  io->out[0] = bpf_for_each_map_elem(&indexed, keep_key, &ctx, 0);
  bpf_loop(3, nothing, 0, 0);
  io->out[1] = *(__u32 *)ctx.key_address;
  return 0;
}

SEC("cb/spin_lock") int spin_lock(struct io *io) {
  __u32 zero = 0;
  struct locked *l = bpf_map_lookup_elem(&guarded, &zero);
  if (!l)
    return 1;
  bpf_spin_lock(&l->lock);
  l->value += io->a;
  io->out[0] = l->value;
  bpf_spin_unlock(&l->lock);
  return 0;
}

SEC("cb/double_lock") int double_lock(struct io *io) {
  __u32 zero = 0;
  struct locked *l = bpf_map_lookup_elem(&guarded, &zero);
  if (!l)
    return 1;
  bpf_spin_lock(&l->lock);
  bpf_spin_lock(&l->lock);
  return 0;
}

/* Swaps the pointer a into the kptr field and returns the previous one. */
SEC("cb/kptr_xchg") int kptr_xchg(struct io *io) {
  __u32 zero = 0;
  struct holder *h = bpf_map_lookup_elem(&held, &zero);
  if (!h)
    return 1;
  struct sk_buff *old = bpf_kptr_xchg(&h->skb, (struct sk_buff *)io->a);
  io->out[0] = (__u64)old;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
