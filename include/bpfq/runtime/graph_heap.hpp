#pragma once
// The objects of BPF graph programs (Linux 6.16's bpf_obj_new, bpf_list_*, bpf_rbtree_*,
// bpf_refcount and object kptrs), run in the checked interpreter without a verifier.
//
// Memory: objects live in one mmap'd arena that checked programs may always read and write
// (region(), one permanent writable region), so a program touching any object, live or stale,
// touches only arena bytes. Size classes and free lists are kept here, not in the arena; an
// object is zeroed when allocated.
//
// Truth: which objects exist (and their LocalType), their reference counts, which collection
// owns each node, the order of every list and rbtree, and what each kptr field of an object
// holds are kept host-side, keyed by address. The bytes of heads, nodes and object kptr fields
// are never read. A kptr field outside the arena (a map value) is only counted: each object
// knows how many such fields hold it, and the pointer such a field shows is believed only when
// it names an object with such a count (so a program forging the bytes steals nothing that is
// not already held that way, and never reaches outside the arena). Every pointer a kfunc is
// given is validated; a bad one fails the run with "<kfunc>: <why>".
//
// References (Linux's owning references): bpf_obj_new, a pop, bpf_rbtree_remove,
// bpf_refcount_acquire and a kptr exchanged out give the program one; a push, bpf_rbtree_add,
// bpf_obj_drop and a kptr exchanged in take one. An object is freed when it has none left: not
// held by the program, in no collection and in no kptr field. What the program still holds at
// end_run() has leaked and is dropped. Freeing an object empties its lists and trees (dropping
// their nodes) and releases what its kptr fields hold.
//
// Not thread-safe: one heap serves one runtime::Object's programs, run from one thread. The
// kptr destructor (kptr_dtor) may be called from any thread; it locks a process-wide registry.
#include <cstddef>
#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <bpfq/exec/program.hpp>
#include <bpfq/loader/object_spec.hpp>
#include <bpfq/maps/map.hpp>

namespace bpfq::runtime {

// The embedder's packets (struct sk_buff) in kptr fields of objects: the heap records which
// field holds which packet, releases them when it frees the object, and hands them out of a
// field when the program exchanges them. Holding and releasing the program's own packet
// references (Linux's reference tracking of the skb) stays the embedder's job.
struct PacketKptrs {
  // Is p a packet the program may store? Null: no value is a packet (only objects move).
  bool (*is_packet)(uint64_t p) = nullptr;
  // Releases a packet the heap held (an object freed, clear()); null: packets are forgotten.
  maps::KptrDtor release = nullptr;
};

struct GraphStats {
  uint64_t live = 0;            // objects now
  uint64_t allocated = 0;       // bpf_obj_new successes
  uint64_t freed = 0;           // objects freed (incl. leaked ones and clear())
  uint64_t leaked = 0;          // owning references dropped by end_run()
  uint64_t alloc_failures = 0;  // bpf_obj_new returning NULL: the arena is full
};

// A graph root of a global variable: its address in the global data map's value.
struct GlobalRoot {
  uint64_t address = 0;
  loader::SpecialField field;  // ListHead or RbRoot
};

class GraphHeap {
 public:
  static constexpr size_t kDefaultArenaBytes = size_t{64} << 20;
  static constexpr uint32_t kMaxObjectBytes = 4096;  // as Linux's bpf_mem_alloc

  // types: the object's LocalTypes (kept by pointer: the ObjectSpec must outlive the heap).
  // Throws bpfq::Error if the arena cannot be mapped or a root is malformed.
  GraphHeap(const std::vector<loader::LocalType>& types, std::span<const GlobalRoot> roots,
            size_t arena_bytes = kDefaultArenaBytes);
  ~GraphHeap();  // frees everything (clear()), counting nothing as leaked
  GraphHeap(const GraphHeap&) = delete;
  GraphHeap& operator=(const GraphHeap&) = delete;

  exec::MemRegion region() const { return {arena_, arena_ + arena_bytes_, true}; }
  bool in_arena(uint64_t p) const { return p >= arena_ && p < arena_ + arena_bytes_; }
  void set_packet_kptrs(PacketKptrs p);
  const PacketKptrs& packet_kptrs() const { return packets_; }

  // ---- the kfuncs' semantics (graph_kfuncs.cpp). In a run; a bad argument fails the run. ----
  // The zeroed object, or 0 when the arena is full; fails the run for an id that is not a struct
  // of the program or a struct larger than kMaxObjectBytes.
  uint64_t obj_new(uint64_t local_type_id);
  void obj_drop(uint64_t obj);
  uint64_t refcount_acquire(uint64_t obj);  // obj, or 0 for an object freed meanwhile
  // 0, or -EINVAL (as u64) when the node already is in a collection: the object is dropped.
  uint64_t list_push(uint64_t head, uint64_t node, bool front);
  uint64_t list_pop(uint64_t head, bool front);   // owning node pointer, or 0 when empty
  uint64_t list_peek(uint64_t head, bool front);  // non-owning node pointer, or 0
  uint64_t list_empty(uint64_t head);              // 1 or 0 (bpf_list_empty, after 6.16)
  // `less` (a callback of the program) is called as less(new, existing): the node goes before
  // the first node it is less than (ties after equal ones). 0, or -EINVAL as list_push.
  uint64_t rbtree_add(uint64_t root, uint64_t node, uint64_t less);
  uint64_t rbtree_first(uint64_t root);
  uint64_t rbtree_remove(uint64_t root, uint64_t node);  // owning, or 0 if not in that tree
  // The tree seen as the balanced binary tree over its order (Linux's shape differs).
  uint64_t rbtree_root(uint64_t root);
  uint64_t rbtree_child(uint64_t root, uint64_t node, bool right);
  // bpf_kptr_xchg: `incoming` (an object the program holds, a packet when the field is an
  // object's packet kptr, or 0) goes into the 8-byte field; the old content comes out (an
  // object: now held by the program). A field outside the arena that holds no object is a plain
  // exchange of its bytes. The caller has checked that the field is writable program memory.
  uint64_t kptr_xchg(uint64_t field, uint64_t incoming);
  // Does this heap take part in an exchange on `field` of `incoming` (a field inside the arena,
  // an object, or a field outside showing an object pointer)? The qdisc's bpf_kptr_xchg asks,
  // once it has checked that the field is writable program memory.
  bool handles_xchg(uint64_t field, uint64_t incoming) const;

  // ---- between runs ----
  void begin_run();  // drops what a run without end_run() left held
  size_t end_run();  // drops the references the run still holds; returns how many (leaks)
  // Frees every object and releases every packet; nothing counts as leaked. Clear the maps that
  // hold object kptrs first: pointers they still show are stale, and their later release is
  // only ignored while the address is not reused.
  void clear();

  // maps::KptrDtor for maps whose values hold object kptrs: a map released a field holding p.
  // An object of a live heap loses that reference (a pointer the fields outside the arena do not
  // hold is ignored, as is one into a destroyed heap's arena); any other pointer is a packet:
  // released by the first live heap whose PacketKptrs::is_packet claims it, or, when no heap
  // can tell packets, by the last PacketKptrs::release set.
  static void kptr_dtor(void* p);

  GraphStats stats() const { return stats_; }
  uint64_t leaked_objects() const { return stats_.leaked; }
  uint64_t live_objects() const { return stats_.live; }
  // Tests: is p a live object's start; its references; nodes in the list or tree at `root`.
  bool is_live(uint64_t p) const { return objects_.count(p) != 0; }
  uint64_t refs(uint64_t obj) const;
  size_t collection_size(uint64_t root) const;

 private:
  struct Object {
    const loader::LocalType* type = nullptr;
    // 64 bits: a program stashing one object in ever more stack slots must not wrap them.
    uint64_t refs = 0;      // every owning reference
    uint64_t run_refs = 0;  // of which the program holds
    uint64_t ext_refs = 0;  // of which kptr fields outside the arena hold
  };
  // Nodes in order, cheap at both ends (a vector with a gap in front).
  class Sequence {
   public:
    size_t size() const { return v_.size() - head_; }
    uint64_t at(size_t i) const { return v_[head_ + i]; }
    void push_back(uint64_t x) { v_.push_back(x); }
    void push_front(uint64_t x);
    uint64_t pop_front();
    uint64_t pop_back();
    void insert(size_t i, uint64_t x);
    void erase(size_t i);
    size_t find(uint64_t x) const;  // index, or size()
    std::vector<uint64_t> take();
    void clear() { v_.clear(), head_ = 0; }

   private:
    std::vector<uint64_t> v_;
    size_t head_ = 0;
  };
  struct Root {
    bool rb = false;
    uint64_t owner = 0;  // the object holding it; 0 for a global
    uint32_t contained_type = 0;
    uint32_t node_offset = 0;
    Sequence nodes;
  };
  struct Held {
    uint64_t value = 0;
    bool packet = false;
  };

  Object* object(uint64_t p);
  uint64_t slot_of(uint64_t p) const;  // start of the arena slot holding p, or 0
  uint64_t allocate(uint32_t size);    // a zeroed slot, or 0 when the arena is full
  Root* root(uint64_t p, bool rb);     // the registered list (or tree) at p, or null
  uint64_t node_object(const Root& r, uint64_t node);  // the object whose r-node is `node`, or 0
  void hand_to_program(uint64_t obj);  // the program now holds one more reference
  void unref(uint64_t obj);            // drops a reference; at zero frees obj and what it owns
  void free_object(uint64_t obj, std::vector<uint64_t>& pending);
  uint64_t insert_node(uint64_t root, uint64_t node, uint64_t less, int op);
  uint64_t tree_node(uint64_t root, uint64_t node, int which);  // 0 root, 1 left, 2 right
  void release_external(uint64_t p);

  std::unordered_map<uint32_t, const loader::LocalType*> types_;
  uint64_t arena_ = 0;
  size_t arena_bytes_ = 0;
  size_t pages_used_ = 0;
  std::vector<uint8_t> page_class_;                // per arena page: its size class
  std::vector<std::vector<uint64_t>> free_slots_;  // per size class
  std::array<uint64_t, 11> bump_{}, bump_end_{};   // per size class: the page being carved
  std::unordered_map<uint64_t, Object> objects_;    // by start address
  std::unordered_map<uint64_t, Root> roots_;        // by the head's / root's address
  std::unordered_map<uint64_t, uint64_t> node_owner_;  // node address -> root address
  std::unordered_map<uint64_t, Held> fields_;       // kptr fields inside objects -> content
  std::vector<uint64_t> run_held_;                  // objects the program took references to
  uint64_t epoch_ = 0;  // bumped by every change; a `less` callback must not change anything
  bool dangling_ = false;  // clear() dropped objects that map fields may still show
  PacketKptrs packets_;
  GraphStats stats_;
};

// The graph kfuncs (bpf_obj_new_impl … bpf_rbtree_*, bpf_refcount_acquire_impl), the numeric
// iterator (bpf_iter_num_new/next/destroy) and a bpf_kptr_xchg (helper 194) that moves objects
// through GraphHeap::kptr_xchg when the run has a heap (RunEnv::graph) and is a plain exchange
// otherwise. The graph kfuncs fail the run when RunEnv::graph is null.
void add_graph_kfuncs(exec::HelperRegistry& registry);

// Is `name` a kfunc that needs a GraphHeap (bpf_obj_new_impl, bpf_list_*, bpf_rbtree_*, …)?
bool is_graph_kfunc(std::string_view name);

}  // namespace bpfq::runtime
