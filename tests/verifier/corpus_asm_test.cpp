// A corpus of unsafe programs, in assembly, each refused by the verifier with the message a
// reader needs. The classes follow Linux's verifier selftests (tools/testing/selftests/bpf/
// progs/verifier_*.c): every program here would corrupt memory, leak a pointer or a reference,
// never terminate, or break its program type's contract if it ran.
//
// A case is {name, class, program type, text, expected message substring}. The instruction the
// verifier must blame is marked in the text with a `#!` comment (lddw counts two slots).
//
// Maps of the test object (lddw %rN, map[i]):
//   0 array   ARRAY  key 4, value 16, 4 entries
//   1 hash    HASH   key 8, value 16
//   2 slots   HASH   key 4, value 16, a packet reference (__kptr_ref) at offset 0
//   3 queue   QUEUE  value 8
//   4 skbq    PIFO   key 4, value 8 (a BPFQ_SKB_QUEUE: packets via bpf_skb_queue_*)
//   5 events  RINGBUF 4096
//   6 .rodata ARRAY  value 16, read-only: "s=%s\0%d\0hi\0"
//   7 .bss    ARRAY  value 16
//   8 aom     ARRAY_OF_MAPS key 4 (inner: ARRAY key 4 value 16)
//   9 stack   STACK  value 8
//  10 rbslots RBTREE key 8, value 8, a packet reference at offset 0
// kfuncs (call kfunc N): 0 bpf_skb_acquire, 1 bpf_skb_release, 2 bpf_skb_queue_push,
//   3 bpf_skb_queue_pop, 4 bpf_skb_queue_len, 5 bpf_skb_kptr_get, 6 bpf_skb_get_hash,
//   7 bpf_kfree_skb, 8 bpf_qdisc_class_qlen, 9 bpf_no_such_kfunc (not provided).
// Helpers by number: 1 lookup, 2 update, 3 delete, 5 ktime_get_ns, 6 trace_printk,
//   7 get_prandom_u32, 26 skb_load_bytes, 87 push, 88 pop, 89 peek, 93 spin_lock,
//   97 skb_ecn_set_ce, 130 ringbuf_output, 131 ringbuf_reserve, 132 ringbuf_submit,
//   133 ringbuf_discard, 164 for_each_map_elem, 177 trace_vprintk, 181 loop, 194 kptr_xchg.
#include <gtest/gtest.h>

#include <linux/bpf.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <bpfq/ebpf/assembler.hpp>
#include <bpfq/ebpf/cfg.hpp>
#include <bpfq/error.hpp>
#include <bpfq/loader/object_spec.hpp>
#include <bpfq/maps/map_spec.hpp>
#include <bpfq/verifier/verifier.hpp>

#include "raw_verify.hpp"

namespace {

using namespace bpfq;

static_assert(BPF_FUNC_map_lookup_elem == 1 && BPF_FUNC_map_update_elem == 2 && BPF_FUNC_ktime_get_ns == 5);
static_assert(BPF_FUNC_trace_printk == 6 && BPF_FUNC_get_prandom_u32 == 7 && BPF_FUNC_skb_load_bytes == 26);
static_assert(BPF_FUNC_map_push_elem == 87 && BPF_FUNC_map_pop_elem == 88 && BPF_FUNC_map_peek_elem == 89);
static_assert(BPF_FUNC_spin_lock == 93 && BPF_FUNC_skb_ecn_set_ce == 97 && BPF_FUNC_ringbuf_output == 130);
static_assert(BPF_FUNC_ringbuf_reserve == 131 && BPF_FUNC_ringbuf_submit == 132 && BPF_FUNC_ringbuf_discard == 133);
static_assert(BPF_FUNC_for_each_map_elem == 164 && BPF_FUNC_trace_vprintk == 177 && BPF_FUNC_loop == 181);
static_assert(BPF_FUNC_kptr_xchg == 194);

struct AsmCase {
  std::string name;
  std::string cls;
  std::string type;  // a section ("qdisc/enqueue", "qdisc/dequeue", "tc") or "raw"
  std::string text;
  std::string msg;   // a substring of the verifier's message
  uint64_t insn_limit = 0;  // 0: the default
};

// ---- building blocks ----
// An 8-byte zero key at fp-8 in r2 (maps with 4-byte keys read its first half).
#define KEY0 "stdw [%r10-8], 0\nmov %r2, %r10\nadd %r2, -8\n"
#define LOOKUP(m) KEY0 "lddw %r1, map[" #m "]\ncall 1\n"
#define CHECKED "jeq %r0, 0, out\n"
#define OUT "out:\nmov %r0, 0\nexit\n"
// tc: r2 = skb->data, r3 = skb->data_end.
#define PKT "ldxw %r2, [%r1+76]\nldxw %r3, [%r1+80]\n"
// ... and data + n <= data_end proven on the fall-through (else goto out).
#define PKT_CHECK(n) PKT "mov %r4, %r2\nadd %r4, " #n "\njgt %r4, %r3, out\n"
// qdisc/enqueue: r0 = bpf_skb_acquire(ctx->skb), maybe NULL.
#define ACQUIRE "ldxdw %r1, [%r1+0]\ncall kfunc 0\n"
// qdisc/dequeue: r0 = bpf_skb_queue_pop(&skbq), maybe NULL.
#define POP "lddw %r1, map[4]\ncall kfunc 3\n"
// bpf_loop(4, cb, ctx in r3, 0) with the callback at label cb.
#define LOOP_CB(ctx) "mov %r1, 4\nlddw %r2, func cb\n" ctx "mov %r4, 0\ncall 181\n"

const std::vector<AsmCase>& found_while_writing();

const std::vector<AsmCase>& corpus() {
  static const std::vector<AsmCase> cases = [] {
    std::vector<AsmCase> c;
    auto add = [&](std::string cls, std::string name, std::string type, std::string text, std::string msg,
                   uint64_t limit = 0) {
      c.push_back(AsmCase{std::move(name), std::move(cls), std::move(type), std::move(text), std::move(msg), limit});
    };
    const std::string E = "qdisc/enqueue", D = "qdisc/dequeue", T = "tc", R = "raw";

    // ================================================================ stack (basic_stack,
    // direct_stack_access_wraparound, raw_stack)
    add("stack", "write_below_frame", E, "stdw [%r10-520], 0 #!\nmov %r0, 0\nexit\n",
        "invalid write to stack R10 off=-520 size=8");
    add("stack", "write_at_frame_pointer", T, "stdw [%r10+0], 0 #!\nmov %r0, 0\nexit\n",
        "invalid write to stack R10 off=0 size=8");
    add("stack", "read_above_frame", T, "ldxdw %r0, [%r10+8] #!\nexit\n", "invalid read to stack R10 off=8 size=8");
    add("stack", "write_straddles_frame_top", E, "stw [%r10-2], 0 #!\nmov %r0, 0\nexit\n",
        "invalid write to stack R10 off=-2 size=4");
    add("stack", "moved_pointer_below_frame", E, "mov %r1, %r10\nadd %r1, -516\nstw [%r1+0], 0 #!\nmov %r0, 0\nexit\n",
        "invalid write to stack R1 off=-516 size=4");
    add("stack", "moved_pointer_above_frame", T, "mov %r1, %r10\nadd %r1, 16\nldxb %r0, [%r1-8] #!\nexit\n",
        "invalid read to stack R1 off=8 size=1");
    add("stack", "variable_offset_leaves_frame", T,
        "call 7\nand %r0, 0xff\nmov %r1, %r10\nadd %r1, -128\nadd %r1, %r0\nstb [%r1+0], 0 #!\nmov %r0, 0\nexit\n",
        "invalid write to stack R1 off=-128 size=1");
    add("stack", "unbounded_u32_offset", T, "call 7\nmov %r1, %r10\nadd %r1, %r0 #!\nstb [%r1-1], 0\nmov %r0, 0\nexit\n",
        "math between fp pointer and register with unbounded min value is not allowed");
    add("stack", "unbounded_u64_offset", T, "call 5\nmov %r1, %r10\nsub %r1, %r0 #!\nstb [%r1+0], 0\nmov %r0, 0\nexit\n",
        "math between fp pointer and register with unbounded min value is not allowed");
    add("stack", "misaligned_dw_store", E, "stdw [%r10-12], 0 #!\nmov %r0, 0\nexit\n",
        "misaligned stack access off=-12 size=8");
    add("stack", "misaligned_dw_load", E,
        "stdw [%r10-16], 0\nstdw [%r10-8], 0\nldxdw %r0, [%r10-12] #!\nmov %r0, 0\nexit\n",
        "misaligned stack access off=-12 size=8");
    add("stack", "frame_pointer_overwritten", E, "mov %r10, 0 #!\nmov %r0, 0\nexit\n", "frame pointer is read only");
    add("stack", "frame_pointer_moved", E, "add %r10, -8 #!\nmov %r0, 0\nexit\n", "frame pointer is read only");
    add("stack", "wraparound_offset", T, "mov %r1, %r10\nadd %r1, 0x7fffffff #!\nstb [%r1+0], 0\nmov %r0, 0\nexit\n",
        "value 2147483647 makes fp pointer be out of bounds");
    add("stack", "helper_writes_past_frame_top", E,
        "ldxdw %r1, [%r1+0]\nmov %r2, 0\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 16\ncall 26 #!\nmov %r0, 0\nexit\n",
        "invalid write to stack R3 off=-8 size=16");
    add("stack", "helper_variable_offset_leaves_frame", T,
        "mov %r6, %r1\ncall 7\nand %r0, 15\nmov %r3, %r10\nadd %r3, -8\nadd %r3, %r0\nmov %r1, %r6\nmov %r2, 0\n"
        "mov %r4, 8\ncall 26 #!\nmov %r0, 0\nexit\n",
        "invalid variable-offset indirect access to stack R3");

    // ================================================================ uninit (verifier_uninit)
    add("uninit", "exit_without_r0", E, "exit #!\n", "R0 !read_ok");
    add("uninit", "r2_at_qdisc_entry", E, "mov %r0, %r2 #!\nexit\n", "R2 !read_ok");
    add("uninit", "argument_register_after_call", E, "call 5\nldxdw %r0, [%r1+16] #!\nexit\n", "R1 !read_ok");
    add("uninit", "callee_saved_register_in_subprogram", E,
        "call local f\nmov %r0, 0\nexit\nf:\nmov %r0, %r6 #!\nexit\n", "R6 !read_ok");
    add("uninit", "register_set_on_one_path", T,
        "call 7\njeq %r0, 0, skip\nmov %r6, 1\nskip:\nmov %r0, %r6 #!\nexit\n", "R6 !read_ok");
    add("uninit", "stack_never_written", E, "ldxdw %r0, [%r10-8] #!\nexit\n", "invalid read from stack off -8+0 size 8");
    add("uninit", "stack_half_written", E, "stw [%r10-8], 0\nldxdw %r0, [%r10-8] #!\nexit\n",
        "invalid read from stack off -8+0 size 8");
    add("uninit", "stack_written_on_one_path", T,
        "call 7\njeq %r0, 0, skip\nstdw [%r10-8], 1\nskip:\nldxdw %r0, [%r10-8] #!\nexit\n",
        "invalid read from stack off -8+0 size 8");
    add("uninit", "callee_reads_its_own_fresh_stack", E,
        "stdw [%r10-8], 0\ncall local f\nmov %r0, 0\nexit\nf:\nldxdw %r0, [%r10-8] #!\nexit\n",
        "invalid read from stack off -8+0 size 8");
    add("uninit", "variable_offset_read_of_unwritten_stack", T,
        "stdw [%r10-8], 0\ncall 7\nand %r0, 7\nmov %r1, %r10\nadd %r1, -16\nadd %r1, %r0\nldxb %r0, [%r1+0] #!\nexit\n",
        "invalid variable-offset read from stack R1 off=-16");
    add("uninit", "helper_key_variable_offset_unwritten", E,
        "stdw [%r10-8], 0\ncall 7\nand %r0, 7\nneg %r0\nmov %r2, %r10\nadd %r2, %r0\nadd %r2, -8\n"
        "lddw %r1, map[1]\ncall 1 #!\nmov %r0, 0\nexit\n",
        "invalid indirect read from stack R2 off -15+0 size 8");
    add("uninit", "cmpxchg_without_r0", E, "stdw [%r10-8], 0\nmov %r1, 1\nlock cmpxchg [%r10-8], %r1 #!\nmov %r0, 0\nexit\n",
        "R0 !read_ok");
    add("uninit", "compare_unwritten_register", E, "jeq %r3, 0, +0 #!\nmov %r0, 0\nexit\n", "R3 !read_ok");
    add("uninit", "store_unwritten_register", E, "stxdw [%r10-8], %r4 #!\nmov %r0, 0\nexit\n", "R4 !read_ok");
    add("uninit", "atomic_on_unwritten_stack", E, "mov %r1, 1\nlock add [%r10-8], %r1 #!\nmov %r0, 0\nexit\n",
        "invalid read from stack off -8+0 size 8");
    add("uninit", "loop_callback_reads_unwritten_ctx", E,
        "mov %r1, 4\nlddw %r2, func cb\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 0\ncall 181\nmov %r0, 0\nexit\n"
        "cb:\nldxdw %r0, [%r2+0] #!\nmov %r0, 0\nexit\n",
        "invalid read from stack off -8+0 size 8");

    // ================================================================ map_value (verifier_value,
    // array_access, value_ptr_arith, helper_value_access)
    add("map_value", "const_read_past_end", E, LOOKUP(0) CHECKED "ldxdw %r1, [%r0+16] #!\n" OUT,
        "invalid access to map value, size=16 off=16 size=8");
    add("map_value", "const_write_straddles_end", E, LOOKUP(0) CHECKED "stw [%r0+14], 1 #!\n" OUT,
        "invalid access to map value, size=16 off=14 size=4");
    add("map_value", "negative_offset", E, LOOKUP(0) CHECKED "ldxb %r1, [%r0-1] #!\n" OUT,
        "invalid access to map value, size=16 off=-1 size=1");
    add("map_value", "pointer_moved_past_end", E, LOOKUP(0) CHECKED "add %r0, 16\nstb [%r0+0], 0 #!\n" OUT,
        "invalid access to map value, size=16 off=16 size=1");
    add("map_value", "variable_index_too_large", E,
        LOOKUP(0) CHECKED "mov %r6, %r0\ncall 7\nand %r0, 0x1f\nadd %r6, %r0\nldxb %r1, [%r6+0] #!\n" OUT,
        "invalid access to map value, size=16 off=0..31 size=1");
    add("map_value", "index_check_off_by_one", E,
        LOOKUP(0) CHECKED "ldxw %r1, [%r0+0]\njgt %r1, 16, out\nadd %r0, %r1\nstb [%r0+0], 1 #!\n" OUT,
        "invalid access to map value, size=16 off=0..16 size=1");
    add("map_value", "bounded_index_plus_constant", E,
        LOOKUP(0) CHECKED "ldxw %r1, [%r0+0]\nand %r1, 7\nadd %r0, %r1\nldxdw %r1, [%r0+9] #!\n" OUT,
        "invalid access to map value, size=16 off=9..16 size=8");
    add("map_value", "unbounded_u64_index", E, LOOKUP(0) CHECKED "ldxdw %r1, [%r0+0]\nadd %r0, %r1 #!\n" OUT,
        "math between map_value pointer and register with unbounded min value is not allowed");
    add("map_value", "unbounded_u32_index", E, LOOKUP(0) CHECKED "ldxw %r1, [%r0+0]\nadd %r0, %r1 #!\n" OUT,
        "math between map_value pointer and register with unbounded min value is not allowed");
    add("map_value", "signed_upper_check_only", E,
        LOOKUP(0) CHECKED "ldxdw %r1, [%r0+0]\njsgt %r1, 8, out\nadd %r0, %r1 #!\n" OUT,
        "math between map_value pointer and register with unbounded min value is not allowed");
    add("map_value", "negative_variable_index", E,
        LOOKUP(0) CHECKED "ldxw %r1, [%r0+0]\nand %r1, 7\nsub %r0, %r1\nldxb %r1, [%r0+8] #!\n" OUT,
        "R0 unbounded memory access");
    add("map_value", "global_address_past_end", E, "lddw %r1, map[7]+16 #!\nmov %r0, 0\nexit\n",
        "invalid access to map value pointer, value_size=16 off=16");
    add("map_value", "global_write_past_end", E, "lddw %r1, map[7]+8\nstdw [%r1+8], 0 #!\nmov %r0, 0\nexit\n",
        "invalid access to map value, size=16 off=16 size=8");
    add("map_value", "helper_value_too_short", E,
        LOOKUP(0) CHECKED "mov %r3, %r0\nadd %r3, 8\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, map[1]\nmov %r4, 0\n"
        "call 2 #!\n" OUT,
        "invalid access to map value, size=16 off=8 size=16");
    add("map_value", "helper_key_past_end", E,
        LOOKUP(0) CHECKED "mov %r2, %r0\nadd %r2, 12\nlddw %r1, map[1]\ncall 1 #!\n" OUT,
        "invalid access to map value, size=16 off=12 size=8");
    add("map_value", "helper_writes_past_end", T,
        "mov %r6, %r1\n" LOOKUP(0) CHECKED "mov %r3, %r0\nadd %r3, 8\nmov %r1, %r6\nmov %r2, 0\nmov %r4, 12\n"
        "call 26 #!\n" OUT,
        "invalid access to map value, size=16 off=8 size=12");

    // ================================================================ rodata (read-only maps)
    add("rodata", "store_to_rodata", E, "lddw %r1, map[6]+0\nstb [%r1+0], 1 #!\nmov %r0, 0\nexit\n",
        "write into map forbidden, value_size=16 off=0 size=1");
    add("rodata", "register_store_to_rodata", E,
        "lddw %r1, map[6]+8\nmov %r2, 7\nstxw [%r1+4], %r2 #!\nmov %r0, 0\nexit\n",
        "write into map forbidden, value_size=16 off=12 size=4");
    add("rodata", "atomic_add_to_rodata", E,
        "lddw %r2, map[6]+0\nmov %r1, 1\nlock add [%r2+8], %r1 #!\nmov %r0, 0\nexit\n", "write into map forbidden");
    add("rodata", "helper_writes_rodata", T,
        "lddw %r3, map[6]+0\nmov %r2, 0\nmov %r4, 8\ncall 26 #!\nmov %r0, 0\nexit\n", "write into map forbidden");
    add("rodata", "for_each_callback_writes_key", E,
        "lddw %r1, map[0]\nlddw %r2, func cb\nmov %r3, 0\nmov %r4, 0\ncall 164\nmov %r0, 0\nexit\n"
        "cb:\nstw [%r2+0], 1 #!\nmov %r0, 0\nexit\n",
        "write into map forbidden");

    // ================================================================ ctx (verifier_ctx, ctx_skb)
    add("ctx", "qdisc_ctx_past_end", E, "ldxdw %r0, [%r1+24] #!\nexit\n", "invalid bpf_context access off=24 size=8");
    add("ctx", "qdisc_ctx_padding", E, "ldxw %r0, [%r1+12] #!\nexit\n", "invalid bpf_context access off=12 size=4");
    add("ctx", "qdisc_ctx_skb_narrow_read", E, "ldxw %r0, [%r1+0] #!\nexit\n", "invalid bpf_context access off=0 size=4");
    add("ctx", "qdisc_ctx_straddles_classid", E, "ldxdw %r0, [%r1+8] #!\nexit\n", "invalid bpf_context access off=8 size=8");
    add("ctx", "qdisc_ctx_negative_offset", D, "ldxw %r0, [%r1-4] #!\nexit\n", "invalid bpf_context access off=-4 size=4");
    add("ctx", "qdisc_ctx_store_past_end", D, "stdw [%r1+24], 0 #!\nmov %r0, 0\nexit\n",
        "invalid bpf_context access off=24 size=8");
    add("ctx", "qdisc_ctx_modified_pointer", E, "add %r1, 8\nldxw %r0, [%r1+0] #!\nexit\n",
        "dereference of modified ctx ptr R1 off=8 disallowed");
    add("ctx", "qdisc_ctx_variable_offset", E,
        "mov %r6, %r1\ncall 7\nand %r0, 8\nadd %r6, %r0\nldxw %r0, [%r6+8] #!\nexit\n",
        "dereference of modified ctx ptr R6");
    add("ctx", "skb_past_end", T, "ldxw %r0, [%r1+192] #!\nexit\n", "invalid bpf_context access off=192 size=4");
    add("ctx", "skb_unlisted_sk_field", T, "ldxdw %r0, [%r1+168] #!\nexit\n", "invalid bpf_context access off=168 size=8");
    add("ctx", "skb_unlisted_flow_keys", T, "ldxdw %r0, [%r1+144] #!\nexit\n", "invalid bpf_context access off=144 size=8");
    add("ctx", "skb_data_narrow_read", T, "ldxh %r0, [%r1+76] #!\nexit\n", "invalid bpf_context access off=76 size=2");
    add("ctx", "skb_modified_pointer", T, "add %r1, 4\nldxw %r0, [%r1+0] #!\nexit\n", "dereference of modified skb ptr R1");
    add("ctx", "skb_modified_pointer_write", T, "add %r1, 8\nstw [%r1+0], 1 #!\nmov %r0, 0\nexit\n",
        "dereference of modified skb ptr R1");
    add("ctx", "ctx_skb_past_end", E, "ldxdw %r2, [%r1+0]\nldxw %r0, [%r2+200] #!\nexit\n",
        "invalid bpf_context access off=200 size=4");
    add("ctx", "skb_cb_store_straddles_hash", T, "stdw [%r1+64], 0 #!\nmov %r0, 0\nexit\n",
        "invalid bpf_context access off=64 size=8");

    // ================================================================ ctx_readonly (writes to
    // read-only fields; ctx->skb)
    add("ctx_readonly", "tc_write_len", T, "stw [%r1+0], 0 #!\nmov %r0, 0\nexit\n",
        "writes 4 bytes to __sk_buff.len, which is read-only");
    add("ctx_readonly", "tc_write_data", T, "stw [%r1+76], 0 #!\nmov %r0, 0\nexit\n", "__sk_buff.data, which is read-only");
    add("ctx_readonly", "tc_write_data_end", T, "stw [%r1+80], 0 #!\nmov %r0, 0\nexit\n",
        "__sk_buff.data_end, which is read-only");
    add("ctx_readonly", "tc_write_protocol", T, "stw [%r1+16], 8 #!\nmov %r0, 0\nexit\n",
        "__sk_buff.protocol, which is read-only");
    add("ctx_readonly", "tc_write_pkt_type_byte", T, "stb [%r1+4], 0 #!\nmov %r0, 0\nexit\n",
        "writes 1 bytes to __sk_buff.pkt_type, which is read-only");
    add("ctx_readonly", "tc_write_wire_len", T, "stw [%r1+160], 0 #!\nmov %r0, 0\nexit\n",
        "__sk_buff.wire_len, which is read-only");
    add("ctx_readonly", "enqueue_write_hash", E, "ldxdw %r2, [%r1+0]\nstw [%r2+68], 7 #!\nmov %r0, 0\nexit\n",
        "__sk_buff.hash, which is read-only");
    add("ctx_readonly", "enqueue_write_len_via_spill", E,
        "ldxdw %r2, [%r1+0]\nstxdw [%r10-8], %r2\nldxdw %r3, [%r10-8]\nstw [%r3+0], 0 #!\nmov %r0, 0\nexit\n",
        "__sk_buff.len, which is read-only");
    add("ctx_readonly", "enqueue_write_ifindex_of_reference", E,
        ACQUIRE CHECKED "mov %r6, %r0\nstw [%r6+40], 3 #!\nmov %r1, %r6\ncall kfunc 1\n" OUT,
        "__sk_buff.ifindex, which is read-only");
    add("ctx_readonly", "dequeue_write_len_of_popped", D,
        POP CHECKED "mov %r6, %r0\nstw [%r6+0], 1 #!\nmov %r1, %r6\ncall kfunc 1\n" OUT,
        "__sk_buff.len, which is read-only");
    add("ctx_readonly", "enqueue_write_ctx_skb", E, "stdw [%r1+0], 0 #!\nmov %r0, 0\nexit\n",
        "ctx->skb is read-only in qdisc/enqueue");
    add("ctx_readonly", "enqueue_replace_ctx_skb_with_reference", E,
        "mov %r6, %r1\n" ACQUIRE CHECKED "stxdw [%r6+0], %r0 #!\n" OUT, "ctx->skb is read-only in qdisc/enqueue");
    add("ctx_readonly", "dequeue_ctx_skb_from_number", D, "mov %r2, 4096\nstxdw [%r1+0], %r2 #!\nmov %r0, 0\nexit\n",
        "ctx->skb must be a packet reference or NULL");
    add("ctx_readonly", "dequeue_ctx_skb_narrow_store", D, "stw [%r1+0], 0 #!\nmov %r0, 0\nexit\n",
        "invalid bpf_context access off=0 size=4");
    {
      // gotol (JMP32 JA, 32-bit offset in imm) to a write of a read-only field.
      add("ctx_readonly", "gotol_forward_to_len_write", T,
          "mov %r6, %r1\ncall 7\njeq %r0, 0, skip\nja32 bad\nskip:\nmov %r0, 0\nexit\nbad:\nstw [%r6+0], 0 #!\n"
          "mov %r0, 0\nexit\n",
          "writes 4 bytes to __sk_buff.len, which is read-only");
      add("ctx_readonly", "gotol_backward_to_pkt_type_write", E,
          "ja32 start\nbad:\nstw [%r2+4], 0 #!\nmov %r0, 1\nexit\nstart:\nldxdw %r2, [%r1+0]\nja32 bad\n",
          "__sk_buff.pkt_type, which is read-only");
      std::string far = "mov %r6, %r1\ncall 7\njeq %r0, 0, +1\nja32 bad\n";
      for (int k = 0; k < 40000; ++k) far += "mov %r0, 0\n";
      far += "exit\nbad:\nstw [%r6+0], 0 #!\nmov %r0, 0\nexit\n";
      add("ctx_readonly", "gotol_past_40000_insns_to_len_write", T, far,
          "writes 4 bytes to __sk_buff.len, which is read-only");
    }

    // ================================================================ packet (direct_packet_access)
    add("packet", "read_without_data_end_check", T, PKT "ldxb %r0, [%r2+0] #!\nexit\n",
        "invalid access to packet, off=0 size=1");
    add("packet", "write_without_data_end_check", T, PKT "stb [%r2+0], 1 #!\nmov %r0, 0\nexit\n",
        "invalid access to packet, off=0 size=1");
    add("packet", "read_past_checked_range", T, PKT_CHECK(8) "ldxw %r0, [%r2+6] #!\nexit\n" OUT,
        "invalid access to packet, off=6 size=4");
    add("packet", "read_at_checked_end", T, PKT_CHECK(8) "ldxb %r0, [%r4+0] #!\nexit\n" OUT,
        "invalid access to packet, off=8 size=1");
    add("packet", "access_on_failing_edge", T,
        PKT "mov %r4, %r2\nadd %r4, 8\njle %r4, %r3, out\nldxb %r0, [%r2+0] #!\nexit\n" OUT,
        "invalid access to packet, off=0 size=1");
    add("packet", "negative_offset_after_check", T, PKT_CHECK(8) "ldxb %r0, [%r2-1] #!\nexit\n" OUT,
        "invalid access to packet, off=-1 size=1");
    add("packet", "variable_offset_not_rechecked", T,
        PKT_CHECK(8) "ldxb %r5, [%r2+0]\nand %r5, 7\nadd %r2, %r5\nldxb %r0, [%r2+0] #!\nexit\n" OUT,
        "invalid access to packet, off=0 size=1");
    add("packet", "variable_offset_unbounded", T,
        PKT_CHECK(8) "ldxw %r5, [%r2+0]\nadd %r2, %r5 #!\nldxb %r0, [%r2+0]\nexit\n" OUT,
        "math between pkt pointer and register with unbounded min value is not allowed");
    add("packet", "variable_offset_beyond_64k", T,
        PKT_CHECK(8) "ldxw %r5, [%r2+0]\nand %r5, 0xfffff\nadd %r2, %r5\nldxb %r0, [%r2+0] #!\nexit\n" OUT,
        "R2 offset is outside of the packet");
    add("packet", "read_pkt_end", T, PKT "ldxb %r0, [%r3+0] #!\nexit\n", "R3 invalid mem access 'pkt_end'");
    add("packet", "ctx_skb_data_unchecked", E, "ldxdw %r2, [%r1+0]\nldxw %r3, [%r2+76]\nldxb %r0, [%r3+0] #!\nexit\n",
        "invalid access to packet, off=0 size=1");
    add("packet", "helper_key_from_unchecked_packet", T,
        PKT "lddw %r1, map[1]\ncall 1 #!\nmov %r0, 0\nexit\n", "invalid access to packet, off=0 size=8");
    add("packet", "helper_writes_unchecked_packet", T,
        "mov %r6, %r1\n" PKT_CHECK(4) "mov %r3, %r2\nmov %r1, %r6\nmov %r2, 0\nmov %r4, 8\ncall 26 #!\n" OUT,
        "invalid access to packet, off=0 size=8");
    add("packet", "checked_against_another_packets_end", D,
        POP CHECKED "mov %r6, %r0\n" POP "jeq %r0, 0, rel6\nmov %r7, %r0\n"
        "ldxw %r2, [%r6+76]\nldxw %r3, [%r7+80]\nmov %r4, %r2\nadd %r4, 4\njgt %r4, %r3, rel\n"
        "ldxw %r0, [%r2+0] #!\n"
        "rel:\nmov %r1, %r7\ncall kfunc 1\nrel6:\nmov %r1, %r6\ncall kfunc 1\n" OUT,
        "invalid access to packet, off=0 size=4");
    add("packet", "store_into_pkt_end", T, PKT "stb [%r3-1], 0 #!\nmov %r0, 0\nexit\n",
        "R3 invalid mem access 'pkt_end'");

    // ================================================================ leak (verifier_leak_ptr)
    add("leak", "ctx_into_map", E, "mov %r6, %r1\n" LOOKUP(1) CHECKED "stxdw [%r0+0], %r6 #!\n" OUT,
        "R6 leaks addr into map");
    add("leak", "stack_pointer_into_map", E, LOOKUP(1) CHECKED "stxdw [%r0+0], %r10 #!\n" OUT,
        "R10 leaks addr into map");
    add("leak", "map_value_into_itself", E, LOOKUP(1) CHECKED "stxdw [%r0+8], %r0 #!\n" OUT, "R0 leaks addr into map");
    add("leak", "map_pointer_into_map", E, LOOKUP(1) CHECKED "lddw %r1, map[3]\nstxdw [%r0+0], %r1 #!\n" OUT,
        "R1 leaks addr into map");
    add("leak", "packet_pointer_into_map", T,
        "mov %r6, %r1\n" LOOKUP(1) CHECKED "ldxw %r2, [%r6+76]\nstxdw [%r0+0], %r2 #!\n" OUT, "R2 leaks addr into map");
    add("leak", "ctx_skb_into_map", E,
        "mov %r6, %r1\n" LOOKUP(1) CHECKED "ldxdw %r2, [%r6+0]\nstxdw [%r0+8], %r2 #!\n" OUT, "R2 leaks addr into map");
    add("leak", "pointer_into_global", E, "lddw %r1, map[7]+0\nstxdw [%r1+0], %r10 #!\nmov %r0, 0\nexit\n",
        "R10 leaks addr into map");
    add("leak", "stack_pointer_into_ctx_delay", E, "stxdw [%r1+16], %r10 #!\nmov %r0, 0\nexit\n",
        "R10 leaks addr into ctx");
    add("leak", "ctx_into_ctx_classid", E, "stxw [%r1+8], %r1 #!\nmov %r0, 0\nexit\n", "R1 leaks addr into ctx");
    add("leak", "skb_into_own_cb", E, "ldxdw %r2, [%r1+0]\nstxw [%r2+48], %r2 #!\nmov %r0, 0\nexit\n",
        "R2 leaks addr into ctx");
    add("leak", "reference_into_ctx_delay", E,
        "mov %r6, %r1\n" ACQUIRE CHECKED "stxdw [%r6+16], %r0 #!\nmov %r1, %r0\ncall kfunc 1\n" OUT,
        "R0 leaks addr into ctx");
    add("leak", "tc_ctx_into_mark", T, "stxw [%r1+8], %r1 #!\nmov %r0, 0\nexit\n", "R1 leaks addr into ctx");
    add("leak", "pointer_into_packet", T, PKT_CHECK(8) "stxdw [%r2+0], %r1 #!\nmov %r0, 0\nexit\n" OUT,
        "R1 leaks addr into packet");
    add("leak", "pointer_into_ringbuf", E,
        "lddw %r1, map[5]\nmov %r2, 16\nmov %r3, 0\ncall 131\n" CHECKED
        "stxdw [%r0+0], %r10 #!\nmov %r1, %r0\nmov %r2, 0\ncall 132\n" OUT,
        "R10 leaks addr into mem");
    add("leak", "atomic_add_of_pointer_into_map", E,
        "mov %r6, %r1\n" LOOKUP(1) CHECKED "lock add [%r0+0], %r6 #!\n" OUT, "R6 leaks addr into mem");
    add("leak", "cmpxchg_with_pointer_in_r0", E,
        "stdw [%r10-8], 0\nmov %r0, %r1\nmov %r2, 0\nlock cmpxchg [%r10-8], %r2 #!\nmov %r0, 0\nexit\n",
        "R0 leaks addr into mem");
    add("leak", "spilled_pointer_as_update_value", E,
        "stdw [%r10-8], 0\nstxdw [%r10-24], %r1\nstdw [%r10-16], 0\nmov %r2, %r10\nadd %r2, -8\nmov %r3, %r10\n"
        "add %r3, -24\nlddw %r1, map[1]\nmov %r4, 0\ncall 2 #!\nmov %r0, 0\nexit\n",
        "R3 leaks addr: a spilled pointer is read by bpf_map_update_elem");
    add("leak", "spilled_pointer_as_update_key", E,
        "stxdw [%r10-8], %r1\nstdw [%r10-24], 0\nstdw [%r10-16], 0\nmov %r2, %r10\nadd %r2, -8\nmov %r3, %r10\n"
        "add %r3, -24\nlddw %r1, map[1]\nmov %r4, 0\ncall 2 #!\nmov %r0, 0\nexit\n",
        "R2 leaks addr: a spilled pointer is read by bpf_map_update_elem");
    add("leak", "spilled_pointer_pushed_to_queue", E,
        "stxdw [%r10-8], %r1\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, map[3]\nmov %r3, 0\ncall 87 #!\nmov %r0, 0\nexit\n",
        "R2 leaks addr: a spilled pointer is read by bpf_map_push_elem");
    add("leak", "spilled_pointer_to_ringbuf_output", T,
        "stxdw [%r10-8], %r10\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, map[5]\nmov %r3, 8\nmov %r4, 0\ncall 130 #!\n"
        "mov %r0, 0\nexit\n",
        "R2 leaks addr: a spilled pointer is read by bpf_ringbuf_output");
    add("leak", "callee_stores_caller_stack_pointer_in_map", E,
        "mov %r6, %r10\nadd %r6, -16\nmov %r1, %r6\ncall local f\nmov %r0, 0\nexit\n"
        "f:\nmov %r6, %r1\n" LOOKUP(1) CHECKED "stxdw [%r0+0], %r6 #!\n" OUT,
        "R6 leaks addr into map");
    add("leak", "return_ctx", E, "mov %r0, %r1\nexit #!\n", "At program exit the register R0 is not a known value (ctx");
    add("leak", "return_stack_pointer", T, "mov %r0, %r10\nexit #!\n",
        "At program exit the register R0 is not a known value (fp");
    add("leak", "return_map_value", T, LOOKUP(0) CHECKED "exit #!\n" OUT,
        "At program exit the register R0 is not a known value (map_value");
    add("leak", "return_ctx_skb", E, "ldxdw %r0, [%r1+0]\nexit #!\n",
        "At program exit the register R0 is not a known value (skb");
    add("leak", "return_packet_pointer", T, "ldxw %r0, [%r1+76]\nexit #!\n",
        "At program exit the register R0 is not a known value (pkt");
    add("leak", "return_map_pointer", T, "lddw %r0, map[0]\nexit #!\n",
        "At program exit the register R0 is not a known value (map_ptr");

    // ================================================================ ptr_arith (value_illegal_alu,
    // map_ptr, pointer arithmetic)
    add("ptr_arith", "add32_on_ctx", E, "add32 %r1, 4 #!\nmov %r0, 0\nexit\n", "R1 32-bit pointer arithmetic prohibited");
    add("ptr_arith", "sub32_on_stack_pointer", E, "mov %r2, %r10\nsub32 %r2, 8 #!\nmov %r0, 0\nexit\n",
        "R2 32-bit pointer arithmetic prohibited");
    add("ptr_arith", "mov32_of_pointer", E, "mov32 %r2, %r1 #!\nmov %r0, 0\nexit\n", "R1 partial copy of pointer");
    add("ptr_arith", "movsx_of_pointer", E, "movsx864 %r2, %r10 #!\nmov %r0, 0\nexit\n",
        "R10 sign-extension part of pointer");
    add("ptr_arith", "map_pointer_plus_constant", E, "lddw %r1, map[0]\nadd %r1, 8 #!\nmov %r0, 0\nexit\n",
        "R1 pointer arithmetic on map_ptr prohibited");
    add("ptr_arith", "map_pointer_plus_register", E,
        "lddw %r1, map[0]\nmov %r2, 8\nadd %r1, %r2 #!\nmov %r0, 0\nexit\n",
        "R1 pointer arithmetic on map_ptr prohibited");
    add("ptr_arith", "pkt_end_minus_constant", T, PKT "sub %r3, 4 #!\nmov %r0, 0\nexit\n",
        "R3 pointer arithmetic on pkt_end prohibited");
    add("ptr_arith", "maybe_null_map_value", E, LOOKUP(0) "add %r0, 8 #!\nmov %r0, 0\nexit\n",
        "R0 pointer arithmetic on map_value_or_null prohibited, null-check it first");
    add("ptr_arith", "maybe_null_reference", E, ACQUIRE "add %r0, 8 #!\nmov %r0, 0\nexit\n",
        "R0 pointer arithmetic on skb_or_null prohibited, null-check it first");
    add("ptr_arith", "maybe_null_ringbuf_memory", E,
        "lddw %r1, map[5]\nmov %r2, 16\nmov %r3, 0\ncall 131\nadd %r0, 8 #!\nmov %r0, 0\nexit\n",
        "R0 pointer arithmetic on ringbuf_mem_or_null prohibited, null-check it first");
    add("ptr_arith", "pointer_times_pointer", E, "mov %r2, %r10\nmul %r2, %r10 #!\nmov %r0, 0\nexit\n",
        "R2 pointer *= pointer prohibited");
    add("ptr_arith", "pointer_plus_pointer", E, "mov %r2, %r10\nadd %r2, %r1 #!\nmov %r0, 0\nexit\n",
        "R2 pointer += pointer prohibited");
    add("ptr_arith", "difference_of_unrelated_pointers", E,
        LOOKUP(0) CHECKED "mov %r2, %r10\nsub %r0, %r2 #!\n" OUT, "R0 pointer -= pointer prohibited");
    add("ptr_arith", "and_on_pointer", E, "mov %r2, %r10\nand %r2, -8 #!\nmov %r0, 0\nexit\n",
        "R2 pointer arithmetic with &= operator prohibited");
    add("ptr_arith", "or_on_pointer", E, "mov %r2, %r10\nor %r2, 1 #!\nmov %r0, 0\nexit\n",
        "R2 pointer arithmetic with |= operator prohibited");
    add("ptr_arith", "xor_on_pointer", T, "mov %r2, 5\nxor %r2, %r1 #!\nmov %r0, 0\nexit\n",
        "R2 pointer arithmetic with ^= operator prohibited");
    add("ptr_arith", "lsh_on_pointer", E, "lsh %r1, 1 #!\nmov %r0, 0\nexit\n",
        "R1 pointer arithmetic with <<= operator prohibited");
    add("ptr_arith", "rsh_on_pointer", E, "rsh %r1, 3 #!\nmov %r0, 0\nexit\n",
        "R1 pointer arithmetic with >>= operator prohibited");
    add("ptr_arith", "arsh_on_pointer", E, "arsh %r1, 3 #!\nmov %r0, 0\nexit\n",
        "R1 pointer arithmetic with s>>= operator prohibited");
    add("ptr_arith", "div_on_pointer", E, "div %r1, 2 #!\nmov %r0, 0\nexit\n",
        "R1 pointer arithmetic with /= operator prohibited");
    add("ptr_arith", "mod_on_pointer", E, "mod %r1, 3 #!\nmov %r0, 0\nexit\n",
        "R1 pointer arithmetic with %= operator prohibited");
    add("ptr_arith", "neg_on_pointer", E, "neg %r1 #!\nmov %r0, 0\nexit\n",
        "R1 pointer arithmetic with neg operator prohibited");
    add("ptr_arith", "bswap_on_pointer", E, "be64 %r1 #!\nmov %r0, 0\nexit\n", "R1 byte swap of a pointer prohibited");
    add("ptr_arith", "number_minus_pointer", E, "mov %r0, 0\nsub %r0, %r1 #!\nmov %r0, 0\nexit\n",
        "R0 pointer arithmetic with -= operator prohibited");
    add("ptr_arith", "number_times_pointer", E, "mov %r3, 2\nmul %r3, %r1 #!\nmov %r0, 0\nexit\n",
        "R3 pointer arithmetic with *= operator prohibited");
    add("ptr_arith", "offset_beyond_max_var_off", E,
        "lddw %r3, 0x40000000\nmov %r2, %r10\nadd %r2, %r3 #!\nmov %r0, 0\nexit\n",
        "value 1073741824 makes fp pointer be out of bounds");
    add("ptr_arith", "jmp32_on_pointer", E, "jeq32 %r1, 0, +0 #!\nmov %r0, 0\nexit\n",
        "R1 32-bit pointer comparison prohibited");
    add("ptr_arith", "func_pointer_plus_constant", E,
        "lddw %r2, func cb\nadd %r2, 8 #!\nmov %r0, 0\nexit\ncb:\nmov %r0, 0\nexit\n",
        "R2 pointer arithmetic on func prohibited");
    add("ptr_arith", "moved_skb_to_kfunc", E, "ldxdw %r1, [%r1+0]\nadd %r1, 8\ncall kfunc 6 #!\nmov %r0, 0\nexit\n",
        "expected=skb");
    add("ptr_arith", "moved_ringbuf_memory_submitted", E,
        "lddw %r1, map[5]\nmov %r2, 16\nmov %r3, 0\ncall 131\n" CHECKED
        "mov %r1, %r0\nadd %r1, 8\nmov %r2, 0\ncall 132 #!\n" OUT,
        "expected=ringbuf_mem");

    // ================================================================ null (value_or_null,
    // map_ret_val, ref_tracking's NULL checks)
    add("null", "lookup_read_unchecked", E, LOOKUP(0) "ldxdw %r1, [%r0+0] #!\nmov %r0, 0\nexit\n",
        "R0 invalid mem access 'map_value_or_null'");
    add("null", "lookup_write_unchecked", E, LOOKUP(1) "stdw [%r0+0], 1 #!\nmov %r0, 0\nexit\n",
        "R0 invalid mem access 'map_value_or_null'");
    add("null", "lookup_checked_inverted", E, LOOKUP(0) "jne %r0, 0, out\nldxdw %r1, [%r0+0] #!\n" OUT,
        "R0 invalid mem access 'scalar'");
    add("null", "other_lookup_checked", E,
        LOOKUP(0) "mov %r6, %r0\n" LOOKUP(1) CHECKED "ldxdw %r1, [%r6+0] #!\n" OUT,
        "R6 invalid mem access 'map_value_or_null'");
    add("null", "lookup_result_as_key", E, LOOKUP(0) "mov %r2, %r0\nlddw %r1, map[1]\ncall 1 #!\nmov %r0, 0\nexit\n",
        "R2 invalid mem access 'map_value_or_null'");
    add("null", "lookup_spilled_and_filled_unchecked", E,
        LOOKUP(0) "stxdw [%r10-16], %r0\nldxdw %r1, [%r10-16]\nldxdw %r0, [%r1+0] #!\nmov %r0, 0\nexit\n",
        "R1 invalid mem access 'map_value_or_null'");
    add("null", "acquire_read_unchecked", E, ACQUIRE "ldxw %r1, [%r0+0] #!\nmov %r0, 0\nexit\n",
        "R0 invalid mem access 'skb_or_null'");
    add("null", "acquire_write_mark_unchecked", E, ACQUIRE "stw [%r0+8], 1 #!\nmov %r0, 0\nexit\n",
        "R0 invalid mem access 'skb_or_null'");
    add("null", "acquire_released_unchecked", E, ACQUIRE "mov %r1, %r0\ncall kfunc 1 #!\nmov %r0, 0\nexit\n",
        "expected=referenced skb");
    add("null", "acquire_to_kfunc_unchecked", E, ACQUIRE "mov %r1, %r0\ncall kfunc 6 #!\nmov %r0, 0\nexit\n",
        "expected=skb");
    add("null", "queue_pop_read_unchecked", D, POP "ldxw %r1, [%r0+0] #!\nmov %r0, 0\nexit\n",
        "R0 invalid mem access 'skb_or_null'");
    add("null", "queue_pop_pushed_back_unchecked", D,
        POP "mov %r2, %r0\nlddw %r1, map[4]\nmov %r3, 0\ncall kfunc 2 #!\nmov %r0, 0\nexit\n", "expected=skb");
    add("null", "ringbuf_reserve_write_unchecked", E,
        "lddw %r1, map[5]\nmov %r2, 8\nmov %r3, 0\ncall 131\nstdw [%r0+0], 1 #!\nmov %r0, 0\nexit\n",
        "R0 invalid mem access 'ringbuf_mem_or_null'");
    add("null", "ringbuf_reserve_submit_unchecked", E,
        "lddw %r1, map[5]\nmov %r2, 8\nmov %r3, 0\ncall 131\nmov %r1, %r0\nmov %r2, 0\ncall 132 #!\nmov %r0, 0\nexit\n",
        "expected=ringbuf_mem");
    add("null", "kptr_get_read_unchecked", E,
        LOOKUP(2) CHECKED "mov %r1, %r0\ncall kfunc 5\nldxw %r1, [%r0+0] #!\n" OUT,
        "R0 invalid mem access 'skb_or_null'");
    add("null", "kptr_xchg_result_read_unchecked", E,
        LOOKUP(2) CHECKED "mov %r1, %r0\nmov %r2, 0\ncall 194\nldxw %r1, [%r0+0] #!\n" OUT,
        "R0 invalid mem access 'skb_or_null'");
    add("null", "inner_map_unchecked", E, LOOKUP(8) "mov %r1, %r0\nmov %r2, %r10\nadd %r2, -8\ncall 1 #!\nmov %r0, 0\nexit\n",
        "expected=map_ptr");
    add("null", "kptr_xchg_into_unchecked_value", E,
        LOOKUP(2) "mov %r1, %r0\nmov %r2, 0\ncall 194 #!\nmov %r0, 0\nexit\n",
        "expected=pointer to a __kptr_ref field");
    add("null", "null_constant_dereferenced", T, "mov %r1, 0\nldxb %r0, [%r1+0] #!\nexit\n",
        "R1 invalid mem access 'scalar'");
    add("null", "number_dereferenced", T, "mov %r1, 4096\nstdw [%r1+0], 0 #!\nmov %r0, 0\nexit\n",
        "R1 invalid mem access 'scalar'");

    // ================================================================ refs (ref_tracking, kptr)
    add("refs", "acquired_never_released", E, ACQUIRE CHECKED "mov %r0, 1\nexit #!\n" OUT,
        "Unreleased reference id=");
    add("refs", "released_on_one_branch_only", E,
        ACQUIRE CHECKED "mov %r6, %r0\ncall 7\njeq %r0, 0, keep\nmov %r1, %r6\ncall kfunc 1\nkeep:\nmov %r0, 1\nexit #!\n" OUT,
        "Unreleased reference id=");
    add("refs", "reference_overwritten_in_stack", E,
        ACQUIRE CHECKED "stxdw [%r10-8], %r0\nstdw [%r10-8], 0\nmov %r0, 1\nexit #!\n" OUT, "Unreleased reference id=");
    add("refs", "double_release", E,
        ACQUIRE CHECKED "mov %r6, %r0\nmov %r1, %r6\ncall kfunc 1\nmov %r1, %r6\ncall kfunc 1 #!\n" OUT,
        "expected=referenced skb");
    add("refs", "kfree_after_release", E,
        ACQUIRE CHECKED "mov %r6, %r0\nmov %r1, %r6\ncall kfunc 1\nmov %r1, %r6\ncall kfunc 7 #!\n" OUT,
        "expected=referenced skb");
    add("refs", "read_after_release", E,
        ACQUIRE CHECKED "mov %r6, %r0\nmov %r1, %r6\ncall kfunc 1\nldxw %r0, [%r6+0] #!\n" OUT,
        "R6 invalid mem access 'scalar'");
    add("refs", "write_mark_after_release", E,
        ACQUIRE CHECKED "mov %r6, %r0\nmov %r1, %r6\ncall kfunc 1\nstw [%r6+8], 1 #!\n" OUT,
        "R6 invalid mem access 'scalar'");
    add("refs", "kfunc_after_release", E,
        ACQUIRE CHECKED "mov %r6, %r0\nmov %r1, %r6\ncall kfunc 1\nmov %r1, %r6\ncall kfunc 6 #!\n" OUT,
        "expected=skb");
    add("refs", "spilled_copy_used_after_release", E,
        ACQUIRE CHECKED "stxdw [%r10-8], %r0\nmov %r1, %r0\ncall kfunc 1\nldxdw %r1, [%r10-8]\nldxw %r0, [%r1+0] #!\n" OUT,
        "R1 invalid mem access 'scalar'");
    add("refs", "packet_bytes_written_after_release", E,
        ACQUIRE CHECKED "mov %r6, %r0\nldxw %r7, [%r6+76]\nldxw %r8, [%r6+80]\nmov %r4, %r7\nadd %r4, 1\n"
        "jgt %r4, %r8, rel\nmov %r1, %r6\ncall kfunc 1\nstb [%r7+0], 0 #!\nmov %r0, 0\nexit\n"
        "rel:\nmov %r1, %r6\ncall kfunc 1\n" OUT,
        "R7 invalid mem access 'scalar'");
    add("refs", "release_borrowed_ctx_skb", E, "ldxdw %r1, [%r1+0]\ncall kfunc 1 #!\nmov %r0, 0\nexit\n",
        "expected=referenced skb");
    add("refs", "kfree_tc_context", T, "call kfunc 7 #!\nmov %r0, 0\nexit\n", "expected=referenced skb");
    add("refs", "popped_never_released", D, POP CHECKED "mov %r0, 0\nexit #!\n" OUT, "Unreleased reference id=");
    add("refs", "two_popped_one_handed_out", D,
        "mov %r6, %r1\n" POP CHECKED "stxdw [%r6+0], %r0\n" POP CHECKED "mov %r0, 0\nexit #!\n" OUT,
        "Unreleased reference id=");
    add("refs", "release_after_hand_out", D,
        "mov %r6, %r1\n" POP CHECKED "mov %r7, %r0\nstxdw [%r6+0], %r7\nmov %r1, %r7\ncall kfunc 1 #!\n" OUT,
        "expected=referenced skb");
    add("refs", "hand_out_twice", D,
        "mov %r6, %r1\n" POP CHECKED "stxdw [%r6+0], %r0\n" POP "stxdw [%r6+0], %r0 #!\n" OUT,
        "ctx->skb already holds the packet handed out");
    add("refs", "hand_out_map_value", D, "mov %r6, %r1\n" LOOKUP(1) CHECKED "stxdw [%r6+0], %r0 #!\n" OUT,
        "R0 must be a referenced packet to hand out in ctx->skb");
    add("refs", "hand_out_released", D,
        "mov %r6, %r1\n" POP CHECKED "mov %r7, %r0\nmov %r1, %r0\ncall kfunc 1\nstxdw [%r6+0], %r7 #!\n" OUT,
        "ctx->skb must be a packet reference or NULL");
    add("refs", "ringbuf_never_submitted", E,
        "lddw %r1, map[5]\nmov %r2, 8\nmov %r3, 0\ncall 131\n" CHECKED "mov %r0, 0\nexit #!\n" OUT,
        "Unreleased reference id=");
    add("refs", "ringbuf_submitted_twice", E,
        "lddw %r1, map[5]\nmov %r2, 8\nmov %r3, 0\ncall 131\n" CHECKED
        "mov %r6, %r0\nmov %r1, %r6\nmov %r2, 0\ncall 132\nmov %r1, %r6\nmov %r2, 0\ncall 133 #!\n" OUT,
        "expected=ringbuf_mem");
    add("refs", "ringbuf_written_after_submit", E,
        "lddw %r1, map[5]\nmov %r2, 8\nmov %r3, 0\ncall 131\n" CHECKED
        "mov %r6, %r0\nmov %r1, %r6\nmov %r2, 0\ncall 132\nstdw [%r6+0], 1 #!\n" OUT,
        "R6 invalid mem access 'scalar'");
    add("refs", "ringbuf_submit_stack", E,
        "stdw [%r10-8], 0\nmov %r1, %r10\nadd %r1, -8\nmov %r2, 0\ncall 132 #!\nmov %r0, 0\nexit\n",
        "expected=ringbuf_mem");
    add("refs", "ringbuf_memory_out_of_reservation", E,
        "lddw %r1, map[5]\nmov %r2, 8\nmov %r3, 0\ncall 131\n" CHECKED
        "stdw [%r0+8], 1 #!\nmov %r1, %r0\nmov %r2, 0\ncall 132\n" OUT,
        "invalid access to ringbuf memory, size=8 off=8 size=8");
    add("refs", "kptr_xchg_borrowed_ctx_skb", E,
        "ldxdw %r6, [%r1+0]\n" LOOKUP(2) CHECKED "mov %r1, %r0\nmov %r2, %r6\ncall 194 #!\n" OUT,
        "expected=referenced skb or NULL");
    add("refs", "kptr_xchg_old_value_leaked", E,
        LOOKUP(2) CHECKED "mov %r1, %r0\nmov %r2, 0\ncall 194\nmov %r6, %r0\nmov %r0, 0\nexit #!\n" OUT,
        "Unreleased reference id=");
    add("refs", "kptr_field_plain_store_of_zero", E, LOOKUP(2) CHECKED "stdw [%r0+0], 0 #!\n" OUT,
        "store to referenced kptr disallowed");
    add("refs", "kptr_field_half_overwritten", E, LOOKUP(2) CHECKED "stw [%r0+4], 0 #!\n" OUT,
        "store to referenced kptr disallowed");
    add("refs", "kptr_field_plain_store_of_reference", E,
        "ldxdw %r1, [%r1+0]\ncall kfunc 0\njeq %r0, 0, out\nmov %r7, %r0\n" LOOKUP(2)
        "jeq %r0, 0, rel\nstxdw [%r0+0], %r7 #!\n"
        "rel:\nmov %r1, %r7\ncall kfunc 1\n" OUT,
        "R7 leaks addr into map");
    add("refs", "kptr_field_atomic_xchg", E, LOOKUP(2) CHECKED "mov %r1, 0\nlock xchg [%r0+0], %r1 #!\n" OUT,
        "store to referenced kptr disallowed");
    add("refs", "kptr_field_overwritten_by_helper", T,
        "mov %r6, %r1\n" LOOKUP(2) CHECKED "mov %r3, %r0\nmov %r1, %r6\nmov %r2, 0\nmov %r4, 8\ncall 26 #!\n" OUT,
        "store to referenced kptr disallowed");
    add("refs", "kptr_xchg_at_untagged_offset", E,
        LOOKUP(2) CHECKED "mov %r1, %r0\nadd %r1, 8\nmov %r2, 0\ncall 194 #!\n" OUT,
        "expected=pointer to a __kptr_ref field");
    add("refs", "kptr_xchg_into_untagged_map", E, LOOKUP(1) CHECKED "mov %r1, %r0\nmov %r2, 0\ncall 194 #!\n" OUT,
        "expected=pointer to a __kptr_ref field");
    add("refs", "kptr_xchg_into_stack", E, "stdw [%r10-8], 0\nmov %r1, %r10\nadd %r1, -8\nmov %r2, 0\ncall 194 #!\n"
        "mov %r0, 0\nexit\n",
        "expected=pointer to a __kptr_ref field");
    add("refs", "pop_elem_discards_references", E,
        "mov %r2, %r10\nadd %r2, -8\nlddw %r1, map[10]\ncall 88 #!\nmov %r0, 0\nexit\n",
        "bpf_map_pop_elem would discard the packet references in map 'rbslots'");
    add("refs", "peek_elem_copies_references", E,
        "mov %r2, %r10\nadd %r2, -8\nlddw %r1, map[10]\ncall 89 #!\nmov %r0, 0\nexit\n",
        "bpf_map_peek_elem would discard the packet references in map 'rbslots'");
    add("refs", "subprogram_acquires_caller_leaks", E,
        "call local f\njeq %r0, 0, +0\nmov %r0, 0\nexit #!\n"
        "f:\nldxdw %r1, [%r1+0]\ncall kfunc 0\nexit\n",
        "Unreleased reference id=");

    // ================================================================ loops (loops1, cfg back-edges)
    add("loops", "jump_to_itself", E, "mov %r0, 0\nloop: ja loop #!\n", "infinite loop detected at insn 1");
    add("loops", "loop_without_progress", E, "mov %r1, 0\nloop:\nmov %r0, 0 #!\njeq %r1, 0, loop\nexit\n",
        "infinite loop detected at insn 1");
    add("loops", "loop_on_unchanged_value", E,
        LOOKUP(0) CHECKED "ldxdw %r1, [%r0+0]\nloop:\njne %r1, 5, loop #!\n" OUT, "infinite loop detected");
    add("loops", "decrement_by_zero", E, "mov %r1, 10\nloop:\nsub %r1, 0 #!\njne %r1, 0, loop\nmov %r0, 0\nexit\n",
        "infinite loop detected");
    add("loops", "counter_below_unbounded_limit", T,
        "call 7\nmov %r6, %r0\nmov %r1, 0\nloop:\nadd %r1, 1\njlt %r1, %r6, loop\nmov %r0, 0\nexit\n",
        "BPF program is too large", 2000);
    add("loops", "counter_runs_away_from_exit", T,
        "mov %r1, 10\nloop:\nadd %r1, 1\njne %r1, 0, loop\nmov %r0, 0\nexit\n", "BPF program is too large", 2000);
    add("loops", "subprogram_spins", E, "call local f\nmov %r0, 0\nexit\nf:\nmov %r0, 0\nspin:\njeq %r0, 0, spin #!\nexit\n",
        "infinite loop detected");

    // ================================================================ calls (calls, subprogs)
    add("calls", "direct_recursion", E, "call local f\nmov %r0, 0\nexit\nf:\ncall local f #!\nmov %r0, 0\nexit\n",
        "the call stack of 9 frames is too deep");
    add("calls", "mutual_recursion", E,
        "call local f\nmov %r0, 0\nexit\nf:\ncall local g\nmov %r0, 0\nexit\ng:\ncall local f\nmov %r0, 0\nexit\n",
        "frames is too deep");
    {
      std::string chain = "call local f1\nmov %r0, 0\nexit\n";
      // main and f1..f7 are 8 frames; f7 calling f8 would make 9.
      for (int k = 1; k <= 7; ++k)
        chain += "f" + std::to_string(k) + ":\ncall local f" + std::to_string(k + 1) + (k == 7 ? " #!\n" : "\n") +
                 "mov %r0, 0\nexit\n";
      chain += "f8:\nmov %r0, 0\nexit\n";
      add("calls", "nine_frames_deep", E, chain, "the call stack of 9 frames is too deep");
    }
    add("calls", "callee_writes_caller_frame", E,
        "stdw [%r10-8], 0\ncall local f\nmov %r0, 0\nexit\nf:\nstdw [%r10+8], 0 #!\nmov %r0, 0\nexit\n",
        "invalid write to stack R10 off=8 size=8");
    add("calls", "callee_reads_caller_frame", E,
        "stdw [%r10-8], 0\ncall local f\nexit\nf:\nldxdw %r0, [%r10+16] #!\nexit\n", "invalid read to stack R10 off=16 size=8");
    add("calls", "callee_moves_frame_pointer_up", E,
        "call local f\nmov %r0, 0\nexit\nf:\nmov %r1, %r10\nadd %r1, 64\nstw [%r1-8], 0 #!\nmov %r0, 0\nexit\n",
        "invalid write to stack R1 off=56 size=4");
    add("calls", "return_callee_stack_pointer", E,
        "call local f\nldxdw %r0, [%r0+0]\nmov %r0, 0\nexit\nf:\nstdw [%r10-8], 0\nmov %r0, %r10\nadd %r0, -8\nexit #!\n",
        "cannot return stack pointer to the caller frame");
    add("calls", "callee_spills_own_stack_pointer_into_caller", E,
        "mov %r1, %r10\nadd %r1, -8\nstdw [%r1+0], 0\ncall local f\nmov %r0, 0\nexit\n"
        "f:\nmov %r2, %r10\nadd %r2, -16\nstxdw [%r1+0], %r2 #!\nmov %r0, 0\nexit\n",
        "cannot spill pointers to stack into stack frame of the caller");
    add("calls", "callback_spills_own_stack_pointer_into_ctx", E,
        LOOP_CB("stdw [%r10-8], 0\nmov %r3, %r10\nadd %r3, -8\n") "mov %r0, 0\nexit\n"
        "cb:\nmov %r3, %r10\nadd %r3, -8\nstxdw [%r2+0], %r3 #!\nmov %r0, 0\nexit\n",
        "cannot spill pointers to stack into stack frame of the caller");
    add("calls", "callback_ctx_written_past_its_frame", E,
        LOOP_CB("stdw [%r10-8], 0\nmov %r3, %r10\nadd %r3, -8\n") "mov %r0, 0\nexit\n"
        "cb:\nstdw [%r2+8], 0 #!\nmov %r0, 0\nexit\n",
        "invalid write to stack R2 off=0 size=8");

    // ================================================================ callbacks (iterating_callbacks)
    add("callbacks", "loop_callback_returns_2", E,
        LOOP_CB("mov %r3, 0\n") "mov %r0, 0\nexit\ncb:\nmov %r0, 2\nexit #!\n", "should have been in [0, 1]");
    add("callbacks", "loop_callback_returns_minus_1", E,
        LOOP_CB("mov %r3, 0\n") "mov %r0, 0\nexit\ncb:\nmov %r0, -1\nexit #!\n", "should have been in [0, 1]");
    add("callbacks", "loop_callback_returns_pointer", E,
        LOOP_CB("mov %r3, 0\n") "mov %r0, 0\nexit\ncb:\nmov %r0, %r10\nexit #!\n",
        "At callback return the register R0 is not a known value");
    add("callbacks", "loop_callback_without_r0", E, LOOP_CB("mov %r3, 0\n") "mov %r0, 0\nexit\ncb:\nexit #!\n",
        "R0 !read_ok");
    add("callbacks", "for_each_callback_returns_3", E,
        "lddw %r1, map[0]\nlddw %r2, func cb\nmov %r3, 0\nmov %r4, 0\ncall 164\nmov %r0, 0\nexit\n"
        "cb:\nmov %r0, 3\nexit #!\n",
        "should have been in [0, 1]");
    add("callbacks", "callback_is_a_number", E,
        "mov %r1, 4\nmov %r2, 0\nmov %r3, 0\nmov %r4, 0\ncall 181 #!\nmov %r0, 0\nexit\n", "expected=func");
    add("callbacks", "callback_is_stack", E,
        "mov %r1, 4\nmov %r2, %r10\nmov %r3, 0\nmov %r4, 0\ncall 181 #!\nmov %r0, 0\nexit\n", "expected=func");
    add("callbacks", "callback_ctx_is_qdisc_ctx", E, "mov %r6, %r1\n" LOOP_CB("mov %r3, %r6\n") "mov %r0, 0\nexit\ncb:\nmov %r0, 0\nexit\n",
        "expected=pointer to stack or map value, or NULL");
    add("callbacks", "callback_ctx_maybe_null", E,
        LOOKUP(0) LOOP_CB("mov %r3, %r0\n") "mov %r0, 0\nexit\ncb:\nmov %r0, 0\nexit\n",
        "expected=pointer to stack or map value, or NULL");
    add("callbacks", "for_each_on_queue", E,
        "lddw %r1, map[3]\nlddw %r2, func cb\nmov %r3, 0\nmov %r4, 0\ncall 164 #!\nmov %r0, 0\nexit\ncb:\nmov %r0, 0\nexit\n",
        "cannot pass map_type 22 into func bpf_for_each_map_elem");
    add("callbacks", "for_each_callback_value_past_end", E,
        "lddw %r1, map[0]\nlddw %r2, func cb\nmov %r3, 0\nmov %r4, 0\ncall 164\nmov %r0, 0\nexit\n"
        "cb:\nldxdw %r0, [%r3+16] #!\nmov %r0, 0\nexit\n",
        "invalid access to map value, size=16 off=16 size=8");
    add("callbacks", "for_each_callback_key_past_end", E,
        "lddw %r1, map[1]\nlddw %r2, func cb\nmov %r3, 0\nmov %r4, 0\ncall 164\nmov %r0, 0\nexit\n"
        "cb:\nldxdw %r0, [%r2+8] #!\nmov %r0, 0\nexit\n",
        "invalid access to map value, size=8 off=8 size=8");

    // ================================================================ helpers (helper_access_var_len,
    // prevent_map_lookup, helper_restricted, int_ptr)
    add("helpers", "unknown_helper", E, "call 9999 #!\nmov %r0, 0\nexit\n", "unknown func #9999");
    add("helpers", "tail_call_not_provided", E, "call 12 #!\nmov %r0, 0\nexit\n", "unknown func #12");
    add("helpers", "unknown_kfunc", E, "call kfunc 9 #!\nmov %r0, 0\nexit\n",
        "calling kernel function bpf_no_such_kfunc is not allowed");
    add("helpers", "kfunc_index_out_of_range", E, "call kfunc 42 #!\nmov %r0, 0\nexit\n", "invalid kernel function call");
    add("helpers", "map_argument_is_stack", E, KEY0 "mov %r1, %r10\ncall 1 #!\nmov %r0, 0\nexit\n", "expected=map_ptr");
    add("helpers", "map_argument_is_map_value", E,
        LOOKUP(0) CHECKED "mov %r1, %r0\nmov %r2, %r10\nadd %r2, -8\ncall 1 #!\n" OUT, "expected=map_ptr");
    add("helpers", "lookup_on_queue", E, LOOKUP(3) "mov %r0, 0\nexit\n",
        "cannot pass map_type 22 into func bpf_map_lookup_elem");
    add("helpers", "update_on_ringbuf", E,
        KEY0 "mov %r3, %r10\nadd %r3, -8\nlddw %r1, map[5]\nmov %r4, 0\ncall 2 #!\nmov %r0, 0\nexit\n",
        "cannot pass map_type 27 into func bpf_map_update_elem");
    add("helpers", "push_on_hash", E,
        KEY0 "lddw %r1, map[1]\nmov %r3, 0\ncall 87 #!\nmov %r0, 0\nexit\n",
        "cannot pass map_type 1 into func bpf_map_push_elem");
    add("helpers", "ringbuf_output_on_array", E,
        KEY0 "lddw %r1, map[0]\nmov %r3, 8\nmov %r4, 0\ncall 130 #!\nmov %r0, 0\nexit\n",
        "cannot pass map_type 2 into func bpf_ringbuf_output");
    add("helpers", "ringbuf_reserve_on_queue", E,
        "lddw %r1, map[3]\nmov %r2, 8\nmov %r3, 0\ncall 131 #!\nmov %r0, 0\nexit\n",
        "cannot pass map_type 22 into func bpf_ringbuf_reserve");
    add("helpers", "skb_queue_push_on_plain_queue", E,
        "ldxdw %r2, [%r1+0]\nlddw %r1, map[3]\nmov %r3, 0\ncall kfunc 2 #!\nmov %r0, 0\nexit\n",
        "cannot pass map_type 22 into func bpf_skb_queue_push");
    add("helpers", "skb_queue_pop_on_hash", D, "lddw %r1, map[1]\ncall kfunc 3 #!\nmov %r0, 0\nexit\n",
        "cannot pass map_type 1 into func bpf_skb_queue_pop");
    add("helpers", "skb_queue_len_on_array", D, "lddw %r1, map[0]\ncall kfunc 4 #!\nmov %r0, 0\nexit\n",
        "cannot pass map_type 2 into func bpf_skb_queue_len");
    add("helpers", "key_too_small_on_stack", E,
        "stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, map[1]\ncall 1 #!\nmov %r0, 0\nexit\n",
        "invalid read to stack R2 off=-4 size=8");
    add("helpers", "key_is_a_number", E, "mov %r2, 0\nlddw %r1, map[1]\ncall 1 #!\nmov %r0, 0\nexit\n",
        "expected=fp, pkt, map_value or mem");
    add("helpers", "key_is_ctx", E, "mov %r2, %r1\nlddw %r1, map[1]\ncall 1 #!\nmov %r0, 0\nexit\n",
        "expected=fp, pkt, map_value or mem");
    add("helpers", "value_is_map_pointer", E,
        KEY0 "lddw %r1, map[1]\nmov %r3, %r1\nmov %r4, 0\ncall 2 #!\nmov %r0, 0\nexit\n",
        "expected=fp, pkt, map_value or mem");
    add("helpers", "size_unbounded", T,
        "mov %r6, %r1\ncall 5\nmov %r4, %r0\nmov %r1, %r6\nmov %r2, 0\nmov %r3, %r10\nadd %r3, -16\ncall 26 #!\n"
        "mov %r0, 0\nexit\n",
        "R4 unbounded memory access");
    add("helpers", "size_negative", T,
        "mov %r2, 0\nmov %r3, %r10\nadd %r3, -16\nmov %r4, -1\ncall 26 #!\nmov %r0, 0\nexit\n",
        "R4 unbounded memory access");
    add("helpers", "size_zero", T, "mov %r2, 0\nmov %r3, %r10\nadd %r3, -16\nmov %r4, 0\ncall 26 #!\nmov %r0, 0\nexit\n",
        "invalid zero-sized read");
    add("helpers", "size_maybe_zero", T,
        "mov %r6, %r1\ncall 7\nand %r0, 15\nmov %r4, %r0\nmov %r1, %r6\nmov %r2, 0\nmov %r3, %r10\nadd %r3, -16\n"
        "call 26 #!\nmov %r0, 0\nexit\n",
        "invalid zero-sized read");
    add("helpers", "size_exceeds_stack_buffer", T,
        "mov %r2, 0\nmov %r3, %r10\nadd %r3, -16\nmov %r4, 32\ncall 26 #!\nmov %r0, 0\nexit\n",
        "invalid write to stack R3 off=-16 size=32");
    add("helpers", "variable_size_may_exceed_buffer", T,
        "mov %r6, %r1\ncall 7\nand %r0, 31\nadd %r0, 1\nmov %r4, %r0\nmov %r1, %r6\nmov %r2, 0\nmov %r3, %r10\n"
        "add %r3, -16\ncall 26 #!\nmov %r0, 0\nexit\n",
        "invalid write to stack R3 off=-16 size=32");
    add("helpers", "size_is_pointer", T, "mov %r2, 0\nmov %r3, %r10\nadd %r3, -16\nmov %r4, %r10\ncall 26 #!\nmov %r0, 0\nexit\n",
        "R4 type=fp");
    add("helpers", "offset_is_pointer", T, "mov %r2, %r10\nmov %r3, %r10\nadd %r3, -16\nmov %r4, 8\ncall 26 #!\nmov %r0, 0\nexit\n",
        "expected=scalar");
    add("helpers", "skb_argument_is_stack", T,
        "mov %r1, %r10\nmov %r2, 0\nmov %r3, %r10\nadd %r3, -16\nmov %r4, 8\ncall 26 #!\nmov %r0, 0\nexit\n",
        "expected=skb");
    add("helpers", "ecn_on_map_value", E, LOOKUP(0) CHECKED "mov %r1, %r0\ncall 97 #!\n" OUT, "expected=skb");
    add("helpers", "ringbuf_reserve_variable_size", E,
        "call 7\nand %r0, 15\nadd %r0, 1\nmov %r2, %r0\nlddw %r1, map[5]\nmov %r3, 0\ncall 131 #!\nmov %r0, 0\nexit\n",
        "R2 must be a known constant size for bpf_ringbuf_reserve");
    add("helpers", "ringbuf_reserve_zero", E, "lddw %r1, map[5]\nmov %r2, 0\nmov %r3, 0\ncall 131 #!\nmov %r0, 0\nexit\n",
        "R2 must be a known constant size for bpf_ringbuf_reserve");
    add("helpers", "printk_format_on_stack", E,
        "stdw [%r10-8], 0\nmov %r1, %r10\nadd %r1, -8\nmov %r2, 8\ncall 6 #!\nmov %r0, 0\nexit\n",
        "expected=string constant (the format of bpf_trace_printk)");
    add("helpers", "printk_format_writable_global", E,
        "lddw %r1, map[7]+0\nmov %r2, 8\ncall 6 #!\nmov %r0, 0\nexit\n",
        "expected=string constant (the format of bpf_trace_printk)");
    add("helpers", "printk_percent_s_of_stack", E,
        "stdw [%r10-8], 0\nlddw %r1, map[6]+0\nmov %r2, 5\nmov %r3, %r10\nadd %r3, -8\ncall 6 #!\nmov %r0, 0\nexit\n",
        "expected=string constant (for %s in the format of bpf_trace_printk)");
    add("helpers", "printk_percent_s_of_number", E,
        "lddw %r1, map[6]+0\nmov %r2, 5\nmov %r3, 4096\ncall 6 #!\nmov %r0, 0\nexit\n",
        "expected=string constant (for %s");
    add("helpers", "printk_percent_s_of_unterminated_rodata", E,
        "lddw %r1, map[6]+0\nmov %r2, 5\nlddw %r3, map[6]+11\ncall 6 #!\nmov %r0, 0\nexit\n",
        "expected=string constant (for %s");
    add("helpers", "vprintk_percent_s", E,
        "lddw %r1, map[6]+0\nmov %r2, 5\nmov %r3, 0\nmov %r4, 0\ncall 177 #!\nmov %r0, 0\nexit\n",
        "bpf_trace_vprintk: %s is not supported");
    add("helpers", "spin_lock_on_stack", E, "mov %r1, %r10\nadd %r1, -8\ncall 93 #!\nmov %r0, 0\nexit\n",
        "expected=map_value");
    add("helpers", "helper_overwrites_spilled_pointer", T,
        "mov %r6, %r1\nstxdw [%r10-8], %r6\ncall 7\nand %r0, 7\nneg %r0\nmov %r3, %r10\nadd %r3, %r0\nadd %r3, -8\n"
        "mov %r1, %r6\nmov %r2, 0\nmov %r4, 8\ncall 26 #!\nmov %r0, 0\nexit\n",
        "helper may overwrite a spilled pointer");
    add("helpers", "inner_map_value_not_a_map", E,
        KEY0 "stdw [%r10-16], 0\nmov %r3, %r10\nadd %r3, -16\nlddw %r1, map[8]\nmov %r4, 0\ncall 2 #!\nmov %r0, 0\nexit\n",
        "the value of a map of maps must be a map");
    add("helpers", "kfunc_hash_of_number", E, "mov %r1, 0\ncall kfunc 6 #!\nmov %r0, 0\nexit\n", "expected=skb");
    add("helpers", "kfunc_class_qlen_of_pointer", E, "mov %r1, %r10\ncall kfunc 8 #!\nmov %r0, 0\nexit\n",
        "expected=scalar");
    add("helpers", "kfunc_queue_pop_of_stack", D, "mov %r1, %r10\ncall kfunc 3 #!\nmov %r0, 0\nexit\n",
        "expected=map_ptr");
    add("helpers", "kfunc_queue_push_of_stack", E,
        "lddw %r1, map[4]\nmov %r2, %r10\nmov %r3, 0\ncall kfunc 2 #!\nmov %r0, 0\nexit\n", "expected=skb");
    add("helpers", "kfunc_queue_push_of_packet_data", E,
        "ldxdw %r2, [%r1+0]\nldxw %r2, [%r2+76]\nlddw %r1, map[4]\nmov %r3, 0\ncall kfunc 2 #!\nmov %r0, 0\nexit\n",
        "expected=skb");
    add("helpers", "kfunc_acquire_of_map_value", E,
        LOOKUP(0) CHECKED "mov %r1, %r0\ncall kfunc 0 #!\nmov %r1, %r0\n" OUT, "expected=skb");
    add("helpers", "map_index_out_of_range", E, "lddw %r1, map[99] #!\nmov %r0, 0\nexit\n",
        "fd 99 is not pointing to valid bpf_map");

    // ================================================================ retval (cgroup_inv_retcode,
    // netfilter_retcode)
    add("retval", "enqueue_returns_7", E, "mov %r0, 7\nexit #!\n", "should have been in [0, 6]");
    add("retval", "dequeue_returns_minus_1", D, "mov %r0, -1\nexit #!\n", "should have been in [0, 6]");
    add("retval", "enqueue_returns_random", E, "call 7\nexit #!\n", "should have been in [0, 6]");
    add("retval", "enqueue_returns_7_on_one_path", E,
        "call 7\njeq %r0, 0, seven\nmov %r0, 1\nexit\nseven:\nmov %r0, 7\nexit #!\n", "should have been in [0, 6]");
    add("retval", "dequeue_returns_masked_3_bits", D, "call 7\nand %r0, 7\nexit #!\n", "should have been in [0, 6]");
    add("retval", "enqueue_returns_u32_minus_1", E, "mov32 %r0, -1\nexit #!\n", "should have been in [0, 6]");

    // ================================================================ cfg (verifier_cfg)
    add("cfg", "jump_past_end", E, "ja +5 #!\nexit\n", "jump out of range from insn 0 to 6");
    add("cfg", "jump_before_start", E, "mov %r0, 0\nja -3 #!\nexit\n", "jump out of range from insn 1 to -1");
    add("cfg", "conditional_jump_past_end", E, "mov %r0, 0\njeq %r1, 0, +7 #!\nexit\n",
        "jump out of range from insn 1 to 9");
    add("cfg", "falls_off_the_end", E, "mov %r0, 0 #!\n", "last insn is not an exit or jmp");
    add("cfg", "branch_falls_off_the_end", E, "mov %r0, 0\njeq %r1, 0, +1\nexit\nmov %r0, 1 #!\n",
        "last insn is not an exit or jmp");
    add("cfg", "unreachable_tail", E, "mov %r0, 0\nexit\nmov %r0, 1 #!\nexit\n", "unreachable insn 2");
    add("cfg", "jump_into_lddw", E, "ja +1 #!\nlddw %r0, 1\nexit\n", "jump into the middle of ldimm64 insn 1");
    add("cfg", "subprogram_falls_off", E, "call local f\nmov %r0, 0\nexit\nf:\nmov %r0, 0 #!\n",
        "last insn is not an exit or jmp");
    add("cfg", "jump_into_another_subprogram", E,
        "call local f\nja inside #!\nexit\nf:\nmov %r0, 0\ninside:\nexit\n", "jump out of range from insn 1 to 4");
    add("cfg", "call_past_end", E, "call local +100 #!\nmov %r0, 0\nexit\n", "call to invalid destination");
    add("cfg", "lddw_cut_in_half", E, "mov %r0, 0\nexit\n.insn 0x0000000000000018 #!\n", "invalid BPF_LD_IMM insn");
    add("cfg", "callback_target_past_end", E, "lddw %r2, func +50 #!\nmov %r0, 0\nexit\n", "invalid func target");

    // ================================================================ alu (div0, junk_insn, basic_instr)
    add("alu", "div_by_constant_zero", E, "mov %r0, 5\ndiv %r0, 0 #!\nexit\n", "div by zero");
    add("alu", "mod32_by_constant_zero", E, "mov %r0, 5\nmod32 %r0, 0 #!\nexit\n", "div by zero");
    add("alu", "sdiv_by_constant_zero", E, "mov %r0, 5\nsdiv %r0, 0 #!\nexit\n", "div by zero");
    add("alu", "lsh_by_64", E, "mov %r0, 1\nlsh %r0, 64 #!\nexit\n", "invalid shift 64");
    add("alu", "rsh32_by_32", E, "mov %r0, 1\nrsh32 %r0, 32 #!\nexit\n", "invalid shift 32");
    add("alu", "arsh_by_negative", E, "mov %r0, 1\narsh %r0, -1 #!\nexit\n", "invalid shift -1");
    add("alu", "alu_reserved_offset", E, "mov %r0, 0\n.insn 0x0000000100010007 #!\nexit\n", "BPF_ALU uses reserved fields");
    add("alu", "bswap_width_8", E, "mov %r0, 0\n.insn 0x00000008000000dc #!\nexit\n", "invalid BPF_END width 8");
    add("alu", "register_11", E, ".insn 0x0000000000000bb7 #!\nmov %r0, 0\nexit\n", "R11 is invalid");
    add("alu", "movsx_width_4", E, "mov %r1, 1\n.insn 0x00000000000410bf #!\nmov %r0, 0\nexit\n", "invalid movsx offset 4");
    add("alu", "ld_abs", T, ".insn 0x0000000000000020 #!\nmov %r0, 0\nexit\n",
        "BPF_LD_[ABS|IND] instructions are not supported");
    add("alu", "lddw_unknown_kind", E, ".insn 0x0000000000007018 #!\n.insn 0\nmov %r0, 0\nexit\n",
        "invalid BPF_LD_IMM insn (src_reg 7)");
    add("alu", "call_of_unknown_kind", E, ".insn 0x0000000000003085 #!\nmov %r0, 0\nexit\n", "unknown call kind (src_reg 3)");
    add("alu", "atomic_unknown_operation", E,
        "stdw [%r10-8], 0\nmov %r1, 1\n.insn 0x00000010fff81adb #!\nmov %r0, 0\nexit\n",
        "BPF_ATOMIC uses invalid atomic opcode 16");

    // ================================================================ atomic (verifier_xadd, atomic_*)
    // Atomics on the context would move ctx->skb, or change read-only packet fields.
    add("atomic", "atomic_on_qdisc_ctx_skb_pointer", E, "mov %r2, 64\nlock add [%r1+0], %r2 #!\nmov %r0, 0\nexit\n",
        "BPF_ATOMIC stores into R1 ctx is not allowed");
    add("atomic", "atomic_on_skb_len", E, "ldxdw %r3, [%r1+0]\nmov %r2, 1\nlock add32 [%r3+0], %r2 #!\nmov %r0, 0\nexit\n",
        "BPF_ATOMIC stores into R3 skb is not allowed");
    add("atomic", "atomic_on_packet", T, PKT_CHECK(8) "mov %r5, 1\nlock add [%r2+0], %r5 #!\nmov %r0, 0\nexit\n" OUT,
        "BPF_ATOMIC stores into R2 pkt is not allowed");
    add("atomic", "atomic_misaligned_in_map_value", E,
        LOOKUP(0) CHECKED "mov %r1, 1\nlock add32 [%r0+2], %r1 #!\n" OUT, "misaligned access off 2 size 4");
    add("atomic", "atomic_past_map_value", E, LOOKUP(0) CHECKED "mov %r1, 1\nlock add [%r0+16], %r1 #!\n" OUT,
        "invalid access to map value, size=16 off=16 size=8");
    add("atomic", "atomic_halfword", E, "stdw [%r10-8], 0\nmov %r1, 1\n.insn 0x00000000fff81acb #!\nmov %r0, 0\nexit\n",
        "invalid atomic operand size");
    add("atomic", "atomic_on_maybe_null", E, LOOKUP(0) "mov %r1, 1\nlock add [%r0+0], %r1 #!\nmov %r0, 0\nexit\n",
        "R0 invalid mem access 'map_value_or_null'");

    // ================================================================ spill (spill_fill)
    add("spill", "narrow_fill_of_pointer", E, "stxdw [%r10-8], %r1\nldxw %r0, [%r10-8] #!\nexit\n",
        "invalid size of register fill");
    add("spill", "narrow_spill_of_pointer", E, "stxw [%r10-8], %r1 #!\nmov %r0, 0\nexit\n",
        "invalid size of register spill");
    add("spill", "variable_offset_spill_of_pointer", E,
        "mov %r6, %r1\nstdw [%r10-16], 0\nstdw [%r10-8], 0\ncall 7\nand %r0, 8\nmov %r2, %r10\nadd %r2, -16\n"
        "add %r2, %r0\nstxdw [%r2+0], %r6 #!\nmov %r0, 0\nexit\n",
        "spilled ptr through a variable-offset stack write");
    add("spill", "variable_offset_fill_of_pointer", E,
        "stxdw [%r10-8], %r1\nstdw [%r10-16], 0\ncall 7\nand %r0, 8\nmov %r2, %r10\nadd %r2, -16\nadd %r2, %r0\n"
        "ldxdw %r0, [%r2+0] #!\nmov %r0, 0\nexit\n",
        "reading a spilled pointer through a variable offset");
    add("spill", "partly_overwritten_pointer_dereferenced", E,
        "stxdw [%r10-8], %r1\nstb [%r10-8], 0\nldxdw %r1, [%r10-8] #!\nldxw %r0, [%r1+8]\nexit\n",
        "invalid read from stack off -8+0 size 8");
    add("spill", "map_pointer_dereferenced", E, "lddw %r1, map[0]\nldxdw %r0, [%r1+0] #!\nexit\n",
        "R1 invalid mem access 'map_ptr'");
    add("spill", "map_pointer_written", E, "lddw %r1, map[0]\nstdw [%r1+0], 0 #!\nmov %r0, 0\nexit\n",
        "R1 invalid mem access 'map_ptr'");
    add("spill", "func_pointer_dereferenced", E,
        "lddw %r1, func cb\nldxdw %r0, [%r1+0] #!\nexit\ncb:\nmov %r0, 0\nexit\n", "R1 invalid mem access 'func'");

    // ================================================================ raw (a program on a buffer)
    add("raw", "read_past_buffer", R, "ldxdw %r0, [%r1+64] #!\nexit\n", "invalid access to map value, size=64 off=64 size=8");
    add("raw", "pointer_moved_by_size", R, "add %r1, %r2\nldxb %r0, [%r1+0] #!\nexit\n",
        "invalid access to map value, size=64 off=64 size=1");
    add("raw", "read_before_buffer", R, "ldxb %r0, [%r1-1] #!\nexit\n", "invalid access to map value, size=64 off=-1 size=1");
    add("raw", "index_from_buffer_unbounded", R, "ldxdw %r3, [%r1+0]\nadd %r1, %r3 #!\nldxb %r0, [%r1+0]\nexit\n",
        "math between map_value pointer and register with unbounded min value is not allowed");
    add("raw", "buffer_pointer_returned", R, "mov %r0, %r1\nexit #!\n", "At program exit the register R0 is not a known value");
    for (const AsmCase& f : found_while_writing()) c.push_back(f);
    return c;
  }();
  return cases;
}

// The object every case is verified in.
const loader::ObjectSpec& object() {
  static const loader::ObjectSpec obj = [] {
    loader::ObjectSpec o;
    o.path = "corpus_asm";
    auto map = [&](std::string name, maps::MapType type, uint32_t key, uint32_t value, uint32_t max) {
      return test::add_map(o, std::move(name), type, key, value, max);
    };
    map("array", maps::MapType::Array, 4, 16, 4);
    map("hash", maps::MapType::Hash, 8, 16, 16);
    map("slots", maps::MapType::Hash, 4, 16, 16)->kptr_offsets = {0};
    map("queue", maps::MapType::Queue, 0, 8, 16);
    map("skbq", maps::MapType::Pifo, 4, 8, 64)->extra = 1000;
    map("events", maps::MapType::Ringbuf, 0, 0, 4096);
    {
      maps::MapSpec* m = map(".rodata", maps::MapType::Array, 4, 16, 1);
      m->read_only = true;
      const char text[16] = "s=%s\0%d\0hi\0xxxx";  // the last string is not terminated
      m->initial_value.assign(text, text + 16);
      m->initial_value[15] = 'y';
      m->section = ".rodata";
    }
    map(".bss", maps::MapType::Array, 4, 16, 1)->section = ".bss";
    {
      maps::MapSpec* m = map("aom", maps::MapType::ArrayOfMaps, 4, 4, 4);
      auto inner = std::make_shared<maps::MapSpec>();
      inner->name = "inner";
      inner->type = static_cast<uint32_t>(maps::MapType::Array);
      inner->key_size = 4;
      inner->value_size = 16;
      inner->max_entries = 4;
      m->inner = inner;
    }
    map("stack", maps::MapType::Stack, 0, 8, 16);
    map("rbslots", maps::MapType::Rbtree, 8, 8, 16)->kptr_offsets = {0};
    map("locked", maps::MapType::Array, 4, 16, 4)->spin_lock_offset = 0;  // map[11]
    return o;
  }();
  return obj;
}

const std::vector<std::string> kKfuncs = {"bpf_skb_acquire",   "bpf_skb_release",  "bpf_skb_queue_push",
                                          "bpf_skb_queue_pop", "bpf_skb_queue_len", "bpf_skb_kptr_get",
                                          "bpf_skb_get_hash",  "bpf_kfree_skb",    "bpf_qdisc_class_qlen",
                                          "bpf_no_such_kfunc"};

// The slot of the line marked `#!`, or -1: each instruction line is one slot, lddw two.
int marked_insn(const std::string& text) {
  int slot = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    const bool marked = line.find("#!") != std::string::npos;
    if (size_t hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    auto trim = [](std::string& s) {
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
      while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
    };
    trim(line);
    // A leading label.
    if (size_t colon = line.find(':'); colon != std::string::npos && line.find_first_of(" [%") > colon) {
      line.erase(0, colon + 1);
      trim(line);
    }
    if (marked) return line.empty() ? -1 : slot;
    if (line.empty()) continue;
    slot += line.rfind("lddw", 0) == 0 ? 2 : 1;
  }
  return -1;
}

loader::ProgramSpec program(const AsmCase& c) {
  loader::ProgramSpec p;
  p.name = c.name;
  p.section = c.type == "raw" ? "raw" : c.type;
  p.insns = ebpf::assemble(c.text);
  p.kfunc_names = kKfuncs;
  std::vector<ebpf::CfgError> errors;
  const ebpf::Cfg cfg = ebpf::build_cfg(p.insns, errors);
  if (!errors.empty() || cfg.subprograms.size() <= 1) {
    p.functions.push_back({"prog", 0, p.insns.size()});
  } else {
    for (size_t k = 0; k < cfg.subprograms.size(); ++k) {
      const ebpf::Subprogram& sp = cfg.subprograms[k];
      p.functions.push_back({k == 0 ? "prog" : "sub" + std::to_string(k), sp.start, sp.end - sp.start});
    }
  }
  return p;
}

verifier::VerifyResult run(const AsmCase& c) {
  const loader::ProgramSpec p = program(c);
  verifier::VerifyOptions opts;
  if (c.insn_limit) opts.insn_limit = c.insn_limit;
  if (c.type == "raw") {
    opts.ctx_size = 64;
    return verifier::verify(p, object(), verifier::raw_memory_type(), opts);
  }
  const verifier::ProgramType* type = verifier::program_type_for_section(c.type);
  if (!type) throw Error("no program type for " + c.type);
  return verifier::verify(p, object(), *type, opts);
}

void check_case(const AsmCase& c) {
  SCOPED_TRACE(c.cls + "/" + c.name);
  verifier::VerifyResult r;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    r = run(c);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (secs > 2) std::printf("slow case %s: %.1f s, %llu insns processed\n", c.name.c_str(), secs,
                              static_cast<unsigned long long>(r.insns_processed));
  } catch (const std::exception& e) {
    ADD_FAILURE() << c.name << ": threw " << e.what();
    return;
  }
  ASSERT_FALSE(r.ok) << c.name << " was accepted";
  EXPECT_NE(r.error.message.find(c.msg), std::string::npos)
      << c.name << ": expected \"" << c.msg << "\"\n   got \"" << r.error.message << "\" at insn " << r.error.insn;
  const int want = marked_insn(c.text);
  if (want >= 0) {
    EXPECT_EQ(r.error.insn, static_cast<size_t>(want)) << c.name << ": " << r.error.message;
  }
}

size_t check_class(const std::string& cls) {
  size_t n = 0;
  for (const AsmCase& c : corpus())
    if (c.cls == cls) {
      check_case(c);
      ++n;
    }
  EXPECT_GT(n, 0u) << "no cases in class " << cls;
  return n;
}

#define CLASS_TEST(Name, cls) \
  TEST(VerifierCorpusAsm, Name) { check_class(cls); }

CLASS_TEST(Stack, "stack")
CLASS_TEST(Uninit, "uninit")
CLASS_TEST(MapValue, "map_value")
CLASS_TEST(ReadOnlyMaps, "rodata")
CLASS_TEST(Ctx, "ctx")
CLASS_TEST(CtxReadOnlyFields, "ctx_readonly")
CLASS_TEST(Packet, "packet")
CLASS_TEST(PointerLeaks, "leak")
CLASS_TEST(PointerArithmetic, "ptr_arith")
CLASS_TEST(NullChecks, "null")
CLASS_TEST(References, "refs")
CLASS_TEST(Loops, "loops")
CLASS_TEST(Calls, "calls")
CLASS_TEST(Callbacks, "callbacks")
CLASS_TEST(HelperArgs, "helpers")
CLASS_TEST(ReturnValues, "retval")
CLASS_TEST(ControlFlowGraph, "cfg")
CLASS_TEST(AluEncoding, "alu")
CLASS_TEST(Atomics, "atomic")
CLASS_TEST(SpillFill, "spill")
CLASS_TEST(RawBuffer, "raw")
CLASS_TEST(SpinLocks, "lock")

// A lock taken and released around an update of the value's other fields.
TEST(VerifierCorpusAsm, SpinLockAroundAnUpdateIsAccepted) {
  const AsmCase c{"spin_lock_ok", "lock", "qdisc/enqueue",
                  LOOKUP(11) CHECKED "mov %r6, %r0\nmov %r1, %r0\ncall 93\nldxdw %r2, [%r6+8]\nadd %r2, 1\n"
                  "stxdw [%r6+8], %r2\nmov %r1, %r6\ncall 94\n" OUT, ""};
  const verifier::VerifyResult r = run(c);
  EXPECT_TRUE(r.ok) << r.error.message << " at insn " << r.error.insn;
}

TEST(VerifierCorpusAsm, EveryCaseHasAUniqueNameAndAKnownClass) {
  const std::set<std::string> classes = {"stack",     "uninit", "map_value", "rodata",    "ctx",     "ctx_readonly",
                                         "packet",    "leak",   "ptr_arith", "null",      "refs",    "loops",
                                         "calls",     "callbacks", "helpers", "retval",   "cfg",     "alu",
                                         "atomic",    "spill",  "raw",     "lock"};
  std::set<std::string> names;
  std::map<std::string, int> per_class;
  for (const AsmCase& c : corpus()) {
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate case name " << c.name;
    EXPECT_TRUE(classes.count(c.cls)) << c.name << ": unknown class " << c.cls;
    ++per_class[c.cls];
  }
  EXPECT_GE(corpus().size(), 150u);
  std::string summary;
  for (const auto& [cls, n] : per_class) summary += cls + "=" + std::to_string(n) + " ";
  RecordProperty("per_class", summary);
  std::printf("asm corpus: %zu cases: %s\n", corpus().size(), summary.c_str());
}

// ---------------------------------------------------------------------------------------------
// Unsafe programs the verifier once accepted (found while writing this corpus), with the
// checks added for them: part of corpus().
const std::vector<AsmCase>& found_while_writing() {
  static const std::vector<AsmCase> cases = [] {
    std::vector<AsmCase> c;
    auto add = [&](std::string cls, std::string name, std::string type, std::string text, std::string msg) {
      c.push_back(AsmCase{std::move(name), std::move(cls), std::move(type), std::move(text), std::move(msg), 0});
    };
    const std::string E = "qdisc/enqueue", T = "tc";
    // Never terminates: a back edge to the callback's first instruction was taken for the helper
    // calling the callback again (Verifier::visit pruned every callback entry it had seen).
    add("callbacks", "callback_jumps_to_its_first_insn", E, LOOP_CB("mov %r3, 0\n") "mov %r0, 0\nexit\ncb:\nja cb\n",
        "infinite loop detected");
    add("callbacks", "callback_spins_on_unchanging_ctx", E,
        "stdw [%r10-8], 0\n" LOOP_CB("mov %r3, %r10\nadd %r3, -8\n") "mov %r0, 0\nexit\n"
        "cb:\nldxdw %r1, [%r2+0]\njeq %r1, 0, cb\nmov %r0, 0\nexit\n",
        "infinite loop detected");
    // r0 in [0, 0xffffffff] passed the [0, 1] check (it tested umin > 1, not umax > 1).
    add("callbacks", "callback_returns_any_u32", E, LOOP_CB("mov %r3, 0\n") "mov %r0, 0\nexit\ncb:\ncall 7\nexit\n",
        "should have been in [0, 1]");
    // Releases took any offset (SkbRelease checked neither off nor the variable part; Linux:
    // "R1 must have zero offset when passed to release func"): a pointer into the packet
    // struct is released as if it were the packet.
    add("refs", "release_reference_plus_8", E, ACQUIRE CHECKED "add %r0, 8\nmov %r1, %r0\ncall kfunc 1\n" OUT,
        "expected=referenced skb (arg 1 of bpf_skb_release)");
    add("refs", "kfree_reference_plus_8", E, ACQUIRE CHECKED "add %r0, 8\nmov %r1, %r0\ncall kfunc 7\n" OUT,
        "expected=referenced skb (arg 1 of bpf_kfree_skb)");
    add("refs", "release_reference_plus_variable", E,
        ACQUIRE CHECKED "mov %r6, %r0\ncall 7\nand %r0, 8\nadd %r6, %r0\nmov %r1, %r6\ncall kfunc 1\n" OUT,
        "expected=referenced skb (arg 1 of bpf_skb_release)");
    // bpf_kptr_xchg's new value was checked for off == 0 but not for a variable part: the map
    // field received ref + 0 or ref + 8.
    add("refs", "kptr_xchg_reference_plus_variable", E,
        ACQUIRE CHECKED "mov %r7, %r0\nmov %r8, %r0\ncall 7\nand %r0, 8\nadd %r7, %r0\n" LOOKUP(2)
        "jeq %r0, 0, rel\nmov %r1, %r0\nmov %r2, %r7\ncall 194\njeq %r0, 0, out\nmov %r1, %r0\ncall kfunc 1\nja out\n"
        "rel:\nmov %r1, %r8\ncall kfunc 1\n" OUT,
        "expected=referenced skb or NULL (arg 2 of bpf_kptr_xchg)");
    // A pointer's bits read back as a number, then stored in a map (what "leaks addr into map"
    // forbids): atomics with fetch on a spilled pointer, and the rest of a partly overwritten one.
    add("atomic", "atomic_fetch_add_reads_spilled_pointer", E,
        "stxdw [%r10-16], %r1\nmov %r6, 0\nlock fetch add [%r10-16], %r6\n" LOOKUP(1) CHECKED "stxdw [%r0+0], %r6\n" OUT,
        "BPF_ATOMIC on a spilled pointer at fp-16 is not allowed");
    add("atomic", "atomic_xchg_reads_spilled_pointer", E,
        "stxdw [%r10-16], %r1\nmov %r6, 0\nlock xchg [%r10-16], %r6\n" LOOKUP(1) CHECKED "stxdw [%r0+0], %r6\n" OUT,
        "BPF_ATOMIC on a spilled pointer at fp-16 is not allowed");
    add("spill", "partly_overwritten_spill_exposes_pointer_bits", E,
        "stxdw [%r10-16], %r1\nstb [%r10-16], 0\nldxw %r6, [%r10-12]\n" LOOKUP(1) CHECKED "stxw [%r0+0], %r6\n" OUT,
        "invalid read from stack off -12+0 size 4");
    // bpf_trace_printk/vprintk's format size was only checked to be a number: the helper reads
    // fmt[size - 1], here up to 1 MB past a 16-byte .rodata (no run-time check in a verified program).
    add("helpers", "printk_format_size_past_its_string", E, "lddw %r1, map[6]+5\nmov %r2, 1000000\ncall 6\nmov %r0, 0\nexit\n",
        "expected=the format's size");
    add("helpers", "printk_format_size_unbounded", E, "call 5\nmov %r2, %r0\nlddw %r1, map[6]+5\ncall 6\nmov %r0, 0\nexit\n",
        "expected=the format's size");
    add("helpers", "vprintk_format_size_past_its_string", E,
        "lddw %r1, map[6]+5\nmov %r2, 4096\nmov %r3, 0\nmov %r4, 0\ncall 177\nmov %r0, 0\nexit\n",
        "invalid access to map value, size=16 off=5 size=4096");
    // bpf_spin_lock took any map value pointer: the helper wrote the lock word (4 bytes) past
    // the value, into read-only .rodata, or into a hash map's key; and a lock held at exit
    // makes the next taker spin forever (Linux: "BPF_EXIT instruction in main prog cannot be
    // used inside bpf_spin_lock-ed region").
    add("lock", "spin_lock_past_map_value", E,
        LOOKUP(1) CHECKED "mov %r6, %r0\nmov %r1, %r0\nadd %r1, 64\ncall 93\nmov %r1, %r6\nadd %r1, 64\ncall 94\n" OUT,
        "map 'hash' has no valid bpf_spin_lock");
    add("lock", "spin_lock_in_rodata", E, "lddw %r1, map[6]+0\ncall 93\nlddw %r1, map[6]+0\ncall 94\nmov %r0, 0\nexit\n",
        "map '.rodata' has no valid bpf_spin_lock");
    add("lock", "spin_lock_on_for_each_key", E,
        "lddw %r1, map[1]\nlddw %r2, func cb\nmov %r3, 0\nmov %r4, 0\ncall 164\nmov %r0, 0\nexit\n"
        "cb:\nmov %r6, %r2\nmov %r1, %r2\ncall 93\nmov %r1, %r6\ncall 94\nmov %r0, 0\nexit\n",
        "map 'hash key' has no valid bpf_spin_lock");
    add("lock", "spin_lock_held_at_exit", E, LOOKUP(11) CHECKED "mov %r1, %r0\ncall 93\n" OUT,
        "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region");
    // The rest of the lock discipline (map[11] has its lock at offset 0).
    add("lock", "spin_lock_taken_twice", E, LOOKUP(11) CHECKED "mov %r6, %r0\nmov %r1, %r0\ncall 93\nmov %r1, %r6\ncall 93\n" OUT,
        "function calls are not allowed while holding a lock");
    add("lock", "helper_called_under_lock", E,
        LOOKUP(11) CHECKED "mov %r6, %r0\nmov %r1, %r0\ncall 93\ncall 7\nmov %r1, %r6\ncall 94\n" OUT,
        "function calls are not allowed while holding a lock");
    add("lock", "unlock_without_lock", E, LOOKUP(11) CHECKED "mov %r1, %r0\ncall 94\n" OUT,
        "bpf_spin_unlock without taking a lock");
    add("lock", "unlock_through_another_lookup", E,
        LOOKUP(11) CHECKED "mov %r6, %r0\n" KEY0 "lddw %r1, map[11]\ncall 1\njeq %r0, 0, out\nmov %r7, %r0\n"
        "mov %r1, %r6\ncall 93\nmov %r1, %r7\ncall 94\nmov %r1, %r6\ncall 94\n" OUT,
        "bpf_spin_unlock of different lock");
    add("lock", "lock_at_wrong_offset", E, LOOKUP(11) CHECKED "mov %r1, %r0\nadd %r1, 4\ncall 93\n" OUT,
        "off 4 doesn't point to 'struct bpf_spin_lock' that is at 0");
    add("lock", "store_to_lock_word", E, LOOKUP(11) CHECKED "stw [%r0+0], 1\n" OUT,
        "bpf_spin_lock cannot be accessed directly by load/store");
    add("lock", "atomic_on_lock_word", E, LOOKUP(11) CHECKED "mov %r1, 1\nlock add32 [%r0+0], %r1\n" OUT,
        "bpf_spin_lock cannot be accessed directly by load/store");
    add("lock", "lock_word_read_by_helper", E, LOOKUP(11) CHECKED "mov %r2, %r0\nlddw %r1, map[11]\ncall 1\n" OUT,
        "bpf_spin_lock cannot be accessed directly by load/store");
    (void)T;
    return c;
  }();
  return cases;
}

// A loop the verifier cannot bound is refused at the instruction limit (250k by default). It once
// cost about the cube of the instructions processed (every visit of the loop head compared
// against every stored state); the newest kScanStates only are compared now: seconds, not hours.
TEST(VerifierCorpusAsm, UnboundedLoopAtTheDefaultLimitIsRefusedQuickly) {
  const AsmCase c{"counter_below_unbounded_limit", "loops", "tc",
                  "call 7\nmov %r6, %r0\nmov %r1, 0\nloop:\nadd %r1, 1\njlt %r1, %r6, loop\nmov %r0, 0\nexit\n",
                  "BPF program is too large"};
  const verifier::VerifyResult r = run(c);
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error.message.find(c.msg), std::string::npos) << r.error.message;
  EXPECT_LT(r.seconds, 60.0);
}

}  // namespace
