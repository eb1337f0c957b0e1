/* bpfq's own map types, for programs (C) and for the runtime (C++) alike.
 * The seed's RFC tree numbered RBTREE/RBTREE_OF_MAPS 32/33, which upstream Linux has since given
 * to CGRP_STORAGE and ARENA; bpfq numbers its types far above any upstream type instead. */
#ifndef BPFQ_BPF_MAP_TYPES_H
#define BPFQ_BPF_MAP_TYPES_H

#define BPF_MAP_TYPE_RBTREE 1000         /* seed: ordered by memcmp(key), unique keys, pop-min */
#define BPF_MAP_TYPE_RBTREE_OF_MAPS 1001 /* seed: rbtree whose values are inner maps */
#define BPF_MAP_TYPE_PIFO 1002           /* XDP queueing RFC's PIFO_GENERIC: rank in push flags */

/* PIFO: the priority lives in the low 60 bits of bpf_map_push_elem()'s flags. */
#define BPF_PIFO_PRIO_MASK (~0ULL >> 4)

#endif
