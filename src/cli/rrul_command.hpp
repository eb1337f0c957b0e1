#pragma once
// `bpfq rrul`: latency under load through bpfq live on a testbed inside this host (docs/live.md).
#include <CLI/CLI.hpp>

#include "global_flags.hpp"

namespace bpfq::cli {

void add_rrul_command(CLI::App& app, const GlobalFlags& flags);

}  // namespace bpfq::cli
