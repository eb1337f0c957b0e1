// The program-type, context-layout and helper-prototype tables.
#include <bpfq/verifier/program_types.hpp>

#include <array>
#include <vector>
#include <cstddef>

#include <linux/bpf.h>

#include <bpfq/maps/map_spec.hpp>

namespace bpfq::verifier {

namespace {

// struct sch_bpf_ctx (include/bpfq/bpf/sch_bpf.h).
constexpr CtxField kQdiscCtxFields[] = {
    {"skb", 0, 8, true, FieldKind::Skb, false},
    {"classid", 8, 4, true, FieldKind::Scalar, true},
    {"delay", 16, 8, true, FieldKind::Scalar, true},
};

#define BPFQ_SKB_FIELD(f, w) \
  CtxField { #f, offsetof(__sk_buff, f), sizeof(__sk_buff::f), w, FieldKind::Scalar, true }
// struct __sk_buff: the fields a qdisc or tc program may write are Linux's for tc programs
// that bpfq's packets carry (mark, queue_mapping, priority, tc_index, cb, tc_classid, tstamp).
constexpr CtxField kSkbFields[] = {
    BPFQ_SKB_FIELD(len, false), BPFQ_SKB_FIELD(pkt_type, false), BPFQ_SKB_FIELD(mark, true),
    BPFQ_SKB_FIELD(queue_mapping, true), BPFQ_SKB_FIELD(protocol, false), BPFQ_SKB_FIELD(vlan_present, false),
    BPFQ_SKB_FIELD(vlan_tci, false), BPFQ_SKB_FIELD(vlan_proto, false), BPFQ_SKB_FIELD(priority, true),
    BPFQ_SKB_FIELD(ingress_ifindex, false), BPFQ_SKB_FIELD(ifindex, false), BPFQ_SKB_FIELD(tc_index, true),
    BPFQ_SKB_FIELD(cb, true), BPFQ_SKB_FIELD(hash, false), BPFQ_SKB_FIELD(tc_classid, true),
    CtxField{"data", offsetof(__sk_buff, data), 4, false, FieldKind::PacketData, false},
    CtxField{"data_end", offsetof(__sk_buff, data_end), 4, false, FieldKind::PacketEnd, false},
    BPFQ_SKB_FIELD(napi_id, false), BPFQ_SKB_FIELD(family, false), BPFQ_SKB_FIELD(remote_ip4, false),
    BPFQ_SKB_FIELD(local_ip4, false), BPFQ_SKB_FIELD(remote_ip6, false), BPFQ_SKB_FIELD(local_ip6, false),
    BPFQ_SKB_FIELD(remote_port, false), BPFQ_SKB_FIELD(local_port, false), BPFQ_SKB_FIELD(data_meta, false),
    BPFQ_SKB_FIELD(tstamp, true), BPFQ_SKB_FIELD(wire_len, false), BPFQ_SKB_FIELD(gso_segs, false),
    BPFQ_SKB_FIELD(gso_size, false), BPFQ_SKB_FIELD(tstamp_type, false), BPFQ_SKB_FIELD(hwtstamp, false),
};
#undef BPFQ_SKB_FIELD

// struct bpf_qdisc_ctx (RFC v7): skb is read whole, in enqueue only (as Linux's
// sch_bpf_is_valid_access); the outputs are written whole.
constexpr CtxField kBpfQdiscCtxFields[] = {
    {"skb", 0, 8, false, FieldKind::KernelSkb, false},
    {"classid", 8, 4, true, FieldKind::Scalar, false},
    {"expire", 16, 8, true, FieldKind::Scalar, false},
    {"delta_ns", 24, 8, true, FieldKind::Scalar, false},
};

constexpr CtxLayout kQdiscCtx{"struct sch_bpf_ctx", 24, kQdiscCtxFields};
constexpr CtxLayout kBpfQdiscCtx{"struct bpf_qdisc_ctx", 32, kBpfQdiscCtxFields};
constexpr CtxLayout kSkb{"struct __sk_buff", sizeof(__sk_buff), kSkbFields};

constexpr std::pair<int64_t, int64_t> kVerdicts{0, 6};  // SCH_BPF_QUEUED .. SCH_BPF_STOLEN
constexpr std::string_view kVerdictHint =
    "return one of the SCH_BPF_* verdicts of <bpfq/bpf/sch_bpf.h> (0..6)";
constexpr std::string_view kRfcV7VerdictHint = "return one of the SCH_BPF_* verdicts (SCH_BPF_QUEUED .. SCH_BPF_STOLEN)";

// RFC v7's sch_bpf_btf_struct_access: a program writes only these fields of the packet.
constexpr std::string_view kRfcV7Writable[] = {"sk_buff.tstamp", "sk_buff.cb"};

constexpr std::string_view kSeedApi = "sch_bpf RFC v6";  // the seed
constexpr std::string_view kRfcV7Api = "sch_bpf RFC v7";

const ProgramType kTypes[] = {
    // The seed. The qdisc's enqueue: ctx->skb is the packet offered.
    {.name = "qdisc/enqueue", .ctx = CtxKind::QdiscCtx, .ctx_skb_in = true, .ret_range = kVerdicts,
     .ret_hint = kVerdictHint, .api = kSeedApi},
    // The qdisc's dequeue: hands a packet reference out in ctx->skb.
    {.name = "qdisc/dequeue", .ctx = CtxKind::QdiscCtx, .ctx_skb_out = true, .ret_range = kVerdicts,
     .ret_hint = kVerdictHint, .api = kSeedApi},
    // Runs once when the qdisc is created: 0 or an error.
    {.name = "qdisc/init", .ctx = CtxKind::QdiscCtx, .api = kSeedApi},
    // Runs when the qdisc is reset.
    {.name = "qdisc/reset", .ctx = CtxKind::QdiscCtx, .api = kSeedApi},
    // RFC v7: the same sections over struct bpf_qdisc_ctx; enqueue reads ctx->skb (a trusted
    // struct sk_buff *), dequeue hands its packet out with bpf_qdisc_set_skb_dequeue.
    {.name = "qdisc/enqueue", .ctx = CtxKind::BpfQdiscCtx, .ctx_skb_in = true, .ret_range = kVerdicts,
     .ret_hint = kRfcV7VerdictHint, .kernel_writable = kRfcV7Writable, .api = kRfcV7Api},
    {.name = "qdisc/dequeue", .ctx = CtxKind::BpfQdiscCtx, .ctx_skb_out = true, .ret_range = kVerdicts,
     .ret_hint = kRfcV7VerdictHint, .kernel_writable = kRfcV7Writable, .api = kRfcV7Api},
    {.name = "qdisc/init", .ctx = CtxKind::BpfQdiscCtx, .kernel_writable = kRfcV7Writable, .api = kRfcV7Api},
    {.name = "qdisc/reset", .ctx = CtxKind::BpfQdiscCtx, .ret_void = true, .kernel_writable = kRfcV7Writable,
     .api = kRfcV7Api},
    // A tc classifier or action on struct __sk_buff.
    {.name = "tc", .ctx = CtxKind::SkBuff, .api = "tc"},
};

// Linux's struct Qdisc_ops: enqueue(skb, sch, to_free), dequeue(sch), init(sch, opt, extack),
// reset(sch), destroy(sch).
constexpr OpArg kEnqueueArgs[] = {OpArg::OwnedSkb, OpArg::Qdisc, OpArg::ToFree};
constexpr OpArg kSchArg[] = {OpArg::Qdisc};
constexpr OpArg kInitArgs[] = {OpArg::Qdisc, OpArg::Opaque, OpArg::Opaque};
// Linux's bpf_qdisc_btf_struct_access; qdisc_skb_cb is what sk_buff.cb holds.
constexpr std::string_view kQdiscOpsWritable[] = {"sk_buff.tstamp", "qdisc_skb_cb.data", "Qdisc.limit",
                                                  "Qdisc.q.qlen", "Qdisc.qstats"};
constexpr std::string_view kStructOpsApi = "struct_ops Qdisc_ops (Linux 6.16)";
const ProgramType kQdiscOpsTypes[] = {
    {.name = "struct_ops/Qdisc_ops.enqueue", .ctx = CtxKind::StructOpsArgs, .op_args = kEnqueueArgs,
     .kernel_writable = kQdiscOpsWritable, .api = kStructOpsApi},
    {.name = "struct_ops/Qdisc_ops.dequeue", .ctx = CtxKind::StructOpsArgs, .op_args = kSchArg, .ret_skb = true,
     .kernel_writable = kQdiscOpsWritable, .api = kStructOpsApi},
    {.name = "struct_ops/Qdisc_ops.init", .ctx = CtxKind::StructOpsArgs, .op_args = kInitArgs,
     .kernel_writable = kQdiscOpsWritable, .api = kStructOpsApi},
    {.name = "struct_ops/Qdisc_ops.reset", .ctx = CtxKind::StructOpsArgs, .op_args = kSchArg, .ret_void = true,
     .kernel_writable = kQdiscOpsWritable, .api = kStructOpsApi},
    {.name = "struct_ops/Qdisc_ops.destroy", .ctx = CtxKind::StructOpsArgs, .op_args = kSchArg, .ret_void = true,
     .kernel_writable = kQdiscOpsWritable, .api = kStructOpsApi},
};

// Sections Linux's libbpf maps to tc programs; "tc/NAME" and "classifier/NAME" too.
constexpr std::string_view kTcSections[] = {"tc", "classifier", "action", "tc/ingress", "tc/egress", "tcx/ingress",
                                            "tcx/egress"};

constexpr uint32_t kQueueStack[] = {static_cast<uint32_t>(maps::MapType::Queue),
                                    static_cast<uint32_t>(maps::MapType::Stack),
                                    static_cast<uint32_t>(maps::MapType::Pifo),
                                    static_cast<uint32_t>(maps::MapType::Rbtree),
                                    static_cast<uint32_t>(maps::MapType::RbtreeOfMaps)};
constexpr uint32_t kPifo[] = {static_cast<uint32_t>(maps::MapType::Pifo)};
constexpr uint32_t kRingbuf[] = {static_cast<uint32_t>(maps::MapType::Ringbuf)};
// Maps with keys and values (everything but queues, stacks, PIFOs and ring buffers).
constexpr uint32_t kKeyed[] = {static_cast<uint32_t>(maps::MapType::Hash),
                               static_cast<uint32_t>(maps::MapType::Array),
                               static_cast<uint32_t>(maps::MapType::PercpuArray),
                               static_cast<uint32_t>(maps::MapType::LruHash),
                               static_cast<uint32_t>(maps::MapType::ArrayOfMaps),
                               static_cast<uint32_t>(maps::MapType::HashOfMaps),
                               static_cast<uint32_t>(maps::MapType::Rbtree),
                               static_cast<uint32_t>(maps::MapType::RbtreeOfMaps)};

using A = ArgKind;

struct HelperRow {
  int32_t id;
  FuncProto proto;
};

FuncProto proto(std::string_view name, RetKind ret, std::array<ArgKind, 5> args) {
  FuncProto p;
  p.name = name;
  p.ret = ret;
  for (int i = 0; i < 5; ++i) p.args[i] = args[i];
  return p;
}

FuncProto with_maps(FuncProto p, std::span<const uint32_t> types) {
  p.map_types = types;
  return p;
}
FuncProto with_range(FuncProto p, int64_t lo, int64_t hi) {
  p.ret_range = std::pair{lo, hi};
  return p;
}
FuncProto with_callback(FuncProto p, CallbackKind k) {
  p.callback = k;
  return p;
}
FuncProto skb_queue(FuncProto p) {
  p.map_types = kPifo;
  p.skb_queue = true;
  return p;
}

const std::vector<HelperRow>& helper_rows() {
  static const std::vector<HelperRow> rows = {
      {BPF_FUNC_map_lookup_elem, with_maps(proto("bpf_map_lookup_elem", RetKind::MapValueOrNull,
                                                 {A::ConstMap, A::MapKey}), kKeyed)},
      {BPF_FUNC_map_update_elem, with_maps(proto("bpf_map_update_elem", RetKind::Scalar,
                                                 {A::ConstMap, A::MapKey, A::MapValue, A::Scalar}), kKeyed)},
      {BPF_FUNC_map_delete_elem, with_maps(proto("bpf_map_delete_elem", RetKind::Scalar, {A::ConstMap, A::MapKey}),
                                           kKeyed)},
      {BPF_FUNC_ktime_get_ns, proto("bpf_ktime_get_ns", RetKind::Scalar, {})},
      {BPF_FUNC_trace_printk,
       proto("bpf_trace_printk", RetKind::Scalar, {A::Format, A::Size, A::Vararg, A::Vararg, A::Vararg})},
      {BPF_FUNC_get_prandom_u32, with_range(proto("bpf_get_prandom_u32", RetKind::Scalar, {}), 0, UINT32_MAX)},
      {BPF_FUNC_get_smp_processor_id,
       with_range(proto("bpf_get_smp_processor_id", RetKind::Scalar, {}), 0, UINT32_MAX)},
      {BPF_FUNC_skb_load_bytes,
       proto("bpf_skb_load_bytes", RetKind::Scalar, {A::Skb, A::Scalar, A::MemOut, A::Size})},
      {BPF_FUNC_map_push_elem, with_maps(proto("bpf_map_push_elem", RetKind::Scalar,
                                               {A::ConstMap, A::MapValue, A::Scalar}), kQueueStack)},
      {BPF_FUNC_map_pop_elem, with_maps(proto("bpf_map_pop_elem", RetKind::Scalar, {A::ConstMap, A::MapValueOut}),
                                        kQueueStack)},
      {BPF_FUNC_map_peek_elem, with_maps(proto("bpf_map_peek_elem", RetKind::Scalar, {A::ConstMap, A::MapValueOut}),
                                         kQueueStack)},
      {BPF_FUNC_spin_lock, proto("bpf_spin_lock", RetKind::Scalar, {A::SpinLock})},
      {BPF_FUNC_spin_unlock, proto("bpf_spin_unlock", RetKind::Scalar, {A::SpinLock})},
      {BPF_FUNC_skb_ecn_set_ce, with_range(proto("bpf_skb_ecn_set_ce", RetKind::Scalar, {A::Skb}), 0, 1)},
      {BPF_FUNC_ktime_get_boot_ns, proto("bpf_ktime_get_boot_ns", RetKind::Scalar, {})},
      {BPF_FUNC_jiffies64, proto("bpf_jiffies64", RetKind::Scalar, {})},
      {BPF_FUNC_ringbuf_output,
       with_maps(proto("bpf_ringbuf_output", RetKind::Scalar, {A::ConstMap, A::MemIn, A::Size, A::Scalar}), kRingbuf)},
      {BPF_FUNC_ringbuf_reserve, with_maps(proto("bpf_ringbuf_reserve", RetKind::RingbufMemOrNull,
                                                 {A::ConstMap, A::Size, A::Scalar}), kRingbuf)},
      {BPF_FUNC_ringbuf_submit, proto("bpf_ringbuf_submit", RetKind::Scalar, {A::RingbufMem, A::Scalar})},
      {BPF_FUNC_ringbuf_discard, proto("bpf_ringbuf_discard", RetKind::Scalar, {A::RingbufMem, A::Scalar})},
      {BPF_FUNC_ringbuf_query,
       with_maps(proto("bpf_ringbuf_query", RetKind::Scalar, {A::ConstMap, A::Scalar}), kRingbuf)},
      {BPF_FUNC_for_each_map_elem,
       with_callback(with_maps(proto("bpf_for_each_map_elem", RetKind::Scalar,
                                     {A::ConstMap, A::Callback, A::CallbackCtx, A::Scalar}), kKeyed),
                     CallbackKind::ForEachMapElem)},
      {BPF_FUNC_trace_vprintk,
       proto("bpf_trace_vprintk", RetKind::Scalar, {A::Format, A::Size, A::MemIn, A::SizeOrZero})},
      {BPF_FUNC_loop, with_callback(proto("bpf_loop", RetKind::Scalar, {A::Scalar, A::Callback, A::CallbackCtx,
                                                                         A::Scalar}), CallbackKind::Loop)},
      {BPF_FUNC_kptr_xchg, proto("bpf_kptr_xchg", RetKind::SkbOrNull, {A::KptrField, A::SkbOrNullRelease})},
      {1000, proto("bpf_skb_tc_classify", RetKind::Scalar, {A::Skb, A::Scalar, A::Scalar})},
      {BPF_FUNC_dynptr_read,
       proto("bpf_dynptr_read", RetKind::Scalar, {A::MemOut, A::Size, A::Dynptr, A::Scalar, A::Scalar})},
  };
  return rows;
}

struct KfuncRow {
  std::string_view name;
  FuncProto proto;
};

const std::vector<KfuncRow>& kfunc_rows() {
  static const std::vector<KfuncRow> rows = {
      {"bpf_skb_acquire", proto("bpf_skb_acquire", RetKind::SkbOrNull, {A::Skb})},
      {"bpf_skb_kptr_get", proto("bpf_skb_kptr_get", RetKind::SkbOrNull, {A::KptrField})},
      {"bpf_skb_release", proto("bpf_skb_release", RetKind::Scalar, {A::SkbRelease})},
      // RFC v7: the dequeue program's packet, and tc_classify as a kfunc (classid << 32 | action).
      {"bpf_qdisc_set_skb_dequeue", proto("bpf_qdisc_set_skb_dequeue", RetKind::Scalar, {A::SkbHandOut})},
      {"bpf_skb_tc_classify", proto("bpf_skb_tc_classify", RetKind::Scalar, {A::Skb, A::Scalar, A::Scalar})},
      {"bpf_kfree_skb", proto("bpf_kfree_skb", RetKind::Scalar, {A::SkbRelease})},
      {"bpf_skb_get_hash", with_range(proto("bpf_skb_get_hash", RetKind::Scalar, {A::Skb}), 0, UINT32_MAX)},
      {"bpf_skb_queue_push", skb_queue(proto("bpf_skb_queue_push", RetKind::Scalar, {A::ConstMap, A::Skb, A::Scalar}))},
      {"bpf_skb_queue_pop", skb_queue(proto("bpf_skb_queue_pop", RetKind::SkbOrNull, {A::ConstMap}))},
      {"bpf_skb_queue_len",
       with_range(skb_queue(proto("bpf_skb_queue_len", RetKind::Scalar, {A::ConstMap})), 0, UINT32_MAX)},
      {"bpf_qdisc_class_qlen", with_range(proto("bpf_qdisc_class_qlen", RetKind::Scalar, {A::Scalar}), 0, UINT32_MAX)},
      // Linux's bpf qdisc (struct_ops).
      {"bpf_qdisc_skb_drop", proto("bpf_qdisc_skb_drop", RetKind::Scalar, {A::SkbRelease, A::KernelToFree})},
      {"bpf_qdisc_watchdog_schedule",
       proto("bpf_qdisc_watchdog_schedule", RetKind::Scalar, {A::KernelQdisc, A::Scalar, A::Scalar})},
      {"bpf_qdisc_bstats_update", proto("bpf_qdisc_bstats_update", RetKind::Scalar, {A::KernelQdisc, A::Skb})},
      // Graph objects.
      {"bpf_obj_new_impl", proto("bpf_obj_new_impl", RetKind::ObjOrNull, {A::ObjTypeId, A::NullMeta})},
      {"bpf_obj_drop_impl", proto("bpf_obj_drop_impl", RetKind::Scalar, {A::ObjRelease, A::NullMeta})},
      {"bpf_refcount_acquire_impl",
       proto("bpf_refcount_acquire_impl", RetKind::RefObjOrNull, {A::ObjAny, A::NullMeta})},
      {"bpf_list_push_front_impl", with_range(proto("bpf_list_push_front_impl", RetKind::Scalar,
                                                    {A::ListHead, A::OwnedNode, A::NullMeta, A::NodeOffset}), -22, 0)},
      {"bpf_list_push_back_impl", with_range(proto("bpf_list_push_back_impl", RetKind::Scalar,
                                                   {A::ListHead, A::OwnedNode, A::NullMeta, A::NodeOffset}), -22, 0)},
      {"bpf_list_pop_front", proto("bpf_list_pop_front", RetKind::OwnedNodeOrNull, {A::ListHead})},
      {"bpf_list_pop_back", proto("bpf_list_pop_back", RetKind::OwnedNodeOrNull, {A::ListHead})},
      {"bpf_rbtree_add_impl",
       with_range(with_callback(proto("bpf_rbtree_add_impl", RetKind::Scalar,
                                      {A::RbRoot, A::OwnedNode, A::Callback, A::NullMeta, A::NodeOffset}),
                                CallbackKind::RbLess), -22, 0)},
      {"bpf_rbtree_first", proto("bpf_rbtree_first", RetKind::NonOwningNodeOrNull, {A::RbRoot})},
      {"bpf_rbtree_remove", proto("bpf_rbtree_remove", RetKind::OwnedNodeOrNull, {A::RbRoot, A::NonOwningNode})},
      {"bpf_iter_num_new",
       with_range(proto("bpf_iter_num_new", RetKind::Scalar, {A::IterUninit, A::Scalar, A::Scalar}), -22, 0)},
      {"bpf_iter_num_next", proto("bpf_iter_num_next", RetKind::IterNumOrNull, {A::Iter})},
      {"bpf_iter_num_destroy", proto("bpf_iter_num_destroy", RetKind::Scalar, {A::IterRelease})},
      {"bpf_dynptr_from_skb",
       with_range(proto("bpf_dynptr_from_skb", RetKind::Scalar, {A::Skb, A::Scalar, A::DynptrUninit}), -22, 0)},
      {"bpf_dynptr_slice",
       proto("bpf_dynptr_slice", RetKind::SliceOrNull, {A::Dynptr, A::Scalar, A::OptBuffer, A::ConstSize})},
  };
  return rows;
}

}  // namespace

const CtxField* CtxLayout::field_at(uint32_t offset) const {
  for (const CtxField& f : fields)
    if (offset >= f.offset && offset < f.offset + f.size) return &f;
  return nullptr;
}

const CtxLayout& sch_bpf_ctx_layout() { return kQdiscCtx; }
const CtxLayout& bpf_qdisc_ctx_layout() { return kBpfQdiscCtx; }
const CtxLayout& sk_buff_layout() { return kSkb; }

std::span<const ProgramType> program_types() { return kTypes; }

std::span<const std::string_view> program_sections() {
  static const std::vector<std::string_view> sections = [] {
    std::vector<std::string_view> v;
    for (const ProgramType& t : kTypes)
      if (t.ctx == CtxKind::QdiscCtx) v.push_back(t.name);
    v.insert(v.end(), std::begin(kTcSections), std::end(kTcSections));
    return v;
  }();
  return sections;
}

const ProgramType& raw_memory_type() {
  static const ProgramType raw{.name = "raw", .ctx = CtxKind::Memory};
  return raw;
}

const ProgramType* program_type_for_section(std::string_view section, std::string_view ctx_struct) {
  const CtxKind qdisc = ctx_struct == kRfcV7CtxStruct ? CtxKind::BpfQdiscCtx : CtxKind::QdiscCtx;
  for (const ProgramType& t : kTypes)
    if (t.ctx == qdisc && section == t.name) return &t;
  for (std::string_view tc : kTcSections)
    if (section == tc || (section.size() > tc.size() && section.starts_with(tc) && section[tc.size()] == '/'))
      for (const ProgramType& t : kTypes)
        if (t.ctx == CtxKind::SkBuff) return &t;
  return nullptr;
}

const ProgramType* struct_ops_program_type(std::string_view struct_name, std::string_view member) {
  if (struct_name != "Qdisc_ops") return nullptr;
  for (const ProgramType& t : kQdiscOpsTypes)
    if (t.name.substr(t.name.find('.') + 1) == member) return &t;
  return nullptr;
}

std::span<const std::string_view> struct_ops_writable_fields() { return kQdiscOpsWritable; }

bool struct_ops_writable(std::string_view access) {
  for (std::string_view f : kQdiscOpsWritable)
    if (access.starts_with(f) && (access.size() == f.size() || access[f.size()] == '.' || access[f.size()] == '['))
      return true;
  return false;
}

const FuncProto* helper_proto(int32_t id) {
  for (const HelperRow& row : helper_rows())
    if (row.id == id) return &row.proto;
  return nullptr;
}

const FuncProto* kfunc_proto(std::string_view name) {
  for (const KfuncRow& row : kfunc_rows())
    if (row.name == name) return &row.proto;
  return nullptr;
}

}  // namespace bpfq::verifier
