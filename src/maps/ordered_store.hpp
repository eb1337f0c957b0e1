#pragma once
// Keyed elements in key order, for RBTREE and RBTREE_OF_MAPS: a B+ tree.
//
// Elements come from a NodePool, laid out [key, padded to 8][value], and never move: a value's
// address is stable while its element exists, as programs expect of map values. The tree itself
// holds only element pointers, beside each key in the order's slot form (an integer for keys of
// up to 16 bytes, see key_order.hpp), in wide nodes: a descent reads a few nodes of contiguous
// keys where a binary tree chases one pointer per level, and an insert or removal moves slots
// within one leaf, rebalancing only when a node fills or falls under a quarter full.
//
// Leaves are linked left to right. Merges always free the right node of a pair, so the leftmost
// leaf lives as long as the store: the minimum (pop, peek) is its first slot.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

#include <bpfq/maps/map.hpp>

#include "key_order.hpp"
#include "map_factories.hpp"
#include "node_pool.hpp"

namespace bpfq::maps::detail {

struct Element;  // an element's memory in the pool: [key, padded to 8][value]

template <class Order, uint32_t kLeafSlots = 32, uint32_t kInnerSlots = 64>
class OrderedStore {
  static_assert(kLeafSlots >= 8 && kLeafSlots % 4 == 0 && kInnerSlots >= 8 && kInnerSlots % 4 == 0);
  // A non-root node is rebalanced when under a quarter full, not half: a queue that drains its
  // leftmost leaf then merges that leaf with its neighbour and pops a few dozen times before the
  // next rebalance, where a half-full rule would even out two leaves every few pops.
  static constexpr uint32_t kMinLeafCount = kLeafSlots / 4;
  static constexpr uint32_t kMinChildren = kInnerSlots / 4;
  using Probe = typename Order::Probe;

  // A leaf is followed by kLeafSlots entries, each a key slot (padded to 8) and an Element*. Its
  // entries occupy [begin, begin + count): removing the minimum (a pop) advances begin instead
  // of moving the rest, and an insertion moves the shorter side.
  struct Leaf {
    uint32_t count;
    uint32_t begin;
    Leaf* next;
  };
  struct Inner {
    uint32_t count;                  // children; keys: count - 1 separators
    void* children[kInnerSlots];     // child i holds keys in [key i-1, key i)
  };
  // An inner node is followed by kInnerSlots - 1 key slots, Order::stride() bytes each.

  // Inner levels a tree of 2^32 elements can reach: non-root leaves hold kMinLeafCount or more,
  // the root has two children or more, other inner nodes kMinChildren or more.
  static constexpr uint32_t max_height() {
    const double leaves = 4294967296.0 / kMinLeafCount + 1;
    uint32_t height = 0;
    for (double fewest = 2; fewest <= leaves; fewest *= kMinChildren) ++height;
    return height + 1;
  }

 public:
  static constexpr uint32_t kMaxHeight = max_height();

  // Where a key is, or where it would go, with the inner nodes above (root first).
  struct Position {
    Element* found;  // the element holding the key; nullptr if absent
    Leaf* leaf;
    uint32_t index;  // of the key in leaf, or of the slot a new key takes
    struct Step {
      Inner* node;
      uint32_t index;  // of the child taken
    } path[kMaxHeight];
  };

  OrderedStore(Order order, uint32_t key_size, uint32_t value_bytes, uint32_t max_entries)
      : order_(order),
        value_offset_((key_size + size_t{7}) & ~size_t{7}),
        elements_(cache_friendly(value_offset_ + value_bytes), max_entries),
        leaves_(sizeof(Leaf) + kLeafSlots * entry_bytes(), node_capacity(max_entries)),
        inners_(sizeof(Inner) + (kInnerSlots - 1) * stride(), node_capacity(max_entries)),
        rising_(std::make_unique<char[]>((kMaxHeight + 1) * order_.stride())) {
    start_empty();
  }

  Position locate(const void* key) const {
    Position position;
    const Probe probe = order_.probe(key);
    void* node = root_;
    for (uint32_t level = 0; level < height_; ++level) {
      auto* inner = static_cast<Inner*>(node);
      const uint32_t index = rank<true>(inner_key(inner, 0), inner->count - 1, stride(), probe);
      position.path[level] = {inner, index};
      node = inner->children[index];
    }
    auto* leaf = static_cast<Leaf*>(node);
    const uint32_t index = rank<false>(leaf_key(leaf, 0), leaf->count, entry_bytes(), probe);
    position.leaf = leaf;
    position.index = index;
    const bool found = index < leaf->count && order_.compare(probe, leaf_key(leaf, index)) == 0;
    position.found = found ? element_at(leaf, index) : nullptr;
    return position;
  }
  Element* find(const void* key) const { return locate(key).found; }

  // The minimum's position (found == nullptr when the store is empty).
  Position first_position() const {
    Position position;
    void* node = root_;
    for (uint32_t level = 0; level < height_; ++level) {
      auto* inner = static_cast<Inner*>(node);
      position.path[level] = {inner, 0};
      node = inner->children[0];
    }
    position.leaf = leftmost_;
    position.index = 0;
    position.found = first();
    return position;
  }
  Element* first() const { return leftmost_->count != 0 ? element_at(leftmost_, 0) : nullptr; }

  // Adds an element for key where locate() found it absent; its value is uninitialised. The
  // position is spent. nullptr when out of memory, with nothing changed.
  Element* insert_at(Position& position, const void* key) noexcept {
    auto* element = static_cast<Element*>(elements_.allocate());
    if (element == nullptr) return nullptr;
    order_.copy_key(key_of(element), key);
    const Probe probe = order_.probe(key);
    if (position.leaf->count < kLeafSlots) {
      insert_in_leaf(position.leaf, position.index, element, probe);
    } else if (!split_and_insert(position, element, probe)) {
      elements_.release(element);
      return nullptr;
    }
    ++version_;
    return element;
  }

  // Removes the element at a position locate() or first_position() found; the caller has dealt
  // with its value. The position is spent.
  void remove_at(Position& position) noexcept {
    Leaf* leaf = position.leaf;
    Element* element = element_at(leaf, position.index);
    erase_from_leaf(leaf, position.index);
    elements_.release(element);
    ++version_;
    if (height_ != 0 && leaf->count < kMinLeafCount) rebalance(position);
  }

  // get_next_key in key order: the first key for key == nullptr; -ENOENT for an absent key and
  // after the last one.
  int next_key(const void* key, void* next_key) const {
    Element* next = first();
    if (key != nullptr) {
      const Position position = locate(key);
      if (position.found == nullptr) return -ENOENT;
      next = element_after(position.leaf, position.index + 1);
    }
    if (next == nullptr) return -ENOENT;
    order_.copy_key(next_key, key_of(next));
    return 0;
  }

  // for_each in key order: visit(element) returns non-zero to stop, and may change the store
  // (a program deleting the element it visits, say): the walk then resumes after the visited key.
  // Returns the number of elements visited, the stopping one included.
  template <class Visit>
  long for_each_element(Visit visit) {
    char visited_key[kMaxKeySize];  // create_map bounds key_size; program runs never allocate
    long visited = 0;
    Leaf* leaf = leftmost_;
    uint32_t index = 0;
    for (;;) {
      if (index == leaf->count) {
        leaf = leaf->next;  // non-root leaves are never empty
        index = 0;
        if (leaf == nullptr) break;
      }
      Element* element = element_at(leaf, index);
      order_.copy_key(visited_key, key_of(element));
      const uint64_t version = version_;
      ++visited;
      if (visit(element) != 0) break;
      if (version_ == version) {
        ++index;
      } else {
        const Position position = locate(visited_key);
        leaf = position.leaf;
        index = position.index + (position.found != nullptr ? 1 : 0);
      }
    }
    return visited;
  }

  // Every element in key order, for a store that does not change meanwhile.
  template <class Visit>
  void each(Visit visit) const {
    for (const Leaf* leaf = leftmost_; leaf != nullptr; leaf = leaf->next) {
      for (uint32_t i = 0; i < leaf->count; ++i) visit(element_at(leaf, i));
    }
  }

  void* key_of(const Element* element) const {
    return const_cast<char*>(reinterpret_cast<const char*>(element));
  }
  void* value_of(const Element* element) const {
    return const_cast<char*>(reinterpret_cast<const char*>(element)) + value_offset_;
  }
  void copy_key_out(void* to, const Element* element) const { order_.copy_key(to, key_of(element)); }
  uint32_t height() const { return height_; }

  // Forgets every element (the caller has dealt with the values).
  void reset() noexcept {
    elements_.reset();
    leaves_.reset();
    inners_.reset();
    start_empty();
  }

  // The structure's invariants, for tests: "" when they hold, else the first broken one.
  std::string check() const {
    std::string problem;
    const Leaf* expected_leaf = leftmost_;
    check_node(root_, 0, nullptr, nullptr, expected_leaf, problem);
    if (problem.empty() && expected_leaf != nullptr) problem = "leaf chain longer than the tree";
    return problem;
  }

 private:
  // Enough nodes for max_entries: non-root leaves hold kMinLeafCount elements or more, and a tree
  // has fewer inner nodes than leaves.
  static uint64_t node_capacity(uint32_t max_entries) { return uint64_t{max_entries} / kMinLeafCount + 2; }
  // Elements of up to 64 bytes take a power-of-two size, so with the pool's 64-byte alignment
  // none straddles two cache lines.
  static size_t cache_friendly(size_t size) {
    size_t rounded = 8;
    while (rounded < size && rounded < 64) rounded *= 2;
    return size <= 64 ? rounded : size;
  }

  void start_empty() noexcept {
    auto* leaf = static_cast<Leaf*>(leaves_.allocate());  // the first chunk exists: never nullptr
    leaf->count = 0;
    leaf->begin = 0;
    leaf->next = nullptr;
    root_ = leftmost_ = leaf;
    height_ = 0;
    ++version_;
  }

  size_t stride() const { return order_.stride(); }
  size_t key_bytes() const { return (stride() + 7) & ~size_t{7}; }
  size_t entry_bytes() const { return key_bytes() + sizeof(Element*); }
  // Entry i of a leaf counts from its begin; its key slot comes first.
  char* leaf_key(const Leaf* leaf, uint32_t i) const {
    return const_cast<char*>(reinterpret_cast<const char*>(leaf + 1)) + (leaf->begin + i) * entry_bytes();
  }
  Element* element_at(const Leaf* leaf, uint32_t i) const {
    Element* element;
    std::memcpy(&element, leaf_key(leaf, i) + key_bytes(), sizeof element);
    return element;
  }
  void set_entry(Leaf* leaf, uint32_t i, Element* element, const Probe& probe) const {
    order_.store(leaf_key(leaf, i), probe);
    std::memcpy(leaf_key(leaf, i) + key_bytes(), &element, sizeof element);
  }
  char* inner_key(const Inner* inner, uint32_t i) const {
    return const_cast<char*>(reinterpret_cast<const char*>(inner + 1)) + i * stride();
  }

  // How many of count slots hold keys below the probe (kInclusive: at or below). The halving
  // takes a conditional move, not a branch: a binary search's branches are coin tosses the CPU
  // would mispredict; the loop's trip count depends only on count.
  template <bool kInclusive>
  uint32_t rank(const char* slots, uint32_t count, size_t step, const Probe& probe) const {
    if (count == 0) return 0;
    const char* base = slots;
    while (count > 1) {
      const uint32_t half = count / 2;
      const char* middle = base + half * step;
      base = order_.template slot_before<kInclusive>(middle, probe) ? middle : base;
      count -= half;
    }
    const auto below = static_cast<uint32_t>((base - slots) / step);
    return below + (order_.template slot_before<kInclusive>(base, probe) ? 1 : 0);
  }

  Element* element_after(const Leaf* leaf, uint32_t index) const {
    if (index < leaf->count) return element_at(leaf, index);
    leaf = leaf->next;
    return leaf != nullptr ? element_at(leaf, 0) : nullptr;
  }

  // ---- slot moves within and between nodes ----

  // Entry indices count from each leaf's begin; the caller keeps them within the leaf.
  void move_leaf_slots(Leaf* to, uint32_t to_index, const Leaf* from, uint32_t from_index, uint32_t n) const {
    if (n == 0) return;  // a pop or an append: no call
    std::memmove(leaf_key(to, to_index), leaf_key(from, from_index), n * entry_bytes());
  }
  // Moves a leaf's entries to its start, for the rare operations that fill or drain it in bulk.
  void compact(Leaf* leaf) const {
    if (leaf->begin == 0) return;
    const uint32_t begin = leaf->begin;
    leaf->begin = 0;
    std::memmove(leaf_key(leaf, 0), leaf_key(leaf, begin), leaf->count * entry_bytes());
  }
  void move_inner_keys(Inner* to, uint32_t to_index, const Inner* from, uint32_t from_index, uint32_t n) const {
    std::memmove(inner_key(to, to_index), inner_key(from, from_index), n * stride());
  }
  static void move_children(Inner* to, uint32_t to_index, const Inner* from, uint32_t from_index, uint32_t n) {
    std::memmove(&to->children[to_index], &from->children[from_index], n * sizeof(void*));
  }
  void copy_key(char* to, const char* from) const { std::memcpy(to, from, stride()); }

  // Into a leaf that is not full: the entries before index move down into the free space at
  // the start when they are fewer, else those after it move up (after compacting if the end
  // is reached: an ascending sequence of inserts then moves nothing until the leaf fills).
  void insert_in_leaf(Leaf* leaf, uint32_t index, Element* element, const Probe& probe) const {
    const uint32_t after = leaf->count - index;
    if (leaf->begin > 0 && index < after) {
      --leaf->begin;
      move_leaf_slots(leaf, 0, leaf, 1, index);
    } else {
      if (leaf->begin + leaf->count == kLeafSlots) compact(leaf);
      move_leaf_slots(leaf, index + 1, leaf, index, after);
    }
    set_entry(leaf, index, element, probe);
    ++leaf->count;
  }
  // The shorter side closes the gap; removing the first entry moves nothing.
  void erase_from_leaf(Leaf* leaf, uint32_t index) const {
    const uint32_t after = leaf->count - index - 1;
    if (index < after) {
      move_leaf_slots(leaf, 1, leaf, 0, index);
      ++leaf->begin;
    } else {
      move_leaf_slots(leaf, index, leaf, index + 1, after);
    }
    if (--leaf->count == 0) leaf->begin = 0;
  }
  // Adds child after children[index], separated from it by separator.
  void insert_in_inner(Inner* inner, uint32_t index, const char* separator, void* child) const {
    move_inner_keys(inner, index + 1, inner, index, inner->count - 1 - index);
    copy_key(inner_key(inner, index), separator);
    move_children(inner, index + 2, inner, index + 1, inner->count - 1 - index);
    inner->children[index + 1] = child;
    ++inner->count;
  }
  // Drops children[index + 1] and the separator before it.
  void erase_from_inner(Inner* inner, uint32_t index) const {
    move_inner_keys(inner, index, inner, index + 1, inner->count - 2 - index);
    move_children(inner, index + 1, inner, index + 2, inner->count - 2 - index);
    --inner->count;
  }

  // ---- insertion into a full leaf ----

  // Splits the full leaf (and every full inner node above it) to add element. Allocates every
  // node it needs before changing anything, so running out of memory leaves the tree as it was.
  bool split_and_insert(Position& position, Element* element, const Probe& probe) noexcept {
    uint32_t full_levels = 0;
    while (full_levels < height_ && position.path[height_ - 1 - full_levels].node->count == kInnerSlots) {
      ++full_levels;
    }
    const uint32_t inners_needed = full_levels + (full_levels == height_ ? 1 : 0);  // + a new root
    Inner* spare[kMaxHeight + 1];
    uint32_t spares = 0;
    auto* right = static_cast<Leaf*>(leaves_.allocate());
    while (right != nullptr && spares < inners_needed) {
      spare[spares] = static_cast<Inner*>(inners_.allocate());
      if (spare[spares] == nullptr) break;
      ++spares;
    }
    if (right == nullptr || spares < inners_needed) {
      while (spares > 0) inners_.release(spare[--spares]);
      if (right != nullptr) leaves_.release(right);
      return false;
    }

    split_leaf(position.leaf, position.index, element, probe, right);
    const char* separator = leaf_key(right, 0);
    void* child = right;
    for (uint32_t level = height_; level-- > 0;) {
      const auto& step = position.path[level];
      if (step.node->count < kInnerSlots) {
        insert_in_inner(step.node, step.index, separator, child);
        return true;
      }
      Inner* sibling = spare[--spares];
      separator = split_inner(step.node, step.index, separator, child, sibling, rising_.get() + level * stride());
      child = sibling;
    }
    Inner* root = spare[--spares];  // the old root split: a new one above it
    root->count = 2;
    root->children[0] = root_;
    root->children[1] = child;
    copy_key(inner_key(root, 0), separator);
    root_ = root;
    ++height_;
    return true;
  }

  // The full leaf's slots plus the new one at index, split in two halves: the upper half goes to
  // the empty leaf right, linked after it.
  void split_leaf(Leaf* leaf, uint32_t index, Element* element, const Probe& probe, Leaf* right) const {
    constexpr uint32_t kLeft = (kLeafSlots + 1) / 2;
    right->begin = 0;  // leaf, being full, starts at 0 too
    if (index >= kLeft) {  // the new slot goes right
      const uint32_t before = index - kLeft;
      move_leaf_slots(right, 0, leaf, kLeft, before);
      set_entry(right, before, element, probe);
      move_leaf_slots(right, before + 1, leaf, index, kLeafSlots - index);
    } else {
      move_leaf_slots(right, 0, leaf, kLeft - 1, kLeafSlots - kLeft + 1);
      move_leaf_slots(leaf, index + 1, leaf, index, kLeft - 1 - index);
      set_entry(leaf, index, element, probe);
    }
    leaf->count = kLeft;
    right->count = kLeafSlots + 1 - kLeft;
    right->next = leaf->next;
    leaf->next = right;
  }

  // The full inner node's children plus child after children[index] (separated by separator),
  // split in two: the upper half goes to the empty node right, and the key between the halves
  // rises to the parent. Returns that key, copied to rising (the level's own slot, so never where
  // separator, which rose from the level below, lives).
  const char* split_inner(Inner* inner, uint32_t index, const char* separator, void* child, Inner* right,
                          char* rising) const {
    constexpr uint32_t kLeft = (kInnerSlots + 1) / 2;  // children kept; keys kept: kLeft - 1
    // The combined sequence: children C[0..kInnerSlots], keys K[0..kInnerSlots-1], where
    // C[index+1] = child and K[index] = separator.
    const uint32_t new_child = index + 1;
    auto child_at = [&](uint32_t j) {
      return j < new_child ? inner->children[j] : j == new_child ? child : inner->children[j - 1];
    };
    auto key_at = [&](uint32_t j) {
      return j < index ? inner_key(inner, j) : j == index ? separator : inner_key(inner, j - 1);
    };

    copy_key(rising, key_at(kLeft - 1));
    for (uint32_t j = kLeft; j <= kInnerSlots; ++j) right->children[j - kLeft] = child_at(j);
    for (uint32_t j = kLeft; j < kInnerSlots; ++j) copy_key(inner_key(right, j - kLeft), key_at(j));
    if (new_child < kLeft) {  // the new child stays left: shift the kept tail up by one
      move_children(inner, new_child + 1, inner, new_child, kLeft - 1 - new_child);
      inner->children[new_child] = child;
      move_inner_keys(inner, index + 1, inner, index, kLeft - 2 - index);
      copy_key(inner_key(inner, index), separator);
    }
    inner->count = kLeft;
    right->count = kInnerSlots + 1 - kLeft;
    return rising;
  }

  // ---- removal from a leaf that fell under a quarter full ----

  // Merges the underfull leaf with a sibling, or evens the two out when they would not fit in
  // one node, then does the same for each inner node a merge left under a quarter full, and drops a
  // root left with a single child.
  void rebalance(Position& position) noexcept {
    for (uint32_t level = height_; level-- > 0;) {
      const auto& step = position.path[level];
      Inner* parent = step.node;
      const uint32_t left = step.index + 1 < parent->count ? step.index : step.index - 1;
      char* separator = inner_key(parent, left);
      bool merged;
      if (level + 1 == height_) {
        merged = merge_or_balance(static_cast<Leaf*>(parent->children[left]),
                                  static_cast<Leaf*>(parent->children[left + 1]), separator);
      } else {
        merged = merge_or_balance(static_cast<Inner*>(parent->children[left]),
                                  static_cast<Inner*>(parent->children[left + 1]), separator);
      }
      if (!merged) return;
      erase_from_inner(parent, left);
      if (level == 0) {
        if (parent->count == 1) {  // the root has one child left: it becomes the root
          root_ = parent->children[0];
          inners_.release(parent);
          --height_;
        }
        return;
      }
      if (parent->count >= kMinChildren) return;
    }
  }

  // Leaves: merges right into left (true), or evens them out and updates the separator.
  bool merge_or_balance(Leaf* left, Leaf* right, char* separator) noexcept {
    compact(left);
    compact(right);
    const uint32_t total = left->count + right->count;
    if (total <= kLeafSlots) {
      move_leaf_slots(left, left->count, right, 0, right->count);
      left->count = total;
      left->next = right->next;
      leaves_.release(right);
      return true;
    }
    const uint32_t target = total / 2;
    if (left->count < target) {
      const uint32_t n = target - left->count;
      move_leaf_slots(left, left->count, right, 0, n);
      move_leaf_slots(right, 0, right, n, right->count - n);
    } else {
      const uint32_t n = left->count - target;
      move_leaf_slots(right, n, right, 0, right->count);
      move_leaf_slots(right, 0, left, target, n);
    }
    left->count = target;
    right->count = total - target;
    copy_key(separator, leaf_key(right, 0));
    return false;
  }

  // Inner nodes: as for leaves, with the parent's separator coming down between the two.
  bool merge_or_balance(Inner* left, Inner* right, char* separator) noexcept {
    const uint32_t total = left->count + right->count;
    if (total <= kInnerSlots) {
      copy_key(inner_key(left, left->count - 1), separator);
      move_inner_keys(left, left->count, right, 0, right->count - 1);
      move_children(left, left->count, right, 0, right->count);
      left->count = total;
      inners_.release(right);
      return true;
    }
    const uint32_t target = total / 2;
    if (left->count < target) {  // the separator comes down left, right's key n-1 goes up
      const uint32_t n = target - left->count;
      copy_key(inner_key(left, left->count - 1), separator);
      move_inner_keys(left, left->count, right, 0, n - 1);
      move_children(left, left->count, right, 0, n);
      copy_key(separator, inner_key(right, n - 1));
      move_inner_keys(right, 0, right, n, right->count - 1 - n);
      move_children(right, 0, right, n, right->count - n);
    } else {  // the separator comes down right, left's key target-1 goes up
      const uint32_t n = left->count - target;
      move_inner_keys(right, n, right, 0, right->count - 1);
      move_children(right, n, right, 0, right->count);
      copy_key(inner_key(right, n - 1), separator);
      move_inner_keys(right, 0, left, target, n - 1);
      move_children(right, 0, left, target, n);
      copy_key(separator, inner_key(left, target - 1));
    }
    left->count = target;
    right->count = total - target;
    return false;
  }

  // ---- invariants (tests) ----

  // Checks the subtree at node, whose keys must lie in [low, high) (nullptr: unbounded).
  void check_node(const void* node, uint32_t level, const char* low, const char* high, const Leaf*& next_leaf,
                  std::string& problem) const {
    if (!problem.empty()) return;
    auto in_range = [&](const char* slot) {
      return (low == nullptr || compare_slots(low, slot) <= 0) &&
             (high == nullptr || compare_slots(slot, high) < 0);
    };
    const bool root = level == 0;
    if (level == height_) {
      const auto* leaf = static_cast<const Leaf*>(node);
      if (leaf != next_leaf) problem = "leaf chain out of order";
      else if (!root && leaf->count < kMinLeafCount) problem = "leaf under a quarter full";
      else if (leaf->begin + leaf->count > kLeafSlots) problem = "leaf overfull";
      next_leaf = leaf->next;
      for (uint32_t i = 0; problem.empty() && i < leaf->count; ++i) {
        if (!in_range(leaf_key(leaf, i))) problem = "leaf key outside its separators";
        else if (i > 0 && compare_slots(leaf_key(leaf, i - 1), leaf_key(leaf, i)) >= 0)
          problem = "leaf keys out of order";
        else if (order_.compare(order_.probe(key_of(element_at(leaf, i))), leaf_key(leaf, i)) != 0)
          problem = "slot differs from element key";
      }
      return;
    }
    const auto* inner = static_cast<const Inner*>(node);
    if (inner->count < (root ? 2u : kMinChildren)) problem = "inner node under a quarter full";
    if (inner->count > kInnerSlots) problem = "inner node overfull";
    for (uint32_t i = 0; problem.empty() && i + 1 < inner->count; ++i) {
      if (!in_range(inner_key(inner, i))) problem = "separator outside its parent's range";
      else if (i > 0 && compare_slots(inner_key(inner, i - 1), inner_key(inner, i)) >= 0)
        problem = "separators out of order";
    }
    for (uint32_t i = 0; problem.empty() && i < inner->count; ++i) {
      check_node(inner->children[i], level + 1, i == 0 ? low : inner_key(inner, i - 1),
                 i + 1 == inner->count ? high : inner_key(inner, i), next_leaf, problem);
    }
  }
  // Slots compare as the probes they were stored from.
  int compare_slots(const char* a, const char* b) const {
    Probe probe;
    if constexpr (std::is_pointer_v<Probe>) {
      probe = a;
    } else {
      std::memcpy(&probe, a, sizeof probe);
    }
    return order_.compare(probe, b);
  }

  Order order_;
  size_t value_offset_;
  NodePool elements_;
  NodePool leaves_;
  NodePool inners_;
  void* root_ = nullptr;
  Leaf* leftmost_ = nullptr;
  uint32_t height_ = 0;
  uint64_t version_ = 0;                // changes with every insert and removal (for_each_element)
  std::unique_ptr<char[]> rising_;      // a key slot per level for keys rising through splits
};

// Instantiates MapClass<Order> with the fastest order for the spec's key size.
template <template <class> class MapClass>
std::shared_ptr<Map> make_ordered_map(const MapSpec& spec) {
  const uint32_t size = spec.key_size;
  if (size <= 4) return std::make_shared<MapClass<IntegerOrder<uint32_t>>>(spec, IntegerOrder<uint32_t>{size});
  if (size <= 8) return std::make_shared<MapClass<IntegerOrder<uint64_t>>>(spec, IntegerOrder<uint64_t>{size});
  if (size <= 16) {
    return std::make_shared<MapClass<IntegerOrder<unsigned __int128>>>(spec, IntegerOrder<unsigned __int128>{size});
  }
  return std::make_shared<MapClass<BytewiseOrder>>(spec, BytewiseOrder{size});
}

}  // namespace bpfq::maps::detail
