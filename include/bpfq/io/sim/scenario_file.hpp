#pragma once
// Scenario files in TOML (toml11). Errors are bpfq::Error whose where() is "file:line" and
// whose text names the key. Format (docs/simulator.md):
//
//   name = "two-flows"        duration = "30s"     seed = 7     sample_interval = "100ms"
//   preset = "bufferbloat"    # optional: start from a preset, then override
//   ip = 6                    pcap_output = "out.pcap"
//   [link]   rate = "10mbit"  rtt = "40ms"  mtu = 1500
//   [[tcp]]  cc = "cubic" | "newreno"  start = "0s"  stop = "20s"  bytes = "1MB" | "bulk"
//            ecn = true  count = 2  name = "bulk"
//   [[udp]]  pattern = "cbr" | "poisson" | "onoff"  rate = "2mbit"  size = 1000  on = "1s" ...
//   [[ping]] interval = "100ms"  size = 56
//   [[short_flows]] rate = 20  size = { dist = "pareto", mean = "100KB", shape = 1.2, max = "10MB" }
//   [[pcap]] file = "trace.pcap" (relative to the scenario file)  start = "1s"  speed = 2
//   every flow table: ipv6 = true
#include <cstddef>
#include <string>
#include <string_view>

#include <bpfq/io/sim/scenario.hpp>

namespace bpfq::io::sim {

// Larger files are refused before they are read (docs/simulator.md, "Limits").
inline constexpr size_t kMaxScenarioFileBytes = 1 << 20;

// Also refuses folders, devices, empty files, files without traffic and values nested more
// than 32 deep.
Scenario load_scenario_file(const std::string& path);
// text is the file's contents; filename is only used in error messages.
Scenario parse_scenario(std::string_view text, const std::string& filename);

}  // namespace bpfq::io::sim
