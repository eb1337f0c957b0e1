// CO-RE relocations and __kconfig externs, on clang-compiled objects (tests/loader/core): a fake
// kernel (core_target) whose .BTF is the target, and programs whose preserve_access_index types
// lay out the same structs differently. Offsets expected here are pinned by _Static_asserts in
// core_target.bpf.c.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "spec_invariants.hpp"
#include "test_support.hpp"

namespace bpfq::loader::test {
namespace {

using ebpf::Insn;

constexpr int32_t kPoison = 195896080;  // call 0xbad2310
enum : uint32_t {
  kByteOffset = 0, kByteSize = 1, kExists = 2, kSigned = 3, kLshift = 4, kRshift = 5,
  kTypeIdLocal = 6, kTypeIdTarget = 7, kTypeExists = 8, kTypeSize = 9, kEnumExists = 10,
  kEnumValue = 11,
};

std::string core_object(std::string_view name) {
  return std::string(BPFQ_CORE_OBJECTS_DIR) + "/" + std::string(name) + ".bpf.o";
}

// The raw .BTF section of an object file.
std::vector<uint8_t> btf_of(const std::string& path) {
  RawElf elf(read_bytes(path));
  const RawSection& s = elf.section(".BTF");
  const auto begin = elf.bytes().begin() + static_cast<ptrdiff_t>(s.sh_offset);
  return std::vector<uint8_t>(begin, begin + static_cast<ptrdiff_t>(s.sh_size));
}

const std::vector<uint8_t>& target_btf() {
  static const std::vector<uint8_t> btf = btf_of(core_object("core_target"));
  return btf;
}

LoadOptions with_target() {
  LoadOptions opts;
  opts.target_btf = target_btf();
  return opts;
}

bool is_poison(const Insn& insn) {
  return insn.code == (ebpf::JMP | ebpf::CALL) && insn.src == 0 && insn.imm == kPoison;
}

const CoreAccess& find(const ProgramSpec& p, std::string_view access, uint32_t kind, size_t nth = 0) {
  for (const CoreAccess& a : p.core_accesses)
    if (a.access == access && a.kind == kind && nth-- == 0) return a;
  throw std::runtime_error(p.name + ": no CO-RE access " + std::string(access) + " of kind " +
                           std::to_string(kind));
}

class CoreRelocs : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { spec_ = new ObjectSpec(load_object(core_object("core_prog"), with_target())); }
  static void TearDownTestSuite() { delete spec_; }
  static const ProgramSpec& program(std::string_view name) {
    const ProgramSpec* p = spec_->program(name);
    if (!p) throw std::runtime_error("no program " + std::string(name));
    return *p;
  }
  // The instruction a relocation patched, checked to hold the relocated value.
  static const Insn& load_store(const ProgramSpec& p, const CoreAccess& a, uint32_t size, bool store) {
    const Insn& insn = p.insns.at(a.insn);
    EXPECT_TRUE(a.resolved) << a.access;
    EXPECT_EQ(insn.off, static_cast<int16_t>(a.value)) << a.access;
    EXPECT_EQ(a.access_size, size) << a.access;
    EXPECT_EQ(a.is_store, store) << a.access;
    EXPECT_EQ(ebpf::insn_class(insn.code), store ? ebpf::STX : ebpf::LDX) << a.access;
    return insn;
  }
  static void alu_imm(const ProgramSpec& p, const CoreAccess& a, uint64_t value) {
    const Insn& insn = p.insns.at(a.insn);
    EXPECT_TRUE(a.resolved) << a.access;
    EXPECT_EQ(a.value, value) << a.access << " kind " << a.kind;
    EXPECT_EQ(insn.code, ebpf::ALU64 | ebpf::MOV | ebpf::K) << a.access;
    EXPECT_EQ(insn.imm, static_cast<int32_t>(value)) << a.access << " kind " << a.kind;
    EXPECT_EQ(a.access_size, 0u);
  }
  static void lddw_imm(const ProgramSpec& p, const CoreAccess& a, uint64_t value) {
    EXPECT_TRUE(a.resolved) << a.access;
    EXPECT_EQ(a.value, value) << a.access;
    const Insn& lo = p.insns.at(a.insn);
    const Insn& hi = p.insns.at(a.insn + 1);
    EXPECT_EQ(lo.code, ebpf::LDDW_OPCODE);
    EXPECT_EQ(lo.src, ebpf::LDDW_IMM64);
    EXPECT_EQ(static_cast<uint32_t>(lo.imm) | uint64_t{static_cast<uint32_t>(hi.imm)} << 32, value);
  }
  static inline ObjectSpec* spec_ = nullptr;
};

TEST_F(CoreRelocs, LoadsReadTheTargetsOffsets) {
  const ProgramSpec& p = program("read_fields");
  ASSERT_EQ(p.core_accesses.size(), 3u);
  const CoreAccess& tstamp = find(p, "sk_buff.tstamp", kByteOffset);  // through an anonymous union
  EXPECT_EQ(tstamp.type, "sk_buff");
  EXPECT_EQ(tstamp.value, 16u);
  EXPECT_EQ(load_store(p, tstamp, 8, false).code, ebpf::LDX | ebpf::MEM | ebpf::DW);
  EXPECT_EQ(find(p, "sk_buff.len", kByteOffset).value, 24u);
  load_store(p, find(p, "sk_buff.len", kByteOffset), 4, false);
  // mark is a u32 in the program and a u16 in the kernel: the load narrows to 2 bytes.
  const CoreAccess& mark = find(p, "sk_buff.mark", kByteOffset);
  EXPECT_EQ(mark.value, 28u);
  EXPECT_EQ(load_store(p, mark, 2, false).code, ebpf::LDX | ebpf::MEM | ebpf::H);
  // Sorted by instruction.
  for (size_t i = 1; i < p.core_accesses.size(); ++i)
    EXPECT_LT(p.core_accesses[i - 1].insn, p.core_accesses[i].insn);
}

TEST_F(CoreRelocs, StoresAreRecorded) {
  const ProgramSpec& p = program("write_fields");
  load_store(p, find(p, "sk_buff.len", kByteOffset), 4, false);
  const CoreAccess& tstamp = find(p, "sk_buff.tstamp", kByteOffset);
  EXPECT_EQ(tstamp.value, 16u);
  load_store(p, tstamp, 8, true);
  // skb->cb[8] = 1: the array index is part of the access (cb lies at 40 in the kernel).
  const CoreAccess& cb = find(p, "sk_buff.cb[8]", kByteOffset);
  EXPECT_EQ(cb.value, 48u);
  load_store(p, cb, 1, true);

  const ProgramSpec& q = program("queue_length");
  ASSERT_EQ(q.core_accesses.size(), 4u);
  alu_imm(q, find(q, "Qdisc.q.qlen", kByteOffset, 0), 56);  // the address for the atomic add
  load_store(q, find(q, "Qdisc.q.qlen", kByteOffset, 1), 4, false);
  load_store(q, find(q, "Qdisc.q.qlen", kByteOffset, 2), 4, true);
  load_store(q, find(q, "Qdisc.q.qlen", kByteOffset, 3), 4, false);
}

TEST_F(CoreRelocs, MissingFieldPoisonsTheInstruction) {
  const ProgramSpec& p = program("missing_field");
  const CoreAccess& a = find(p, "sk_buff.not_in_kernel", kByteOffset);
  EXPECT_FALSE(a.resolved);
  EXPECT_EQ(a.value, 0u);
  EXPECT_EQ(a.access_size, 8u);  // what the program meant to read
  EXPECT_TRUE(is_poison(p.insns[a.insn]));
  EXPECT_EQ(p.insns.size(), 2u);  // nothing inserted

  // hash is an int in the program and a long in the kernel: a signed field cannot be resized.
  const ProgramSpec& s = program("signed_resized");
  const CoreAccess& hash = find(s, "sk_buff.hash", kByteOffset);
  EXPECT_FALSE(hash.resolved);
  EXPECT_TRUE(is_poison(s.insns[hash.insn]));
}

TEST_F(CoreRelocs, FlavorMatchesByEssentialName) {
  const ProgramSpec& p = program("flavor");
  const CoreAccess& len = find(p, "sk_buff.len", kByteOffset);
  EXPECT_EQ(len.type, "sk_buff");  // sk_buff___old
  EXPECT_EQ(len.value, 24u);
  load_store(p, len, 4, false);
  const CoreAccess& gone = find(p, "sk_buff.gone", kExists);
  alu_imm(p, gone, 0);  // an absent field is no failure: bpf_core_field_exists gives 0
  alu_imm(p, find(p, "sk_buff.len", kExists), 1);
}

TEST_F(CoreRelocs, TypeQueries) {
  const ProgramSpec& p = program("type_queries");
  alu_imm(p, find(p, "sk_buff", kTypeSize), 96);
  alu_imm(p, find(p, "not_in_kernel", kTypeExists), 0);
  alu_imm(p, find(p, "Qdisc", kTypeExists), 1);
  alu_imm(p, find(p, "sk_buff.cb", kByteSize), 48);

  // TYPE_ID_LOCAL keeps the object's own id (what bpf_obj_new is given); TYPE_ID_TARGET is the
  // kernel's.
  const ProgramSpec& ids = program("type_ids");
  const CoreAccess& local = find(ids, "Qdisc", kTypeIdLocal);
  const RawElf raw(read_bytes(core_object("core_prog")));
  const std::vector<Insn> compiled = raw.function_insns("type_ids");
  EXPECT_EQ(local.value, static_cast<uint64_t>(compiled[local.insn].imm));
  lddw_imm(ids, local, local.value);
  lddw_imm(ids, find(ids, "Qdisc", kTypeIdTarget), 19);  // [19] STRUCT 'Qdisc' in core_target

  const ProgramSpec& none = program("no_such_type");
  const CoreAccess& size = find(none, "not_in_kernel", kTypeSize);
  EXPECT_FALSE(size.resolved);
  EXPECT_TRUE(is_poison(none.insns[size.insn]));
}

TEST_F(CoreRelocs, EnumQueries) {
  const ProgramSpec& p = program("enum_queries");
  lddw_imm(p, find(p, "skb_drop_reason.SKB_DROP_FULL", kEnumValue), 5);
  lddw_imm(p, find(p, "skb_drop_reason.SKB_DROP_GONE", kEnumExists), 0);
  lddw_imm(p, find(p, "skb_drop_reason.SKB_NOT_DROPPED", kEnumExists), 1);
  // 32-bit enumerators are sign-extended, as libbpf does (clang 14 compiled -1 as such).
  lddw_imm(p, find(p, "skb_drop_reason.SKB_DROP_NEGATIVE", kEnumValue), static_cast<uint64_t>(-3));

  // Both halves of the lddw are poisoned; the program keeps its length.
  const ProgramSpec& none = program("no_such_enumerator");
  const CoreAccess& gone = find(none, "skb_drop_reason.SKB_DROP_GONE", kEnumValue);
  EXPECT_FALSE(gone.resolved);
  EXPECT_TRUE(is_poison(none.insns[gone.insn]));
  EXPECT_TRUE(is_poison(none.insns[gone.insn + 1]));
  EXPECT_EQ(none.insns.size(), 3u);
}

// BPF_CORE_READ_BITFIELD: in the kernel, prio is int:5 at bit 248 and flag unsigned:3 at bit
// 253; both are read with a 4-byte load at byte 28.
TEST_F(CoreRelocs, Bitfields) {
  const ProgramSpec& p = program("bitfields");
  alu_imm(p, find(p, "sk_buff.prio", kByteOffset), 28);
  alu_imm(p, find(p, "sk_buff.prio", kByteSize), 4);
  alu_imm(p, find(p, "sk_buff.prio", kSigned), 1);
  alu_imm(p, find(p, "sk_buff.flag", kSigned), 0);
  alu_imm(p, find(p, "sk_buff.flag", kByteOffset), 28);
  for (const char* field : {"sk_buff.prio", "sk_buff.flag"}) {
    const bool prio = std::string(field) == "sk_buff.prio";
    const CoreAccess& lshift = find(p, field, kLshift);
    EXPECT_EQ(lshift.value, prio ? 64u - (248 + 5 - 224) : 64u - (253 + 3 - 224));
    EXPECT_EQ(p.insns[lshift.insn].imm, static_cast<int32_t>(lshift.value));
    for (size_t k = 0; k < 2; ++k) {  // the signed and unsigned shift of the macro
      const CoreAccess& rshift = find(p, field, kRshift, k);
      EXPECT_EQ(rshift.value, prio ? 59u : 61u);
      EXPECT_EQ(p.insns[rshift.insn].imm, static_cast<int32_t>(rshift.value));
    }
  }
}

TEST_F(CoreRelocs, SubProgramAccessesMoveWithIt) {
  const ProgramSpec& p = program("calls_sub");
  ASSERT_EQ(p.functions.size(), 2u);
  ASSERT_EQ(p.core_accesses.size(), 1u);
  const CoreAccess& len = p.core_accesses[0];
  EXPECT_EQ(len.access, "sk_buff.len");
  EXPECT_EQ(len.insn, p.functions[1].start);  // length_of's first instruction
  load_store(p, len, 4, false);
}

TEST_F(CoreRelocs, EveryRecordIsListedAndTheSpecIsConsistent) {
  size_t total = 0;
  for (const ProgramSpec& p : spec_->programs) {
    total += p.core_accesses.size();
    for (const CoreAccess& a : p.core_accesses) {
      EXPECT_LT(a.insn, p.insns.size());
      EXPECT_FALSE(a.type.empty());
    }
  }
  EXPECT_EQ(total, 40u);  // 39 in section tc, 1 in .text (placed once, in calls_sub)
  EXPECT_EQ(spec_violation(*spec_), "");
}

TEST(CoreRelocsOptions, ObjectsWithoutCoreLoadAsBefore) {
  for (const char* name : {"loader_calls", "loader_maps", "loader_kfuncs"}) {
    const ObjectSpec plain = load_object(test_object(name));
    const ObjectSpec with = load_object(test_object(name), with_target());
    ASSERT_EQ(plain.programs.size(), with.programs.size()) << name;
    for (size_t i = 0; i < plain.programs.size(); ++i) {
      EXPECT_EQ(plain.programs[i].insns, with.programs[i].insns) << name;
      EXPECT_TRUE(with.programs[i].core_accesses.empty()) << name;
    }
    EXPECT_EQ(plain.maps.size(), with.maps.size()) << name;
  }
}

TEST(CoreRelocsOptions, NoTargetBtfIsAnError) {
  expect_error([] { load_object(core_object("core_prog")); },
               core_object("core_prog") + " section tc insn 0",
               "CO-RE relocations but no target BTF");
}

TEST(CoreRelocsOptions, AmbiguousCandidatesAreAnError) {
  const Error e = expect_error([] { load_object(core_object("core_ambiguous"), with_target()); },
                               core_object("core_ambiguous") + " section tc insn 0",
                               "CO-RE relocation amb.x is ambiguous");
  EXPECT_NE(e.reason().find("amb___v2"), std::string::npos) << e.reason();
}

// The real kernel's BTF, when this machine exposes it: the fake program's sk_buff and Qdisc
// accesses that exist in Linux resolve to its offsets.
TEST(CoreRelocsOptions, ResolvesAgainstTheRunningKernel) {
  const std::string vmlinux = "/sys/kernel/btf/vmlinux";
  std::error_code ec;
  if (!std::filesystem::exists(vmlinux, ec)) GTEST_SKIP() << "no " << vmlinux;
  std::vector<uint8_t> btf;
  try {
    btf = read_bytes(vmlinux);
  } catch (const std::exception& e) {
    GTEST_SKIP() << e.what();
  }
  LoadOptions opts;
  opts.target_btf = btf;
  const ObjectSpec spec = load_object(core_object("core_prog"), opts);
  const ProgramSpec* p = spec.program("read_fields");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(find(*p, "sk_buff.len", kByteOffset).resolved);
  EXPECT_TRUE(find(*p, "sk_buff.tstamp", kByteOffset).resolved);
  EXPECT_TRUE(find(*spec.program("queue_length"), "Qdisc.q.qlen", kByteOffset).resolved);
  EXPECT_FALSE(find(*spec.program("missing_field"), "sk_buff.not_in_kernel", kByteOffset).resolved);
}

// ---- __kconfig externs ----

LoadOptions kconfig_values() {
  LoadOptions opts;
  opts.kconfig = {{"CONFIG_HZ", 250},
                  {"CONFIG_BPF_SYSCALL", 1},
                  {"CONFIG_BIG", 0x1122334455667788},
                  {"CONFIG_NEGATIVE", static_cast<uint64_t>(-7)},
                  {"CONFIG_TRISTATE", 2}};
  return opts;
}

TEST(Kconfig, ExternsBecomeAReadOnlyMap) {
  const ObjectSpec spec = load_object(core_object("core_kconfig"), kconfig_values());
  const int index = spec.map_index(".kconfig");
  ASSERT_GE(index, 0);
  const maps::MapSpec& m = spec.maps[static_cast<size_t>(index)];
  EXPECT_EQ(m.section, ".kconfig");
  EXPECT_TRUE(m.read_only);
  EXPECT_EQ(m.type, static_cast<uint32_t>(maps::MapType::Array));
  EXPECT_EQ(m.max_entries, 1u);
  EXPECT_EQ(m.key_size, 4u);
  // libbpf's layout: descending alignment, then ascending size, then name.
  struct Slot {
    const char* name;
    uint32_t offset, size;
    uint64_t value;
  };
  const Slot slots[] = {{"CONFIG_BIG", 0, 8, 0x1122334455667788},
                        {"CONFIG_HZ", 8, 4, 250},
                        {"CONFIG_NEGATIVE", 12, 4, 0xfffffff9},
                        {"CONFIG_TRISTATE", 16, 4, 2},
                        {"CONFIG_BPF_SYSCALL", 20, 1, 1},
                        {"CONFIG_CHAR", 21, 1, 0}};  // __weak, not provided: 0
  EXPECT_EQ(m.value_size, 24u);
  ASSERT_EQ(m.initial_value.size(), m.value_size);
  for (const Slot& s : slots) {
    SCOPED_TRACE(s.name);
    uint64_t v = 0;
    std::memcpy(&v, m.initial_value.data() + s.offset, s.size);
    EXPECT_EQ(v, s.value);
    const GlobalVariable* g = nullptr;
    for (const GlobalVariable& candidate : spec.globals)
      if (candidate.name == s.name) g = &candidate;
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->map_index, static_cast<uint32_t>(index));
    EXPECT_EQ(g->offset, s.offset);
    EXPECT_EQ(g->size, s.size);
  }
  for (const GlobalVariable& g : spec.globals) EXPECT_NE(g.name, "CONFIG_UNUSED");

  // Each lddw of an extern addresses its slot like a .data global.
  const ProgramSpec& p = *spec.program("read_config");
  const RawElf raw(read_bytes(core_object("core_kconfig")));
  size_t lddws = 0;
  for (const RawRelocation& r : raw.relocations_of("tc")) {
    const Insn& insn = p.insns[r.offset / 8];
    ASSERT_EQ(insn.src, ebpf::PSEUDO_MAP_IDX_VALUE) << r.symbol.name;
    EXPECT_EQ(insn.imm, index);
    for (const Slot& s : slots) {
      if (r.symbol.name != s.name) continue;
      EXPECT_EQ(static_cast<uint32_t>(p.insns[r.offset / 8 + 1].imm), s.offset);
    }
    ++lddws;
  }
  EXPECT_EQ(lddws, 6u);
  // The TYPE_ID_LOCAL relocation needed no target BTF.
  ASSERT_EQ(p.core_accesses.size(), 1u);
  EXPECT_EQ(p.core_accesses[0].access, "node");
  EXPECT_EQ(spec_violation(spec), "");
}

TEST(Kconfig, StrongExternWithoutValueIsAnError) {
  LoadOptions opts = kconfig_values();
  opts.kconfig.erase("CONFIG_HZ");
  const Error e = expect_error([&] { load_object(core_object("core_kconfig"), opts); },
                               core_object("core_kconfig"), "'CONFIG_HZ' has no value");
  EXPECT_NE(e.hint().find("bpfq provides: CONFIG_BIG, CONFIG_BPF_SYSCALL, CONFIG_NEGATIVE"),
            std::string::npos)
      << e.hint();
  // Weak ones are simply 0.
  LoadOptions only_hz;
  only_hz.kconfig = {{"CONFIG_HZ", 1000}};
  const ObjectSpec spec = load_object(core_object("core_kconfig"), only_hz);
  const maps::MapSpec& m = spec.maps[static_cast<size_t>(spec.map_index(".kconfig"))];
  std::vector<uint8_t> expected(24, 0);
  expected[8] = 1000 & 0xff;
  expected[9] = 1000 >> 8;
  EXPECT_EQ(m.initial_value, expected);
}

TEST(Kconfig, ValueMustFitTheExtern) {
  LoadOptions opts = kconfig_values();
  opts.kconfig["CONFIG_HZ"] = uint64_t{1} << 32;
  expect_error([&] { load_object(core_object("core_kconfig"), opts); }, core_object("core_kconfig"),
               "does not fit its 4 bytes");
  opts = kconfig_values();
  opts.kconfig["CONFIG_BPF_SYSCALL"] = 256;
  expect_error([&] { load_object(core_object("core_kconfig"), opts); }, core_object("core_kconfig"),
               "does not fit its 1 bytes");
}

// ---- corrupted CO-RE records ----

struct RawCoreRecord {
  size_t at;  // file offset of the record
  uint32_t insn_off, type_id, access_off, kind;
};

class CoreCorrupted : public ::testing::Test {
 protected:
  void SetUp() override {
    const RawSection& ext = elf.section(".BTF.ext");
    ext_ = ext.sh_offset;
    const uint32_t hdr_len = elf.read<uint32_t>(ext_ + 4);
    relo_ = ext_ + hdr_len + elf.read<uint32_t>(ext_ + 24);  // core_relo_off
    const size_t end = relo_ + elf.read<uint32_t>(ext_ + 28);
    const uint32_t rec_size = elf.read<uint32_t>(relo_);
    for (size_t pos = relo_ + 4; pos < end;) {
      const uint32_t count = elf.read<uint32_t>(pos + 4);
      sections_.push_back(pos);
      pos += 8;
      for (uint32_t i = 0; i < count; ++i, pos += rec_size)
        records_.push_back({pos, elf.read<uint32_t>(pos), elf.read<uint32_t>(pos + 4),
                            elf.read<uint32_t>(pos + 8), elf.read<uint32_t>(pos + 12)});
    }
    ASSERT_EQ(records_.size(), 40u);
  }
  void expect_rejected(const std::string& where, const std::string& reason) {
    expect_error([&] { load_object(elf.bytes(), kName, with_target()); }, where, reason);
  }
  // The offset of a string in .BTF's string table.
  uint32_t btf_string(std::string_view s) {
    const size_t btf = elf.section(".BTF").sh_offset;
    const size_t strings = btf + elf.read<uint32_t>(btf + 4) + elf.read<uint32_t>(btf + 16);
    const size_t len = elf.read<uint32_t>(btf + 20);
    const std::string table(reinterpret_cast<const char*>(elf.bytes().data() + strings), len);
    const size_t at = table.find(std::string(1, '\0') + std::string(s) + '\0');
    if (at == std::string::npos) throw std::runtime_error("no BTF string " + std::string(s));
    return static_cast<uint32_t>(at + 1);
  }
  const RawCoreRecord& first_record() { return records_.at(0); }  // read_fields insn 0: tstamp

  static inline const std::string kName = "core_prog.bpf.o";
  const std::string at_ext = kName + " section .BTF.ext";
  RawElf elf{read_bytes(core_object("core_prog"))};
  size_t ext_ = 0, relo_ = 0;
  std::vector<size_t> sections_;
  std::vector<RawCoreRecord> records_;
};

TEST_F(CoreCorrupted, UnmodifiedCopyLoads) {
  EXPECT_EQ(spec_violation(load_object(elf.bytes(), kName, with_target())), "");
}

TEST_F(CoreCorrupted, RecordSizeTooSmall) {
  elf.write<uint32_t>(relo_, 8);
  expect_rejected(at_ext, "CO-RE relocation info record size 8 is too small");
}

TEST_F(CoreCorrupted, SubsectionOutsideTheSection) {
  elf.write<uint32_t>(ext_ + 28, 0x10000);
  expect_rejected(at_ext, "CO-RE relocation info lies outside .BTF.ext");
}

TEST_F(CoreCorrupted, RecordCountTooLarge) {
  elf.write<uint32_t>(sections_[0] + 4, 1000);
  expect_rejected(at_ext, "CO-RE relocation info for section tc is truncated");
}

TEST_F(CoreCorrupted, SectionWithoutCode) {
  elf.write<uint32_t>(sections_[0], btf_string("license"));
  expect_rejected(at_ext, "CO-RE relocations name section license, which holds no code");
}

TEST_F(CoreCorrupted, InstructionOffsetNotAMultipleOf8) {
  elf.write<uint32_t>(first_record().at, 4);
  expect_rejected(kName + " section tc", "CO-RE relocation at byte offset 4 does not name an instruction");
}

TEST_F(CoreCorrupted, InstructionOffsetOutOfRange) {
  elf.write<uint32_t>(first_record().at, 8 * 4096);
  expect_rejected(kName + " section tc", "CO-RE relocation at byte offset 32768 does not name an instruction");
}

TEST_F(CoreCorrupted, BadAccessStrings) {
  for (const char* text : {"read_fields", "len"}) {  // names, not indexes
    elf.write<uint32_t>(first_record().at + 8, btf_string(text));
    expect_rejected(kName + " section tc insn 0", "bad CO-RE access string \"" + std::string(text) + "\"");
  }
  elf.write<uint32_t>(first_record().at + 8, btf_string("0:7"));  // on struct Qdisc: 1 member
  elf.write<uint32_t>(first_record().at + 4, records_.at(6).type_id);
  expect_rejected(kName + " section tc insn 0", "CO-RE access Qdisc names member 7 of a type with 1");
}

TEST_F(CoreCorrupted, TypeIdOutOfRange) {
  elf.write<uint32_t>(first_record().at + 4, 0xffff);
  expect_rejected(kName + " section tc insn 0", "CO-RE relocation names BTF type 65535, which does not exist");
  elf.write<uint32_t>(first_record().at + 4, 0);
  expect_rejected(kName + " section tc insn 0", "CO-RE relocation names BTF type 0");
}

TEST_F(CoreCorrupted, UnknownKind) {
  elf.write<uint32_t>(first_record().at + 12, 13);
  expect_rejected(kName + " section tc insn 0", "unknown CO-RE relocation kind 13");
}

TEST_F(CoreCorrupted, KindThatDoesNotFitTheRecord) {
  elf.write<uint32_t>(first_record().at + 12, kTypeSize);  // access "0:2:0"
  expect_rejected(kName + " section tc insn 0", "TYPE_SIZE relocation with access string other than \"0\"");
  elf.write<uint32_t>(first_record().at + 12, kByteSize);  // on a load
  expect_rejected(kName + " section tc insn 0", "FIELD_BYTE_SIZE relocation on a load or store");
}

TEST_F(CoreCorrupted, InstructionThatDoesNotHoldTheLocalValue) {
  // read_fields insn 0 is r2 = *(u64 *)(r1 + 8): tstamp lies at 8 in the program's struct.
  const size_t code = elf.section("tc").sh_offset;
  elf.write<uint16_t>(code + 2, 12);
  expect_rejected(kName + " section tc insn 0", "holds 12, but the object's BTF gives 8");
}

TEST_F(CoreCorrupted, RecordOnAnInstructionThatCannotTakeOne) {
  elf.write<uint32_t>(first_record().at, 5 * 8);  // read_fields' exit
  expect_rejected(kName + " section tc insn 5", "relocation on an instruction (opcode 0x95) that cannot take one");
  elf.write<uint32_t>(first_record().at, 41 * 8);  // second half of type_ids' first lddw
  expect_rejected(kName + " section tc insn 41", "second half of a 64-bit immediate load");
  // A copy of the next record (len, insn 1).
  const RawCoreRecord& len = records_.at(1);
  for (size_t k = 0; k < 4; ++k)
    elf.write<uint32_t>(first_record().at + 4 * k, elf.read<uint32_t>(len.at + 4 * k));
  expect_rejected(kName + " section tc insn 1", "two CO-RE relocations apply to one instruction");
}

TEST_F(CoreCorrupted, CorruptedTargetBtf) {
  std::vector<uint8_t> btf = target_btf();
  btf.resize(btf.size() / 2);
  LoadOptions opts;
  opts.target_btf = btf;
  expect_error([&] { load_object(elf.bytes(), kName, opts); }, kName + " target BTF", "BTF");
}

// Mutations of the CO-RE records, the code and both BTFs: a consistent spec or a bpfq::Error,
// never a crash (ASan) or another exception.
TEST_F(CoreCorrupted, MutantsLoadConsistentlyOrFailWithError) {
  const std::vector<uint8_t> original = elf.bytes();
  const RawSection& ext = elf.section(".BTF.ext");
  const RawSection& btf = elf.section(".BTF");
  const RawSection& code = elf.section("tc");
  struct Region {
    size_t offset, size;
  };
  const Region regions[] = {{relo_, ext.sh_offset + ext.sh_size - relo_}, {ext.sh_offset, 32},
                            {code.sh_offset, code.sh_size}, {btf.sh_offset, btf.sh_size}};
  std::mt19937_64 rng(42);
  size_t loaded = 0, rejected = 0;
  // BPFQ_LOADER_FUZZ_ITERATIONS (as for fuzz_test.cpp) runs longer by hand.
  const char* env = std::getenv("BPFQ_LOADER_FUZZ_ITERATIONS");
  const size_t iterations = env ? std::strtoull(env, nullptr, 10) : 3000;
  for (size_t i = 0; i < iterations; ++i) {
    std::vector<uint8_t> bytes = original;
    std::vector<uint8_t> target = target_btf();
    const int rounds = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < rounds; ++k) {
      const bool in_target = rng() % 5 == 0;
      std::vector<uint8_t>& victim = in_target ? target : bytes;
      const Region r = in_target ? Region{0, target.size()} : regions[rng() % std::size(regions)];
      const size_t at = r.offset + (rng() % r.size & ~size_t{3});
      if (at + 4 > victim.size()) continue;
      const uint32_t values[] = {0, 1, 2, 8, 0xffffffff, 0x7fffffff, static_cast<uint32_t>(rng() % 64),
                                 static_cast<uint32_t>(rng())};
      uint32_t v = values[rng() % std::size(values)];
      if (rng() % 2) {  // or a bit flip
        std::memcpy(&v, victim.data() + at, 4);
        v ^= 1u << (rng() % 32);
      }
      std::memcpy(victim.data() + at, &v, 4);
    }
    LoadOptions opts;
    opts.target_btf = target;
    try {
      const ObjectSpec spec = load_object(bytes, kName, opts);
      ASSERT_EQ(spec_violation(spec), "") << "mutant " << i;
      ++loaded;
    } catch (const Error& e) {
      ASSERT_FALSE(e.reason().empty()) << i;
      ++rejected;
    }
  }
  std::printf("core_prog mutants: %zu loaded, %zu rejected\n", loaded, rejected);
  EXPECT_GT(loaded, iterations / 30);
  EXPECT_GT(rejected, iterations / 6);
}

}  // namespace
}  // namespace bpfq::loader::test
