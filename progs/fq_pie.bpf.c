/* fq_pie: Linux's Flow Queue PIE (net/sched/sch_fq_pie.c, include/net/pie.h, RFC 8033 + the
 * fq_codel scheduler) as a bpfq program. Packets are hashed into `flows` buckets served by a
 * deficit round robin that prefers new flows over old ones, exactly as fq_codel; each bucket has
 * its own PIE controller (pie_vars): arrivals to a flow are dropped (or ECN-marked) early with the
 * flow's probability, which a timer recomputes for every flow every tupdate from that flow's
 * queueing delay. Beyond `limit` packets the arrival is tail-dropped; `memory_limit` is only
 * counted (Linux's "overmemory" statistic), never enforced, as in Linux.
 *
 * Time is kept as Linux does, in psched ticks of 64 ns, so the controller's arithmetic and its
 * rounding are Linux's. The timer (first run 500 ms after init, then every tupdate) runs
 * lazily: at the start of each enqueue and dequeue, the updates that fell due run first, one
 * flow per bpf_loop step with a cursor (so a catch-up longer than one loop resumes next time).
 *
 * Layout (as progs/fq_codel.bpf.c): a packet sits in a slot (an ARRAY element holding its
 * reference, length, enqueue time and the next slot of its flow); a flow (an element of a .bss
 * array) holds its FIFO's head and tail slot, its list link, deficit, backlog and PIE state.
 * Links are index + 1, so 0 means none. */
#include <bpfq/bpf/sch_bpf.h>

#define PSCHED_SHIFT 6
#define PSCHED_TICKS_PER_SEC (1000000000ull >> PSCHED_SHIFT)
#define MAX_PROB (~0ull >> 8)
#define DTIME_INVALID (~0ull)
#define QUEUE_THRESHOLD 16384
#define DQCOUNT_INVALID (~0ull)
#define PIE_SCALE 8
#define FIRST_UPDATE_NS 500000000ull /* fq_pie_init arms the timer at HZ/2 */
#define MAX_FLOWS 65536
#define MAX_SLOTS 65536
#define MAX_DEQUEUE_ROUNDS (4 * MAX_FLOWS)
#define MAX_TIMER_STEPS (1 << 20)

/* ---- parameters (tc-fq_pie options; Linux defaults) ---- */
const volatile bpfq_count limit = 10240;          /* packets */
const volatile bpfq_count flows = 1024;           /* 1 .. 65536 */
const volatile bpfq_time_ns target = 15000000;    /* ns */
const volatile bpfq_time_ns tupdate = 15000000;   /* ns; 0: update once */
const volatile bpfq_count alpha = 2;              /* 1/16 units */
const volatile bpfq_count beta = 20;              /* 1/16 units */
const volatile bpfq_size_bytes quantum = 1514;    /* bytes; Linux: psched_mtu, 1 .. 2^20 */
const volatile bpfq_size_bytes memory_limit = 32U << 20; /* bytes; counted, not enforced */
const volatile bpfq_count ecn_prob = 10;          /* percent: mark instead of drop up to it */
const volatile bpfq_count ecn = 0;
const volatile bpfq_count bytemode = 0;
const volatile bpfq_count dq_rate_estimator = 0;
const volatile bpfq_size_bytes mtu = 1514;        /* psched_mtu of the device: 1500 + 14 */

struct pie_vars {
	__u64 qdelay;
	__u64 qdelay_old;
	__u64 burst_time;
	__u64 dq_tstamp;
	__u64 prob;
	__u64 accu_prob;
	__u64 dq_count;
	__u32 avg_dq_rate;
	__u32 backlog_old;
};

struct slot {
	struct sk_buff __kptr_ref *skb;
	__u64 enqueue_ticks;
	__u32 len;  /* wire length (qdisc_pkt_len) */
	__u32 next; /* next slot of the same flow, + 1 */
};

enum { LIST_NONE, LIST_NEW, LIST_OLD };

struct flow {
	__u32 head;    /* first slot + 1; 0: empty */
	__u32 tail;    /* last slot + 1 */
	__u32 next;    /* next flow of its list + 1 */
	__u32 list;    /* LIST_NONE / LIST_NEW / LIST_OLD */
	__s32 deficit;
	__u32 backlog; /* bytes queued */
	__u32 qlen;    /* packets queued */
	__u32 pad;
	struct pie_vars vars;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct slot);
} slots SEC(".maps");

struct flow flow_table[MAX_FLOWS];

__u64 target_ticks;
__u64 next_update_ns;
__u32 timer_armed;
__u32 flows_cursor; /* next flow the timer updates */

__u32 new_head, new_tail, old_head, old_tail;

__u32 qlen;
__u32 backlog;

/* ---- tc -s xstats (tc_fq_pie_xstats) ---- */
__u32 packets_in;
__u32 overlimit;
__u32 overmemory;
__u32 dropped;
__u32 ecn_mark;
__u32 new_flow_count;
__u32 memory_usage;
__u32 new_flows_len;
__u32 old_flows_len;

static __always_inline struct flow *flow_get(__u32 idx)
{
	return &flow_table[idx & (MAX_FLOWS - 1)]; /* idx < flows <= MAX_FLOWS */
}

#include <bpfq/bpf/slot_list.h>

static void vars_init(struct pie_vars *v)
{
	v->burst_time = (150 * 1000000ull) >> PSCHED_SHIFT; /* 150 ms */
	v->dq_tstamp = DTIME_INVALID;
	v->accu_prob = 0;
	v->dq_count = DQCOUNT_INVALID;
	v->avg_dq_rate = 0;
}

/* ---- PIE (include/net/pie.h, sch_pie.c), on one flow's vars and backlog ---- */

static int drop_early(struct pie_vars *v, __u32 flow_backlog, __u32 packet_size)
{
	__u64 local_prob = v->prob, rnd;

	if (v->burst_time > 0)
		return 0;
	if (v->qdelay < target_ticks / 2 && v->prob < MAX_PROB / 5)
		return 0;
	/* Fewer than two MTU-sized packets in this flow, like RED's min_th. */
	if (flow_backlog < 2 * mtu)
		return 0;
	if (bytemode && packet_size <= mtu)
		local_prob = (__u64)packet_size * (local_prob / mtu);
	else
		local_prob = v->prob;
	if (local_prob == 0)
		v->accu_prob = 0;
	else
		v->accu_prob += local_prob;
	if (v->accu_prob < (MAX_PROB / 100) * 85)
		return 0;
	if (v->accu_prob >= (MAX_PROB / 2) * 17)
		return 1;
	/* Linux draws 8 random bytes; here two 32-bit draws, the first the high half. */
	rnd = (__u64)bpf_get_prandom_u32() << 32;
	rnd |= bpf_get_prandom_u32();
	if ((rnd >> 8) < local_prob) {
		v->accu_prob = 0;
		return 1;
	}
	return 0;
}

static void calculate_probability(struct pie_vars *v, __u32 flow_backlog)
{
	__u64 qd, qd_old, oldprob, a, b;
	__s64 delta = 0;
	int update_prob = 1;

	if (dq_rate_estimator) {
		qd_old = v->qdelay;
		v->qdelay_old = v->qdelay;
		qd = v->avg_dq_rate > 0 ? (__u32)(flow_backlog << PIE_SCALE) / v->avg_dq_rate : 0;
	} else {
		qd = v->qdelay;
		qd_old = v->qdelay_old;
	}
	if (qd == 0 && flow_backlog != 0)
		update_prob = 0;

	a = ((__u64)alpha * (MAX_PROB / PSCHED_TICKS_PER_SEC)) >> 4;
	b = ((__u64)beta * (MAX_PROB / PSCHED_TICKS_PER_SEC)) >> 4;
	if (v->prob < MAX_PROB / 10) {
		__u64 power = 100;

		a >>= 1;
		b >>= 1;
		for (int i = 0; i < 5 && v->prob < MAX_PROB / power && power <= 1000000; i++) {
			a >>= 2;
			b >>= 2;
			power *= 10;
		}
	}
	delta += a * (qd - target_ticks);
	delta += b * (qd - qd_old);
	oldprob = v->prob;

	if (delta > (__s64)(MAX_PROB / (100 / 2)) && v->prob >= MAX_PROB / 10)
		delta = (MAX_PROB / 100) * 2;
	if (qd > ((250 * 1000000ull) >> PSCHED_SHIFT))
		delta += MAX_PROB / (100 / 2);

	v->prob += delta;
	if (delta > 0) {
		if (v->prob < oldprob) {
			v->prob = MAX_PROB;
			update_prob = 0;
		}
	} else if (v->prob > oldprob) {
		v->prob = 0;
	}
	if (qd == 0 && qd_old == 0 && update_prob)
		v->prob -= v->prob / 64;

	v->qdelay = qd;
	v->backlog_old = flow_backlog;
	if (v->qdelay < target_ticks / 2 && v->qdelay_old < target_ticks / 2 && v->prob == 0 &&
	    (!dq_rate_estimator || v->avg_dq_rate > 0))
		vars_init(v);
	if (!dq_rate_estimator)
		v->qdelay_old = qd;
}

/* pie_process_dequeue with the flow's backlog after the packet left. */
static void process_dequeue(struct pie_vars *v, __u32 flow_backlog, __u64 enq_ticks, __u32 len)
{
	__u64 now = bpf_ktime_get_ns() >> PSCHED_SHIFT;
	__u32 dtime = 0;

	if (!dq_rate_estimator) {
		v->qdelay = now - enq_ticks;
		if (v->dq_tstamp != DTIME_INVALID)
			dtime = now - v->dq_tstamp;
		v->dq_tstamp = now;
		if (flow_backlog == 0)
			v->qdelay = 0;
		if (dtime == 0)
			return;
		goto burst_allowance_reduction;
	}
	if (flow_backlog >= QUEUE_THRESHOLD && v->dq_count == DQCOUNT_INVALID) {
		v->dq_tstamp = now;
		v->dq_count = 0;
	}
	if (v->dq_count != DQCOUNT_INVALID) {
		v->dq_count += len;
		if (v->dq_count >= QUEUE_THRESHOLD) {
			__u32 count = (__u32)v->dq_count << PIE_SCALE;

			dtime = now - v->dq_tstamp;
			if (dtime == 0)
				return;
			count = count / dtime;
			if (v->avg_dq_rate == 0)
				v->avg_dq_rate = count;
			else
				v->avg_dq_rate = (v->avg_dq_rate - (v->avg_dq_rate >> 3)) + (count >> 3);
			if (flow_backlog < QUEUE_THRESHOLD) {
				v->dq_count = DQCOUNT_INVALID;
			} else {
				v->dq_count = 0;
				v->dq_tstamp = now;
			}
			goto burst_allowance_reduction;
		}
	}
	return;

burst_allowance_reduction:
	if (v->burst_time > 0)
		v->burst_time = v->burst_time > dtime ? v->burst_time - dtime : 0;
}

/* ---- the timer: one flow per step ---- */

static long timer_step(__u32 i, __u64 *now_ns)
{
	struct flow *f;

	if (!timer_armed || *now_ns < next_update_ns)
		return 1;
	f = flow_get(flows_cursor);
	calculate_probability(&f->vars, f->backlog);
	if (++flows_cursor < flows)
		return 0;
	flows_cursor = 0;
	if (tupdate)
		next_update_ns += tupdate;
	else
		timer_armed = 0;
	return 0;
}

static void run_due_timers(void)
{
	__u64 now = bpf_ktime_get_ns();

	bpf_loop(MAX_TIMER_STEPS, timer_step, &now, 0);
}

/* ---- flow lists ---- */

static __always_inline void list_append(__u32 which, __u32 idx, struct flow *f)
{
	__u32 *head = which == LIST_NEW ? &new_head : &old_head;
	__u32 *tail = which == LIST_NEW ? &new_tail : &old_tail;

	f->next = 0;
	f->list = which;
	if (*tail)
		flow_get(*tail - 1)->next = idx + 1;
	else
		*head = idx + 1;
	*tail = idx + 1;
	if (which == LIST_NEW)
		new_flows_len++;
	else
		old_flows_len++;
}

static __always_inline void list_pop_head(__u32 which, struct flow *f)
{
	if (which == LIST_NEW) {
		new_head = f->next;
		if (!new_head)
			new_tail = 0;
		new_flows_len--;
	} else {
		old_head = f->next;
		if (!old_head)
			old_tail = 0;
		old_flows_len--;
	}
	f->next = 0;
	f->list = LIST_NONE;
}

/* ---- init ---- */

static long init_flow(__u32 k, void *unused)
{
	if (k >= flows)
		return 1;
	vars_init(&flow_get(k)->vars);
	return 0;
}

SEC("qdisc/init")
int fq_pie_init(struct sch_bpf_ctx *ctx)
{
	if (flows == 0 || flows > MAX_FLOWS) {
		bpf_printk("fq_pie: flows must range in [1..65536]");
		return 1;
	}
	if (quantum == 0 || quantum > (1U << 20)) {
		bpf_printk("fq_pie: quantum must range in [1..1048576]");
		return 1;
	}
	if (limit >= MAX_SLOTS) {
		bpf_printk("fq_pie: limit must be below 65536 packets");
		return 1;
	}
	if (!mtu) {
		bpf_printk("fq_pie: mtu must be positive");
		return 1;
	}
	target_ticks = target >> PSCHED_SHIFT;
	bpf_loop(MAX_FLOWS, init_flow, NULL, 0);
	next_update_ns = bpf_ktime_get_ns() + FIRST_UPDATE_NS;
	timer_armed = 1;
	return 0;
}

/* ---- enqueue ---- */

/* fq_pie_classify without filters: skb->priority naming this qdisc's major and a minor in
 * 1..flows picks flow minor - 1; otherwise reciprocal_scale(skb hash, flows). */
static __always_inline __u32 classify(struct sch_bpf_ctx *ctx)
{
	__u32 prio = ctx->skb->priority;
	__u32 minor = prio & 0xffff;

	if ((prio & 0xffff0000) == (ctx->classid & 0xffff0000) && minor > 0 && minor <= flows)
		return minor - 1;
	return ((__u64)bpf_skb_get_hash(skb_ref(ctx->skb)) * flows) >> 32;
}

SEC("qdisc/enqueue")
int fq_pie_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *view = ctx->skb;
	__u32 idx = classify(ctx);
	__u32 len = view->wire_len;
	struct flow *f = flow_get(idx);
	struct slot *s, *last;
	__u32 link;
	int keep = 0;

	run_due_timers();
	if (qlen >= limit) {
		overlimit++;
		goto drop;
	} else if (memory_usage > memory_limit + len) {
		overmemory++; /* Linux counts it and goes on */
	}
	if (!drop_early(&f->vars, f->backlog, view->len)) {
		keep = 1;
	} else if (ecn && f->vars.prob <= (MAX_PROB / 100) * ecn_prob && bpf_skb_ecn_set_ce(view)) {
		ecn_mark++;
		keep = 1;
	}
	if (!keep)
		goto drop;

	/* A slot for the packet (a free one, else a never-used one). */
	s = slot_put_skb(view, &link);
	if (!s)
		goto drop;
	s->enqueue_ticks = bpf_ktime_get_ns() >> PSCHED_SHIFT;
	s->len = len;
	s->next = 0;
	if (f->tail) {
		last = slot_get(f->tail);
		if (last)
			last->next = link;
	} else {
		f->head = link;
	}
	f->tail = link;

	packets_in++;
	memory_usage += len;
	backlog += len;
	qlen++;
	if (f->list == LIST_NONE) {
		list_append(LIST_NEW, idx, f);
		new_flow_count++;
		f->deficit = quantum;
		f->qlen = 0;
		f->backlog = 0;
	}
	f->qlen++;
	f->backlog += len;
	return SCH_BPF_QUEUED;
drop:
	dropped++;
	f->vars.accu_prob = 0;
	return SCH_BPF_DROP;
}

/* ---- dequeue ---- */

/* One round of Linux's dequeue loop ("goto begin"): *found gets the flow (+ 1) whose head packet
 * leaves; 1 when found or both lists are empty. */
static long select_round(__u32 round, __u32 *found)
{
	__u32 which, idx;
	struct flow *f;

	if (new_head) {
		which = LIST_NEW;
		idx = new_head - 1;
	} else if (old_head) {
		which = LIST_OLD;
		idx = old_head - 1;
	} else {
		return 1;
	}
	f = flow_get(idx);
	if (f->deficit <= 0) {
		f->deficit += quantum;
		list_pop_head(which, f);
		list_append(LIST_OLD, idx, f);
		return 0;
	}
	if (!f->head) {
		/* Force a pass through the old flows to prevent starvation. */
		list_pop_head(which, f);
		if (which == LIST_NEW && old_head)
			list_append(LIST_OLD, idx, f);
		return 0;
	}
	*found = idx + 1;
	return 1;
}

SEC("qdisc/dequeue")
int fq_pie_dequeue(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *skb;
	struct flow *f;
	struct slot *s;
	__u32 found = 0, link;

	ctx->skb = NULL;
	run_due_timers();
	bpf_loop(MAX_DEQUEUE_ROUNDS, select_round, &found, 0);
	if (!found)
		return SCH_BPF_DEQUEUED;
	f = flow_get(found - 1);
	link = f->head;
	s = slot_get(link);
	if (!s)
		return SCH_BPF_DEQUEUED;
	skb = bpf_kptr_xchg(&s->skb, NULL);
	f->head = s->next;
	if (!f->head)
		f->tail = 0;
	slot_free(link, s);
	backlog -= s->len;
	qlen--;
	f->qlen--;
	f->deficit -= s->len;
	f->backlog -= s->len;
	memory_usage -= s->len;
	if (!skb)
		return SCH_BPF_DEQUEUED;
	ctx->skb = skb_view(skb);
	process_dequeue(&f->vars, f->backlog, s->enqueue_ticks, ctx->skb->len);
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
