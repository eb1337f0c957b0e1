#pragma once
// What each kind of program may do, in one table read by the verifier, the runtime and the CLI:
// the section that selects it, its context (which bytes it may read and write, and what a load
// yields), its allowed return values; and the prototypes of every helper and kfunc bpfq
// provides (argument and return kinds, references acquired and released). Which helpers a
// program can link against is the embedder's HelperRegistry; what they accept is here.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bpfq::verifier {

// What a context field holds, for the verifier.
enum class FieldKind : uint8_t {
  Scalar,      // a number
  Skb,         // a packet pointer (struct __sk_buff *): qdisc ctx->skb
  PacketData,  // __sk_buff.data: the first byte of the packet
  PacketEnd,   // __sk_buff.data_end: one past the last byte
};

struct CtxField {
  std::string_view name;
  uint32_t offset = 0;
  uint32_t size = 0;       // bytes
  bool writable = false;
  FieldKind kind = FieldKind::Scalar;
  bool narrow_reads = true;  // may be read by a smaller load inside it (scalars)
};

// The layout of a struct the verifier lets programs access field by field.
struct CtxLayout {
  std::string_view type_name;  // "struct sch_bpf_ctx"
  uint32_t size = 0;
  std::span<const CtxField> fields;
  const CtxField* field_at(uint32_t offset) const;  // the field containing offset, or null
};

const CtxLayout& sch_bpf_ctx_layout();  // struct sch_bpf_ctx (qdisc programs)
const CtxLayout& sk_buff_layout();      // struct __sk_buff (tc programs, and every packet)

// Memory: r1 points to VerifyOptions::ctx_size bytes of plain memory and r2 holds that size
// (programs bpfq's own tests run on a buffer, like the conformance suite's).
enum class CtxKind : uint8_t { QdiscCtx, SkBuff, Memory };

struct ProgramType {
  std::string_view name;         // "qdisc/enqueue"
  CtxKind ctx = CtxKind::QdiscCtx;
  // qdisc/enqueue: ctx->skb is the packet offered, borrowed for the run.
  bool ctx_skb_in = false;
  // qdisc/dequeue: the program hands a packet reference out in ctx->skb.
  bool ctx_skb_out = false;
  // Allowed return values (inclusive); nullopt: any number.
  std::optional<std::pair<int64_t, int64_t>> ret_range;
  std::string_view ret_hint;  // what the values mean
};

// The program type a section selects, or null (bpfq runs such programs only checked).
const ProgramType* program_type_for_section(std::string_view section);
std::span<const ProgramType> program_types();
// The sections that select a program type: the qdisc types' names, then tc's (with tc/*).
std::span<const std::string_view> program_sections();
// No section selects it: a program run on a plain buffer (CtxKind::Memory).
const ProgramType& raw_memory_type();

// ---- helper and kfunc prototypes ----

enum class ArgKind : uint8_t {
  None,             // no more arguments
  Scalar,           // a number
  Vararg,           // printk's arguments: anything, or not passed at all
  Format,           // a printk format: a string constant; its %s arguments are checked
  ConstMap,         // a map (lddw of a map)
  MapKey,           // readable memory of the map's key size (arg 1's map)
  MapValue,         // readable memory of the map's value size
  MapValueOut,      // writable memory of the map's value size (may be uninitialised)
  MemIn,            // readable memory, size in the next argument
  MemOut,           // writable memory, size in the next argument (may be uninitialised)
  Size,             // the size of the previous argument: a bounded number
  SizeOrZero,       // the same, 0 allowed
  Skb,              // a packet the program may use (ctx->skb, a held reference), not NULL
  SkbRelease,       // a packet reference the program holds; released by the call
  KptrField,        // a map value pointer at a packet-reference (__kptr_ref) field
  SkbOrNullRelease, // a held packet reference (moved into the map) or NULL
  Callback,         // a static sub-program (lddw of a function)
  CallbackCtx,      // handed to the callback: a pointer to the stack or a map value, or NULL
  RingbufMem,       // memory reserved by bpf_ringbuf_reserve; released by the call
  SpinLock,         // a map value pointer at its struct bpf_spin_lock
};

enum class RetKind : uint8_t {
  Scalar,           // a number (or nothing)
  MapValueOrNull,   // a value of arg 1's map (an inner map for maps of maps), or NULL
  SkbOrNull,        // a new packet reference, or NULL
  RingbufMemOrNull, // memory of the size in arg 2, a reference, or NULL
};

enum class CallbackKind : uint8_t { None, Loop, ForEachMapElem };

struct FuncProto {
  std::string_view name;
  RetKind ret = RetKind::Scalar;
  ArgKind args[5] = {ArgKind::None, ArgKind::None, ArgKind::None, ArgKind::None, ArgKind::None};
  CallbackKind callback = CallbackKind::None;
  // Uses of a map: which map types the ConstMap argument accepts (empty: every type).
  std::span<const uint32_t> map_types;
  bool skb_queue = false;  // the map is a packet queue (BPFQ_SKB_QUEUE): only these kfuncs touch it
  std::optional<std::pair<int64_t, int64_t>> ret_range;  // known result range
};

const FuncProto* helper_proto(int32_t id);
const FuncProto* kfunc_proto(std::string_view name);

}  // namespace bpfq::verifier
