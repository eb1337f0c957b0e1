#pragma once
// `bpfq live IF1 IF2 [-b setup.tc]`: qdisc trees on two real interfaces, a bump in the wire.
#include <CLI/CLI.hpp>

#include "global_flags.hpp"

namespace bpfq::cli {

void add_live_command(CLI::App& app, const GlobalFlags& flags);

}  // namespace bpfq::cli
