#pragma once
// tc filters: a Filter classifies a packet (a class id and a tc action), a FilterChain runs the
// filters of one chain in priority order as Linux's tcf_classify does (the first match ends
// the chain). Device keeps the chains attached to each qdisc or class.
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include <bpfq/sched/packet.hpp>

namespace bpfq::sched {

// Linux's TC_ACT_* codes (include/uapi/linux/pkt_cls.h).
inline constexpr int kTcActUnspec = -1;
inline constexpr int kTcActOk = 0;
inline constexpr int kTcActReclassify = 1;
inline constexpr int kTcActShot = 2;
inline constexpr int kTcActPipe = 3;
inline constexpr int kTcActStolen = 4;
inline constexpr int kTcActQueued = 5;
inline constexpr int kTcActRepeat = 6;
inline constexpr int kTcActRedirect = 7;
inline constexpr int kTcActTrap = 8;

class Filter {
 public:
  virtual ~Filter() = default;
  // Linux's tcf_proto_ops::classify: a negative value (kTcActUnspec) is no match; otherwise the
  // packet matched, classid is set and the value is the tc action (kTcActOk, kTcActShot, ...).
  // Never throws or allocates.
  virtual int classify(Packet& pkt, uint32_t& classid) = 0;
  virtual std::string_view kind() const = 0;  // "u32", "bpf"
};

// The filters of one chain, by priority (lower first; equal priorities keep insertion order).
class FilterChain {
 public:
  void add(uint32_t prio, std::unique_ptr<Filter> filter);
  // The first filter that matches decides: its action (classid set), or kTcActUnspec.
  int classify(Packet& pkt, uint32_t& classid) const;
  size_t size() const { return filters_.size(); }

 private:
  struct Entry {
    uint32_t prio;
    std::unique_ptr<Filter> filter;
  };
  std::vector<Entry> filters_;
};

}  // namespace bpfq::sched
