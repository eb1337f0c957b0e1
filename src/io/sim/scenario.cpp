#include <bpfq/io/sim/scenario.hpp>

#include <algorithm>
#include <sstream>
#include <string>

#include <bpfq/error.hpp>

namespace bpfq::io::sim {

std::string_view congestion_control_name(CongestionControl cc) {
  return cc == CongestionControl::NewReno ? "newreno" : "cubic";
}

std::string_view udp_pattern_name(UdpPattern pattern) {
  switch (pattern) {
    case UdpPattern::Cbr: return "cbr";
    case UdpPattern::Poisson: return "poisson";
    case UdpPattern::OnOff: return "onoff";
  }
  return "?";
}

namespace {

void require(bool ok, const std::string& field, const std::string& what) {
  if (!ok) throw Error(field + " " + what, "scenario");
}

// Times, rates and sizes in the units a scenario file uses, so a message can be pasted back.
std::string time_text(uint64_t ns) {
  if (ns != 0 && ns % kSecond == 0) return std::to_string(ns / kSecond) + "s";
  if (ns != 0 && ns % kMillisecond == 0) return std::to_string(ns / kMillisecond) + "ms";
  if (ns != 0 && ns % 1000 == 0) return std::to_string(ns / 1000) + "us";
  return std::to_string(ns) + "ns";
}
std::string rate_text(uint64_t bps) {
  if (bps != 0 && bps % 1'000'000'000 == 0) return std::to_string(bps / 1'000'000'000) + "gbit";
  if (bps != 0 && bps % 1'000'000 == 0) return std::to_string(bps / 1'000'000) + "mbit";
  if (bps != 0 && bps % 1000 == 0) return std::to_string(bps / 1000) + "kbit";
  return std::to_string(bps) + "bit";
}
std::string number_text(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

// "<field> <value> is out of range (<lo> .. <hi>)".
template <typename T, typename Text>
void require_range(T value, T lo, T hi, const std::string& field, Text text) {
  // Written so that NaN fails too.
  if (!(value >= lo && value <= hi))
    throw Error(field + " " + text(value) + " is out of range (" + text(lo) + " .. " + text(hi) + ")", "scenario");
}
void require_time(uint64_t ns, uint64_t lo, const std::string& field) { require_range(ns, lo, kMaxTimeNs, field, time_text); }
void require_count(uint64_t n, uint64_t lo, uint64_t hi, const std::string& field) {
  require_range(n, lo, hi, field, [](uint64_t v) { return std::to_string(v); });
}
void require_number(double x, double lo, double hi, const std::string& field) { require_range(x, lo, hi, field, number_text); }

// The seconds during which a source with these times is active.
double active_seconds(uint64_t start_ns, uint64_t stop_ns, uint64_t duration_ns) {
  const uint64_t end = stop_ns ? std::min(stop_ns, duration_ns) : duration_ns;
  return end > start_ns ? static_cast<double>(end - start_ns) / 1e9 : 0.0;
}

}  // namespace

void Scenario::validate() const {
  require_range(rate_bps, kMinLinkRateBps, kMaxRateBps, "link rate", rate_text);
  require_time(rtt_ns, 0, "rtt");
  require_count(mtu, kMinMtu, kMaxMtu, "mtu");
  require_time(duration_ns, 1, "duration");
  require_time(sample_interval_ns, 1, "sample_interval");
  require_count(pool_packets, kMinPoolPackets, kMaxPoolPackets, "pool_packets");
  const size_t flows = tcp.size() + udp.size() + pings.size() + pcap_replays.size();
  require(flows <= kMaxScenarioFlows, "flows",
          "(tcp, udp, ping and pcap): " + std::to_string(flows) + " is over the limit of " +
              std::to_string(kMaxScenarioFlows));
  // The time series holds a row per sample with a column per tcp, udp and pcap flow.
  const uint64_t samples = duration_ns / sample_interval_ns;
  require(samples <= kMaxSamples, "sample_interval",
          time_text(sample_interval_ns) + " gives " + std::to_string(samples) + " samples over " + time_text(duration_ns) +
              ", over the limit of " + std::to_string(kMaxSamples) + " (duration / sample_interval)");
  const uint64_t columns = 5 + tcp.size() + udp.size() + pcap_replays.size();
  require(samples * columns <= kMaxSeriesValues, "sample_interval",
          time_text(sample_interval_ns) + " gives " + std::to_string(samples) + " samples x " + std::to_string(columns) +
              " columns, over the limit of " + std::to_string(kMaxSeriesValues) + " time-series values");
  // A datagram (UDP or ICMP echo: IP + 8 header bytes + payload) within the MTU.
  auto require_fits_mtu = [&](uint32_t payload_bytes, bool ipv6, const std::string& at) {
    const uint32_t headers = ipv6 ? 48 : 28;
    require(uint64_t{payload_bytes} + headers <= mtu, at + ".size",
            std::to_string(payload_bytes) + " exceeds the MTU: at most " + std::to_string(mtu - headers) +
                " bytes (mtu - " + std::to_string(headers) + " header bytes)");
  };
  for (size_t i = 0; i < tcp.size(); ++i) {
    // mtu >= 68 above leaves every flow an MSS (mtu - 40, IPv6 mtu - 60) of at least 8 bytes.
    std::string at = "tcp[" + std::to_string(i) + "]";
    require_time(tcp[i].start_ns, 0, at + ".start");
    require_time(tcp[i].stop_ns, 0, at + ".stop");
    require_count(tcp[i].bytes, 0, kMaxFlowBytes, at + ".bytes");
    require(tcp[i].stop_ns == 0 || tcp[i].stop_ns > tcp[i].start_ns, at + ".stop", "must be after start");
  }
  for (size_t i = 0; i < udp.size(); ++i) {
    std::string at = "udp[" + std::to_string(i) + "]";
    require_range(udp[i].rate_bps, uint64_t{1}, kMaxRateBps, at + ".rate", rate_text);
    require_fits_mtu(udp[i].payload_bytes, udp[i].ipv6, at);
    require_time(udp[i].start_ns, 0, at + ".start");
    require_time(udp[i].stop_ns, 0, at + ".stop");
    require_time(udp[i].on_ns, 1, at + ".on");
    require_time(udp[i].off_ns, 1, at + ".off");
    require_count(udp[i].dscp, 0, 63, at + ".dscp");
  }
  for (size_t i = 0; i < pings.size(); ++i) {
    std::string at = "ping[" + std::to_string(i) + "]";
    require_time(pings[i].interval_ns, 1, at + ".interval");
    require_fits_mtu(pings[i].payload_bytes, pings[i].ipv6, at);
    require_time(pings[i].start_ns, 0, at + ".start");
    require_time(pings[i].stop_ns, 0, at + ".stop");
  }
  double expected_short_flows = 0;
  for (size_t i = 0; i < short_flows.size(); ++i) {
    const ShortFlowSpec& f = short_flows[i];
    std::string at = "short_flows[" + std::to_string(i) + "]";
    require_number(f.arrivals_per_s, kMinArrivalRate, kMaxArrivalRate, at + ".rate");
    require_count(f.size.mean_bytes, 1, kMaxFlowBytes, at + ".size.mean");
    require_count(f.size.max_bytes, 0, kMaxFlowBytes, at + ".size.max");
    if (f.size.kind == SizeDistribution::Kind::Pareto) {
      require(f.size.shape > 1, at + ".size.shape", "must be above 1 for a finite mean");
      require_number(f.size.shape, 1.0, kMaxParetoShape, at + ".size.shape");
    }
    require_time(f.start_ns, 0, at + ".start");
    require_time(f.stop_ns, 0, at + ".stop");
    expected_short_flows += f.arrivals_per_s * active_seconds(f.start_ns, f.stop_ns, duration_ns);
  }
  // Each arrival keeps its TCP state until the end of the run.
  require(expected_short_flows <= static_cast<double>(kMaxShortFlows), "short_flows",
          "expect " + number_text(expected_short_flows) + " arrivals (rate x active time), over the limit of " +
              std::to_string(kMaxShortFlows));
  for (size_t i = 0; i < pcap_replays.size(); ++i) {
    std::string at = "pcap[" + std::to_string(i) + "]";
    require(!pcap_replays[i].file.empty(), at + ".file", "must name a capture file");
    require(pcap_replays[i].speed > 0, at + ".speed", "must be positive");
    require_number(pcap_replays[i].speed, kMinSpeed, kMaxSpeed, at + ".speed");
    require_time(pcap_replays[i].start_ns, 0, at + ".start");
  }
}

void Scenario::set_ip_version(int version) {
  const bool v6 = version == 6;
  for (TcpFlowSpec& f : tcp) f.ipv6 = v6;
  for (UdpFlowSpec& f : udp) f.ipv6 = v6;
  for (PingSpec& f : pings) f.ipv6 = v6;
  for (ShortFlowSpec& f : short_flows) f.ipv6 = v6;
}

std::vector<std::string_view> preset_names() { return {"bufferbloat", "mixed", "incast"}; }

Scenario preset(std::string_view name) {
  Scenario s;
  s.name = std::string(name);
  if (name == "bufferbloat") {
    s.rate_bps = 10'000'000;
    s.rtt_ns = 40 * kMillisecond;
    s.duration_ns = 30 * kSecond;
    for (int i = 0; i < 4; ++i) s.tcp.push_back({"bulk" + std::to_string(i), CongestionControl::Cubic, 0, 0, 0, false});
    s.pings.push_back({"ping", 100 * kMillisecond, 56, 0, 0});
    return s;
  }
  if (name == "mixed") {
    s.rate_bps = 20'000'000;
    s.rtt_ns = 30 * kMillisecond;
    s.duration_ns = 30 * kSecond;
    s.tcp.push_back({"bulk-cubic", CongestionControl::Cubic, 0, 0, 0, false});
    s.tcp.push_back({"bulk-newreno", CongestionControl::NewReno, 0, 0, 0, false});
    // VoIP-like: G.711 at 50 packets/s (160 bytes of payload every 20 ms), EF marked.
    UdpFlowSpec voip;
    voip.name = "voip";
    voip.payload_bytes = 172;  // RTP header + 160 bytes of audio
    voip.rate_bps = (172 + 42) * 8 * 50;
    voip.dscp = 46;
    s.udp.push_back(voip);
    ShortFlowSpec web;
    web.name = "web";
    web.arrivals_per_s = 10;
    web.size = {SizeDistribution::Kind::Pareto, 50'000, 1.2, 5'000'000};
    s.short_flows.push_back(web);
    s.pings.push_back({"ping", 100 * kMillisecond, 56, 0, 0});
    return s;
  }
  if (name == "incast") {
    s.rate_bps = 1'000'000'000;
    s.rtt_ns = 200'000;  // a data-centre rack
    s.duration_ns = 1 * kSecond;
    s.sample_interval_ns = 10 * kMillisecond;
    for (int i = 0; i < 32; ++i)
      s.tcp.push_back({"sender" + std::to_string(i), CongestionControl::Cubic, 10 * kMillisecond, 0, 64 * 1024, false});
    return s;
  }
  std::string names;
  for (std::string_view n : preset_names()) names += (names.empty() ? "" : ", ") + std::string(n);
  throw Error("unknown scenario preset '" + std::string(name) + "'", "scenario", "one of: " + names);
}

}  // namespace bpfq::io::sim
