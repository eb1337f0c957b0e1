#pragma once
// `bpfq sim`: runs a scenario through the simulator with one or several qdiscs side by side.
#include <CLI/CLI.hpp>

#include "prog_commands.hpp"

namespace bpfq::cli {

void add_sim_command(CLI::App& app, const GlobalFlags& flags);

}  // namespace bpfq::cli
