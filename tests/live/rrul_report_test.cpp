// `bpfq rrul`'s parsing and report, on output written the way ping -D and iperf3 -J write it:
// the replies and their times, each stream's goodput per interval, nearest-rank percentiles,
// the chart's lines and legend. No root needed.
#include <gtest/gtest.h>

#include <bpfq/error.hpp>
#include <bpfq/io/live/rrul.hpp>

namespace bpfq::io::live {
namespace {

TEST(RrulReport, PingRepliesAreReadWithTheirTimes) {
  const std::string out =
      "PING 10.77.0.2 (10.77.0.2) 56(84) bytes of data.\n"
      "[1765100000.100000] 64 bytes from 10.77.0.2: icmp_seq=1 ttl=64 time=0.081 ms\n"
      "[1765100000.200000] 64 bytes from 10.77.0.2: icmp_seq=2 ttl=64 time=12.5 ms\n"
      "[1765100000.300000] From 10.77.0.1 icmp_seq=3 Destination Host Unreachable\n"
      "[1765100000.400000] 64 bytes from 10.77.0.2: icmp_seq=4 ttl=64 time=103 ms\n"
      "\n--- 10.77.0.2 ping statistics ---\n"
      "4 packets transmitted, 3 received, 25% packet loss, time 300ms\n";
  const std::vector<PingReply> r = ping_replies(out);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_DOUBLE_EQ(r[0].at_s, 1765100000.1);
  EXPECT_DOUBLE_EQ(r[0].rtt_ms, 0.081);
  EXPECT_DOUBLE_EQ(r[1].rtt_ms, 12.5);
  EXPECT_DOUBLE_EQ(r[2].at_s, 1765100000.4);
  EXPECT_DOUBLE_EQ(r[2].rtt_ms, 103);
  EXPECT_TRUE(ping_replies("64 bytes from 10.77.0.2: icmp_seq=1 ttl=64 time=0.081 ms\n").empty()) << "no -D: no time";
}

TEST(RrulReport, IperfIntervalsGiveEachStreamsGoodputLeavingOutOmittedOnes) {
  const std::string json = R"({"start": {}, "intervals": [
    {"streams": [{"socket": 5, "start": 0, "end": 0.5, "bits_per_second": 1e6},
                 {"socket": 7, "start": 0, "end": 0.5, "bits_per_second": 2e6}],
     "sum": {"start": 0, "end": 0.5, "bits_per_second": 3e6, "omitted": true}},
    {"streams": [{"socket": 5, "start": 0.5, "end": 1.0, "bits_per_second": 10e6},
                 {"socket": 7, "start": 0.5, "end": 1.0, "bits_per_second": 20e6}],
     "sum": {"start": 0.5, "end": 1.0, "bits_per_second": 30e6, "omitted": false}},
    {"streams": [{"socket": 5, "start": 1.0, "end": 1.5, "bits_per_second": 11e6},
                 {"socket": 7, "start": 1.0, "end": 1.5, "bits_per_second": 19e6}],
     "sum": {"start": 1.0, "end": 1.5, "bits_per_second": 30e6, "omitted": false}}],
    "end": {}})";
  const IperfIntervals in = iperf_intervals(json);
  EXPECT_EQ(in.end_s, (std::vector<double>{1.0, 1.5}));
  ASSERT_EQ(in.stream_bps.size(), 2u);
  EXPECT_EQ(in.stream_bps[0], (std::vector<double>{10e6, 11e6}));
  EXPECT_EQ(in.stream_bps[1], (std::vector<double>{20e6, 19e6}));
}

TEST(RrulReport, IperfErrorsAndGarbageAreErrors) {
  try {
    iperf_intervals(R"({"start": {}, "intervals": [], "end": {}, "error": "unable to connect to server: Connection refused"})");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "unable to connect to server: Connection refused");
  }
  try {
    iperf_intervals("iperf3: error - the server is busy running a test. try again later\n");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("its output is not iperf3's JSON: iperf3: error - the server is busy"), std::string::npos)
        << e.what();
  }
}

TEST(RrulReport, PercentilesAreNearestRank) {
  std::vector<double> rtts;
  for (int i = 100; i >= 1; --i) rtts.push_back(i);  // 1..100, unsorted
  const RttSummary s = summarize_rtts(rtts);
  EXPECT_EQ(s.replies, 100u);
  EXPECT_EQ(s.p50_ms, 50);
  EXPECT_EQ(s.p90_ms, 90);
  EXPECT_EQ(s.p99_ms, 99);
  EXPECT_EQ(s.max_ms, 100);
  const RttSummary one = summarize_rtts({7.5});
  EXPECT_EQ(one.p50_ms, 7.5);
  EXPECT_EQ(one.p99_ms, 7.5);
  EXPECT_EQ(summarize_rtts({}).replies, 0u);
}

RrulReport sample_report() {
  RrulReport r;
  r.options.setup_name = "fq_codel at 100mbit";
  r.options.up = 2;
  r.options.down = 1;
  r.options.load_s = 2;
  r.options.idle_s = 1;
  r.duration_s = 4;
  r.time_s = {1.5, 2.0, 2.5, 3.0};
  r.flows = {{"up 1", {40, 45, 46, 47}, 44.5}, {"up 2", {44, 45, 46, 47}, 45.5}, {"down 1", {80, 90, 91, 92}, 88.25}};
  r.up_mbps = 90;
  r.down_mbps = 88.25;
  r.pings = {{0.1, 0.08}, {0.2, 0.09}, {1.5, 3.2}, {2.5, 4.1}};
  r.pings_sent = 5;
  r.idle = summarize_rtts({0.08, 0.09});
  r.loaded = summarize_rtts({4.1});
  r.live_conserved = true;
  r.live_json = R"({"conserved":true})";
  return r;
}

TEST(RrulReport, TextSaysGoodputRttsAndConservation) {
  const std::string t = rrul_text(sample_report());
  EXPECT_NE(t.find("rrul: fq_codel at 100mbit: 2 up + 1 down TCP flows (cubic), 2 s of load after 1 s idle, port auto\n"),
            std::string::npos) << t;
  EXPECT_NE(t.find("goodput: up 90.0 Mbit/s (44.5 45.5), down 88.2 Mbit/s (88.2)\n"), std::string::npos) << t;
  EXPECT_NE(t.find("ping RTT idle:      p50 0.08 ms  p90 0.09 ms  p99 0.09 ms  max 0.09 ms  (2 replies)\n"), std::string::npos) << t;
  EXPECT_NE(t.find("ping RTT loaded:    p50 4.10 ms"), std::string::npos) << t;
  EXPECT_NE(t.find("ping: 4 of 5 answered\n"), std::string::npos) << t;
  EXPECT_NE(t.find("bpfq live: every packet accounted for; no problems\n"), std::string::npos) << t;
}

TEST(RrulReport, ChartHasThePingLineAndOneLinePerFlowDashedByDirection) {
  const std::string svg = chart_svg(rrul_chart(sample_report()));
  size_t polylines = 0;
  for (size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1)) ++polylines;
  EXPECT_EQ(polylines, 1u + 3u);
  EXPECT_NE(svg.find("<title>ping</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>down 1</title>"), std::string::npos);
  EXPECT_NE(svg.find(">ping RTT (ms)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">up (A→B)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">down (B→A)</text>"), std::string::npos);
  // The down flow is dashed, the up flows are not.
  const size_t down = svg.rfind("<polyline", svg.find("<title>down 1</title>"));
  EXPECT_NE(svg.substr(down, 120).find("stroke-dasharray"), std::string::npos);
  const size_t up = svg.rfind("<polyline", svg.find("<title>up 1</title>"));
  EXPECT_EQ(svg.substr(up, 120).find("stroke-dasharray"), std::string::npos);
  EXPECT_EQ(chart_svg(rrul_chart(sample_report())), svg) << "deterministic";
}

}  // namespace
}  // namespace bpfq::io::live
