// Map sharing between objects (LIBBPF_PIN_BY_NAME + runtime::PinnedMaps), and the seed's EDT use
// case built on it: a clsact program stamps departure times from a map it shares with the qdisc,
// which releases packets at those times (THROTTLE until then) and gives back the time of the
// packets it drops.
#include <gtest/gtest.h>

#include <bpfq/error.hpp>
#include <bpfq/sched/bpf_filter.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/runtime/object.hpp>

#include "engine_test_util.hpp"

namespace bpfq::sched::test {
namespace {

runtime::ObjectOptions with_pins(runtime::PinnedMaps* pins) {
  runtime::ObjectOptions o;
  o.pins = pins;
  return o;
}

// How BpfQdisc opens its objects, plus a pin registry.
runtime::ObjectOptions qdisc_options(runtime::PinnedMaps* pins) {
  runtime::ObjectOptions o;
  o.helpers = &qdisc_helpers();
  o.kptr_dtor = [](void* pkt) { BpfQdisc::release_reference(static_cast<Packet*>(pkt), DropReason::ReleasedByMap); };
  o.pins = pins;
  return o;
}

uint64_t read_u64(maps::Map& m, uint32_t key) {
  uint64_t v = 0;
  EXPECT_EQ(m.lookup_copy(&key, &v), 0);
  return v;
}

std::string open_error(const std::string& path, const runtime::ObjectOptions& opts) {
  try {
    runtime::Object::open(path, opts);
  } catch (const Error& e) {
    return e.what();
  }
  return "(opened)";
}

TEST(PinnedMapsLoader, PinByNameIsReadFromTheMapDefinition) {
  EXPECT_EQ(loader::load_object(test_object("engine_edt_clsact")).pinned_by_name, std::vector<std::string>{"edt_next_send"});
  const loader::ObjectSpec mismatch = loader::load_object(test_object("engine_pin_mismatch"));
  EXPECT_EQ(mismatch.pinned_by_name, std::vector<std::string>{"edt_next_send"});
  EXPECT_TRUE(mismatch.is_pinned_by_name("edt_next_send"));
  EXPECT_FALSE(mismatch.is_pinned_by_name("private_counter"));
  EXPECT_TRUE(loader::load_object(test_object("engine_strict_prio")).pinned_by_name.empty());
  const std::string bad = test_object("engine_bad_pinning");
  try {
    loader::load_object(bad);
    FAIL() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), bad + " section .maps: map 'odd_pin' has pinning 2 (hint: use LIBBPF_PIN_NONE (0) or LIBBPF_PIN_BY_NAME (1))");
  }
}

TEST(PinnedMaps, ObjectsOpenedWithOneRegistryShareThePinnedMapOnly) {
  runtime::PinnedMaps pins;
  const std::string cls_path = test_object("engine_edt_clsact");
  runtime::Object cls = runtime::Object::open(cls_path, with_pins(&pins));
  runtime::Object qdisc = runtime::Object::open(test_object("engine_edt"), qdisc_options(&pins));
  EXPECT_EQ(&cls.map("edt_next_send"), &qdisc.map("edt_next_send"));
  EXPECT_EQ(pins.names(), std::vector<std::string>{"edt_next_send"});
  EXPECT_EQ(pins.pinned_by("edt_next_send"), cls_path);
  EXPECT_EQ(pins.find("edt_next_send").get(), &cls.map("edt_next_send"));
  // Global data is never shared: each object has its own `rate`.
  cls.set_global("rate", uint64_t{5});
  EXPECT_EQ(qdisc.get_global<uint64_t>("rate"), 1000000u);
  // A write through one object is seen through the other.
  const uint32_t flow = 2;
  const uint64_t t = 123456;
  ASSERT_EQ(qdisc.map("edt_next_send").update(&flow, &t, 0), 0);
  EXPECT_EQ(read_u64(cls.map("edt_next_send"), flow), t);
  // The pin outlives the objects (as a bpffs pin does): a later object finds the value.
  { runtime::Object gone = std::move(cls); }
  runtime::Object later = runtime::Object::open(cls_path, with_pins(&pins));
  EXPECT_EQ(read_u64(later.map("edt_next_send"), flow), t);
  // Once unpinned, the next object gets a fresh map.
  EXPECT_TRUE(pins.unpin("edt_next_send"));
  EXPECT_FALSE(pins.unpin("edt_next_send"));
  runtime::Object fresh = runtime::Object::open(cls_path, with_pins(&pins));
  EXPECT_NE(&fresh.map("edt_next_send"), &later.map("edt_next_send"));
  EXPECT_EQ(read_u64(fresh.map("edt_next_send"), flow), 0u);
}

TEST(PinnedMaps, WithoutARegistryEveryObjectHasItsOwnMaps) {
  runtime::Object a = runtime::Object::open(test_object("engine_edt_clsact"));
  runtime::Object b = runtime::Object::open(test_object("engine_edt_clsact"));
  EXPECT_NE(&a.map("edt_next_send"), &b.map("edt_next_send"));
}

TEST(PinnedMaps, AMismatchedDefinitionFailsNamingBothObjects) {
  runtime::PinnedMaps pins;
  const std::string cls_path = test_object("engine_edt_clsact");
  const std::string other = test_object("engine_pin_mismatch");
  runtime::Object cls = runtime::Object::open(cls_path, with_pins(&pins));
  EXPECT_EQ(open_error(other, with_pins(&pins)),
            other + ": map 'edt_next_send' (LIBBPF_PIN_BY_NAME) does not match the map of that name pinned by " +
                cls_path +
                ": value_size 4 here, 8 there (hint: objects sharing a map by name must declare it alike (type, key, "
                "value, max_entries, flags), or give it another name)");
  EXPECT_EQ(pins.size(), 1u);
  // Under another registry it opens, with maps of its own.
  runtime::PinnedMaps elsewhere;
  runtime::Object ok = runtime::Object::open(other, with_pins(&elsewhere));
  EXPECT_NE(&ok.map("edt_next_send"), &cls.map("edt_next_send"));
}

TEST(PinnedMaps, AnObjectThatFailsToOpenPinsNothing) {
  runtime::PinnedMaps pins;
  // The qdisc object needs the qdisc kfuncs: with the standard helpers it fails to link, after
  // its maps were created.
  EXPECT_NE(open_error(test_object("engine_edt"), with_pins(&pins)), "(opened)");
  EXPECT_EQ(pins.size(), 0u);
}

// ---- EDT pacing: clsact + qdisc, two objects, one shared map ----

class EdtPacing : public ::testing::Test, public EngineFixture {
 protected:
  static constexpr uint64_t kT0 = 1'000'000;   // the fixture clock's start
  static constexpr uint64_t kWire = 1'000'000;  // 1000 bytes at 1000000 B/s (8 Mbit/s)

  runtime::PinnedMaps pins;
  TcProgram clsact = TcProgram::open(test_object("engine_edt_clsact"), "tc", &pins);
  std::unique_ptr<BpfQdisc> q = [this] {
    BpfQdiscEnv with_pins = env;
    with_pins.pins = &pins;
    return BpfQdisc::open(test_object("engine_edt"), Handle::make(1, 0), with_pins);
  }();

  // What a device does: the clsact egress program, then the root qdisc.
  EnqueueResult transmit(uint32_t flow, uint32_t n) {
    Packet* pkt = packet(1000, flow << 16 | n);
    clsact.set_env({&clock, nullptr, &trace});
    int32_t action = -1;
    EXPECT_TRUE(clsact.run(*pkt, action));
    EXPECT_EQ(action, 0);  // TC_ACT_OK
    return q->enqueue(pkt, clock.now_ns());
  }

  struct Release {
    uint32_t mark;
    uint64_t at_ns;
    bool operator==(const Release&) const = default;
  };

  // Dequeues until empty, sleeping (the virtual clock) until each THROTTLE's time, as the
  // datapath's timer would; returns what left when.
  std::vector<Release> release_all(size_t max = 100) {
    std::vector<Release> out;
    for (size_t step = 0; step < 4 * max; ++step) {
      const DequeueResult r = q->dequeue(clock.now_ns());
      EXPECT_TRUE(q->stats().conserved());
      if (r.kind == DequeueResult::Kind::Packet) {
        EXPECT_LE(r.packet->skb.tstamp, clock.now_ns());  // never before its departure
        out.push_back({r.packet->skb.mark, clock.now_ns()});
        PacketPool::release(r.packet);
        if (out.size() == max) break;
      } else if (r.kind == DequeueResult::Kind::Throttled) {
        EXPECT_GT(r.throttled_until_ns, clock.now_ns());
        EXPECT_EQ(q->watchdog_ns(), r.throttled_until_ns);
        clock.set(r.throttled_until_ns);
      } else {
        break;
      }
    }
    return out;
  }

  uint64_t next_send(uint32_t flow) { return read_u64(clsact.object().map("edt_next_send"), flow); }
};

TEST_F(EdtPacing, PacketsLeaveAtTheirDepartureTimesPerFlow) {
  for (uint32_t n = 1; n <= 3; ++n) EXPECT_EQ(transmit(1, n).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(transmit(2, 1).verdict, EnqueueVerdict::Queued);
  EXPECT_EQ(next_send(1), kT0 + 3 * kWire);
  EXPECT_EQ(next_send(2), kT0 + kWire);
  EXPECT_EQ(q->qlen(), 4u);
  const std::vector<Release> expected{
      {0x10001, kT0}, {0x20001, kT0}, {0x10002, kT0 + kWire}, {0x10003, kT0 + 2 * kWire}};
  EXPECT_EQ(release_all(), expected);
  EXPECT_EQ(q->stats().overlimits, 2u);  // two THROTTLEs: before 0x10002 and before 0x10003
  EXPECT_EQ(q->stats().sent_packets, 4u);
  EXPECT_EQ(q->stats().sent_bytes, 4000u);
  EXPECT_EQ(q->counters().leaked_refs, 0u);
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(EdtPacing, ADroppedPacketGivesItsTimeBackThroughTheSharedMap) {
  q->object().set_global("limit", uint32_t{2});
  EXPECT_EQ(transmit(1, 1).verdict, EnqueueVerdict::Queued);  // departs t0
  EXPECT_EQ(transmit(1, 2).verdict, EnqueueVerdict::Queued);  // t0 + 1 wire time
  EXPECT_EQ(next_send(1), kT0 + 2 * kWire);
  // Full: the clsact program stamped it t0 + 2 wire times, the qdisc drops it and refunds.
  EXPECT_EQ(transmit(1, 3), EnqueueResult::dropped(DropReason::ProgramVerdict));
  EXPECT_EQ(next_send(1), kT0 + 2 * kWire);
  EXPECT_EQ(q->object().get_global<uint64_t>("refunded_ns"), kWire);
  EXPECT_EQ(release_all(1), (std::vector<Release>{{0x10001, kT0}}));
  // The next packet takes the dropped one's slot instead of queueing behind a ghost.
  EXPECT_EQ(transmit(1, 4).verdict, EnqueueVerdict::Queued);
  const std::vector<Release> expected{{0x10002, kT0 + kWire}, {0x10004, kT0 + 2 * kWire}};
  EXPECT_EQ(release_all(), expected);
  EXPECT_EQ(q->stats().drops(DropReason::ProgramVerdict), 1u);
  EXPECT_TRUE(q->stats().conserved());
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST_F(EdtPacing, AQdiscResetReleasesItsPacketsButKeepsTheSharedTimes) {
  for (uint32_t n = 1; n <= 2; ++n) EXPECT_EQ(transmit(1, n).verdict, EnqueueVerdict::Queued);
  q->reset();  // the qdisc's own maps are cleared; the pinned map is the clsact program's state too
  EXPECT_EQ(q->stats().drops(DropReason::Reset), 2u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(next_send(1), kT0 + 2 * kWire);
}

TEST_F(EdtPacing, APacketDueNowIsNotThrottled) {
  EXPECT_EQ(transmit(3, 1).verdict, EnqueueVerdict::Queued);
  clock.advance(5 * kWire);  // idle for a while: the flow's next departure is in the past
  EXPECT_EQ(transmit(3, 2).verdict, EnqueueVerdict::Queued);
  const std::vector<Release> expected{{0x30001, kT0 + 5 * kWire}, {0x30002, kT0 + 5 * kWire}};
  EXPECT_EQ(release_all(), expected);
  EXPECT_EQ(q->stats().overlimits, 0u);
}

}  // namespace
}  // namespace bpfq::sched::test
