#include <bpfq/tc/qdisc_kind.hpp>

#include "kinds/kinds.hpp"

namespace bpfq::tc {

namespace {

// register_qdisc() of every kind bpfq has, in one place: a static library drops self-registering
// objects nobody references, so the registry names them.
constexpr const QdiscKind* kKinds[] = {&kinds::kBpf,         &kinds::kNativePfifo,     &kinds::kNativeBfifo,
                                       &kinds::kPfifoHeadDrop, &kinds::kNativePfifoFast, &kinds::kNativeFqCodel,
                                       &kinds::kMq,          &kinds::kMqprio};

}  // namespace

std::span<const QdiscKind* const> qdisc_kinds() { return kKinds; }

const QdiscKind* find_qdisc_kind(std::string_view name) {
  for (const QdiscKind* k : kKinds)
    if (k->name == name) return k;
  return nullptr;
}

std::string qdisc_kind_names() {
  std::string s;
  for (const QdiscKind* k : kKinds) s += (s.empty() ? "" : ", ") + std::string(k->name);
  return s;
}

}  // namespace bpfq::tc
