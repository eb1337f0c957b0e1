/* CO-RE test: a fake kernel. Only its .BTF matters: core_relocs_test resolves core_prog's
 * relocations against it. Its layouts differ from the program's on purpose; the asserts pin the
 * offsets the test expects. */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#define at(type, field, offset) _Static_assert(__builtin_offsetof(type, field) == offset, #field)

struct sk_buff;

struct qdisc_skb_head {
  struct sk_buff *head, *tail;
  u32 qlen;
  u32 backlog;
};

struct Qdisc {
  u32 flags;
  u32 limit;
  void *ops;
  u64 stats[3];
  struct qdisc_skb_head q;
};
at(struct Qdisc, q.qlen, 56);

enum skb_drop_reason { SKB_DROP_NEGATIVE = -3, SKB_NOT_DROPPED = 2, SKB_DROP_FULL = 5, SKB_DROP_LATE = 11 };

struct sk_buff {
  struct sk_buff *next, *prev;
  union {
    u64 tstamp;
    u64 skb_mstamp_ns;
  };
  u32 len;
  u16 mark;      /* u32 in the program: loads narrow to 2 bytes */
  u8 pad;
  int prio : 5;  /* bits 224..228 */
  unsigned int flag : 3;
  long hash;     /* int in the program: a signed field that changed size */
  char cb[48];
  enum skb_drop_reason reason;
};
at(struct sk_buff, tstamp, 16);
at(struct sk_buff, len, 24);
at(struct sk_buff, mark, 28);
at(struct sk_buff, hash, 32);
at(struct sk_buff, cb, 40);
_Static_assert(sizeof(struct sk_buff) == 96, "size");

/* Two flavors of one type: core_ambiguous's access to amb.x has two answers. */
struct amb {
  int x;
};
struct amb___v2 {
  int y;
  int x;
};

/* The types reach .BTF through these. */
struct sk_buff target_skb;
struct Qdisc target_qdisc;
struct amb target_amb;
struct amb___v2 target_amb2;
