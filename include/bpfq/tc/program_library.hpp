#pragma once
// Where the qdisc library's objects (progs/NAME.bpf.o) are found by name, so that
// `qdisc add dev eth0 root sfq` runs sfq.bpf.o. Searched in order:
//   1. the folders of $BPFQ_PROGS_PATH (colon-separated);
//   2. share/bpfq/progs beside the running bpfq (<prefix>/bin/../share/bpfq/progs), then the
//      install prefix bpfq was configured with;
//   3. the build tree bpfq was built in (<build>/progs) — searched before 2 when the running
//      executable lies inside that build tree, so a build never runs an older install's objects.
#include <string>
#include <string_view>
#include <vector>

namespace bpfq::tc {

// The folders searched, in order (those that do not exist included, for messages).
std::vector<std::string> program_library_dirs();
// The path of NAME.bpf.o in the first folder that has it, or "" if none has.
std::string find_library_program(std::string_view name);

}  // namespace bpfq::tc
