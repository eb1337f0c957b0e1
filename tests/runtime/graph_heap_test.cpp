// Graph objects: the loader's records (local types, global roots, inferred kptrs), GraphHeap
// behind the kfuncs (lists, rbtrees, refcounts, object kptrs in map values and packets in
// objects, leaks, the arena's end), hostile programs, bpf_iter_num and bpf_jiffies64.
#include <gtest/gtest.h>

#include <array>
#include <cerrno>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <bpfq/loader/load_object.hpp>
#include <bpfq/maps/map_spec.hpp>
#include <bpfq/runtime/graph_heap.hpp>
#include <bpfq/runtime/helpers.hpp>

#include "runtime_test_support.hpp"

namespace bpfq::runtime::test {
namespace {

using loader::SpecialKind;

const exec::HelperRegistry& graph_helpers() {
  static const exec::HelperRegistry registry = [] {
    exec::HelperRegistry r = standard_helpers();
    add_graph_kfuncs(r);
    return r;
  }();
  return registry;
}

Object open_graph(const char* name) {
  ObjectOptions o;
  o.helpers = &graph_helpers();
  return Object::open(test_object(name), o);
}

// An object, its heap and a RunEnv: runs a section between begin_run() and end_run().
struct Graph {
  explicit Graph(const char* name) : obj(open_graph(name)), heap(obj.graph_heap()) { env.graph = heap; }

  exec::RunResult run(std::string_view section, Io& io) {
    heap->begin_run();
    const exec::RunResult r = obj.program(section).run(&io, sizeof io, run_options(env));
    leaked = heap->end_run();
    return r;
  }
  Io run_ok(std::string_view section, Io io) {
    const exec::RunResult r = run(section, io);
    EXPECT_TRUE(r.ok()) << section << ": " << r.message();
    return io;
  }
  std::vector<uint64_t> results() {
    const auto n = obj.get_global<uint32_t>("n_results");
    const auto all = obj.get_global<std::array<uint64_t, 64>>("results");
    obj.set_global("n_results", uint32_t{0});
    return {all.begin(), all.begin() + std::min<uint32_t>(n, 64)};
  }
  uint64_t global(const char* name) {
    const loader::GlobalVariable& g = obj.global(name);
    const uint32_t zero = 0;
    return reinterpret_cast<uint64_t>(obj.map(obj.spec().maps[g.map_index].name).lookup(&zero)) + g.offset;
  }

  Object obj;
  GraphHeap* heap;
  RunEnv env;
  size_t leaked = 0;
};

const loader::LocalType& local_type(const loader::ObjectSpec& spec, const std::string& name) {
  for (const loader::LocalType& t : spec.local_types)
    if (t.name == name) return t;
  throw Error("no local type " + name);
}

// ---- the loader's records ----

TEST(GraphRecords, LocalTypesGlobalRootsAndInferredKptrs) {
  const loader::ObjectSpec spec = loader::load_object(test_object("runtime_graph"));
  EXPECT_TRUE(std::is_sorted(spec.local_types.begin(), spec.local_types.end(),
                             [](const auto& a, const auto& b) { return a.id < b.id; }));
  const loader::LocalType& flow = local_type(spec, "flow");
  const loader::LocalType& pkt = local_type(spec, "pkt");
  EXPECT_EQ(flow.size, 96u);
  ASSERT_EQ(flow.fields.size(), 5u);
  EXPECT_EQ(flow.fields[0].kind, SpecialKind::ListNode);
  EXPECT_EQ(flow.fields[0].offset, 16u);
  EXPECT_EQ(flow.fields[1].kind, SpecialKind::RbNode);
  EXPECT_EQ(flow.fields[1].offset, 40u);
  EXPECT_EQ(flow.fields[2].kind, SpecialKind::RbRoot);
  EXPECT_EQ(flow.fields[2].offset, 72u);
  EXPECT_EQ(flow.fields[2].contained_type, pkt.id);
  EXPECT_EQ(flow.fields[2].node_offset, 16u);
  EXPECT_EQ(flow.fields[3].kind, SpecialKind::SpinLock);
  EXPECT_EQ(flow.fields[4].kind, SpecialKind::Refcount);
  ASSERT_EQ(pkt.fields.size(), 2u);
  EXPECT_EQ(pkt.fields[0].kind, SpecialKind::Kptr);  // tagged (FWD pointee keeps the tag)
  EXPECT_EQ(pkt.fields[0].kptr_target, "sk_buff");
  EXPECT_EQ(pkt.fields[0].kptr_type, 0u);
  // bpf_obj_new(struct item): the id clang wrote is the local id (TYPE_ID_LOCAL keeps it).
  for (const loader::CoreAccess& c : spec.program("graph/list_push")->core_accesses)
    if (c.kind == 6) {
      EXPECT_EQ(c.value, local_type(spec, "item").id);
    }
  // struct stash's `struct flow __kptr *` lost its tag (clang 14): inferred from the pointee.
  EXPECT_EQ(spec.maps[static_cast<size_t>(spec.map_index("flows"))].kptr_offsets, std::vector<uint32_t>{0});
  // Globals: lock at 0 and list at 8 in .data.A (clang leaves DATASEC offsets 0).
  const int data_a = spec.map_index(".data.A");
  std::vector<loader::GlobalSpecialField> a;
  for (const auto& g : spec.global_fields)
    if (g.map_index == static_cast<uint32_t>(data_a)) a.push_back(g);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].field.kind, SpecialKind::SpinLock);
  EXPECT_EQ(a[1].field.kind, SpecialKind::ListHead);
  EXPECT_EQ(a[1].field.offset, 8u);
  EXPECT_EQ(a[1].field.contained_type, local_type(spec, "item").id);
  EXPECT_EQ(a[1].field.node_offset, 8u);
}

TEST(GraphRecords, PointersToStructsOfGraphObjectsAreKptrsWhenClangDroppedTheTags) {
  const loader::ObjectSpec spec = loader::load_object(test_object("runtime_graph_hostile"));
  const loader::LocalType& node = local_type(spec, "skb_node");  // `struct sk_buff __kptr *skb`
  ASSERT_EQ(node.fields.size(), 2u);
  EXPECT_EQ(node.fields[0].kind, SpecialKind::Kptr);
  EXPECT_EQ(node.fields[0].offset, 0u);
  EXPECT_EQ(node.fields[0].kptr_target, "sk_buff");
  EXPECT_EQ(node.fields[0].kptr_type, 0u);
  EXPECT_EQ(node.fields[1].kind, SpecialKind::ListNode);
  EXPECT_EQ(spec.maps[static_cast<size_t>(spec.map_index("stashes"))].kptr_offsets, std::vector<uint32_t>{0});
}

TEST(GraphRecords, RecordRulesAreEnforced) {
  const std::pair<const char*, const char*> cases[] = {
      {"loader_bad_graph_lock", "no struct bpf_spin_lock"},
      {"loader_bad_graph_refcount", "has no struct bpf_refcount"},
      {"loader_bad_graph_type", "__contains names struct 'missing'"},
      {"loader_bad_graph_member", "which is not a struct bpf_rb_node"},
      {"loader_bad_graph_two_locks", "more than one struct bpf_spin_lock"},
  };
  for (const auto& [name, message] : cases) {
    try {
      loader::load_object(test_object(name));
      ADD_FAILURE() << name << " loaded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << name << ": " << e.what();
    }
  }
}

TEST(GraphObject, AHeapOnlyForProgramsThatCallGraphKfuncs) {
  EXPECT_EQ(open_graph("runtime_callbacks").graph_heap(), nullptr);
  Graph g("runtime_graph");
  ASSERT_NE(g.heap, nullptr);
  EXPECT_EQ(g.heap->region().end - g.heap->region().begin, GraphHeap::kDefaultArenaBytes);
  EXPECT_EQ(g.obj.map("flows").kptr_dtor(), &GraphHeap::kptr_dtor);
}

TEST(GraphObject, WithoutAHeapTheKfuncsFail) {
  const Object obj = open_graph("runtime_graph");
  RunEnv env;  // no graph
  Io io{.a = 1, .b = 7};
  const exec::RunResult r = run(obj, "graph/list_push", io, env);
  EXPECT_FALSE(r.ok());
  EXPECT_STREQ(r.detail, "bpf_obj_new_impl: the run has no graph heap (RunEnv::graph)");
}

// ---- lists and trees ----

TEST(GraphList, PushesAndPopsAtBothEnds) {
  Graph g("runtime_graph");
  EXPECT_EQ(g.run_ok("graph/list_push", {.a = 5, .b = 10}).out[0], 5);
  EXPECT_EQ(g.run_ok("graph/list_push", {.a = 2, .b = 100, .c = 1}).out[0], 2);  // 101, 100 in front
  EXPECT_EQ(g.heap->live_objects(), 7u);
  EXPECT_EQ(g.heap->collection_size(g.global("items")), 7u);
  const Io peek = g.run_ok("graph/list_peek", {});
  EXPECT_EQ(peek.out[0], 101);
  EXPECT_EQ(peek.out[1], 14);
  EXPECT_EQ(peek.out[2], 0);  // bpf_list_empty
  EXPECT_EQ(g.run_ok("graph/list_pop", {.a = 3}).out[0], 3);
  EXPECT_EQ(g.run_ok("graph/list_pop", {.a = 2, .c = 1}).out[0], 2);
  EXPECT_EQ(g.run_ok("graph/list_pop", {.a = 10}).out[0], 2);
  EXPECT_EQ(g.results(), (std::vector<uint64_t>{101, 100, 10, 14, 13, 11, 12}));
  EXPECT_EQ(g.run_ok("graph/list_peek", {}).out[0], -1);
  EXPECT_EQ(g.run_ok("graph/list_peek", {}).out[2], 1);
  EXPECT_EQ(g.heap->live_objects(), 0u);
  EXPECT_EQ(g.heap->stats().allocated, 7u);
  EXPECT_EQ(g.heap->stats().freed, 7u);
  EXPECT_EQ(g.heap->leaked_objects(), 0u);
}

TEST(GraphRbtree, OrdersByLessWithTiesInArrivalOrder) {
  Graph g("runtime_graph");
  for (auto [key, seq] : std::vector<std::pair<uint64_t, uint64_t>>{{5, 1}, {3, 1}, {5, 2}, {1, 1}, {3, 2}, {5, 3}})
    EXPECT_EQ(g.run_ok("graph/tree_add", {.a = key, .b = seq}).out[0], 0);
  EXPECT_EQ(g.run_ok("graph/tree_drain", {}).out[0], 6);
  EXPECT_EQ(g.results(), (std::vector<uint64_t>{1001, 3001, 3002, 5001, 5002, 5003}));
  EXPECT_EQ(g.heap->live_objects(), 0u);
}

TEST(GraphRbtree, RootLeftAndRightWalkABalancedTree) {
  Graph g("runtime_graph");
  Io shape = g.run_ok("graph/tree_shape", {});
  EXPECT_EQ(shape.out[0], -1);
  for (uint64_t key : {7, 3, 5, 1, 6, 2, 4}) g.run_ok("graph/tree_add", {.a = key});
  shape = g.run_ok("graph/tree_shape", {});
  EXPECT_EQ(shape.out[0], 4);
  EXPECT_EQ(shape.out[1], 2);
  EXPECT_EQ(shape.out[2], 6);
  g.run_ok("graph/tree_drain", {});
}

// ---- refcounts, kptrs in map values ----

TEST(GraphRefcount, AFlowInAListAndAMapSurvivesEitherOwnerLettingGo) {
  Graph g("runtime_graph");
  g.run_ok("graph/flow_new", {.a = 1});
  EXPECT_EQ(g.heap->live_objects(), 1u);
  const uint64_t flow = static_cast<uint64_t>(g.run_ok("graph/flow_peek", {.a = 1}).out[0]);
  ASSERT_TRUE(g.heap->is_live(flow));
  EXPECT_EQ(g.heap->refs(flow), 1u);
  EXPECT_EQ(g.run_ok("graph/flow_activate", {.a = 1}).out[0], 0);
  EXPECT_EQ(g.heap->refs(flow), 2u);  // the map's and the list's
  const uint64_t key = 1;
  ASSERT_EQ(g.obj.map("flows").erase(&key), 0);
  EXPECT_TRUE(g.heap->is_live(flow));
  EXPECT_EQ(g.heap->refs(flow), 1u);
  EXPECT_EQ(g.run_ok("graph/active_pop", {}).out[0], 1);
  EXPECT_FALSE(g.heap->is_live(flow));
  EXPECT_EQ(g.heap->live_objects(), 0u);
  EXPECT_EQ(g.heap->leaked_objects(), 0u);
}

TEST(GraphRefcount, PushingANodeThatIsInAListAgainDropsTheReference) {
  Graph g("runtime_graph");
  g.run_ok("graph/flow_new", {.a = 2});
  const Io io = g.run_ok("graph/flow_activate", {.a = 2, .b = 1});
  EXPECT_EQ(io.out[0], 0);
  EXPECT_EQ(io.out[1], -EINVAL);
  const uint64_t flow = static_cast<uint64_t>(g.run_ok("graph/flow_peek", {.a = 2}).out[0]);
  EXPECT_EQ(g.heap->refs(flow), 2u);
  EXPECT_EQ(g.leaked, 0u);
  EXPECT_EQ(g.heap->collection_size(g.global("active")), 1u);
}

TEST(GraphKptr, TheMapDropsAnObjectItsElementHeld) {
  Graph g("runtime_graph");
  maps::Map& flows = g.obj.map("flows");
  for (uint64_t k : {1, 2, 3, 4}) g.run_ok("graph/flow_new", {.a = k});
  EXPECT_EQ(g.heap->live_objects(), 4u);
  EXPECT_EQ(g.run_ok("graph/flow_peek", {.a = 3}).out[1], 3);  // the program reads the field
  uint64_t key = 1;
  ASSERT_EQ(flows.erase(&key), 0);  // delete
  EXPECT_EQ(g.heap->live_objects(), 3u);
  key = 2;
  const uint64_t zero = 0;
  ASSERT_EQ(flows.update(&key, &zero, maps::kBpfAny), 0);  // overwrite
  EXPECT_EQ(g.heap->live_objects(), 2u);
  EXPECT_EQ(g.run_ok("graph/flows_clear", {}).out[0], 3);  // deletes from bpf_for_each_map_elem
  EXPECT_EQ(g.heap->live_objects(), 0u);
  g.run_ok("graph/flow_new", {.a = 5});
  flows.clear();
  EXPECT_EQ(g.heap->live_objects(), 0u);
  EXPECT_EQ(g.heap->stats().freed, 5u);
}

TEST(GraphKptr, ObjectsStillStashedWhenTheObjectCloses) {
  Graph g("runtime_graph");
  for (uint64_t k : {1, 2}) g.run_ok("graph/flow_new", {.a = k});
  g.run_ok("graph/flow_activate", {.a = 1});
  g.run_ok("graph/flow_enqueue", {.a = 1, .b = 5});
}  // the maps release their flows, then the heap frees the rest: ASan sees no leak

// Fake packets for the packet hook: 0x1000..0x1fff.
std::vector<uint64_t> released_packets;
bool fake_packet(uint64_t p) { return p >= 0x1000 && p < 0x2000; }
void release_fake(void* p) { released_packets.push_back(reinterpret_cast<uint64_t>(p)); }

TEST(GraphKptr, PacketsInObjectsMoveOutAndAreReleasedWithTheObject) {
  released_packets.clear();
  Graph g("runtime_graph");
  g.heap->set_packet_kptrs({fake_packet, release_fake});
  g.run_ok("graph/flow_new", {.a = 5});
  for (auto [ts, skb] : std::vector<std::pair<uint64_t, uint64_t>>{{30, 0x1010}, {10, 0x1020}, {20, 0}}) {
    const Io io = g.run_ok("graph/flow_enqueue", {.a = 5, .b = ts, .c = skb});
    EXPECT_EQ(io.out[0], 0);
    EXPECT_EQ(io.out[1], 0);  // the new node's field held nothing
  }
  const Io out = g.run_ok("graph/flow_dequeue", {.a = 5});
  EXPECT_EQ(out.out[0], 10);
  EXPECT_EQ(out.out[1], 0x1020);  // handed to the program (the embedder tracks it)
  EXPECT_TRUE(released_packets.empty());
  EXPECT_EQ(g.heap->live_objects(), 3u);  // the flow and two nodes
  g.run_ok("graph/flows_clear", {});      // the flow goes, its tree and the packet it holds too
  EXPECT_EQ(g.heap->live_objects(), 0u);
  EXPECT_EQ(released_packets, std::vector<uint64_t>{0x1010});

  // Not a packet: the exchange fails the run; the flow taken out of the map leaks and is dropped.
  g.run_ok("graph/flow_new", {.a = 6});
  Io io{.a = 6, .b = 1, .c = 0x999999};
  const exec::RunResult r = g.run("graph/flow_enqueue", io);
  EXPECT_FALSE(r.ok());
  EXPECT_STREQ(r.detail, "bpf_kptr_xchg: the new value is neither an object the program holds nor a packet the field may hold");
  EXPECT_EQ(g.leaked, 2u);  // the flow and the new node
  EXPECT_EQ(g.heap->live_objects(), 0u);

  // clear() releases the packets objects hold.
  released_packets.clear();
  g.run_ok("graph/flow_new", {.a = 7});
  g.run_ok("graph/flow_enqueue", {.a = 7, .b = 1, .c = 0x1030});
  g.heap->clear();
  EXPECT_EQ(released_packets, std::vector<uint64_t>{0x1030});
  EXPECT_EQ(g.heap->live_objects(), 0u);
  EXPECT_EQ(g.heap->leaked_objects(), 2u);  // only the earlier run's
}

// ---- leaks, the arena's end ----

TEST(GraphLeaks, ReferencesHeldAtTheEndOfARunAreDroppedAndCounted) {
  Graph g("runtime_graph");
  g.run_ok("graph/leak", {.a = 3});
  EXPECT_EQ(g.leaked, 3u);
  EXPECT_EQ(g.heap->live_objects(), 0u);
  g.run_ok("graph/flow_new", {.a = 9});
  g.run_ok("graph/leak", {.a = 0, .b = 9});  // takes the flow out of the map and keeps it
  EXPECT_EQ(g.leaked, 1u);
  EXPECT_EQ(g.heap->leaked_objects(), 4u);
  EXPECT_EQ(g.heap->live_objects(), 0u);
  EXPECT_EQ(g.run_ok("graph/flow_peek", {.a = 9}).out[0], 0);
}

TEST(GraphArena, ObjNewReturnsNullWhenTheArenaIsFull) {
  Graph g("runtime_graph");
  const uint64_t capacity = GraphHeap::kDefaultArenaBytes / 4096;  // struct big: the 4096-byte class
  Io io = g.run_ok("graph/big_fill", {.a = capacity + 100});
  EXPECT_EQ(static_cast<uint64_t>(io.out[0]), capacity);
  EXPECT_EQ(io.out[1], 1);
  EXPECT_EQ(g.heap->stats().alloc_failures, 1u);
  EXPECT_EQ(g.run_ok("graph/list_push", {.a = 1}).out[1], 1);  // every page is taken
  io = g.run_ok("graph/big_drain", {});
  EXPECT_EQ(static_cast<uint64_t>(io.out[0]), capacity);
  EXPECT_EQ(g.run_ok("graph/big_fill", {.a = 3}).out[0], 3);  // freed slots are reused
  EXPECT_EQ(g.heap->stats().alloc_failures, 2u);
}

TEST(GraphArena, ASmallHeapFillsUpAndClears) {
  loader::LocalType t;
  t.id = 1;
  t.name = "t";
  t.size = 100;  // the 128-byte class: 512 per 64 KiB page
  const std::vector<loader::LocalType> types{t};
  GraphHeap heap(types, {}, 64 * 1024);
  size_t n = 0;
  while (heap.obj_new(1) != 0) ++n;
  EXPECT_EQ(n, 512u);
  EXPECT_EQ(heap.stats().alloc_failures, 1u);
  EXPECT_EQ(heap.end_run(), 512u);
  EXPECT_EQ(heap.live_objects(), 0u);
  EXPECT_NE(heap.obj_new(1), 0u);
  heap.clear();
  EXPECT_EQ(heap.live_objects(), 0u);
  EXPECT_EQ(heap.obj_new(2), 0u);  // no such type (outside a run nothing fails)
}

TEST(GraphArena, AMapOutlivingItsHeapReleasesNothingIntoIt) {
  loader::LocalType t;
  t.id = 1;
  t.name = "t";
  t.size = 16;
  const std::vector<loader::LocalType> types{t};
  maps::MapSpec spec;
  spec.name = "stash";
  spec.type = static_cast<uint32_t>(maps::MapType::Hash);
  spec.key_size = 4;
  spec.value_size = 8;
  spec.max_entries = 4;
  spec.kptr_offsets = {0};
  std::shared_ptr<maps::Map> map = maps::create_map(spec);
  map->set_kptr_dtor(GraphHeap::kptr_dtor);
  const uint32_t key = 1;
  const uint64_t zero = 0;
  ASSERT_EQ(map->update(&key, &zero, maps::kBpfAny), 0);
  {
    GraphHeap heap(types, {});
    const uint64_t obj = heap.obj_new(1);
    ASSERT_NE(obj, 0u);
    EXPECT_EQ(heap.kptr_xchg(reinterpret_cast<uint64_t>(map->lookup(&key)), obj), 0u);
    EXPECT_EQ(heap.refs(obj), 1u);
    EXPECT_EQ(heap.end_run(), 0u);
  }  // the arena stays reserved: the map still shows a pointer into it
  EXPECT_EQ(map->erase(&key), 0);
}

// Random calls with live, stale, misplaced and made-up pointers, straight to the heap (outside
// a run a refused call just returns 0): the books stay straight and ASan sees nothing.
TEST(GraphArena, RandomCallsKeepTheBooksStraight) {
  using loader::SpecialField;
  auto field = [](SpecialKind k, uint32_t off, uint32_t contained = 0, uint32_t node = 0, uint32_t kptr = 0) {
    SpecialField f;
    f.kind = k;
    f.offset = off;
    f.contained_type = contained;
    f.node_offset = node;
    f.kptr_type = kptr;
    return f;
  };
  std::vector<loader::LocalType> types(2);
  types[0] = {1, "node", 40, {field(SpecialKind::ListNode, 0), field(SpecialKind::Kptr, 24, 0, 0, 2),
                              field(SpecialKind::Refcount, 32)}};
  types[1] = {2, "holder", 32, {field(SpecialKind::ListHead, 0, 1, 0), field(SpecialKind::SpinLock, 16),
                                field(SpecialKind::Kptr, 24, 0, 0, 1)}};
  alignas(8) static uint64_t global_head[2];
  alignas(8) static uint64_t external[4];
  const GlobalRoot root{reinterpret_cast<uint64_t>(global_head), field(SpecialKind::ListHead, 0, 1, 0)};
  GraphHeap heap(types, std::span<const GlobalRoot>(&root, 1), 256 * 1024);
  std::mt19937_64 rng(7);
  std::vector<uint64_t> seen{0, 8, root.address, reinterpret_cast<uint64_t>(external)};
  auto pick = [&]() -> uint64_t {
    const size_t n = seen.size();  // mostly recent pointers, which are more often live
    const uint64_t p = rng() % 2 ? seen[n - 1 - rng() % std::min<size_t>(n, 6)] : seen[rng() % n];
    switch (rng() % 4) {
      case 0: return p + 24;
      case 1: return heap.region().begin + (rng() % (heap.region().end - heap.region().begin));
      default: return p;
    }
  };
  size_t longest = 0;
  for (int step = 0; step < 20000; ++step) {
    uint64_t got = 0;
    switch (rng() % 9) {
      case 0: got = heap.obj_new(1 + rng() % 3); break;
      case 1: heap.obj_drop(pick()); break;
      case 2: got = heap.refcount_acquire(pick()); break;
      case 3: got = heap.list_push(rng() % 2 ? root.address : pick(), rng() % 2 ? seen.back() : pick(), rng() % 2); break;
      case 4: got = rng() % 3 ? 0 : heap.list_pop(rng() % 2 ? root.address : pick(), rng() % 2); break;
      case 5: {
        const uint64_t f = rng() % 2 ? reinterpret_cast<uint64_t>(&external[rng() % 4]) : pick();
        if (heap.in_arena(f) || (f >= reinterpret_cast<uint64_t>(external) &&
                                 f < reinterpret_cast<uint64_t>(external + 4) && f % 8 == 0))
          got = heap.kptr_xchg(f, pick());
        break;
      }
      case 6: {  // a map releasing one of its fields
        uint64_t& e = external[rng() % 4];
        const uint64_t v = e;
        e = 0;
        if (v != 0) GraphHeap::kptr_dtor(reinterpret_cast<void*>(v));
        break;
      }
      case 7: external[rng() % 4] = pick(); break;  // the program scribbles a field
      case 8: if (rng() % 8 == 0) heap.end_run(); break;
    }
    if (got != 0 && got != static_cast<uint64_t>(-EINVAL)) seen.push_back(got);
    const GraphStats s = heap.stats();
    ASSERT_EQ(s.allocated - s.freed, s.live) << step;
    longest = std::max(longest, heap.collection_size(root.address));
  }
  heap.end_run();
  EXPECT_GE(longest, 2u);  // the calls reach the collections
  heap.clear();
  EXPECT_EQ(heap.live_objects(), 0u);
  EXPECT_GT(heap.stats().allocated, 1000u);
}

// ---- hostile programs ----

TEST(GraphHostile, MisusesFailTheRunWithTheKfuncsName) {
  Graph g("runtime_graph_hostile");
  const char* expected[] = {
      "bpf_list_push_back_impl: the head is not a bpf_list_head",
      "bpf_list_push_back_impl: the head is not a bpf_list_head",
      "bpf_list_pop_front: the head is not a bpf_list_head",
      "bpf_list_push_back_impl: the node is not the node member",
      "bpf_obj_drop_impl: the pointer is not a live object",
      "bpf_obj_drop_impl: the pointer is not a live object",
      "bpf_refcount_acquire_impl: the object's type has no struct bpf_refcount",
      "bpf_list_push_back_impl: the node is not the node member",
      "bpf_kptr_xchg: the field lies in an object but is not one of its kptr fields",
      "bpf_obj_new_impl: the type id is not a struct of the program's BTF",
      "bpf_rbtree_add_impl: less is not a sub-program of this program",
      "bpf_list_push_back_impl: the program holds no reference to the object",
      "bpf_obj_drop_impl: the pointer is not a live object",
      "bpf_iter_num_new: iterator outside writable program memory or misaligned",
      "bpf_rbtree_remove: the node is not the node member",
  };
  for (uint64_t a = 0; a < std::size(expected); ++a) {
    Io io{.a = a, .b = 0x10};
    const exec::RunResult r = g.run("hostile/misuse", io);
    ASSERT_FALSE(r.ok()) << a;
    EXPECT_EQ(r.fault, exec::Fault::HelperFault) << a;
    ASSERT_NE(r.detail, nullptr) << a;
    EXPECT_EQ(std::string(r.detail).rfind(expected[a], 0), 0u) << a << ": " << r.detail;
  }
  // What the failed runs held was dropped; the one node pushed (case 11) is in the list.
  EXPECT_EQ(g.heap->live_objects(), 1u);
  EXPECT_EQ(g.heap->collection_size(g.global("items")), 1u);
}

TEST(GraphHostile, ScribbledHeadsAndNodesMeanNothing) {
  Graph g("runtime_graph_hostile");
  const Io io = g.run_ok("hostile/scribble", {});
  EXPECT_EQ(io.out[0], 1);
  EXPECT_EQ(io.out[1], 2);
  EXPECT_EQ(g.heap->live_objects(), 0u);
}

TEST(GraphHostile, WritingAFreedObjectStaysInTheArena) {
  Graph g("runtime_graph_hostile");
  EXPECT_EQ(g.run_ok("hostile/after_free", {}).out[0], 42);
  EXPECT_EQ(g.heap->live_objects(), 0u);
}

TEST(GraphHostile, ForgedKptrFieldsInMapValues) {
  Graph g("runtime_graph_hostile");
  // Garbage outside the arena: a plain exchange of bytes, the stashed object stays counted.
  EXPECT_EQ(g.run_ok("hostile/forge_stash", {.b = 0x12345, .c = 0}).out[0], 0x12345);
  EXPECT_EQ(g.heap->live_objects(), 1u);
  // A pointer into the middle of the object: refused.
  Io io{.c = 1};
  exec::RunResult r = g.run("hostile/forge_stash", io);
  EXPECT_FALSE(r.ok());
  EXPECT_STREQ(r.detail, "bpf_kptr_xchg: the field shows an object it does not hold (its bytes were overwritten)");
  // The object's own pointer: believed (a field outside the arena holds it).
  EXPECT_NE(g.run_ok("hostile/forge_stash", {.c = 2}).out[0], 0);
  // The map releasing a pointer it never held (another object's): ignored.
  g.run_ok("hostile/forge_release", {});
  EXPECT_EQ(g.leaked, 0u);
  g.heap->clear();
  EXPECT_EQ(g.heap->live_objects(), 0u);
}

TEST(GraphHostile, AnInconsistentLessIsContained) {
  Graph g("runtime_graph");
  Prng prng(42);
  g.env.prng = &prng;
  for (uint64_t i = 0; i < 50; ++i) EXPECT_EQ(g.run_ok("graph/tree_add", {.a = i % 7, .b = i, .c = 1}).out[0], 0);
  EXPECT_EQ(g.heap->collection_size(g.global("tree")), 50u);
  EXPECT_EQ(g.run_ok("graph/tree_drain", {}).out[0], 50);
  std::vector<uint64_t> seen = g.results();
  EXPECT_EQ(std::set<uint64_t>(seen.begin(), seen.end()).size(), 50u);
  EXPECT_EQ(g.heap->live_objects(), 0u);
}

TEST(GraphHostile, ALessThatChangesTheHeapFailsTheRun) {
  Graph g("runtime_graph");
  g.run_ok("graph/tree_add", {.a = 1});
  Io io{.a = 2, .c = 2};
  const exec::RunResult r = g.run("graph/tree_add", io);
  EXPECT_FALSE(r.ok());
  EXPECT_STREQ(r.detail, "bpf_rbtree_add_impl: the less callback changed the objects or collections");
  EXPECT_EQ(g.heap->collection_size(g.global("tree")), 1u);
  EXPECT_EQ(g.heap->live_objects(), 1u);  // the new entry leaked and was dropped
}

// ---- bpf_iter_num, bpf_jiffies64 ----

TEST(GraphIterNum, CountsThroughARangeAndRefusesBadOnes) {
  Graph g("runtime_graph");
  Io io = g.run_ok("graph/iter", {.a = 0, .b = 5});
  EXPECT_EQ(io.out[0], 0);
  EXPECT_EQ(io.out[1], 10);
  EXPECT_EQ(io.out[2], 5);
  EXPECT_EQ(io.out[3], 1);
  io = g.run_ok("graph/iter", {.a = static_cast<uint64_t>(-3), .b = 2});
  EXPECT_EQ(io.out[1], -5);
  EXPECT_EQ(io.out[2], 5);
  io = g.run_ok("graph/iter", {.a = 5, .b = 5});
  EXPECT_EQ(io.out[0], 0);
  EXPECT_EQ(io.out[2], 0);
  io = g.run_ok("graph/iter", {.a = 5, .b = 3});
  EXPECT_EQ(io.out[0], -EINVAL);
  EXPECT_EQ(io.out[2], 0);
  io = g.run_ok("graph/iter", {.a = 0, .b = (1u << 23) + 1});
  EXPECT_EQ(io.out[0], -E2BIG);
  EXPECT_EQ(io.out[2], 0);
  io = g.run_ok("graph/iter", {.a = 0x7fffffff, .b = 0x7fffffff});
  EXPECT_EQ(io.out[2], 0);
}

TEST(GraphJiffies, TicksAtKJiffiesHzOfTheRunsClock) {
  static_assert(kJiffiesHz == 1000);
  Graph g("runtime_graph");
  ManualClock clock(5'000'000'000);
  g.env.clock = &clock;
  EXPECT_EQ(g.run_ok("graph/jiffies", {}).out[0], 5000);
  clock.set(1'999'999);
  EXPECT_EQ(g.run_ok("graph/jiffies", {}).out[0], 1);
  EXPECT_NE(standard_helpers().helper(helper_id::kJiffies64), nullptr);
}

}  // namespace
}  // namespace bpfq::runtime::test
