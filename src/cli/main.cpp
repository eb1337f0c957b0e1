// bpfq: programmable packet scheduling with eBPF, in user space.
// Exit codes: 0 success, 1 a bpfq error (bad object, bad setup line, …), 2 bad usage.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <bpfq/error.hpp>

#include "prog_commands.hpp"
#include "sim_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"bpfq: eBPF-programmable queueing disciplines (sch_bpf) in user space"};
  app.require_subcommand(1);
  bpfq::cli::GlobalFlags flags;
  app.add_flag("-j,--json", flags.json, "print JSON");
  bpfq::cli::add_prog_commands(app, flags);
  bpfq::cli::add_sim_command(app, flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const bpfq::Error& e) {
    fmt::print(stderr, "bpfq: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
