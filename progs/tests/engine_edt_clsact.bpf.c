/* EDT pacing, the clsact half (the seed's use case 2): stamps each packet's departure time in
 * skb->tstamp so that every flow leaves at `rate` bytes per second: a packet departs at
 * max(now, the flow's next departure), and the flow's next departure moves on by the packet's
 * time on the wire. The qdisc (engine_edt.bpf.c) releases packets at their tstamp and, when it
 * drops one, gives its time back through the shared map, which a clsact program alone cannot.
 * Parameter: rate (bytes per second; `rate 8mbit` on the CLI is 1000000). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "engine_edt.h"

#define TC_ACT_OK 0

const volatile __u64 rate = 1000000;

SEC("tc")
int edt_stamp(struct __sk_buff *skb)
{
	__u32 flow = edt_flow(skb);
	__u64 *next = bpf_map_lookup_elem(&edt_next_send, &flow);
	__u64 now = bpf_ktime_get_ns();
	__u64 depart;

	if (!next)
		return TC_ACT_OK;
	depart = *next > now ? *next : now;
	*next = depart + edt_duration(skb->len, rate);
	skb->tstamp = depart;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
