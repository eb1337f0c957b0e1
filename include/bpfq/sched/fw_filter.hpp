#pragma once
// cls_fw: classifies by the packet's firewall mark (skb->mark), from tc's syntax after `fw`:
//
//   FwFilter::parse({"handle", "0x10/0xff", "classid", "1:10"})   // mark & 0xff == 0x10 -> 1:10
//   FwFilter::parse({}, Handle::make(1, 0))                       // the mark is the class id
//
// With a handle, a packet matches when (mark & MASK) == MARK (MASK defaults to 0xffffffff) and
// gets the filter's classid (`flowid` is a synonym; required). Without any option the filter is
// Linux's "old method": a non-zero mark whose major is 0 or the major of the qdisc the filter is
// attached to (`parent`) is itself the class id; other marks do not match. With no parent given,
// any major is accepted.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <bpfq/sched/filter.hpp>
#include <bpfq/sched/handle.hpp>

namespace bpfq::sched {

class FwFilter final : public Filter {
 public:
  // Throws bpfq::Error at "fw filter" naming the offending token and what was expected there.
  static std::unique_ptr<FwFilter> parse(const std::vector<std::string>& tokens, Handle parent = Handle());
  // A handle filter: (mark & mask) == mark_value gives classid.
  FwFilter(uint32_t mark_value, uint32_t mask, uint32_t classid);
  // The old method: the mark is the class id (parent: the qdisc or class it is attached to).
  explicit FwFilter(Handle parent);

  int classify(Packet& pkt, uint32_t& classid) override;
  std::string_view kind() const override { return "fw"; }

  bool mark_is_classid() const { return mark_is_classid_; }
  uint32_t mark_value() const { return mark_value_; }
  uint32_t mask() const { return mask_; }
  uint32_t classid() const { return classid_; }

 private:
  bool mark_is_classid_ = false;
  uint32_t mark_value_ = 0;
  uint32_t mask_ = 0xFFFFFFFFu;
  uint32_t classid_ = 0;
  uint16_t parent_major_ = 0;  // old method: 0 accepts any major
};

}  // namespace bpfq::sched
