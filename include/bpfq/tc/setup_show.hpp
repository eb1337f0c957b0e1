#pragma once
// `qdisc show`, `class show` and `filter show` as tc prints them (text, or -j JSON as `tc -j`),
// with `-s` adding the counters: tc's "Sent … / backlog …" lines plus "enqueued …", so that
// sent + dropped + backlog = enqueued can be read off the output (docs/cli.md).
#include <string>

#include <nlohmann/json.hpp>

#include <bpfq/tc/setup_plan.hpp>
#include <bpfq/tc/setup_snapshot.hpp>

namespace bpfq::tc {

std::string show_text(const SetupSnapshot& snapshot, const ShowCommand& cmd, bool stats);
nlohmann::json show_json(const SetupSnapshot& snapshot, const ShowCommand& cmd, bool stats);

}  // namespace bpfq::tc
