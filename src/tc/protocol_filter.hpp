#pragma once
// `filter add ... protocol ip|ipv6 ...`: the filter only sees packets of that ethertype, as
// Linux's tcf_classify skips filters whose protocol differs from skb->protocol.
#include <cstdint>
#include <memory>

#include <bpfq/sched/filter.hpp>

namespace bpfq::tc {

class ProtocolFilter final : public sched::Filter {
 public:
  ProtocolFilter(uint16_t ethertype, std::unique_ptr<sched::Filter> inner)
      : ethertype_(ethertype), inner_(std::move(inner)) {}

  int classify(sched::Packet& pkt, uint32_t& classid) override {
    return pkt.ethertype() == ethertype_ ? inner_->classify(pkt, classid) : sched::kTcActUnspec;
  }
  std::string_view kind() const override { return inner_->kind(); }

 private:
  uint16_t ethertype_;
  std::unique_ptr<sched::Filter> inner_;
};

}  // namespace bpfq::tc
