#include "btf_command.hpp"

#include <cstdarg>
#include <cstdio>
#include <memory>
#include <string>

#include <bpf/btf.h>
#include <fmt/core.h>

#include <bpfq/error.hpp>
#include <bpfq/sched/kernel_view.hpp>

namespace bpfq::cli {

namespace {

void append(void* out, const char* format, va_list args) {
  va_list again;
  va_copy(again, args);
  const int n = std::vsnprintf(nullptr, 0, format, again);
  va_end(again);
  if (n <= 0) return;
  auto& text = *static_cast<std::string*>(out);
  const size_t at = text.size();
  text.resize(at + static_cast<size_t>(n) + 1);
  std::vsnprintf(text.data() + at, static_cast<size_t>(n) + 1, format, args);
  text.resize(at + static_cast<size_t>(n));
}

// The C declarations of every type of bpfq's kernel BTF, in dependency order, wrapped as
// bpftool wraps a vmlinux.h: CO-RE relocations on every struct (preserve_access_index).
std::string vmlinux_h() {
  const std::span<const uint8_t> raw = sched::kernel_btf();
  std::unique_ptr<btf, void (*)(btf*)> types(btf__new(raw.data(), static_cast<uint32_t>(raw.size())), btf__free);
  if (!types) throw Error("bpfq's kernel BTF does not parse", "bpfq btf dump", "the build is broken");
  std::string text =
      "/* bpfq's kernel types (bpfq btf dump): what programs of Linux's struct_ops qdisc API see. */\n"
      "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n"
      "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
      "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n";
  std::unique_ptr<btf_dump, void (*)(btf_dump*)> dump(btf_dump__new(types.get(), append, &text, nullptr),
                                                       btf_dump__free);
  if (!dump) throw Error("cannot dump bpfq's kernel BTF", "bpfq btf dump");
  for (uint32_t id = 1; id < btf__type_cnt(types.get()); ++id) {
    const btf_type* t = btf__type_by_id(types.get(), id);
    if (btf__name_by_offset(types.get(), t->name_off) == std::string_view("bpfq_kernel_types")) continue;
    if (btf_dump__dump_type(dump.get(), id) != 0) throw Error("cannot dump type " + std::to_string(id), "bpfq btf dump");
  }
  text +=
      "\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n"
      "#endif /* __VMLINUX_H__ */\n";
  return text;
}

}  // namespace

void add_btf_commands(CLI::App& app) {
  CLI::App* btf_cmd = app.add_subcommand("btf", "bpfq's kernel types (BTF) for programs of Linux's struct_ops API");
  btf_cmd->require_subcommand(1);
  CLI::App* dump_cmd = btf_cmd->add_subcommand("dump", "print them as a vmlinux.h (bpfq btf dump > vmlinux.h)");
  dump_cmd->callback([] { fmt::print("{}", vmlinux_h()); });
}

}  // namespace bpfq::cli
