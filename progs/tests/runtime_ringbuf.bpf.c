/* Runtime test: BPF_MAP_TYPE_RINGBUF from the producer side. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct io {
  __u64 a, b, c, d;
  __s64 out[8];
};

struct event {
  __u32 kind;
  __u32 len;
  __u64 stamp;
};

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} events SEC(".maps");

/* output a copy, reserve+submit one, reserve+discard one; report the ring's counters. */
SEC("ringbuf/produce") int produce(struct io *io) {
  struct event e = {.kind = 1, .len = io->a, .stamp = io->b};
  io->out[0] = bpf_ringbuf_output(&events, &e, sizeof(e), 0);
  struct event *r = bpf_ringbuf_reserve(&events, sizeof(struct event), 0);
  if (!r)
    return 1;
  r->kind = 2;
  r->len = io->a + 1;
  r->stamp = io->b + 1;
  bpf_ringbuf_submit(r, 0);
  struct event *d = bpf_ringbuf_reserve(&events, sizeof(struct event), 0);
  if (!d)
    return 2;
  d->kind = 3;
  bpf_ringbuf_discard(d, 0);
  io->out[1] = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
  io->out[2] = bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);
  io->out[3] = bpf_ringbuf_reserve(&events, 8192, 0) == 0; /* larger than the ring */
  return 0;
}

/* Writing past the end of a reservation faults in checked mode. */
SEC("ringbuf/overflow") int overflow(struct io *io) {
  __u64 *r = bpf_ringbuf_reserve(&events, 8, 0);
  if (!r)
    return 1;
  r[io->a] = 1;
  bpf_ringbuf_submit(r, 0);
  return 0;
}

/* Submitting a pointer that is not a reservation. */
SEC("ringbuf/bad_submit") int bad_submit(struct io *io) {
  bpf_ringbuf_submit(&io->out[0], 0);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
