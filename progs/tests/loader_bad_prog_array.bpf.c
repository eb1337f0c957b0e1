/* Loader test (must fail): a program array (tail calls), declared with function-pointer values. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int tail(struct __sk_buff *skb);

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, int(struct __sk_buff *));
} jump_table SEC(".maps");

SEC("tc") int jumps(struct __sk_buff *skb) {
  bpf_tail_call(skb, &jump_table, 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
