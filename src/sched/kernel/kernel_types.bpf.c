/* bpfq's kernel, as BTF: the kernel types a qdisc program of Linux's struct_ops API sees
 * (struct sk_buff, struct Qdisc, struct Qdisc_ops, …), laid out as bpfq's own memory. CO-RE
 * relocations of programs built against any vmlinux.h (this host's or `bpfq btf dump`'s) are
 * resolved against these types, so `skb->tstamp` reads bpfq's packet and `sch->q.qlen` bpfq's
 * qdisc view. Compiled by clang into BTF at build time (src/sched/CMakeLists.txt); the C++
 * side (include/bpfq/sched/kernel_view.hpp) mirrors every offset, and a test checks both agree.
 *
 * Members named __bpfq_pad* only place the real ones; programs never use them. */
typedef signed char __s8;
typedef unsigned char __u8;
typedef short __s16;
typedef unsigned short __u16;
typedef int __s32;
typedef unsigned int __u32;
typedef long long __s64;
typedef unsigned long long __u64;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;
typedef __s64 ktime_t;
typedef __u32 spinlock_t;

enum bpfq_bool { false = 0, true = 1 };

/* ---- BPF's map types and update flags (include/uapi/linux/bpf.h), for BTF-defined maps ---- */
enum bpf_map_type {
	BPF_MAP_TYPE_UNSPEC, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_PROG_ARRAY,
	BPF_MAP_TYPE_PERF_EVENT_ARRAY, BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_PERCPU_ARRAY,
	BPF_MAP_TYPE_STACK_TRACE, BPF_MAP_TYPE_CGROUP_ARRAY, BPF_MAP_TYPE_LRU_HASH,
	BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_LPM_TRIE, BPF_MAP_TYPE_ARRAY_OF_MAPS,
	BPF_MAP_TYPE_HASH_OF_MAPS, BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_SOCKMAP, BPF_MAP_TYPE_CPUMAP,
	BPF_MAP_TYPE_XSKMAP, BPF_MAP_TYPE_SOCKHASH, BPF_MAP_TYPE_CGROUP_STORAGE,
	BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, BPF_MAP_TYPE_QUEUE,
	BPF_MAP_TYPE_STACK, BPF_MAP_TYPE_SK_STORAGE, BPF_MAP_TYPE_DEVMAP_HASH, BPF_MAP_TYPE_STRUCT_OPS,
	BPF_MAP_TYPE_RINGBUF, BPF_MAP_TYPE_INODE_STORAGE, BPF_MAP_TYPE_TASK_STORAGE,
	BPF_MAP_TYPE_BLOOM_FILTER, BPF_MAP_TYPE_USER_RINGBUF, BPF_MAP_TYPE_CGRP_STORAGE,
	BPF_MAP_TYPE_ARENA,
};
enum bpf_map_update_flag { BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2, BPF_F_LOCK = 4 };

/* ---- BPF's opaque objects (include/uapi/linux/bpf.h) ---- */
struct bpf_spin_lock { __u32 val; };
struct bpf_list_head { __u64 __opaque[2]; } __attribute__((aligned(8)));
struct bpf_list_node { __u64 __opaque[3]; } __attribute__((aligned(8)));
struct bpf_rb_root { __u64 __opaque[2]; } __attribute__((aligned(8)));
struct bpf_rb_node { __u64 __opaque[4]; } __attribute__((aligned(8)));
struct bpf_refcount { __u32 __opaque[1]; } __attribute__((aligned(4)));
struct bpf_iter_num { __u64 __opaque[1]; } __attribute__((aligned(8)));
struct bpf_dynptr { __u64 __opaque[2]; } __attribute__((aligned(8)));
struct bpf_timer { __u64 __opaque[2]; } __attribute__((aligned(8)));

/* ---- sockets: bpfq's packets have none (skb->sk is NULL), the types exist for CO-RE ---- */
enum bpfq_tcp_state {
	TCP_ESTABLISHED = 1, TCP_SYN_SENT, TCP_SYN_RECV, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_TIME_WAIT,
	TCP_CLOSE, TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_LISTEN, TCP_CLOSING, TCP_NEW_SYN_RECV,
	TCP_BOUND_INACTIVE, TCP_MAX_STATES,
};
enum bpfq_tcp_state_flag {
	TCPF_ESTABLISHED = 1 << TCP_ESTABLISHED, TCPF_SYN_SENT = 1 << TCP_SYN_SENT,
	TCPF_SYN_RECV = 1 << TCP_SYN_RECV, TCPF_FIN_WAIT1 = 1 << TCP_FIN_WAIT1,
	TCPF_FIN_WAIT2 = 1 << TCP_FIN_WAIT2, TCPF_TIME_WAIT = 1 << TCP_TIME_WAIT,
	TCPF_CLOSE = 1 << TCP_CLOSE, TCPF_CLOSE_WAIT = 1 << TCP_CLOSE_WAIT,
	TCPF_LAST_ACK = 1 << TCP_LAST_ACK, TCPF_LISTEN = 1 << TCP_LISTEN,
	TCPF_CLOSING = 1 << TCP_CLOSING, TCPF_NEW_SYN_RECV = 1 << TCP_NEW_SYN_RECV,
};
struct sock_common {
	__u32 skc_hash;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	__u8 __bpfq_pad0;
	int skc_bound_dev_if;
};
struct sock {
	struct sock_common __sk_common;
	__u32 sk_priority;
	__u32 sk_mark;
	__u64 sk_pacing_rate;
	__u64 sk_max_pacing_rate;
};

/* ---- the packet: bpfq's Packet (include/bpfq/sched/packet.hpp). Offsets 0..191 are its
 * struct __sk_buff, so these fields share memory with what tc and seed programs see. ---- */
struct qdisc_skb_cb {
	struct {
		unsigned int pkt_len;
		__u16 slave_dev_queue_mapping;
		__u16 tc_classid;
	};
	unsigned char data[20];
};

struct sk_buff {
	unsigned int len;                /* 0: __sk_buff.len */
	__u32 __bpfq_pad0;
	__u32 mark;                      /* 8 */
	__u16 queue_mapping;             /* 12 */
	__u16 __bpfq_pad1;
	__be16 protocol;                 /* 16 */
	__u8 __bpfq_pad2[6];
	__u16 vlan_tci;                  /* 24 */
	__u8 __bpfq_pad3[6];
	__u32 priority;                  /* 32 */
	int skb_iif;                     /* 36: __sk_buff.ingress_ifindex */
	__u8 __bpfq_pad4[4];
	__u16 tc_index;                  /* 44 */
	__u8 __bpfq_pad5[22];
	__u32 hash;                      /* 68 */
	__u8 __bpfq_pad6[80];
	union {
		ktime_t tstamp;              /* 152: __sk_buff.tstamp (EDT departure time) */
		__u64 skb_mstamp_ns;
	};
	__u8 __bpfq_pad7[32];
	char cb[48];                     /* 192: Packet::kernel.cb, a struct qdisc_skb_cb */
	struct sock *sk;                 /* 240: always NULL */
	unsigned int data_len;           /* 248: always 0 (bpfq's frames are linear) */
	__u16 mac_len;                   /* 252 */
	__u16 hdr_len;                   /* 254 */
};

/* ---- sch_bpf RFC v7 (Amery Hung, Jan 2024): the context of its qdisc/* programs and their
 * verdicts (sched::QdiscCtx), which Linux put in its uapi ---- */
struct bpf_qdisc_ctx {
	struct sk_buff *skb;  /* __bpf_md_ptr: enqueue's packet */
	__u32 classid;
	__u64 expire;
	__u64 delta_ns;
};
enum bpfq_sch_bpf_verdict {
	SCH_BPF_QUEUED, SCH_BPF_DEQUEUED = SCH_BPF_QUEUED, SCH_BPF_DROP, SCH_BPF_CN, SCH_BPF_THROTTLE,
	SCH_BPF_PASS, SCH_BPF_BYPASS, SCH_BPF_STOLEN,
};

/* ---- the qdisc: sched::KernelQdisc and the device it sits on ---- */
struct net_device {
	char name[16];
	int ifindex;
	unsigned int mtu;
	unsigned short hard_header_len;
	unsigned short __bpfq_pad0;
	unsigned int tx_queue_len;
};
struct netdev_queue {
	struct net_device *dev;
};
struct gnet_stats_queue {
	__u32 qlen;
	__u32 backlog;
	__u32 drops;
	__u32 requeues;
	__u32 overlimits;
};
struct qdisc_skb_head {
	struct sk_buff *head;
	struct sk_buff *tail;
	__u32 qlen;
	spinlock_t lock;
};
struct Qdisc_ops;
struct Qdisc {
	unsigned int flags;
	__u32 limit;
	const struct Qdisc_ops *ops;
	__u32 handle;
	__u32 parent;
	struct netdev_queue *dev_queue;
	struct gnet_stats_queue qstats;
	__u32 __bpfq_pad0;
	struct qdisc_skb_head q;
};

/* ---- struct_ops: Linux 6.16's Qdisc_ops, member for member (the order is its indices) ---- */
struct nlattr { __u16 nla_len; __u16 nla_type; };
struct netlink_ext_ack { const char *_msg; };
struct Qdisc_class_ops;
struct module;
struct sk_buff_head;
struct gnet_dump;
struct bpf_sk_buff_ptr { struct sk_buff *skb; };

struct Qdisc_ops {
	struct Qdisc_ops *next;
	const struct Qdisc_class_ops *cl_ops;
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
	void (*attach)(struct Qdisc *sch);
	int (*change_tx_queue_len)(struct Qdisc *sch, unsigned int new_len);
	void (*change_real_num_tx)(struct Qdisc *sch, unsigned int new_real_tx);
	int (*dump)(struct Qdisc *sch, struct sk_buff *skb);
	int (*dump_stats)(struct Qdisc *sch, struct gnet_dump *d);
	void (*ingress_block_set)(struct Qdisc *sch, u32 block_index);
	void (*egress_block_set)(struct Qdisc *sch, u32 block_index);
	u32 (*ingress_block_get)(struct Qdisc *sch);
	u32 (*egress_block_get)(struct Qdisc *sch);
	struct module *owner;
};

struct bpf_struct_ops_common_value { __u32 refcnt; __u32 state; };
struct bpf_struct_ops_Qdisc_ops {
	struct bpf_struct_ops_common_value common;
	struct Qdisc_ops data __attribute__((aligned(64)));
};

/* One variable that names every type above, so clang emits all of them into BTF. */
struct bpfq_kernel_types {
	__s8 s8_; __s16 s16_; __s64 s64_; s32 ks32; s64 ks64; u8 ku8; u16 ku16; u32 ku32; u64 ku64;
	__be32 be32; __wsum wsum; bool b;
	struct bpf_spin_lock lock; struct bpf_list_head list_head; struct bpf_list_node list_node;
	struct bpf_rb_root rb_root; struct bpf_rb_node rb_node; struct bpf_refcount refcount;
	struct bpf_iter_num iter_num; struct bpf_dynptr dynptr; struct bpf_timer timer;
	struct sock sock; struct sk_buff skb; struct qdisc_skb_cb qdisc_cb; struct Qdisc qdisc;
	struct net_device net_device; struct netdev_queue netdev_queue; struct bpf_sk_buff_ptr skb_ptr;
	struct bpf_struct_ops_Qdisc_ops qdisc_ops_value;
	struct bpf_qdisc_ctx qdisc_ctx;
	enum bpfq_sch_bpf_verdict sch_bpf_verdict;
	enum bpfq_bool bool_value;
	enum bpf_map_type map_type;
	enum bpf_map_update_flag map_update_flag;
	enum bpfq_tcp_state tcp_state;
	enum bpfq_tcp_state_flag tcp_state_flag;
};
struct bpfq_kernel_types bpfq_kernel_types;
