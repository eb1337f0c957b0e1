/* Runtime test: a map value's pointer stays usable while the program looks up many other
 * values (checked mode keeps a bounded table of granted values). Input a: how many other
 * lookups, of keys 1, 2, 3, … or, if b is not 0, of keys 1..b again and again; out[0]: their
 * sum; out[1]: the first value after writing through the early pointer. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct io {
	__u64 a, b, c, d;
	__s64 out[8];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

SEC("runtime/many_lookups")
int many_lookups(struct io *io)
{
	__u32 first = 0;
	__u64 *kept = bpf_map_lookup_elem(&values, &first);
	__s64 sum = 0;

	if (!kept)
		return 1;
	for (__u32 i = 0; i < 4096; i++) {
		__u32 key = io->b ? i % io->b + 1 : i + 1;
		__u64 *v;

		if (i >= io->a)
			break;
		v = bpf_map_lookup_elem(&values, &key);
		if (v)
			sum += *v;
	}
	*kept += 1;
	io->out[0] = sum;
	io->out[1] = *kept;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
