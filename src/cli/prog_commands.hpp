#pragma once
// `bpfq prog show|dump|check|helpers`: what an eBPF object holds, the way bpftool shows it,
// what is wrong with it, and what programs may call.
#include <CLI/CLI.hpp>

#include "global_flags.hpp"

namespace bpfq::cli {

void add_prog_commands(CLI::App& app, const GlobalFlags& flags);

}  // namespace bpfq::cli
