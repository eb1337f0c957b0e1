#pragma once
// tc-style setup: `bpfq [-s] [-j] -b setup.tc` runs a batch file, `bpfq qdisc|class|filter|link
// WORDS...` runs one line (after the batch, if both are given). Show lines print the state.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "global_flags.hpp"

namespace bpfq::cli {

// Adds the qdisc, class, filter, link and tc subcommands; each collects its words.
void add_tc_commands(CLI::App& app);
// The words of the tc subcommand that was given ("qdisc", "show", "dev", "eth0"), or empty.
std::vector<std::string> parsed_tc_words(const CLI::App& app);
// Runs the batch file (if any), then the command-line words (if any).
void run_tc(std::vector<std::string> words, GlobalFlags flags);

}  // namespace bpfq::cli
