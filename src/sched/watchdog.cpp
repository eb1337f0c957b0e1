#include <bpfq/sched/watchdog.hpp>

namespace bpfq::sched {

void Watchdog::schedule(uint64_t at_ns) {
  if (at_ns == UINT64_MAX) return;
  const uint64_t earliest = saturating_add(clock_.now_ns(), kMinSlackNs);
  if (at_ns < earliest) at_ns = earliest;
  if (expires_ns_ != 0 && expires_ns_ <= at_ns) return;
  expires_ns_ = at_ns;
  timer_.arm(at_ns);
}

void Watchdog::cancel() {
  if (expires_ns_ == 0) return;
  expires_ns_ = 0;
  timer_.cancel();
}

bool Watchdog::fire() {
  if (expires_ns_ == 0 || clock_.now_ns() < expires_ns_) return false;
  expires_ns_ = 0;
  ++wakeups_;
  return true;
}

}  // namespace bpfq::sched
