/* CO-RE test (must fail against core_target): the fake kernel has two flavors of struct amb
 * that place x differently, so the relocation has two answers. */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

struct amb {
  int x;
} __attribute__((preserve_access_index));

SEC("tc") int read_x(struct amb *a) {
  return a->x;
}

char _license[] SEC("license") = "GPL";
