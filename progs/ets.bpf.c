/* ets (Linux net/sched/sch_ets.c): Enhanced Transmission Selection (IEEE 802.1Qaz), a classful
 * scheduler of `bands` bands, band b being class major:b+1 with its own child qdisc (set up by
 * user space, as for prio). The first `strict` bands are strict priority, served in order as
 * prio serves them; the others share what the strict bands leave by Deficit Round Robin, each
 * with its quantum.
 *
 * Classification, as ets_classify() (the same as prio's): skb->priority naming a class of this
 * qdisc -> that band; else the qdisc's filters (bpf_skb_tc_classify) -> band minor-1 of the
 * class they return; no filter match -> priomap[skb->priority & TC_PRIO_MAX] (priority 0 when
 * skb->priority has major bits); a band outside 0..bands-1 -> priomap[0].
 *
 * Dequeue, as ets_qdisc_dequeue(): the first strict band whose child holds packets sends;
 * otherwise the first band of the DRR active list sends its head packet if it fits the band's
 * deficit (deficit -= length; a band left empty leaves the list), else it earns its quantum and
 * moves to the tail. A DRR band joins the tail with a full quantum when it becomes backlogged.
 *
 * How packets are kept: in the children (PASS). The program keeps, per band, a shadow FIFO of
 * the lengths it handed the child (map `lengths`, as progs/drr.bpf.c) because Linux peeks the
 * child's head length and a program cannot. Before every enqueue and dequeue the shadow is
 * trimmed from its tail to the child's queue length (bpf_qdisc_class_qlen), so a packet a
 * tail-dropping child (pfifo, bfifo) refused is forgotten and its band deactivated, as Linux
 * activates a band only when the child accepted the packet.
 *
 * Parameters (tc's names; Linux's defaults):
 *   bands    number of bands 1..16; 0 (not given): strict + the number of quanta given
 *   strict   the first `strict` bands are strict priority (0..bands)
 *   quanta   bytes, the quanta of bands strict, strict+1, ... in order; 0 ends the list. Bands
 *            without one take `quantum`
 *   quantum  bytes, the quantum of DRR bands not given one (Linux: psched_mtu, 1514 on a
 *            1500-byte Ethernet device)
 *   priomap  16 bands; default: every priority -> the last band (Linux's memset nbands - 1);
 *            an entry 0xff (the default) stands for "the last band" */
#include <bpfq/bpf/sch_bpf.h>
#include <bpfq/bpf/shadow_lengths.h>

#define MAX_BANDS 16 /* TCQ_ETS_MAX_BANDS */
#define MAX_PACKETS 65536
#define LAST_BAND 0xff

const volatile bpfq_count bands = 0;
const volatile bpfq_count strict = 0;
const volatile bpfq_size_bytes quanta[MAX_BANDS] = {};
const volatile bpfq_size_bytes quantum = 1514;
const volatile __u8 priomap[TC_PRIO_MAX + 1] = {
	LAST_BAND, LAST_BAND, LAST_BAND, LAST_BAND, LAST_BAND, LAST_BAND, LAST_BAND, LAST_BAND,
	LAST_BAND, LAST_BAND, LAST_BAND, LAST_BAND, LAST_BAND, LAST_BAND, LAST_BAND, LAST_BAND};

/* Derived in qdisc/init. */
__u32 nbands;                  /* bands in use */
__u32 band_quantum[MAX_BANDS]; /* 0 for strict bands */
__u32 prio2band[TC_PRIO_MAX + 1];

struct band_state {
	__u64 head; /* shadow FIFO of packet lengths: [head, tail) */
	__u64 tail;
	__u32 deficit;
	__u32 active; /* on the DRR active list */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_BANDS);
	__type(key, __u32);
	__type(value, struct band_state);
} state SEC(".maps");

BPFQ_SHADOW_LENGTHS(lengths, MAX_PACKETS); /* the bands' shadow FIFOs, by band */

/* The DRR active list, in round-robin order: alist[0 .. alen). */
__u32 alist[MAX_BANDS];
__u32 alen;

static __always_inline __u32 major_of(__u32 handle)
{
	return handle & 0xffff0000;
}

static __always_inline __u32 classid_of(__u32 handle, __u32 band)
{
	return major_of(handle) | (band + 1);
}

static void list_remove(__u32 band)
{
	__u32 j = 0;

	for (__u32 i = 0; i < MAX_BANDS; i++) {
		if (i >= alen)
			break;
		if (alist[i] != band)
			alist[j++ & (MAX_BANDS - 1)] = alist[i];
	}
	alen = j;
}

static void list_append(__u32 band)
{
	if (alen < MAX_BANDS)
		alist[alen++ & (MAX_BANDS - 1)] = band;
}

/* Trims band's shadow FIFO to its child's queue length (see the header). */
static void sync_band(__u32 band, __u32 handle)
{
	struct band_state *st = bpf_map_lookup_elem(&state, &band);
	__u64 child, excess;

	if (!st)
		return;
	child = bpf_qdisc_class_qlen(classid_of(handle, band));
	excess = st->tail - st->head > child ? st->tail - st->head - child : 0;
	for (__u32 i = 0; i < 64; i++) { /* a child drops one packet per enqueue at most */
		if (i >= excess)
			break;
		shadow_len_forget(&lengths, band, --st->tail);
	}
	if (st->active && st->tail == st->head) {
		st->active = 0;
		list_remove(band);
	}
}

static long sync_one(__u64 band, __u32 *handle)
{
	sync_band(band, *handle);
	return 0;
}

static void sync_all(__u32 handle)
{
	bpf_loop(nbands, sync_one, &handle, 0);
}

static __u32 classify(struct __sk_buff *skb, __u32 handle)
{
	__u32 prio = skb->priority;
	__u32 band;

	if (major_of(prio) != handle) {
		__u32 classid = bpf_skb_tc_classify(skb, skb->ifindex, handle);

		if (!classid) {
			if (major_of(prio))
				prio = 0;
			return prio2band[prio & TC_PRIO_MAX];
		}
		prio = classid;
	}
	band = (prio & 0xffff) - 1; /* minor 0 wraps to out of range */
	if (band >= nbands)
		return prio2band[0];
	return band;
}

/* ets_qdisc_change(): the same checks, the same -EINVAL. */
SEC("qdisc/init")
int ets_init(struct sch_bpf_ctx *ctx)
{
	__u32 nquanta = 0, n;

	for (__u32 i = 0; i < MAX_BANDS; i++) {
		if (!quanta[i])
			break;
		nquanta++;
	}
	if (strict > MAX_BANDS) {
		bpf_printk("ets: strict %u is more than %u bands", strict, MAX_BANDS);
		return -22;
	}
	n = bands ? bands : strict + nquanta;
	if (n == 0) {
		bpf_printk("ets: at least one band needs to be specified (bands, strict or quanta)");
		return -22;
	}
	if (n > MAX_BANDS) {
		bpf_printk("ets: bands %u is more than %u", n, MAX_BANDS);
		return -22;
	}
	if (strict > n) {
		bpf_printk("ets: strict %u is more than bands %u", strict, n);
		return -22;
	}
	if (nquanta > n - strict) {
		bpf_printk("ets: too many quanta (%u) for %u bands of which %u are strict", nquanta, n, strict);
		return -22;
	}
	if (quantum == 0) {
		bpf_printk("ets: quantum cannot be zero");
		return -22;
	}
	for (__u32 i = 0; i <= TC_PRIO_MAX; i++) {
		__u32 b = priomap[i] == LAST_BAND ? n - 1 : priomap[i];

		if (b >= n) {
			bpf_printk("ets: priomap entry %u names band %u of %u", i, b, n);
			return -22;
		}
		prio2band[i] = b;
	}
	for (__u32 b = 0; b < MAX_BANDS; b++) {
		if (b < strict || b >= n)
			band_quantum[b] = 0;
		else if (b - strict < nquanta)
			band_quantum[b] = quanta[(b - strict) & (MAX_BANDS - 1)];
		else
			band_quantum[b] = quantum;
	}
	nbands = n;
	alen = 0;
	return 0;
}

SEC("qdisc/enqueue")
int ets_enqueue(struct sch_bpf_ctx *ctx)
{
	__u32 handle = ctx->classid;
	__u32 band, len = ctx->skb->wire_len;
	struct band_state *st;

	sync_all(handle);
	band = classify(ctx->skb, handle);
	if (band >= MAX_BANDS)
		return SCH_BPF_DROP; /* unreachable after ets_init; keeps the index in bounds */
	st = bpf_map_lookup_elem(&state, &band);
	if (!st)
		return SCH_BPF_DROP;
	if (shadow_len_put(&lengths, band, st->tail, len, BPF_ANY))
		return SCH_BPF_DROP;
	st->tail++;
	if (band >= strict && !st->active) {
		st->active = 1;
		st->deficit = band_quantum[band & (MAX_BANDS - 1)];
		list_append(band);
	}
	ctx->classid = classid_of(handle, band);
	return SCH_BPF_PASS;
}

struct pick {
	__u32 band; /* the band to send from, or MAX_BANDS */
};

/* Takes the head length off band's shadow FIFO. */
static void shadow_pop(struct band_state *st, __u32 band)
{
	shadow_len_forget(&lengths, band, st->head++);
}

/* One turn of the DRR loop on the head of the active list. */
static long drr_turn(__u64 index, struct pick *pick)
{
	__u32 band, *len;
	struct band_state *st;

	if (alen == 0)
		return 1;
	band = alist[0];
	st = bpf_map_lookup_elem(&state, &band);
	if (!st)
		return 1;
	len = shadow_len_at(&lengths, band, st->head);
	if (!len || st->head == st->tail) { /* inconsistent: forget the band rather than spin */
		st->active = 0;
		list_remove(band);
		return 0;
	}
	if (*len <= st->deficit) {
		st->deficit -= *len;
		shadow_pop(st, band);
		if (st->head == st->tail) {
			st->active = 0;
			list_remove(band);
		}
		pick->band = band;
		return 1;
	}
	st->deficit += band_quantum[band & (MAX_BANDS - 1)];
	list_remove(band); /* list_move_tail */
	list_append(band);
	return 0;
}

SEC("qdisc/dequeue")
int ets_dequeue(struct sch_bpf_ctx *ctx)
{
	__u32 handle = ctx->classid;
	struct pick pick = {MAX_BANDS};

	ctx->skb = NULL;
	sync_all(handle);
	for (__u32 band = 0; band < MAX_BANDS; band++) {
		if (band >= strict || band >= nbands)
			break;
		if (bpf_qdisc_class_qlen(classid_of(handle, band))) {
			struct band_state *st = bpf_map_lookup_elem(&state, &band);

			if (st && st->tail != st->head)
				shadow_pop(st, band);
			ctx->classid = classid_of(handle, band);
			return SCH_BPF_PASS;
		}
	}
	/* Bounded: every turn that sends nothing adds a quantum (>= 1 byte) to a band. */
	bpf_loop(1 << 23, drr_turn, &pick, 0);
	if (pick.band >= MAX_BANDS)
		return SCH_BPF_DEQUEUED;
	ctx->classid = classid_of(handle, pick.band);
	return SCH_BPF_PASS;
}

char LICENSE[] SEC("license") = "GPL";
