/* Loader test: __contains names a struct the program does not define. */
#include "runtime_graph.h"

private(A) struct bpf_spin_lock lock;
private(A) struct bpf_list_head items __contains(missing, node);

SEC("graph/t") int t(void *ctx)
{
	return bpf_list_pop_front(&items) != 0;
}

char LICENSE[] SEC("license") = "GPL";
