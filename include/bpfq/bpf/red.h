/* RED's arithmetic (Linux include/net/red.h, and tc's parameter derivation of tc_red.c) for the
 * programs built on it: red and choke. One RED per program: its parameters and state are the
 * including program's globals (`bpfq prog` and the tests read them by name: wlog, qth_min,
 * qavg, qcount, ...). The average is of whatever the program counts: bytes (red) or packets
 * (choke); qth_min/qth_max are in the same unit, shifted by Wlog.
 *
 *     qavg = red_calc_qavg(backlog, now); idling = 0;
 *     switch (red_action()) { ... }             // red's decision; choke makes its own
 */
#ifndef BPFQ_BPF_RED_H
#define BPFQ_BPF_RED_H
#include <bpfq/bpf/sch_bpf.h>

#define NSEC_PER_USEC 1000ull
#define RED_STAB_SIZE 256

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

/* ---- state (red_vars) ---- */
__u64 qavg; /* Wlog-scaled average */
__s32 qcount;
__u32 qR;
__u32 idling;
__u64 qidlestart;

static __u32 fls32(__u32 x)
{
	__u32 n = 0;

	for (int i = 0; i < 32; i++)
		if (x >> i)
			n = i + 1;
	return n;
}

static __u64 red_calc_qavg_from_idle_time(__u64 now)
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

static __u64 red_calc_qavg(__u32 len_backlog, __u64 now)
{
	if (idling)
		return red_calc_qavg_from_idle_time(now);
	/* qavg = qavg * (1 - W) + backlog * W, with the point at Wlog */
	return qavg + (len_backlog - (qavg >> wlog));
}

/* red_start_of_idle_period: the queue just emptied. */
static void red_start_of_idle_period(__u64 now)
{
	if (!idling) {
		idling = 1;
		qidlestart = now;
	}
}

static __u32 red_random(void)
{
	return bpf_get_prandom_u32() / max_p_delta;
}

/* red_mark_probability: max_P * (qavg - qth_min) / (qth_max - qth_min) >= qR / qcount,
 * divisionless. */
static int red_mark_probability(void)
{
	return !(((qavg - qth_min) >> wlog) * (__u64)qcount < qR);
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
		if (red_mark_probability()) {
			qcount = 0;
			qR = red_random();
			return RED_PROB_MARK;
		}
	} else {
		qR = red_random();
	}
	return RED_DONT_MARK;
}

/* ---- tc's parameter derivation (tc_red.c) and red_set_parms ---- */

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
static int red_eval_ewma(__u32 qmin, __u32 burst_, __u32 avpkt_)
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
static int red_eval_idle_damping(__u32 avpkt_, __u64 bandwidth_)
{
	__u64 ln_q32 = 0, lw_q32, cap;
	int clog;

	for (__u32 k = 1; k <= 32; k++)
		if (k * wlog <= 32)
			ln_q32 += (1ull << (32 - k * wlog)) / k; /* -ln(1-W) = sum W^k / k */
	lw_q32 = ln_q32 / avpkt_ * bandwidth_ / 1000000;
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

/* red_set_parms: thresholds qmin <= qmax (the averaged unit), max_P from tc's probability
 * (0xffffffff = 100 %); wlog and the idle damping are set already. */
static void red_set_parms(__u32 qmin, __u32 qmax, __u32 probability_)
{
	__u32 delta = qmax - qmin;

	qth_min = qmin << wlog;
	qth_max = qmax << wlog;
	if ((int)delta <= 0)
		delta = 1;
	qth_delta = delta;
	max_P = probability_;
	max_p_delta = max_P / delta;
	if (!max_p_delta)
		max_p_delta = 1;
	target_min = qmin + 2 * (delta / 5);
	target_max = qmin + 3 * (delta / 5);
	scell_max = 255u << scell_log;
}

/* red_set_vars, on an empty queue: an idle period starts now. */
static void red_set_vars(__u64 now)
{
	qavg = 0;
	qcount = -1;
	idling = 1;
	qidlestart = now;
}

#endif
