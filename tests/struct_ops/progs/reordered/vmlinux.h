/* A vmlinux.h whose structs hold the fields bpfq maps in another order, with others between
 * them, as another kernel's would: programs built against it must still read bpfq's fields,
 * through CO-RE (tests/struct_ops/core_test.cpp). */
#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)

typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u32 u32;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __s64 s64;
typedef __u64 u64;
typedef _Bool bool;
typedef __s64 ktime_t;
enum { false = 0, true = 1 };

struct bpf_spin_lock { __u32 val; };
struct bpf_list_head { __u64 __a; __u64 __b; } __attribute__((aligned(8)));
struct bpf_list_node { __u64 __a; __u64 __b; __u64 __c; } __attribute__((aligned(8)));
struct bpf_rb_root { __u64 __a; __u64 __b; } __attribute__((aligned(8)));
struct bpf_rb_node { __u64 __a; __u64 __b; __u64 __c; __u64 __d; } __attribute__((aligned(8)));
struct bpf_iter_num { __u64 __a; } __attribute__((aligned(8)));

struct sock_common { unsigned short skc_family; __u32 skc_hash; };
struct sock { __u64 sk_stuff[3]; struct sock_common __sk_common; __u32 sk_mark; };

struct qdisc_skb_cb {
	struct {
		unsigned int pkt_len;
		__u16 slave_dev_queue_mapping;
		__u16 tc_classid;
	};
	unsigned char data[20];
};

struct sk_buff {
	struct sk_buff *next, *prev;
	struct sock *sk;
	char cb[48];
	__u64 _skb_refdst;
	__u32 hash;
	union {
		ktime_t tstamp;
		__u64 skb_mstamp_ns;
	};
	__u16 mac_len;
	__be16 protocol;
	__u32 mark;
	__u32 priority;
	unsigned int data_len;
	unsigned int len;
	unsigned char *head, *data;
};

struct net_device { unsigned long state; unsigned short hard_header_len; unsigned int flags; unsigned int mtu; };
struct netdev_queue { __u64 qdisc_pad[4]; struct net_device *dev; };
struct gnet_stats_queue { __u32 qlen; __u32 backlog; __u32 drops; __u32 requeues; __u32 overlimits; };
struct qdisc_skb_head { struct sk_buff *head; struct sk_buff *tail; __u32 qlen; __u32 lock; };
struct Qdisc_ops;
struct Qdisc {
	int (*enqueue)(struct sk_buff *, struct Qdisc *, struct sk_buff **);
	struct sk_buff *(*dequeue)(struct Qdisc *);
	struct qdisc_skb_head q;
	struct gnet_stats_queue qstats;
	unsigned int flags;
	__u32 handle;
	__u32 parent;
	struct netdev_queue *dev_queue;
	__u32 limit;
	const struct Qdisc_ops *ops;
};

struct nlattr { __u16 nla_len; __u16 nla_type; };
struct netlink_ext_ack { const char *_msg; };
struct bpf_sk_buff_ptr { struct sk_buff *skb; };

struct Qdisc_ops {
	struct Qdisc_ops *next;
	const void *cl_ops;
	char id[16];
	int priv_size;
	unsigned int static_flags;
	int (*enqueue)(struct sk_buff *skb, struct Qdisc *sch, struct sk_buff **to_free);
	struct sk_buff *(*dequeue)(struct Qdisc *sch);
	struct sk_buff *(*peek)(struct Qdisc *sch);
	int (*init)(struct Qdisc *sch, struct nlattr *arg, struct netlink_ext_ack *extack);
	void (*reset)(struct Qdisc *sch);
	void (*destroy)(struct Qdisc *sch);
	int (*change)(struct Qdisc *sch, struct nlattr *arg, struct netlink_ext_ack *extack);
	void *owner;
};

#pragma clang attribute pop

#endif /* __VMLINUX_H__ */
