#pragma once
// The kinds' ops tables (one file each) and what the program-based kinds share.
#include <bpfq/tc/qdisc_kind.hpp>

namespace bpfq::tc::kinds {

extern const QdiscKind kNativePfifo, kNativeBfifo, kPfifoHeadDrop, kNativePfifoFast, kNativeFqCodel, kBpf;

// NAME [VALUE] pairs up to the end of the line into spec.params (a NAME without a value is a
// flag set to 1).
void parse_program_params(TcLine& line, QdiscSpec& spec);

}  // namespace bpfq::tc::kinds
