#pragma once
// `bpfq btf dump`: bpfq's kernel types as a vmlinux.h, for programs of Linux's struct_ops qdisc
// API (docs/struct_ops.md), as `bpftool btf dump file /sys/kernel/btf/vmlinux format c` gives
// a kernel's.
#include <CLI/CLI.hpp>

namespace bpfq::cli {

void add_btf_commands(CLI::App& app);

}  // namespace bpfq::cli
