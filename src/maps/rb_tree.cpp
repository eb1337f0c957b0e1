#include "rb_tree.hpp"

namespace bpfq::maps::detail {

RbNode* RbTree::next(const RbNode* node) {
  if (node->child[1] != nullptr) {
    RbNode* next = node->child[1];
    while (next->child[0] != nullptr) next = next->child[0];
    return next;
  }
  RbNode* up = parent(node);
  while (up != nullptr && up->child[1] == node) {
    node = up;
    up = parent(up);
  }
  return up;
}

void RbTree::replace_child(RbNode* parent, RbNode* old_child, RbNode* new_child) noexcept {
  if (parent == nullptr) {
    root_ = new_child;
  } else {
    parent->child[parent->child[1] == old_child] = new_child;
  }
}

// Rotates `node` down towards `direction` (0: left rotation); its other child takes its place.
void RbTree::rotate(RbNode* node, int direction) noexcept {
  RbNode* riser = node->child[1 - direction];
  RbNode* inner = riser->child[direction];
  node->child[1 - direction] = inner;
  if (inner != nullptr) set_parent(inner, node);
  RbNode* up = parent(node);
  set_parent(riser, up);
  replace_child(up, node, riser);
  riser->child[direction] = node;
  set_parent(node, riser);
}

void RbTree::insert_at(RbNode* node, RbNode* parent, int side) noexcept {
  node->child[0] = node->child[1] = nullptr;
  node->parent_colour = reinterpret_cast<uintptr_t>(parent);  // red
  if (parent == nullptr) {
    root_ = leftmost_ = node;
    set_black(node);
    return;
  }
  parent->child[side] = node;
  // parent == leftmost_ first: it is rarely true, where side is a coin toss the CPU would
  // mispredict half the time.
  if (parent == leftmost_ && side == 0) leftmost_ = node;
  rebalance_after_insert(node);
}

void RbTree::rebalance_after_insert(RbNode* node) noexcept {
  for (;;) {
    RbNode* up = parent(node);
    if (up == nullptr) {
      set_black(node);
      return;
    }
    if (is_black(up)) return;
    RbNode* grand = parent(up);  // exists: a red node is never the root
    const int up_side = grand->child[1] == up;
    RbNode* uncle = grand->child[1 - up_side];
    if (is_red(uncle)) {  // push the red up and retry two levels higher
      set_black(up);
      set_black(uncle);
      set_red(grand);
      node = grand;
      continue;
    }
    if (up->child[1 - up_side] == node) {  // inner grandchild: make it an outer one
      rotate(up, up_side);
      node = up;
      up = parent(node);
    }
    set_black(up);
    set_red(grand);
    rotate(grand, 1 - up_side);
    return;
  }
}

void RbTree::erase(RbNode* node) noexcept {
  if (node == leftmost_) leftmost_ = next(node);
  RbNode* moved;         // the node that takes the removed slot (may be null)
  RbNode* moved_parent;  // its parent afterwards
  bool removed_black;
  if (node->child[0] == nullptr || node->child[1] == nullptr) {
    moved = node->child[node->child[0] == nullptr];
    moved_parent = parent(node);
    removed_black = is_black(node);
    replace_child(moved_parent, node, moved);
    if (moved != nullptr) set_parent(moved, moved_parent);
  } else {
    // Two children: the successor (leftmost of the right subtree) takes node's place and colour.
    RbNode* successor = node->child[1];
    while (successor->child[0] != nullptr) successor = successor->child[0];
    moved = successor->child[1];
    removed_black = is_black(successor);
    if (parent(successor) == node) {
      moved_parent = successor;
    } else {
      moved_parent = parent(successor);
      moved_parent->child[0] = moved;
      if (moved != nullptr) set_parent(moved, moved_parent);
      successor->child[1] = node->child[1];
      set_parent(successor->child[1], successor);
    }
    successor->child[0] = node->child[0];
    set_parent(successor->child[0], successor);
    replace_child(parent(node), node, successor);
    successor->parent_colour = node->parent_colour;
  }
  if (removed_black) rebalance_after_erase(moved, moved_parent);
}

// `node` (possibly null) carries an extra black; move it up or absorb it by rotation.
void RbTree::rebalance_after_erase(RbNode* node, RbNode* up) noexcept {
  while (node != root_ && is_black(node)) {
    const int side = up->child[1] == node;  // the sibling exists: this side lacks a black
    RbNode* sibling = up->child[1 - side];
    if (is_red(sibling)) {
      set_black(sibling);
      set_red(up);
      rotate(up, side);
      sibling = up->child[1 - side];
    }
    if (is_black(sibling->child[0]) && is_black(sibling->child[1])) {
      set_red(sibling);
      node = up;
      up = parent(node);
      continue;
    }
    if (is_black(sibling->child[1 - side])) {
      set_black(sibling->child[side]);
      set_red(sibling);
      rotate(sibling, 1 - side);
      sibling = up->child[1 - side];
    }
    copy_colour(sibling, up);
    set_black(up);
    set_black(sibling->child[1 - side]);
    rotate(up, side);
    node = root_;
    break;
  }
  if (node != nullptr) set_black(node);
}

}  // namespace bpfq::maps::detail
