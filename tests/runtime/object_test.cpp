// runtime::Object: opening clang-built objects, finding programs and maps, load errors.
#include <gtest/gtest.h>

#include <algorithm>

#include <bpfq/ebpf/insn.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/runtime/helpers.hpp>

#include "runtime_test_support.hpp"
#include "support/error_of.hpp"

namespace bpfq::runtime::test {
namespace {

using bpfq::test::error_of;

// Index of the first call instruction with imm (the offending call), as the loader linked it.
size_t call_index(const loader::ProgramSpec& p, int32_t imm) {
  for (size_t i = 0; i < p.insns.size(); ++i)
    if (p.insns[i].code == (ebpf::JMP | ebpf::CALL) && p.insns[i].src == ebpf::CALL_HELPER && p.insns[i].imm == imm) return i;
  return SIZE_MAX;
}

TEST(RuntimeObject, MapsAreProgramMapsExactlyWhileTheirObjectLives) {
  uint64_t address = 0;
  {
    const Object obj = Object::open(test_object("runtime_maps"));
    maps::Map* flows = &obj.map("flows");
    address = reinterpret_cast<uint64_t>(flows);
    EXPECT_EQ(program_map(address), flows);
    EXPECT_EQ(program_map(address), flows);  // again, from this thread's recent maps
  }
  EXPECT_EQ(program_map(address), nullptr);
  EXPECT_EQ(program_map(address + 8), nullptr);
}

TEST(RuntimeObject, ListsProgramsWithSectionsAndSizes) {
  const Object obj = Object::open(test_object("runtime_globals"));
  const std::vector<ProgramInfo> programs = obj.programs();
  ASSERT_EQ(programs.size(), 7u);
  EXPECT_EQ(programs[0].name, "account");
  EXPECT_EQ(programs[0].section, "globals/account");
  EXPECT_EQ(programs[1].section, "globals/printk");
  EXPECT_EQ(programs[2].section, "globals/printk_string");
  EXPECT_EQ(programs[5].name, "time");
  EXPECT_EQ(programs[6].name, "constant_tables");
  for (const ProgramInfo& p : programs) {
    EXPECT_GT(p.insn_count, 1u) << p.name;
    EXPECT_EQ(obj.program(p.section).size(), p.insn_count);
    EXPECT_EQ(&obj.program(p.name), &obj.program(p.section));
    EXPECT_TRUE(obj.program(p.name).checked());  // no verifier yet: checked by default
  }
}

TEST(RuntimeObject, MissingProgramNamesWhatExists) {
  const Object obj = Object::open(test_object("runtime_ringbuf"));
  const Error e = error_of([&] { obj.program("qdisc/enqueue"); });
  EXPECT_EQ(e.reason(), "no program with section or name 'qdisc/enqueue'");
  EXPECT_EQ(e.where(), test_object("runtime_ringbuf"));
  EXPECT_EQ(e.hint(),
            "the object has: ringbuf/produce (produce), ringbuf/overflow (overflow), "
            "ringbuf/bad_submit (bad_submit)");
}

TEST(RuntimeObject, MissingMapNamesWhatExists) {
  ObjectOptions opts;
  opts.where = "tc qdisc add dev eth0 root bpf";
  const Object obj = Object::open(test_object("runtime_faults"), opts);
  EXPECT_EQ(obj.map("table").spec().max_entries, 4u);
  EXPECT_EQ(&obj.map(".rodata"), &obj.map("runtime_.rodata"));
  const Error e = error_of([&] { obj.map("tabel"); });
  EXPECT_EQ(e.reason(), "no map named 'tabel'");
  EXPECT_EQ(e.where(), "tc qdisc add dev eth0 root bpf");
  EXPECT_EQ(e.hint(), "the object has: table, runtime_.rodata (.rodata)");
}

TEST(RuntimeObject, UnknownHelperIsALoadErrorNamingIdAndInstruction) {
  const std::string path = test_object("runtime_bad_helper");
  const size_t at = call_index(*loader::load_object(path).program("tc"), 9999);
  ASSERT_NE(at, SIZE_MAX);
  const Error e = error_of([&] { Object::open(path); });
  EXPECT_EQ(e.reason(), "unknown helper id 9999");
  EXPECT_EQ(e.where(), path + " section tc insn " + std::to_string(at) + " (runtime_bad_helper.bpf.c:10)");
  EXPECT_EQ(e.hint(), "bpfq's qdisc and tc programs may call what docs/helpers.md lists (bpfq prog helpers)");
}

TEST(RuntimeObject, AnUnknownHelperThatLinuxHasIsNamed) {
  // prog_check_many's qdisc/dequeue calls bpf_get_current_pid_tgid (14), which bpfq lacks.
  const std::string path = test_object("prog_check_many");
  const loader::ObjectSpec spec = loader::load_object(path);
  const loader::ProgramSpec& deq = *spec.program("qdisc/dequeue");
  const size_t at = call_index(deq, 14);
  ASSERT_NE(at, SIZE_MAX);
  const std::vector<Error> problems = unknown_calls(deq, standard_helpers(), "q section qdisc/dequeue");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].reason(), "unknown helper bpf_get_current_pid_tgid (id 14)");
  EXPECT_EQ(problems[0].where(), "q section qdisc/dequeue insn " + std::to_string(at) + " (prog_check_many.bpf.c:28)");
  // Object::open says the same, with the object's path.
  const Error e = error_of([&] { Object::open(path); });
  EXPECT_EQ(e.reason(), "unknown helper bpf_get_current_pid_tgid (id 14)");
}

TEST(RuntimeObject, UnknownCallsListsEveryOneAndNothingForAKnownRegistry) {
  const loader::ObjectSpec spec = loader::load_object(test_object("prog_check_many"));
  const loader::ProgramSpec& tc = *spec.program("tc");
  const std::vector<Error> problems = unknown_calls(tc, standard_helpers(), "q section tc");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].reason(), "unknown kfunc 'bpf_qdisc_watchdog_schedule'");
  EXPECT_TRUE(problems[0].where().starts_with("q section tc insn ")) << problems[0].where();
  EXPECT_TRUE(problems[0].where().ends_with(" (prog_check_many.bpf.c:37)")) << problems[0].where();

  exec::HelperRegistry all = standard_helpers();
  all.add_helper(14, "bpf_get_current_pid_tgid", [](uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) -> uint64_t { return 1; });
  all.add_kfunc("bpf_qdisc_watchdog_schedule", [](uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) -> uint64_t { return 0; });
  for (const loader::ProgramSpec& p : spec.programs) EXPECT_TRUE(unknown_calls(p, all, p.section).empty()) << p.section;
}

TEST(RuntimeHelperNames, ComeFromTheInstalledUapi) {
  EXPECT_STREQ(uapi_helper_name(1), "bpf_map_lookup_elem");
  EXPECT_STREQ(uapi_helper_name(9), "bpf_skb_store_bytes");
  EXPECT_STREQ(uapi_helper_name(26), "bpf_skb_load_bytes");
  EXPECT_STREQ(uapi_helper_name(194), "bpf_kptr_xchg");
  EXPECT_EQ(uapi_helper_name(0), nullptr);  // BPF_FUNC_unspec is no helper
  EXPECT_EQ(uapi_helper_name(-1), nullptr);
  EXPECT_EQ(uapi_helper_name(9999), nullptr);
  // Every standard helper is registered under its uapi name.
  for (const auto& [id, entry] : standard_helpers().helpers()) {
    ASSERT_NE(uapi_helper_name(id), nullptr) << id;
    EXPECT_EQ(entry.name, uapi_helper_name(id)) << id;
  }
}

TEST(RuntimeObject, UnknownKfuncIsALoadErrorNamingIt) {
  const std::string path = test_object("runtime_bad_kfunc");
  const loader::ObjectSpec spec = loader::load_object(path);
  const loader::ProgramSpec& p = *spec.program("tc");
  ASSERT_EQ(p.kfunc_names, std::vector<std::string>{"bpf_no_such_kfunc"});
  size_t at = SIZE_MAX;
  for (size_t i = 0; i < p.insns.size(); ++i)
    if (p.insns[i].code == (ebpf::JMP | ebpf::CALL) && p.insns[i].src == ebpf::CALL_KFUNC) at = i;
  ASSERT_NE(at, SIZE_MAX);
  const Error e = error_of([&] { Object::open(path); });
  EXPECT_EQ(e.reason(), "unknown kfunc 'bpf_no_such_kfunc'");
  EXPECT_EQ(e.where(), path + " section tc insn " + std::to_string(at) + " (runtime_bad_kfunc.bpf.c:7)");

  // The same object loads once a registry provides the kfunc; the verifier has no prototype for
  // an embedder's kfunc, so the program runs checked.
  exec::HelperRegistry helpers = standard_helpers();
  helpers.add_kfunc("bpf_no_such_kfunc", [](uint64_t x, uint64_t, uint64_t, uint64_t, uint64_t) { return x * 6; });
  ObjectOptions opts;
  opts.helpers = &helpers;
  opts.verification = Verification::RunUnverifiedChecked;
  const Object obj = Object::open(path, opts);
  RunEnv env;
  uint64_t ctx = 0;
  const exec::RunResult r = obj.program("tc").run(&ctx, sizeof ctx, run_options(env));
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(r.r0, 42u);
}

TEST(RuntimeObject, EmbedderMayReplaceAHelperById) {
  exec::HelperRegistry helpers = standard_helpers();
  helpers.add_helper(helper_id::kGetPrandomU32, "fixed_random",
                     [](uint64_t, uint64_t, uint64_t, uint64_t, uint64_t) -> uint64_t { return 4; });
  ObjectOptions opts;
  opts.helpers = &helpers;
  const Object obj = Object::open(test_object("runtime_globals"), opts);
  RunEnv env;
  Io io;
  ASSERT_TRUE(run(obj, "globals/random", io, env).ok());
  EXPECT_EQ(std::vector<int64_t>(io.out, io.out + 4), (std::vector<int64_t>{4, 4, 4, 4}));
}

TEST(RuntimeObject, OpensFromBytesAndMoves) {
  const std::string path = test_object("runtime_globals");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::vector<uint8_t> bytes(1 << 20);
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), f));
  std::fclose(f);
  Object a = Object::open(bytes, "params.bpf.o");
  EXPECT_EQ(a.map(".data").name(), "params.data");
  Object b = std::move(a);
  RunEnv env;
  Io io{.a = 1};
  const exec::RunResult r = run(b, "account", io, env);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(io.out[0], 1 * 1 + 1514);
}

TEST(RuntimeObject, FastModeRunsTheSameProgram) {
  ObjectOptions opts;
  opts.checked = false;
  const Object obj = Object::open(test_object("runtime_globals"), opts);
  EXPECT_FALSE(obj.program("account").checked());
  RunEnv env;
  Io io{.a = 10, .b = 1, .c = 2};
  ASSERT_TRUE(run(obj, "account", io, env).ok());
  EXPECT_EQ(io.out[0], 10 + 1514 + 1 + 2);
}

TEST(RuntimeObject, InstructionBudgetStopsLongLoops) {
  ObjectOptions opts;
  opts.insn_budget = 500;
  const Object obj = Object::open(test_object("runtime_callbacks"), opts);
  RunEnv env;
  Io io{.a = 1000, .b = ~0ull};
  const exec::RunResult r = run(obj, "cb/loop", io, env);
  EXPECT_EQ(r.fault, exec::Fault::Budget) << r.message();
}

}  // namespace
}  // namespace bpfq::runtime::test
