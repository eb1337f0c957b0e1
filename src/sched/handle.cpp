#include <bpfq/sched/handle.hpp>

#include <cstdio>

#include <bpfq/error.hpp>

namespace bpfq::sched {
namespace {

// Up to 4 hex digits; empty text is 0 (tc reads "1:" as minor 0).
bool parse_hex16(std::string_view text, uint16_t& out) {
  if (text.size() > 4) return false;
  uint32_t v = 0;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    v = v << 4 | static_cast<uint32_t>(d);
  }
  out = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

Handle Handle::parse(std::string_view text) {
  if (text == "root") return Handle(kRoot);
  if (text == "none") return Handle(kUnspec);
  if (text == "ingress") return Handle(kIngress);
  const auto colon = text.find(':');
  uint16_t major = 0, minor = 0;
  if (colon == std::string_view::npos || !parse_hex16(text.substr(0, colon), major) ||
      !parse_hex16(text.substr(colon + 1), minor))
    throw Error("invalid handle '" + std::string(text) + "'", "tc handle",
                "write MAJOR:MINOR in hex, each at most ffff (\"1:10\", \"1:\", \":a\"), or root/none/ingress");
  return make(major, minor);
}

std::string Handle::to_string() const {
  if (value == kRoot) return "root";
  if (value == kUnspec) return "none";
  if (value == kIngress) return "ingress";
  char buf[16];
  if (major() == 0) std::snprintf(buf, sizeof buf, ":%x", minor());
  else if (minor() == 0) std::snprintf(buf, sizeof buf, "%x:", major());
  else std::snprintf(buf, sizeof buf, "%x:%x", major(), minor());
  return buf;
}

}  // namespace bpfq::sched
