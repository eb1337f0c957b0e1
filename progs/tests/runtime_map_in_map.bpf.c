/* Runtime test: ARRAY_OF_MAPS, HASH_OF_MAPS and RBTREE_OF_MAPS; inner maps used as helper
 * arguments. User space creates and installs the inner maps. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpfq/bpf/map_types.h>

struct io {
  __u64 a, b, c, d;
  __s64 out[8];
};

struct counter_array {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 2);
  __type(key, __u32);
  __array(values, struct counter_array);
} by_index SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, struct counter_array);
} by_id SEC(".maps");

/* A flow queue: packets (here plain u64 ids) in arrival order. */
struct flow_queue {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, 8);
  __type(value, __u64);
};

/* Flows ordered by their (big-endian) virtual finish time. */
struct {
  __uint(type, BPF_MAP_TYPE_RBTREE_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u64);
  __array(values, struct flow_queue);
} flows SEC(".maps");

/* Adds b to element c of the inner array at index a (ARRAY_OF_MAPS) and at id a (HASH_OF_MAPS). */
SEC("mim/count") int count(struct io *io) {
  __u32 outer = io->a, elem = io->c;
  void *inner = bpf_map_lookup_elem(&by_index, &outer);
  if (!inner)
    return 1;
  __u64 *v = bpf_map_lookup_elem(inner, &elem);
  if (!v)
    return 2;
  *v += io->b;
  io->out[0] = *v;
  void *other = bpf_map_lookup_elem(&by_id, &outer);
  if (!other)
    return 3;
  __u64 value = io->b * 100;
  io->out[1] = bpf_map_update_elem(other, &elem, &value, BPF_ANY);
  return 0;
}

/* Dequeues one packet from the flow with the smallest key, then re-inserts the flow under
 * key b if it still has packets (the pattern of a fair queueing scheduler). */
SEC("mim/dequeue") int dequeue(struct io *io) {
  void *q = 0;
  io->out[0] = bpf_map_pop_elem(&flows, &q);
  if (io->out[0] || !q)
    return 1;
  __u64 packet = 0;
  io->out[1] = bpf_map_pop_elem(q, &packet);
  io->out[2] = packet;
  __u64 left = 0;
  if (bpf_map_peek_elem(q, &left) == 0) {
    __u64 key = __builtin_bswap64(io->b);
    io->out[3] = bpf_map_update_elem(&flows, &key, &q, BPF_NOEXIST);
  } else {
    io->out[3] = -1;
  }
  return 0;
}

/* A forged map pointer: an address that is no map. */
SEC("mim/forged") int forged(struct io *io) {
  __u64 elem = 0;
  void *fake = (void *)io->a;
  return bpf_map_lookup_elem(fake, &elem) != 0;
}

/* Inserting something that is not a map into a map-of-maps. */
SEC("mim/bad_insert") int bad_insert(struct io *io) {
  __u64 key = 1;
  __u64 not_a_map = io->a;
  return bpf_map_update_elem(&flows, &key, &not_a_map, BPF_ANY);
}

char LICENSE[] SEC("license") = "GPL";
