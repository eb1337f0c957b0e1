/* cake: Linux's Common Applications Kept Enhanced (net/sched/sch_cake.c) as a bpfq program.
 *
 * - A deficit-mode shaper (`bandwidth`, bytes/s; 0 = unlimited): every packet advances a global
 *   and a per-tin "time of the next packet" by its length on the wire times the time per byte;
 *   dequeue THROTTLEs until then. The length on the wire is cake_calc_overhead's: the frame minus
 *   its 14-byte Ethernet header unless `raw`, plus `overhead`, at least `mpu`, then rounded up to
 *   whole 48-byte ATM cells of 53 bytes (`atm 1`) or plus one byte per started 64 (`atm 2`, PTM).
 * - Diffserv tins (`diffserv`: 0 diffserv3, 1 diffserv4, 2 diffserv8, 3 besteffort,
 *   4 precedence; Linux's CAKE_DIFFSERV_* numbers) picked by the DSCP of the IP header (or
 *   skb->mark through `fwmark`, or skb->priority naming the qdisc), each with its own threshold
 *   rate and quantum as cake_config_*: shaped, the highest-priority tin within its threshold
 *   goes first, else the earliest-scheduled; unlimited, a DRR over tin quanta.
 * - In each tin 1024 flow queues, 8-way set associative, keyed by the flow mode (`flowmode`:
 *   0 flowblind, 1 srchost, 2 dsthost, 3 hosts, 4 flows, 5 dual-srchost, 6 dual-dsthost,
 *   7 triple-isolate): DRR++ over sparse (new) flows before bulk (old) flows, and in the dual and
 *   triple modes a flow's quantum is divided by the number of bulk flows of its host.
 * - COBALT on every flow: CoDel with the inverse-square-root control law (ECN-capable packets
 *   are CE-marked instead of dropped while `ecn`) plus BLUE, whose drop probability rises when a
 *   flow overflows and decays when it runs empty. target and interval come from `target` and
 *   `rtt` and are raised at low rates to fit one MTU (cake_set_rate).
 * - The ACK filter (`ack_filter`: 0 off, 1 ack-filter, 2 ack-filter-aggressive): a pure TCP ACK
 *   arriving behind older pure ACKs of its connection drops the one they make redundant.
 * - Over its memory limit (`memlimit`, or derived from the rate and rtt as Linux does) cake drops
 *   from the head of the flow with the largest backlog, over all tins.
 * - `wash` clears the DSCP bits of every packet (after its tin was picked by them), keeping ECN.
 * - `autorate_ingress` estimates the link's rate from how fast packets arrive and shapes at 15/16
 *   of it (for the ingress of a link whose rate varies); `bandwidth` is then only the start.
 *
 * Parameters (tc's names; tc's keyword syntax is src/tc/kinds/cake_syntax.cpp): bandwidth (0),
 * rtt (100 ms; interval), target (5 ms), diffserv (0), flowmode (7), overhead (signed, 0), raw
 * (1: no overhead compensation; tc's `overhead N` sets 0), mpu (0), atm (0 none, 1 atm, 2 ptm),
 * ack_filter (0), memlimit (0 = derived), ingress (0), fwmark (0: mask of skb->mark), ecn (1),
 * limit (10240: Linux's sch->limit, in the memory limit), mtu (1514: psched_mtu), wash (0),
 * autorate_ingress (0).
 * Times are floored to microseconds, as Linux keeps them.
 *
 * Layout as progs/fq_codel.bpf.c: a packet sits in a slot (an ARRAY element holding its
 * reference, lengths, enqueue time, the next slot of its flow and, with the ACK filter on, what
 * the filter needs of its TCP header, parsed once at enqueue); flows, hosts and tins are .bss
 * arrays; links are index + 1. docs/qdiscs/cake.md lists what differs from Linux. */
#include <bpfq/bpf/sch_bpf.h>
#include <bpf/bpf_endian.h>

#define CAKE_QUEUES 1024
#define CAKE_SET_WAYS 8
#define CAKE_MAX_TINS 8
#define ALL_FLOWS (CAKE_QUEUES * CAKE_MAX_TINS)
#define MAX_SLOTS 65536
#define ETH_HLEN 14
#define EINVAL 22
#define REC_INV_SQRT_CACHE 16
#define MAX_DEQUEUE_ROUNDS (1 << 20)
#define MAX_TCP_OPTS 40
#define MAX_ENQUEUE_STEPS (1 << 22) /* the ACK walk (a check and up to 20 SACK steps per packet), the overflow rounds */

enum { DIFFSERV3, DIFFSERV4, DIFFSERV8, BESTEFFORT, PRECEDENCE };
enum { FLOW_NONE, FLOW_SRC_IP, FLOW_DST_IP, FLOW_HOSTS, FLOW_FLOWS, FLOW_DUAL_SRC, FLOW_DUAL_DST, FLOW_TRIPLE };
enum { ATM_NONE, ATM_ATM, ATM_PTM };
enum { ACK_NONE, ACK_FILTER, ACK_AGGRESSIVE };
enum { SET_NONE, SET_SPARSE, SET_SPARSE_WAIT, SET_BULK, SET_DECAYING };
enum { L_NONE, L_NEW, L_OLD, L_DECAYING };

/* ---- parameters ---- */
const volatile bpfq_rate_Bps bandwidth = 0;
const volatile bpfq_time_ns rtt = 100000000ULL;
const volatile bpfq_time_ns target = 5000000ULL;
const volatile bpfq_count diffserv = DIFFSERV3;
const volatile bpfq_count flowmode = FLOW_TRIPLE;
const volatile __s32 overhead = 0;
const volatile bpfq_count raw = 1;
const volatile bpfq_size_bytes mpu = 0;
const volatile bpfq_count atm = ATM_NONE;
const volatile bpfq_count ack_filter = ACK_NONE;
const volatile bpfq_size_bytes memlimit = 0;
const volatile bpfq_count ingress = 0;
const volatile bpfq_count fwmark = 0;
const volatile bpfq_count ecn = 1;
const volatile bpfq_count limit = 10240;
const volatile bpfq_count wash = 0;             /* clear the DSCP bits (the ECN bits stay) at enqueue */
const volatile bpfq_count autorate_ingress = 0; /* estimate the rate from arrivals (ingress links) */
const volatile bpfq_size_bytes mtu = 1514;

/* ---- Linux's tables ---- */
static const __u8 tin_index_precedence[64] = {
	0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
	4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7,
};
static const __u8 tin_index_diffserv8[64] = {
	2, 0, 1, 2, 4, 2, 2, 2, 1, 2, 1, 2, 1, 2, 1, 2, 5, 2, 4, 2, 4, 2, 4, 2, 3, 2, 3, 2, 3, 2, 3, 2,
	6, 2, 3, 2, 3, 2, 3, 2, 6, 2, 2, 2, 6, 2, 6, 2, 7, 2, 2, 2, 2, 2, 2, 2, 7, 2, 2, 2, 2, 2, 2, 2,
};
static const __u8 tin_index_diffserv4[64] = {
	0, 1, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0,
	3, 0, 2, 0, 2, 0, 2, 0, 3, 0, 0, 0, 3, 0, 3, 0, 3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,
};
static const __u8 tin_index_diffserv3[64] = {
	0, 1, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
};
/* tin_order: diffserv3/4 number their tins for marks and priorities in bulk_order. */
static const __u8 bulk_order[8] = {1, 0, 2, 3, 4, 5, 6, 7};

/* ---- state ---- */
struct slot {
	struct sk_buff __kptr_ref *skb;
	__u64 enqueue_ns;
	__u32 len;    /* qdisc_pkt_len (wire_len) */
	__u32 adjlen; /* cake_overhead: bytes on the wire */
	__u32 next;   /* next slot of the flow + 1 */
	/* What the ACK filter reads (ack_filter only; tcp = 0 for anything it cannot parse). */
	__u8 tcp;
	__u8 ipver;
	__u8 opts_ok;  /* no option cake_tcph_may_drop refuses, before the option walk stops */
	__u8 has_ts;   /* a timestamp option was seen by that walk */
	__u8 nsack;    /* SACK blocks of the first SACK option */
	__u8 trig_ts;  /* the first timestamp option has length 10 (cake_tcph_get_tstamp) */
	__u16 pad;
	__u32 flags;   /* tcp_flag_word, host order */
	__u32 ack_seq;
	__u32 tsval, tsecr;
	__s32 payload; /* segment bytes after the TCP header */
	__u16 sport, dport;
	__u32 saddr[4], daddr[4];
	__u32 sack[8]; /* start, end of each block */
};

struct cobalt_vars {
	__u32 count;
	__u32 rec_inv_sqrt;
	__u64 drop_next;
	__u64 blue_timer;
	__u32 p_drop;
	__u8 dropping;
	__u8 ecn_marked;
	__u16 pad;
};

struct flow {
	__u32 head, tail; /* slot + 1 */
	__u32 prev, next; /* flowchain: flow index (tin * 1024 + queue) + 1 */
	__u32 list;       /* L_* */
	__s32 deficit;
	__u32 backlog;    /* bytes (b->backlogs[]) */
	__u32 tag;        /* flow hash owning this queue (b->tags[]) */
	__u32 dropped;
	__u16 srchost, dsthost;
	__u32 set;        /* SET_* */
	struct cobalt_vars cvars;
};

struct host {
	__u32 srchost_tag;
	__u32 dsthost_tag;
	__u32 srchost_bulk_flow_count;
	__u32 dsthost_bulk_flow_count;
};

struct tin {
	__u32 head[4], tail[4]; /* by L_*: flow index + 1 */
	__u64 time_next_packet;
	__u64 tin_rate_ns;
	__u64 tin_rate_bps;
	__u32 tin_rate_shft;
	__u32 flow_quantum;
	__u32 tin_quantum;
	__s32 tin_deficit;
	__u32 tin_backlog;
	__u32 bulk_flow_count, sparse_flow_count, decaying_flow_count, unresponsive_flow_count;
	/* cobalt_params */
	__u64 cp_target, cp_interval, cp_mtu_time;
	__u32 cp_p_inc, cp_p_dec;
	/* tc -s stats (packets: tin_packets) */
	__u32 tin_dropped;
	__u32 tin_ecn_mark;
	__u32 ack_drops;
	__u32 drop_overlimit;
	__u32 max_skblen;
	__u32 way_directs, way_hits, way_misses, way_collisions;
	__u64 bytes;
	__u64 avge_delay, peak_delay, base_delay;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct slot);
} slots SEC(".maps");

struct parked {
	struct sk_buff __kptr_ref *skb;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct parked);
} handout SEC(".maps");

struct flow flow_table[ALL_FLOWS];
struct host host_table[ALL_FLOWS];
struct tin tins[CAKE_MAX_TINS];
__u32 rec_inv_sqrt_cache[REC_INV_SQRT_CACHE];
__u8 optbuf[64]; /* the TCP options of the packet being parsed */

/* Derived by qdisc/init (cake_reconfigure). */
__u32 tin_cnt;
__u32 tin_mode;
__u64 rate_ns;
__u32 rate_shft;
__u32 fwmark_shft;
__u32 buffer_limit;
__u64 interval_us, target_us;
/* The shaper's rate: bandwidth, or autorate_ingress's estimate (Linux q->rate_bps). */
__u64 rate_bps;
/* autorate_ingress's estimator (Linux's avg_* fields); avg_peak_bandwidth is tc's
 * "capacity estimate". */
__u64 avg_peak_bandwidth, avg_packet_interval, avg_window_bytes, avg_window_begin, last_packet_time;

/* Shaper and dequeue state. */
__u64 time_next_packet;
__u64 failsafe_next_packet;
__u32 cur_tin;

__u32 qlen;
__u32 backlog;
__u32 buffer_used;
__u32 buffer_max_used;

/* Totals over the tins (per tin: `tins`), for tests and tc -s. */
__u32 tin_packets[CAKE_MAX_TINS]; /* packets enqueued per tin (Linux b->packets) */
__u32 ack_drops;
__u32 cobalt_drops;
__u32 overlimit_drops;
__u32 ecn_marks;
__u32 loop_errors; /* bpf_loop refused (cannot happen) */

/* bpf_loop, then a branch: the paths that come out of the callback meet the verifier at once
 * (they go on as one), instead of each running through the rest of the program. */
#define LOOP(n, cb, ctx)                              \
	do {                                          \
		if (bpf_loop((n), (cb), (ctx), 0) < 0) \
			loop_errors++;                \
	} while (0)
__u32 max_netlen, max_adjlen, min_netlen, min_adjlen;

/* ---- helpers ---- */

static __always_inline struct flow *flow_at(__u32 gidx)
{
	return &flow_table[gidx & (ALL_FLOWS - 1)];
}

static __always_inline struct host *host_at(__u32 tin, __u32 idx)
{
	return &host_table[(tin * CAKE_QUEUES + idx) & (ALL_FLOWS - 1)];
}

static __always_inline struct tin *tin_at(__u32 t)
{
	return &tins[t & (CAKE_MAX_TINS - 1)];
}

#include <bpfq/bpf/slot_list.h>

static __always_inline int time_before(__u64 a, __u64 b)
{
	return (__s64)(a - b) < 0;
}

static __always_inline __u64 cake_ewma(__u64 avg, __u64 sample, __u32 shift)
{
	avg -= avg >> shift;
	avg += sample >> shift;
	return avg;
}

static __always_inline int seq_after(__u32 a, __u32 b)
{
	return (__s32)(b - a) < 0;
}

static __always_inline int seq_before(__u32 a, __u32 b)
{
	return (__s32)(a - b) < 0;
}

/* ---- flow lists ---- */

static __always_inline void list_del(struct tin *b, struct flow *f)
{
	__u32 which = f->list & 3;

	if (!which)
		return;
	if (f->prev)
		flow_at(f->prev - 1)->next = f->next;
	else
		b->head[which] = f->next;
	if (f->next)
		flow_at(f->next - 1)->prev = f->prev;
	else
		b->tail[which] = f->prev;
	f->prev = 0;
	f->next = 0;
	f->list = L_NONE;
}

static __always_inline void list_add_tail(struct tin *b, __u32 which, __u32 gidx, struct flow *f)
{
	__u32 last;

	which &= 3;
	last = b->tail[which];
	f->list = which;
	f->next = 0;
	f->prev = last;
	if (last)
		flow_at(last - 1)->next = gidx + 1;
	else
		b->head[which] = gidx + 1;
	b->tail[which] = gidx + 1;
}

static __always_inline void list_move_tail(struct tin *b, __u32 which, __u32 gidx, struct flow *f)
{
	list_del(b, f);
	list_add_tail(b, which, gidx, f);
}

/* ---- COBALT ---- */

static __always_inline void cobalt_newton_step(struct cobalt_vars *v)
{
	__u32 invsqrt = v->rec_inv_sqrt;
	__u32 invsqrt2 = ((__u64)invsqrt * invsqrt) >> 32;
	__u64 val = (3ULL << 32) - ((__u64)v->count * invsqrt2);

	val >>= 2;
	val = (val * invsqrt) >> (32 - 2 + 1);
	v->rec_inv_sqrt = (__u32)val;
}

static __always_inline void cobalt_invsqrt(struct cobalt_vars *v)
{
	if (v->count < REC_INV_SQRT_CACHE)
		v->rec_inv_sqrt = rec_inv_sqrt_cache[v->count & (REC_INV_SQRT_CACHE - 1)];
	else
		cobalt_newton_step(v);
}

static __always_inline __u64 cobalt_control(__u64 t, __u64 interval, __u32 rec_inv_sqrt)
{
	return t + (((__u64)(__u32)interval * rec_inv_sqrt) >> 32);
}

/* A packet had to be dropped for overflow: 1 if BLUE was quiescent and is now active. */
static __always_inline int cobalt_queue_full(struct cobalt_vars *v, struct tin *b, __u64 now)
{
	int up = 0;

	if ((__s64)(now - v->blue_timer) > (__s64)b->cp_target) {
		up = !v->p_drop;
		v->p_drop += b->cp_p_inc;
		if (v->p_drop < b->cp_p_inc)
			v->p_drop = ~0U;
		v->blue_timer = now;
	}
	v->dropping = 1;
	v->drop_next = now;
	if (!v->count)
		v->count = 1;
	return up;
}

/* The queue was serviced but empty: 1 if BLUE was active and is now quiescent. */
static __always_inline int cobalt_queue_empty(struct cobalt_vars *v, struct tin *b, __u64 now)
{
	int down = 0;

	if (v->p_drop && (__s64)(now - v->blue_timer) > (__s64)b->cp_target) {
		if (v->p_drop < b->cp_p_dec)
			v->p_drop = 0;
		else
			v->p_drop -= b->cp_p_dec;
		v->blue_timer = now;
		down = !v->p_drop;
	}
	v->dropping = 0;
	if (v->count && (__s64)(now - v->drop_next) >= 0) {
		v->count--;
		cobalt_invsqrt(v);
		v->drop_next = cobalt_control(v->drop_next, b->cp_interval, v->rec_inv_sqrt);
	}
	return down;
}

/* cobalt_should_drop(): 1 to drop the packet just dequeued; an ECN-capable packet is marked
 * instead (v->ecn_marked). The "schedule" decrement loop runs at most 64 times per call (Linux:
 * unbounded; each pass halves the remaining lag roughly, so 64 covers any real schedule). */
static __always_inline int cobalt_should_drop(struct cobalt_vars *v, struct tin *b, __u64 now,
					      struct sk_buff *skb, __u64 enqueue_ns, __u32 bulk_flows)
{
	__u64 sojourn = now - enqueue_ns;
	__s64 schedule = (__s64)(now - v->drop_next);
	int over_target, next_due, drop = 0, i;

	over_target = sojourn > b->cp_target && sojourn > b->cp_mtu_time * bulk_flows * 2 &&
		      sojourn > b->cp_mtu_time * 4;
	next_due = v->count && schedule >= 0;
	v->ecn_marked = 0;

	if (over_target) {
		if (!v->dropping) {
			v->dropping = 1;
			v->drop_next = cobalt_control(now, b->cp_interval, v->rec_inv_sqrt);
		}
		if (!v->count)
			v->count = 1;
	} else if (v->dropping) {
		v->dropping = 0;
	}

	if (next_due && v->dropping) {
		v->ecn_marked = ecn && bpf_skb_ecn_set_ce(skb_view(skb)) == 1;
		drop = !v->ecn_marked;
		v->count++;
		if (!v->count)
			v->count--;
		cobalt_invsqrt(v);
		v->drop_next = cobalt_control(v->drop_next, b->cp_interval, v->rec_inv_sqrt);
		schedule = (__s64)(now - v->drop_next);
	} else {
		for (i = 0; i < 64 && next_due; i++) {
			v->count--;
			cobalt_invsqrt(v);
			v->drop_next = cobalt_control(v->drop_next, b->cp_interval, v->rec_inv_sqrt);
			schedule = (__s64)(now - v->drop_next);
			next_due = v->count && schedule >= 0;
		}
	}

	if (v->p_drop)
		drop |= bpf_get_prandom_u32() < v->p_drop;

	if (!v->count)
		v->drop_next = now + b->cp_interval;
	else if (schedule > 0 && !drop)
		v->drop_next = now;
	return drop;
}

/* ---- configuration (cake_set_rate, cake_config_*, cake_reconfigure) ---- */

/* 1 if x != 0, without a branch: the rate may be unknown to the verifier (autorate_ingress), and
 * a loop or a branch per bit would multiply its paths by each tin's set_rate. */
static __always_inline __u64 nonzero(__u64 x)
{
	return (x | -x) >> 63;
}

/* The number of significant bits of x < 2^32, branch-free (the loop is unrolled). */
static __always_inline __u32 bit_length(__u64 x)
{
	__u64 n = 0, t, step;

#pragma unroll
	for (step = 16; step; step >>= 1) {
		t = nonzero(x >> step) * step;
		x >>= t;
		n += t;
	}
	return n + nonzero(x);
}

static __always_inline void set_rate(struct tin *b, __u64 rate)
{
	__u64 rns = 0, byte_target_ns, tgt_ns = target_us * 1000, rtt_ns = interval_us * 1000;
	__u32 shft = 0, k;

	b->flow_quantum = 1514;
	if (rate) {
		__u64 q = rate >> 12;

		b->flow_quantum = q > 1514 ? 1514 : q < 300 ? 300 : q;
		shft = 34;
		rns = (1000000000ULL << 34) / (rate > 64 ? rate : 64);
		/* Linux halves rns until it fits 34 bits: that is bitlen(rns >> 34) halvings */
		k = bit_length(rns >> 34);
		rns >>= k;
		shft -= k;
	}
	b->tin_rate_bps = rate;
	b->tin_rate_ns = rns;
	b->tin_rate_shft = shft;
	byte_target_ns = ((__u64)mtu * rns) >> shft;
	b->cp_target = byte_target_ns * 3 / 2 > tgt_ns ? byte_target_ns * 3 / 2 : tgt_ns;
	b->cp_interval = rtt_ns + b->cp_target - tgt_ns > b->cp_target * 2 ? rtt_ns + b->cp_target - tgt_ns
									    : b->cp_target * 2;
	b->cp_mtu_time = byte_target_ns;
	b->cp_p_inc = 1 << 24;
	b->cp_p_dec = 1 << 20;
}

/* cake_reconfigure: every tin's rate and COBALT parameters from rate_bps, and the buffer limit.
 * A subprogram: init calls it, and enqueue when autorate_ingress has a new estimate. */
static __noinline int reconfigure(void)
{
	__u64 rate = rate_bps;
	__u32 quantum, i;

	switch (diffserv) {
	case BESTEFFORT:
		tin_cnt = 1;
		set_rate(&tins[0], rate);
		tins[0].tin_quantum = 65535;
		break;
	case PRECEDENCE:
	case DIFFSERV8:
		tin_cnt = 8;
		quantum = 256;
		for (i = 0; i < 8; i++) {
			set_rate(&tins[i], rate);
			tins[i].tin_quantum = quantum ? quantum : 1;
			rate = (rate * 7) >> 3;
			quantum = (quantum * 7) >> 3;
		}
		break;
	case DIFFSERV4:
		tin_cnt = 4;
		set_rate(&tins[0], rate);
		set_rate(&tins[1], rate >> 4);
		set_rate(&tins[2], rate >> 1);
		set_rate(&tins[3], rate >> 2);
		tins[0].tin_quantum = 1024;
		tins[1].tin_quantum = 1024 >> 4;
		tins[2].tin_quantum = 1024 >> 1;
		tins[3].tin_quantum = 1024 >> 2;
		break;
	default:
		tin_cnt = 3;
		set_rate(&tins[0], rate);
		set_rate(&tins[1], rate >> 4);
		set_rate(&tins[2], rate >> 2);
		tins[0].tin_quantum = 1024;
		tins[1].tin_quantum = 1024 >> 4;
		tins[2].tin_quantum = 1024 >> 2;
		break;
	}
	rate_ns = tins[0].tin_rate_ns;
	rate_shft = tins[0].tin_rate_shft;

	if (memlimit) {
		buffer_limit = memlimit;
	} else if (rate_bps) {
		__u64 t = rate_bps * interval_us / 250000;

		buffer_limit = t > (4U << 20) ? (t > 0xffffffffULL ? 0xffffffffU : (__u32)t) : (4U << 20);
	} else {
		buffer_limit = ~0U;
	}
	{
		__u64 by_limit = (__u64)limit * mtu;
		__u64 cap = by_limit > memlimit ? by_limit : memlimit;

		if (cap < buffer_limit)
			buffer_limit = (__u32)cap;
	}

	return 0;
}

SEC("qdisc/init")
int cake_init(struct sch_bpf_ctx *ctx)
{
	__u32 i, n;
	struct cobalt_vars v = {};

	if (diffserv > PRECEDENCE || flowmode > FLOW_TRIPLE || atm > ATM_PTM || ack_filter > ACK_AGGRESSIVE ||
	    overhead < -64 || overhead > 256 || mpu > 256 || mtu == 0 || mtu > 65535) {
		bpf_printk("cake: a parameter is out of range (diffserv 0-4, flowmode 0-7, atm 0-2, ack_filter 0-2, overhead -64..256, mpu 0..256)");
		return -EINVAL;
	}
	/* Linux keeps rtt and target in microseconds, at least 1. */
	interval_us = rtt / 1000 ? rtt / 1000 : 1;
	target_us = target / 1000 ? target / 1000 : 1;

	/* cobalt_cache_init */
	v.rec_inv_sqrt = ~0U;
	rec_inv_sqrt_cache[0] = ~0U;
	for (i = 1; i < REC_INV_SQRT_CACHE; i++) {
		v.count = i;
		cobalt_newton_step(&v);
		cobalt_newton_step(&v);
		cobalt_newton_step(&v);
		cobalt_newton_step(&v);
		rec_inv_sqrt_cache[i] = v.rec_inv_sqrt;
	}

	tin_mode = diffserv;
	rate_bps = bandwidth;
	reconfigure();
	avg_peak_bandwidth = rate_bps;

	n = 0;
	if (fwmark) {
		for (i = 0; i < 32; i++) {
			if (fwmark & (1U << i))
				break;
			n++;
		}
	}
	fwmark_shft = n;
	min_netlen = ~0U;
	min_adjlen = ~0U;
	return 0;
}

/* ---- enqueue ---- */

static __always_inline __u32 cake_calc_overhead(__u32 len)
{
	__s32 l;

	if (!raw)
		len -= ETH_HLEN;
	if (max_netlen < len)
		max_netlen = len;
	if (min_netlen > len)
		min_netlen = len;
	l = (__s32)len + overhead;
	if (l < (__s32)mpu)
		l = (__s32)mpu;
	len = (__u32)l;
	if (atm == ATM_ATM) {
		len += 47;
		len /= 48;
		len *= 53;
	} else if (atm == ATM_PTM) {
		len += (len + 63) / 64;
	}
	if (max_adjlen < len)
		max_adjlen = len;
	if (min_adjlen > len)
		min_adjlen = len;
	return len;
}

static __always_inline __u32 mix32(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* What enqueue reads of the packet's headers. */
struct pkt_info {
	__u32 dscp;
	__u32 srchost_hash;
	__u32 dsthost_hash;
};

/* DSCP (cake_handle_diffserv: ARP is CS7) and the host hashes (the source and the destination
 * address, each hashed alone, as flow_hash_from_keys of host_keys). With `wash` the DSCP bits
 * are cleared in the packet, the ECN bits kept and the IPv4 header checksum updated (RFC 1624);
 * the tin is still picked by the DSCP as it came. */
static __always_inline void read_headers(struct __sk_buff *skb, struct pkt_info *pi)
{
	__u8 *data = (void *)(long)skb->data;
	__u8 *data_end = (void *)(long)skb->data_end;
	__u8 *ip = data + ETH_HLEN;

	pi->dscp = 0;
	pi->srchost_hash = 0;
	pi->dsthost_hash = 0;
	if (skb->protocol == bpf_htons(0x0806)) {
		pi->dscp = 0x38;
		return;
	}
	if (skb->protocol == bpf_htons(0x0800)) {
		if (ip + 20 > data_end)
			return;
		pi->dscp = ip[1] >> 2;
		if (wash && pi->dscp) {
			__u16 *check = (__u16 *)(ip + 10);
			/* HC' = ~(~HC + ~m + m') over the 16-bit word holding the TOS */
			__u32 sum = (__u16)~bpf_ntohs(*check) + (__u16)~((ip[0] << 8) | ip[1]) +
				    ((ip[0] << 8) | (ip[1] & 3));

			sum = (sum & 0xffff) + (sum >> 16);
			sum = (sum & 0xffff) + (sum >> 16);
			*check = bpf_htons((__u16)~sum);
			ip[1] &= 3;
		}
		pi->srchost_hash = mix32(*(__u32 *)(ip + 12) ^ 0x9e3779b9);
		pi->dsthost_hash = mix32(*(__u32 *)(ip + 16) ^ 0x9e3779b9);
	} else if (skb->protocol == bpf_htons(0x86DD)) {
		__u32 hs = 0x9e3779b9, hd = 0x9e3779b9;
		int i;

		if (ip + 40 > data_end)
			return;
		pi->dscp = (((ip[0] & 0x0f) << 4) | (ip[1] >> 4)) >> 2;
		if (wash && pi->dscp) {
			ip[0] &= 0xf0;
			ip[1] &= 0x3f;
		}
		for (i = 0; i < 4; i++) {
			hs = mix32(hs ^ *(__u32 *)(ip + 8 + 4 * i));
			hd = mix32(hd ^ *(__u32 *)(ip + 24 + 4 * i));
		}
		pi->srchost_hash = hs;
		pi->dsthost_hash = hd;
	}
}

/* cake_select_tin */
static __always_inline __u32 select_tin(struct sch_bpf_ctx *ctx, __u32 dscp)
{
	struct __sk_buff *skb = ctx->skb;
	__u32 mark = (skb->mark & fwmark) >> (fwmark_shft & 31);
	__u32 prio = skb->priority;
	__u32 tin;
	int bulk = tin_mode == DIFFSERV3 || tin_mode == DIFFSERV4;

	if (tin_mode == BESTEFFORT)
		return 0;
	if (mark && mark <= tin_cnt)
		return bulk ? bulk_order[(mark - 1) & 7] : mark - 1;
	if ((prio & 0xffff0000) == (ctx->classid & 0xffff0000) && (prio & 0xffff) > 0 && (prio & 0xffff) <= tin_cnt)
		return bulk ? bulk_order[((prio & 0xffff) - 1) & 7] : (prio & 0xffff) - 1;
	dscp &= 63;
	switch (tin_mode) {
	case DIFFSERV4:
		tin = tin_index_diffserv4[dscp];
		break;
	case DIFFSERV8:
		tin = tin_index_diffserv8[dscp];
		break;
	case PRECEDENCE:
		tin = tin_index_precedence[dscp];
		break;
	default:
		tin = tin_index_diffserv3[dscp];
		break;
	}
	return tin < tin_cnt ? tin : 0;
}

static __always_inline int dsrc(void)
{
	return (flowmode & FLOW_DUAL_SRC) == FLOW_DUAL_SRC;
}

static __always_inline int ddst(void)
{
	return (flowmode & FLOW_DUAL_DST) == FLOW_DUAL_DST;
}

static __always_inline void host_bulk_inc(__u32 t, struct flow *f)
{
	struct host *h;

	if (dsrc()) {
		h = host_at(t, f->srchost);
		if (h->srchost_bulk_flow_count < CAKE_QUEUES)
			h->srchost_bulk_flow_count++;
	}
	if (ddst()) {
		h = host_at(t, f->dsthost);
		if (h->dsthost_bulk_flow_count < CAKE_QUEUES)
			h->dsthost_bulk_flow_count++;
	}
}

static __always_inline void host_bulk_dec(__u32 t, struct flow *f)
{
	struct host *h;

	if (dsrc()) {
		h = host_at(t, f->srchost);
		if (h->srchost_bulk_flow_count)
			h->srchost_bulk_flow_count--;
	}
	if (ddst()) {
		h = host_at(t, f->dsthost);
		if (h->dsthost_bulk_flow_count)
			h->dsthost_bulk_flow_count--;
	}
}

/* cake_get_flow_quantum: the tin's flow quantum divided by the host's bulk flows, dithered. */
static __always_inline __s32 flow_quantum(__u32 t, struct flow *f)
{
	struct tin *b = tin_at(t);
	__u32 host_load = 1, div;

	if (dsrc() && host_at(t, f->srchost)->srchost_bulk_flow_count > host_load)
		host_load = host_at(t, f->srchost)->srchost_bulk_flow_count;
	if (ddst() && host_at(t, f->dsthost)->dsthost_bulk_flow_count > host_load)
		host_load = host_at(t, f->dsthost)->dsthost_bulk_flow_count;
	div = 65535 / host_load;
	return (__s32)((b->flow_quantum * div + (bpf_get_prandom_u32() & 0xffff)) >> 16);
}

/* The host slot of a hash in tin t (srchost if src): the one tagged with it in its set, else
 * the first without bulk flows, else the hash's own; tagged. */
static __always_inline __u32 host_slot(__u32 t, __u32 hash, int src)
{
	__u32 idx = hash % CAKE_QUEUES, inner = idx % CAKE_SET_WAYS, outer = idx - inner, i, k;
	struct host *h;

	for (i = 0; i < CAKE_SET_WAYS; i++) {
		k = (inner + i) % CAKE_SET_WAYS;
		h = host_at(t, outer + k);
		if ((src ? h->srchost_tag : h->dsthost_tag) == hash)
			return outer + k;
	}
	k = inner;
	for (i = 0; i < CAKE_SET_WAYS; i++) {
		k = (inner + i) % CAKE_SET_WAYS;
		h = host_at(t, outer + k);
		if (!(src ? h->srchost_bulk_flow_count : h->dsthost_bulk_flow_count))
			break;
	}
	if (i == CAKE_SET_WAYS)
		k = inner;
	h = host_at(t, outer + k);
	if (src)
		h->srchost_tag = hash;
	else
		h->dsthost_tag = hash;
	return outer + k;
}

/* cake_hash: the queue of tin t for this packet. flow_override/host_override: from a filter's
 * class id (minor: flow + 1, major: host + 1). */
static __always_inline __u32 cake_hash(__u32 t, __u32 skb_hash, struct pkt_info *pi, __u32 flow_override,
				       __u32 host_override)
{
	struct tin *b = tin_at(t);
	__u32 flow_hash = 0, srchost_hash = pi->srchost_hash, dsthost_hash = pi->dsthost_hash;
	__u32 reduced, inner, outer, i, k;
	int allocate = 0, found = 0;
	struct flow *f;

	if (flowmode == FLOW_NONE)
		return 0;
	if (flow_override)
		flow_hash = flow_override - 1;
	else if (flowmode & FLOW_FLOWS)
		flow_hash = skb_hash;
	if (host_override) {
		srchost_hash = host_override - 1;
		dsthost_hash = host_override - 1;
	}
	if (!(flowmode & FLOW_FLOWS)) {
		if (flowmode & FLOW_SRC_IP)
			flow_hash ^= srchost_hash;
		if (flowmode & FLOW_DST_IP)
			flow_hash ^= dsthost_hash;
	}
	reduced = flow_hash % CAKE_QUEUES;
	f = flow_at(t * CAKE_QUEUES + reduced);
	if (f->tag == flow_hash && f->set) {
		b->way_directs++;
		return reduced;
	}
	inner = reduced % CAKE_SET_WAYS;
	outer = reduced - inner;
	k = inner;
	for (i = 0; i < CAKE_SET_WAYS; i++) {
		k = (inner + i) % CAKE_SET_WAYS;
		f = flow_at(t * CAKE_QUEUES + outer + k);
		if (f->tag == flow_hash) {
			if (i)
				b->way_hits++;
			if (!f->set)
				allocate = 1;
			found = 1;
			break;
		}
	}
	if (!found) {
		for (i = 0; i < CAKE_SET_WAYS; i++) {
			k = (inner + i) % CAKE_SET_WAYS;
			f = flow_at(t * CAKE_QUEUES + outer + k);
			if (!f->set) {
				b->way_misses++;
				found = 1;
				break;
			}
		}
		allocate = 1;
		if (!found) {
			/* No empty queue in the set: take the original one, accept the collision. */
			b->way_collisions++;
			k = inner;
			f = flow_at(t * CAKE_QUEUES + outer + k);
			if (f->set == SET_BULK)
				host_bulk_dec(t, f);
		}
	}
	reduced = outer + k;
	f = flow_at(t * CAKE_QUEUES + reduced);
	f->tag = flow_hash;
	if (allocate && dsrc()) {
		f->srchost = host_slot(t, srchost_hash, 1);
		if (f->set == SET_BULK && host_at(t, f->srchost)->srchost_bulk_flow_count < CAKE_QUEUES)
			host_at(t, f->srchost)->srchost_bulk_flow_count++;
	}
	if (allocate && ddst()) {
		f->dsthost = host_slot(t, dsthost_hash, 0);
		if (f->set == SET_BULK && host_at(t, f->dsthost)->dsthost_bulk_flow_count < CAKE_QUEUES)
			host_at(t, f->dsthost)->dsthost_bulk_flow_count++;
	}
	return reduced;
}

/* ---- the ACK filter ---- */

/* What the option walk finds (scalars only: cheaper for the verifier than writing through a
 * pointer to the slot). */
struct opt_walk {
	__u32 len;   /* option bytes */
	__u32 pos;   /* the next option */
	__u32 opts_ok, has_ts, trig_ts, first_ts_seen, first_sack_seen, nsack;
	__u32 tsval, tsecr;
	__u32 sack_at; /* where the first SACK option's blocks start in optbuf */
};

static __always_inline __u32 opt_be32(__u32 p)
{
	return (__u32)optbuf[p & 63] << 24 | (__u32)optbuf[(p + 1) & 63] << 16 | (__u32)optbuf[(p + 2) & 63] << 8 |
	       optbuf[(p + 3) & 63];
}

/* One option of the walk (tcp_parse_options' shape, as cake_get_tcpopt and cake_tcph_may_drop),
 * or one SACK block of the first SACK option; 1 ends the walk. */
static long opt_step(__u64 n, struct opt_walk *w)
{
	__u32 pos = w->pos, left, opcode, opsize;
	long stop = 0;

	if (pos >= w->len || pos >= MAX_TCP_OPTS)
		return 1;
	left = w->len - pos;
	opcode = optbuf[pos & 63];
	opsize = optbuf[(pos + 1) & 63];
	if (opcode == 0) { /* EOL */
		stop = 1;
	} else if (opcode == 1) { /* NOP */
		w->pos = pos + 1;
	} else if (left < 2 || opsize < 2 || opsize > left) {
		stop = 1;
	} else {
		if (opcode == 5) { /* SACK */
			if (opsize % 8 != 2)
				w->opts_ok = 0;
			if (!w->first_sack_seen) {
				w->first_sack_seen = 1;
				w->nsack = (opsize - 2) / 8 > 4 ? 4 : (opsize - 2) / 8;
			}
		} else if (opcode == 8) { /* timestamp */
			if (opsize != 10) {
				w->opts_ok = 0;
			} else if (!w->has_ts) {
				w->has_ts = 1;
				w->tsval = opt_be32(pos + 2);
				w->tsecr = opt_be32(pos + 6);
			}
			if (!w->first_ts_seen) {
				w->first_ts_seen = 1;
				w->trig_ts = opsize == 10;
			}
		} else if (opcode != 19) { /* MD5 is harmless; MSS, window, SACK-permitted, … are not */
			w->opts_ok = 0;
		}
		if (opcode == 5 && w->first_sack_seen == 1) {
			/* the first SACK option's blocks: read after the walk, at sack_at */
			w->first_sack_seen = 2;
			w->sack_at = pos + 2;
		}
		w->pos = pos + opsize;
	}
	return stop;
}

/* Parses the TCP header of an IPv4 (no IP options) or IPv6 (no extension headers) packet into
 * the slot's ACK-filter fields; s->tcp stays 0 otherwise. */
static __always_inline void parse_tcp(struct __sk_buff *skb, struct slot *s)
{
	__u8 *data = (void *)(long)skb->data;
	__u8 *data_end = (void *)(long)skb->data_end;
	__u8 *ip = data + ETH_HLEN, *th;
	struct opt_walk w = {};
	__u32 hdrlen, optlen, i, short_hdr;
	__s32 seglen;

	s->tcp = 0;
	s->opts_ok = 1;
	s->has_ts = 0;
	s->trig_ts = 0;
	s->nsack = 0;
	s->tsval = 0;
	s->tsecr = 0;
	if (skb->protocol == bpf_htons(0x0800)) {
		if (ip + 20 + 20 > data_end)
			return;
		if (ip[0] != 0x45 || ip[9] != 6)
			return;
		s->ipver = 4;
		seglen = (__s32)(((__u32)ip[2] << 8 | ip[3]) - 20);
		s->saddr[0] = *(__u32 *)(ip + 12);
		s->daddr[0] = *(__u32 *)(ip + 16);
		s->saddr[1] = s->saddr[2] = s->saddr[3] = 0;
		s->daddr[1] = s->daddr[2] = s->daddr[3] = 0;
		th = ip + 20;
	} else if (skb->protocol == bpf_htons(0x86DD)) {
		if (ip + 40 + 20 > data_end)
			return;
		if ((ip[0] >> 4) != 6 || ip[6] != 6)
			return;
		s->ipver = 6;
		seglen = (__s32)((__u32)ip[4] << 8 | ip[5]);
		for (i = 0; i < 4; i++) {
			s->saddr[i] = *(__u32 *)(ip + 8 + 4 * i);
			s->daddr[i] = *(__u32 *)(ip + 24 + 4 * i);
		}
		th = ip + 40;
	} else {
		return;
	}
	if (th + 20 > data_end)
		return;
	hdrlen = (th[12] >> 4) * 4;
	if (hdrlen < 20)
		return;
	s->sport = *(__u16 *)th;
	s->dport = *(__u16 *)(th + 2);
	s->ack_seq = bpf_ntohl(*(__u32 *)(th + 8));
	s->flags = bpf_ntohl(*(__u32 *)(th + 12));
	s->payload = seglen - (__s32)hdrlen;
	optlen = hdrlen - 20;
	short_hdr = 0;
#pragma clang loop unroll(full)
	for (i = 0; i < MAX_TCP_OPTS; i++) {
		if (i < optlen) {
			if (th + 20 + i + 1 > data_end)
				short_hdr = 1;
			else
				optbuf[i] = th[20 + i];
		}
	}
	if (short_hdr) /* the header is cut short */
		return;
	w.len = optlen;
	w.opts_ok = 1;
	LOOP(MAX_TCP_OPTS, opt_step, &w);
	s->opts_ok = w.opts_ok;
	s->has_ts = w.has_ts;
	s->trig_ts = w.trig_ts;
	s->tsval = w.tsval;
	s->tsecr = w.tsecr;
	s->nsack = w.nsack;
	if (w.nsack) {
		__u32 at = w.sack_at;

		for (i = 0; i < 8; i++)
			s->sack[i] = opt_be32(at + 4 * i);
	}
	s->tcp = 1;
}

#define TCP_FLAG_ACK 0x00100000U
#define TCP_FLAG_SYN 0x00020000U
#define TCP_FLAG_ECE 0x00400000U
#define TCP_FLAG_CWR 0x00800000U

struct ack_walk {
	__u32 link;      /* slot being checked */
	__u32 prev;      /* the slot before it */
	__u32 trigger;   /* the arriving ACK's slot (the flow's tail) */
	__u32 elig;      /* the ACK to drop */
	__u32 elig_prev;
	__u32 elig_flags;
	__s32 num_found;
	__u32 found;
	/* cake_tcph_sack_compare(checked packet, trigger), one block pair per step */
	__u32 cmp;       /* comparing */
	__u32 i, j;      /* block of the checked packet, block of the trigger */
	__u32 a_started; /* block i counted */
	__u32 covered;   /* block i is covered by a block of the trigger */
	__u32 first;     /* the first pass over the trigger's blocks (counts its bytes) */
	__u32 bytes_a, bytes_b;
};

/* The walk moves on to the next queued packet. */
static __always_inline long ack_next(struct ack_walk *w, __u32 link, __u32 next)
{
	w->cmp = 0;
	w->prev = link;
	w->link = next;
	return 0;
}

/* The SACK comparison of the packet at `link` gave sc: is it eligible, and is the walk done? */
static __always_inline long ack_conclude(struct ack_walk *w, struct slot *c, struct slot *t, __u32 link, int sc)
{
	if (sc < 0 || (c->ack_seq == t->ack_seq && sc == 0))
		return ack_next(w, link, c->next);
	if (!w->elig) {
		w->elig = link;
		w->elig_prev = w->prev;
		w->elig_flags = c->flags & (TCP_FLAG_ECE | TCP_FLAG_CWR);
	}
	if (w->num_found++ > 0) {
		w->found = 1;
		return 1;
	}
	return ack_next(w, link, c->next);
}

/* One step of cake_ack_filter's walk from the flow's head to the trigger (its tail): a queued
 * packet's header checks, or one pair of SACK blocks of the comparison that follows them. */
static long ack_step(__u32 n, struct ack_walk *w)
{
	__u32 link = w->link, i, start_a, end_a, start_b, end_b;
	struct slot *c, *t;

	if (!link || link == w->trigger)
		return 1;
	c = slot_get(link);
	t = slot_get(w->trigger);
	if (!c || !t)
		return 1;
	if (!w->cmp) {
		if (!c->tcp || c->ipver != t->ipver || c->sport != t->sport || c->dport != t->dport)
			return ack_next(w, link, c->next);
		for (i = 0; i < 4; i++)
			if (c->saddr[i] != t->saddr[i] || c->daddr[i] != t->daddr[i])
				return ack_next(w, link, c->next);
		/* ECE/CWR changed since the eligible ACK: dropping it would lose information */
		if (w->elig && (c->flags & (TCP_FLAG_ECE | TCP_FLAG_CWR)) != w->elig_flags) {
			w->elig = 0;
			w->elig_prev = 0;
			w->num_found--;
		}
		/* cake_tcph_may_drop: ACK set, no other flag but ECE/CWR, only MD5/SACK/timestamp
		 * options, timestamps not after the trigger's; no payload; not acking more than it. */
		if ((c->flags & 0x0F3F0000U) != TCP_FLAG_ACK || !c->opts_ok || c->payload != 0 ||
		    seq_after(c->ack_seq, t->ack_seq))
			return ack_next(w, link, c->next);
		if (c->has_ts && (seq_after(c->tsval, t->trig_ts ? t->tsval : 0) ||
				  seq_after(c->tsecr, t->trig_ts ? t->tsecr : 0)))
			return ack_next(w, link, c->next);
		if (c->nsack && !t->nsack)
			return ack_conclude(w, c, t, link, -1);
		if (t->nsack && !c->nsack)
			return ack_conclude(w, c, t, link, 1);
		if (!c->nsack && !t->nsack)
			return ack_conclude(w, c, t, link, 0);
		w->cmp = 1;
		w->i = 0;
		w->j = 0;
		w->a_started = 0;
		w->covered = 0;
		w->first = 1;
		w->bytes_a = 0;
		w->bytes_b = 0;
		return 0;
	}
	/* Every block of the checked packet must be covered by one of the trigger's. */
	if (w->i >= c->nsack || w->i >= 4)
		return ack_conclude(w, c, t, link, w->bytes_b > w->bytes_a ? 1 : 0);
	start_a = c->sack[(2 * w->i) & 7];
	end_a = c->sack[(2 * w->i + 1) & 7];
	if (!w->a_started) {
		if (seq_before(start_a, c->ack_seq)) /* a DSACK: never dropped */
			return ack_conclude(w, c, t, link, -1);
		w->bytes_a += end_a - start_a;
		w->covered = 0;
		w->a_started = 1;
	}
	if (w->j < t->nsack && w->j < 4 && !(w->covered && !w->first)) {
		start_b = t->sack[(2 * w->j) & 7];
		end_b = t->sack[(2 * w->j + 1) & 7];
		if (w->first)
			w->bytes_b += end_b - start_b;
		if (!seq_after(start_b, start_a) && !seq_before(end_b, end_a))
			w->covered = 1;
		w->j++;
		return 0;
	}
	if (!w->covered)
		return ack_conclude(w, c, t, link, -1);
	w->first = 0;
	w->i++;
	w->j = 0;
	w->a_started = 0;
	return 0;
}

/* After the walk: the ACK to drop (its slot link, unlinked from flow f), or 0. */
static __always_inline __u32 ack_filter_finish(struct flow *f, struct ack_walk *w)
{
	struct slot *t, *e, *p;

	if (!w->elig)
		return 0;
	e = slot_get(w->elig);
	if (!e)
		return 0;
	if (!w->found) {
		/* aggressive: a single eligible ACK right before the trigger, with the same ECE/CWR */
		t = slot_get(f->tail);
		if (!t)
			return 0;
		if (!(ack_filter == ACK_AGGRESSIVE && e->next == f->tail &&
		      w->elig_flags == (t->flags & (TCP_FLAG_ECE | TCP_FLAG_CWR))))
			return 0;
	}
	if (w->elig_prev) {
		p = slot_get(w->elig_prev);
		if (!p)
			return 0;
		p->next = e->next;
	} else {
		f->head = e->next;
	}
	return w->elig;
}

/* ---- the shaper ---- */

/* cake_advance_shaper: charges adjlen bytes to tin b and to the global shaper. */
static __always_inline void advance_shaper(struct tin *b, __u32 adjlen, __u64 now, int drop)
{
	__u64 tin_dur, global_dur, failsafe_dur;

	if (!rate_ns)
		return;
	tin_dur = ((__u64)adjlen * b->tin_rate_ns) >> (b->tin_rate_shft & 63);
	global_dur = ((__u64)adjlen * rate_ns) >> (rate_shft & 63);
	failsafe_dur = global_dur + (global_dur >> 1);
	if (time_before(b->time_next_packet, now))
		b->time_next_packet += tin_dur;
	else if (time_before(b->time_next_packet, now + tin_dur))
		b->time_next_packet = now + tin_dur;
	time_next_packet += global_dur;
	if (!drop)
		failsafe_next_packet += failsafe_dur;
}

/* ---- overflow (cake_drop) ---- */

/* ---- enqueue ----
 *
 * After the program has stored the packet (and parsed its TCP header for the ACK filter), the
 * rest of cake_enqueue runs as one bpf_loop state machine, one step per call, as dequeue does:
 * the verifier then explores each stage once, not once per path through the stages before it. */

enum { EQ_HASH, EQ_ADD, EQ_ACK, EQ_FINISH, EQ_OVERFLOW };

struct enq {
	__u64 now;
	struct pkt_info pi;
	__u32 phase;
	__u32 t;
	__u32 idx;
	__u32 flow_hash;
	__u32 flow_ov, host_ov;
	__u32 link;
	__u32 len;
	__u32 ack_check; /* the tail is an ACK that may make an older one redundant */
	/* the overflow drop: a scan of every queue for the fattest, then a drop, per round */
	__u32 k;
	__u32 max;
	__u32 fattest;
	__u32 offered_dropped;
	__u32 drops;
	struct ack_walk w;
};

/* The packet in slot e->link joins its queue: the shaper's staleness check and flow_queue_add;
 * e->ack_check says whether the ACK filter walks. */
static __always_inline void add_stage(struct enq *e)
{
	__u32 t = e->t & (CAKE_MAX_TINS - 1), gidx = t * CAKE_QUEUES + (e->idx & (CAKE_QUEUES - 1));
	struct flow *f = flow_at(gidx);
	struct tin *b = tin_at(t);
	struct slot *last;

	/* ensure the shaper state is not stale */
	if (!b->tin_backlog) {
		if (time_before(b->time_next_packet, e->now))
			b->time_next_packet = e->now;
		if (!qlen && time_before(time_next_packet, e->now)) {
			failsafe_next_packet = e->now;
			time_next_packet = e->now;
		}
	}
	if (e->len > b->max_skblen)
		b->max_skblen = e->len;

	/* flow_queue_add */
	if (f->tail) {
		last = slot_get(f->tail);
		if (last)
			last->next = e->link;
	} else {
		f->head = e->link;
	}
	f->tail = e->link;

	/* cake_ack_filter's first checks: another packet queued, the tail an ACK without SYN */
	e->ack_check = 0;
	if (ack_filter && f->head != f->tail) {
		last = slot_get(f->tail);
		if (last && last->tcp && (last->flags & (TCP_FLAG_ACK | TCP_FLAG_SYN)) == TCP_FLAG_ACK) {
			e->ack_check = 1;
			e->w.link = f->head;
			e->w.trigger = f->tail;
		}
	}
}

/* autorate_ingress: the arrival rate over bursts of packets closer together than usual, as
 * Linux's cake_enqueue estimates it; 15/16 of its peak becomes the shaper's rate. Linux's
 * last_reconfig_time is never set, so every estimate after the first 250 ms of the clock is
 * applied. */
static __always_inline void estimate_rate(__u64 now, __u32 len)
{
	__u64 packet_interval, window, bytes_per_s;

	if (!autorate_ingress) {
		last_packet_time = now;
		return;
	}
	avg_window_bytes += len;
	packet_interval = now - last_packet_time;
	if (packet_interval > 1000000000ULL)
		packet_interval = 1000000000ULL;
	/* filter out short-term bursts (Wi-Fi aggregation) */
	avg_packet_interval = cake_ewma(avg_packet_interval, packet_interval,
					packet_interval > avg_packet_interval ? 2 : 8);
	last_packet_time = now;
	if (packet_interval <= avg_packet_interval)
		return;
	window = now - avg_window_begin;
	bytes_per_s = window ? avg_window_bytes * 1000000000ULL / window : 0;
	avg_peak_bandwidth = cake_ewma(avg_peak_bandwidth, bytes_per_s, bytes_per_s > avg_peak_bandwidth ? 2 : 8);
	avg_window_bytes = 0;
	avg_window_begin = now;
	if (now > 250000000ULL) {
		rate_bps = (avg_peak_bandwidth * 15) >> 4;
		reconfigure();
	}
}

/* The ACK filter's drop, the counters, the rate estimate and the flowchain. */
static __always_inline void finish_stage(struct enq *e)
{
	__u32 t = e->t & (CAKE_MAX_TINS - 1), gidx = t * CAKE_QUEUES + (e->idx & (CAKE_QUEUES - 1));
	__u32 len = e->len, ack = 0, ack_len = 0;
	struct flow *f = flow_at(gidx);
	struct tin *b = tin_at(t);
	struct sk_buff *ref;

	if (e->ack_check)
		ack = ack_filter_finish(f, &e->w);
	if (ack) {
		struct slot *as = slot_get(ack);

		if (as) {
			ack_len = as->len;
			b->ack_drops++;
			ack_drops++;
			b->bytes += ack_len;
			if (ingress)
				advance_shaper(b, as->adjlen, e->now, 1);
			ref = bpf_kptr_xchg(&as->skb, NULL);
			slot_free(ack, as);
			if (ref)
				bpf_skb_release(ref); /* counted by the engine as dropped by the program */
		}
	} else {
		qlen++;
	}
	tin_packets[t]++;
	b->bytes += len - ack_len;
	f->backlog += len - ack_len;
	b->tin_backlog += len - ack_len;
	backlog += len - ack_len;
	buffer_used += len - ack_len;
	estimate_rate(e->now, len - ack_len);

	/* flowchain */
	if (f->set == SET_NONE || f->set == SET_DECAYING) {
		if (f->set == SET_DECAYING)
			b->decaying_flow_count--;
		list_move_tail(b, L_NEW, gidx, f);
		f->set = SET_SPARSE;
		b->sparse_flow_count++;
		f->deficit = flow_quantum(t, f);
	} else if (f->set == SET_SPARSE_WAIT) {
		/* empty, counted as sparse, but in the bulk rotation */
		f->set = SET_BULK;
		b->sparse_flow_count--;
		b->bulk_flow_count++;
		host_bulk_inc(t, f);
	}
	if (buffer_used > buffer_max_used)
		buffer_max_used = buffer_used;
}

/* cake_drop(): the head packet of the fattest queue e->fattest. 1 if there was none. */
static __always_inline long drop_fattest(struct enq *e)
{
	struct sk_buff *skb;
	struct flow *f = flow_at(e->fattest);
	struct tin *b = tin_at(e->fattest / CAKE_QUEUES);
	struct slot *s;
	__u32 link = f->head, len;

	if (!link)
		return 1;
	s = slot_get(link);
	if (!s)
		return 1;
	f->head = s->next;
	if (!f->head)
		f->tail = 0;
	if (cobalt_queue_full(&f->cvars, b, e->now))
		b->unresponsive_flow_count++;
	len = s->len;
	buffer_used -= len;
	f->backlog -= len;
	b->tin_backlog -= len;
	backlog -= len;
	f->dropped++;
	b->tin_dropped++;
	if (ingress)
		advance_shaper(b, s->adjlen, e->now, 1);
	qlen--;
	e->drops++;
	if (link == e->link)
		e->offered_dropped = 1;
	skb = bpf_kptr_xchg(&s->skb, NULL);
	slot_free(link, s);
	if (skb)
		bpf_skb_release(skb);
	return 0;
}

/* One step of the rest of cake_enqueue. */
static long enqueue_step(__u64 n, struct enq *e)
{
	struct flow *f;

	switch (e->phase) {
	case EQ_HASH:
		e->idx = cake_hash(e->t & (CAKE_MAX_TINS - 1), e->flow_hash, &e->pi, e->flow_ov, e->host_ov) &
			 (CAKE_QUEUES - 1);
		e->phase = EQ_ADD;
		return 0;
	case EQ_ADD:
		add_stage(e);
		e->phase = e->ack_check ? EQ_ACK : EQ_FINISH;
		return 0;
	case EQ_ACK:
		if (ack_step(n, &e->w))
			e->phase = EQ_FINISH;
		return 0;
	case EQ_FINISH:
		finish_stage(e);
		e->phase = EQ_OVERFLOW;
		e->k = 0;
		e->max = 0;
		return 0;
	default:
		/* while over the memory limit: steps 0 .. queues-1 of a round look for the first
		 * queue, in (tin, queue) order, with the largest backlog; the next drops its head */
		if (e->k == 0 && buffer_used <= buffer_limit)
			return 1;
		if (e->k < tin_cnt * CAKE_QUEUES) {
			f = flow_at(e->k);
			if (f->backlog > e->max) {
				e->max = f->backlog;
				e->fattest = e->k;
			}
			e->k++;
			return 0;
		}
		e->k = 0;
		if (!e->max)
			return 1;
		e->max = 0;
		return drop_fattest(e);
	}
}

SEC("qdisc/enqueue")
int cake_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	struct enq e = {};
	struct slot *s;
	__u32 classid, link;

	e.now = bpf_ktime_get_ns();
	e.len = skb->wire_len;
	read_headers(skb, &e.pi);
	/* cake_classify: a filter's class id overrides the flow (minor) and the host (major). */
	classid = bpf_skb_tc_classify(skb, skb->ifindex, ctx->classid & 0xffff0000);
	if (classid) {
		if ((classid & 0xffff) <= CAKE_QUEUES)
			e.flow_ov = classid & 0xffff;
		if ((classid & 0xffff0000) <= (CAKE_QUEUES << 16))
			e.host_ov = classid >> 16;
	}
	e.t = select_tin(ctx, e.pi.dscp) & (CAKE_MAX_TINS - 1);
	if (!e.flow_ov && (flowmode & FLOW_FLOWS))
		e.flow_hash = bpf_skb_get_hash(skb_ref(skb));

	s = slot_put_skb(skb, &link);
	if (!s)
		return SCH_BPF_DROP;
	s->enqueue_ns = e.now;
	s->len = e.len;
	s->adjlen = cake_calc_overhead(e.len);
	s->next = 0;
	if (ack_filter)
		parse_tcp(skb, s);
	else
		s->tcp = 0;
	e.link = link;
	LOOP(MAX_ENQUEUE_STEPS, enqueue_step, &e);
	if (e.drops) {
		tin_at(e.t)->drop_overlimit += e.drops;
		overlimit_drops += e.drops;
	}
	/* Linux returns NET_XMIT_CN when the drops hit the packet's own queue; bpfq's CN means the
	 * offered packet itself was dropped, so CN only then. */
	return e.offered_dropped ? SCH_BPF_CN : SCH_BPF_QUEUED;
}

/* ---- dequeue ---- */

enum { PH_BEGIN, PH_RETRY, PH_AQM };
enum { DQ_NONE, DQ_PACKET, DQ_THROTTLE, DQ_EMPTY };

struct deq {
	__u64 now;
	__u64 throttle_until;
	__u32 phase;
	__u32 first_flow;
	__u32 gidx;
	__u32 done;
};

struct tin_walk {
	__u32 wrapped;
	__u32 empty;
	__u32 found;
};

/* One step of the unlimited mode's DRR over the tins. */
static long tin_step(__u32 n, struct tin_walk *w)
{
	struct tin *b = tin_at(cur_tin);
	__u32 active = b->sparse_flow_count + b->bulk_flow_count;

	if (b->tin_deficit >= 0 && active) {
		w->found = 1;
		return 1;
	}
	if (b->tin_deficit <= 0)
		b->tin_deficit += b->tin_quantum;
	if (active)
		w->empty = 0;
	cur_tin++;
	if (cur_tin >= tin_cnt) {
		cur_tin = 0;
		if (w->wrapped) {
			if (w->empty)
				return 1;
		} else {
			w->wrapped = 1;
		}
	}
	return 0;
}

static __always_inline int begin(struct deq *d)
{
	struct tin *b;
	__u32 i, best_tin = 0;
	__s64 best_time = 0x7fffffffffffffffLL;

	if (!qlen) {
		d->done = DQ_EMPTY;
		return 1;
	}
	/* the global hard shaper */
	if (time_before(d->now, time_next_packet) && time_before(d->now, failsafe_next_packet)) {
		d->throttle_until = time_before(time_next_packet, failsafe_next_packet) ? time_next_packet
											: failsafe_next_packet;
		d->done = DQ_THROTTLE;
		return 1;
	}
	if (!rate_ns) {
		struct tin_walk w = {.empty = 1};

		LOOP(MAX_DEQUEUE_ROUNDS, tin_step, &w);
		if (!w.found) {
			d->done = DQ_EMPTY;
			return 1;
		}
	} else {
		/* the highest-priority tin with packets meeting its schedule, else the earliest */
		for (i = 0; i < CAKE_MAX_TINS; i++) {
			if (i >= tin_cnt)
				break;
			b = tin_at(i);
			if (b->sparse_flow_count + b->bulk_flow_count) {
				__s64 time_to_pkt = (__s64)(b->time_next_packet - d->now);

				if (time_to_pkt <= 0 || time_to_pkt <= best_time) {
					best_time = time_to_pkt;
					best_tin = i;
				}
			}
		}
		cur_tin = best_tin;
		b = tin_at(best_tin);
		if (!(b->sparse_flow_count + b->bulk_flow_count)) {
			d->done = DQ_EMPTY;
			return 1;
		}
	}
	d->phase = PH_RETRY;
	return 0;
}

static __always_inline void retry(struct deq *d)
{
	__u32 t = cur_tin & (CAKE_MAX_TINS - 1), which = L_DECAYING, gidx;
	struct tin *b = tin_at(t);
	struct flow *f;

	if (!d->first_flow || !b->head[L_DECAYING]) {
		which = L_NEW;
		if (!b->head[L_NEW]) {
			which = L_OLD;
			if (!b->head[L_OLD]) {
				which = L_DECAYING;
				if (!b->head[L_DECAYING]) {
					d->phase = PH_BEGIN;
					return;
				}
			}
		}
	}
	gidx = (b->head[which] - 1) & (ALL_FLOWS - 1);
	f = flow_at(gidx);
	d->first_flow = 0;
	/* flow isolation (DRR++) */
	if (f->deficit <= 0) {
		if (f->set == SET_SPARSE) {
			if (f->head) {
				b->sparse_flow_count--;
				b->bulk_flow_count++;
				host_bulk_inc(t, f);
				f->set = SET_BULK;
			} else {
				f->set = SET_SPARSE_WAIT;
			}
		}
		f->deficit += flow_quantum(t, f);
		list_move_tail(b, L_OLD, gidx, f);
		return;
	}
	d->gidx = gidx;
	d->phase = PH_AQM;
}

static __always_inline int aqm(struct deq *d)
{
	__u32 gidx = d->gidx & (ALL_FLOWS - 1), t = gidx / CAKE_QUEUES, link, len, adjlen, key = 0;
	struct flow *f = flow_at(gidx);
	struct tin *b = tin_at(t);
	struct sk_buff *skb;
	struct parked *p;
	struct slot *s;
	__u64 enq, delay;
	int drop;

	link = f->head;
	if (!link) {
		/* this queue was actually empty */
		if (cobalt_queue_empty(&f->cvars, b, d->now))
			b->unresponsive_flow_count--;
		if (f->cvars.p_drop || f->cvars.count || time_before(d->now, f->cvars.drop_next)) {
			/* keep it in the flowchain until its state has decayed to rest */
			list_move_tail(b, L_DECAYING, gidx, f);
			if (f->set == SET_BULK) {
				b->bulk_flow_count--;
				host_bulk_dec(t, f);
				b->decaying_flow_count++;
			} else if (f->set == SET_SPARSE || f->set == SET_SPARSE_WAIT) {
				b->sparse_flow_count--;
				b->decaying_flow_count++;
			}
			f->set = SET_DECAYING;
		} else {
			list_del(b, f);
			if (f->set == SET_SPARSE || f->set == SET_SPARSE_WAIT) {
				b->sparse_flow_count--;
			} else if (f->set == SET_BULK) {
				b->bulk_flow_count--;
				host_bulk_dec(t, f);
			} else {
				b->decaying_flow_count--;
			}
			f->set = SET_NONE;
		}
		d->phase = PH_BEGIN;
		return 0;
	}
	s = slot_get(link);
	if (!s) {
		d->done = DQ_EMPTY;
		return 1;
	}
	skb = bpf_kptr_xchg(&s->skb, NULL);
	f->head = s->next;
	if (!f->head)
		f->tail = 0;
	len = s->len;
	adjlen = s->adjlen;
	enq = s->enqueue_ns;
	f->backlog -= len;
	b->tin_backlog -= len;
	backlog -= len;
	buffer_used -= len;
	qlen--;
	slot_free(link, s);
	if (!skb)
		return 0;

	drop = cobalt_should_drop(&f->cvars, b, d->now, skb, enq, ingress ? b->bulk_flow_count : 0);
	if (drop && f->head) {
		if (ingress) {
			advance_shaper(b, adjlen, d->now, 1);
			f->deficit -= adjlen;
			b->tin_deficit -= adjlen;
		}
		f->dropped++;
		b->tin_dropped++;
		cobalt_drops++;
		bpf_skb_release(skb); /* counted by the engine as dropped by the program */
		if (ingress)
			d->phase = PH_RETRY;
		return 0;
	}

	if (f->cvars.ecn_marked) {
		b->tin_ecn_mark++;
		ecn_marks++;
	}
	delay = d->now - enq;
	b->avge_delay = cake_ewma(b->avge_delay, delay, 8);
	b->peak_delay = cake_ewma(b->peak_delay, delay, delay > b->peak_delay ? 2 : 8);
	b->base_delay = cake_ewma(b->base_delay, delay, delay < b->base_delay ? 2 : 8);
	advance_shaper(b, adjlen, d->now, 0);
	f->deficit -= adjlen;
	b->tin_deficit -= adjlen;

	p = bpf_map_lookup_elem(&handout, &key);
	if (!p) {
		bpf_skb_release(skb);
		d->done = DQ_EMPTY;
		return 1;
	}
	skb = bpf_kptr_xchg(&p->skb, skb);
	if (skb)
		bpf_skb_release(skb);
	d->done = DQ_PACKET;
	return 1;
}

/* One pass of cake_dequeue's "goto begin" / "goto retry" / AQM loop. */
static long dequeue_round(__u32 n, struct deq *d)
{
	if (d->phase == PH_BEGIN)
		return begin(d);
	if (d->phase == PH_RETRY) {
		retry(d);
		return 0;
	}
	return aqm(d);
}

SEC("qdisc/dequeue")
int cake_dequeue(struct sch_bpf_ctx *ctx)
{
	struct deq d = {};
	struct sk_buff *skb;
	struct parked *p;
	__u32 key = 0;

	ctx->skb = NULL;
	d.now = bpf_ktime_get_ns();
	d.first_flow = 1;
	LOOP(MAX_DEQUEUE_ROUNDS, dequeue_round, &d);
	if (d.done == DQ_THROTTLE) {
		ctx->delay = d.throttle_until - d.now;
		return SCH_BPF_THROTTLE;
	}
	p = bpf_map_lookup_elem(&handout, &key);
	if (!p)
		return SCH_BPF_DEQUEUED;
	skb = bpf_kptr_xchg(&p->skb, NULL);
	if (skb)
		ctx->skb = skb_view(skb);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
