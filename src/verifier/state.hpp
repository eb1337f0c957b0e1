#pragma once
// The verifier's abstract state: what is known about every register and stack byte of every
// frame on one path, the packet references held, and how two states compare for pruning.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <bpfq/maps/map_spec.hpp>

#include "scalar.hpp"

namespace bpfq::verifier {

enum class RegType : uint8_t {
  NotInit,
  Scalar,
  Ctx,         // struct sch_bpf_ctx *
  Stack,       // a frame's stack: frame, offset from its r10
  MapPtr,      // a map (lddw map, or an inner map looked up in a map of maps)
  MapValue,    // a map's value
  PacketData,  // packet bytes: skb->data + offset
  PacketEnd,   // skb->data_end
  Skb,         // struct __sk_buff * (a packet)
  Func,        // a sub-program (callback)
  RingbufMem,  // memory reserved in a ring buffer
  // struct_ops programs (Linux's bpf qdisc):
  Kernel,      // a kernel struct of bpfq's kernel BTF (struct sk_buff, struct Qdisc, …): btf_id
  Object,      // a graph object from bpf_obj_new (the program's own struct btf_id): owning while
               // `ref` is held, else non-owning (valid until the lock is released)
  Mem,         // read-only bytes: a dynptr slice (of `ref`'s packet) or an iterator's number
};

const char* type_name(RegType t);

// (The one-byte fields come first: no padding between fields, 120 bytes. Registers and
// spilled registers make up most of the states the verifier stores.)
struct Reg {
  RegType type = RegType::NotInit;
  bool maybe_null = false;
  uint8_t frame = 0;    // Stack: the frame it points into
  bool sub32 = false;  // scalars: the zero-extended low half of the value its `id` links to
  bool untrusted = false; // Kernel: read from a field, not an argument: never written through
  bool non_owning = false;// Object: in a list or tree; usable only until bpf_spin_unlock
  uint32_t id = 0;      // pointers: null-check group, packet group; scalars: linked copies
  uint32_t ref = 0;     // Skb, RingbufMem: the reference; PacketData/End: the packet's reference
  int64_t off = 0;      // pointers: constant offset
  Scalar v = Scalar::constant(0);  // scalars: the value; pointers: variable offset
  uint32_t range = 0;   // PacketData: bytes from the group's base proven inside the packet
  uint32_t size = 0;    // RingbufMem: bytes; Func: target instruction
  const maps::MapSpec* map = nullptr;  // MapPtr, MapValue
  int32_t map_index = -1;              // MapPtr/MapValue of an object map (not inner): its index
  uint32_t btf_id = 0;    // Kernel: kernel BTF struct id; Object: the program's BTF struct id
  uint32_t origin = UINT32_MAX;        // maybe-NULL pointers: the call that returned them;
                                       // NotInit: the release that invalidated it
  bool is_pointer() const { return type != RegType::NotInit && type != RegType::Scalar; }
  bool operator==(const Reg&) const = default;
  static Reg scalar(const Scalar& s) {
    Reg r;
    r.type = RegType::Scalar;
    r.v = s;
    return r;
  }
};

enum class SlotByte : uint8_t { Invalid, Misc, Zero, Spill };

// Stack objects only kfuncs touch: a 16-byte struct bpf_dynptr (two slots) and an 8-byte
// struct bpf_iter_num.
enum class SlotObject : uint8_t { None, DynptrFirst, DynptrSecond, Iter };

struct StackSlot {  // 8 bytes at r10 - 8*(i+1)
  std::array<SlotByte, 8> bytes{};  // [0] = lowest address
  Reg spill;                        // when some bytes are Spill
  uint8_t spill_at = 0, spill_size = 0;
  SlotObject object = SlotObject::None;
  uint32_t object_ref = 0;   // dynptr: its packet's reference (0: borrowed); iterator: its own
  uint32_t iter_step = 0;    // iterator: which bpf_iter_num_next made this state (not compared)
  uint32_t dynptr_end = 0;   // 1 + the release that ended a dynptr here, for messages (not compared)
  bool operator==(const StackSlot&) const = default;
};

// A value shared by the states copied from one another until one of them writes it (copy on
// write). The verifier copies its state at every branch and stores one at every jump target,
// and most of a copy stays as it was: copying whole states made verification allocation-bound
// (and a fresh page of memory costs more than the analysis of an instruction). Reading never
// copies; mut() copies a value others share. A default Cow shares one T{} per type.
template <class T>
class Cow {
 public:
  Cow() : p_(empty()) {}
  explicit Cow(T v) : p_(std::make_shared<T>(std::move(v))) {}
  const T& operator*() const { return *p_; }
  const T* operator->() const { return p_.get(); }
  T& mut() {
    if (p_.use_count() > 1) p_ = std::make_shared<T>(*p_);  // (the shared T{} counts as shared)
    return *p_;
  }

 private:
  static const std::shared_ptr<T>& empty() {
    static const std::shared_ptr<T> e = std::make_shared<T>();
    return e;
  }
  std::shared_ptr<T> p_;
};

// A frame's stack slots, shared in chunks of two (Cow): a state's next stored state, or the
// other edge of a branch, writes a slot or two of it if any. Every write goes through mut() or
// resize().
class Stack {
 public:
  size_t size() const { return size_; }
  const StackSlot& operator[](size_t k) const { return (*(*chunks_)[k / kChunk])[k % kChunk]; }
  StackSlot& mut(size_t k) { return chunks_.mut()[k / kChunk].mut()[k % kChunk]; }
  // New slots are empty (StackSlot{}): so are the slots past size_ of the last chunk.
  void resize(size_t n) {
    if (n == size_) return;
    for (size_t k = n; k < size_ && k % kChunk != 0; ++k) mut(k) = StackSlot{};
    chunks_.mut().resize((n + kChunk - 1) / kChunk);
    size_ = n;
  }

 private:
  static constexpr size_t kChunk = 2;
  Cow<std::vector<Cow<std::array<StackSlot, kChunk>>>> chunks_;
  size_t size_ = 0;
};

// A frame's registers r0..r10, shared in chunks of three (Cow) like a Stack. Reading through a
// const Regs never copies; the non-const operator[] is a write (see Frames::mut).
class Regs {
 public:
  static constexpr size_t size() { return 11; }
  const Reg& operator[](size_t r) const { return (*chunks_[r / kChunk])[r % kChunk]; }
  Reg& operator[](size_t r) { return chunks_[r / kChunk].mut()[r % kChunk]; }

 private:
  static constexpr size_t kChunk = 3;
  std::array<Cow<std::array<Reg, kChunk>>, (11 + kChunk - 1) / kChunk> chunks_;
};

struct Frame {
  Regs regs;
  Stack stack;                   // grows on demand
  uint32_t callsite = 0;         // the call (or callback helper call) that made this frame
  uint32_t start = 0;            // the function's first instruction
  uint8_t callback = 0;          // CallbackKind of a callback frame
  Cow<std::vector<Reg>> cb_args; // callback frames: r1..r5 to call it again with (else empty:
                                 // the states stored per loop iteration stay small)
  uint32_t invocation = 0;       // callback frames: which call of the callback (not compared)
};

enum class RefKind : uint8_t { Packet, Ringbuf, Object, Iterator };

struct RefEntry {
  uint32_t id = 0;
  uint32_t insn = 0;  // where it was acquired
  RefKind kind = RefKind::Packet;
};

// A state's frames, each shared (Cow): a caller's frame does not change while its callee runs.
// Reading never copies; every write goes through mut() (cur() of a non-const State is one),
// which copies a shared frame, whose registers' and stack's chunks stay shared until written.
class Frames {
 public:
  size_t size() const { return frames_.size(); }
  const Frame& operator[](size_t f) const { return *frames_[f]; }
  const Frame& back() const { return *frames_.back(); }
  Frame& mut(size_t f) { return frames_[f].mut(); }
  void push_back(Frame f) { frames_.emplace_back(std::move(f)); }
  void pop_back() { frames_.pop_back(); }

 private:
  std::vector<Cow<Frame>> frames_;
};

struct State {
  Frames frames;
  std::vector<RefEntry> refs;
  uint32_t pc = 0;
  bool ctx_skb_set = false;  // qdisc/dequeue: a reference was handed out in ctx->skb
  uint32_t ctx_skb_id = 0;   // its null-check id: NULL after all on the edge where it is NULL
  // The bpf_spin_lock held, if any: in a map value (lock_map) or in a graph object of the
  // program's struct lock_btf; lock_id is the id of the pointer that took it.
  const maps::MapSpec* lock_map = nullptr;
  uint32_t lock_btf = 0;
  uint32_t lock_id = 0;
  bool locked() const { return lock_id != 0 || lock_map != nullptr || lock_btf != 0; }

  Frame& cur() { return frames.mut(frames.size() - 1); }
  const Frame& cur() const { return frames.back(); }
};

// Live registers of one frame, as a bit set over r0..r10.
using LiveMask = uint16_t;

// old ⊇ cur: everything old's (finished) exploration proved holds for cur. live[f] says which
// registers of frame f matter.
bool subsumes(const State& old, const State& cur, const std::vector<LiveMask>& live);

// Are a and b in the same calls (frames of the same functions, called from the same places, the
// same call of each callback)? Only such states join; a cheap test, checked first.
bool same_calls(const State& a, const State& b);

// Can a and b be joined into one state holding both: do they have the same shape (types,
// references, spilled pointers)? Copies nothing.
bool joinable(const State& a, const State& b, const std::vector<LiveMask>& live);
// a becomes that join, in place (a's ids; registers dead in live[frame] dropped); false, with a
// partly joined (to be dropped), if they do not join.
bool join_into(State& a, const State& b, const std::vector<LiveMask>& live);

// The widening of a callback's loop: cur with every scalar old and cur disagree on made unknown;
// false if they differ in kind (no widening helps).
bool widen_into(const State& old, State& cur);

std::string describe(const Reg& r);

}  // namespace bpfq::verifier
