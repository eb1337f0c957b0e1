#pragma once
// The option words of a `tc filter` line, read in order by the fw and u32 parsers: one reader,
// one error shape (Error(what, where, hint)) and the same class id and number rules for both.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/sched/handle.hpp>

namespace bpfq::sched::detail {

inline std::string quoted(const std::string& token) { return "`" + token + "`"; }

// A number as tc reads it (decimal, 0x hex or 0 octal) no larger than max; nullopt if it is none.
inline std::optional<uint32_t> parse_number(const std::string& token, uint32_t max) {
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(token.c_str(), &end, 0);
  if (token.empty() || token[0] == '-' || *end != '\0' || errno != 0 || v > max) return std::nullopt;
  return static_cast<uint32_t>(v);
}

class FilterWords {
 public:
  // where names the filter in errors ("fw filter", "u32 filter").
  FilterWords(const std::vector<std::string>& tokens, const char* where) : tokens_(tokens), where_(where) {}

  bool done() const { return i_ >= tokens_.size(); }
  // The next word; only when !done().
  const std::string& word() { return tokens_[i_++]; }
  // The word that must follow the previous one; `expected` names it in the error.
  const std::string& next(const char* expected) {
    if (done()) bad("missing " + std::string(expected) + " after " + quoted(tokens_[i_ - 1]), "expected " + std::string(expected));
    return tokens_[i_++];
  }
  // The MAJOR:MINOR after `classid` or `flowid` (keyword).
  uint32_t class_id(const std::string& keyword) {
    const std::string& id = next("a class id");
    try {
      return Handle::parse(id).value;
    } catch (const Error&) {
      bad("bad class id " + quoted(id) + " after " + quoted(keyword), "expected MAJOR:MINOR in hex, e.g. 1:10");
    }
  }
  [[noreturn]] void bad(const std::string& what, const std::string& hint) const { throw Error(what, where_, hint); }

 private:
  const std::vector<std::string>& tokens_;
  const char* where_;
  size_t i_ = 0;
};

}  // namespace bpfq::sched::detail
