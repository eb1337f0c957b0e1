// bpfq: programmable packet scheduling with eBPF, in user space.
// Exit codes: 0 success, 1 a bpfq error (bad object, bad setup line, …), 2 bad usage.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <bpfq/error.hpp>
#include <bpfq/runtime/object.hpp>

#include "btf_command.hpp"
#include "global_flags.hpp"
#include "live_command.hpp"
#include "prog_commands.hpp"
#include "rrul_command.hpp"
#include "setup_commands.hpp"
#include "sim_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"bpfq: eBPF-programmable queueing disciplines (sch_bpf) in user space"};
  app.require_subcommand(0, 1);
  bpfq::cli::GlobalFlags flags;
  app.add_flag("-j,--json", flags.json, "print JSON");
  app.add_flag("-s,--stats", flags.stats, "show statistics (qdisc/class show)");
  CLI::Option* batch = app.add_option("-b,--batch", flags.batch, "run the tc lines of FILE (docs/cli.md)");
  app.add_option_function<std::string>(
         "--backend", [](const std::string& name) { bpfq::runtime::set_default_backend(bpfq::runtime::parse_backend(name)); },
         "what runs verified programs: jit (the default on x86-64) or interpreter (docs/jit.md)")
      ->check(CLI::IsMember({"jit", "interpreter"}))
      ->trigger_on_parse();
  bpfq::cli::add_prog_commands(app, flags);
  bpfq::cli::add_btf_commands(app);
  bpfq::cli::add_sim_command(app, flags);
  bpfq::cli::add_live_command(app, flags);  // -b FILE is its setup
  bpfq::cli::add_rrul_command(app, flags);  // and this one's
  bpfq::cli::add_tc_commands(app);
  for (const char* name : {"prog", "sim"}) app.get_subcommand(name)->excludes(batch);
  for (const char* name : {"prog", "sim", "live", "rrul"})
    app.get_subcommand(name)->fallthrough();  // global flags after it too: `bpfq sim ... -j`
  try {
    bpfq::runtime::default_backend();  // a bad BPFQ_BACKEND is refused before anything runs
    app.parse(argc, argv);
    const std::vector<std::string> words = bpfq::cli::parsed_tc_words(app);
    if (app.get_subcommand("live")->parsed() || app.get_subcommand("rrul")->parsed()) {
      // ran in its callback, with -b as its setup
    } else if (!words.empty() || !flags.batch.empty()) {
      bpfq::cli::run_tc(words, flags);
    } else if (app.get_subcommands().empty()) {
      fmt::print(stderr, "bpfq: a command (prog, sim, live, rrul, qdisc, class, filter, link) or -b FILE is required\n"
                         "Run with --help for more information.\n");
      return 2;
    }
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const bpfq::Error& e) {
    fmt::print(stderr, "bpfq: error: {}\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    // Last resort: the documented limits (docs/simulator.md, docs/maps.md) should come first.
    fmt::print(stderr, "bpfq: error: out of memory (hint: a smaller scenario, fewer flows or smaller maps; "
                       "see the limits in docs/simulator.md and docs/maps.md)\n");
    return 1;
  }
  return 0;
}
