#pragma once
// Load- and configuration-time errors: what went wrong, where, and how to fix it.
// Hot paths never throw; they return status codes.
#include <stdexcept>
#include <string>

namespace bpfq {

class Error : public std::runtime_error {
 public:
  // where: "file.bpf.o section qdisc/enqueue insn 12", "setup.tc:3", …; hint may be empty.
  Error(std::string what, std::string where = {}, std::string hint = {})
      : std::runtime_error(compose(what, where, hint)),
        what_(std::move(what)), where_(std::move(where)), hint_(std::move(hint)) {}

  const std::string& reason() const { return what_; }
  const std::string& where() const { return where_; }
  const std::string& hint() const { return hint_; }

 private:
  static std::string compose(const std::string& w, const std::string& at, const std::string& h) {
    std::string s = at.empty() ? w : at + ": " + w;
    if (!h.empty()) s += " (hint: " + h + ")";
    return s;
  }
  std::string what_, where_, hint_;
};

}  // namespace bpfq
