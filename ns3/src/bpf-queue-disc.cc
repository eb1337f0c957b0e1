#include <bpfq/ns3/bpf-queue-disc.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <list>

#include <ns3/boolean.h>
#include <ns3/ipv4-queue-disc-item.h>
#include <ns3/ipv6-queue-disc-item.h>
#include <ns3/log.h>
#include <ns3/mac48-address.h>
#include <ns3/queue.h>
#include <ns3/rng-seed-manager.h>
#include <ns3/simulator.h>
#include <ns3/socket.h>
#include <ns3/string.h>
#include <ns3/uinteger.h>

#include <bpfq/error.hpp>
#include <bpfq/maps/map.hpp>
#include <bpfq/runtime/clock.hpp>
#include <bpfq/sched/bpf_qdisc.hpp>
#include <bpfq/sched/ecn.hpp>
#include <bpfq/sched/packet_pool.hpp>
#include <bpfq/sched/watchdog.hpp>
#include <bpfq/tc/built_setup.hpp>
#include <bpfq/tc/qdisc_spec.hpp>
#include <bpfq/tc/setup_plan.hpp>
#include <bpfq/tc/setup_show.hpp>

namespace ns3 {

NS_LOG_COMPONENT_DEFINE("BpfQueueDisc");
NS_OBJECT_ENSURE_REGISTERED(BpfQueueDisc);

namespace {

namespace sched = bpfq::sched;
namespace tc = bpfq::tc;

constexpr uint32_t kEthHeader = 14;

// The programs' clock: ns-3's simulated time, latched at each operation (which happens at one
// simulated instant) so that programs read it in place.
class SimulatorClock final : public bpfq::runtime::LatchedClock {
 protected:
  uint64_t read_ns() const override { return static_cast<uint64_t>(Simulator::Now().GetNanoSeconds()); }
};

// "bpfq: queue_full", ...: the reason strings ns-3's statistics and traces see, one per
// DropReason, alive as long as the process (ns-3 keeps the const char* of a trace).
const char* drop_reason_text(sched::DropReason reason) {
  static const auto texts = [] {
    std::array<std::string, static_cast<size_t>(sched::DropReason::Count)> t;
    for (size_t i = 0; i < t.size(); ++i)
      t[i] = "bpfq: " + std::string(sched::drop_reason_name(static_cast<sched::DropReason>(i)));
    return t;
  }();
  const auto i = static_cast<size_t>(reason);
  return i < texts.size() ? texts[i].c_str() : "bpfq: unknown";
}

// The queue disc's one internal queue: the items whose packets the programs hold, in the order
// they came. It orders nothing (the programs do); it exists so that ns-3 counts what enters and
// leaves the queue disc through its own Enqueue/Dequeue traces, as for every ns-3 queue disc.
class ItemLedger : public Queue<QueueDiscItem> {
 public:
  using Position = Queue<QueueDiscItem>::ConstIterator;

  static TypeId GetTypeId() {
    static TypeId tid = TypeId("ns3::BpfQueueDiscItemLedger")
                            .SetParent<Queue<QueueDiscItem>>()
                            .SetGroupName("TrafficControl")
                            .AddConstructor<ItemLedger>();
    return tid;
  }

  Position Add(Ptr<QueueDiscItem> item) {
    Queue<QueueDiscItem>::Iterator at;
    const bool added = DoEnqueue(GetContainer().end(), item, at);
    NS_ASSERT_MSG(added, "the ledger holds as many items as the packet pool");
    return at;
  }
  Ptr<QueueDiscItem> Take(Position at) { return DoDequeue(at); }

  // The queue interface is the ledger's owner's: nothing else enqueues or dequeues here.
  bool Enqueue(Ptr<QueueDiscItem>) override { NS_FATAL_ERROR("the BpfQueueDisc ledger is not a queue"); }
  Ptr<QueueDiscItem> Dequeue() override { NS_FATAL_ERROR("the BpfQueueDisc ledger is not a queue"); }
  Ptr<QueueDiscItem> Remove() override { NS_FATAL_ERROR("the BpfQueueDisc ledger is not a queue"); }
  Ptr<const QueueDiscItem> Peek() const override { return nullptr; }
};

NS_OBJECT_ENSURE_REGISTERED(ItemLedger);

// Writes the frame a Linux qdisc would see for item: Ethernet, the item's IP header (ns-3 keeps
// it apart until the device takes the packet), then the packet. False if it does not fit.
bool write_frame(sched::Packet& pkt, const QueueDiscItem& item) {
  Buffer l3;
  if (const auto* v4 = dynamic_cast<const Ipv4QueueDiscItem*>(&item)) {
    l3.AddAtStart(v4->GetHeader().GetSerializedSize());
    v4->GetHeader().Serialize(l3.Begin());
  } else if (const auto* v6 = dynamic_cast<const Ipv6QueueDiscItem*>(&item)) {
    l3.AddAtStart(v6->GetHeader().GetSerializedSize());
    v6->GetHeader().Serialize(l3.Begin());
  }
  const Ptr<Packet> payload = item.GetPacket();
  const uint64_t len = uint64_t{kEthHeader} + l3.GetSize() + payload->GetSize();
  if (len > pkt.max_len()) return false;

  uint8_t* out = pkt.data();
  std::memset(out, 0, 12);
  if (Mac48Address::IsMatchingType(item.GetAddress())) Mac48Address::ConvertFrom(item.GetAddress()).CopyTo(out);
  out[6] = 0x02;  // a locally administered source: ns-3 gives the queue disc none
  out[12] = static_cast<uint8_t>(item.GetProtocol() >> 8);
  out[13] = static_cast<uint8_t>(item.GetProtocol());
  l3.CopyData(out + kEthHeader, l3.GetSize());
  payload->CopyData(out + kEthHeader + l3.GetSize(), payload->GetSize());
  return pkt.frame_written(static_cast<uint32_t>(len));
}

}  // namespace

// The bpfq side: the tree built from the attributes, its packet pool, and the table that ties
// each bpfq packet (by its pool slot) to the ns-3 item it stands for.
class BpfQueueDisc::Impl final : public sched::DropListener, public sched::Timer {
 public:
  Impl(BpfQueueDisc& owner, const BpfQueueDisc& cfg)
      : owner_(owner),
        pool_(sched::PacketPoolConfig{cfg.m_poolPackets, cfg.m_maxFrameSize}),
        watchdog_(clock_, *this),
        slots_(pool_.capacity()) {
    plan_.set_verification(cfg.m_unverified ? bpfq::runtime::Verification::RunUnverifiedChecked
                                            : bpfq::runtime::Verification::Enforce);
    if (!cfg.m_setup.empty()) {
      if (!cfg.m_program.empty())
        throw bpfq::Error("both Program and Setup are set", "ns3::BpfQueueDisc",
                          "give the program in the Setup file, or drop Setup");
      for (tc::TcLine& line : tc::read_batch_file(cfg.m_setup)) plan_.apply(line);
      dev_ = pick_device(cfg.m_device);
    } else {
      if (cfg.m_program.empty())
        throw bpfq::Error("no Program and no Setup", "ns3::BpfQueueDisc",
                          "set Program to a .bpf.o file or a library name such as \"fq_codel\"");
      std::string spec = cfg.m_program;  // a FILE.o, a library name or a kind, as `bpfq sim -q`
      if (!cfg.m_parameters.empty()) spec += " " + cfg.m_parameters;
      dev_ = cfg.m_device.empty() ? "eth0" : cfg.m_device;
      plan_.add_root(dev_, tc::parse_qdisc_spec(spec));
    }
    uint64_t seed = cfg.m_seed;
    if (seed == 0) seed = (uint64_t{RngSeedManager::GetSeed()} << 32) ^ RngSeedManager::GetRun();
    built_ = std::make_unique<tc::BuiltSetup>(plan_, clock_, pool_, std::string{}, 0, seed);
    device_ = &built_->device(dev_);
    if (!device_->root())
      throw bpfq::Error("device " + dev_ + " has no root qdisc", cfg.m_setup,
                        "add `qdisc add dev " + dev_ + " root ...` to the setup");
    device_->set_watchdog(&watchdog_);
    pool_.set_drop_listener(this);
  }

  ~Impl() override {
    disposing_ = true;
    cancel();
    device_->set_watchdog(nullptr);
    built_.reset();  // releases what the programs still hold, before the pool goes
  }

  void set_ledger(Ptr<ItemLedger> ledger) {
    ledger_ = ledger;
    ledger_->SetMaxSize(QueueSize(QueueSizeUnit::PACKETS, pool_.capacity()));
  }

  bool enqueue(Ptr<QueueDiscItem> item) {
    sched::Packet* pkt = pool_.alloc();
    if (!pkt) {
      owner_.DropBeforeEnqueue(item, POOL_EXHAUSTED_DROP);
      return false;
    }
    if (!write_frame(*pkt, *item)) {
      sched::PacketPool::release(pkt);
      owner_.DropBeforeEnqueue(item, TOO_LARGE_DROP);
      return false;
    }
    SocketPriorityTag priority;
    if (item->GetPacket()->PeekPacketTag(priority)) pkt->skb.priority = priority.GetPriority();
    const uint64_t now = clock_.now_ns();
    pkt->created_ns = now;
    const uint32_t index = pool_.index_of(pkt);
    slots_[index] = Slot{item, {}, false, static_cast<uint8_t>(sched::ecn_codepoint(pkt->bytes()))};

    const sched::EnqueueResult result = device_->transmit(pkt, now);  // takes our reference
    settle_drops(index);
    Slot& slot = slots_[index];
    if (!slot.item) return false;  // dropped, and reported by settle_drops
    if (pkt->refcount == 0) {      // freed on a path that told nobody: still counted
      owner_.DropBeforeEnqueue(std::exchange(slot.item, nullptr), drop_reason_text(result.reason));
      return false;
    }
    slot.position = ledger_->Add(slot.item);
    slot.in_ledger = true;
    return true;
  }

  Ptr<QueueDiscItem> dequeue() {
    // A packet that is not (or no longer) one of ours is skipped; each try takes one out.
    for (uint32_t tries = device_->root()->qlen() + 1; tries-- > 0;) {
      const uint64_t now = clock_.now_ns();
      const sched::DequeueResult r = device_->dequeue(now);
      settle_drops(kNoOffered);
      if (r.kind == sched::DequeueResult::Kind::Throttled) watchdog_.schedule(r.throttled_until_ns);
      if (r.kind != sched::DequeueResult::Kind::Packet) return nullptr;
      Ptr<QueueDiscItem> item = hand_out(r.packet);
      if (item) return item;
    }
    return nullptr;
  }

  Ptr<const QueueDiscItem> peek() {
    const sched::Packet* pkt = device_->root()->peek(clock_.now_ns());
    settle_drops(kNoOffered);
    if (!pkt) return nullptr;
    return slots_[pool_.index_of(pkt)].item;
  }

  // ---- sched::DropListener: which packets a qdisc dropped, during an operation ----
  void on_drop(sched::Packet& pkt, sched::DropReason reason) override {
    if (!disposing_) dropped_.push_back({pool_.index_of(&pkt), reason});
  }

  // ---- sched::Timer: the watchdog's wake-up, as an ns-3 event that runs the queue disc ----
  void arm(uint64_t at_ns) override {
    Simulator::Cancel(timer_);
    const uint64_t now = clock_.now_ns();
    timer_ = Simulator::Schedule(NanoSeconds(static_cast<int64_t>(at_ns > now ? at_ns - now : 0)),
                                 &Impl::on_timer, this);
  }
  void cancel() override { Simulator::Cancel(timer_); }

  tc::BuiltSetup& built() const { return *built_; }
  const std::string& dev() const { return dev_; }

 private:
  static constexpr uint32_t kNoOffered = UINT32_MAX;

  struct Slot {
    Ptr<QueueDiscItem> item;  // null: the packet stands for no item (free, or reported)
    ItemLedger::Position position;
    bool in_ledger = false;
    uint8_t ecn = 0;  // the codepoint when it came, to tell a mark the program set
  };
  struct Drop {
    uint32_t slot;
    sched::DropReason reason;
  };

  void on_timer() {
    if (watchdog_.fire()) owner_.Run();
  }

  // Reports to ns-3 what the last operation dropped: the offered packet before it was enqueued,
  // any other after it had been (ns-3 counts it dequeued, then dropped).
  void settle_drops(uint32_t offered) {
    for (const Drop& d : dropped_) {
      Slot& slot = slots_[d.slot];
      if (!slot.item) continue;
      Ptr<QueueDiscItem> item = std::exchange(slot.item, nullptr);
      if (!slot.in_ledger) {
        NS_ASSERT(d.slot == offered);
        owner_.DropBeforeEnqueue(item, drop_reason_text(d.reason));
        continue;
      }
      ledger_->Take(slot.position);
      slot.in_ledger = false;
      owner_.DropAfterDequeue(item, drop_reason_text(d.reason));
    }
    dropped_.clear();
  }

  // The item a dequeued packet stands for, out of the ledger, with the program's ECN mark.
  Ptr<QueueDiscItem> hand_out(sched::Packet* pkt) {
    Slot& slot = slots_[pool_.index_of(pkt)];
    Ptr<QueueDiscItem> item = std::exchange(slot.item, nullptr);
    const bool marked = sched::ecn_codepoint(pkt->bytes()) == 3 && slot.ecn != 3;
    sched::PacketPool::release(pkt);
    if (!item) return nullptr;
    ledger_->Take(slot.position);
    slot.in_ledger = false;
    if (marked) owner_.Mark(item, CE_MARK);
    return item;
  }

  std::string pick_device(const std::string& wanted) const {
    if (!wanted.empty()) return wanted;
    if (plan_.links().size() == 1) return plan_.links().front().name;
    throw bpfq::Error("the setup has " + std::to_string(plan_.links().size()) + " devices (" +
                          plan_.link_names() + ")",
                      "ns3::BpfQueueDisc", "set the Device attribute to the one this queue disc is");
  }

  BpfQueueDisc& owner_;
  SimulatorClock clock_;
  sched::PacketPool pool_;
  tc::SetupPlan plan_;
  std::string dev_;
  std::unique_ptr<tc::BuiltSetup> built_;
  sched::Device* device_ = nullptr;
  sched::Watchdog watchdog_;
  EventId timer_;
  Ptr<ItemLedger> ledger_;
  std::vector<Slot> slots_;   // by pool slot
  std::vector<Drop> dropped_; // told by the pool during the current operation
  bool disposing_ = false;
};

TypeId BpfQueueDisc::GetTypeId() {
  static TypeId tid =
      TypeId("ns3::BpfQueueDisc")
          .SetParent<QueueDisc>()
          .SetGroupName("TrafficControl")
          .AddConstructor<BpfQueueDisc>()
          .AddAttribute("Program", "The qdisc program: a .bpf.o path, a library program's name "
                        "(fq_codel, tbf, ...) or any qdisc kind bpfq knows",
                        StringValue(""), MakeStringAccessor(&BpfQueueDisc::m_program), MakeStringChecker())
          .AddAttribute("Parameters", "The program's parameters as on bpfq's command line, "
                        "e.g. \"target 5ms limit 1000\"",
                        StringValue(""), MakeStringAccessor(&BpfQueueDisc::m_parameters), MakeStringChecker())
          .AddAttribute("Setup", "A tc batch file (bpfq's syntax) with a whole tree: classes, "
                        "filters, child qdiscs. Instead of Program",
                        StringValue(""), MakeStringAccessor(&BpfQueueDisc::m_setup), MakeStringChecker())
          .AddAttribute("Device", "The device of the Setup whose tree this is (default: the only one)",
                        StringValue(""), MakeStringAccessor(&BpfQueueDisc::m_device), MakeStringChecker())
          .AddAttribute("Seed", "Seed of the programs' bpf_get_prandom_u32 streams; 0: from ns-3's "
                        "RngSeedManager seed and run",
                        UintegerValue(0), MakeUintegerAccessor(&BpfQueueDisc::m_seed),
                        MakeUintegerChecker<uint64_t>())
          .AddAttribute("PoolPackets", "Packets the queue disc can hold at once (bpfq's packet pool)",
                        UintegerValue(16384), MakeUintegerAccessor(&BpfQueueDisc::m_poolPackets),
                        MakeUintegerChecker<uint32_t>(1))
          .AddAttribute("MaxFrameSize", "The largest frame (Ethernet + IP + payload) in bytes; a "
                        "larger packet is dropped with \"bpfq: too_large\"",
                        UintegerValue(2048), MakeUintegerAccessor(&BpfQueueDisc::m_maxFrameSize),
                        MakeUintegerChecker<uint32_t>(64))
          .AddAttribute("Unverified", "Run a program the verifier refuses, checked at run time "
                        "(faults are counted and the packet dropped)",
                        BooleanValue(false), MakeBooleanAccessor(&BpfQueueDisc::m_unverified),
                        MakeBooleanChecker());
  return tid;
}

BpfQueueDisc::BpfQueueDisc() : QueueDisc(QueueDiscSizePolicy::MULTIPLE_QUEUES) {}
BpfQueueDisc::~BpfQueueDisc() = default;

void BpfQueueDisc::DoDispose() {
  m_impl.reset();
  QueueDisc::DoDispose();
}

// A configuration bpfq refuses ends the simulation with a `bpfq: error:` line and exit status
// 1: QueueDisc::DoInitialize only asserts CheckConfig (compiled out in ns-3's release builds),
// and a queue disc without its programs cannot carry a packet.
[[noreturn]] static void refuse(const std::string& what, const std::string& hint) {
  std::cerr << "bpfq: error: ns3::BpfQueueDisc: " << what;
  if (!hint.empty()) std::cerr << " (hint: " << hint << ")";
  std::cerr << std::endl;
  std::exit(1);
}

bool BpfQueueDisc::CheckConfig() {
  if (GetNQueueDiscClasses() > 0)
    refuse("ns-3 queue disc classes were added", "classes and their qdiscs come from the program or the Setup file");
  if (GetNPacketFilters() > 0) refuse("ns-3 packet filters were added", "write filters in the Setup file");
  if (GetNInternalQueues() > 0) refuse("internal queues were added", "the programs keep the packets; add none");
  try {
    m_impl = std::make_unique<Impl>(*this, *this);
  } catch (const std::exception& e) {
    refuse(e.what(), "");
  }
  Ptr<ItemLedger> ledger = CreateObject<ItemLedger>();
  m_impl->set_ledger(ledger);
  AddInternalQueue(ledger);
  return true;
}

void BpfQueueDisc::InitializeParams() {}

bool BpfQueueDisc::DoEnqueue(Ptr<QueueDiscItem> item) {
  if (!m_impl) refuse("a packet was enqueued before Initialize()", "install the queue disc with TrafficControlHelper, or call Initialize()");
  return m_impl->enqueue(item);
}
Ptr<QueueDiscItem> BpfQueueDisc::DoDequeue() { return m_impl->dequeue(); }
Ptr<const QueueDiscItem> BpfQueueDisc::DoPeek() { return m_impl->peek(); }

namespace {

// The qdisc at handle ("1:"; empty: the root) of the tree, or nullptr.
sched::Qdisc* qdisc_at(tc::BuiltSetup& built, const std::string& dev, const std::string& handle) {
  if (handle.empty()) return built.device(dev).root();
  try {
    return built.find_qdisc(dev, sched::Handle::parse(handle));
  } catch (const bpfq::Error&) {
    return nullptr;
  }
}

bpfq::maps::Map* map_of(tc::BuiltSetup& built, const std::string& dev, const std::string& handle,
                        const std::string& name) {
  auto* bpf = dynamic_cast<sched::BpfQdisc*>(qdisc_at(built, dev, handle));
  if (!bpf) return nullptr;
  try {
    return &bpf->object().map(name);
  } catch (const bpfq::Error&) {
    return nullptr;
  }
}

}  // namespace

std::vector<BpfQueueDisc::MapEntry> BpfQueueDisc::DumpMap(const std::string& map, const std::string& handle) const {
  std::vector<MapEntry> entries;
  if (!m_impl) return entries;
  bpfq::maps::Map* m = map_of(m_impl->built(), m_impl->dev(), handle, map);
  if (!m) return entries;
  const uint32_t key_size = m->spec().key_size, value_size = m->spec().value_size;
  std::vector<uint8_t> key(key_size), next(key_size);
  const void* prev = nullptr;
  while (m->get_next_key(prev, next.data()) == 0) {
    MapEntry e{next, std::vector<uint8_t>(value_size)};
    if (m->lookup_copy(next.data(), e.value.data()) == 0) entries.push_back(std::move(e));
    key = next;
    prev = key.data();
  }
  return entries;
}

bool BpfQueueDisc::LookupMap(const std::string& map, const void* key, std::size_t key_size, void* value,
                             std::size_t value_size, const std::string& handle) const {
  if (!m_impl) return false;
  bpfq::maps::Map* m = map_of(m_impl->built(), m_impl->dev(), handle, map);
  if (!m || m->spec().key_size != key_size || m->spec().value_size != value_size) return false;
  return m->lookup_copy(key, value) == 0;
}

std::string BpfQueueDisc::ShowStats() const {
  if (!m_impl) return {};
  tc::ShowCommand cmd{tc::ShowCommand::What::Qdisc, m_impl->dev()};
  return tc::show_text(m_impl->built().snapshot(), cmd, /*stats=*/true);
}

uint64_t BpfQueueDisc::GetProgramFaults() const {
  uint64_t faults = 0;
  if (m_impl)
    for (const tc::QdiscRow& q : m_impl->built().snapshot().qdiscs) faults += q.program_faults.value_or(0);
  return faults;
}

std::string BpfQueueDisc::GetLastFault() const {
  std::string last;
  if (m_impl)
    for (const tc::QdiscRow& q : m_impl->built().snapshot().qdiscs)
      if (!q.last_fault.empty()) last = q.last_fault;
  return last;
}

bool BpfQueueDisc::Conserved() const {
  if (!m_impl) return true;
  for (const tc::QdiscRow& q : m_impl->built().snapshot().qdiscs)
    if (!q.stats.conserved()) return false;
  return true;
}

}  // namespace ns3
