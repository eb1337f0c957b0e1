#include <bpfq/sched/fw_filter.hpp>

#include <optional>

#include "filter_words.hpp"

namespace bpfq::sched {

std::unique_ptr<FwFilter> FwFilter::parse(const std::vector<std::string>& tokens, Handle parent) {
  using detail::parse_number;
  using detail::quoted;
  if (tokens.empty()) return std::make_unique<FwFilter>(parent);
  std::optional<uint32_t> mark, classid;
  uint32_t mask = 0xFFFFFFFFu;
  detail::FilterWords words(tokens, "fw filter");
  while (!words.done()) {
    const std::string& word = words.word();
    if (word == "classid" || word == "flowid") {
      classid = words.class_id(word);
    } else if (word == "handle") {
      const std::string& text = words.next("a mark");
      const size_t slash = text.find('/');
      const auto value = parse_number(text.substr(0, slash), 0xFFFFFFFFu);
      const auto m = slash == std::string::npos ? std::optional<uint32_t>(0xFFFFFFFFu) : parse_number(text.substr(slash + 1), 0xFFFFFFFFu);
      if (!value || !m) words.bad("bad handle " + quoted(text), "expected MARK or MARK/MASK, 32-bit numbers (decimal or 0x hex), e.g. 0x10/0xff");
      // Linux refuses handle 0 (-EINVAL), and a mark with bits outside the mask never matches.
      if (*value == 0) words.bad("bad handle " + quoted(text), "a fw handle is a non-zero mark");
      if ((*value & *m) != *value) words.bad("bad handle " + quoted(text) + ": the mark has bits outside the mask", "no packet could match it; widen the mask or drop those bits");
      mark = *value;
      mask = *m;
    } else {
      words.bad("unexpected " + quoted(word), "expected `handle` or `classid` (`flowid`)");
    }
  }
  if (!mark) words.bad("a class id needs a handle", "add `handle MARK[/MASK]`, or give no options to use the mark itself as the class id");
  if (!classid) words.bad("no class id for handle " + std::to_string(*mark), "add `classid MAJOR:MINOR` (or `flowid`), e.g. classid 1:10");
  return std::make_unique<FwFilter>(*mark, mask, *classid);
}

FwFilter::FwFilter(uint32_t mark_value, uint32_t mask, uint32_t classid)
    : mark_value_(mark_value), mask_(mask), classid_(classid) {}

FwFilter::FwFilter(Handle parent) : mark_is_classid_(true), parent_major_(parent.is_root() ? 0 : parent.major()) {}

int FwFilter::classify(Packet& pkt, uint32_t& classid) {
  const uint32_t mark = pkt.skb.mark;
  if (!mark_is_classid_) {
    if ((mark & mask_) != mark_value_) return kTcActUnspec;
    classid = classid_;
    return kTcActOk;
  }
  // cls_fw's old method: TC_H_MAJ(id) == 0 || TC_H_MAJ(id) == TC_H_MAJ(q->handle).
  const uint16_t major = static_cast<uint16_t>(mark >> 16);
  if (mark == 0 || (major != 0 && parent_major_ != 0 && major != parent_major_)) return kTcActUnspec;
  classid = mark;
  return kTcActOk;
}

}  // namespace bpfq::sched
