// loader_calls.bpf.o: entry programs per section, sub-programs appended once each in order of
// first use, call immediates and function addresses rewritten to the linked layout.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spec_invariants.hpp"
#include "test_support.hpp"

namespace bpfq::loader::test {
namespace {

using ebpf::Insn;

class CallsObject : public ::testing::Test {
 protected:
  void SetUp() override {
    spec = load_object(test_object("loader_calls"));
    ASSERT_EQ(spec_violation(spec), "");
  }
  const ProgramSpec& program(std::string_view name) {
    const ProgramSpec* p = spec.program(name);
    if (!p) throw std::runtime_error("no program " + std::string(name));
    return *p;
  }
  std::vector<std::string> function_names(const ProgramSpec& p) {
    std::vector<std::string> out;
    for (const FunctionRange& f : p.functions) out.push_back(f.name);
    return out;
  }
  // The instruction index a call or PSEUDO_FUNC lddw at `at` lands on.
  static size_t target_of(const ProgramSpec& p, size_t at) {
    return static_cast<size_t>(static_cast<int64_t>(at) + p.insns[at].imm + 1);
  }
  const FunctionRange& range(const ProgramSpec& p, std::string_view fn) {
    for (const FunctionRange& f : p.functions)
      if (f.name == fn) return f;
    throw std::runtime_error("no function " + std::string(fn));
  }

  RawElf raw{read_bytes(test_object("loader_calls"))};
  ObjectSpec spec;
};

TEST_F(CallsObject, ProgramsInSectionOrderThenOffset) {
  ASSERT_EQ(spec.programs.size(), 5u);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"uses_chain", "qdisc/enqueue"}, {"uses_loop", "qdisc/dequeue"}, {"tc_first", "tc"},
      {"tc_second", "tc"},             {"no_calls", "xdp"}};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(spec.programs[i].name, expected[i].first);
    EXPECT_EQ(spec.programs[i].section, expected[i].second);
  }
  EXPECT_EQ(spec.license, "GPL");
  EXPECT_EQ(spec.path, test_object("loader_calls"));
  // .text functions (global_helper included) are never entry programs.
  EXPECT_EQ(spec.program("global_helper"), nullptr);
  EXPECT_EQ(spec.program("tc"), &spec.programs[2]);  // first program of the section
  EXPECT_EQ(spec.program("tc_second"), &spec.programs[3]);
}

TEST_F(CallsObject, SubProgramsAppendedOnceInOrderOfFirstUse) {
  EXPECT_EQ(function_names(program("uses_chain")),
            (std::vector<std::string>{"uses_chain", "top", "middle", "leaf"}));
  EXPECT_EQ(function_names(program("uses_loop")),
            (std::vector<std::string>{"uses_loop", "add_index", "count_up", "leaf"}));
  EXPECT_EQ(function_names(program("tc_first")),
            (std::vector<std::string>{"tc_first", "leaf", "global_helper"}));
  EXPECT_EQ(function_names(program("tc_second")), (std::vector<std::string>{"tc_second"}));
  EXPECT_EQ(function_names(program("no_calls")), (std::vector<std::string>{"no_calls"}));
}

// The raw ELF is the oracle: each placed function is the symbol's instructions, and the program
// is exactly as long as its functions; only call/lddw immediates and src_reg may differ.
TEST_F(CallsObject, InstructionsAreTheRawFunctionsConcatenated) {
  for (const ProgramSpec& p : spec.programs) {
    size_t total = 0;
    for (const FunctionRange& f : p.functions) {
      const std::vector<Insn> original = raw.function_insns(f.name);
      ASSERT_EQ(f.count, original.size()) << p.name << "/" << f.name;
      EXPECT_EQ(f.start, total) << p.name << "/" << f.name;
      for (size_t i = 0; i < original.size(); ++i) {
        const Insn& got = p.insns[f.start + i];
        EXPECT_EQ(got.code, original[i].code) << p.name << "/" << f.name << " insn " << i;
        EXPECT_EQ(got.dst, original[i].dst) << p.name << "/" << f.name << " insn " << i;
        EXPECT_EQ(got.off, original[i].off) << p.name << "/" << f.name << " insn " << i;
        const bool rewritten = got.code == (ebpf::JMP | ebpf::CALL) || got.code == ebpf::LDDW_OPCODE ||
                               (i > 0 && original[i - 1].code == ebpf::LDDW_OPCODE);
        if (!rewritten) {
          EXPECT_EQ(got, original[i]) << p.name << "/" << f.name << " insn " << i;
        }
      }
      total += f.count;
    }
    EXPECT_EQ(p.insns.size(), total) << p.name;
  }
  EXPECT_EQ(program("uses_chain").insns.size(), 3u + 3u + 8u + 6u);
  EXPECT_EQ(program("tc_second").insns.size(), 6u);
  EXPECT_EQ(program("no_calls").insns.size(), 2u);
}

TEST_F(CallsObject, CrossSectionCallsRelocatedAndInSectionCallsRebased) {
  const ProgramSpec& p = program("uses_chain");
  // uses_chain[1] calls top (R_BPF_64_32 against .text, imm 3 -> .text insn 4).
  ASSERT_EQ(raw.relocations_of("qdisc/enqueue").size(), 1u);
  EXPECT_EQ(raw.relocations_of("qdisc/enqueue")[0].type, 10u);  // R_BPF_64_32
  EXPECT_EQ(p.insns[1].src, ebpf::CALL_LOCAL);
  EXPECT_EQ(p.insns[1].imm, 1);
  EXPECT_EQ(target_of(p, 1), range(p, "top").start);
  // top -> middle and middle -> leaf (twice) are pc-relative inside .text, without relocations.
  const size_t top = range(p, "top").start, middle = range(p, "middle").start;
  EXPECT_EQ(target_of(p, top), middle);
  EXPECT_EQ(target_of(p, middle + 1), range(p, "leaf").start);
  EXPECT_EQ(target_of(p, middle + 5), range(p, "leaf").start);
  EXPECT_EQ(p.insns[middle + 1].imm, 6);
  EXPECT_EQ(p.insns[middle + 5].imm, 2);
}

TEST_F(CallsObject, CallOfGlobalFunctionSymbol) {
  const ProgramSpec& p = program("tc_first");
  // insn 5 is `call -1` against the symbol global_helper; insn 2 calls leaf via .text + 20.
  EXPECT_EQ(raw.symbol("global_helper").bind, 1);  // STB_GLOBAL
  EXPECT_EQ(target_of(p, 2), range(p, "leaf").start);
  EXPECT_EQ(target_of(p, 5), range(p, "global_helper").start);
  EXPECT_EQ(p.insns[2].imm, 8 - 3);
  EXPECT_EQ(p.insns[5].imm, 14 - 6);
  EXPECT_EQ(p.insns.size(), 8u + 6u + 4u);
}

TEST_F(CallsObject, CallbackAddressesBecomePseudoFunc) {
  const ProgramSpec& p = program("uses_loop");
  for (const auto& [at, callee] : {std::pair<size_t, std::string>{6, "add_index"}, {12, "count_up"}}) {
    SCOPED_TRACE(callee);
    EXPECT_EQ(p.insns[at].code, ebpf::LDDW_OPCODE);
    EXPECT_EQ(p.insns[at].src, ebpf::PSEUDO_FUNC);
    EXPECT_EQ(target_of(p, at), range(p, callee).start);
    EXPECT_EQ(p.insns[at + 1].imm, 0);
  }
  EXPECT_EQ(p.insns[6].imm, 19 - 7);
  EXPECT_EQ(p.insns[12].imm, 28 - 13);
  // bpf_loop stays a helper call.
  EXPECT_EQ(p.insns[10].src, ebpf::CALL_HELPER);
  EXPECT_EQ(p.insns[10].imm, 181);
  // leaf, reached only from the callback add_index, is appended after it.
  const size_t add_index = range(p, "add_index").start;
  EXPECT_EQ(target_of(p, add_index + 3), range(p, "leaf").start);
}

TEST_F(CallsObject, GlobalFromSubProgramBecomesMapValueLoad) {
  ASSERT_EQ(spec.maps.size(), 1u);
  const maps::MapSpec& data = spec.maps[0];
  EXPECT_EQ(data.name, "loader_c.data");
  EXPECT_EQ(data.section, ".data");
  EXPECT_EQ(data.initial_value, (std::vector<uint8_t>{3, 0, 0, 0}));
  for (const char* name : {"uses_chain", "uses_loop", "tc_first"}) {
    const ProgramSpec& p = program(name);
    const Insn& load = p.insns[range(p, "leaf").start];
    EXPECT_EQ(load.src, ebpf::PSEUDO_MAP_IDX_VALUE) << name;
    EXPECT_EQ(load.imm, 0) << name;
    EXPECT_EQ(p.insns[range(p, "leaf").start + 1].imm, 0) << name;
  }
}

TEST_F(CallsObject, FunctionAtFindsTheContainingFunction) {
  const ProgramSpec& p = program("uses_chain");
  EXPECT_EQ(p.function_at(0)->name, "uses_chain");
  EXPECT_EQ(p.function_at(2)->name, "uses_chain");
  EXPECT_EQ(p.function_at(3)->name, "top");
  EXPECT_EQ(p.function_at(19)->name, "leaf");
  EXPECT_EQ(p.function_at(20), nullptr);
}

TEST(LoaderFromMemory, SameResultAsFromFile) {
  const std::vector<uint8_t> bytes = read_bytes(test_object("loader_calls"));
  const ObjectSpec from_memory = load_object(bytes, "calls.bpf.o");
  const ObjectSpec from_file = load_object(test_object("loader_calls"));
  EXPECT_EQ(from_memory.path, "calls.bpf.o");
  EXPECT_EQ(from_memory.maps[0].name, "calls.data");
  ASSERT_EQ(from_memory.programs.size(), from_file.programs.size());
  for (size_t i = 0; i < from_file.programs.size(); ++i)
    EXPECT_EQ(from_memory.programs[i].insns, from_file.programs[i].insns);
}

TEST(LoaderFromFile, MissingFileIsAnError) {
  const std::string path = std::string(BPFQ_BINARY_DIR) + "/progs/tests/no_such_object.bpf.o";
  expect_error([&] { load_object(path); }, path, "cannot open");
}

}  // namespace
}  // namespace bpfq::loader::test
