#pragma once
// What the verifier knows about a 64-bit scalar: a tnum (known bits) and signed and unsigned
// ranges of the whole value and of its low 32 bits, the kernel verifier's model. Every
// operation is sound: any concrete value the abstract operands allow gives a concrete result
// the abstract result allows.
#include <cstdint>
#include <optional>
#include <string>

namespace bpfq::verifier {

// Known bits: a bit set in mask is unknown; a bit set in value is a known one (never both).
struct Tnum {
  uint64_t value = 0;
  uint64_t mask = ~uint64_t{0};

  static Tnum constant(uint64_t v) { return {v, 0}; }
  static Tnum unknown() { return {0, ~uint64_t{0}}; }
  static Tnum range(uint64_t min, uint64_t max);  // every value in [min, max]
  bool is_const() const { return mask == 0; }
  bool contains(uint64_t v) const { return (v & ~mask) == value; }
  bool contains(const Tnum& other) const;  // other ⊆ this
  Tnum join(const Tnum& other) const;      // smallest tnum holding both
  std::optional<Tnum> meet(const Tnum& other) const;  // nullopt: no common value
  bool operator==(const Tnum&) const = default;
};

enum class AluOp : uint8_t { Add, Sub, Mul, Div, Mod, SDiv, SMod, Or, And, Xor, Lsh, Rsh, Arsh };
// Conditional jump comparisons (JA and CALL/EXIT excluded).
enum class CmpOp : uint8_t { Eq, Ne, Gt, Ge, Lt, Le, SGt, SGe, SLt, SLe, Set };

struct Scalar {
  Tnum bits;
  int64_t smin = INT64_MIN, smax = INT64_MAX;
  uint64_t umin = 0, umax = UINT64_MAX;
  int32_t s32min = INT32_MIN, s32max = INT32_MAX;
  uint32_t u32min = 0, u32max = UINT32_MAX;

  static Scalar unknown() { return {}; }
  static Scalar constant(uint64_t v);
  static Scalar urange(uint64_t min, uint64_t max);  // unsigned 64-bit range
  static Scalar srange(int64_t min, int64_t max);    // signed 64-bit range
  // An unknown value of `bytes` bytes zero-extended (a load of 1, 2, 4 or 8 bytes).
  static Scalar unknown_of_size(int bytes);
  // The same, sign-extended from `bytes` bytes (movsx, ldsx).
  static Scalar unknown_signed_of_size(int bytes);

  bool is_const() const { return bits.is_const(); }
  uint64_t const_value() const { return bits.value; }  // only if is_const()
  bool contains(uint64_t v) const;              // v satisfies every component
  bool contains(const Scalar& other) const;     // other ⊆ this (for state pruning)
  Scalar join(const Scalar& other) const;       // over-approximates both
  bool operator==(const Scalar&) const = default;

  // 64-bit ALU (BPF_ALU64) and 32-bit ALU (BPF_ALU: operands' low 32 bits, result zero-extended).
  // Division and modulo follow RFC 9669: x/0 = 0, x%0 = x, signed overflow INT_MIN/-1 wraps.
  // Shift amounts are masked (63 or 31) as the ISA says.
  static Scalar alu64(AluOp op, const Scalar& a, const Scalar& b);
  static Scalar alu32(AluOp op, const Scalar& a, const Scalar& b);
  Scalar neg64() const;
  Scalar neg32() const;
  Scalar zext32() const;               // the low 32 bits, zero-extended (mov32, ALU32 results)
  Scalar truncate(int bytes) const;    // low `bytes` bytes zero-extended (narrow load/store)
  Scalar sext(int from_bytes) const;   // movsx/ldsx: sign-extend the low from_bytes bytes to 64
  Scalar sext32(int from_bytes) const; // 32-bit movsx: sign-extend into 32, zero-extend to 64
  Scalar bswap(int bits) const;        // BPF_END: byte swap of the low 16/32/64 bits, zero-extended
  Scalar zext_low(int bits) const;     // BPF_END to-same-endian: keep the low 16/32/64 bits

  // Is `a op b` always true (true), always false (false), or either (nullopt)?
  static std::optional<bool> branch_taken(CmpOp op, const Scalar& a, const Scalar& b, bool is32);
  // Narrows a and b to the values for which `a op b` == taken. Returns false if no values
  // remain (the edge is infeasible).
  static bool refine(CmpOp op, bool taken, Scalar& a, Scalar& b, bool is32);

  // Makes every component consistent with the others (the kernel's reg_bounds_sync); false if
  // they contradict (no value remains).
  bool sync();

  // "umax=255 var_off=(0x0; 0xff)" — the kernel log's style, shortest form for constants.
  std::string to_string() const;
};

}  // namespace bpfq::verifier
