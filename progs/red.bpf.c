/* red: Linux's Random Early Detection (net/sched/sch_red.c + include/net/red.h) as a bpfq
 * program. An EWMA of the child queue's backlog (bytes) decides, per arriving packet: below
 * min pass, between min and max drop (or ECN-mark) with a probability growing to max_P, above
 * max drop (or mark). The child is a byte FIFO of `limit` bytes, as Linux's default bfifo.
 *
 * tc computes Wlog (EWMA weight), Scell_log and the idle-damping table from min, avpkt, burst
 * and bandwidth in floating point; this program does the same in qdisc/init in fixed point
 * (docs/qdiscs/red.md). */
#include <bpfq/bpf/sch_bpf.h>

#define NSEC_PER_USEC 1000ull
#define RED_STAB_SIZE 256
#define RED_ONE_PERCENT 42949673u /* DIV_ROUND_CLOSEST(2^32, 100) */
#define MAX_P_MIN (1 * RED_ONE_PERCENT)
#define MAX_P_MAX (50 * RED_ONE_PERCENT)
#define ADAPT_PERIOD_NS 500000000ull /* the adaptive timer: HZ/2 */

/* ---- parameters (tc-red options; tc's defaults) ---- */
const volatile bpfq_size_bytes limit = 400000;         /* bytes: the child FIFO (tc requires it) */
const volatile bpfq_size_bytes min = 0;                /* bytes; 0: max / 3 */
const volatile bpfq_size_bytes max = 0;                /* bytes; 0: 3 * min, or limit / 4 */
const volatile bpfq_size_bytes avpkt = 1000;           /* bytes */
const volatile bpfq_count burst = 0;              /* packets; 0: (2 min + max) / (3 avpkt) */
const volatile bpfq_probability probability = 85899346; /* max_P, 0xffffffff = 100%; default 2% */
const volatile bpfq_rate_Bps bandwidth = 1250000;    /* bytes/s, for idle damping; default 10 Mbit */
const volatile bpfq_count ecn = 0;
const volatile bpfq_count harddrop = 0;
const volatile bpfq_count nodrop = 0;
const volatile bpfq_count adaptive = 0;

BPFQ_SKB_QUEUE(queue, 65536, 1024);

/* ---- derived parameters (red_parms) ---- */
__u32 qth_min;   /* min << Wlog */
__u32 qth_max;   /* max << Wlog */
__u32 qth_delta; /* max - min, at least 1 */
__u32 target_min, target_max;
__u32 wlog;
__u32 scell_log;
__u32 scell_max;
__u32 max_P;
__u32 max_p_delta; /* the divisor of red_random (Linux keeps its reciprocal) */
__u8 stab[RED_STAB_SIZE];

/* ---- state (red_vars) and statistics (red_stats, tc_red_xstats) ---- */
__u64 qavg; /* Wlog-scaled average backlog */
__s32 qcount;
__u32 qR;
__u32 idling;
__u64 qidlestart;
__u64 next_adapt;
__u32 backlog; /* bytes in the child FIFO */
__u32 prob_drop, prob_mark, forced_drop, forced_mark, pdrop;
__u64 overlimits;

static __u32 fls32(__u32 x)
{
	__u32 n = 0;

	for (int i = 0; i < 32; i++)
		if (x >> i)
			n = i + 1;
	return n;
}

static __u64 calc_qavg_from_idle_time(__u64 now)
{
	__u64 us_idle = (now - qidlestart) / NSEC_PER_USEC, decay;
	__u32 shift;

	if (us_idle > scell_max)
		us_idle = scell_max;
	shift = stab[(us_idle >> scell_log) & (RED_STAB_SIZE - 1)];
	if (shift)
		return qavg >> shift;
	/* (1-W)^m ~ 1 - mW for the first part of the exponential */
	decay = (qavg * us_idle) >> scell_log;
	return decay < (qavg >> 1) ? qavg - decay : qavg >> 1;
}

static __u64 calc_qavg(__u32 len_backlog, __u64 now)
{
	if (idling)
		return calc_qavg_from_idle_time(now);
	/* qavg = qavg * (1 - W) + backlog * W, with the point at Wlog */
	return qavg + (len_backlog - (qavg >> wlog));
}

enum { RED_DONT_MARK, RED_PROB_MARK, RED_HARD_MARK };

static int red_action(void)
{
	if (qavg < qth_min) {
		qcount = -1;
		return RED_DONT_MARK;
	}
	if (qavg >= qth_max) {
		qcount = -1;
		return RED_HARD_MARK;
	}
	if (++qcount) {
		/* max_P * (qavg - qth_min) / (qth_max - qth_min) >= qR / qcount, divisionless */
		if (!(((qavg - qth_min) >> wlog) * (__u64)qcount < qR)) {
			qcount = 0;
			qR = bpf_get_prandom_u32() / max_p_delta;
			return RED_PROB_MARK;
		}
	} else {
		qR = bpf_get_prandom_u32() / max_p_delta;
	}
	return RED_DONT_MARK;
}

/* Adaptive RED (Floyd, Gummadi, Shenker 2001): every 500 ms move max_P towards keeping qavg
 * between target_min and target_max. */
static void adapt(__u64 at)
{
	__u64 avg = idling ? calc_qavg_from_idle_time(at) : qavg;
	__u32 alpha;

	avg >>= wlog;
	if (avg > target_max && max_P <= MAX_P_MAX) {
		alpha = max_P / 4 < MAX_P_MIN ? max_P / 4 : MAX_P_MIN;
		max_P += alpha;
	} else if (avg < target_min && max_P >= MAX_P_MIN) {
		max_P = (max_P / 10) * 9;
	}
	max_p_delta = (max_P + qth_delta / 2) / qth_delta; /* DIV_ROUND_CLOSEST */
	if (!max_p_delta)
		max_p_delta = 1;
}

/* Linux runs adapt() from a timer; here the ticks that fell due run at the next packet. */
static void adapt_catch_up(__u64 now)
{
	for (int i = 0; i < 64 && now >= next_adapt; i++) {
		adapt(next_adapt);
		next_adapt += ADAPT_PERIOD_NS;
	}
	if (now >= next_adapt)
		next_adapt = now + ADAPT_PERIOD_NS;
}

SEC("qdisc/enqueue")
int red_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	__u64 now = bpf_ktime_get_ns();
	__u32 len;

	if (adaptive)
		adapt_catch_up(now);
	qavg = calc_qavg(backlog, now);
	idling = 0;

	switch (red_action()) {
	case RED_DONT_MARK:
		break;
	case RED_PROB_MARK:
		overlimits++;
		if (!ecn) {
			prob_drop++;
			return SCH_BPF_CN;
		}
		if (bpf_skb_ecn_set_ce(skb)) {
			prob_mark++;
		} else if (!nodrop) {
			prob_drop++;
			return SCH_BPF_CN;
		}
		break; /* a Not-ECT packet in nodrop mode is queued */
	case RED_HARD_MARK:
		overlimits++;
		if (harddrop || !ecn) {
			forced_drop++;
			return SCH_BPF_CN;
		}
		if (bpf_skb_ecn_set_ce(skb)) {
			forced_mark++;
		} else if (!nodrop) {
			forced_drop++;
			return SCH_BPF_CN;
		}
		break;
	}

	/* The child bfifo: tail drop past `limit` bytes. */
	len = skb->wire_len;
	if (backlog + len > limit || bpf_skb_queue_push(&queue, skb_ref(skb), 0)) {
		pdrop++;
		return SCH_BPF_DROP;
	}
	backlog += len;
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int red_dequeue(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *skb = bpf_skb_queue_pop(&queue);
	__u64 now = bpf_ktime_get_ns();

	if (adaptive)
		adapt_catch_up(now);
	ctx->skb = skb_view(skb);
	if (skb) {
		backlog -= skb_view(skb)->wire_len;
	} else if (!idling) {
		idling = 1;
		qidlestart = now;
	}
	return SCH_BPF_DEQUEUED;
}

/* ---- init: tc's parameter derivation (tc_red.c) and red_set_parms ---- */

/* (1 - 2^-wlog)^n in Q32 */
static __u64 pow_one_minus_w(__u32 wlog_, __u32 n)
{
	__u64 result = 1ull << 32, base = (1ull << 32) - (1ull << (32 - wlog_));

	for (int i = 0; i < 32; i++) {
		if (n & 1)
			result = (result * base) >> 32;
		base = (base * base) >> 32;
		n >>= 1;
	}
	return result;
}

/* tc_red_eval_ewma: the smallest Wlog for which a burst of `burst` packets of avpkt bytes
 * arriving on an empty queue keeps qavg below min: burst + 1 - min/avpkt <= (1 - (1-W)^burst)/W. */
static int eval_ewma(__u32 qmin, __u32 burst_, __u32 avpkt_)
{
	__u64 n = (__u64)(burst_ + 1) * avpkt_; /* a * avpkt, a = burst + 1 - qmin / avpkt */

	if (n < (__u64)qmin + avpkt_)
		return -1; /* a < 1: burst too small */
	n -= qmin;
	for (__u32 w = 1; w < 32; w++) {
		__u64 lhs, rhs = (1ull << 32) - pow_one_minus_w(w, burst_); /* (1 - (1-W)^burst) */

		if ((n >> w) > avpkt_)
			continue; /* a * W > 1 */
		lhs = (n << (32 - w)) / avpkt_; /* a * W */
		if (lhs <= rhs)
			return w;
	}
	return -1;
}

/* tc_red_eval_idle_damping, per microsecond of idle time: lW = -ln(1 - W) / (avpkt / bandwidth),
 * Scell_log such that 31 / lW fits in 512 cells, stab[i] = (i << Scell_log) * lW capped at 31. */
static int eval_idle_damping(void)
{
	__u64 ln_q32 = 0, lw_q32, cap;
	int clog;

	for (__u32 k = 1; k <= 32; k++)
		if (k * wlog <= 32)
			ln_q32 += (1ull << (32 - k * wlog)) / k; /* -ln(1-W) = sum W^k / k */
	lw_q32 = ln_q32 / avpkt * bandwidth / 1000000;
	if (!lw_q32)
		return -1;
	for (clog = 0; clog < 32; clog++) {
		/* 31 / lW / 2^clog < 512 */
		if (lw_q32 >= (1ull << (54 - clog)) || (lw_q32 << (9 + clog)) > (31ull << 32))
			break;
	}
	if (clog >= 32)
		return -1;
	scell_log = clog;
	cap = (32ull << 32) / lw_q32;
	stab[0] = 0;
	for (__u32 i = 1; i < RED_STAB_SIZE - 1; i++) {
		__u64 cells = (__u64)i << clog;

		stab[i] = cells >= cap ? 31 : ((cells * lw_q32) >> 32 > 31 ? 31 : (cells * lw_q32) >> 32);
	}
	stab[RED_STAB_SIZE - 1] = 31;
	return 0;
}

SEC("qdisc/init")
int red_init(struct sch_bpf_ctx *ctx)
{
	__u32 qmax = max, qmin = min, b = burst, delta;
	int w;

	/* tc's defaults, from Sally Floyd's recommendations */
	if (!qmax)
		qmax = qmin ? qmin * 3 : limit / 4;
	if (!qmin)
		qmin = qmax / 3;
	if (!avpkt) {
		bpf_printk("red: avpkt must be positive");
		return 1;
	}
	if (!b)
		b = (2 * qmin + qmax) / (3 * avpkt);
	w = eval_ewma(qmin, b, avpkt);
	if (w < 0) {
		bpf_printk("red: burst %u is too small, try burst %u", b, 1 + qmin / avpkt);
		return 2;
	}
	wlog = w;
	/* red_check_params */
	if (fls32(qmin) + wlog >= 32 || fls32(qmax) + wlog >= 32 || qmax < qmin) {
		bpf_printk("red: invalid thresholds min %u max %u", qmin, qmax);
		return 3;
	}
	if (nodrop && !ecn) {
		bpf_printk("red: nodrop mode is only meaningful with ECN");
		return 4;
	}
	if (eval_idle_damping()) {
		bpf_printk("red: cannot compute idle damping for bandwidth %llu", bandwidth);
		return 5;
	}

	/* red_set_parms, with max_P from tc's probability */
	qth_min = qmin << wlog;
	qth_max = qmax << wlog;
	delta = qmax - qmin;
	if ((int)delta <= 0)
		delta = 1;
	qth_delta = delta;
	max_P = probability;
	max_p_delta = max_P / delta;
	if (!max_p_delta)
		max_p_delta = 1;
	target_min = qmin + 2 * (delta / 5);
	target_max = qmin + 3 * (delta / 5);
	scell_max = 255u << scell_log;

	/* red_set_vars; the child is empty: an idle period starts */
	qavg = 0;
	qcount = -1;
	idling = 1;
	qidlestart = bpf_ktime_get_ns();
	next_adapt = qidlestart + ADAPT_PERIOD_NS;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
