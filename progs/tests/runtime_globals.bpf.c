/* Runtime test: global variables in .data/.bss/.rodata set and read from user space, static
 * __noinline sub-programs, bpf_printk, time and random numbers. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct io {
  __u64 a, b, c, d;
  __s64 out[8];
};

/* Parameters (tc-style): user space writes them before the first run. */
const volatile __u32 quantum = 1514;
const volatile __u64 scale = 1;
const volatile char label[8] = "default";

__u64 total = 100;        /* .data */
__u32 runs;               /* .bss */
__u64 history[4];         /* .bss */
static __u32 hidden_calls; /* static: still visible to user space */

static __noinline __u64 weigh(__u64 len) {
  hidden_calls++;
  return len * scale + quantum;
}

static __noinline __u64 add3(__u64 x, __u64 y, __u64 z) { return weigh(x) + y + z; }

SEC("globals/account") int account(struct io *io) {
  __u64 w = add3(io->a, io->b, io->c);
  total += w;
  history[runs & 3] = w;
  runs++;
  io->out[0] = w;
  io->out[1] = total;
  io->out[2] = label[0];
  io->out[3] = hidden_calls;
  return runs;
}

SEC("globals/printk") int printk(struct io *io) {
  bpf_printk("quantum=%u label=%s", quantum, label);
  bpf_printk("neg=%d hex=%x big=%llu", (int)io->a, (__u32)io->b, io->c);
  bpf_printk("ch=%c pct=%% pad=[%5d] [%-4u]", 'Z', 42, 7);
  char local[] = "stack string";
  bpf_printk("s=%s p=%p", local, (void *)0x1234);
  io->out[0] = bpf_printk("llx=%llx lld=%lld", 0xdeadbeefcafeULL, -5LL);
  bpf_printk("four %d %u %x %s", -1, 2, 0xff, label); /* more than 3: bpf_trace_vprintk */
  return 0;
}

/* %s of an address the program may not read. */
SEC("globals/printk_string") int printk_string(struct io *io) {
  return bpf_printk("s=%s|", (const char *)io->a);
}

SEC("globals/bad_printk") int bad_printk(struct io *io) {
  static const char fmt[] = "bad %q";
  return bpf_trace_printk(fmt, sizeof(fmt), 1);
}

SEC("globals/random") int random(struct io *io) {
  for (int i = 0; i < 4; i++)
    io->out[i] = bpf_get_prandom_u32();
  return 0;
}

SEC("globals/time") int time(struct io *io) {
  io->out[0] = bpf_ktime_get_ns();
  io->out[1] = bpf_ktime_get_boot_ns();
  return 0;
}

/* Constant tables clang places in merge sections: 16 bytes in .rodata.cst16, 8 in .rodata.cst8,
 * and a string literal in .rodata.str1.1. */
static const __u8 prio2band[16] = {1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};
static const __u16 weights[4] = {3, 5, 7, 11};

static __noinline char letter(const char *word, __u64 i) { return word[i & 7]; }

SEC("globals/constant_tables") int constant_tables(struct io *io) {
  io->out[0] = prio2band[io->a & 15];
  io->out[1] = weights[io->b & 3];
  io->out[2] = letter("lettered", io->c);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
