/* bpf_loop in a verified program (a tc classifier), which the JIT runs in place: every answer
 * the helper gives — all calls made, stopped by the callback, flags, too many — and loops nested
 * in a callback. The test runs it on both backends and compares. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__u64 nr_loops;  /* set by the test */
__u64 limit;
__s64 out[6];

struct sum {
	__u64 total;
	__u64 limit;
};

static long add_index(__u64 index, void *data)
{
	struct sum *s = data;

	s->total += index;
	return s->total >= s->limit; /* 1 stops the loop */
}

static long inner_loop(__u64 index, void *data)
{
	bpf_loop(3, add_index, data, 0);
	return 0;
}

SEC("tc")
int loops(struct __sk_buff *skb)
{
	struct sum s = {0, limit};
	struct sum nested = {0, ~0ULL};

	out[0] = bpf_loop(nr_loops, add_index, &s, 0);
	out[1] = s.total;
	out[2] = bpf_loop(1, add_index, &s, 1);                    /* flags must be 0 */
	out[3] = bpf_loop(nr_loops + (1 << 23) + 1, add_index, &s, 0); /* over BPF_MAX_LOOPS */
	out[4] = bpf_loop(4, inner_loop, &nested, 0);
	out[5] = nested.total;                                     /* 4 × (0 + 1 + 2) */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
