/* red: Linux's Random Early Detection (net/sched/sch_red.c + include/net/red.h) as a bpfq
 * program. An EWMA of the child queue's backlog (bytes) decides, per arriving packet: below
 * min pass, between min and max drop (or ECN-mark) with a probability growing to max_P, above
 * max drop (or mark). The child is a byte FIFO of `limit` bytes, as Linux's default bfifo.
 *
 * tc computes Wlog (EWMA weight), Scell_log and the idle-damping table from min, avpkt, burst
 * and bandwidth in floating point; this program does the same in qdisc/init in fixed point
 * (docs/qdiscs/red.md). */
#include <bpfq/bpf/red.h>

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

/* ---- state beside red.h's, and statistics (red_stats, tc_red_xstats) ---- */
__u64 next_adapt;
__u32 backlog; /* bytes in the child FIFO */
__u32 prob_drop, prob_mark, forced_drop, forced_mark, pdrop;
__u64 overlimits;

/* Adaptive RED (Floyd, Gummadi, Shenker 2001): every 500 ms move max_P towards keeping qavg
 * between target_min and target_max. */
static void adapt(__u64 at)
{
	__u64 avg = idling ? red_calc_qavg_from_idle_time(at) : qavg;
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
	qavg = red_calc_qavg(backlog, now);
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
	} else {
		red_start_of_idle_period(now);
	}
	return SCH_BPF_DEQUEUED;
}

/* ---- init: tc's defaults, then red.h's derivation ---- */

SEC("qdisc/init")
int red_init(struct sch_bpf_ctx *ctx)
{
	__u32 qmax = max, qmin = min, b = burst;
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
	w = red_eval_ewma(qmin, b, avpkt);
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
	if (red_eval_idle_damping(avpkt, bandwidth)) {
		bpf_printk("red: cannot compute idle damping for bandwidth %llu", bandwidth);
		return 5;
	}

	red_set_parms(qmin, qmax, probability);
	/* the child is empty: an idle period starts */
	red_set_vars(bpf_ktime_get_ns());
	next_adapt = qidlestart + ADAPT_PERIOD_NS;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
