// GraphHeap: the arena, the host-side truth about objects, collections and kptr fields, and the
// registry through which maps release object kptrs.
#include <bpfq/runtime/graph_heap.hpp>

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

#include <bpfq/error.hpp>

namespace bpfq::runtime {

namespace {

constexpr uint64_t kPageBytes = 64 * 1024;  // an arena page serves one size class
constexpr std::array<uint32_t, 11> kClassBytes = {16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096};
constexpr uint8_t kNoClass = 0xff;
static_assert(kClassBytes.size() == 11, "GraphHeap::bump_ has one entry per size class");
static_assert(kClassBytes.back() == GraphHeap::kMaxObjectBytes);

size_t size_class(uint32_t size) {
  size_t c = 0;
  while (kClassBytes[c] < size) ++c;  // size <= kMaxObjectBytes == the last class
  return c;
}

// Each fault message names the kfunc: a static "<kfunc>: <why>" for every pair.
enum class Op : uint8_t {
  ObjNew, ObjDrop, RefcountAcquire, PushFront, PushBack, PopFront, PopBack, Front, Back,
  Empty, RbAdd, RbFirst, RbRemove, RbRoot, RbLeft, RbRight, KptrXchg, Count
};
constexpr const char* kOpNames[] = {
    "bpf_obj_new_impl", "bpf_obj_drop_impl", "bpf_refcount_acquire_impl", "bpf_list_push_front_impl",
    "bpf_list_push_back_impl", "bpf_list_pop_front", "bpf_list_pop_back", "bpf_list_front", "bpf_list_back",
    "bpf_list_empty", "bpf_rbtree_add_impl", "bpf_rbtree_first", "bpf_rbtree_remove", "bpf_rbtree_root", "bpf_rbtree_left",
    "bpf_rbtree_right", "bpf_kptr_xchg"};
static_assert(std::size(kOpNames) == static_cast<size_t>(Op::Count));

enum class Why : uint8_t {
  UnknownType, TooLarge, NotObject, NotHeld, NotList, NotTree, NotNode, NoRefcount, NotCallback,
  LessChanged, NotKptrField, WrongType, NotValue, Forged, Count
};
constexpr const char* kWhy[] = {
    "the type id is not a struct of the program's BTF",
    "the type is larger than 4096 bytes",
    "the pointer is not a live object from bpf_obj_new",
    "the program holds no reference to the object (it gave it away, or never had it)",
    "the head is not a bpf_list_head of a global variable or a live object",
    "the root is not a bpf_rb_root of a global variable or a live object",
    "the node is not the node member of a live object that the collection's __contains names",
    "the object's type has no struct bpf_refcount",
    "less is not a sub-program of this program",
    "the less callback changed the objects or collections",
    "the field lies in an object but is not one of its kptr fields",
    "the object is not of the type the kptr field holds",
    "the new value is neither an object the program holds nor a packet the field may hold",
    "the field shows an object it does not hold (its bytes were overwritten)",
};
static_assert(std::size(kWhy) == static_cast<size_t>(Why::Count));

const char* message(Op op, Why why) {
  static const std::vector<std::string> table = [] {
    std::vector<std::string> t;
    for (const char* name : kOpNames)
      for (const char* w : kWhy) t.push_back(std::string(name) + ": " + w);
    return t;
  }();
  return table[static_cast<size_t>(op) * static_cast<size_t>(Why::Count) + static_cast<size_t>(why)].c_str();
}

uint64_t fault(Op op, Why why) {
  if (exec::RunContext* rc = exec::RunContext::current()) rc->fail(message(op, why));
  return 0;
}

uint64_t errno_result(int negative) { return static_cast<uint64_t>(static_cast<int64_t>(negative)); }

bool is_root(loader::SpecialKind k) {
  return k == loader::SpecialKind::ListHead || k == loader::SpecialKind::RbRoot;
}

// Live heaps (for the map kptr destructor, which gets only a pointer), arenas of destroyed heaps
// that maps may still point into, and the packet release of heaps that cannot tell packets.
struct Registry {
  std::recursive_mutex mutex;  // a packet release may delete from a map that releases again
  std::vector<GraphHeap*> heaps;
  std::vector<std::pair<uint64_t, uint64_t>> retired;
  maps::KptrDtor fallback = nullptr;
};
Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: maps may release kptrs during exit
  return *r;
}

}  // namespace

// ---- Sequence ----

void GraphHeap::Sequence::push_front(uint64_t x) {
  if (head_ == 0) {  // open a gap in front, as large as what is there: amortised O(1)
    const size_t gap = std::max<size_t>(8, v_.size());
    v_.insert(v_.begin(), gap, 0);
    head_ = gap;
  }
  v_[--head_] = x;
}

uint64_t GraphHeap::Sequence::pop_front() {
  const uint64_t x = v_[head_++];
  if (head_ == v_.size()) {
    clear();
  } else if (head_ >= 64 && head_ * 2 >= v_.size()) {
    v_.erase(v_.begin(), v_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  return x;
}

uint64_t GraphHeap::Sequence::pop_back() {
  const uint64_t x = v_.back();
  v_.pop_back();
  if (size() == 0) clear();
  return x;
}

void GraphHeap::Sequence::insert(size_t i, uint64_t x) {
  v_.insert(v_.begin() + static_cast<std::ptrdiff_t>(head_ + i), x);
}

void GraphHeap::Sequence::erase(size_t i) {
  v_.erase(v_.begin() + static_cast<std::ptrdiff_t>(head_ + i));
  if (size() == 0) clear();
}

size_t GraphHeap::Sequence::find(uint64_t x) const {
  for (size_t i = 0; i < size(); ++i)
    if (at(i) == x) return i;
  return size();
}

std::vector<uint64_t> GraphHeap::Sequence::take() {
  std::vector<uint64_t> out(v_.begin() + static_cast<std::ptrdiff_t>(head_), v_.end());
  clear();
  return out;
}

// ---- construction ----

GraphHeap::GraphHeap(const std::vector<loader::LocalType>& types, std::span<const GlobalRoot> roots,
                     size_t arena_bytes) {
  for (const loader::LocalType& t : types) types_[t.id] = &t;
  for (const GlobalRoot& g : roots) {
    if (!is_root(g.field.kind)) continue;
    if (types_.count(g.field.contained_type) == 0)
      throw Error("a global graph root contains BTF type " + std::to_string(g.field.contained_type) +
                  ", which is not a struct of the program");
    Root& r = roots_[g.address];
    r.rb = g.field.kind == loader::SpecialKind::RbRoot;
    r.contained_type = g.field.contained_type;
    r.node_offset = g.field.node_offset;
  }
  arena_bytes_ = std::max<size_t>(kPageBytes, arena_bytes / kPageBytes * kPageBytes);
  void* m = mmap(nullptr, arena_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (m == MAP_FAILED)
    throw Error("cannot map the " + std::to_string(arena_bytes_ >> 20) + " MiB object arena: " + std::strerror(errno));
  arena_ = reinterpret_cast<uint64_t>(m);
  page_class_.assign(arena_bytes_ / kPageBytes, kNoClass);
  free_slots_.resize(kClassBytes.size());
  Registry& reg = registry();
  std::lock_guard lock(reg.mutex);
  reg.heaps.push_back(this);
}

GraphHeap::~GraphHeap() {
  clear();
  Registry& reg = registry();
  std::lock_guard lock(reg.mutex);
  std::erase(reg.heaps, this);
  void* arena = reinterpret_cast<void*>(arena_);
  // Map values may still show pointers into the arena: keep the addresses reserved (no memory)
  // so that releasing them later can never reach another heap's objects.
  if (dangling_ && mmap(arena, arena_bytes_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
                        -1, 0) != MAP_FAILED) {
    reg.retired.emplace_back(arena_, arena_ + arena_bytes_);
    return;
  }
  munmap(arena, arena_bytes_);
}

void GraphHeap::set_packet_kptrs(PacketKptrs p) {
  Registry& reg = registry();
  std::lock_guard lock(reg.mutex);  // kptr_dtor reads it from any thread
  packets_ = p;
  if (p.release) reg.fallback = p.release;
}

// ---- lookups ----

GraphHeap::Object* GraphHeap::object(uint64_t p) {
  auto it = objects_.find(p);
  return it == objects_.end() ? nullptr : &it->second;
}

uint64_t GraphHeap::slot_of(uint64_t p) const {
  if (!in_arena(p)) return 0;
  const uint64_t page = (p - arena_) / kPageBytes;
  if (page >= pages_used_ || page_class_[page] == kNoClass) return 0;
  const uint64_t size = kClassBytes[page_class_[page]];
  const uint64_t start = arena_ + page * kPageBytes;
  const uint64_t index = (p - start) / size;
  return index < kPageBytes / size ? start + index * size : 0;
}

GraphHeap::Root* GraphHeap::root(uint64_t p, bool rb) {
  auto it = roots_.find(p);
  return it == roots_.end() || it->second.rb != rb ? nullptr : &it->second;
}

uint64_t GraphHeap::node_object(const Root& r, uint64_t node) {
  if (node < r.node_offset) return 0;
  const uint64_t base = node - r.node_offset;
  const Object* o = object(base);
  return o && o->type->id == r.contained_type ? base : 0;
}

uint64_t GraphHeap::refs(uint64_t obj) const {
  auto it = objects_.find(obj);
  return it == objects_.end() ? 0 : it->second.refs;
}

size_t GraphHeap::collection_size(uint64_t root) const {
  auto it = roots_.find(root);
  return it == roots_.end() ? 0 : it->second.nodes.size();
}

// ---- references ----

uint64_t GraphHeap::allocate(uint32_t size) {
  const size_t c = size_class(size);
  const uint32_t bytes = kClassBytes[c];
  uint64_t slot = 0;
  if (!free_slots_[c].empty()) {
    slot = free_slots_[c].back();
    free_slots_[c].pop_back();
  } else {
    if (bump_[c] + bytes > bump_end_[c]) {  // the class's page is used up: take a fresh one
      if (pages_used_ == page_class_.size()) return 0;  // the arena is full
      page_class_[pages_used_] = static_cast<uint8_t>(c);
      bump_[c] = arena_ + pages_used_ * kPageBytes;
      bump_end_[c] = bump_[c] + kPageBytes / bytes * bytes;
      ++pages_used_;
    }
    slot = bump_[c];
    bump_[c] += bytes;
  }
  std::memset(reinterpret_cast<void*>(slot), 0, bytes);
  return slot;
}

void GraphHeap::hand_to_program(uint64_t obj) {
  if (Object* o = object(obj)) {
    ++o->run_refs;
    run_held_.push_back(obj);
  }
}

void GraphHeap::unref(uint64_t obj) {
  Object* o = object(obj);
  if (!o || --o->refs != 0) return;
  // Freeing cascades through the lists, trees and kptrs of freed objects: a worklist of objects
  // that lose a reference, not recursion, however deep the program nested them.
  std::vector<uint64_t> pending;
  free_object(obj, pending);
  while (!pending.empty()) {
    const uint64_t p = pending.back();
    pending.pop_back();
    Object* dead = object(p);
    if (dead && --dead->refs == 0) free_object(p, pending);
  }
}

void GraphHeap::free_object(uint64_t obj, std::vector<uint64_t>& pending) {
  const loader::LocalType* type = object(obj)->type;  // the callers found it
  for (const loader::SpecialField& f : type->fields) {
    const uint64_t at = obj + f.offset;
    if (is_root(f.kind)) {
      auto r = roots_.find(at);
      if (r == roots_.end()) continue;
      const uint64_t offset = r->second.node_offset;
      const std::vector<uint64_t> nodes = r->second.nodes.take();
      roots_.erase(r);
      for (uint64_t n : nodes) {
        node_owner_.erase(n);
        pending.push_back(n - offset);
      }
    } else if (f.kind == loader::SpecialKind::Kptr) {
      auto h = fields_.find(at);
      if (h == fields_.end()) continue;
      const Held held = h->second;
      fields_.erase(h);
      if (!held.packet)
        pending.push_back(held.value);
      else if (packets_.release)
        packets_.release(reinterpret_cast<void*>(held.value));
    }
  }
  objects_.erase(obj);
  free_slots_[page_class_[(obj - arena_) / kPageBytes]].push_back(obj);
  ++stats_.freed;
  --stats_.live;
}

// ---- kfuncs ----

uint64_t GraphHeap::obj_new(uint64_t local_type_id) {
  ++epoch_;
  auto t = local_type_id <= UINT32_MAX ? types_.find(static_cast<uint32_t>(local_type_id)) : types_.end();
  if (t == types_.end()) return fault(Op::ObjNew, Why::UnknownType);
  const loader::LocalType& type = *t->second;
  if (type.size > kMaxObjectBytes) return fault(Op::ObjNew, Why::TooLarge);
  const uint64_t obj = allocate(type.size);
  if (obj == 0) {
    ++stats_.alloc_failures;
    return 0;
  }
  Object& o = objects_[obj];
  o.type = &type;
  o.refs = 1;
  for (const loader::SpecialField& f : type.fields) {
    if (!is_root(f.kind)) continue;
    Root& r = roots_[obj + f.offset];
    r.rb = f.kind == loader::SpecialKind::RbRoot;
    r.owner = obj;
    r.contained_type = f.contained_type;
    r.node_offset = f.node_offset;
  }
  hand_to_program(obj);
  ++stats_.allocated;
  ++stats_.live;
  return obj;
}

void GraphHeap::obj_drop(uint64_t obj) {
  ++epoch_;
  Object* o = object(obj);
  if (!o) return void(fault(Op::ObjDrop, Why::NotObject));
  if (o->run_refs == 0) return void(fault(Op::ObjDrop, Why::NotHeld));
  --o->run_refs;
  unref(obj);
}

uint64_t GraphHeap::refcount_acquire(uint64_t obj) {
  ++epoch_;
  Object* o = object(obj);
  if (!o) return slot_of(obj) == obj && obj != 0 ? 0 : fault(Op::RefcountAcquire, Why::NotObject);
  const bool counted = std::any_of(o->type->fields.begin(), o->type->fields.end(), [](const loader::SpecialField& f) {
    return f.kind == loader::SpecialKind::Refcount;
  });
  if (!counted) return fault(Op::RefcountAcquire, Why::NoRefcount);
  ++o->refs;
  hand_to_program(obj);
  return obj;
}

uint64_t GraphHeap::insert_node(uint64_t root_addr, uint64_t node, uint64_t less, int op) {
  ++epoch_;
  const Op kfunc = static_cast<Op>(op);
  const bool rb = kfunc == Op::RbAdd;
  Root* r = root(root_addr, rb);
  if (!r) return fault(kfunc, rb ? Why::NotTree : Why::NotList);
  const uint64_t obj = node_object(*r, node);
  if (!obj) return fault(kfunc, Why::NotNode);
  if (object(obj)->run_refs == 0) return fault(kfunc, Why::NotHeld);
  if (node_owner_.count(node) != 0) {  // already in a collection: Linux drops the object
    --object(obj)->run_refs;
    unref(obj);
    return errno_result(-EINVAL);
  }
  size_t at = kfunc == Op::PushFront ? 0 : r->nodes.size();
  if (rb) {
    exec::RunContext* rc = exec::RunContext::current();
    if (!rc || !rc->is_callback(less)) return fault(kfunc, Why::NotCallback);
    // The first position whose node `less(new, node)` says is greater. A binary search over the
    // order stays in bounds whatever less answers; anything less changes fails the run (the
    // epoch), so r and the order are still the ones searched.
    size_t lo = 0, hi = r->nodes.size();
    while (lo < hi) {
      const size_t mid = lo + (hi - lo) / 2;
      const uint64_t epoch = epoch_;
      const bool is_less = rc->call(less, node, r->nodes.at(mid), 0, 0, 0) != 0;
      if (rc->failed()) return 0;
      if (epoch_ != epoch) return fault(kfunc, Why::LessChanged);
      if (is_less)
        hi = mid;
      else
        lo = mid + 1;
    }
    at = lo;
  }
  --object(obj)->run_refs;  // the program's reference now belongs to the collection (same epoch)
  node_owner_[node] = root_addr;
  if (at == 0)
    r->nodes.push_front(node);
  else if (at == r->nodes.size())
    r->nodes.push_back(node);
  else
    r->nodes.insert(at, node);
  return 0;
}

uint64_t GraphHeap::list_push(uint64_t head, uint64_t node, bool front) {
  return insert_node(head, node, 0, static_cast<int>(front ? Op::PushFront : Op::PushBack));
}

uint64_t GraphHeap::rbtree_add(uint64_t root_addr, uint64_t node, uint64_t less) {
  return insert_node(root_addr, node, less, static_cast<int>(Op::RbAdd));
}

uint64_t GraphHeap::list_pop(uint64_t head, bool front) {
  ++epoch_;
  Root* r = root(head, false);
  if (!r) return fault(front ? Op::PopFront : Op::PopBack, Why::NotList);
  if (r->nodes.size() == 0) return 0;
  const uint64_t node = front ? r->nodes.pop_front() : r->nodes.pop_back();
  node_owner_.erase(node);
  hand_to_program(node - r->node_offset);  // the list's reference goes to the program
  return node;
}

uint64_t GraphHeap::list_peek(uint64_t head, bool front) {
  Root* r = root(head, false);
  if (!r) return fault(front ? Op::Front : Op::Back, Why::NotList);
  const size_t n = r->nodes.size();
  return n == 0 ? 0 : r->nodes.at(front ? 0 : n - 1);
}

uint64_t GraphHeap::list_empty(uint64_t head) {
  Root* r = root(head, false);
  if (!r) return fault(Op::Empty, Why::NotList);
  return r->nodes.size() == 0 ? 1 : 0;
}

uint64_t GraphHeap::rbtree_first(uint64_t root_addr) {
  Root* r = root(root_addr, true);
  if (!r) return fault(Op::RbFirst, Why::NotTree);
  return r->nodes.size() == 0 ? 0 : r->nodes.at(0);
}

uint64_t GraphHeap::rbtree_remove(uint64_t root_addr, uint64_t node) {
  ++epoch_;
  Root* r = root(root_addr, true);
  if (!r) return fault(Op::RbRemove, Why::NotTree);
  const uint64_t obj = node_object(*r, node);
  if (!obj) return fault(Op::RbRemove, Why::NotNode);
  auto owner = node_owner_.find(node);
  if (owner == node_owner_.end() || owner->second != root_addr) return 0;  // in no tree, or another
  const size_t index = r->nodes.find(node);
  if (index == r->nodes.size()) return 0;  // never: the owner says it is here
  r->nodes.erase(index);
  node_owner_.erase(owner);
  hand_to_program(obj);
  return node;
}

uint64_t GraphHeap::rbtree_root(uint64_t root_addr) { return tree_node(root_addr, 0, 0); }

uint64_t GraphHeap::rbtree_child(uint64_t root_addr, uint64_t node, bool right) {
  return tree_node(root_addr, node, right ? 2 : 1);
}

// The implicit balanced tree over the order: the root of [lo, hi) is its middle.
uint64_t GraphHeap::tree_node(uint64_t root_addr, uint64_t node, int which) {
  const Op op = which == 0 ? Op::RbRoot : which == 1 ? Op::RbLeft : Op::RbRight;
  Root* r = root(root_addr, true);
  if (!r) return fault(op, Why::NotTree);
  const size_t n = r->nodes.size();
  if (which == 0) return n == 0 ? 0 : r->nodes.at(n / 2);
  if (!node_object(*r, node)) return fault(op, Why::NotNode);
  auto owner = node_owner_.find(node);
  if (owner == node_owner_.end() || owner->second != root_addr) return 0;
  const size_t index = r->nodes.find(node);
  if (index == n) return 0;  // never: the owner says it is here
  size_t lo = 0, hi = n, mid = n / 2;
  while (mid != index) {
    if (index < mid)
      hi = mid;
    else
      lo = mid + 1;
    mid = lo + (hi - lo) / 2;
  }
  if (which == 1) return lo < mid ? r->nodes.at(lo + (mid - lo) / 2) : 0;
  return mid + 1 < hi ? r->nodes.at(mid + 1 + (hi - mid - 1) / 2) : 0;
}

// ---- kptrs ----

uint64_t GraphHeap::kptr_xchg(uint64_t field, uint64_t incoming) {
  ++epoch_;
  // The field: a kptr field of a live object, or memory outside the arena (a map value).
  const loader::SpecialField* slot = nullptr;
  if (in_arena(field)) {
    const uint64_t base = slot_of(field);
    const Object* owner = object(base);
    if (owner)
      for (const loader::SpecialField& f : owner->type->fields)
        if (f.kind == loader::SpecialKind::Kptr && base + f.offset == field) slot = &f;
    if (!slot) return fault(Op::KptrXchg, Why::NotKptrField);
  }
  // What goes in: an object the program holds, a packet (only into an object's packet kptr),
  // or a plain value (into a map value; the embedder tracks its packets there).
  Object* in = incoming != 0 ? object(incoming) : nullptr;
  bool packet = false;
  if (in) {
    if (in->run_refs == 0) return fault(Op::KptrXchg, Why::NotHeld);
    if (slot && in->type->id != slot->kptr_type) return fault(Op::KptrXchg, Why::WrongType);
  } else if (incoming != 0) {
    packet = slot && slot->kptr_type == 0 && packets_.is_packet && packets_.is_packet(incoming);
    if (in_arena(incoming) || (slot && !packet)) return fault(Op::KptrXchg, Why::NotValue);
  }
  // What comes out.
  uint64_t old = 0;
  if (slot) {
    if (auto h = fields_.find(field); h != fields_.end()) {
      old = h->second.value;
      const bool old_packet = h->second.packet;
      fields_.erase(h);
      if (!old_packet) hand_to_program(old);  // the field's reference goes to the program
    }
  } else {
    std::memcpy(&old, reinterpret_cast<const void*>(field), sizeof old);
    if (in_arena(old)) {  // the bytes claim an object: believed if a field outside holds one
      Object* o = object(old);
      if (!o || o->ext_refs == 0) return fault(Op::KptrXchg, Why::Forged);
      --o->ext_refs;
      hand_to_program(old);
    }
  }
  if (in) {
    --in->run_refs;
    if (slot)
      fields_[field] = {incoming, false};
    else
      ++in->ext_refs;
  } else if (packet) {
    fields_[field] = {incoming, true};
  }
  std::memcpy(reinterpret_cast<void*>(field), &incoming, sizeof incoming);
  return old;
}

bool GraphHeap::handles_xchg(uint64_t field, uint64_t incoming) const {
  if (in_arena(field) || (incoming != 0 && objects_.count(incoming) != 0)) return true;
  uint64_t shown;
  std::memcpy(&shown, reinterpret_cast<const void*>(field), sizeof shown);
  return in_arena(shown);
}

void GraphHeap::release_external(uint64_t p) {
  ++epoch_;
  Object* o = object(p);
  if (!o || o->ext_refs == 0) return;  // not something a map field held: forged bytes
  --o->ext_refs;
  unref(p);
}

void GraphHeap::kptr_dtor(void* p) {
  const auto a = reinterpret_cast<uint64_t>(p);
  Registry& reg = registry();
  std::lock_guard lock(reg.mutex);
  for (GraphHeap* h : reg.heaps)
    if (h->in_arena(a)) return h->release_external(a);
  for (const auto& [begin, end] : reg.retired)
    if (a >= begin && a < end) return;
  bool asked = false;
  for (GraphHeap* h : reg.heaps) {
    if (!h->packets_.is_packet) continue;
    asked = true;
    if (h->packets_.is_packet(a)) {
      if (h->packets_.release) h->packets_.release(p);
      return;
    }
  }
  if (!asked && reg.fallback) reg.fallback(p);
}

// ---- between runs ----

void GraphHeap::begin_run() { end_run(); }

size_t GraphHeap::end_run() {
  ++epoch_;
  std::vector<uint64_t> held;
  held.swap(run_held_);
  size_t leaked = 0;
  for (uint64_t obj : held) {
    Object* o = object(obj);
    if (!o || o->run_refs == 0) continue;
    const uint64_t n = o->run_refs;
    o->run_refs = 0;
    leaked += n;
    for (uint64_t i = 0; i < n; ++i) unref(obj);
  }
  stats_.leaked += leaked;
  return leaked;
}

void GraphHeap::clear() {
  ++epoch_;
  std::vector<uint64_t> packets;
  for (const auto& [at, held] : fields_)
    if (held.packet) packets.push_back(held.value);
  for (const auto& [at, o] : objects_)
    if (o.ext_refs != 0) dangling_ = true;  // map values still show these pointers
  stats_.freed += objects_.size();
  stats_.live = 0;
  objects_.clear();
  fields_.clear();
  node_owner_.clear();
  run_held_.clear();
  std::erase_if(roots_, [](const auto& entry) { return entry.second.owner != 0; });
  for (auto& [at, r] : roots_) r.nodes.clear();
  if (pages_used_ != 0) madvise(reinterpret_cast<void*>(arena_), pages_used_ * kPageBytes, MADV_DONTNEED);
  pages_used_ = 0;
  std::fill(page_class_.begin(), page_class_.end(), kNoClass);
  for (std::vector<uint64_t>& slots : free_slots_) slots.clear();
  bump_.fill(0);
  bump_end_.fill(0);
  if (packets_.release)  // last: the embedder's release may come back into the heap
    for (uint64_t p : packets) packets_.release(reinterpret_cast<void*>(p));
}

}  // namespace bpfq::runtime
