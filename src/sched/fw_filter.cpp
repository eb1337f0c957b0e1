#include <bpfq/sched/fw_filter.hpp>

#include <cerrno>
#include <cstdlib>
#include <optional>

#include <bpfq/error.hpp>

namespace bpfq::sched {

namespace {

constexpr const char* kWhere = "fw filter";

[[noreturn]] void bad(const std::string& what, const std::string& hint) { throw Error(what, kWhere, hint); }

std::string quoted(const std::string& token) { return "`" + token + "`"; }

// A 32-bit number as tc reads it (decimal, 0x hex or 0 octal); nullopt if it is none.
std::optional<uint32_t> number(const std::string& token) {
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(token.c_str(), &end, 0);
  if (token.empty() || token[0] == '-' || *end != '\0' || errno != 0 || v > 0xFFFFFFFFull) return std::nullopt;
  return static_cast<uint32_t>(v);
}

}  // namespace

std::unique_ptr<FwFilter> FwFilter::parse(const std::vector<std::string>& tokens, Handle parent) {
  if (tokens.empty()) return std::make_unique<FwFilter>(parent);
  std::optional<uint32_t> mark, classid;
  uint32_t mask = 0xFFFFFFFFu;
  size_t i = 0;
  auto next = [&](const char* expected) -> const std::string& {
    if (i >= tokens.size()) bad("missing " + std::string(expected) + " after " + quoted(tokens[i - 1]), std::string("expected ") + expected);
    return tokens[i++];
  };
  while (i < tokens.size()) {
    const std::string& word = tokens[i++];
    if (word == "classid" || word == "flowid") {
      const std::string& id = next("a class id");
      try {
        classid = Handle::parse(id).value;
      } catch (const Error&) {
        bad("bad class id " + quoted(id) + " after " + quoted(word), "expected MAJOR:MINOR in hex, e.g. 1:10");
      }
    } else if (word == "handle") {
      const std::string& text = next("a mark");
      const size_t slash = text.find('/');
      const auto value = number(text.substr(0, slash));
      const auto m = slash == std::string::npos ? std::optional<uint32_t>(0xFFFFFFFFu) : number(text.substr(slash + 1));
      if (!value || !m) bad("bad handle " + quoted(text), "expected MARK or MARK/MASK, 32-bit numbers (decimal or 0x hex), e.g. 0x10/0xff");
      // Linux refuses handle 0 (-EINVAL), and a mark with bits outside the mask never matches.
      if (*value == 0) bad("bad handle " + quoted(text), "a fw handle is a non-zero mark");
      if ((*value & *m) != *value) bad("bad handle " + quoted(text) + ": the mark has bits outside the mask", "no packet could match it; widen the mask or drop those bits");
      mark = *value;
      mask = *m;
    } else {
      bad("unexpected " + quoted(word), "expected `handle` or `classid` (`flowid`)");
    }
  }
  if (!mark) bad("a class id needs a handle", "add `handle MARK[/MASK]`, or give no options to use the mark itself as the class id");
  if (!classid) bad("no class id for handle " + std::to_string(*mark), "add `classid MAJOR:MINOR` (or `flowid`), e.g. classid 1:10");
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
