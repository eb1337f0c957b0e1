#pragma once
// `bpfq prog show|dump`: what an eBPF object holds, the way bpftool shows it.
#include <CLI/CLI.hpp>

#include "global_flags.hpp"

namespace bpfq::cli {

void add_prog_commands(CLI::App& app, const GlobalFlags& flags);

}  // namespace bpfq::cli
