/* sfb: Linux's Stochastic Fair Blue (net/sched/sch_sfb.c; Feng, Kandlur, Saha, Shin, "Blue: a
 * new class of active queue management algorithms", 1999) as a bpfq program.
 *
 * Each flow hashes into one bucket of each of 8 levels of 16 buckets. A bucket counts the
 * packets queued from its flows and keeps a marking probability p_mark: raised by `increment`
 * when an arrival finds the bucket at `target` packets or more, lowered by `decrement` when it
 * finds it empty. An arrival is marked (or dropped if not ECN-capable) with the smallest p_mark
 * of its buckets; a flow whose every bucket holds `max` packets is dropped; a flow whose
 * smallest p_mark reaches 1 is inelastic and is rate-limited to `penalty_rate` packets per
 * second (`penalty_burst`). Two sets of buckets with different hash perturbations take turns
 * every `rehash` ns, the standby set learning for `db` ns before it takes over.
 *
 * Packets wait in one FIFO (Linux's child pfifo) of `limit` packets, each with the two hashes
 * it was counted under. Probabilities are Q0.16 (0xffff = 1), as Linux's. */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/skb_slots.h>

#define SFB_LEVELS 8
#define SFB_BUCKET_SHIFT 4
#define SFB_NUMBUCKETS (1 << SFB_BUCKET_SHIFT)
#define SFB_BUCKET_MASK (SFB_NUMBUCKETS - 1)
#define SFB_MAX_PROB 0xFFFF
#define NSEC_PER_SEC 1000000000ull

const volatile bpfq_time_ns rehash = 600ull * NSEC_PER_SEC; /* rehash_interval; 0: never */
const volatile bpfq_time_ns db = 60ull * NSEC_PER_SEC;      /* warmup_time of the standby set */
const volatile bpfq_count limit = 1000;                     /* packets (Linux: tx_queue_len) */
const volatile bpfq_count max = 25;                         /* bucket length that drops */
const volatile bpfq_count target = 20;                      /* bin_size: raises p_mark */
const volatile bpfq_count increment = (SFB_MAX_PROB + 500) / 1000; /* Q0.16: 0.1 % */
const volatile bpfq_count decrement = (SFB_MAX_PROB + 3000) / 6000; /* Q0.16 */
const volatile bpfq_count penalty_rate = 10;                /* packets/s of an inelastic flow */
const volatile bpfq_count penalty_burst = 20;               /* packets */

struct bucket {
	__u16 qlen;
	__u16 p_mark;
};

struct bucket bins[2][SFB_LEVELS][SFB_NUMBUCKETS];
__u32 perturbation[2];
__u32 slot;              /* the set that decides */
__u32 double_buffering;  /* the standby set is learning */
__u64 rehash_time;
__u64 token_time;
__u32 tokens_avail;
__u32 qlen;
__u64 seq;

/* statistics (tc_sfb_xstats) */
__u32 earlydrop, penaltydrop, bucketdrop, queuedrop, childdrop, marked;

struct pkt {
	struct sk_buff __kptr_ref *skb;
	__u32 hashes[2]; /* as Linux's sfb_skb_cb: 0 if not counted in that set */
};

struct {
	__uint(type, BPF_MAP_TYPE_RBTREE);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct pkt);
} fifo SEC(".maps");

/* skb_get_hash_perturb: the flow hash mixed with the set's perturbation (murmur3's finaliser);
 * never 0, which means "not counted". */
static __u32 set_hash(__u32 flow_hash, __u32 set)
{
	__u32 h = flow_hash ^ perturbation[set & 1];

	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h ? h : 1;
}

/* Walks the 8 buckets of hash in set: updates each p_mark from its length (Blue's rule) and
 * returns the smallest length and p_mark. */
static void update_buckets(__u32 hash, __u32 set, __u32 *minqlen, __u32 *p_min)
{
	for (int i = 0; i < SFB_LEVELS; i++) {
		struct bucket *b = &bins[set & 1][i][hash & SFB_BUCKET_MASK];

		hash >>= SFB_BUCKET_SHIFT;
		if (b->qlen == 0)
			b->p_mark = b->p_mark > decrement ? b->p_mark - decrement : 0;
		else if (b->qlen >= target)
			b->p_mark = b->p_mark + increment < SFB_MAX_PROB ? b->p_mark + increment : SFB_MAX_PROB;
		if (*minqlen > b->qlen)
			*minqlen = b->qlen;
		if (*p_min > b->p_mark)
			*p_min = b->p_mark;
	}
}

static void count_buckets(__u32 hash, __u32 set, int delta)
{
	if (!hash)
		return;
	for (int i = 0; i < SFB_LEVELS; i++) {
		struct bucket *b = &bins[set & 1][i][hash & SFB_BUCKET_MASK];

		hash >>= SFB_BUCKET_SHIFT;
		if (delta > 0 && b->qlen < 0xFFFF)
			b->qlen++;
		else if (delta < 0 && b->qlen > 0)
			b->qlen--;
	}
}

/* sfb_swap_slot: the standby set takes over; the old one is cleared under a new perturbation. */
static void swap_slot(void)
{
	__u32 old = slot & 1;

	perturbation[old] = bpf_get_prandom_u32();
	for (int i = 0; i < SFB_LEVELS; i++)
		for (int j = 0; j < SFB_NUMBUCKETS; j++) {
			bins[old][i][j].qlen = 0;
			bins[old][i][j].p_mark = 0;
		}
	slot = old ^ 1;
	double_buffering = 0;
}

/* sfb_rate_limit: 1 if an inelastic flow's packet must go. */
static int rate_limited(__u64 now)
{
	if (!penalty_rate || !penalty_burst)
		return 1;
	if (tokens_avail < 1) {
		__u64 age = now - token_time;

		if (age > 10 * NSEC_PER_SEC)
			age = 10 * NSEC_PER_SEC;
		tokens_avail = age * penalty_rate / NSEC_PER_SEC;
		if (tokens_avail > penalty_burst)
			tokens_avail = penalty_burst;
		token_time = now;
		if (tokens_avail < 1)
			return 1;
	}
	tokens_avail--;
	return 0;
}

SEC("qdisc/enqueue")
int sfb_enqueue(struct sch_bpf_ctx *ctx)
{
	struct __sk_buff *skb = ctx->skb;
	__u64 now = bpf_ktime_get_ns();
	__u32 flow = bpf_skb_get_hash(skb_ref(skb)), minqlen = 0xFFFF, p_min = SFB_MAX_PROB;
	__u32 cur, r, h_cur, h_other = 0;
	struct pkt p = {};
	__u64 key;

	if (qlen >= limit) {
		queuedrop++;
		return SCH_BPF_CN;
	}
	if (rehash) {
		if (now - rehash_time > rehash) {
			swap_slot();
			rehash_time = now;
		} else if (!double_buffering && db && now - rehash_time > rehash - db) {
			double_buffering = 1;
		}
	}
	cur = slot & 1;
	h_cur = set_hash(flow, cur);
	update_buckets(h_cur, cur, &minqlen, &p_min);

	if (minqlen >= max) {
		bucketdrop++;
		return SCH_BPF_CN;
	}
	if (p_min >= SFB_MAX_PROB) {
		/* an inelastic flow: the standby set learns it too, then the rate limit decides */
		if (double_buffering) {
			__u32 ignored_q = 0xFFFF, ignored_p = SFB_MAX_PROB;

			h_other = set_hash(flow, cur ^ 1);
			update_buckets(h_other, cur ^ 1, &ignored_q, &ignored_p);
		}
		if (rate_limited(now)) {
			penaltydrop++;
			return SCH_BPF_CN;
		}
	} else {
		r = bpf_get_prandom_u32() & SFB_MAX_PROB;
		if (r < p_min) {
			/* marking that much means unresponsive or badly congested: start dropping */
			if (p_min > SFB_MAX_PROB / 2 && r < (p_min - SFB_MAX_PROB / 2) * 2) {
				earlydrop++;
				return SCH_BPF_CN;
			}
			if (!bpf_skb_ecn_set_ce(skb)) {
				earlydrop++;
				return SCH_BPF_CN;
			}
			marked++;
		}
	}

	/* the child FIFO; counted in the deciding set, and in the standby one if it learned the flow */
	p.hashes[0] = cur ? h_other : h_cur;
	p.hashes[1] = cur ? h_cur : h_other;
	key = bpf_cpu_to_be64(seq);
	if (map_put_skb(&fifo, &key, &p, skb)) {
		childdrop++;
		return SCH_BPF_DROP;
	}
	seq++;
	qlen++;
	count_buckets(p.hashes[0], 0, 1);
	count_buckets(p.hashes[1], 1, 1);
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int sfb_dequeue(struct sch_bpf_ctx *ctx)
{
	struct rbtree_head h;
	struct pkt *p;

	ctx->skb = NULL;
	if (!rbtree_take_head(&fifo, &h))
		return SCH_BPF_DEQUEUED;
	p = bpf_map_lookup_elem(&fifo, &h.key);
	if (p) {
		count_buckets(p->hashes[0], 0, -1);
		count_buckets(p->hashes[1], 1, -1);
	}
	bpf_map_delete_elem(&fifo, &h.key);
	qlen--;
	ctx->skb = skb_view(h.skb);
	return SCH_BPF_DEQUEUED;
}

SEC("qdisc/init")
int sfb_init(struct sch_bpf_ctx *ctx)
{
	__u64 now = bpf_ktime_get_ns();

	if (!limit || limit > 65536) {
		bpf_printk("sfb: limit %u must be 1 .. 65536", limit);
		return 1;
	}
	if (rehash && db >= rehash) {
		bpf_printk("sfb: db must be shorter than rehash");
		return 2;
	}
	if (increment > SFB_MAX_PROB || decrement > SFB_MAX_PROB) {
		bpf_printk("sfb: increment and decrement are Q0.16, at most 65535");
		return 3;
	}
	perturbation[0] = bpf_get_prandom_u32();
	perturbation[1] = bpf_get_prandom_u32();
	slot = 0;
	double_buffering = 0;
	rehash_time = now;
	token_time = now;
	tokens_avail = 0;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
