#include <bpfq/io/sim/scenario.hpp>

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

}  // namespace

void Scenario::validate() const {
  require(rate_bps >= 1000, "link rate", "must be at least 1 kbit/s");
  require(mtu >= 68 && mtu <= 9000, "mtu", "must be within 68..9000 bytes");
  require(duration_ns > 0, "duration", "must be positive");
  require(sample_interval_ns > 0, "sample_interval", "must be positive");
  require(pool_packets >= 64, "pool_packets", "must be at least 64");
  require(mtu + 14 <= 2048, "mtu", "frames above 2048 bytes do not fit the packet pool's buffers");
  // A datagram (UDP or ICMP echo: IP + 8 header bytes + payload) within the MTU.
  auto require_fits_mtu = [&](uint32_t payload_bytes, bool ipv6, const std::string& at) {
    const uint32_t headers = ipv6 ? 48 : 28;
    require(payload_bytes + headers <= mtu, at + ".size",
            "exceeds the MTU (payload + " + std::to_string(headers) + " header bytes)");
  };
  for (size_t i = 0; i < tcp.size(); ++i) {
    // mtu >= 68 above leaves every flow an MSS (mtu - 40, IPv6 mtu - 60) of at least 8 bytes.
    std::string at = "tcp[" + std::to_string(i) + "]";
    require(tcp[i].stop_ns == 0 || tcp[i].stop_ns > tcp[i].start_ns, at + ".stop", "must be after start");
  }
  for (size_t i = 0; i < udp.size(); ++i) {
    std::string at = "udp[" + std::to_string(i) + "]";
    require(udp[i].rate_bps > 0, at + ".rate", "must be positive");
    require_fits_mtu(udp[i].payload_bytes, udp[i].ipv6, at);
    require(udp[i].on_ns > 0 && udp[i].off_ns > 0, at + ".on/off", "must be positive");
  }
  for (size_t i = 0; i < pings.size(); ++i) {
    std::string at = "ping[" + std::to_string(i) + "]";
    require(pings[i].interval_ns > 0, at + ".interval", "must be positive");
    require_fits_mtu(pings[i].payload_bytes, pings[i].ipv6, at);
  }
  for (size_t i = 0; i < short_flows.size(); ++i) {
    std::string at = "short_flows[" + std::to_string(i) + "]";
    require(short_flows[i].arrivals_per_s > 0, at + ".rate", "must be positive");
    require(short_flows[i].size.mean_bytes > 0, at + ".size.mean", "must be positive");
    require(short_flows[i].size.kind != SizeDistribution::Kind::Pareto || short_flows[i].size.shape > 1,
            at + ".size.shape", "must be above 1 for a finite mean");
  }
  for (size_t i = 0; i < pcap_replays.size(); ++i) {
    std::string at = "pcap[" + std::to_string(i) + "]";
    require(!pcap_replays[i].file.empty(), at + ".file", "must name a capture file");
    require(pcap_replays[i].speed > 0, at + ".speed", "must be positive");
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
