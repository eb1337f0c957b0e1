/* A tc classifier's context is the packet: writing a read-only field of it is refused at load
 * time (tc_write_data_end), writing every writable one is not (tc_good). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tc")
int tc_write_data_end(struct __sk_buff *skb)
{
	skb->data_end = skb->data;
	return 0;
}

SEC("tc")
int tc_good(struct __sk_buff *skb)
{
	skb->mark = 1;
	skb->priority = 2;
	skb->cb[4] = 3;
	skb->tstamp = 4;
	skb->tc_classid = 5;
	skb->queue_mapping = 6;
	skb->tc_index = 7;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
