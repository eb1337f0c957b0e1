/* Runtime test: programs that misuse helpers; checked mode stops them with a clear message. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct io {
  __u64 a, b, c, d;
  __s64 out[8];
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u64);
  __type(value, __u64);
} table SEC(".maps");

const volatile __u32 limit = 3;

/* The key pointer comes from the context: an arbitrary address. */
SEC("faults/wild_key") int wild_key(struct io *io) {
  __u64 value = 1;
  return bpf_map_update_elem(&table, (void *)io->a, &value, BPF_ANY);
}

/* The value reaches past the end of the context. */
SEC("faults/short_value") int short_value(struct io *io) {
  __u64 key = 1;
  return bpf_map_update_elem(&table, &key, (char *)&io->out[7] + 4, BPF_ANY);
}

/* Writing through a value pointer past its end. */
SEC("faults/value_overrun") int value_overrun(struct io *io) {
  __u64 key = 1, value = 5;
  bpf_map_update_elem(&table, &key, &value, BPF_ANY);
  __u64 *v = bpf_map_lookup_elem(&table, &key);
  if (!v)
    return 1;
  v[io->a] = 9;
  return 0;
}

/* A .rodata variable is read-only to the program. */
SEC("faults/rodata_write") int rodata_write(struct io *io) {
  *(volatile __u32 *)&limit = 4;
  return 0;
}

/* A loop callback that is not a sub-program. */
SEC("faults/bad_callback") int bad_callback(struct io *io) {
  return bpf_loop(1, (void *)io->a, 0, 0);
}

char LICENSE[] SEC("license") = "GPL";
