/* Device test: cls_bpf classifiers. `by_port` (plain mode) returns a class id: 1:10 for
 * destination port 22, -1 (the filter's classid) for port 53, 0 (no match) otherwise.
 * `direct` (direct action) writes skb->tc_classid (:20 for port 80, 1:30 for port 443, else
 * untouched) and returns TC_ACT_SHOT for port 9, TC_ACT_UNSPEC for port 7, TC_ACT_OK otherwise.
 * `faulty` reads past the frame. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "ipv4_ports.h"

#define TC_ACT_UNSPEC (-1)
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

SEC("tc")
int by_port(struct __sk_buff *skb)
{
	int port = dport(skb);

	if (port == 22)
		return 0x10010;
	if (port == 53)
		return -1;
	return 0;
}

SEC("tc/direct")
int direct(struct __sk_buff *skb)
{
	int port = dport(skb);

	if (port == 9)
		return TC_ACT_SHOT;
	if (port == 7)
		return TC_ACT_UNSPEC;
	if (port == 80)
		skb->tc_classid = 0x20;
	if (port == 443)
		skb->tc_classid = 0x10030;
	return TC_ACT_OK;
}

SEC("tc/faulty")
int faulty(struct __sk_buff *skb)
{
	volatile __u8 *end = (void *)(long)skb->data_end;

	return end[100];
}

char LICENSE[] SEC("license") = "GPL";
