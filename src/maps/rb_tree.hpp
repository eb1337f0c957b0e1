#pragma once
// An intrusive red-black tree over caller-owned nodes. It knows nothing of keys: callers descend
// with locate() and a three-way comparison, then link a node at the position it reports. The
// leftmost node is cached, so the minimum (pop-min, peek) is found in O(1).
#include <cstdint>

namespace bpfq::maps::detail {

struct RbNode {
  RbNode* child[2];         // [0] left (smaller keys), [1] right
  uintptr_t parent_colour;  // parent pointer; low bit set when the node is black
};

class RbTree {
 public:
  // Where a key sits: the node holding it, or else the parent and side a new node would take.
  struct Position {
    RbNode* found;
    RbNode* parent;
    int side;
  };

  bool empty() const { return root_ == nullptr; }
  RbNode* root() const { return root_; }
  RbNode* first() const { return leftmost_; }
  static RbNode* next(const RbNode* node);

  // compare(node) < 0 when the sought key sorts before node's key, 0 when equal, > 0 after.
  template <class Compare>
  Position locate(Compare&& compare) const {
    RbNode* parent = nullptr;
    int side = 0;
    RbNode* node = root_;
    // Branches, not a computed child index: the CPU then speculates down the likelier side
    // and overlaps the next level's loads, where a branch-free descent waits for each compare.
    while (node != nullptr) {
      // Start fetching both children while this node's key is compared: in a tree larger
      // than the cache, that hides most of the next level's miss.
      __builtin_prefetch(node->child[0]);
      __builtin_prefetch(node->child[1]);
      const int order = compare(node);
      parent = node;
      if (order < 0) {
        side = 0;
        node = node->child[0];
      } else if (order > 0) {
        side = 1;
        node = node->child[1];
      } else {
        return {node, nullptr, 0};
      }
    }
    return {nullptr, parent, side};
  }

  // Links a node at a position locate() returned (found == nullptr) and rebalances.
  void insert_at(RbNode* node, RbNode* parent, int side) noexcept;
  // Unlinks a node and rebalances.
  void erase(RbNode* node) noexcept;
  // Forgets every node.
  void reset() noexcept { root_ = leftmost_ = nullptr; }

  static RbNode* parent(const RbNode* node) {
    return reinterpret_cast<RbNode*>(node->parent_colour & ~uintptr_t{1});
  }
  static bool is_black(const RbNode* node) { return node == nullptr || (node->parent_colour & 1) != 0; }
  static bool is_red(const RbNode* node) { return !is_black(node); }

 private:
  static void set_parent(RbNode* node, RbNode* parent) {
    node->parent_colour = reinterpret_cast<uintptr_t>(parent) | (node->parent_colour & 1);
  }
  static void set_black(RbNode* node) { node->parent_colour |= 1; }
  static void set_red(RbNode* node) { node->parent_colour &= ~uintptr_t{1}; }
  static void copy_colour(RbNode* to, const RbNode* from) {
    to->parent_colour = (to->parent_colour & ~uintptr_t{1}) | (from->parent_colour & 1);
  }

  void replace_child(RbNode* parent, RbNode* old_child, RbNode* new_child) noexcept;
  void rotate(RbNode* node, int direction) noexcept;
  void rebalance_after_insert(RbNode* node) noexcept;
  void rebalance_after_erase(RbNode* node, RbNode* parent) noexcept;

  RbNode* root_ = nullptr;
  RbNode* leftmost_ = nullptr;
};

}  // namespace bpfq::maps::detail
