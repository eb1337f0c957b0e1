#pragma once
// `bpfq prog show|dump`: what an eBPF object holds, the way bpftool shows it.
#include <CLI/CLI.hpp>

namespace bpfq::cli {

struct GlobalFlags {
  bool json = false;
};

void add_prog_commands(CLI::App& app, const GlobalFlags& flags);

}  // namespace bpfq::cli
