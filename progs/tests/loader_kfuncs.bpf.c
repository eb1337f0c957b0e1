/* Loader test: kfunc externs (__ksym), bpf_kptr_xchg on a __kptr_ref field. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpfq/bpf/map_types.h>

#ifndef __kptr_ref
#define __kptr_ref __attribute__((btf_type_tag("kptr_ref")))
#endif

struct sk_buff;

extern struct sk_buff *bpf_skb_acquire(struct sk_buff *p) __ksym;
extern struct sk_buff *bpf_skb_kptr_get(struct sk_buff **pp) __ksym;
extern void bpf_skb_release(struct sk_buff *p) __ksym;

struct held {
  struct sk_buff __kptr_ref *skb;
};

struct {
  __uint(type, BPF_MAP_TYPE_RBTREE);
  __uint(max_entries, 64);
  __type(key, __u64);
  __type(value, struct held);
} held_packets SEC(".maps");

SEC("qdisc/enqueue") int hold(struct __sk_buff *ctx) {
  __u64 key = ctx->tstamp;
  struct held *h = bpf_map_lookup_elem(&held_packets, &key);
  if (!h)
    return 1;
  struct sk_buff *ref = bpf_skb_acquire((struct sk_buff *)ctx);
  if (!ref)
    return 1;
  ref = bpf_kptr_xchg(&h->skb, ref);
  if (ref)
    bpf_skb_release(ref);
  return 0;
}

SEC("qdisc/dequeue") int release(struct __sk_buff *ctx) {
  __u64 key = 0;
  struct held *h = bpf_map_lookup_elem(&held_packets, &key);
  if (!h)
    return 0;
  struct sk_buff *ref = bpf_skb_kptr_get(&h->skb);
  if (ref)
    bpf_skb_release(ref);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
