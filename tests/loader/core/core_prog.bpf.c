/* CO-RE test: reads and writes kernel structs through preserve_access_index types whose layout
 * differs from the fake kernel's (core_target.bpf.c), the way Linux's struct_ops qdiscs access
 * struct sk_buff and struct Qdisc through vmlinux.h. core_relocs_test checks each relocation. */
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

/* The kernel's values differ (2, 5, 11, -3) and it has no SKB_DROP_GONE. */
enum skb_drop_reason { SKB_NOT_DROPPED, SKB_DROP_FULL, SKB_DROP_GONE, SKB_DROP_NEGATIVE = -1 };

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)
struct sk_buff {
  __u32 len;
  __u32 mark; /* u16 in the kernel */
  union {
    __u64 tstamp;
    __u64 skb_mstamp_ns;
  };
  char cb[48];
  int hash; /* long in the kernel: signed, so the load cannot be resized */
  int prio : 5;
  unsigned int flag : 3;
  __u64 not_in_kernel;
  enum skb_drop_reason reason;
};
struct qdisc_skb_head {
  __u32 qlen;
};
struct Qdisc {
  struct qdisc_skb_head q;
};
/* A flavor: matches the kernel's struct sk_buff by its essential name. */
struct sk_buff___old {
  __u32 len;
  int gone;
};
struct not_in_kernel {
  int a;
};
#pragma clang attribute pop

SEC("tc") int read_fields(struct sk_buff *skb) {
  return skb->len + skb->tstamp + skb->mark;
}

SEC("tc") int write_fields(struct sk_buff *skb) {
  skb->tstamp = skb->len;
  skb->cb[8] = 1; /* the address of cb: an ALU relocation */
  return 0;
}

SEC("tc") int queue_length(struct Qdisc *sch) {
  sch->q.qlen++;
  __sync_fetch_and_add(&sch->q.qlen, 2);
  return sch->q.qlen;
}

SEC("tc") int missing_field(struct sk_buff *skb) {
  return skb->not_in_kernel;
}

SEC("tc") int signed_resized(struct sk_buff *skb) {
  return skb->hash;
}

SEC("tc") int flavor(struct sk_buff___old *skb) {
  return skb->len + bpf_core_field_exists(skb->gone) + bpf_core_field_exists(struct sk_buff___old, len);
}

SEC("tc") int type_queries(struct sk_buff *skb) {
  return bpf_core_type_size(struct sk_buff) + bpf_core_type_exists(struct not_in_kernel) +
         bpf_core_type_exists(struct Qdisc) + bpf_core_field_size(skb->cb);
}

SEC("tc") int type_ids(struct sk_buff *skb) {
  return bpf_core_type_id_local(struct Qdisc) + bpf_core_type_id_kernel(struct Qdisc);
}

SEC("tc") int no_such_type(struct sk_buff *skb) {
  return bpf_core_type_size(struct not_in_kernel);
}

SEC("tc") int enum_queries(struct sk_buff *skb) {
  return bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_FULL) +
         bpf_core_enum_value_exists(enum skb_drop_reason, SKB_DROP_GONE) +
         bpf_core_enum_value_exists(enum skb_drop_reason, SKB_NOT_DROPPED) +
         bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_NEGATIVE);
}

SEC("tc") int no_such_enumerator(struct sk_buff *skb) {
  return bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_GONE);
}

SEC("tc") int bitfields(struct sk_buff *skb) {
  return BPF_CORE_READ_BITFIELD(skb, prio) + BPF_CORE_READ_BITFIELD(skb, flag);
}

/* A sub-program: its relocations move with it into each program that calls it. */
static __attribute__((noinline)) int length_of(struct sk_buff *skb) {
  return skb->len;
}

SEC("tc") int calls_sub(struct sk_buff *skb) {
  return length_of(skb) + 1;
}

char _license[] SEC("license") = "GPL";
