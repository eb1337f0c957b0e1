#pragma once
// Helpers (by id) and kfuncs (by name) a program may call: u64 fn(u64, u64, u64, u64, u64).
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace bpfq::exec {

using HelperFn = uint64_t (*)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

struct HelperEntry {
  std::string name;
  HelperFn fn = nullptr;
};

class HelperRegistry {
 public:
  void add_helper(int32_t id, std::string name, HelperFn fn) { helpers_[id] = {std::move(name), fn}; }
  void add_kfunc(std::string name, HelperFn fn) { kfuncs_[name] = {name, fn}; }

  const HelperEntry* helper(int32_t id) const {
    auto it = helpers_.find(id);
    return it == helpers_.end() ? nullptr : &it->second;
  }
  const HelperEntry* kfunc(std::string_view name) const {
    auto it = kfuncs_.find(std::string(name));
    return it == kfuncs_.end() ? nullptr : &it->second;
  }
  const std::unordered_map<int32_t, HelperEntry>& helpers() const { return helpers_; }
  const std::unordered_map<std::string, HelperEntry>& kfuncs() const { return kfuncs_; }

 private:
  std::unordered_map<int32_t, HelperEntry> helpers_;
  std::unordered_map<std::string, HelperEntry> kfuncs_;
};

}  // namespace bpfq::exec
