/* Loader test (must fail): an entry program declared static. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tc") static int hidden(struct __sk_buff *skb) {
  return skb->len > 100;
}

char LICENSE[] SEC("license") = "GPL";
