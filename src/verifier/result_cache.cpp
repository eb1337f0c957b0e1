#include "result_cache.hpp"

#include <map>
#include <mutex>
#include <utility>

namespace bpfq::verifier {

namespace {

// Two FNV-1a streams with different offsets: 128 bits, so that distinct inputs do not meet.
class Hasher {
 public:
  void bytes(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) {
      a_ = (a_ ^ p[i]) * 0x100000001b3ull;
      b_ = (b_ ^ p[i]) * 0x100000001b3ull;
    }
  }
  void u64(uint64_t v) { bytes(&v, sizeof v); }
  void str(const std::string& s) {
    u64(s.size());
    bytes(s.data(), s.size());
  }
  void map(const maps::MapSpec& m) {
    str(m.name);
    for (uint64_t v : {uint64_t{m.type}, uint64_t{m.key_size}, uint64_t{m.value_size}, uint64_t{m.max_entries},
                       uint64_t{m.flags}, m.extra, uint64_t{m.read_only}, uint64_t{m.spin_lock_offset.value_or(~0u)},
                       uint64_t{m.value_btf_id}})
      u64(v);
    u64(m.kptr_offsets.size());
    for (uint32_t k : m.kptr_offsets) u64(k);
    // Writable data is not known at verification; read-only data may be (format strings).
    if (m.read_only) {
      u64(m.initial_value.size());
      bytes(m.initial_value.data(), m.initial_value.size());
    }
    str(m.section);
    u64(m.inner != nullptr);
    if (m.inner) map(*m.inner);
  }
  void special(const loader::SpecialField& f) {
    for (uint64_t v : {uint64_t{static_cast<uint8_t>(f.kind)}, uint64_t{f.offset}, uint64_t{f.contained_type},
                       uint64_t{f.node_offset}, uint64_t{f.kptr_type}})
      u64(v);
    str(f.kptr_target);
  }
  std::pair<uint64_t, uint64_t> value() const { return {a_, b_}; }

 private:
  uint64_t a_ = 0xcbf29ce484222325ull, b_ = 0x84222325cbf29ce4ull;
};

std::pair<uint64_t, uint64_t> key_of(const loader::ProgramSpec& prog, const loader::ObjectSpec& object,
                                     const VerifyOptions& opts) {
  Hasher h;
  h.str(prog.name);
  h.str(prog.section);
  h.str(prog.ctx_struct);  // with the section, the program type
  h.u64(prog.insns.size());
  for (const ebpf::Insn& i : prog.insns) h.u64(i.raw());
  h.u64(prog.kfunc_names.size());
  for (const std::string& k : prog.kfunc_names) h.str(k);
  for (const loader::FunctionRange& f : prog.functions) {
    h.str(f.name);
    h.u64(f.start);
    h.u64(f.count);
  }
  for (const loader::SourceLine& l : prog.lines) {
    h.u64(l.insn);
    h.str(l.file);
    h.u64(uint64_t{l.line} << 32 | l.column);
    h.str(l.text);
  }
  h.u64(object.maps.size());
  for (const maps::MapSpec& m : object.maps) h.map(m);
  // What struct_ops programs and graph objects are checked against.
  h.u64(object.local_types.size());
  for (const loader::LocalType& t : object.local_types) {
    h.u64(uint64_t{t.id} << 32 | t.size);
    for (const loader::SpecialField& f : t.fields) h.special(f);
  }
  h.u64(object.global_fields.size());
  for (const loader::GlobalSpecialField& g : object.global_fields) {
    h.u64(g.map_index);
    h.special(g.field);
  }
  for (const loader::StructOpsMap& so : object.struct_ops) {
    h.str(so.type_name);
    for (const loader::StructOpsMember& m : so.members) {
      h.str(m.name);
      h.str(m.program);
    }
  }
  h.u64(opts.kernel_btf.size());
  h.bytes(opts.kernel_btf.data(), opts.kernel_btf.size());
  h.u64(opts.insn_limit);
  h.u64(opts.ctx_size);
  return h.value();
}

struct Cache {
  std::mutex mutex;
  std::map<std::pair<uint64_t, uint64_t>, VerifyResult> results;
};

Cache& cache() {
  static Cache c;
  return c;
}

constexpr size_t kMaxEntries = 1024;  // then start over: a bound on memory, not an LRU

}  // namespace

std::optional<VerifyResult> cached_result(const loader::ProgramSpec& prog, const loader::ObjectSpec& object,
                                          const VerifyOptions& opts) {
  if (opts.log) return std::nullopt;  // the log is not kept
  const auto key = key_of(prog, object, opts);
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  auto it = c.results.find(key);
  if (it == c.results.end()) return std::nullopt;
  return it->second;
}

void remember_result(const loader::ProgramSpec& prog, const loader::ObjectSpec& object, const VerifyOptions& opts,
                     const VerifyResult& result) {
  if (opts.log) return;
  const auto key = key_of(prog, object, opts);
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  if (c.results.size() >= kMaxEntries) c.results.clear();
  c.results.emplace(key, result);
}

}  // namespace bpfq::verifier
