/* Runtime test: every plain map type, driven from a program and checked from user space. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpfq/bpf/map_types.h>

/* The test's context: inputs in a..d, results in out[]. */
struct io {
  __u64 a, b, c, d;
  __s64 out[8];
};

struct flow {
  __u64 bytes;
  __u32 packets;
  __u32 mark;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, struct flow);
} flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} slots SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
} recent SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, 4);
  __type(value, __u32);
} fifo SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_STACK);
  __uint(max_entries, 4);
  __type(value, __u32);
} lifo SEC(".maps");

/* Keys are big-endian ranks: the rbtree orders keys by their bytes. */
struct {
  __uint(type, BPF_MAP_TYPE_RBTREE);
  __uint(max_entries, 16);
  __type(key, __u64);
  __type(value, __u64);
} ordered SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PIFO);
  __uint(max_entries, 16);
  __uint(key_size, 4);
  __uint(value_size, 4);
  __uint(map_extra, 64);
} pifo SEC(".maps");

/* HASH: insert key a = {b, c, d}; a second insert with BPF_NOEXIST fails; read and bump the
 * entry user space put at key 77; delete an absent key. */
SEC("maps/hash") int hash_ops(struct io *io) {
  __u32 key = io->a;
  struct flow f = {.bytes = io->b, .packets = io->c, .mark = io->d};
  io->out[0] = bpf_map_update_elem(&flows, &key, &f, BPF_ANY);
  io->out[1] = bpf_map_update_elem(&flows, &key, &f, BPF_NOEXIST);
  __u32 user_key = 77;
  struct flow *u = bpf_map_lookup_elem(&flows, &user_key);
  if (u) {
    io->out[2] = u->bytes;
    u->packets += 1;
  } else {
    io->out[2] = -1;
  }
  __u32 absent = 12345;
  io->out[3] = bpf_map_delete_elem(&flows, &absent);
  io->out[4] = bpf_map_lookup_elem(&flows, &absent) == 0;
  return 0;
}

SEC("maps/hash_delete") int hash_delete(struct io *io) {
  __u32 key = io->a;
  return bpf_map_delete_elem(&flows, &key);
}

/* ARRAY: add b to slot a in place, write slot 3, try an index past the end. */
SEC("maps/array") int array_ops(struct io *io) {
  __u32 idx = io->a;
  __u64 *v = bpf_map_lookup_elem(&slots, &idx);
  if (!v)
    return 1;
  *v += io->b;
  io->out[0] = *v;
  __u32 three = 3, nine = 9;
  __u64 value = 0x1122334455667788ULL;
  io->out[1] = bpf_map_update_elem(&slots, &three, &value, BPF_ANY);
  io->out[2] = bpf_map_update_elem(&slots, &nine, &value, BPF_ANY);
  io->out[3] = bpf_map_lookup_elem(&slots, &nine) == 0;
  io->out[4] = bpf_map_delete_elem(&slots, &three);
  return 0;
}

SEC("maps/percpu_array") int percpu_ops(struct io *io) {
  __u32 idx = 1;
  __u64 *v = bpf_map_lookup_elem(&counters, &idx);
  if (!v)
    return 1;
  *v += io->a;
  io->out[0] = *v;
  io->out[1] = bpf_get_smp_processor_id();
  return 0;
}

/* LRU_HASH with room for 2: insert 1 and 2, use 1, insert 3: 2 is evicted. */
SEC("maps/lru_hash") int lru_ops(struct io *io) {
  __u32 k1 = 1, k2 = 2, k3 = 3, v1 = 10, v2 = 20, v3 = 30;
  io->out[0] = bpf_map_update_elem(&recent, &k1, &v1, BPF_ANY);
  io->out[1] = bpf_map_update_elem(&recent, &k2, &v2, BPF_ANY);
  __u32 *hit = bpf_map_lookup_elem(&recent, &k1);
  io->out[2] = hit ? *hit : -1;
  io->out[3] = bpf_map_update_elem(&recent, &k3, &v3, BPF_ANY);
  io->out[4] = bpf_map_lookup_elem(&recent, &k2) == 0;
  return 0;
}

/* QUEUE and STACK: push a, b, c; pop one and peek the next. */
SEC("maps/queue") int queue_ops(struct io *io) {
  __u32 a = io->a, b = io->b, c = io->c, got = 0;
  io->out[0] = bpf_map_push_elem(&fifo, &a, 0);
  bpf_map_push_elem(&fifo, &b, 0);
  bpf_map_push_elem(&fifo, &c, 0);
  io->out[1] = bpf_map_pop_elem(&fifo, &got);
  io->out[2] = got;
  bpf_map_peek_elem(&fifo, &got);
  io->out[3] = got;
  return 0;
}

SEC("maps/queue_pop") int queue_pop(struct io *io) {
  __u32 got = 0;
  io->out[0] = bpf_map_pop_elem(&fifo, &got);
  io->out[1] = got;
  return 0;
}

SEC("maps/stack") int stack_ops(struct io *io) {
  __u32 a = io->a, b = io->b, c = io->c, got = 0;
  io->out[0] = bpf_map_push_elem(&lifo, &a, 0);
  bpf_map_push_elem(&lifo, &b, 0);
  bpf_map_push_elem(&lifo, &c, 0);
  io->out[1] = bpf_map_pop_elem(&lifo, &got);
  io->out[2] = got;
  bpf_map_peek_elem(&lifo, &got);
  io->out[3] = got;
  return 0;
}

/* RBTREE: insert ranks a, b, c (values rank * 10); pop the minimum. */
SEC("maps/rbtree") int rbtree_ops(struct io *io) {
  __u64 ranks[3] = {io->a, io->b, io->c};
  for (int i = 0; i < 3; i++) {
    __u64 key = __builtin_bswap64(ranks[i]);
    __u64 value = ranks[i] * 10;
    io->out[i] = bpf_map_update_elem(&ordered, &key, &value, BPF_NOEXIST);
  }
  __u64 min = 0;
  io->out[3] = bpf_map_pop_elem(&ordered, &min);
  io->out[4] = min;
  return 0;
}

SEC("maps/rbtree_pop") int rbtree_pop(struct io *io) {
  __u64 value = 0;
  io->out[0] = bpf_map_pop_elem(&ordered, &value);
  io->out[1] = value;
  return 0;
}

/* PIFO: push value a at rank b, then pop the lowest rank. */
SEC("maps/pifo_push") int pifo_push(struct io *io) {
  __u32 value = io->a;
  return bpf_map_push_elem(&pifo, &value, io->b);
}

SEC("maps/pifo_pop") int pifo_pop(struct io *io) {
  __u32 value = 0;
  io->out[0] = bpf_map_pop_elem(&pifo, &value);
  io->out[1] = value;
  __u32 rank = io->a;
  __u32 *count = bpf_map_lookup_elem(&pifo, &rank);
  io->out[2] = count ? *count : -1;
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
