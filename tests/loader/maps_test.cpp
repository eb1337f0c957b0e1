// loader_maps.bpf.o and loader_kfuncs.bpf.o: BTF-defined map specs, global data maps with their
// initial bytes, lddw relocations rewritten to map indexes, kfunc calls resolved to names.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "spec_invariants.hpp"
#include "test_support.hpp"

namespace bpfq::loader::test {
namespace {

using maps::MapType;

uint32_t type_of(MapType t) { return static_cast<uint32_t>(t); }

class MapsObject : public ::testing::Test {
 protected:
  void SetUp() override {
    spec = load_object(test_object("loader_maps"));
    ASSERT_EQ(spec_violation(spec), "");
  }
  const maps::MapSpec& map(std::string_view name) {
    const int i = spec.map_index(name);
    if (i < 0) throw std::runtime_error("no map " + std::string(name));
    return spec.maps[static_cast<size_t>(i)];
  }
  std::vector<uint8_t> section_bytes(std::string_view name) {
    const RawSection& s = raw.section(name);
    return {raw.bytes().begin() + static_cast<long>(s.sh_offset),
            raw.bytes().begin() + static_cast<long>(s.sh_offset + s.sh_size)};
  }

  RawElf raw{read_bytes(test_object("loader_maps"))};
  ObjectSpec spec;
};

// BTF maps come in DATASEC .maps order (libbpf's order), which for clang is the layout of the
// .maps section, not source order: clang 14 places `events` (used only by the second program)
// last. The symbol table is the oracle.
TEST_F(MapsObject, BtfMapsInDatasecOrderThenGlobalData) {
  std::vector<std::string> names;
  for (const maps::MapSpec& m : spec.maps) names.push_back(m.name);
  std::vector<std::pair<uint64_t, std::string>> by_offset;
  const size_t maps_index = raw.section(".maps").index;
  for (const RawSymbol& sym : raw.symbols())
    if (sym.shndx == maps_index && sym.type == 1 /* STT_OBJECT */) by_offset.emplace_back(sym.value, sym.name);
  std::sort(by_offset.begin(), by_offset.end());
  ASSERT_EQ(by_offset.size(), 8u);
  for (size_t i = 0; i < by_offset.size(); ++i) EXPECT_EQ(names.at(i), by_offset[i].second);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "flows", "stats", "backlog", "pq", "flow_states", "classes",
                       "per_cpu_counters", "events", "loader_m.data", "loader_m.rodata", "loader_m.data.custom",
                       "loader_m.rodata.custom", "loader_m.bss", "loader_m.rodata.str1.1"}));
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(spec.maps[i].section, ".maps") << spec.maps[i].name;
  EXPECT_EQ(spec.license, "Dual BSD/GPL");
}

TEST_F(MapsObject, TypeSizesEntriesFlags) {
  struct Expected {
    const char* name;
    uint32_t type, key, value, entries, flags;
    uint64_t extra;
  };
  for (const Expected& e : std::vector<Expected>{
           {"flows", type_of(MapType::Hash), 4, 8, 1024, 1 /* BPF_F_NO_PREALLOC */, 0},
           {"stats", type_of(MapType::Array), 4, 24, 16, 0, 0},
           {"backlog", type_of(MapType::Queue), 0, 4, 64, 0, 0},
           {"events", type_of(MapType::Ringbuf), 0, 0, 4096, 0, 0},
           {"pq", type_of(MapType::Rbtree), 8, 16, 256, 0, 0},
           {"flow_states", type_of(MapType::Hash), 4, 56, 8, 0, 0x12345},
           {"classes", type_of(MapType::RbtreeOfMaps), 4, 4, 4, 0, 0},
           {"per_cpu_counters", type_of(MapType::ArrayOfMaps), 4, 4, 3, 0, 0}}) {
    SCOPED_TRACE(e.name);
    const maps::MapSpec& m = map(e.name);
    EXPECT_EQ(m.type, e.type);
    EXPECT_EQ(m.key_size, e.key);
    EXPECT_EQ(m.value_size, e.value);
    EXPECT_EQ(m.max_entries, e.entries);
    EXPECT_EQ(m.flags, e.flags);
    EXPECT_EQ(m.extra, e.extra);
    EXPECT_TRUE(m.initial_value.empty());
    EXPECT_FALSE(m.global_data);
    EXPECT_FALSE(m.read_only);
  }
}

TEST_F(MapsObject, KptrOffsetsFromTypeTags) {
  EXPECT_EQ(map("pq").kptr_offsets, (std::vector<uint32_t>{8}));
  // A plain void * at 8 does not count; the array of slots gives 24 and 40, the __kptr 48.
  EXPECT_EQ(map("flow_states").kptr_offsets, (std::vector<uint32_t>{24, 40, 48}));
  EXPECT_TRUE(map("flows").kptr_offsets.empty());
  EXPECT_TRUE(map("stats").kptr_offsets.empty());
}

TEST_F(MapsObject, InnerMapTemplates) {
  const maps::MapSpec& classes = map("classes");
  ASSERT_NE(classes.inner, nullptr);
  EXPECT_EQ(classes.inner->name, "classes.inner");
  EXPECT_EQ(classes.inner->type, type_of(MapType::Rbtree));
  EXPECT_EQ(classes.inner->key_size, 8u);
  EXPECT_EQ(classes.inner->value_size, 16u);
  EXPECT_EQ(classes.inner->max_entries, 32u);
  EXPECT_EQ(classes.inner->kptr_offsets, (std::vector<uint32_t>{8}));
  EXPECT_EQ(classes.inner->inner, nullptr);

  const maps::MapSpec& counters = map("per_cpu_counters");
  ASSERT_NE(counters.inner, nullptr);
  EXPECT_EQ(counters.inner->type, type_of(MapType::Array));
  EXPECT_EQ(counters.inner->key_size, 4u);
  EXPECT_EQ(counters.inner->value_size, 4u);
  EXPECT_EQ(counters.inner->max_entries, 2u);
  EXPECT_TRUE(counters.inner->kptr_offsets.empty());
  for (const char* plain : {"flows", "pq", "events"}) EXPECT_EQ(map(plain).inner, nullptr) << plain;
}

TEST_F(MapsObject, GlobalDataSpecsAreByteExact) {
  struct Expected {
    const char* section;
    std::vector<uint8_t> bytes;
    bool read_only;
  };
  for (const Expected& e : std::vector<Expected>{
           {".data", {7, 0, 0, 0, 0, 0, 0, 0, 0x44, 0x33, 0x22, 0x11}, false},
           {".rodata", {0xea, 0x05, 0, 0, 0, 0, 0, 0, 0x80, 0x84, 0x1e, 0, 0, 0, 0, 0}, true},
           {".data.custom", {0x01, 0xef, 0xcd, 0xab}, false},
           {".rodata.custom", {9, 8, 7, 6}, true},
           {".bss", std::vector<uint8_t>(12, 0), false},
           {".rodata.str1.1", {'e', 'n', 'q', ' ', '%', 'u', '\n', 0}, true}}) {
    SCOPED_TRACE(e.section);
    const maps::MapSpec& m = map(e.section);
    EXPECT_EQ(m.section, e.section);
    EXPECT_EQ(m.name, std::string("loader_m") + e.section);
    EXPECT_EQ(m.type, type_of(MapType::Array));
    EXPECT_EQ(m.key_size, 4u);
    EXPECT_EQ(m.max_entries, 1u);
    EXPECT_EQ(m.value_size, e.bytes.size());
    EXPECT_TRUE(m.global_data);
    EXPECT_EQ(m.read_only, e.read_only);
    if (e.section != std::string(".bss")) {
      EXPECT_EQ(m.initial_value, e.bytes);
      EXPECT_EQ(m.initial_value, section_bytes(e.section));
    } else {
      EXPECT_EQ(raw.section(".bss").sh_type, 8u);  // SHT_NOBITS: no file bytes
      EXPECT_TRUE(m.initial_value.empty());          // zeros, which the map provides
    }
  }
}

TEST_F(MapsObject, LddwOfMapsAndGlobalsRewritten) {
  const ProgramSpec* enqueue = spec.program("qdisc/enqueue");
  ASSERT_NE(enqueue, nullptr);
  struct Expected {
    size_t insn;
    uint8_t src;
    const char* map;
    int32_t offset;
  };
  const uint8_t MAP = ebpf::PSEUDO_MAP_IDX, VALUE = ebpf::PSEUDO_MAP_IDX_VALUE;
  const std::vector<Expected> expected = {
      {5, MAP, "flows", 0},          {13, MAP, "stats", 0},
      {24, MAP, "backlog", 0},       {38, MAP, "pq", 0},
      {42, MAP, "flow_states", 0},   {46, MAP, "classes", 0},
      {50, MAP, "per_cpu_counters", 0},  // static map: .maps section symbol + 192
      {54, VALUE, ".data", 0},       {59, VALUE, ".data", 8},
      {64, VALUE, ".bss", 8},        {68, VALUE, ".bss", 0},
      {74, VALUE, ".rodata.str1.1", 0}, {79, VALUE, ".data.custom", 0},
      {82, VALUE, ".rodata", 0},     {86, VALUE, ".rodata.custom", 0}};
  // The oracle agrees on where the relocations are.
  const std::vector<RawRelocation> relocations = raw.relocations_of("qdisc/enqueue");
  ASSERT_EQ(relocations.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const Expected& e = expected[i];
    SCOPED_TRACE("insn " + std::to_string(e.insn));
    EXPECT_EQ(relocations[i].offset, e.insn * 8);
    EXPECT_EQ(relocations[i].type, 1u);  // R_BPF_64_64
    const ebpf::Insn& lddw = enqueue->insns[e.insn];
    EXPECT_EQ(lddw.code, ebpf::LDDW_OPCODE);
    EXPECT_EQ(lddw.src, e.src);
    EXPECT_EQ(lddw.imm, spec.map_index(e.map));
    EXPECT_EQ(enqueue->insns[e.insn + 1].imm, e.offset);
  }
  EXPECT_EQ(relocations[6].symbol.name, ".maps");
  EXPECT_EQ(relocations[6].symbol.type, 3);  // STT_SECTION
  // Helper calls keep their ids.
  EXPECT_EQ(enqueue->insns[7].imm, 1);
  EXPECT_EQ(enqueue->insns[28].imm, 87);
  EXPECT_EQ(enqueue->insns[77].imm, 6);
  EXPECT_TRUE(enqueue->kfunc_names.empty());

  const ProgramSpec* dequeue = spec.program("dequeue");
  ASSERT_NE(dequeue, nullptr);
  EXPECT_EQ(dequeue->insns[0].src, ebpf::PSEUDO_MAP_IDX);
  EXPECT_EQ(dequeue->insns[0].imm, spec.map_index("events"));
  EXPECT_EQ(dequeue->insns[6].src, ebpf::PSEUDO_MAP_IDX_VALUE);
  EXPECT_EQ(dequeue->insns[6].imm, spec.map_index(".rodata"));
  EXPECT_EQ(dequeue->insns[7].imm, 8);  // horizon_ns
}

TEST_F(MapsObject, MapIndexLookup) {
  EXPECT_EQ(spec.map_index("flows"), 0);
  EXPECT_EQ(spec.map_index("per_cpu_counters"), 6);
  EXPECT_EQ(spec.map_index("events"), 7);
  EXPECT_EQ(spec.map_index(".data"), 8);
  EXPECT_EQ(spec.map_index("loader_m.data"), 8);
  EXPECT_EQ(spec.map_index(".maps"), -1);  // the BTF maps' section is not a map
  EXPECT_EQ(spec.map_index("nope"), -1);
}

TEST(KfuncsObject, CallsResolvedToNamesPerProgram) {
  const ObjectSpec spec = load_object(test_object("loader_kfuncs"));
  ASSERT_EQ(spec_violation(spec), "");
  const RawElf raw(read_bytes(test_object("loader_kfuncs")));

  const ProgramSpec* hold = spec.program("qdisc/enqueue");
  ASSERT_NE(hold, nullptr);
  EXPECT_EQ(hold->name, "hold");
  EXPECT_EQ(hold->kfunc_names, (std::vector<std::string>{"bpf_skb_acquire", "bpf_skb_release"}));
  EXPECT_EQ(hold->insns[12].src, ebpf::CALL_KFUNC);
  EXPECT_EQ(hold->insns[12].imm, 0);
  EXPECT_EQ(hold->insns[20].src, ebpf::CALL_KFUNC);
  EXPECT_EQ(hold->insns[20].imm, 1);
  EXPECT_EQ(hold->insns[16].src, ebpf::CALL_HELPER);  // bpf_kptr_xchg is a helper
  EXPECT_EQ(hold->insns[16].imm, 194);
  EXPECT_EQ(hold->insns.size(), raw.function_insns("hold").size());
  EXPECT_EQ(hold->functions.size(), 1u);

  // Indexes are per program: bpf_skb_release is 1 in both, bpf_skb_kptr_get 0 in release.
  const ProgramSpec* release = spec.program("release");
  ASSERT_NE(release, nullptr);
  EXPECT_EQ(release->kfunc_names, (std::vector<std::string>{"bpf_skb_kptr_get", "bpf_skb_release"}));
  EXPECT_EQ(release->insns[9].src, ebpf::CALL_KFUNC);
  EXPECT_EQ(release->insns[9].imm, 0);
  EXPECT_EQ(release->insns[12].imm, 1);

  ASSERT_EQ(spec.maps.size(), 1u);
  const maps::MapSpec& held = spec.maps[0];
  EXPECT_EQ(held.name, "held_packets");
  EXPECT_EQ(held.type, type_of(MapType::Rbtree));
  EXPECT_EQ(held.key_size, 8u);
  EXPECT_EQ(held.value_size, 8u);
  EXPECT_EQ(held.max_entries, 64u);
  EXPECT_EQ(held.kptr_offsets, (std::vector<uint32_t>{0}));
  EXPECT_EQ(hold->insns[5].src, ebpf::PSEUDO_MAP_IDX);
  EXPECT_EQ(hold->insns[5].imm, 0);
  EXPECT_EQ(release->insns[4].src, ebpf::PSEUDO_MAP_IDX);
}

}  // namespace
}  // namespace bpfq::loader::test
