/* CO-RE test: __kconfig externs become a read-only .kconfig map. Its only CO-RE relocation is
 * TYPE_ID_LOCAL (as in bpf_obj_new), which needs no target BTF. */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

extern unsigned CONFIG_HZ __kconfig;
extern _Bool CONFIG_BPF_SYSCALL __kconfig __weak;
extern unsigned long long CONFIG_BIG __kconfig __weak;
extern int CONFIG_NEGATIVE __kconfig __weak;
extern char CONFIG_CHAR __kconfig __weak;
extern enum libbpf_tristate CONFIG_TRISTATE __kconfig __weak;
extern int CONFIG_UNUSED __kconfig __weak; /* never referenced: no symbol, no slot */

struct node {
  long key;
};

SEC("tc") int read_config(void *ctx) {
  return CONFIG_HZ + CONFIG_BPF_SYSCALL + CONFIG_BIG + CONFIG_NEGATIVE + CONFIG_CHAR +
         CONFIG_TRISTATE + bpf_core_type_id_local(struct node);
}

char _license[] SEC("license") = "GPL";
