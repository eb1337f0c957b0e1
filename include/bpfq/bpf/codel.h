/* CoDel (Controlled Delay, Nichols & Jacobson) as static inline C for qdisc programs: the state
 * machine of Linux's include/net/codel.h + codel_impl.h, usable by any program that keeps
 * packets in FIFOs (progs/codel.bpf.c: one FIFO; progs/fq_codel.bpf.c: one per flow).
 *
 *     #include <bpfq/bpf/sch_bpf.h>
 *     #include <bpfq/bpf/codel.h>
 *
 * The program owns its FIFO and tells codel_dequeue() how to use it through two functions it
 * passes (always inlined, so clang turns them into direct code, no indirect calls):
 *
 *     struct sk_buff *pop(void *ctx, __u32 *len, __u64 *enqueue_ns);
 *         takes the head packet (a reference the program now holds) or returns NULL; reports its
 *         length and enqueue time, and lowers the backlog that codel_dequeue() reads.
 *     void drop(void *ctx, struct sk_buff *skb);
 *         drops a popped packet (bpf_skb_release) and counts it if the program wants to.
 *
 * Time: the interface is nanoseconds (__u64), but CoDel runs at the resolution of Linux's
 * codel_time_t, 1024 ns ticks: `now`, enqueue times and the parameters are floored to multiples
 * of 1024 ns (codel_time()), and the control law computes in ticks. Exact nanoseconds would
 * differ from Linux by the control law's rounding (Linux floors interval/sqrt(count) to a tick),
 * which accumulates over a dropping state and changes which packets are dropped; with ticks the
 * decisions are Linux's. rec_inv_sqrt is Linux's u16 (1/sqrt(count) in Q0.16) refined by one
 * Newton step per count change, so drop times keep Linux's approximation errors (count 2 gets
 * interval/2, not interval/1.414). Comparisons are signed differences, as codel_time_after().
 * Times stay in ns (u64) in struct codel_vars, so they do not wrap as Linux's u32 ticks do.
 *
 * Bound: Linux's dropping loop is unbounded; here one codel_dequeue() drops at most
 * CODEL_MAX_DROPS_PER_DEQUEUE packets (recent Linux codel.h has the same cap); when the cap is reached the
 * packet in hand is sent and the next drop is scheduled one control-law step from now. */
#ifndef BPFQ_BPF_CODEL_H
#define BPFQ_BPF_CODEL_H

#include <bpfq/bpf/sch_bpf.h>

#define CODEL_SHIFT 10               /* a codel_time_t tick is 1 << 10 ns */
#define CODEL_REC_INV_SQRT_SHIFT 16 /* rec_inv_sqrt << 16 is a Q0.32 number */
#define CODEL_MAX_DROPS_PER_DEQUEUE 256

/* Parameters (set once, from the program's const volatile globals). */
struct codel_params {
	__u64 target;       /* ns: acceptable standing queue delay */
	__u64 interval;     /* ns: how long the delay must stay above target before dropping */
	__u64 ce_threshold; /* ns: mark CE when the sojourn time exceeds it; ~0 = off */
	__u32 mtu;          /* bytes: a backlog at or below this never counts as "above" */
	__u32 ecn;          /* 1: mark ECN-capable packets instead of dropping them */
};

/* State of one CoDel queue; all zero initially (Linux codel_vars_init). Times are ns, whole ticks. */
struct codel_vars {
	__u32 count;            /* drops since entering the dropping state */
	__u32 lastcount;        /* count when the dropping state was last entered */
	__u16 dropping;         /* 1 while in the dropping state */
	__u16 rec_inv_sqrt;     /* 1/sqrt(count), Q0.16 */
	__u32 pad;
	__u64 first_above_time; /* when the delay will have been above target for an interval; 0 = below */
	__u64 drop_next;        /* time of the next drop (or of the last one) */
	__u64 ldelay;           /* sojourn time of the last packet dequeued */
};

/* What one codel_dequeue() did (start from zero; fold into the program's counters). */
struct codel_stats {
	__u32 maxpacket;  /* largest packet length seen (Linux learns it; informative only) */
	__u32 drop_count; /* packets dropped */
	__u32 drop_len;   /* bytes dropped */
	__u32 ecn_mark;   /* packets CE-marked instead of dropped */
	__u32 ce_mark;    /* packets CE-marked for exceeding ce_threshold */
};

typedef struct sk_buff *(*codel_pop_fn)(void *ctx, __u32 *len, __u64 *enqueue_ns);
typedef void (*codel_drop_fn)(void *ctx, struct sk_buff *skb);

/* ns floored to a whole codel_time_t tick. */
static __always_inline __u64 codel_time(__u64 ns)
{
	return ns & ~((1ULL << CODEL_SHIFT) - 1);
}

/* Parameters as Linux stores them: times in whole ticks; ce_threshold 0 means off. */
static __always_inline void codel_params_set(struct codel_params *p, __u64 target, __u64 interval,
					     __u64 ce_threshold, __u32 mtu, __u32 ecn)
{
	p->target = codel_time(target);
	p->interval = codel_time(interval);
	p->ce_threshold = ce_threshold ? codel_time(ce_threshold) : ~0ULL;
	p->mtu = mtu;
	p->ecn = ecn ? 1 : 0;
}

/* a is after b / at or after b, robust to wrap as Linux's codel_time_after(). */
static __always_inline int codel_time_after(__u64 a, __u64 b)
{
	return (__s64)(a - b) > 0;
}
static __always_inline int codel_time_after_eq(__u64 a, __u64 b)
{
	return (__s64)(a - b) >= 0;
}

/* One Newton-Raphson step towards 1/sqrt(count): x' = x/2 * (3 - count * x^2), in Q0.32. */
static __always_inline void codel_newton_step(struct codel_vars *v)
{
	__u32 x = (__u32)v->rec_inv_sqrt << CODEL_REC_INV_SQRT_SHIFT;
	__u32 x2 = ((__u64)x * x) >> 32;
	__u64 y = (3ULL << 32) - (__u64)v->count * x2;

	y >>= 2; /* keep the next product within 64 bits */
	y = (y * x) >> (32 - 2 + 1);
	v->rec_inv_sqrt = y >> CODEL_REC_INV_SQRT_SHIFT;
}

/* t + interval / sqrt(count), with 1/sqrt(count) as the Q0.32 number rec_inv_sqrt << 16: Linux's
 * reciprocal_scale(interval, scale) on the interval in ticks (a u32), floored to a tick. */
static __always_inline __u64 codel_control_law(__u64 t, __u64 interval, __u16 rec_inv_sqrt)
{
	__u64 scale = (__u64)rec_inv_sqrt << CODEL_REC_INV_SQRT_SHIFT;
	__u64 ticks = (interval >> CODEL_SHIFT) & 0xffffffffULL;

	return t + (((ticks * scale) >> 32) << CODEL_SHIFT);
}

/* Linux codel_should_drop() for a packet just popped (len bytes, queued at enqueue_ns), with
 * `backlog` bytes still queued behind it: 1 once the delay has stayed above target for an
 * interval and the queue holds more than an MTU. */
static __always_inline int codel_should_drop(struct codel_vars *v, const struct codel_params *p,
					     struct codel_stats *st, __u32 len, __u64 enqueue_ns,
					     __u32 backlog, __u64 now)
{
	v->ldelay = now - codel_time(enqueue_ns);
	if (len > st->maxpacket)
		st->maxpacket = len;
	if (v->ldelay < p->target || backlog <= p->mtu) {
		v->first_above_time = 0; /* below target: must stay above a whole interval again */
		return 0;
	}
	if (v->first_above_time == 0) {
		v->first_above_time = now + p->interval;
		return 0;
	}
	return codel_time_after(now, v->first_above_time);
}

/* After a drop: pops the next packet and runs should_drop on it; NULL (and the "below" state)
 * when the queue is empty. */
static __always_inline struct sk_buff *codel_next(void *ctx, codel_pop_fn pop, struct codel_vars *v,
						  const struct codel_params *p, struct codel_stats *st,
						  __u32 *backlog, __u64 now, __u32 *len, int *drop)
{
	__u64 tin = 0;
	struct sk_buff *skb;

	*len = 0;
	skb = pop(ctx, len, &tin);
	if (!skb) {
		v->first_above_time = 0;
		*drop = 0;
		return NULL;
	}
	*drop = codel_should_drop(v, p, st, *len, tin, *backlog, now);
	return skb;
}

static __always_inline void codel_drop_packet(void *ctx, codel_drop_fn drop_fn, struct codel_stats *st,
					      struct sk_buff *skb, __u32 len)
{
	st->drop_len += len;
	drop_fn(ctx, skb);
	st->drop_count++;
}

/* Linux codel_dequeue(): the packet to send (a reference the caller holds) or NULL. Packets it
 * drops go to drop_fn; ECN-capable ones are marked instead when p->ecn. `now` is the time of
 * this dequeue (bpf_ktime_get_ns()). */
static __always_inline struct sk_buff *codel_dequeue(void *ctx, __u32 *backlog, const struct codel_params *p,
						     struct codel_vars *v, struct codel_stats *st, __u64 now,
						     codel_pop_fn pop, codel_drop_fn drop_fn)
{
	struct sk_buff *skb;
	__u32 len = 0;
	__u64 tin = 0;
	int drop;

	now = codel_time(now);
	/* An empty queue leaves the dropping state but, as in Linux, keeps first_above_time
	 * (only a queue emptied by a drop resets it, in codel_next). */
	skb = pop(ctx, &len, &tin);
	if (!skb) {
		v->dropping = 0;
		return NULL;
	}
	drop = codel_should_drop(v, p, st, len, tin, *backlog, now);
	if (v->dropping) {
		if (!drop) {
			v->dropping = 0; /* sojourn time went below target */
		} else if (codel_time_after_eq(now, v->drop_next)) {
			int i;

			/* Drop (or mark) until the schedule is ahead of now or the delay is gone. */
			for (i = 0; i < CODEL_MAX_DROPS_PER_DEQUEUE; i++) {
				/* (!skb: the queue ran empty, which also ended dropping; a verifier does not
				 * see that through v's memory) */
				if (!skb || !v->dropping || !codel_time_after_eq(now, v->drop_next))
					break;
				v->count++;
				codel_newton_step(v);
				if (p->ecn && bpf_skb_ecn_set_ce(skb_view(skb))) {
					st->ecn_mark++;
					v->drop_next = codel_control_law(v->drop_next, p->interval, v->rec_inv_sqrt);
					goto end;
				}
				codel_drop_packet(ctx, drop_fn, st, skb, len);
				skb = codel_next(ctx, pop, v, p, st, backlog, now, &len, &drop);
				if (!drop)
					v->dropping = 0;
				else
					v->drop_next = codel_control_law(v->drop_next, p->interval, v->rec_inv_sqrt);
			}
			/* Cap reached: resynchronise the schedule to now. */
			if (i == CODEL_MAX_DROPS_PER_DEQUEUE && v->dropping)
				v->drop_next = codel_control_law(now, p->interval, v->rec_inv_sqrt);
		}
	} else if (drop) {
		__u32 delta;

		if (p->ecn && bpf_skb_ecn_set_ce(skb_view(skb))) {
			st->ecn_mark++;
		} else {
			codel_drop_packet(ctx, drop_fn, st, skb, len);
			skb = codel_next(ctx, pop, v, p, st, backlog, now, &len, &drop);
		}
		v->dropping = 1;
		/* Re-entering soon after the last dropping state: resume near its drop rate. */
		delta = v->count - v->lastcount;
		if (delta > 1 && (__s64)(now - v->drop_next) < (__s64)(16 * p->interval)) {
			v->count = delta;
			codel_newton_step(v);
		} else {
			v->count = 1;
			v->rec_inv_sqrt = ~0U >> CODEL_REC_INV_SQRT_SHIFT;
		}
		v->lastcount = v->count;
		v->drop_next = codel_control_law(now, p->interval, v->rec_inv_sqrt);
	}
end:
	if (skb && v->ldelay > p->ce_threshold && bpf_skb_ecn_set_ce(skb_view(skb)))
		st->ce_mark++;
	return skb;
}

#endif
