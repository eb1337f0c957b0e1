/* pie: Linux's Proportional Integral controller Enhanced (net/sched/sch_pie.c, include/net/pie.h,
 * RFC 8033) as a bpfq program. Every tupdate the drop probability moves with the queueing
 * delay's distance from target (alpha) and its trend (beta); arriving packets are dropped (or
 * ECN-marked) early with that probability, de-randomised by an accumulated probability.
 *
 * Time is kept as Linux does, in psched ticks of 64 ns, so the arithmetic (and its rounding)
 * is Linux's. The probability timer (first run 500 ms after init, then every tupdate) runs
 * lazily: at the start of each enqueue and dequeue, the ticks that fell due run first. The
 * timer only reads state those two change, so the result is the same as a real timer's. */
#include <bpfq/bpf/sch_bpf.h>

#define PSCHED_SHIFT 6
#define PSCHED_TICKS_PER_SEC (1000000000ull >> PSCHED_SHIFT)
#define MAX_PROB (~0ull >> 8)
#define DTIME_INVALID (~0ull)
#define QUEUE_THRESHOLD 16384
#define DQCOUNT_INVALID (~0ull) /* -1 in Linux's u64 dq_count */
#define PIE_SCALE 8
#define FIRST_UPDATE_NS 500000000ull /* pie_init arms the timer at HZ/2 */
#define MAX_CATCH_UP (1 << 20)

/* ---- parameters (tc-pie options; Linux defaults) ---- */
const volatile bpfq_count limit = 1000;          /* packets */
const volatile bpfq_time_ns target = 15000000;     /* ns */
const volatile bpfq_time_ns tupdate = 15000000;    /* ns; 0: update once */
const volatile bpfq_count alpha = 2;             /* 1/16 units */
const volatile bpfq_count beta = 20;             /* 1/16 units */
const volatile bpfq_count ecn = 0;
const volatile bpfq_count bytemode = 0;
const volatile bpfq_count dq_rate_estimator = 0;
const volatile bpfq_size_bytes mtu = 1514;            /* psched_mtu of the device: 1500 + 14 */

BPFQ_SKB_QUEUE(queue, 65536, 1024);

/* ---- pie_vars (times in psched ticks) ---- */
__u64 qdelay;
__u64 qdelay_old;
__u64 burst_time;
__u64 dq_tstamp;
__u64 prob;
__u64 accu_prob;
__u64 dq_count;
__u32 avg_dq_rate;
__u32 backlog_old;

__u32 qlen;
__u32 backlog; /* bytes */
__u64 target_ticks;
__u64 next_update_ns;
__u32 timer_armed;

/* ---- pie_stats ---- */
__u32 packets_in;
__u32 dropped;
__u32 overlimit;
__u32 ecn_mark;
__u32 maxq;

static __always_inline __u64 ticks_now(void)
{
	return bpf_ktime_get_ns() >> PSCHED_SHIFT;
}

static void vars_init(void)
{
	burst_time = (150 * 1000000ull) >> PSCHED_SHIFT; /* 150 ms */
	dq_tstamp = DTIME_INVALID;
	accu_prob = 0;
	dq_count = DQCOUNT_INVALID;
	avg_dq_rate = 0;
}

static int drop_early(__u32 packet_size)
{
	__u64 local_prob = prob, rnd;

	/* Burst allowance left: no early drop. */
	if (burst_time > 0)
		return 0;
	/* Low delay and low probability: no early drop. */
	if (qdelay < target_ticks / 2 && prob < MAX_PROB / 5)
		return 0;
	/* Fewer than two MTU-sized packets queued, like RED's min_th. */
	if (backlog < 2 * mtu)
		return 0;
	if (bytemode && packet_size <= mtu)
		local_prob = (__u64)packet_size * (local_prob / mtu);
	else
		local_prob = prob;

	if (local_prob == 0)
		accu_prob = 0;
	else
		accu_prob += local_prob;
	if (accu_prob < (MAX_PROB / 100) * 85)
		return 0;
	if (accu_prob >= (MAX_PROB / 2) * 17)
		return 1;
	/* Linux draws 8 random bytes; here two 32-bit draws, the first the high half. */
	rnd = (__u64)bpf_get_prandom_u32() << 32;
	rnd |= bpf_get_prandom_u32();
	if ((rnd >> 8) < local_prob) {
		accu_prob = 0;
		return 1;
	}
	return 0;
}

/* pie_calculate_probability: the timer's work, every tupdate. */
static void calculate_probability(void)
{
	__u64 qd, qd_old, oldprob, a, b;
	__s64 delta = 0;
	int update_prob = 1;

	if (dq_rate_estimator) {
		qd_old = qdelay;
		qdelay_old = qdelay;
		/* Little's law; Linux shifts the u32 backlog in 32 bits */
		qd = avg_dq_rate > 0 ? (__u32)(backlog << PIE_SCALE) / avg_dq_rate : 0;
	} else {
		qd = qdelay;
		qd_old = qdelay_old;
	}
	/* A tiny backlog shows no delay: no update this round. */
	if (qd == 0 && backlog != 0)
		update_prob = 0;

	/* alpha, beta in 1/16 units, scaled to probability per second of delay */
	a = ((__u64)alpha * (MAX_PROB / PSCHED_TICKS_PER_SEC)) >> 4;
	b = ((__u64)beta * (MAX_PROB / PSCHED_TICKS_PER_SEC)) >> 4;
	/* RFC 8033: smaller steps while the probability is small */
	if (prob < MAX_PROB / 10) {
		__u64 power = 100;

		a >>= 1;
		b >>= 1;
		for (int i = 0; i < 5 && prob < MAX_PROB / power && power <= 1000000; i++) {
			a >>= 2;
			b >>= 2;
			power *= 10;
		}
	}
	delta += a * (qd - target_ticks);
	delta += b * (qd - qd_old);
	oldprob = prob;

	/* Increase by at most 2% per update once above 10% */
	if (delta > (__s64)(MAX_PROB / (100 / 2)) && prob >= MAX_PROB / 10)
		delta = (MAX_PROB / 100) * 2;
	/* Delay beyond 250 ms: increase quickly */
	if (qd > ((250 * 1000000ull) >> PSCHED_SHIFT))
		delta += MAX_PROB / (100 / 2);

	prob += delta;
	if (delta > 0) {
		if (prob < oldprob) { /* overflow */
			prob = MAX_PROB;
			update_prob = 0;
		}
	} else if (prob > oldprob) { /* underflow */
		prob = 0;
	}
	/* No delay for two updates: decay to 98.4% */
	if (qd == 0 && qd_old == 0 && update_prob)
		prob -= prob / 64;

	qdelay = qd;
	backlog_old = backlog;
	/* Low delay twice and no probability: restart the measurement cycle. */
	if (qdelay < target_ticks / 2 && qdelay_old < target_ticks / 2 && prob == 0 &&
	    (!dq_rate_estimator || avg_dq_rate > 0))
		vars_init();
	if (!dq_rate_estimator)
		qdelay_old = qd;
}

static long timer_tick(__u32 i, __u64 *now_ns)
{
	if (!timer_armed || *now_ns < next_update_ns)
		return 1;
	calculate_probability();
	if (tupdate)
		next_update_ns += tupdate;
	else
		timer_armed = 0;
	return 0;
}

static void run_due_timers(void)
{
	__u64 now = bpf_ktime_get_ns();

	bpf_loop(MAX_CATCH_UP, timer_tick, &now, 0);
}

SEC("qdisc/enqueue")
int pie_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	__u64 now;
	int keep = 0;

	run_due_timers();
	if (qlen >= limit) {
		overlimit++;
		goto drop;
	}
	if (!drop_early(skb->len)) {
		keep = 1;
	} else if (ecn && prob <= MAX_PROB / 10 && bpf_skb_ecn_set_ce(skb)) {
		/* An ECN-capable packet is marked while the probability is below 10%. */
		ecn_mark++;
		keep = 1;
	}
	if (!keep)
		goto drop;

	if (!dq_rate_estimator) {
		now = ticks_now();
		skb->cb[0] = (__u32)now;
		skb->cb[1] = (__u32)(now >> 32);
	}
	if (bpf_skb_queue_push(&queue, skb_ref(skb), 0))
		goto drop;
	packets_in++;
	if (qlen > maxq)
		maxq = qlen;
	qlen++;
	backlog += skb->wire_len;
	return SCH_BPF_QUEUED;
drop:
	dropped++;
	accu_prob = 0;
	return SCH_BPF_DROP;
}

/* pie_process_dequeue: the delay sample (timestamps or the drain rate) and the burst
 * allowance. */
static void process_dequeue(struct __sk_buff *skb)
{
	__u64 now = ticks_now();
	__u32 dtime = 0;

	if (!dq_rate_estimator) {
		qdelay = now - (((__u64)skb->cb[1] << 32) | skb->cb[0]);
		if (dq_tstamp != DTIME_INVALID)
			dtime = now - dq_tstamp;
		dq_tstamp = now;
		if (backlog == 0)
			qdelay = 0;
		if (dtime == 0)
			return;
		goto burst_allowance_reduction;
	}

	/* About 10 packets queued and no cycle running: start measuring the drain rate. */
	if (backlog >= QUEUE_THRESHOLD && dq_count == DQCOUNT_INVALID) {
		dq_tstamp = now;
		dq_count = 0;
	}
	if (dq_count != DQCOUNT_INVALID) {
		dq_count += skb->len;
		if (dq_count >= QUEUE_THRESHOLD) {
			__u32 count = (__u32)dq_count << PIE_SCALE;

			dtime = now - dq_tstamp;
			if (dtime == 0)
				return;
			count = count / dtime;
			if (avg_dq_rate == 0)
				avg_dq_rate = count;
			else
				avg_dq_rate = (avg_dq_rate - (avg_dq_rate >> 3)) + (count >> 3);
			/* Below the threshold keep the last rate, else start a new cycle. */
			if (backlog < QUEUE_THRESHOLD) {
				dq_count = DQCOUNT_INVALID;
			} else {
				dq_count = 0;
				dq_tstamp = now;
			}
			goto burst_allowance_reduction;
		}
	}
	return;

burst_allowance_reduction:
	if (burst_time > 0)
		burst_time = burst_time > dtime ? burst_time - dtime : 0;
}

SEC("qdisc/dequeue")
int pie_dequeue(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *skb;
	struct __sk_buff *view;

	run_due_timers();
	skb = bpf_skb_queue_pop(&queue);
	view = skb_view(skb);
	ctx->skb = view;
	if (!skb)
		return SCH_BPF_DEQUEUED;
	qlen--;
	backlog -= view->wire_len;
	process_dequeue(view);
	return SCH_BPF_DEQUEUED;
}

SEC("qdisc/init")
int pie_init(struct sch_bpf_ctx *ctx)
{
	if (!mtu) {
		bpf_printk("pie: mtu must be positive");
		return 1;
	}
	target_ticks = target >> PSCHED_SHIFT;
	vars_init();
	next_update_ns = bpf_ktime_get_ns() + FIRST_UPDATE_NS;
	timer_armed = 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
