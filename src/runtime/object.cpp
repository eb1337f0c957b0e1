// Object: loads the spec, creates (or reuses pinned) maps, links the programs against them.
#include <bpfq/runtime/object.hpp>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <utility>

#include <bpfq/ebpf/insn.hpp>
#include <bpfq/loader/load_object.hpp>
#include <bpfq/maps/map_of_maps.hpp>
#include <bpfq/runtime/clock.hpp>
#include <bpfq/runtime/graph_heap.hpp>
#include <bpfq/runtime/helpers.hpp>
#include <bpfq/verifier/verifier.hpp>

namespace bpfq::runtime {

struct Object::Impl {
  loader::ObjectSpec spec;
  ObjectOptions opts;
  std::string where;
  // Objects of graph kfuncs; declared before the maps, which release object kptrs into it.
  std::unique_ptr<GraphHeap> graph;
  std::vector<std::shared_ptr<maps::Map>> maps;  // parallel to spec.maps
  std::vector<exec::Program> programs;           // parallel to spec.programs
  std::vector<size_t> to_pin;                    // maps created here to pin once open succeeds
  std::vector<uint8_t> verified;                 // parallel to spec.programs
  std::vector<std::string> unverified;           // parallel: the verifier's reason, when it ran anyway

  ~Impl() {
    for (const auto& m : maps) forget_map(m.get());
  }

  // Value of element 0 of an ARRAY map (global data lives there), or nullptr.
  uint8_t* array_value(size_t index) const {
    const maps::Map& m = *maps[index];
    if (m.type() != maps::MapType::Array && m.type() != maps::MapType::PercpuArray) return nullptr;
    const uint32_t zero = 0;
    return static_cast<uint8_t*>(maps[index]->lookup(&zero));
  }

  // "a, b, c" (or "none") for error hints: the names of `items`, as `name` spells each one.
  template <class T, class Name>
  static std::string list(const std::vector<T>& items, Name name) {
    std::string s;
    for (const T& item : items) s += (s.empty() ? "" : ", ") + name(item);
    return s.empty() ? "none" : s;
  }
  std::string names_of_programs() const {
    return list(spec.programs, [](const loader::ProgramSpec& p) { return p.section + " (" + p.name + ")"; });
  }
  std::string names_of_maps() const {
    return list(spec.maps, [](const maps::MapSpec& m) {
      return m.name + (m.section != ".maps" && !m.section.empty() ? " (" + m.section + ")" : "");
    });
  }
  std::string names_of_globals() const {
    return list(spec.globals, [](const loader::GlobalVariable& g) { return g.name; });
  }

  // The bytes of global variable g in its global data map, after checking that the
  // caller's buffer has the variable's size (`verb`: "given" or "asked for").
  uint8_t* global_bytes(const loader::GlobalVariable& g, size_t size, const char* verb) const {
    if (size != g.size)
      throw Error("global variable '" + g.name + "' is " + std::to_string(g.size) + " bytes, but " +
                      std::to_string(size) + " were " + verb,
                  where, "use a type of the variable's size");
    return array_value(g.map_index) + g.offset;
  }

  // A loaded spec with its maps created and its programs linked; name: the path or object
  // name, shown in errors unless opts.where is set.
  static std::unique_ptr<Impl> create(loader::ObjectSpec spec, const std::string& name,
                                      const ObjectOptions& opts);
  void create_maps();
  void create_graph_heap();
  // The pinned map `s` names, if its definition matches s; bpfq::Error naming both objects if not.
  std::shared_ptr<maps::Map> reuse_pinned(const maps::MapSpec& s) const;
  void link_programs();
  uint64_t resolve_lddw(uint8_t kind, int32_t imm, int32_t next_imm) const;
};

namespace {

// The standard helper `id` as a decoded call names it (Slot::imm): its address.
uint64_t standard_helper_address(int32_t id) { return reinterpret_cast<uint64_t>(standard_helpers().helper(id)->fn); }

// Where two definitions of a shared map differ ("value_size 16 here, 8 there"), or "".
std::string difference(const maps::MapSpec& here, const maps::MapSpec& there) {
  auto field = [](const char* name, uint64_t a, uint64_t b) {
    return a == b ? std::string() : std::string(name) + " " + std::to_string(a) + " here, " + std::to_string(b) + " there";
  };
  for (std::string d : {field("type", here.type, there.type), field("key_size", here.key_size, there.key_size),
                        field("value_size", here.value_size, there.value_size),
                        field("max_entries", here.max_entries, there.max_entries),
                        field("map_flags", here.flags, there.flags), field("map_extra", here.extra, there.extra)})
    if (!d.empty()) return d;
  if (here.kptr_offsets != there.kptr_offsets) return "packet-reference fields differ";
  if (static_cast<bool>(here.inner) != static_cast<bool>(there.inner)) return "one has inner maps, the other not";
  if (here.inner) {
    const std::string inner = difference(*here.inner, *there.inner);
    if (!inner.empty()) return "inner map " + inner;
  }
  return {};
}

}  // namespace

std::shared_ptr<maps::Map> Object::Impl::reuse_pinned(const maps::MapSpec& s) const {
  std::shared_ptr<maps::Map> m = opts.pins->find(s.name);
  if (!m) return nullptr;
  const std::string d = difference(s, m->spec());
  if (!d.empty())
    throw Error("map '" + s.name + "' (LIBBPF_PIN_BY_NAME) does not match the map of that name pinned by " +
                    opts.pins->pinned_by(s.name) + ": " + d,
                where,
                "objects sharing a map by name must declare it alike (type, key, value, max_entries, "
                "flags), or give it another name");
  return m;
}

void Object::Impl::create_maps() {
  maps.reserve(spec.maps.size());
  for (const maps::MapSpec& s : spec.maps) {
    const bool pinned = opts.pins && spec.is_pinned_by_name(s.name);
    std::shared_ptr<maps::Map> m = pinned ? reuse_pinned(s) : nullptr;
    if (m) {
      // A map created by an object without a packet-reference destructor takes ours.
      if (!m->kptr_dtor()) m->set_kptr_dtor(opts.kptr_dtor);
    } else {
      if (pinned) to_pin.push_back(maps.size());
      try {
        m = maps::create_map(s);  // initial_value fills global data
      } catch (const Error& e) {
        throw Error(e.reason(), where, e.hint());
      }
      m->set_kptr_dtor(opts.kptr_dtor);
    }
    register_map(m.get());
    maps.push_back(std::move(m));
  }
}

uint64_t Object::Impl::resolve_lddw(uint8_t kind, int32_t imm, int32_t next_imm) const {
  if (imm < 0 || static_cast<size_t>(imm) >= maps.size())
    throw Error("lddw refers to map " + std::to_string(imm) + ", but the object has " +
                std::to_string(maps.size()) + " maps");
  const size_t index = static_cast<size_t>(imm);
  if (kind == ebpf::PSEUDO_MAP_IDX) return reinterpret_cast<uint64_t>(maps[index].get());
  if (kind == ebpf::PSEUDO_MAP_IDX_VALUE) {
    uint8_t* value = array_value(index);
    if (!value)
      throw Error("lddw takes the address of a value of map '" + spec.maps[index].name +
                      "', which is not an ARRAY", {},
                  "direct value access works on global data and ARRAY maps only");
    const uint32_t size = spec.maps[index].value_size;
    if (next_imm < 0 || static_cast<uint32_t>(next_imm) >= size)
      throw Error("lddw offset " + std::to_string(next_imm) + " lies outside the " +
                  std::to_string(size) + "-byte value of map '" + spec.maps[index].name + "'");
    return reinterpret_cast<uint64_t>(value + next_imm);
  }
  throw Error("lddw pseudo source " + std::to_string(kind) + " is not linked by the runtime",
              {}, "the loader should have turned map fds into map indexes");
}

// A heap when some program calls a graph kfunc: its roots are the global ones, and maps whose
// values hold kptrs release them through it (objects; packets go on to opts.kptr_dtor).
void Object::Impl::create_graph_heap() {
  const bool needed = std::any_of(spec.programs.begin(), spec.programs.end(), [](const loader::ProgramSpec& p) {
    return std::any_of(p.kfunc_names.begin(), p.kfunc_names.end(), is_graph_kfunc);
  });
  if (!needed) return;
  std::vector<GlobalRoot> roots;
  for (const loader::GlobalSpecialField& g : spec.global_fields)
    if (uint8_t* value = array_value(g.map_index))
      roots.push_back({reinterpret_cast<uint64_t>(value) + g.field.offset, g.field});
  try {
    graph = std::make_unique<GraphHeap>(spec.local_types, roots);
  } catch (const Error& e) {
    throw Error(e.reason(), where, e.hint());
  }
  graph->set_packet_kptrs({nullptr, opts.kptr_dtor});
  for (const auto& m : maps)
    if (!m->spec().kptr_offsets.empty() && (!m->kptr_dtor() || m->kptr_dtor() == opts.kptr_dtor))
      m->set_kptr_dtor(GraphHeap::kptr_dtor);
}

void Object::Impl::link_programs() {
  // Global data is always reachable: programs address it directly (lddw map value).
  std::vector<exec::MemRegion> regions;
  for (size_t i = 0; i < spec.maps.size(); ++i) {
    if (!spec.maps[i].global_data) continue;
    const auto begin = reinterpret_cast<uint64_t>(array_value(i));
    if (begin == 0) continue;
    regions.push_back({begin, begin + spec.maps[i].value_size, !spec.maps[i].read_only});
  }
  if (graph) regions.push_back(graph->region());  // every object, live or stale, is arena bytes
  const exec::HelperRegistry* helpers = opts.helpers ? opts.helpers : &standard_helpers();
  // Calls the helper registry cannot link are named first (with the source line); then the
  // verifier proves the rest.
  for (const loader::ProgramSpec& p : spec.programs)
    if (std::vector<Error> unknown = unknown_calls(p, *helpers, where + " section " + p.section); !unknown.empty())
      throw unknown.front();
  verified.assign(spec.programs.size(), 0);
  unverified.assign(spec.programs.size(), {});
  if (opts.verification != Verification::Off) {
    verifier::VerifyOptions vo;
    vo.kernel_btf = opts.target_btf;
    verifier::ObjectVerification v = verifier::verify_object(spec, where, vo, opts.verify_only);
    // What the verifier does not model yet runs checked, saying why.
    for (size_t i = 0; i < spec.programs.size(); ++i)
      if (v.results[i].unsupported) unverified[i] = v.results[i].to_error(where, spec.programs[i].section).what();
    if (opts.verification == Verification::Enforce) {
      if (std::optional<Error> problem = v.first_problem(spec, where)) throw *problem;
    } else {
      for (size_t i = 0; i < spec.programs.size(); ++i)
        if (v.refused(i)) unverified[i] = v.results[i].to_error(where, spec.programs[i].section).what();
      // A problem between programs (a packet queue used as a plain map) makes none of them safe.
      if (!v.object_problems.empty()) {
        for (size_t i = 0; i < spec.programs.size(); ++i)
          if (v.verified[i]) unverified[i] = v.object_problems.front().what();
        v.verified.assign(spec.programs.size(), 0);
      }
    }
    verified = std::move(v.verified);
  }
  programs.reserve(spec.programs.size());
  for (size_t index = 0; index < spec.programs.size(); ++index) {
    const loader::ProgramSpec& p = spec.programs[index];
    exec::LinkEnv env;
    env.helpers = helpers;
    env.kfunc_names = p.kfunc_names;
    env.resolve_lddw = [this](uint8_t kind, int32_t imm, int32_t next_imm) {
      return resolve_lddw(kind, imm, next_imm);
    };
    // The standard bpf_map_lookup_elem on an ARRAY map does nothing but find the element in an
    // unchecked run, so the JIT and the interpreter may do that in place.
    env.inline_lookup = [](uint64_t helper, uint64_t m) -> std::optional<exec::ArrayLookup> {
      static const uint64_t standard = standard_helper_address(helper_id::kMapLookupElem);
      const auto* map = reinterpret_cast<const maps::Map*>(m);
      if (helper != standard || map->type() != maps::MapType::Array) return std::nullopt;
      const maps::Map::Layout l = map->layout();
      if (!l.values) return std::nullopt;
      return exec::ArrayLookup{reinterpret_cast<uint64_t>(l.values), l.stride, map->spec().max_entries};
    };
    // bpf_ktime_get_ns reads the clock's word where it has one (virtual time, or the time the
    // runner read for this operation), the clock being the same on every run.
    if (const std::atomic<uint64_t>* word = opts.clock ? opts.clock->word() : nullptr)
      env.inline_word = [word](uint64_t helper) -> const void* {
        static const uint64_t ktime = standard_helper_address(helper_id::kKtimeGetNs);
        return helper == ktime ? word : nullptr;
      };
    // The standard bpf_loop only calls its callback (RunContext::call): the JIT loops in place.
    env.is_loop = [](uint64_t helper) {
      static const uint64_t standard = standard_helper_address(helper_id::kLoop);
      return helper == standard;
    };
    if (const exec::HelperEntry* xchg = helpers->helper(helper_id::kKptrXchg); xchg && opts.kptr_xchg_in_place && !graph)
      env.inline_xchg = [fn = reinterpret_cast<uint64_t>(xchg->fn)](uint64_t helper) { return helper == fn; };
    env.regions = regions;
    env.where = where + " section " + p.section;
    // A verified program runs unchecked, on the JIT by default; the others checked (when asked).
    exec::ProgramOptions po;
    po.checked = opts.checked && !verified[index];
    po.insn_budget = opts.insn_budget;
    po.backend = verified[index] ? opts.backend : exec::Backend::Interpreter;
    programs.push_back(exec::Program::load(p.insns, env, po));
  }
}

std::unique_ptr<Object::Impl> Object::Impl::create(loader::ObjectSpec spec, const std::string& name,
                                                   const ObjectOptions& opts) {
  auto impl = std::make_unique<Impl>();
  impl->spec = std::move(spec);
  impl->opts = opts;
  impl->where = opts.where.empty() ? name : opts.where;
  impl->create_maps();
  impl->create_graph_heap();
  impl->link_programs();
  // Pinned only now: an object that failed to open leaves no pins behind (as libbpf unpins).
  for (size_t index : impl->to_pin) impl->opts.pins->pin(impl->spec.maps[index].name, impl->maps[index], impl->where);
  return impl;
}

Object::Object(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Object::Object(Object&&) noexcept = default;
Object& Object::operator=(Object&&) noexcept = default;
Object::~Object() = default;

static loader::LoadOptions load_options(const ObjectOptions& opts) {
  return {opts.target_btf, opts.kconfig};
}

Object Object::open(std::span<const uint8_t> elf_bytes, const std::string& name,
                    const ObjectOptions& opts) {
  return Object(Impl::create(loader::load_object(elf_bytes, name, load_options(opts)), name, opts));
}

Object Object::open(loader::ObjectSpec spec, const ObjectOptions& opts) {
  const std::string name = spec.path;
  return Object(Impl::create(std::move(spec), name, opts));
}

Object Object::open(const std::string& path, const ObjectOptions& opts) {
  return Object(Impl::create(loader::load_object(path, load_options(opts)), path, opts));
}

namespace {
std::optional<exec::Backend> chosen_backend;  // set_default_backend's
}  // namespace

exec::Backend parse_backend(std::string_view name) {
  if (name == "jit") return exec::Backend::Jit;
  if (name == "interpreter") return exec::Backend::Interpreter;
  throw Error("unknown backend '" + std::string(name) + "'", {}, "the backends are jit and interpreter");
}

exec::Backend default_backend() {
  if (chosen_backend) return *chosen_backend;
  if (const char* env = std::getenv("BPFQ_BACKEND"); env && *env) {
    try {
      return parse_backend(env);
    } catch (const Error& e) {
      throw Error(std::string("BPFQ_BACKEND=") + env + ": " + e.what());
    }
  }
  return exec::jit_supported() ? exec::Backend::Jit : exec::Backend::Interpreter;
}

void set_default_backend(exec::Backend b) { chosen_backend = b; }

std::vector<ProgramInfo> Object::programs() const {
  std::vector<ProgramInfo> out;
  for (size_t i = 0; i < impl_->spec.programs.size(); ++i) {
    const loader::ProgramSpec& p = impl_->spec.programs[i];
    out.push_back({p.name, p.section, p.insns.size(), impl_->verified[i] != 0, impl_->programs[i].backend(),
                   impl_->unverified[i]});
  }
  return out;
}

const exec::Program& Object::program(std::string_view section_or_name) const {
  const loader::ProgramSpec* p = impl_->spec.program(section_or_name);
  if (!p)
    throw Error("no program with section or name '" + std::string(section_or_name) + "'",
                impl_->where, "the object has: " + impl_->names_of_programs());
  return impl_->programs[static_cast<size_t>(p - impl_->spec.programs.data())];
}

std::shared_ptr<maps::Map> Object::map_ptr(std::string_view name) const {
  const int index = impl_->spec.map_index(name);
  if (index < 0)
    throw Error("no map named '" + std::string(name) + "'", impl_->where,
                "the object has: " + impl_->names_of_maps());
  return impl_->maps[static_cast<size_t>(index)];
}

maps::Map& Object::map(std::string_view name) const { return *map_ptr(name); }

std::shared_ptr<maps::Map> Object::create_inner_map(std::string_view outer) const {
  const std::shared_ptr<maps::Map> m = map_ptr(outer);
  if (!m->spec().inner)
    throw Error("map '" + std::string(outer) + "' is not a map-of-maps", impl_->where,
                "inner maps belong to ARRAY_OF_MAPS, HASH_OF_MAPS and RBTREE_OF_MAPS maps");
  maps::MapSpec spec = *m->spec().inner;
  if (spec.name.empty()) spec.name = std::string(outer) + ".inner";
  std::shared_ptr<maps::Map> inner = maps::create_map(spec);
  inner->set_kptr_dtor(impl_->graph && !spec.kptr_offsets.empty() ? GraphHeap::kptr_dtor : impl_->opts.kptr_dtor);
  return inner;
}

void Object::release_retired() {
  for (const auto& m : impl_->maps)
    if (auto* outer = dynamic_cast<maps::MapOfMaps*>(m.get())) outer->release_retired();
}

const loader::ObjectSpec& Object::spec() const { return impl_->spec; }

GraphHeap* Object::graph_heap() const { return impl_->graph.get(); }

const loader::GlobalVariable& Object::global(std::string_view var) const {
  for (const loader::GlobalVariable& g : impl_->spec.globals)
    if (g.name == var) return g;
  throw Error("no global variable '" + std::string(var) + "'", impl_->where,
              "the object has: " + impl_->names_of_globals());
}

void Object::set_global(std::string_view var, std::span<const uint8_t> bytes) {
  std::memcpy(impl_->global_bytes(global(var), bytes.size(), "given"), bytes.data(), bytes.size());
}

void Object::get_global(std::string_view var, std::span<uint8_t> out) const {
  std::memcpy(out.data(), impl_->global_bytes(global(var), out.size(), "asked for"), out.size());
}

// ---- PinnedMaps ----

std::shared_ptr<maps::Map> PinnedMaps::find(std::string_view name) const {
  const auto it = pins_.find(name);
  return it == pins_.end() ? nullptr : it->second.map;
}

std::string PinnedMaps::pinned_by(std::string_view name) const {
  const auto it = pins_.find(name);
  return it == pins_.end() ? std::string() : it->second.owner;
}

void PinnedMaps::pin(const std::string& name, std::shared_ptr<maps::Map> map, const std::string& owner) {
  if (pins_.count(name) != 0)
    throw Error("a map named '" + name + "' is already pinned by " + pinned_by(name), owner,
                "unpin it first, or open the object so that it reuses the pinned map");
  pins_.emplace(name, Pin{std::move(map), owner});
}

bool PinnedMaps::unpin(std::string_view name) {
  const auto it = pins_.find(name);
  if (it == pins_.end()) return false;
  pins_.erase(it);
  return true;
}

std::vector<std::string> PinnedMaps::names() const {
  std::vector<std::string> out;
  for (const auto& [name, pin] : pins_) out.push_back(name);
  return out;
}

}  // namespace bpfq::runtime
