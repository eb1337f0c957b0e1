/* Shared by test programs: the destination port of a TCP or UDP over IPv4 frame, read with
 * direct packet access; -1 for anything else or a truncated frame. */
#ifndef BPFQ_TESTS_IPV4_PORTS_H
#define BPFQ_TESTS_IPV4_PORTS_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

static __always_inline int dport(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u8 *l4;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return -1;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return -1;
	l4 = (__u8 *)ip + ip->ihl * 4;
	if ((void *)(l4 + 4) > data_end)
		return -1;
	return (l4[2] << 8) | l4[3];
}

#endif
