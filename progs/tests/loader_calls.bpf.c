/* Loader test: sub-programs in .text (shared, nested, recursive chains), bpf_loop callbacks,
 * several programs per section, and a global (non-static) sub-program. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u32 scale = 3; /* .data: referenced from a sub-program, not from the entry */

static __noinline __u64 leaf(__u64 x) {
  return x * scale + 1;
}

static __noinline __u64 middle(__u64 x) {
  return leaf(x) + leaf(x >> 1);
}

/* only reached through middle(): must be appended even though the entry never names it */
static __noinline __u64 top(__u64 x) {
  return middle(x) ^ 0x55;
}

struct loop_ctx {
  __u64 sum;
};

static int add_index(__u32 index, void *data) {
  struct loop_ctx *ctx = data;
  ctx->sum += leaf(index);
  return 0;
}

static int count_up(__u32 index, void *data) {
  ((struct loop_ctx *)data)->sum++;
  return 0;
}

__noinline int global_helper(struct __sk_buff *skb) {
  return skb ? (int)skb->len : 0;
}

SEC("qdisc/enqueue") int uses_chain(struct __sk_buff *skb) {
  return (int)top(skb->len);
}

SEC("qdisc/dequeue") int uses_loop(struct __sk_buff *skb) {
  struct loop_ctx ctx = {.sum = 0};
  bpf_loop(skb->len & 15, add_index, &ctx, 0);
  bpf_loop(4, count_up, &ctx, 0);
  return (int)ctx.sum;
}

SEC("tc") int tc_first(struct __sk_buff *skb) {
  return (int)leaf(skb->len) + global_helper(skb);
}

SEC("tc") int tc_second(struct __sk_buff *skb) {
  return skb->mark == 7 ? 2 : 0;
}

SEC("xdp") int no_calls(struct xdp_md *ctx) {
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
