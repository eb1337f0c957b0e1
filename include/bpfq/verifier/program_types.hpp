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
  KernelSkb,   // a trusted struct sk_buff * (RFC v7's ctx->skb), accessed through the kernel BTF
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

const CtxLayout& sch_bpf_ctx_layout();  // struct sch_bpf_ctx (qdisc programs of the seed, RFC v6)
const CtxLayout& bpf_qdisc_ctx_layout();  // struct bpf_qdisc_ctx (qdisc programs of RFC v7)
const CtxLayout& sk_buff_layout();      // struct __sk_buff (tc programs, and every packet)

// QdiscCtx: the seed's struct sch_bpf_ctx; BpfQdiscCtx: RFC v7's struct bpf_qdisc_ctx, whose skb
// is a struct sk_buff * of the kernel BTF (as struct_ops programs see it).
// Memory: r1 points to VerifyOptions::ctx_size bytes of plain memory and r2 holds that size
// (programs bpfq's own tests run on a buffer, like the conformance suite's).
// StructOpsArgs: r1 points to the op's arguments, one u64 each (Linux's BPF_PROG).
enum class CtxKind : uint8_t { QdiscCtx, BpfQdiscCtx, SkBuff, Memory, StructOpsArgs };

// The struct whose pointer a qdisc/* program of RFC v7 takes (loader::ProgramSpec::ctx_struct).
inline constexpr std::string_view kRfcV7CtxStruct = "bpf_qdisc_ctx";

// An argument of a struct_ops op, as the program sees it in its ctx array.
enum class OpArg : uint8_t {
  OwnedSkb,  // struct sk_buff *: a packet reference the program must release or store
  Qdisc,     // struct Qdisc *: trusted
  ToFree,    // struct bpf_sk_buff_ptr *: only for bpf_qdisc_skb_drop
  Opaque,    // a pointer the program may not use (init's nlattr and extack): a number
};

struct ProgramType {
  std::string_view name;         // "qdisc/enqueue"
  CtxKind ctx = CtxKind::QdiscCtx;
  // qdisc/enqueue: ctx->skb is the packet offered, borrowed for the run.
  bool ctx_skb_in = false;
  // qdisc/dequeue: the program hands a packet reference out (the seed: in ctx->skb; RFC v7:
  // through bpf_qdisc_set_skb_dequeue).
  bool ctx_skb_out = false;
  // Allowed return values (inclusive); nullopt: any number.
  std::optional<std::pair<int64_t, int64_t>> ret_range;
  std::string_view ret_hint;  // what the values mean
  // StructOpsArgs: the op's arguments, and whether it returns a packet reference or NULL (the
  // qdisc's dequeue) rather than a number.
  std::span<const OpArg> op_args = {};
  bool ret_skb = false;
  bool ret_void = false;  // a void op: r0 is not read
  // The fields of kernel structs the program may write ("sk_buff.tstamp", "Qdisc.qstats"; see
  // struct_ops_writable_fields); every other kernel field is read-only.
  std::span<const std::string_view> kernel_writable = {};
  // Which API the program is written for, as `bpfq prog check` names it ("sch_bpf RFC v7").
  std::string_view api = {};
};

// The program type of a struct_ops program in member `member` of a struct_ops variable of type
// `struct_name` ("Qdisc_ops", "enqueue"), or null (not a struct_ops op bpfq knows).
const ProgramType* struct_ops_program_type(std::string_view struct_name, std::string_view member);

// The fields of kernel structs a struct_ops program may write (Linux's bpf_qdisc
// btf_struct_access): "struct.field.path"; struct qdisc_skb_cb is the bytes of sk_buff.cb.
std::span<const std::string_view> struct_ops_writable_fields();
// Whether a field access path ("Qdisc.qstats.drops", a CO-RE relocation's) lies in one of them.
bool struct_ops_writable(std::string_view access);

// The program type a section selects, or null (bpfq runs such programs only checked). A qdisc/*
// section selects RFC v7's type when the program's context is a `struct bpf_qdisc_ctx *`
// (ctx_struct == kRfcV7CtxStruct), the seed's otherwise (`struct sch_bpf_ctx *`, or no BTF).
const ProgramType* program_type_for_section(std::string_view section, std::string_view ctx_struct = {});
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
  SkbHandOut,       // a packet reference the program holds, handed out as the dequeued packet
                    // (released); only in a type with ctx_skb_out
  KptrField,        // a map value pointer at a packet-reference (__kptr_ref) field
  SkbOrNullRelease, // a held packet reference (moved into the map) or NULL
  Callback,         // a static sub-program (lddw of a function)
  CallbackCtx,      // handed to the callback: a pointer to the stack or a map value, or NULL
  RingbufMem,       // memory reserved by bpf_ringbuf_reserve; released by the call
  SpinLock,         // a map value pointer at its struct bpf_spin_lock
  // struct_ops (Linux's bpf qdisc) and graph objects:
  KernelQdisc,      // the op's struct Qdisc *
  KernelToFree,     // enqueue's struct bpf_sk_buff_ptr *
  ObjTypeId,        // a constant: the program's BTF id of a struct (bpf_core_type_id_local)
  NullMeta,         // the hidden meta argument of the _impl kfuncs: NULL
  ObjRelease,       // an owning object pointer (at its start), released by the call
  ObjAny,           // an object pointer, owning or not (at its start)
  ListHead,         // a global struct bpf_list_head, its lock held
  RbRoot,           // a global struct bpf_rb_root, its lock held
  OwnedNode,        // an owning object at the node the root contains; ownership moves to it
  NonOwningNode,    // an object at its node, in that root (non-owning)
  NodeOffset,       // a constant: the node's offset in its struct
  DynptrUninit,     // 16 bytes of stack that become a struct bpf_dynptr
  Dynptr,           // an initialised struct bpf_dynptr on the stack
  OptBuffer,        // writable memory of the size in the next argument, or NULL
  ConstSize,        // a known constant size
  IterUninit,       // 8 bytes of stack that become a struct bpf_iter_num (a reference)
  Iter,             // an initialised struct bpf_iter_num
  IterRelease,      // an initialised struct bpf_iter_num, destroyed by the call
};

enum class RetKind : uint8_t {
  Scalar,           // a number (or nothing)
  MapValueOrNull,   // a value of arg 1's map (an inner map for maps of maps), or NULL
  SkbOrNull,        // a new packet reference, or NULL
  RingbufMemOrNull, // memory of the size in arg 2, a reference, or NULL
  ObjOrNull,        // a new owning object of the type in arg 1, or NULL
  RefObjOrNull,     // a new owning reference to arg 1's object, or NULL
  OwnedNodeOrNull,  // an owning object at the root's node (taken out of it), or NULL
  NonOwningNodeOrNull,  // an object still in the root, at its node, or NULL
  SliceOrNull,      // read-only bytes of the dynptr's packet (size in arg 4), or NULL
  IterNumOrNull,    // the iterator's next number (4 read-only bytes), or NULL when done
};

// Loop: bpf_loop; ForEachMapElem: bpf_for_each_map_elem; RbLess: bpf_rbtree_add's `less`
// (two nodes of the tree, under its lock; any number of calls).
enum class CallbackKind : uint8_t { None, Loop, ForEachMapElem, RbLess };

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
