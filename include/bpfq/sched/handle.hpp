#pragma once
// tc handles and class ids: a u32 major:minor (16 bits each), written in hex as tc does ("1:10"
// is 0x00010010), plus the special values root, none and ingress.
#include <cstdint>
#include <string>
#include <string_view>

namespace bpfq::sched {

struct Handle {
  uint32_t value = 0;

  static constexpr uint32_t kRoot = 0xFFFFFFFFu;     // TC_H_ROOT
  static constexpr uint32_t kUnspec = 0;             // TC_H_UNSPEC ("none")
  static constexpr uint32_t kIngress = 0xFFFFFFF1u;  // TC_H_INGRESS

  constexpr Handle() = default;
  constexpr explicit Handle(uint32_t v) : value(v) {}
  static constexpr Handle make(uint16_t major, uint16_t minor) {
    return Handle((uint32_t{major} << 16) | minor);
  }
  static constexpr Handle root() { return Handle(kRoot); }

  constexpr uint16_t major() const { return static_cast<uint16_t>(value >> 16); }  // TC_H_MAJ >> 16
  constexpr uint16_t minor() const { return static_cast<uint16_t>(value & 0xFFFF); }  // TC_H_MIN
  constexpr bool is_root() const { return value == kRoot; }
  constexpr bool is_unspec() const { return value == kUnspec; }
  constexpr bool operator==(const Handle&) const = default;

  // "1:10", "1:" (minor 0), ":10" (major 0), "root", "none", "ingress"; majors and minors are
  // hex numbers up to ffff. Throws bpfq::Error on anything else.
  static Handle parse(std::string_view text);
  // As tc prints it: "root", "none", "ingress", ":a", "1:", "1:10".
  std::string to_string() const;
};

}  // namespace bpfq::sched
