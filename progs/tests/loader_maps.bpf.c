/* Loader test: BTF-defined maps of several types, kptr fields, map-in-map, global data. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpfq/bpf/map_types.h>

#ifndef __kptr_ref
#define __kptr_ref __attribute__((btf_type_tag("kptr_ref")))
#endif
#ifndef __kptr
#define __kptr __attribute__((btf_type_tag("kptr")))
#endif

struct sk_buff;

/* A queued packet: the skb reference sits at offset 8. */
struct slot {
  __u64 tstamp;
  struct sk_buff __kptr_ref *skb;
};

/* kptrs nested in an array of structs, after a plain pointer that must not count. */
struct flow_state {
  __u32 id;
  __u32 pad;
  void *not_a_kptr;             /* offset 8 */
  struct slot ring[2];          /* kptrs at 24 and 40 */
  struct sk_buff __kptr *peek;  /* offset 48 */
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
  __uint(map_flags, BPF_F_NO_PREALLOC);
} flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 16);
  __uint(key_size, 4);
  __uint(value_size, 24);
} stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_QUEUE);
  __uint(max_entries, 64);
  __type(value, __u32);
} backlog SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RBTREE);
  __uint(max_entries, 256);
  __type(key, __u64);
  __type(value, struct slot);
} pq SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, struct flow_state);
  __uint(map_extra, 0x12345);
} flow_states SEC(".maps");

struct per_class_queue {
  __uint(type, BPF_MAP_TYPE_RBTREE);
  __uint(max_entries, 32);
  __type(key, __u64);
  __type(value, struct slot);
};

struct {
  __uint(type, BPF_MAP_TYPE_RBTREE_OF_MAPS);
  __uint(max_entries, 4);
  __type(key, __u32);
  __array(values, struct per_class_queue);
} classes SEC(".maps");

struct counter_array {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
};

/* static: clang relocates against the .maps section symbol instead of a map symbol */
static struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, 3);
  __type(key, __u32);
  __array(values, struct counter_array);
} per_cpu_counters SEC(".maps");

__u64 packets = 7;                         /* .data offset 0 */
__u32 drops = 0x11223344;                  /* .data offset 8 */
__u64 bytes_total;                         /* .bss offset 0 */
__u32 last_len;                            /* .bss offset 8 */
const volatile __u32 quantum = 1514;       /* .rodata offset 0 */
const volatile __u64 horizon_ns = 2000000; /* .rodata offset 8 */
__u32 custom_value SEC(".data.custom") = 0xabcdef01;
const char custom_table[4] SEC(".rodata.custom") = {9, 8, 7, 6};

SEC("qdisc/enqueue") int enqueue(struct __sk_buff *skb) {
  __u32 key = skb->hash;
  __u64 *seen = bpf_map_lookup_elem(&flows, &key);
  if (seen)
    __sync_fetch_and_add(seen, 1);
  __u64 *st = bpf_map_lookup_elem(&stats, &key);
  if (st)
    *st += skb->len;
  bpf_map_push_elem(&backlog, &key, 0);
  __u64 rank = skb->tstamp;
  struct slot s = {.tstamp = rank};
  bpf_map_update_elem(&pq, &rank, &s, BPF_NOEXIST);
  bpf_map_lookup_elem(&flow_states, &key);
  bpf_map_lookup_elem(&classes, &key);
  bpf_map_lookup_elem(&per_cpu_counters, &key);
  packets++;
  drops += 2;
  bytes_total += skb->len;
  last_len = skb->len;
  bpf_trace_printk("enq %u\n", sizeof("enq %u\n"), skb->len);
  return skb->len > quantum + custom_value + custom_table[skb->len & 3] ? 1 : 0;
}

SEC("qdisc/dequeue") int dequeue(struct __sk_buff *skb) {
  __u64 *rec = bpf_ringbuf_reserve(&events, 8, 0);
  if (rec) {
    *rec = horizon_ns;
    bpf_ringbuf_submit(rec, 0);
  }
  return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
