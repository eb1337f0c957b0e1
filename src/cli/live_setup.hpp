#pragma once
// The tc setup of a running `bpfq live`, changed by tc lines from its control socket while
// traffic flows (docs/live.md). A line that changes a device builds the whole setup anew from
// every line so far plus it; if that fails, nothing changes. The device then leaves its tree for
// the new one (Bridge::switch_device): the old tree's packets are released and counted as its
// drops, as Linux frees a replaced qdisc's packets. The trees a device left are kept for the
// end-of-run accounting, so no counter is lost with them.
#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/object.hpp>
#include <bpfq/sched/device.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/tc/built_setup.hpp>
#include <bpfq/tc/setup_plan.hpp>
#include <bpfq/tc/setup_snapshot.hpp>

namespace bpfq::cli {

// The device a tc line's words name (the word after `dev`), if any.
std::optional<std::string> named_device(const std::vector<std::string>& words);

class LiveSetup {
 public:
  // The setup of the batch file (may be empty) for the interfaces ifname; an interface the
  // lines give no root qdisc gets pfifo_fast, Linux's default for a real device. bpfq::Error if
  // a line is bad or names another device.
  LiveSetup(const std::string& batch, std::array<std::string, 2> ifname, runtime::Verification verification,
            runtime::Clock& clock, sched::PacketPool& pool, uint64_t seed);
  ~LiveSetup();

  // The plan of the trees serving now (links and their rates are the batch's).
  const tc::SetupPlan& plan() const;
  // The device side i's frames leave through now.
  sched::Device& device(int side) const;

  // One tc line from the control socket: a show line answers from the trees serving now (JSON
  // with json, counters with stats); a line that changes a device builds the new setup and hands
  // the device's new tree to switch_to(side, device), then answers "". bpfq::Error (naming the
  // line) if it is refused; nothing changed then.
  std::string apply(const std::vector<std::string>& words, bool json, bool stats,
                    const std::function<void(int side, sched::Device& device)>& switch_to);

  // Every device side i's frames left through, oldest first; the last serves now.
  std::vector<sched::Device*> served(int side) const;
  // Every tree that served, as one snapshot: the run's counters and health.
  tc::SetupSnapshot snapshot() const;
  // The trees serving now.
  tc::SetupSnapshot serving_snapshot() const;

 private:
  struct Generation {
    std::unique_ptr<tc::SetupPlan> plan;
    std::unique_ptr<tc::BuiltSetup> built;
  };
  // The plan of the lines so far, then extra (if any), then the default roots.
  std::unique_ptr<tc::SetupPlan> make_plan(const std::pair<std::vector<std::string>, std::string>* extra) const;
  Generation& build(std::unique_ptr<tc::SetupPlan> plan);

  std::array<std::string, 2> ifname_;
  runtime::Verification verification_;
  runtime::Clock& clock_;
  sched::PacketPool& pool_;
  uint64_t seed_;
  std::vector<std::pair<std::vector<std::string>, std::string>> lines_;  // (words, where), accepted
  std::vector<std::unique_ptr<Generation>> generations_;
  std::array<std::vector<Generation*>, 2> served_;  // per side, oldest first
  uint64_t control_lines_ = 0;                      // numbers the control socket's lines
};

}  // namespace bpfq::cli
