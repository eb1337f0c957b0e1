#include <bpfq/sched/filter.hpp>

#include <algorithm>

namespace bpfq::sched {

void FilterChain::add(uint32_t prio, std::unique_ptr<Filter> filter) {
  const auto at = std::upper_bound(filters_.begin(), filters_.end(), prio,
                                   [](uint32_t p, const Entry& e) { return p < e.prio; });
  filters_.insert(at, Entry{prio, std::move(filter)});
}

int FilterChain::classify(Packet& pkt, uint32_t& classid) const {
  for (const Entry& e : filters_) {
    const int action = e.filter->classify(pkt, classid);
    if (action >= 0) return action;
  }
  return kTcActUnspec;
}

}  // namespace bpfq::sched
