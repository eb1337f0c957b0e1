#pragma once
// ns3::BpfQueueDisc: a bpfq qdisc (an eBPF program, or a whole tc tree of them) as an ns-3
// QueueDisc, with ns-3's simulated time as the programs' clock.
//
//   TrafficControlHelper tch;
//   tch.SetRootQueueDisc("ns3::BpfQueueDisc",
//                        "Program", StringValue("fq_codel"),          // or "my_qdisc.bpf.o"
//                        "Parameters", StringValue("target 5ms ecn"));
//   tch.Install(bottleneckDevice);
//
// Program is a .bpf.o path, a library program's name or any qdisc kind bpfq knows, with
// Parameters as on bpfq's command line; Setup instead names a tc batch file (classes, filters,
// child qdiscs; docs/cli.md) whose tree for Device is used. Every packet a program drops reaches
// ns-3 as DropBeforeEnqueue (the offered packet) or DropAfterDequeue (a packet it had queued)
// with the reason "bpfq: <reason>" (queue_full, congestion, program_fault, ...); an ECN mark a
// program sets reaches ns-3 as Mark(item, "bpfq: ce_mark"). docs/ns3.md.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ns3/queue-disc.h>

namespace ns3 {

class BpfQueueDisc : public QueueDisc {
 public:
  static TypeId GetTypeId();
  BpfQueueDisc();
  ~BpfQueueDisc() override;

  // Reasons of the drops the adapter itself makes, before the program sees the packet.
  static constexpr const char* POOL_EXHAUSTED_DROP = "bpfq: pool_exhausted";
  static constexpr const char* TOO_LARGE_DROP = "bpfq: too_large";
  static constexpr const char* CE_MARK = "bpfq: ce_mark";

  // A map of a program in the tree, by map name; handle picks the qdisc ("1:", "10:"), empty:
  // the root. Raw bytes, as `bpftool map dump` shows them. Empty if there is no such map.
  struct MapEntry {
    std::vector<uint8_t> key;
    std::vector<uint8_t> value;
  };
  std::vector<MapEntry> DumpMap(const std::string& map, const std::string& handle = "") const;
  // One value; false if the map or the key is absent or the sizes differ from the map's.
  bool LookupMap(const std::string& map, const void* key, std::size_t key_size, void* value,
                 std::size_t value_size, const std::string& handle = "") const;
  template <class Key, class Value>
  std::optional<Value> Lookup(const std::string& map, const Key& key, const std::string& handle = "") const {
    Value value{};
    if (!LookupMap(map, &key, sizeof key, &value, sizeof value, handle)) return std::nullopt;
    return value;
  }

  // The tree as `tc -s qdisc show` prints it (bpfq's own counters, drop reasons included).
  std::string ShowStats() const;
  // Program runs that faulted (each one's packet dropped with "bpfq: program_fault" and the run
  // going on), and the last fault's text with its source line; over the whole tree.
  uint64_t GetProgramFaults() const;
  std::string GetLastFault() const;
  // enqueued == sent + dropped + queued for every qdisc of the tree (bpfq's side).
  bool Conserved() const;

 protected:
  void DoDispose() override;

 private:
  bool DoEnqueue(Ptr<QueueDiscItem> item) override;
  Ptr<QueueDiscItem> DoDequeue() override;
  Ptr<const QueueDiscItem> DoPeek() override;
  bool CheckConfig() override;
  void InitializeParams() override;

  class Impl;
  friend class Impl;
  std::unique_ptr<Impl> m_impl;

  std::string m_program;
  std::string m_parameters;
  std::string m_setup;
  std::string m_device;
  uint64_t m_seed = 0;
  uint32_t m_poolPackets = 0;
  uint32_t m_maxFrameSize = 0;
  bool m_unverified = false;
};

// A program that names the queue disc only by string ("ns3::BpfQueueDisc") references nothing
// of libbpfq-ns3.so, and linkers with --as-needed (Debian's default) would drop the library and
// with it the TypeId's registration; this reference from every includer keeps both.
namespace {
[[maybe_unused]] const TypeId kBpfQueueDiscTypeId = BpfQueueDisc::GetTypeId();
}  // namespace

}  // namespace ns3
