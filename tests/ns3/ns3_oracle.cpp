#include "ns3_oracle.hpp"

#include <ns3/drop-tail-queue.h>
#include <ns3/fifo-queue-disc.h>
#include <ns3/fq-codel-queue-disc.h>
#include <ns3/fq-pie-queue-disc.h>
#include <ns3/ipv4-address.h>
#include <ns3/ipv4-header.h>
#include <ns3/ipv4-queue-disc-item.h>
#include <ns3/nstime.h>
#include <ns3/object-factory.h>
#include <ns3/packet.h>
#include <ns3/queue-disc.h>
#include <ns3/queue-size.h>
#include <ns3/simulator.h>
#include <ns3/socket.h>
#include <ns3/string.h>
#include <ns3/tcp-header.h>
#include <ns3/udp-header.h>

#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace bpfq::ns3diff {
namespace {

// An IPv4 item with the same 5-tuple, TOS and size as bpfq's frame: the ns-3 packet holds the
// L4 header and payload plus 14 bytes standing for the Ethernet header, so GetSize() (IPv4
// header + packet) equals bpfq's frame length.
ns3::Ptr<ns3::Ipv4QueueDiscItem> make_item(const PacketSpec& spec) {
  ns3::Ptr<ns3::Packet> p = ns3::Create<ns3::Packet>(spec.payload_len() + 14);
  if (spec.tcp) {
    ns3::TcpHeader tcp;
    tcp.SetSourcePort(spec.sport);
    tcp.SetDestinationPort(spec.dport);
    p->AddHeader(tcp);
  } else {
    ns3::UdpHeader udp;
    udp.SetSourcePort(spec.sport);
    udp.SetDestinationPort(spec.dport);
    p->AddHeader(udp);
  }
  if (spec.priority != 0) {
    ns3::SocketPriorityTag tag;
    tag.SetPriority(static_cast<uint8_t>(spec.priority));
    p->AddPacketTag(tag);
  }
  ns3::Ipv4Header ip;
  ip.SetSource(ns3::Ipv4Address(spec.src_ip));
  ip.SetDestination(ns3::Ipv4Address(spec.dst_ip));
  ip.SetProtocol(spec.tcp ? 6 : 17);
  ip.SetPayloadSize(p->GetSize());
  ip.SetTtl(64);
  ip.SetTos(spec.tos());
  return ns3::Create<ns3::Ipv4QueueDiscItem>(p, ns3::Address(), 0x0800, ip);
}

bool carries_ce(const ns3::QueueDiscItem& item) {
  auto* ipv4 = dynamic_cast<const ns3::Ipv4QueueDiscItem*>(&item);
  return ipv4 && ipv4->GetHeader().GetEcn() == ns3::Ipv4Header::ECN_CE;
}

class Ns3Player {
 public:
  explicit Ns3Player(const Ns3QdiscSpec& spec) : stop_ns_(spec.stop_ns) {
    ns3::ObjectFactory factory;
    ns3::TypeId tid;
    if (!ns3::TypeId::LookupByNameFailSafe(spec.type, &tid))
      throw std::runtime_error("ns-3 has no type " + spec.type);
    factory.SetTypeId(tid);
    qd_ = factory.Create<ns3::QueueDisc>();
    if (!qd_) throw std::runtime_error(spec.type + " is not a QueueDisc");
    for (const auto& [name, value] : spec.attributes) {
      if (!qd_->SetAttributeFailSafe(name, ns3::StringValue(value)))
        throw std::runtime_error(spec.type + " refused attribute " + name + "=" + value);
    }
    if (auto fq = ns3::DynamicCast<ns3::FqCoDelQueueDisc>(qd_)) {
      if (spec.fq_quantum == 0) throw std::runtime_error("FqCoDelQueueDisc needs fq_quantum");
      fq->SetQuantum(spec.fq_quantum);
    }
    if (auto fq = ns3::DynamicCast<ns3::FqPieQueueDisc>(qd_)) {
      if (spec.fq_quantum == 0) throw std::runtime_error("FqPieQueueDisc needs fq_quantum");
      fq->SetQuantum(spec.fq_quantum);
    }
    if (spec.band_limit != 0) {
      ns3::ObjectFactory band;
      band.SetTypeId("ns3::DropTailQueue<QueueDiscItem>");
      band.Set("MaxSize", ns3::QueueSizeValue(ns3::QueueSize(ns3::QueueSizeUnit::PACKETS, spec.band_limit)));
      for (int i = 0; i < 3; ++i) qd_->AddInternalQueue(band.Create<ns3::QueueDisc::InternalQueue>());
    }
    for (const std::string& max_size : spec.prio_children) {
      auto child = ns3::CreateObject<ns3::FifoQueueDisc>();
      child->SetAttribute("MaxSize", ns3::StringValue(max_size));
      auto cls = ns3::CreateObject<ns3::QueueDiscClass>();
      cls->SetQueueDisc(child);
      qd_->AddQueueDiscClass(cls);
    }
    qd_->SetSendCallback([this](ns3::Ptr<ns3::QueueDiscItem> item) { record_sent(*item); });
    qd_->SetQuota(1u << 30);  // Run() dequeues until the qdisc has nothing to give
    qd_->TraceConnectWithoutContext(
        "Drop", ns3::MakeCallback(&Ns3Player::on_drop, this));
    qd_->Initialize();
  }

  Trace play(const Script& script) {
    for (const Op& op : script) {
      ns3::Simulator::Schedule(ns3::NanoSeconds(op.time_ns), [this, &op] { apply(op); });
    }
    if (stop_ns_ != 0) ns3::Simulator::Stop(ns3::NanoSeconds(stop_ns_));
    ns3::Simulator::Run();
    const ns3::QueueDisc::Stats& s = qd_->GetStats();
    trace_.totals = Totals{s.nTotalReceivedPackets, s.nTotalSentPackets, s.nTotalSentBytes,
                           s.nTotalDroppedPackets, qd_->GetNPackets(), qd_->GetNBytes()};
    qd_->Dispose();
    qd_ = nullptr;
    ns3::Simulator::Destroy();
    return std::move(trace_);
  }

 private:
  uint64_t now_ns() const { return static_cast<uint64_t>(ns3::Simulator::Now().GetNanoSeconds()); }

  void apply(const Op& op) {
    switch (op.kind) {
      case Op::Kind::Enqueue: {
        ns3::Ptr<ns3::Ipv4QueueDiscItem> item = make_item(op.pkt);
        uint64_t uid = item->GetPacket()->GetUid();
        ids_[uid] = op.pkt.id;
        bool ok = qd_->Enqueue(item);
        // FqCoDel returns true even when the drop it did to make room took this very packet.
        bool kept = ok && !dropped_.contains(uid);
        trace_.events.push_back({kept ? Event::Kind::Accepted : Event::Kind::Dropped, now_ns(), op.pkt.id, false});
        break;
      }
      case Op::Kind::Dequeue: {
        ns3::Ptr<ns3::QueueDiscItem> item = qd_->Dequeue();
        if (item)
          record_sent(*item);
        else
          trace_.events.push_back({Event::Kind::Empty, now_ns(), 0, false});
        break;
      }
      case Op::Kind::Run:
        qd_->Run();
        break;
    }
  }

  void record_sent(const ns3::QueueDiscItem& item) {
    trace_.events.push_back({Event::Kind::Sent, now_ns(), ids_.at(item.GetPacket()->GetUid()), carries_ce(item)});
  }

  void on_drop(ns3::Ptr<const ns3::QueueDiscItem> item) { dropped_.insert(item->GetPacket()->GetUid()); }

  uint64_t stop_ns_ = 0;
  ns3::Ptr<ns3::QueueDisc> qd_;
  std::unordered_map<uint64_t, uint32_t> ids_;  // ns-3 packet uid -> script id
  std::unordered_set<uint64_t> dropped_;       // uids of dropped packets
  Trace trace_;
};

}  // namespace

Trace play_ns3(const Ns3QdiscSpec& spec, const Script& script) {
  Ns3Player player(spec);
  return player.play(script);
}

uint32_t ns3_flow_hash(const PacketSpec& pkt, uint32_t perturbation) {
  return make_item(pkt)->Hash(perturbation);
}

}  // namespace bpfq::ns3diff
