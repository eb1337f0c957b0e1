/* taprio (Linux net/sched/sch_taprio.c, software mode): the Time Aware Priority Shaper of
 * IEEE 802.1Qbv. Packets are sorted into traffic classes (tc = map[skb->priority & 15]); a
 * cyclic gate control list says, for each interval of the cycle, which classes' gates are
 * open. A packet leaves only while its class's gate is open and only if it fits before the gate
 * closes.
 *
 * How Linux does it, and this program too:
 *   - the schedule starts at base_time, or, if that is past, at the first cycle boundary
 *     base_time + k * cycle_time after now (taprio_get_start_time); before it nothing is sent.
 *     cycle_time is the sum of the intervals unless given (a shorter one cuts the last entries).
 *   - dequeue (taprio_dequeue_tc_priority, taprio_dequeue_from_txq): the current entry's open
 *     classes are tried from the highest tc down; a class's head packet leaves if
 *     now + its time on the wire at port_rate is not after the class's gate close time, and it
 *     fits the class's byte budget for the entry. The gate close time is the entry's start plus
 *     the time the gate stays open through the following entries (taprio_calculate_gate_durations;
 *     never, if it is open in every entry); the budget is that duration in bytes at port_rate.
 *   - nothing to send: THROTTLE until the next entry begins (Linux's advance_sched timer
 *     reschedules the queue at every entry change).
 *
 * Packets are kept per traffic class, in arrival order, in a HASH keyed by (tc, sequence): Linux
 * keeps them in the child qdisc of the TX queue the class maps to (one queue per class here).
 *
 * The gate control list is the class parameter maps `class_gates` (gate mask) and
 * `class_interval` (ns): entry i is class major:i+1, so a setup file writes
 *     class add dev eth0 parent 1: classid 1:1 gates 0x1 interval 300000
 * (tc's `sched-entry S 01 300000`). The entries run from 1:1 to the first class missing or with
 * interval 0. Without any entry the schedule is one entry with every gate open (tc would refuse).
 *
 * Parameters (tc's names): num_tc (1..16, required), map (__u8[16], prio -> tc, default all 0),
 * base_time (ns), cycle_time (ns, 0: the sum), clockid (11, CLOCK_TAI only), flags (0: software;
 * txtime-assist and full offload refused), port_rate (bytes/s: the link speed Linux reads from
 * ethtool; default 10mbit, Linux's value when the speed is unknown), limit (packets per class,
 * default 1000: the pfifo child's tx_queue_len). */
#include <bpfq/bpf/sch_bpf.h>

#define MAX_TC 16
#define MAX_ENTRIES 64
#define CLOCK_TAI 11
#define NSEC_PER_SEC 1000000000ULL
#define NEVER 0xffffffffffffffffULL
#define UNLIMITED 0xffffffffffffffffULL

const volatile bpfq_count num_tc = 0;
const volatile __u8 map[TC_PRIO_MAX + 1] = {};
const volatile bpfq_time_ns base_time = 0;
const volatile bpfq_time_ns cycle_time = 0;
const volatile bpfq_count clockid = CLOCK_TAI;
const volatile bpfq_count flags = 0;
const volatile bpfq_rate_Bps port_rate = 1250000;
const volatile bpfq_count limit = 1000;

/* The gate control list, by class id (written by `class add ... gates G interval I`). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} class_gates SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_RDONLY_PROG);
	__uint(max_entries, MAX_ENTRIES);
	__type(key, __u32);
	__type(value, __u64);
} class_interval SEC(".maps");

/* Derived in qdisc/init. */
__u32 n_entries;
__u32 gate[MAX_ENTRIES];
__u64 ival[MAX_ENTRIES];
__u64 cycle;     /* the cycle time in use */
__u64 start;     /* when the schedule starts */

/* Per traffic class: FIFO [head, tail) and the budget of the entry that began at budget_at. */
__u64 head[MAX_TC];
__u64 tail[MAX_TC];
__u64 budget[MAX_TC];
__u64 budget_at[MAX_TC];

struct pkt_key {
	__u32 tc;
	__u32 pad;
	__u64 seq;
};

struct slot {
	struct sk_buff __kptr_ref *skb;
	__u32 len;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct pkt_key);
	__type(value, struct slot);
} packets SEC(".maps");

static __always_inline __u64 l2t_ns(__u32 len)
{
	return (__u64)len * NSEC_PER_SEC / port_rate;
}

/* The bytes port_rate sends in t ns, without overflow for long times. */
static __always_inline __u64 bytes_in(__u64 t)
{
	return (t / NSEC_PER_SEC) * port_rate + ((t % NSEC_PER_SEC) * port_rate) / NSEC_PER_SEC;
}

struct read_ctx {
	__u32 major;
	__u64 sum;
};

static long read_entry(__u64 i, struct read_ctx *rc)
{
	__u32 classid = rc->major | (__u32)(i + 1);
	__u32 *g = bpf_map_lookup_elem(&class_gates, &classid);
	__u64 *iv = bpf_map_lookup_elem(&class_interval, &classid);

	if (!g || !iv || *iv == 0 || i >= MAX_ENTRIES)
		return 1;
	gate[i & (MAX_ENTRIES - 1)] = *g;
	ival[i & (MAX_ENTRIES - 1)] = *iv;
	rc->sum += *iv;
	n_entries = i + 1;
	return 0;
}

SEC("qdisc/init")
int taprio_init(struct sch_bpf_ctx *ctx)
{
	struct read_ctx rc = {.major = ctx->classid & 0xffff0000};
	__u64 now = bpf_ktime_get_ns();

	if (flags) {
		bpf_printk("taprio: flags 0x%x: txtime-assist and full offload are not supported", flags);
		return -95;
	}
	if (clockid != CLOCK_TAI) {
		bpf_printk("taprio: invalid clockid %u: CLOCK_TAI (11) must be used", clockid);
		return -22;
	}
	if (num_tc == 0 || num_tc > MAX_TC) {
		bpf_printk("taprio: num_tc %u is outside 1..16", num_tc);
		return -22;
	}
	for (__u32 p = 0; p <= TC_PRIO_MAX; p++)
		if (map[p] >= num_tc) {
			bpf_printk("taprio: map entry %u names tc %u of %u", p, map[p], num_tc);
			return -22;
		}
	if (port_rate == 0 || limit == 0) {
		bpf_printk("taprio: port_rate and limit must be non-zero");
		return -22;
	}
	n_entries = 0;
	bpf_loop(MAX_ENTRIES, read_entry, &rc, 0);
	if (n_entries == 0) {
		/* tc refuses a schedule without entries; bpfq runs one entry with every gate open
		 * (for cycle_time, or 1 s), so that the object can be checked and tried alone. */
		bpf_printk("taprio: no schedule entries (classes 1:1.. with gates and interval): all gates open");
		n_entries = 1;
		gate[0] = 0xffff;
		ival[0] = cycle_time ? cycle_time : NSEC_PER_SEC;
		rc.sum = ival[0];
	}
	cycle = cycle_time ? cycle_time : rc.sum;
	/* taprio_get_start_time */
	if (base_time > now)
		start = base_time;
	else
		start = base_time + ((now - base_time) / cycle + 1) * cycle;
	return 0;
}

SEC("qdisc/enqueue")
int taprio_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 tc = map[ctx->skb->priority & TC_PRIO_MAX] & (MAX_TC - 1);
	struct pkt_key key = {.tc = tc};
	struct slot empty = {.len = ctx->skb->wire_len};
	struct sk_buff *ref;
	struct slot *s;

	if (tail[tc] - head[tc] >= limit)
		return SCH_BPF_DROP; /* the class's pfifo */
	key.seq = tail[tc];
	if (bpf_map_update_elem(&packets, &key, &empty, BPF_NOEXIST))
		return SCH_BPF_DROP;
	s = bpf_map_lookup_elem(&packets, &key);
	if (!s)
		return SCH_BPF_DROP;
	ref = bpf_skb_acquire(skb_ref(ctx->skb));
	if (!ref) {
		bpf_map_delete_elem(&packets, &key);
		return SCH_BPF_DROP;
	}
	ref = bpf_kptr_xchg(&s->skb, ref);
	if (ref)
		bpf_skb_release(ref);
	tail[tc]++;
	return SCH_BPF_QUEUED;
}

/* Where the schedule is at `now`: the current entry, when it began and when it ends. */
struct where {
	__u64 pos;         /* ns into the cycle (in), then the entry's start within the cycle */
	__u32 entry;
	__u32 found;
	__u64 entry_start; /* absolute */
	__u64 entry_end;   /* absolute, cut at the cycle's end */
	__u64 cycle_start;
};

static long find_entry(__u64 i, struct where *w)
{
	__u64 iv = ival[i & (MAX_ENTRIES - 1)];

	if (i >= n_entries)
		return 1;
	if (w->pos < iv) {
		w->entry = i;
		w->found = 1;
		return 1;
	}
	w->pos -= iv;
	w->entry_start += iv;
	return 0;
}

struct gate_walk {
	__u32 entry; /* the entry being looked at */
	__u32 bit;
	__u64 open;  /* ns the gate stays open from the current entry's start */
	__u32 closed;
};

/* taprio_calculate_gate_durations for one class: the intervals of the entries from the
 * current one on, circularly, while the gate stays open. */
static long gate_step(__u64 i, struct gate_walk *gw)
{
	__u32 e = gw->entry & (MAX_ENTRIES - 1);

	if (i >= n_entries)
		return 1;
	if (!(gate[e] & gw->bit)) {
		gw->closed = 1;
		return 1;
	}
	gw->open += ival[e];
	gw->entry = gw->entry + 1 >= n_entries ? 0 : gw->entry + 1;
	return 0;
}

struct pick {
	struct where *w;
	__u64 now;
	__u32 mask;
	__u32 tc;    /* the class to send from, or MAX_TC */
};

/* One class of taprio_dequeue_tc_priority, from the highest tc down: is its head sendable? */
static long try_tc(__u64 i, struct pick *pk)
{
	__u32 tc = (MAX_TC - 1 - (__u32)i) & (MAX_TC - 1);
	struct pkt_key key = {.tc = tc};
	struct gate_walk gw = {.bit = 1U << tc};
	struct where *w = pk->w;
	struct slot *s;
	__u64 close;

	if (tc >= num_tc || !(pk->mask & (1U << tc)) || head[tc] == tail[tc])
		return 0;
	key.seq = head[tc];
	s = bpf_map_lookup_elem(&packets, &key);
	if (!s)
		return 0;
	gw.entry = w->entry;
	bpf_loop(MAX_ENTRIES, gate_step, &gw, 0);
	close = gw.closed ? w->entry_start + gw.open : NEVER;
	if (budget_at[tc] != w->entry_start + 1) { /* a new entry: taprio_set_budgets */
		budget_at[tc] = w->entry_start + 1;
		budget[tc] = gw.closed ? bytes_in(gw.open) : UNLIMITED;
	}
	if (close != NEVER && pk->now + l2t_ns(s->len) > close)
		return 0; /* does not fit before the gate closes */
	if (budget[tc] != UNLIMITED) {
		if (s->len > budget[tc])
			return 0;
		budget[tc] -= s->len;
	}
	pk->tc = tc;
	return 1;
}

SEC("qdisc/dequeue")
int taprio_dequeue(struct sch_bpf_ctx *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	struct where w = {};
	struct pick pk = {.tc = MAX_TC};
	struct pkt_key key = {};
	struct sk_buff *skb;
	struct slot *s;
	__u32 tc;

	ctx->skb = NULL;
	if (now < start) {
		ctx->delay = start - now;
		return SCH_BPF_THROTTLE;
	}
	w.pos = (now - start) % cycle;
	w.cycle_start = now - w.pos;
	w.entry_start = w.cycle_start;
	bpf_loop(MAX_ENTRIES, find_entry, &w, 0);
	if (!w.found) {
		/* Past the last entry, with a cycle_time longer than the intervals: the last
		 * entry's gates hold until the cycle ends. */
		w.entry = n_entries - 1;
		w.entry_start -= ival[w.entry & (MAX_ENTRIES - 1)];
	}
	w.entry_end = w.entry_start + ival[w.entry & (MAX_ENTRIES - 1)];
	if (!w.found || w.entry_end > w.cycle_start + cycle)
		w.entry_end = w.cycle_start + cycle;

	pk.w = &w;
	pk.now = now;
	pk.mask = gate[w.entry & (MAX_ENTRIES - 1)];
	bpf_loop(MAX_TC, try_tc, &pk, 0);
	tc = pk.tc;
	if (tc < MAX_TC) {
		key.tc = tc;
		key.seq = head[tc];
		s = bpf_map_lookup_elem(&packets, &key);
		if (s) {
			skb = bpf_kptr_xchg(&s->skb, NULL);
			bpf_map_delete_elem(&packets, &key);
			head[tc]++;
			if (skb) {
				ctx->skb = skb_view(skb);
				return SCH_BPF_DEQUEUED;
			}
		}
	}
	for (__u32 t = 0; t < MAX_TC; t++)
		if (head[t] != tail[t]) {
			ctx->delay = w.entry_end - now; /* until the next entry */
			return SCH_BPF_THROTTLE;
		}
	return SCH_BPF_DEQUEUED; /* empty */
}

char LICENSE[] SEC("license") = "GPL";
