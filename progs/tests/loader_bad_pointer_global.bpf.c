/* Loader test (must fail): a global variable that holds the address of another global. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

int target = 1;
int *pointer_to_target = &target;

SEC("tc") int reads_pointer(struct __sk_buff *skb) {
  return pointer_to_target != 0;
}

char LICENSE[] SEC("license") = "GPL";
