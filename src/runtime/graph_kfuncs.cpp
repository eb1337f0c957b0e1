// The graph kfuncs (GraphHeap behind them), bpf_kptr_xchg that moves objects, and the numeric
// open-coded iterator (bpf_for). Hidden arguments the verifier would fill in (meta, off) are
// ignored: the heap knows each type's size and each collection's node offset.
#include <bpfq/runtime/graph_heap.hpp>

#include <array>
#include <cstring>
#include <string_view>

#include <bpfq/runtime/run_env.hpp>

#include "helper_support.hpp"

namespace bpfq::runtime {

namespace {

using exec::RunContext;

GraphHeap* heap() {
  const RunContext* rc = RunContext::current();
  const auto* env = rc ? static_cast<const RunEnv*>(rc->user()) : nullptr;
  return env ? env->graph : nullptr;
}

// The run's heap, or a fault naming the kfunc.
#define BPFQ_HEAP(kfunc)                                                                          \
  GraphHeap* h = heap();                                                                          \
  if (!h) return detail::fail(RunContext::current(), kfunc ": the run has no graph heap (RunEnv::graph)")

uint64_t obj_new(uint64_t type, uint64_t, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_obj_new_impl");
  return h->obj_new(type);
}
uint64_t obj_drop(uint64_t p, uint64_t, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_obj_drop_impl");
  h->obj_drop(p);
  return 0;
}
uint64_t refcount_acquire(uint64_t p, uint64_t, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_refcount_acquire_impl");
  return h->refcount_acquire(p);
}
uint64_t list_push_front(uint64_t head, uint64_t node, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_list_push_front_impl");
  return h->list_push(head, node, true);
}
uint64_t list_push_back(uint64_t head, uint64_t node, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_list_push_back_impl");
  return h->list_push(head, node, false);
}
uint64_t list_pop_front(uint64_t head, uint64_t, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_list_pop_front");
  return h->list_pop(head, true);
}
uint64_t list_pop_back(uint64_t head, uint64_t, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_list_pop_back");
  return h->list_pop(head, false);
}
uint64_t list_front(uint64_t head, uint64_t, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_list_front");
  return h->list_peek(head, true);
}
uint64_t list_back(uint64_t head, uint64_t, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_list_back");
  return h->list_peek(head, false);
}
uint64_t list_empty(uint64_t head, uint64_t, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_list_empty");
  return h->list_empty(head);
}
uint64_t rbtree_add(uint64_t root, uint64_t node, uint64_t less, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_rbtree_add_impl");
  return h->rbtree_add(root, node, less);
}
uint64_t rbtree_first(uint64_t root, uint64_t, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_rbtree_first");
  return h->rbtree_first(root);
}
uint64_t rbtree_remove(uint64_t root, uint64_t node, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_rbtree_remove");
  return h->rbtree_remove(root, node);
}
uint64_t rbtree_root(uint64_t root, uint64_t, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_rbtree_root");
  return h->rbtree_root(root);
}
uint64_t rbtree_left(uint64_t root, uint64_t node, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_rbtree_left");
  return h->rbtree_child(root, node, false);
}
uint64_t rbtree_right(uint64_t root, uint64_t node, uint64_t, uint64_t, uint64_t) {
  BPFQ_HEAP("bpf_rbtree_right");
  return h->rbtree_child(root, node, true);
}

#undef BPFQ_HEAP

// Without a heap this is the standard helper's plain exchange.
uint64_t kptr_xchg(uint64_t field, uint64_t p, uint64_t, uint64_t, uint64_t) {
  GraphHeap* h = heap();
  if (!h) return detail::kptr_xchg(field, p, 0, 0, 0);
  RunContext* rc = RunContext::current();
  if (field % 8 != 0 || !detail::writable(rc, field, 8))
    return detail::fail(rc, "bpf_kptr_xchg: kptr field outside writable program memory or misaligned");
  return h->kptr_xchg(field, p);
}

// struct bpf_iter_num on the program's stack: Linux's {int cur; int end}.
constexpr auto kMaxLoops = static_cast<int64_t>(ebpf::kMaxLoops);

struct IterNum {
  int32_t cur;
  int32_t end;
};

// The iterator's 8 bytes, checked writable, or null after failing the run.
IterNum* iter_arg(uint64_t it, const char* bad) {
  RunContext* rc = RunContext::current();
  if (it % 8 != 0 || !detail::writable(rc, it, sizeof(IterNum))) {
    detail::fail(rc, bad);
    return nullptr;
  }
  return reinterpret_cast<IterNum*>(it);
}

uint64_t iter_num_new(uint64_t it, uint64_t start64, uint64_t end64, uint64_t, uint64_t) {
  IterNum* s = iter_arg(it, "bpf_iter_num_new: iterator outside writable program memory or misaligned");
  if (!s) return 0;
  const auto start = static_cast<int32_t>(start64), end = static_cast<int32_t>(end64);
  *s = {0, 0};
  if (start > end) return detail::errno_result(-EINVAL);
  if (int64_t{end} - start > kMaxLoops) return detail::errno_result(-E2BIG);
  s->cur = static_cast<int32_t>(static_cast<uint32_t>(start) - 1u);  // wraps, as the kernel's
  s->end = end;
  return 0;
}

uint64_t iter_num_next(uint64_t it, uint64_t, uint64_t, uint64_t, uint64_t) {
  IterNum* s = iter_arg(it, "bpf_iter_num_next: iterator outside writable program memory or misaligned");
  if (!s) return 0;
  if (int64_t{s->cur} + 1 >= s->end) {  // done, or never initialised (zeroed)
    *s = {0, 0};
    return 0;
  }
  ++s->cur;
  return it;  // &cur
}

uint64_t iter_num_destroy(uint64_t it, uint64_t, uint64_t, uint64_t, uint64_t) {
  IterNum* s = iter_arg(it, "bpf_iter_num_destroy: iterator outside writable program memory or misaligned");
  if (s) *s = {0, 0};
  return 0;
}

struct GraphKfunc {
  const char* name;
  exec::HelperFn fn;
};
constexpr std::array<GraphKfunc, 16> kGraphKfuncs = {{
    {"bpf_obj_new_impl", obj_new},
    {"bpf_obj_drop_impl", obj_drop},
    {"bpf_refcount_acquire_impl", refcount_acquire},
    {"bpf_list_push_front_impl", list_push_front},
    {"bpf_list_push_back_impl", list_push_back},
    {"bpf_list_pop_front", list_pop_front},
    {"bpf_list_pop_back", list_pop_back},
    {"bpf_list_front", list_front},
    {"bpf_list_back", list_back},
    {"bpf_list_empty", list_empty},
    {"bpf_rbtree_add_impl", rbtree_add},
    {"bpf_rbtree_first", rbtree_first},
    {"bpf_rbtree_remove", rbtree_remove},
    {"bpf_rbtree_root", rbtree_root},
    {"bpf_rbtree_left", rbtree_left},
    {"bpf_rbtree_right", rbtree_right},
}};

}  // namespace

bool is_graph_kfunc(std::string_view name) {
  for (const GraphKfunc& k : kGraphKfuncs)
    if (name == k.name) return true;
  return false;
}

void add_graph_kfuncs(exec::HelperRegistry& registry) {
  for (const GraphKfunc& k : kGraphKfuncs) registry.add_kfunc(k.name, k.fn);
  registry.add_kfunc("bpf_iter_num_new", iter_num_new);
  registry.add_kfunc("bpf_iter_num_next", iter_num_next);
  registry.add_kfunc("bpf_iter_num_destroy", iter_num_destroy);
  registry.add_helper(helper_id::kKptrXchg, "bpf_kptr_xchg", kptr_xchg);
}

}  // namespace bpfq::runtime
