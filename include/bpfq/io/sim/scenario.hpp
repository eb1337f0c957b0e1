#pragma once
// What a simulation runs: the bottleneck link and the traffic crossing it.
//
// Topology: every sender -> bottleneck (qdisc on its egress, serialisation at rate_bps,
// propagation rtt/2) -> receivers; the reverse path (ACKs, echo replies) only adds rtt/2.
// Times are nanoseconds of virtual time, rates bits per second, sizes bytes.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bpfq::io::sim {

inline constexpr uint64_t kMillisecond = 1'000'000;
inline constexpr uint64_t kSecond = 1'000'000'000;

// Limits (docs/simulator.md, "Limits"): validate() refuses a scenario beyond them, naming the
// field, its value and the range, so that a typo can neither hang a run nor exhaust memory.
inline constexpr uint64_t kMaxTimeNs = 86'400 * kSecond;         // every time and period: one day
inline constexpr uint64_t kMinLinkRateBps = 1'000;
inline constexpr uint64_t kMaxRateBps = 1'000'000'000'000;        // link and UDP rates: 1 Tbit/s
inline constexpr uint32_t kMinMtu = 68;
inline constexpr uint32_t kMaxMtu = 2034;                         // + 14 bytes of Ethernet fits a 2048-byte pool buffer
inline constexpr uint32_t kMinPoolPackets = 64;
inline constexpr uint32_t kMaxPoolPackets = 262'144;              // about 2.5 KiB each, in the low 2 GiB
inline constexpr uint64_t kMaxFlowBytes = 1'000'000'000'000;      // a finite flow's size, short flows' mean and cap
inline constexpr size_t kMaxScenarioFlows = 4096;                 // tcp + udp + ping + pcap (about 32-64 KiB each)
inline constexpr uint64_t kMaxSamples = 1'000'000;                // duration / sample_interval
inline constexpr uint64_t kMaxSeriesValues = 16'000'000;          // samples x (5 + tcp, udp and pcap flows), 8 bytes each
inline constexpr double kMinArrivalRate = 1e-6;                   // short flows per second
inline constexpr double kMaxArrivalRate = 1e6;
inline constexpr uint64_t kMaxShortFlows = 100'000;               // expected arrivals of every group (a few KiB each)
inline constexpr double kMinSpeed = 1e-6, kMaxSpeed = 1e6;        // pcap replay speed
inline constexpr double kMaxParetoShape = 1e6;

enum class CongestionControl : uint8_t { NewReno, Cubic };
std::string_view congestion_control_name(CongestionControl cc);

// A TCP flow: bulk (bytes == 0, sends until stop or the end) or finite (FCT is reported).
struct TcpFlowSpec {
  std::string name = "tcp";
  CongestionControl cc = CongestionControl::Cubic;
  uint64_t start_ns = 0;
  uint64_t stop_ns = 0;  // bulk flows stop offering data here; 0 = end of the run
  uint64_t bytes = 0;    // 0 = bulk
  bool ecn = false;      // ECT(0) on data, react to ECE
  bool sack = true;      // SACK blocks and RFC 6675 loss recovery; false: NewReno recovery (RFC 6582)
  bool ipv6 = false;     // IPv6 frames (MSS = mtu - 60), else IPv4
};

enum class UdpPattern : uint8_t { Cbr, Poisson, OnOff };
std::string_view udp_pattern_name(UdpPattern pattern);

struct UdpFlowSpec {
  std::string name = "udp";
  UdpPattern pattern = UdpPattern::Cbr;
  uint64_t rate_bps = 1'000'000;  // mean rate (CBR, Poisson) or the rate while on (OnOff)
  uint32_t payload_bytes = 1000;  // UDP payload per datagram
  uint64_t start_ns = 0;
  uint64_t stop_ns = 0;           // 0 = end of the run
  uint64_t on_ns = kSecond;       // OnOff: mean on period (exponential)
  uint64_t off_ns = kSecond;      // OnOff: mean off period (exponential)
  uint8_t dscp = 0;
  uint32_t priority = 0;          // skb->priority of its packets (a socket's SO_PRIORITY)
  bool ecn = false;               // send ECT(0)
  bool ipv6 = false;
};

// ICMP echo probes (ping): their RTT is the latency a new interactive flow would see.
struct PingSpec {
  std::string name = "ping";
  uint64_t interval_ns = 100 * kMillisecond;
  uint32_t payload_bytes = 56;
  uint64_t start_ns = 0;
  uint64_t stop_ns = 0;
  bool ipv6 = false;  // ICMPv6 echo
};

struct SizeDistribution {
  enum class Kind : uint8_t { Fixed, Exponential, Pareto };
  Kind kind = Kind::Fixed;
  uint64_t mean_bytes = 100'000;
  double shape = 1.2;        // Pareto tail index (> 1)
  uint64_t max_bytes = 0;    // cap (0 = none); Pareto samples are capped here
};

// Short TCP flows arriving as a Poisson process, for flow-completion-time studies.
struct ShortFlowSpec {
  std::string name = "short";
  double arrivals_per_s = 10;
  SizeDistribution size;
  CongestionControl cc = CongestionControl::Cubic;
  bool ecn = false;
  bool sack = true;
  bool ipv6 = false;
  uint64_t start_ns = 0;
  uint64_t stop_ns = 0;  // no arrivals after this; 0 = end of the run
};

// Replay of a capture (libpcap: pcap or pcapng): its Ethernet frames enter the bottleneck at
// their timestamps, shifted so that the first frame is sent at start_ns, divided by speed.
// Frames of other link types, cut short by the capture's snaplen or longer than the MTU allows
// are skipped and counted.
struct PcapReplaySpec {
  std::string name = "pcap";
  std::string file;
  uint64_t start_ns = 0;  // when the capture's first frame is sent
  double speed = 1.0;     // 2 = twice as fast (gaps halved)
};

struct Scenario {
  std::string name = "custom";
  uint64_t rate_bps = 10'000'000;
  uint64_t rtt_ns = 40 * kMillisecond;  // base RTT, half in each direction
  uint32_t mtu = 1500;                  // IP MTU of the devices; TCP MSS = mtu - 40
  uint64_t duration_ns = 30 * kSecond;
  uint64_t seed = 1;
  uint64_t sample_interval_ns = 100 * kMillisecond;  // time-series resolution
  uint32_t pool_packets = 16384;                     // packets the simulation may hold at once
  std::vector<TcpFlowSpec> tcp;
  std::vector<UdpFlowSpec> udp;
  std::vector<PingSpec> pings;
  std::vector<ShortFlowSpec> short_flows;
  std::vector<PcapReplaySpec> pcap_replays;
  // If set, every frame the bottleneck sends is written here (pcap, nanosecond timestamps).
  std::string pcap_output;

  // Every TCP, UDP, ping and short-flow source speaks IPv6 (version 6) or IPv4 (4).
  void set_ip_version(int version);

  // Throws bpfq::Error naming the first bad field.
  void validate() const;
};

// Built-in scenarios: "bufferbloat" (4 bulk CUBIC flows + ping, 10 Mbit/s, 40 ms, 30 s),
// "mixed" (bulk + web-like short flows + VoIP-like UDP + ping), "incast" (32 synchronized
// senders of 64 KB over 1 Gbit/s, 200 us). Throws bpfq::Error for an unknown name.
Scenario preset(std::string_view name);
std::vector<std::string_view> preset_names();

}  // namespace bpfq::io::sim
