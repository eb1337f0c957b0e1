// The C half of the verifier's corpus of unsafe programs (progs/tests/verifier_bad_*.bpf.c):
// every program is refused with the expected message, blamed on the source line marked
// `BAD(program)` in its file. The assembly half is corpus_asm_test.cpp.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <bpfq/error.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/verifier/verifier.hpp>

namespace {

using namespace bpfq;

struct CCase {
  const char* file;     // verifier_bad_<file>.bpf.c
  const char* cls;      // Linux selftest class
  const char* program;  // entry function
  const char* msg;      // substring of the verifier's message
  uint64_t insn_limit = 0;
};

// Every program of every verifier_bad_* object but queue_mix (an object-level refusal, below).
const std::vector<CCase>& corpus() {
  static const std::vector<CCase> cases = {
      // ---- verifier_bad_memory.bpf.c
      {"memory", "stack", "stack_write_below_frame", "invalid write to stack R1 off=-528 size=1"},
      {"memory", "stack", "stack_write_above_frame", "invalid write to stack R1 off=0 size=1"},
      {"memory", "stack", "stack_variable_index_leaves_frame", "invalid write to stack R2 off=-64 size=1"},
      {"memory", "stack", "subprog_writes_caller_frame", "invalid write to stack R2 off=16 size=1"},
      {"memory", "uninit", "stack_read_uninit", "invalid read from stack off -8+0 size 8"},
      {"memory", "uninit", "stack_read_half_written", "invalid read from stack off -8+0 size 8"},
      {"memory", "uninit", "helper_key_uninit_variable_offset", "invalid indirect read from stack R2 off -15+0 size 8"},
      {"memory", "map_value", "map_value_read_past_end", "invalid access to map value, size=16 off=16 size=8"},
      {"memory", "map_value", "map_value_write_before_start", "invalid access to map value, size=16 off=-4 size=4"},
      {"memory", "map_value", "map_value_variable_index_too_large", "invalid access to map value, size=16 off=0..31 size=1"},
      {"memory", "map_value", "map_value_index_check_off_by_one", "invalid access to map value, size=16 off=0..16 size=1"},
      {"memory", "map_value", "map_value_unbounded_index",
       "math between map_value pointer and register with unbounded min value is not allowed"},
      {"memory", "map_value", "map_value_signed_check_only",
       "math between map_value pointer and register with unbounded min value is not allowed"},
      {"memory", "ctx", "qdisc_ctx_read_past_end", "invalid bpf_context access off=24 size=8"},
      {"memory", "ctx", "qdisc_ctx_write_padding", "invalid bpf_context access off=12 size=4"},
      {"memory", "ctx", "skb_read_past_end", "invalid bpf_context access off=192 size=4"},
      {"memory", "ctx", "skb_read_sk_field", "invalid bpf_context access off=168 size=8"},
      {"memory", "ctx", "ctx_skb_read_past_end", "invalid bpf_context access off=200 size=4"},
      {"memory", "packet", "packet_read_without_check", "invalid access to packet, off=12 size=1"},
      {"memory", "packet", "packet_read_past_checked_bound", "invalid access to packet, off=12 size=4"},
      {"memory", "packet", "packet_variable_offset_unchecked", "invalid access to packet, off=0 size=1"},
      {"memory", "packet", "enqueue_packet_write_without_check", "invalid access to packet, off=0 size=1"},
      {"memory", "packet", "packet_helper_reads_past_check", "invalid access to packet, off=0 size=8"},
      // ---- verifier_bad_pointers.bpf.c
      {"pointers", "leak", "leak_ctx_into_map", "leaks addr into map"},
      {"pointers", "leak", "leak_skb_into_map", "leaks addr into map"},
      {"pointers", "leak", "leak_map_value_into_itself", "leaks addr into map"},
      {"pointers", "leak", "leak_stack_address_into_map", "leaks addr into map"},
      {"pointers", "leak", "leak_packet_pointer_into_map", "leaks addr into map"},
      {"pointers", "leak", "leak_pointer_through_queue", "leaks addr: a spilled pointer is read by bpf_map_push_elem"},
      {"pointers", "leak", "leak_skb_into_ctx_delay", "leaks addr into ctx"},
      {"pointers", "leak", "leak_map_value_into_ctx_delay", "leaks addr into ctx"},
      {"pointers", "leak", "leak_stack_address_into_skb_cb", "leaks addr into ctx"},
      {"pointers", "leak", "leak_ctx_into_packet", "leaks addr into packet"},
      {"pointers", "leak", "return_ctx_pointer", "At program exit the register R0 is not a known value (skb"},
      {"pointers", "leak", "return_map_value_pointer", "At program exit the register R0 is not a known value (map_value"},
      {"pointers", "ptr_arith", "align_map_value_pointer_with_and", "pointer arithmetic with &= operator prohibited"},
      {"pointers", "ptr_arith", "multiply_two_pointers", "pointer *= pointer prohibited"},
      {"pointers", "ptr_arith", "shift_a_pointer", "pointer arithmetic with s>>= operator prohibited"},
      {"pointers", "ptr_arith", "pointer_truncated_to_32_bits", "R1 partial copy of pointer"},
      {"pointers", "ptr_arith", "add32_to_pointer", "R1 32-bit pointer arithmetic prohibited"},
      {"pointers", "ptr_arith", "move_map_pointer", "pointer arithmetic on map_ptr prohibited"},
      {"pointers", "ptr_arith", "move_packet_end", "pointer arithmetic on pkt_end prohibited"},
      {"pointers", "ptr_arith", "move_maybe_null_map_value",
       "pointer arithmetic on map_value_or_null prohibited, null-check it first"},
      // ---- verifier_bad_refs.bpf.c
      {"refs", "null", "lookup_used_unchecked", "invalid mem access 'map_value_or_null'"},
      {"refs", "null", "acquire_used_unchecked", "invalid mem access 'skb_or_null'"},
      {"refs", "null", "queue_pop_used_unchecked", "invalid mem access 'skb_or_null'"},
      {"refs", "null", "ringbuf_reserve_used_unchecked", "invalid mem access 'ringbuf_mem_or_null'"},
      {"refs", "refs", "acquired_never_released", "Unreleased reference id="},
      {"refs", "refs", "released_on_one_branch_only", "Unreleased reference id="},
      {"refs", "refs", "popped_never_handed_out", "Unreleased reference id="},
      {"refs", "refs", "ringbuf_never_submitted", "Unreleased reference id="},
      {"refs", "refs", "double_release", "expected=referenced skb"},
      {"refs", "refs", "read_len_after_release", "invalid mem access 'scalar'"},
      {"refs", "refs", "write_mark_after_release", "invalid mem access 'scalar'"},
      {"refs", "refs", "write_bytes_after_release", "invalid mem access 'scalar'"},
      {"refs", "refs", "kfunc_after_release", "expected=skb"},
      {"refs", "refs", "release_borrowed_ctx_skb", "expected=referenced skb"},
      {"refs", "refs", "release_tc_context", "expected=referenced skb"},
      {"refs", "refs", "hand_out_two_packets", "ctx->skb already holds the packet handed out"},
      {"refs", "kptr", "plain_store_into_kptr_field", "leaks addr into map"},
      {"refs", "kptr", "plain_store_of_reference_into_kptr_field", "leaks addr into map"},
      {"refs", "kptr", "kptr_field_cleared_by_plain_store", "store to referenced kptr disallowed"},
      {"refs", "kptr", "push_raw_packet_pointer_into_skb_queue",
       "leaks addr: a spilled pointer is read by bpf_map_push_elem"},
      {"refs", "kptr", "kptr_xchg_into_stack_never_released", "Unreleased reference id="},
      {"refs", "kptr", "kptr_xchg_into_global", "leaks addr into map"},
      {"refs", "kptr", "kptr_xchg_into_untagged_map_value", "leaks addr into map"},
      {"refs", "kptr", "kptr_xchg_into_ctx_delay", "leaks addr into ctx"},
      {"refs", "kptr", "kptr_xchg_target_is_untagged_field", "expected=pointer to a __kptr_ref field"},
      {"refs", "kptr", "kptr_xchg_of_borrowed_ctx_skb", "expected=referenced skb or NULL"},
      {"refs", "kptr", "pop_elem_drops_references", "bpf_map_pop_elem would discard the packet references in map 'ordered'"},
      // ---- verifier_bad_control.bpf.c
      {"control", "loops", "spin_on_unchanging_stack_value", "infinite loop detected"},
      {"control", "loops", "spin_until_map_value_changes", "infinite loop detected"},
      // The default limit (1M insns) would take hours: see the report on loop cost.
      {"control", "loops", "loop_bounded_by_packet_length", "BPF program is too large", 2000},
      {"control", "calls", "unbounded_recursion", "frames is too deep"},
      {"control", "calls", "mutual_recursion", "frames is too deep"},
      {"control", "calls", "use_callee_stack_pointer", "cannot return stack pointer to the caller frame"},
      {"control", "callbacks", "loop_callback_returns_2", "should have been in [0, 1]"},
      {"control", "callbacks", "loop_callback_writes_past_its_ctx", "invalid write to stack"},
      {"control", "callbacks", "for_each_callback_writes_key", "write into map forbidden"},
      {"control", "callbacks", "for_each_on_queue", "cannot pass map_type 22 into func bpf_for_each_map_elem"},
      {"control", "helpers", "lookup_in_queue_map", "cannot pass map_type 22 into func bpf_map_lookup_elem"},
      {"control", "helpers", "key_too_small", "invalid read to stack R2 off=-4 size=8"},
      {"control", "helpers", "load_bytes_size_unbounded", "R4 unbounded memory access"},
      {"control", "helpers", "load_bytes_size_zero", "invalid zero-sized read"},
      {"control", "helpers", "load_bytes_size_exceeds_buffer", "invalid write to stack R3 off=-16 size=32"},
      {"control", "helpers", "ringbuf_reserve_variable_size", "R2 must be a known constant size for bpf_ringbuf_reserve"},
      {"control", "helpers", "printk_format_on_stack", "expected=string constant (the format of bpf_trace_printk)"},
      {"control", "helpers", "printk_percent_s_of_a_number", "expected=string constant (for %s"},
      {"control", "helpers", "unknown_helper", "unknown func #9999"},
      {"control", "helpers", "unknown_kfunc", "calling kernel function bpf_no_such_kfunc is not allowed"},
      {"control", "helpers", "kfunc_hash_of_map_value", "expected=skb"},
      {"control", "helpers", "skb_queue_push_of_stack", "expected=skb"},
      {"control", "helpers", "skb_queue_push_into_plain_queue", "cannot pass map_type 22 into func bpf_skb_queue_push"},
      {"control", "retval", "enqueue_returns_7", "should have been in [0, 6]"},
      {"control", "retval", "dequeue_returns_minus_1", "should have been in [0, 6]"},
      {"control", "retval", "enqueue_returns_the_mark", "should have been in [0, 6]"},
      {"control", "alu", "divide_by_constant_zero", "div by zero"},
      {"control", "alu", "shift_by_64", "invalid shift 64"},
      // ---- verifier_bad_ctx_write.bpf.c
      {"ctx_write", "ctx_readonly", "tc_write_len", "writes 4 bytes to __sk_buff.len, which is read-only"},
      {"ctx_write", "ctx_readonly", "tc_write_protocol", "__sk_buff.protocol, which is read-only"},
      {"ctx_write", "ctx_readonly", "tc_write_ifindex", "__sk_buff.ifindex, which is read-only"},
      {"ctx_write", "ctx_readonly", "tc_write_data_end", "__sk_buff.data_end, which is read-only"},
      {"ctx_write", "ctx_readonly", "enqueue_write_skb_len", "__sk_buff.len, which is read-only"},
      {"ctx_write", "ctx_readonly", "enqueue_write_skb_hash", "__sk_buff.hash, which is read-only"},
      {"ctx_write", "ctx_readonly", "dequeue_write_popped_len", "__sk_buff.wire_len, which is read-only"},
      {"ctx_write", "ctx_readonly", "enqueue_replaces_ctx_skb", "ctx->skb is read-only in qdisc/enqueue"},
      {"ctx_write", "ctx_readonly", "dequeue_ctx_skb_from_number", "ctx->skb must be a packet reference or NULL"},
      {"ctx_write", "ctx_readonly", "dequeue_ctx_skb_from_map_value",
       "must be a referenced packet to hand out in ctx->skb"},
      {"ctx_write", "rodata", "write_rodata_parameter", "write into map forbidden"},
      {"ctx_write", "rodata", "write_string_constant", "write into map forbidden"},
  };
  return cases;
}

std::string object_path(const std::string& file) {
  return std::string(BPFQ_BINARY_DIR) + "/progs/tests/verifier_bad_" + file + ".bpf.o";
}

const loader::ObjectSpec& object(const std::string& file) {
  static std::map<std::string, std::unique_ptr<loader::ObjectSpec>> cache;
  auto& slot = cache[file];
  if (!slot) slot = std::make_unique<loader::ObjectSpec>(loader::load_object(object_path(file)));
  return *slot;
}

// The source file a program was compiled from (as recorded in its line info), read whole.
std::vector<std::string> source_of(const loader::ProgramSpec& p) {
  std::vector<std::string> lines;
  if (p.lines.empty()) return lines;
  std::ifstream in(p.lines.front().file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// 1-based number of the line carrying `BAD(program)`, or 0.
uint32_t marked_line(const std::vector<std::string>& source, const std::string& program) {
  const std::string tag = "BAD(" + program + ")";
  for (size_t i = 0; i < source.size(); ++i)
    if (source[i].find(tag) != std::string::npos) return static_cast<uint32_t>(i + 1);
  return 0;
}

void check_case(const CCase& c) {
  SCOPED_TRACE(std::string(c.file) + "/" + c.program);
  const loader::ObjectSpec& obj = object(c.file);
  const loader::ProgramSpec* p = obj.program(c.program);
  ASSERT_NE(p, nullptr) << "no program " << c.program << " in " << object_path(c.file);
  ASSERT_EQ(p->name, c.program);
  const verifier::ProgramType* type = verifier::program_type_for_section(p->section);
  ASSERT_NE(type, nullptr) << c.program << ": section " << p->section << " has no program type";
  verifier::VerifyOptions opts;
  if (c.insn_limit) opts.insn_limit = c.insn_limit;
  const verifier::VerifyResult r = verifier::verify(*p, obj, *type, opts);
  ASSERT_FALSE(r.ok) << c.program << " was accepted";
  EXPECT_NE(r.error.message.find(c.msg), std::string::npos)
      << c.program << ": expected \"" << c.msg << "\"\n   got \"" << r.error.message << "\" at " << r.error.where;
  const std::vector<std::string> source = source_of(*p);
  ASSERT_FALSE(source.empty()) << c.program << ": cannot read its source through the line info";
  const uint32_t line = marked_line(source, c.program);
  ASSERT_NE(line, 0u) << c.program << ": no BAD(" << c.program << ") marker in the source";
  EXPECT_EQ(r.error.where, "verifier_bad_" + std::string(c.file) + ".bpf.c:" + std::to_string(line))
      << c.program << ": " << r.error.message;
  EXPECT_NE(r.error.source.find("BAD(" + std::string(c.program) + ")"), std::string::npos)
      << c.program << ": blamed line is \"" << r.error.source << "\"";
  // The whole error, as the loader reports it, names the file and line too.
  const Error e = r.to_error(object_path(c.file), p->section);
  EXPECT_NE(std::string(e.what()).find(r.error.where), std::string::npos) << e.what();
}

void check_file(const std::string& file) {
  const loader::ObjectSpec& obj = object(file);
  std::set<std::string> listed;
  for (const CCase& c : corpus())
    if (file == c.file) {
      check_case(c);
      listed.insert(c.program);
    }
  // Every program of the file is in the table (none is left unchecked).
  for (const loader::ProgramSpec& p : obj.programs) EXPECT_TRUE(listed.count(p.name)) << file << ": " << p.name << " is not in the table";
  EXPECT_EQ(listed.size(), obj.programs.size());
}

TEST(VerifierCorpusC, Memory) { check_file("memory"); }
TEST(VerifierCorpusC, Pointers) { check_file("pointers"); }
TEST(VerifierCorpusC, References) { check_file("refs"); }
TEST(VerifierCorpusC, Control) { check_file("control"); }
TEST(VerifierCorpusC, ContextWrites) { check_file("ctx_write"); }

// (e) A packet queue (BPFQ_SKB_QUEUE, used with bpf_skb_queue_push) also popped with
// bpf_map_pop_elem by another program: each program is fine alone; the object is refused.
TEST(VerifierCorpusC, PacketQueueUsedAsPlainMapIsRefusedForTheObject) {
  const loader::ObjectSpec& obj = object("queue_mix");
  ASSERT_EQ(obj.programs.size(), 2u);
  for (const loader::ProgramSpec& p : obj.programs) {
    const verifier::VerifyResult r = verifier::verify(p, obj, *verifier::program_type_for_section(p.section));
    EXPECT_TRUE(r.ok) << p.name << ": " << r.error.message;
  }
  const verifier::ObjectVerification v = verifier::verify_object(obj, object_path("queue_mix"));
  ASSERT_EQ(v.object_problems.size(), 1u) << "verify_object accepted a packet queue popped as a plain map";
  {
    const Error& e = v.object_problems.front();
    EXPECT_NE(e.reason().find("map 'packets' is a packet queue (bpf_skb_queue_* in qdisc/enqueue) and is also used "
                              "as a plain map in qdisc/dequeue"),
              std::string::npos)
        << e.what();
    EXPECT_NE(e.where().find("verifier_bad_queue_mix.bpf.o section qdisc/dequeue"), std::string::npos) << e.where();
    EXPECT_FALSE(e.hint().empty());
  }
}

// Every other object is refused by verify_object too (its first program's error).
TEST(VerifierCorpusC, EveryObjectIsRefusedByVerifyObject) {
  for (const char* file : {"memory", "pointers", "refs", "control", "ctx_write"}) {
    SCOPED_TRACE(file);
    const loader::ObjectSpec& spec = object(file);
    EXPECT_TRUE(verifier::verify_object(spec, object_path(file)).first_problem(spec, object_path(file)).has_value());
  }
}

TEST(VerifierCorpusC, CorpusSize) {
  std::map<std::string, int> per_class;
  for (const CCase& c : corpus()) ++per_class[c.cls];
  std::string summary;
  for (const auto& [cls, n] : per_class) summary += cls + "=" + std::to_string(n) + " ";
  std::printf("C corpus: %zu programs (+1 object-level): %s\n", corpus().size(), summary.c_str());
  EXPECT_GE(corpus().size(), 100u);
}

}  // namespace
