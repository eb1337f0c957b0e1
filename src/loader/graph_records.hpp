#pragma once
// Linux's btf_record for bpfq: the special fields (locks, graph roots and nodes, refcounts,
// kptrs) of the program's structs and of its global data, read from BTF, with the rules Linux's
// btf_parse_fields and btf_check_and_fixup_fields apply to them.
#include <bpfq/loader/object_spec.hpp>

#include "btf_types.hpp"

namespace bpfq::loader {

// Fills spec.local_types (every named struct with a size, by id; bpf_obj_new may allocate any
// of them) and spec.global_fields (special fields of the global data sections' variables), and
// adds the object kptrs inferred in map values to their MapSpec::kptr_offsets. Needs spec.maps
// and spec.globals. Throws bpfq::Error (at btf.where()) for a record that breaks a rule: a
// graph root without a lock in the same record, a list and an rb node without a refcount, a
// __contains naming an unknown type or member or a member that is not the matching node, two
// locks or refcounts in one record, a root or node that is misaligned or in read-only data.
//
// clang 14 drops btf_type_tag on struct members (`struct sk_buff __kptr *skb` comes out as a
// plain PTR -> STRUCT), so when a record carries no kptr tag at all, its pointer-to-struct
// members are taken as kptrs if it is a graph object (it has a list/rb node or root or a
// refcount), and a map value's pointer members are taken as kptrs if they point to such an
// object. A struct named sk_buff is a packet (kptr_type 0); any other pointee is one of the
// program's own objects.
void read_graph_records(const BtfTypes& btf, ObjectSpec& spec);

}  // namespace bpfq::loader
