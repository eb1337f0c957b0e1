/* pfifo_fast (Linux net/sched/sch_generic.c): three FIFO bands; skb->priority & TC_PRIO_MAX picks
 * the band through the fixed priomap, dequeue serves the lowest-numbered non-empty band. Each band
 * holds up to `limit` packets (Linux: a ptr_ring of tx_queue_len entries per band), so a full band
 * drops while the others still accept.
 *
 * The bands are the ranks 0..2 of one packet queue: it pops the lowest rank first and keeps
 * arrival order within a rank, which is exactly "first packet of the first non-empty band".
 * Parameter: limit (packets per band, default 1000 = tx_queue_len). */
#include <bpfq/bpf/sch_bpf.h>

#define BANDS 3

const volatile bpfq_count limit = 1000;

/* Linux's sch_generic.c prio2band. */
static const __u8 prio2band[TC_PRIO_MAX + 1] = {1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1};

BPFQ_SKB_QUEUE(bands, 3 * 65536, 4);

__u32 band_qlen[BANDS];

SEC("qdisc/enqueue")
int pfifo_fast_enqueue(struct sch_bpf_ctx *ctx)
{
	/* A volatile read: clang would otherwise drop the band check below, knowing the table, and
	 * the verifier does not trust table contents to bound an index. */
	__u32 band = *(volatile const __u8 *)&prio2band[ctx->skb->priority & TC_PRIO_MAX];

	if (band >= BANDS || band_qlen[band] >= limit)
		return SCH_BPF_DROP;
	ctx->skb->cb[0] = band; /* read back at dequeue to keep band_qlen */
	if (bpf_skb_queue_push(&bands, skb_ref(ctx->skb), band))
		return SCH_BPF_DROP;
	band_qlen[band]++;
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int pfifo_fast_dequeue(struct sch_bpf_ctx *ctx)
{
	struct sk_buff *skb = bpf_skb_queue_pop(&bands);
	__u32 band;

	ctx->skb = skb_view(skb);
	if (!skb)
		return SCH_BPF_DEQUEUED;
	band = skb_view(skb)->cb[0];
	if (band < BANDS)
		band_qlen[band]--;
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
