#pragma once
// A dumbbell: N senders on 1 Gbit/s access links, two routers joined by the bottleneck, N
// receivers; one bulk TCP flow per sender/receiver pair; the bottleneck router's queue disc is
// the one under test (installed from a TrafficControlHelper). Base RTT 40 ms by default.
//
// Used by dumbbell.cc (the example), bpfq's ns-3 adapter tests and its benchmark.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ns3/applications-module.h>
#include <ns3/core-module.h>
#include <ns3/internet-module.h>
#include <ns3/network-module.h>
#include <ns3/point-to-point-layout-module.h>
#include <ns3/point-to-point-module.h>
#include <ns3/traffic-control-module.h>

namespace dumbbell {

struct Scenario {
  uint32_t flows = 4;
  std::string bottleneckRate = "100Mbps";
  std::string accessRate = "1Gbps";
  ns3::Time baseRtt = ns3::MilliSeconds(40);
  ns3::Time duration = ns3::Seconds(30);
  std::string tcp = "ns3::TcpCubic";
  uint32_t segmentSize = 1448;
};

struct Result {
  std::vector<double> flowMbps;  // goodput of each flow over the run
  double totalMbps = 0;
  ns3::QueueDisc::Stats stats;   // the bottleneck queue disc's
  uint64_t packetsAtEnd = 0;     // still queued in it when the run stopped
};

// Runs one simulation with the bottleneck queue disc from tch; inspect (if set) sees the queue
// disc before the simulator is destroyed.
inline Result Run(const Scenario& cfg, ns3::TrafficControlHelper& tch,
                  const std::function<void(ns3::Ptr<ns3::QueueDisc>)>& inspect = {}) {
  using namespace ns3;
  Config::SetDefault("ns3::TcpL4Protocol::SocketType", StringValue(cfg.tcp));
  Config::SetDefault("ns3::TcpSocket::SegmentSize", UintegerValue(cfg.segmentSize));
  Config::SetDefault("ns3::TcpSocket::SndBufSize", UintegerValue(8 << 20));
  Config::SetDefault("ns3::TcpSocket::RcvBufSize", UintegerValue(8 << 20));

  // RTT = 2 × (access + bottleneck + access): the bottleneck takes half of the one-way delay.
  const Time quarter = cfg.baseRtt / 8;
  PointToPointHelper access, bottleneck;
  access.SetDeviceAttribute("DataRate", StringValue(cfg.accessRate));
  access.SetChannelAttribute("Delay", TimeValue(quarter));
  bottleneck.SetDeviceAttribute("DataRate", StringValue(cfg.bottleneckRate));
  bottleneck.SetChannelAttribute("Delay", TimeValue(quarter * 2));
  // A one-packet device queue: the queue disc above it is where packets wait.
  bottleneck.SetQueue("ns3::DropTailQueue", "MaxSize", StringValue("1p"));
  PointToPointDumbbellHelper net(cfg.flows, access, cfg.flows, access, bottleneck);

  InternetStackHelper stack;
  net.InstallStack(stack);
  Ptr<NetDevice> bottleneckDevice = net.GetLeft()->GetDevice(0);  // the left router's bottleneck port
  QueueDiscContainer qdiscs = tch.Install(bottleneckDevice);
  net.AssignIpv4Addresses(Ipv4AddressHelper("10.1.0.0", "255.255.255.0"),
                          Ipv4AddressHelper("10.2.0.0", "255.255.255.0"),
                          Ipv4AddressHelper("10.3.0.0", "255.255.255.0"));
  Ipv4GlobalRoutingHelper::PopulateRoutingTables();

  const uint16_t port = 5000;
  std::vector<Ptr<PacketSink>> sinks;
  for (uint32_t i = 0; i < cfg.flows; ++i) {
    PacketSinkHelper sink("ns3::TcpSocketFactory", InetSocketAddress(Ipv4Address::GetAny(), port));
    ApplicationContainer s = sink.Install(net.GetRight(i));
    s.Start(Seconds(0));
    sinks.push_back(DynamicCast<PacketSink>(s.Get(0)));
    BulkSendHelper source("ns3::TcpSocketFactory", InetSocketAddress(net.GetRightIpv4Address(i), port));
    source.SetAttribute("MaxBytes", UintegerValue(0));
    ApplicationContainer a = source.Install(net.GetLeft(i));
    a.Start(MilliSeconds(100 + 7 * i));  // staggered: no two flows start in lockstep
  }

  Simulator::Stop(cfg.duration);
  Simulator::Run();

  Result r;
  Ptr<QueueDisc> q = qdiscs.Get(0);
  for (const Ptr<PacketSink>& s : sinks) {
    r.flowMbps.push_back(static_cast<double>(s->GetTotalRx()) * 8 / cfg.duration.GetSeconds() / 1e6);
    r.totalMbps += r.flowMbps.back();
  }
  r.stats = q->GetStats();
  r.packetsAtEnd = q->GetNPackets();
  if (inspect) inspect(q);
  Simulator::Destroy();
  return r;
}

}  // namespace dumbbell
