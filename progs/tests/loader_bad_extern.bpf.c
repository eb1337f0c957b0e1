/* Loader test (must fail): calls an extern function that is not a __ksym kfunc. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int not_a_kfunc(int x);

SEC("tc") int calls_extern(struct __sk_buff *skb) {
  return not_a_kfunc(skb->len);
}

char LICENSE[] SEC("license") = "GPL";
