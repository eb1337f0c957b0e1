#pragma once
// The kernel types a struct_ops program reaches through its arguments (struct sk_buff, struct
// Qdisc, …), read from the BTF bpfq supplies for them (sched::kernel_btf()): which field an
// access lands in, and whether it is a number or a pointer to another struct (Linux's
// btf_struct_walk).
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

struct btf;

namespace bpfq::verifier {

class KernelBtf {
 public:
  explicit KernelBtf(std::span<const uint8_t> raw);  // ok() false if raw is not BTF
  ~KernelBtf();
  KernelBtf(const KernelBtf&) = delete;
  KernelBtf& operator=(const KernelBtf&) = delete;

  bool ok() const { return btf_ != nullptr; }
  uint32_t find_struct(std::string_view name) const;  // 0: none
  std::string struct_name(uint32_t id) const;

  struct Field {
    std::string error;       // non-empty: no field holds the access
    std::string path;        // "sk_buff.cb", "Qdisc.q.qlen"
    uint32_t pointee = 0;    // a whole pointer to a struct: that struct (else a number)
  };
  Field access(uint32_t struct_id, int64_t off, int size) const;

  // The bytes of a field named by its path ("Qdisc.q.qlen"), relative to its outermost struct.
  std::optional<std::pair<uint32_t, uint32_t>> field_range(std::string_view path) const;

 private:
  ::btf* btf_ = nullptr;
};

}  // namespace bpfq::verifier
