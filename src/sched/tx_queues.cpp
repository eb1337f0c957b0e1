#include <bpfq/sched/tx_queues.hpp>

#include <algorithm>

#include <bpfq/sched/flow_hash.hpp>

namespace bpfq::sched {

namespace {

std::string str(uint32_t v) { return std::to_string(v); }
std::string queues(TxQueueRange r) { return str(r.count) + "@" + str(r.offset); }

}  // namespace

uint32_t TxQueueMap::pick(uint32_t hash, uint32_t priority) const {
  const TxQueueRange r = range_of(priority);
  return r.offset + reciprocal_scale(hash, r.count);
}

std::string TxQueueMap::invalid() const {
  if (num_tc == 0 || num_tc > kMaxTrafficClasses)
    return "num_tc " + str(num_tc) + " is outside 1 to " + str(kMaxTrafficClasses);
  for (uint32_t prio = 0; prio < prio_tc_map.size(); ++prio)
    if (prio_tc_map[prio] >= num_tc)
      return "map sends priority " + str(prio) + " to traffic class " + str(prio_tc_map[prio]) + ", but num_tc is " +
             str(num_tc);
  for (uint32_t tc = 0; tc < num_tc; ++tc) {
    const TxQueueRange a = tc_to_txq[tc];
    if (a.count == 0) return "no queues for traffic class " + str(tc);
    if (a.offset >= num_tx_queues || uint32_t{a.offset} + a.count > num_tx_queues)
      return "queues " + queues(a) + " of traffic class " + str(tc) + " exceed the " + str(num_tx_queues) +
             " TX queues of the device";
    for (uint32_t other = tc + 1; other < num_tc; ++other) {
      const TxQueueRange b = tc_to_txq[other];
      if (std::max(a.offset, b.offset) < std::min(a.offset + a.count, b.offset + b.count))
        return "queues " + queues(a) + " of traffic class " + str(tc) + " overlap queues " + queues(b) +
               " of traffic class " + str(other);
    }
  }
  return "";
}

}  // namespace bpfq::sched
