#include <bpfq/sched/packet_pool.hpp>

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/sched/fifo_qdisc.hpp>

#include "support/error_of.hpp"

namespace bpfq::sched {
namespace {

constexpr uint64_t k4GiB = uint64_t{1} << 32;

TEST(PacketPool, AllocUntilExhaustedThenNullptr) {
  PacketPool pool({.packets = 8});
  std::set<Packet*> seen;
  for (int i = 0; i < 8; ++i) {
    Packet* p = pool.alloc();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->refcount, 1u);
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 8u);
  EXPECT_EQ(pool.alloc(), nullptr);
  EXPECT_EQ(pool.alloc(), nullptr);
  EXPECT_EQ(pool.counters().allocated, 8u);
  EXPECT_EQ(pool.counters().alloc_failures, 2u);
  EXPECT_EQ(pool.counters().in_use, 8u);
  EXPECT_EQ(pool.counters().high_water, 8u);
  EXPECT_EQ(pool.available(), 0u);

  Packet* back = *seen.begin();
  PacketPool::release(back);
  EXPECT_EQ(pool.in_use(), 7u);
  EXPECT_EQ(pool.counters().freed, 1u);
  EXPECT_EQ(pool.alloc(), back);  // the freed packet is the only one left
  for (Packet* p : seen) PacketPool::release(p);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.counters().high_water, 8u);
  EXPECT_EQ(pool.counters().freed, 9u);
}

TEST(PacketPool, RefcountsReturnThePacketOnTheLastRelease) {
  PacketPool pool({.packets = 2});
  Packet* p = pool.alloc();
  EXPECT_EQ(PacketPool::acquire(p), p);
  EXPECT_EQ(p->refcount, 2u);
  PacketPool::acquire(p);
  EXPECT_EQ(p->refcount, 3u);
  PacketPool::release(p);
  PacketPool::release(p);
  EXPECT_EQ(p->refcount, 1u);
  EXPECT_EQ(pool.in_use(), 1u);
  EXPECT_EQ(pool.counters().freed, 0u);
  PacketPool::release_kptr(p);  // the map dtor path
  EXPECT_EQ(p->refcount, 0u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_EQ(pool.counters().freed, 1u);
  PacketPool::release(nullptr);  // ignored
  EXPECT_EQ(pool.counters().bad_releases, 0u);
}

TEST(PacketPool, AllocResetsMetadataAndLength) {
  PacketPool pool({.packets = 1, .data_room = 512, .headroom = 128});
  Packet* p = pool.alloc();
  ASSERT_TRUE(p->set_len(100));
  p->skb.mark = 7;
  p->skb.priority = 6;
  p->skb.cb[4] = 99;
  p->skb.hash = 1234;
  p->skb.tstamp = 5;
  p->enqueue_ns = 17;
  PacketPool::release(p);
  Packet* q = pool.alloc();
  ASSERT_EQ(q, p);
  EXPECT_EQ(q->skb.mark, 0u);
  EXPECT_EQ(q->skb.priority, 0u);
  EXPECT_EQ(q->skb.cb[4], 0u);
  EXPECT_EQ(q->skb.hash, 0u);
  EXPECT_EQ(q->skb.tstamp, 0u);
  EXPECT_EQ(q->enqueue_ns, 0u);
  EXPECT_EQ(q->len(), 0u);
  EXPECT_EQ(q->skb.data, q->skb.data_end);
  EXPECT_EQ(q->skb.data_meta, q->skb.data);
  EXPECT_EQ(q->headroom(), 128u);
  EXPECT_EQ(q->max_len(), 512u);  // 128 + 512 is a multiple of 64: no rounding slack
  EXPECT_EQ(q->next, nullptr);
  PacketPool::release(q);
}

void expect_all_below_4gib(PacketPool& pool) {
  std::vector<Packet*> all;
  while (Packet* p = pool.alloc()) all.push_back(p);
  ASSERT_EQ(all.size(), pool.capacity());
  for (Packet* p : all) {
    EXPECT_LT(reinterpret_cast<uintptr_t>(p) + sizeof(Packet), k4GiB);
    EXPECT_LE(reinterpret_cast<uintptr_t>(p->head) + p->buffer_size, k4GiB);
    // The 32-bit field holds the full address.
    EXPECT_EQ(static_cast<uintptr_t>(p->skb.data), reinterpret_cast<uintptr_t>(p->head) + 256);
    EXPECT_TRUE(pool.owns(p->head));
    PacketPool::release(p);
  }
  EXPECT_LE(reinterpret_cast<uintptr_t>(pool.mapping().data()) + pool.mapping().size(), k4GiB);
}

TEST(PacketPool, IndexOfNumbersEverySlotOnce) {
  PacketPool pool({.packets = 5});
  std::set<uint32_t> indices;
  std::vector<Packet*> held;
  while (Packet* p = pool.alloc()) {
    indices.insert(pool.index_of(p));
    held.push_back(p);
  }
  EXPECT_EQ(indices, (std::set<uint32_t>{0, 1, 2, 3, 4}));
  for (Packet* p : held) PacketPool::release(p);
}

// Records each drop as (slot, reason) while the packet is still alive.
struct RecordingListener final : DropListener {
  std::vector<std::pair<uint32_t, DropReason>> drops;
  void on_drop(Packet& pkt, DropReason reason) override {
    EXPECT_GT(pkt.refcount, 0u) << "told before the release";
    drops.emplace_back(pkt.pool->index_of(&pkt), reason);
  }
};

TEST(PacketPool, ItsDropListenerHearsEveryDropWithItsReason) {
  PacketPool pool({.packets = 4});
  RecordingListener listener;
  pool.set_drop_listener(&listener);
  PfifoQdisc q(1);
  Packet* kept = pool.alloc();
  Packet* refused = pool.alloc();
  const uint32_t kept_slot = pool.index_of(kept), refused_slot = pool.index_of(refused);
  q.enqueue(kept, 0);
  q.enqueue(refused, 0);
  q.reset();
  EXPECT_EQ(listener.drops, (std::vector<std::pair<uint32_t, DropReason>>{
                                {refused_slot, DropReason::QueueFull}, {kept_slot, DropReason::Reset}}));
  EXPECT_EQ(pool.in_use(), 0u);
}

TEST(PacketPool, Map32BitPlacesEverythingBelow4GiB) {
#if defined(__x86_64__)
  PacketPool pool({.packets = 64, .strategy = LowMemoryStrategy::Map32Bit});
  expect_all_below_4gib(pool);
  // MAP_32BIT means the low 2 GiB.
  EXPECT_LT(reinterpret_cast<uintptr_t>(pool.mapping().data()) + pool.mapping().size(), uint64_t{1} << 31);
#else
  GTEST_SKIP() << "MAP_32BIT is x86-64 only";
#endif
}

TEST(PacketPool, FixedNoReplaceFallbackPlacesEverythingBelow4GiB) {
  PacketPool pool({.packets = 64, .strategy = LowMemoryStrategy::FixedNoReplace});
  expect_all_below_4gib(pool);
}

TEST(PacketPool, SeveralPoolsCoexist) {
  PacketPool a({.packets = 16});
  PacketPool b({.packets = 16, .strategy = LowMemoryStrategy::FixedNoReplace});
  Packet* pa = a.alloc();
  Packet* pb = b.alloc();
  EXPECT_TRUE(a.owns(pa));
  EXPECT_FALSE(a.owns(pb));
  EXPECT_TRUE(b.owns(pb));
  EXPECT_EQ(pa->pool, &a);
  EXPECT_EQ(pb->pool, &b);
  PacketPool::release(pa);
  PacketPool::release(pb);
}

TEST(PacketPool, PacketAtAcceptsOnlyPacketStarts) {
  PacketPool pool({.packets = 4});
  Packet* p = pool.alloc();
  Packet* q = pool.alloc();
  EXPECT_EQ(pool.packet_at(p), p);
  EXPECT_EQ(pool.packet_at(&q->skb), q);
  EXPECT_EQ(pool.packet_at(reinterpret_cast<uint8_t*>(p) + 4), nullptr);
  EXPECT_EQ(pool.packet_at(p->head), nullptr);  // a byte buffer, not a packet
  int outside = 0;
  EXPECT_EQ(pool.packet_at(&outside), nullptr);
  PacketPool::release(p);
  PacketPool::release(q);
}

TEST(PacketPool, InvalidConfigurationsThrow) {
  const Error empty = bpfq::test::error_of([] { PacketPool pool({.packets = 0}); });
  EXPECT_EQ(empty.reason(), "packet pool with 0 packets");
  EXPECT_EQ(empty.where(), "PacketPool");
  EXPECT_THROW(PacketPool({.packets = 4, .data_room = 10}), Error);
  const Error huge = bpfq::test::error_of([] { PacketPool pool({.packets = 2'000'000, .data_room = 2048}); });  // ~4.6 GB
  EXPECT_NE(std::string(huge.what()).find("cannot be mapped below 4 GiB"), std::string::npos) << huge.what();
}

TEST(PacketRef, OwnsOneReference) {
  PacketPool pool({.packets = 2});
  {
    PacketRef a = PacketRef::alloc(pool);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->refcount, 1u);
    PacketRef b = PacketRef::share(a.get());
    EXPECT_EQ(a->refcount, 2u);
    PacketRef c = std::move(b);
    EXPECT_FALSE(b);
    EXPECT_EQ(c.get(), a.get());
    EXPECT_EQ(a->refcount, 2u);
    c.reset();
    EXPECT_EQ(a->refcount, 1u);
    EXPECT_EQ(pool.in_use(), 1u);
  }
  EXPECT_EQ(pool.in_use(), 0u);

  Packet* raw = pool.alloc();
  {
    PacketRef owner = PacketRef::adopt(raw);
    PacketRef other = PacketRef::alloc(pool);
    other = std::move(owner);  // releases other's packet, takes raw
    EXPECT_EQ(other.get(), raw);
    EXPECT_EQ(pool.in_use(), 1u);
    Packet* given = other.detach();
    EXPECT_EQ(given, raw);
  }
  EXPECT_EQ(pool.in_use(), 1u);  // detached: still referenced
  PacketPool::release(raw);
  EXPECT_EQ(pool.in_use(), 0u);

  PacketPool tiny({.packets = 1});
  PacketRef first = PacketRef::alloc(tiny);
  PacketRef none = PacketRef::alloc(tiny);
  EXPECT_TRUE(first);
  EXPECT_FALSE(none);
}

TEST(PacketPoolDeathTest, DoubleReleaseIsCaught) {
  PacketPool pool({.packets = 1});
  Packet* p = pool.alloc();
  PacketPool::release(p);
  // Debug builds assert; release builds ignore it and count it.
  EXPECT_DEBUG_DEATH(PacketPool::release(p), "already free");
#ifdef NDEBUG
  EXPECT_EQ(pool.counters().bad_releases, 1u);
  EXPECT_EQ(pool.in_use(), 0u);
  EXPECT_NE(pool.alloc(), nullptr);  // the free list is intact
  EXPECT_EQ(pool.alloc(), nullptr);
  PacketPool::release(pool.packet_at(p));
#endif
}

TEST(PacketPoolDeathTest, DestroyingWithReferencedPacketsIsReported) {
  const uint64_t before = PacketPool::leaked_at_destruction();
  EXPECT_DEBUG_DEATH(
      {
        PacketPool pool({.packets = 4});
        pool.alloc();
        pool.alloc();
      },
      "2 packets still referenced");
#ifdef NDEBUG
  EXPECT_EQ(PacketPool::leaked_at_destruction(), before + 2);
#else
  (void)before;
#endif
}

#if defined(__SANITIZE_ADDRESS__)
TEST(PacketPoolDeathTest, AsanReportsUseOfAReleasedBuffer) {
  PacketPool pool({.packets = 1});
  Packet* p = pool.alloc();
  ASSERT_TRUE(p->set_len(64));
  volatile uint8_t* bytes = p->data();
  bytes[0] = 1;  // fine while referenced
  PacketPool::release(p);
  EXPECT_DEATH(bytes[0] = 2, "use-after-poison");
}
#endif

}  // namespace
}  // namespace bpfq::sched
