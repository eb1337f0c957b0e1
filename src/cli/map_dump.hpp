#pragma once
// `map dump dev D [handle H:]`: the maps of the bpf qdiscs on a device, as bpftool's `map dump`
// shows a kernel's. Hash and array maps element by element (key and value bytes; packet
// references read as 0, as libbpf's lookup returns them); the others (queues, rbtrees, PIFOs,
// maps of maps) by their element count. Locally after a batch (`bpfq -b s.tc map dump dev
// eth0`: class parameters, initial state) and against a running `bpfq live` (docs/live.md).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <bpfq/sched/handle.hpp>
#include <bpfq/tc/built_setup.hpp>

namespace bpfq::cli {

struct MapDumpCommand {
  std::string dev;
  std::optional<sched::Handle> handle;  // nullopt: every bpf qdisc on dev
};

// The words of `map dump dev D [handle H:]`; bpfq::Error naming where and the expected word.
MapDumpCommand parse_map_dump(const std::vector<std::string>& words, const std::string& where);
// [{"dev", "handle", "kind", "maps": [{"name", "type", "key_size", "value_size", "max_entries",
// "count", "elements": [{"key": "01 00 01 00", "value": "b8 0b 00 00"}] (hash and array maps,
// at most 1024 each; "elements_left_out": the rest; values past 4096 bytes are cut,
// "value_bytes_left_out")}]}].
nlohmann::json map_dump_json(const tc::BuiltSetup& built, const MapDumpCommand& cmd);
std::string map_dump_text(const nlohmann::json& dump);

}  // namespace bpfq::cli
