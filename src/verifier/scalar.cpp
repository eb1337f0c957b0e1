// The scalar domain: known bits (tnum) plus signed and unsigned ranges of the whole value and of
// its low 32 bits, after the Linux verifier's model (tnum.c, scalar_min_max_*, reg_bounds_sync).
//
// Ranges are computed through circular intervals (a start and a length modulo 2^n): the exact
// integer interval an operation produces wraps to one circular interval, and from that both the
// unsigned and the signed hull follow. Every operation works on a View of one width (64 bits, or
// the low 32 bits) and the result is written back and made consistent by sync().
#include "scalar.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <tuple>
#include <utility>

namespace bpfq::verifier {
namespace {

using i128 = __int128;
using u128 = unsigned __int128;

constexpr uint64_t kLow32 = 0xffffffffull;
constexpr uint64_t kSign64 = uint64_t{1} << 63;

constexpr uint64_t width_mask(int n) { return n >= 64 ? ~uint64_t{0} : (uint64_t{1} << n) - 1; }
constexpr uint64_t top_bit(int n) { return uint64_t{1} << (n - 1); }
// The low n bits of x read as a signed n-bit number.
constexpr int64_t as_signed(uint64_t x, int n) {
  const uint64_t h = top_bit(n);
  return static_cast<int64_t>(((x & width_mask(n)) ^ h) - h);
}
constexpr int64_t smin_of(int n) { return as_signed(top_bit(n), n); }
constexpr int64_t smax_of(int n) { return static_cast<int64_t>(top_bit(n) - 1); }

// ---- tnum arithmetic (64-bit; narrower widths truncate the result) ----

Tnum tn(uint64_t value, uint64_t mask) { return {value & ~mask, mask}; }
Tnum tn_trunc(Tnum t, int n) { return {t.value & width_mask(n), t.mask & width_mask(n)}; }

Tnum tn_add(Tnum a, Tnum b) {
  const uint64_t lo = a.value + b.value;     // every unknown bit 0
  const uint64_t hi = lo + a.mask + b.mask;  // every unknown bit 1
  // Bits where the two extremes differ are those a carry from an unknown bit can reach.
  return tn(lo, (lo ^ hi) | a.mask | b.mask);
}

Tnum tn_sub(Tnum a, Tnum b) {
  const uint64_t d = a.value - b.value;
  const uint64_t hi = d + a.mask;  // largest minuend, smallest subtrahend
  const uint64_t lo = d - b.mask;  // and the reverse
  return tn(d, (lo ^ hi) | a.mask | b.mask);
}

Tnum tn_and(Tnum a, Tnum b) {
  const uint64_t one = a.value & b.value;
  const uint64_t maybe = (a.value | a.mask) & (b.value | b.mask);
  return {one, maybe & ~one};
}

Tnum tn_or(Tnum a, Tnum b) {
  const uint64_t one = a.value | b.value;
  return {one, (a.mask | b.mask) & ~one};
}

Tnum tn_xor(Tnum a, Tnum b) { return tn(a.value ^ b.value, a.mask | b.mask); }

Tnum tn_shl(Tnum t, int k) { return {t.value << k, t.mask << k}; }
Tnum tn_shr(Tnum t, int k) { return {t.value >> k, t.mask >> k}; }
// Arithmetic shift of an n-bit tnum: the sign bit (known or not) is replicated first.
Tnum tn_sar(Tnum t, int k, int n) {
  const uint64_t ext = ~width_mask(n);
  if (t.mask & top_bit(n)) t.mask |= ext;
  else if (t.value & top_bit(n)) t.value |= ext;
  const Tnum r{static_cast<uint64_t>(static_cast<int64_t>(t.value) >> k),
               static_cast<uint64_t>(static_cast<int64_t>(t.mask) >> k)};
  return tn_trunc(r, n);
}

Tnum tn_join(Tnum a, Tnum b) { return tn(a.value, a.mask | b.mask | (a.value ^ b.value)); }

// Shift-and-add over the bits of one factor; an unknown bit joins "added" and "skipped".
Tnum tn_mul(Tnum a, Tnum b) {
  if (std::popcount(a.mask) > std::popcount(b.mask)) std::swap(a, b);  // constants: exact adds
  Tnum acc = Tnum::constant(0);
  for (int i = 0; i < 64 && ((a.value | a.mask) >> i) != 0; ++i) {
    const uint64_t bit = uint64_t{1} << i;
    if (a.value & bit) acc = tn_add(acc, tn_shl(b, i));
    else if (a.mask & bit) acc = tn_join(acc, tn_add(acc, tn_shl(b, i)));
  }
  return acc;
}

uint64_t swap_bytes(uint64_t x, int n) {
  if (n == 16) return __builtin_bswap16(static_cast<uint16_t>(x));
  if (n == 32) return __builtin_bswap32(static_cast<uint32_t>(x));
  return __builtin_bswap64(x);
}

// ---- circular intervals ----

// The n-bit values base, base+1, ..., base+len (mod 2^n); len == width_mask(n) is every value.
struct Circ {
  uint64_t base, len;
};

// The values an exact integer interval [lo, hi] takes modulo 2^n.
template <class I>
Circ circ_exact(I lo, I hi, int n) {
  const u128 span = static_cast<u128>(hi) - static_cast<u128>(lo);
  if (span >= width_mask(n)) return {0, width_mask(n)};
  return {static_cast<uint64_t>(lo) & width_mask(n), static_cast<uint64_t>(span)};
}

bool circ_has(Circ c, uint64_t x, int n) { return ((x - c.base) & width_mask(n)) <= c.len; }

using URange = std::pair<uint64_t, uint64_t>;
using SRange = std::pair<int64_t, int64_t>;

// The unsigned hull of the members of c within [lo, hi]; nullopt if there are none.
std::optional<URange> clip_u(Circ c, uint64_t lo, uint64_t hi, int n) {
  if (lo > hi) return std::nullopt;
  if (c.len >= width_mask(n)) return URange{lo, hi};
  const uint64_t end = (c.base + c.len) & width_mask(n);
  if (c.base <= end) {  // one piece [base, end]
    const uint64_t l = std::max(lo, c.base), h = std::min(hi, end);
    if (l > h) return std::nullopt;
    return URange{l, h};
  }
  // Two pieces: [base, max] and [0, end].
  const bool upper = std::max(lo, c.base) <= hi;
  const bool lower = lo <= std::min(hi, end);
  if (upper && lower) return URange{lo, hi};
  if (upper) return URange{std::max(lo, c.base), hi};
  if (lower) return URange{lo, std::min(hi, end)};
  return std::nullopt;
}

// The same in signed order: flipping the sign bit maps signed order onto unsigned order.
std::optional<SRange> clip_s(Circ c, int64_t lo, int64_t hi, int n) {
  if (lo > hi) return std::nullopt;
  const uint64_t m = width_mask(n), h = top_bit(n);
  const auto r = clip_u({c.base ^ h, c.len}, (static_cast<uint64_t>(lo) & m) ^ h,
                        (static_cast<uint64_t>(hi) & m) ^ h, n);
  if (!r) return std::nullopt;
  return SRange{as_signed(r->first ^ h, n), as_signed(r->second ^ h, n)};
}

// The smallest y >= x whose low 32 bits lie in w; nullopt if none.
std::optional<uint64_t> next_ge(uint64_t x, Circ w) {
  const uint64_t low = x & kLow32, high = x & ~kLow32;
  if (circ_has(w, low, 32)) return x;
  // Going up from outside w, the first member met is w's start.
  if (w.base > low) return high | w.base;
  if (high == ~kLow32) return std::nullopt;
  return (high + kLow32 + 1) | w.base;
}

// The largest y <= x whose low 32 bits lie in w; nullopt if none.
std::optional<uint64_t> prev_le(uint64_t x, Circ w) {
  const uint64_t low = x & kLow32, high = x & ~kLow32;
  if (circ_has(w, low, 32)) return x;
  const uint64_t end = (w.base + w.len) & kLow32;
  if (end < low) return high | end;
  if (high == 0) return std::nullopt;
  return (high - kLow32 - 1) | end;
}

// ---- one width's view of a scalar ----

// Components of an n-bit value (n = 64, or 32 for the low half, or less for narrow parts),
// all canonical: unsigned values below 2^n, signed values within n-bit range.
struct View {
  int n = 64;
  uint64_t v = 0, m = ~uint64_t{0};
  uint64_t umin = 0, umax = ~uint64_t{0};
  int64_t smin = INT64_MIN, smax = INT64_MAX;
  bool empty = false;

  Tnum t() const { return {v, m}; }
};

View top(int n) { return {n, 0, width_mask(n), 0, width_mask(n), smin_of(n), smax_of(n), false}; }
View nothing(int n) {
  View r = top(n);
  r.empty = true;
  return r;
}
View view_const(uint64_t c, int n) {
  c &= width_mask(n);
  return {n, c, 0, c, c, as_signed(c, n), as_signed(c, n), false};
}

View view_of(const Scalar& s, int n) {
  if (n == 64) return {64, s.bits.value, s.bits.mask, s.umin, s.umax, s.smin, s.smax, false};
  return {32, s.bits.value & kLow32, s.bits.mask & kLow32, s.u32min, s.u32max, s.s32min, s.s32max, false};
}

std::optional<uint64_t> const_of(const View& a) {
  if (a.m == 0) return a.v;
  if (a.umin == a.umax) return a.umin;
  if (a.smin == a.smax) return static_cast<uint64_t>(a.smin) & width_mask(a.n);
  return std::nullopt;
}

bool view_ok(const View& a) { return !a.empty && a.umin <= a.umax && a.smin <= a.smax; }

void meet_u(View& r, uint64_t lo, uint64_t hi) {
  r.umin = std::max(r.umin, lo);
  r.umax = std::min(r.umax, hi);
  if (r.umin > r.umax) r.empty = true;
}
void meet_s(View& r, int64_t lo, int64_t hi) {
  r.smin = std::max(r.smin, lo);
  r.smax = std::min(r.smax, hi);
  if (r.smin > r.smax) r.empty = true;
}
void meet_circ(View& r, Circ c) {
  const auto u = clip_u(c, r.umin, r.umax, r.n);
  const auto s = clip_s(c, r.smin, r.smax, r.n);
  if (!u || !s) {
    r.empty = true;
    return;
  }
  std::tie(r.umin, r.umax) = *u;
  std::tie(r.smin, r.smax) = *s;
}
// Results whose exact (unwrapped) values lie in [lo, hi].
template <class I>
void meet_exact(View& r, I lo, I hi) {
  meet_circ(r, circ_exact(lo, hi, r.n));
}
void meet_tn(View& r, Tnum t) {
  const auto x = r.t().meet(tn_trunc(t, r.n));
  if (!x) {
    r.empty = true;
    return;
  }
  r.v = x->value;
  r.m = x->mask;
}

View view_join(const View& a, const View& b) {
  if (a.empty) return b;
  if (b.empty) return a;
  const Tnum t = tn_join(a.t(), b.t());
  return {a.n, t.value, t.mask, std::min(a.umin, b.umin), std::max(a.umax, b.umax),
          std::min(a.smin, b.smin), std::max(a.smax, b.smax), false};
}

bool may_be_zero(const View& b) { return b.umin == 0 && b.v == 0 && b.smin <= 0 && b.smax >= 0; }

// The ISA's result for n-bit operands (n = 32 or 64), RFC 9669.
uint64_t eval(AluOp op, uint64_t a, uint64_t b, int n) {
  const uint64_t m = width_mask(n);
  a &= m;
  b &= m;
  const int64_t sa = as_signed(a, n), sb = as_signed(b, n);
  const int k = static_cast<int>(b & static_cast<uint64_t>(n - 1));
  switch (op) {
    case AluOp::Add: return (a + b) & m;
    case AluOp::Sub: return (a - b) & m;
    case AluOp::Mul: return (a * b) & m;
    case AluOp::Div: return b ? a / b : 0;
    case AluOp::Mod: return b ? a % b : a;
    case AluOp::SDiv:
      if (sb == 0) return 0;
      if (sb == -1) return (0 - a) & m;  // INT_MIN / -1 wraps to INT_MIN
      return static_cast<uint64_t>(sa / sb) & m;
    case AluOp::SMod:
      if (sb == 0) return a;
      if (sb == -1) return 0;
      return static_cast<uint64_t>(sa % sb) & m;
    case AluOp::Or: return a | b;
    case AluOp::And: return a & b;
    case AluOp::Xor: return a ^ b;
    case AluOp::Lsh: return (a << k) & m;
    case AluOp::Rsh: return a >> k;
    case AluOp::Arsh: return static_cast<uint64_t>(sa >> k) & m;
  }
  return 0;
}

View shift_const(AluOp op, const View& a, int k) {
  View r = top(a.n);
  switch (op) {
    case AluOp::Lsh:
      meet_tn(r, tn_shl(a.t(), k));
      meet_exact(r, static_cast<u128>(a.umin) << k, static_cast<u128>(a.umax) << k);
      meet_exact(r, static_cast<i128>(a.smin) * (i128{1} << k), static_cast<i128>(a.smax) * (i128{1} << k));
      break;
    case AluOp::Rsh:
      meet_tn(r, tn_shr(a.t(), k));
      meet_exact(r, static_cast<u128>(a.umin >> k), static_cast<u128>(a.umax >> k));
      break;
    default:  // Arsh
      meet_tn(r, tn_sar(a.t(), k, a.n));
      meet_exact(r, static_cast<i128>(a.smin >> k), static_cast<i128>(a.smax >> k));
      break;
  }
  return r;
}

// Joins the results for every shift amount b & (n-1) can take.
View shift_view(AluOp op, const View& a, const View& b) {
  const int n = a.n;
  const uint64_t amask = static_cast<uint64_t>(n - 1);
  // If b's range lies within one block of n values, the amount is confined to a sub-range.
  uint64_t lo = 0, hi = amask;
  if ((b.umin & ~amask) == (b.umax & ~amask)) {
    lo = b.umin & amask;
    hi = b.umax & amask;
  }
  View r = nothing(n);
  for (uint64_t k = lo; k <= hi; ++k) {
    if (((k ^ b.v) & amask & ~b.m) != 0) continue;  // known bits of b rule k out
    r = view_join(r, shift_const(op, a, static_cast<int>(k)));
  }
  return r;
}

View udivmod_view(bool mod, const View& a, const View& b) {
  const int n = a.n;
  View r = nothing(n);
  if (may_be_zero(b)) r = mod ? a : view_const(0, n);  // x/0 = 0, x%0 = x
  View d = b;  // the non-zero divisors
  d.umin = std::max<uint64_t>(d.umin, 1);
  if (d.umin > d.umax) return r;
  const auto c = const_of(d);
  if (c && *c == 0) return r;
  View part = top(n);
  if (!mod) {
    meet_exact(part, static_cast<u128>(a.umin / d.umax), static_cast<u128>(a.umax / d.umin));
  } else if (a.umax < d.umin) {
    part = a;  // every dividend is below every divisor
  } else {
    if (c && a.umin / *c == a.umax / *c) meet_exact(part, u128{a.umin % *c}, u128{a.umax % *c});
    else meet_exact(part, u128{0}, u128{std::min(a.umax, d.umax - 1)});
    if (c && std::has_single_bit(*c)) meet_tn(part, tn_and(a.t(), Tnum::constant(*c - 1)));
  }
  return view_join(r, part);
}

i128 iabs(i128 x) { return x < 0 ? -x : x; }

View sdivmod_view(bool mod, const View& a, const View& b) {
  const int n = a.n;
  View r = nothing(n);
  if (may_be_zero(b)) r = mod ? a : view_const(0, n);
  // Negative and positive divisors separately: within one sign the quotient is monotone in
  // each operand, so the corners bound it.
  const std::pair<int64_t, int64_t> parts[2] = {{b.smin, std::min<int64_t>(b.smax, -1)},
                                                {std::max<int64_t>(b.smin, 1), b.smax}};
  for (const auto& [bl, bh] : parts) {
    if (bl > bh) continue;
    View part = top(n);
    if (!mod) {
      const i128 q[4] = {i128{a.smin} / bl, i128{a.smin} / bh, i128{a.smax} / bl, i128{a.smax} / bh};
      meet_exact(part, *std::min_element(q, q + 4), *std::max_element(q, q + 4));  // INT_MIN/-1 wraps
    } else {
      const i128 big = std::max(iabs(bl), iabs(bh)), small = std::min(iabs(bl), iabs(bh));
      if (-small < a.smin && a.smax < small) {
        part = a;  // |a| < |b|: the remainder is the dividend
      } else {
        // The remainder takes the dividend's sign and is smaller than the divisor.
        const i128 lo = a.smin >= 0 ? 0 : std::max<i128>(a.smin, 1 - big);
        const i128 hi = a.smax <= 0 ? 0 : std::min<i128>(a.smax, big - 1);
        meet_exact(part, lo, hi);
      }
    }
    r = view_join(r, part);
  }
  return r;
}

View alu_view(AluOp op, const View& a, const View& b) {
  const int n = a.n;
  if (!view_ok(a) || !view_ok(b)) return nothing(n);
  const auto ca = const_of(a), cb = const_of(b);
  if (ca && cb) return view_const(eval(op, *ca, *cb, n), n);
  View r = top(n);
  switch (op) {
    case AluOp::Add:
      meet_tn(r, tn_add(a.t(), b.t()));
      meet_exact(r, u128{a.umin} + b.umin, u128{a.umax} + b.umax);
      meet_exact(r, i128{a.smin} + b.smin, i128{a.smax} + b.smax);
      break;
    case AluOp::Sub:
      meet_tn(r, tn_sub(a.t(), b.t()));
      meet_exact(r, i128{a.umin} - i128{b.umax}, i128{a.umax} - i128{b.umin});
      meet_exact(r, i128{a.smin} - b.smax, i128{a.smax} - b.smin);
      break;
    case AluOp::Mul: {
      meet_tn(r, tn_mul(a.t(), b.t()));
      meet_exact(r, u128{a.umin} * b.umin, u128{a.umax} * b.umax);
      const i128 p[4] = {i128{a.smin} * b.smin, i128{a.smin} * b.smax, i128{a.smax} * b.smin,
                         i128{a.smax} * b.smax};
      meet_exact(r, *std::min_element(p, p + 4), *std::max_element(p, p + 4));
      break;
    }
    case AluOp::And:
      meet_tn(r, tn_and(a.t(), b.t()));
      meet_u(r, 0, std::min(a.umax, b.umax));
      if (a.smin >= 0 || b.smin >= 0) {  // a non-negative operand bounds the result
        int64_t hi = smax_of(n);
        if (a.smin >= 0) hi = std::min(hi, a.smax);
        if (b.smin >= 0) hi = std::min(hi, b.smax);
        meet_s(r, 0, hi);
      } else if (a.smax < 0 && b.smax < 0) {
        meet_s(r, smin_of(n), std::min(a.smax, b.smax));
      }
      break;
    case AluOp::Or:
      meet_tn(r, tn_or(a.t(), b.t()));
      meet_u(r, std::max(a.umin, b.umin), width_mask(n));
      if (a.smax < 0) meet_s(r, a.smin, -1);  // a negative operand keeps the result negative
      if (b.smax < 0) meet_s(r, b.smin, -1);
      if (a.smin >= 0 && b.smin >= 0) meet_s(r, std::max(a.smin, b.smin), smax_of(n));
      break;
    case AluOp::Xor: {
      meet_tn(r, tn_xor(a.t(), b.t()));
      const bool an = a.smax < 0, ap = a.smin >= 0, bn = b.smax < 0, bp = b.smin >= 0;
      if ((ap && bp) || (an && bn)) meet_s(r, 0, smax_of(n));
      else if ((ap && bn) || (an && bp)) meet_s(r, smin_of(n), -1);
      break;
    }
    case AluOp::Lsh:
    case AluOp::Rsh:
    case AluOp::Arsh: return shift_view(op, a, b);
    case AluOp::Div: return udivmod_view(false, a, b);
    case AluOp::Mod: return udivmod_view(true, a, b);
    case AluOp::SDiv: return sdivmod_view(false, a, b);
    case AluOp::SMod: return sdivmod_view(true, a, b);
  }
  return r;
}

// The low n bits (n < 32) of a scalar.
View low_view(const Scalar& s, int n) {
  const View w = view_of(s, 32);
  View r = top(n);
  meet_tn(r, w.t());
  meet_exact(r, u128{w.umin}, u128{w.umax});
  meet_exact(r, i128{w.smin}, i128{w.smax});
  return r;
}

// A 64-bit result, with the 32-bit view of the same value when one was computed.
Scalar from_views(const View& r64, const View* r32) {
  if (!view_ok(r64) || (r32 && !view_ok(*r32))) return Scalar::unknown();  // operands had no value
  Scalar s;
  s.bits = {r64.v, r64.m};
  s.umin = r64.umin;
  s.umax = r64.umax;
  s.smin = r64.smin;
  s.smax = r64.smax;
  if (r32) {
    const auto t = s.bits.meet({r32->v, r32->m | ~kLow32});
    if (!t) return Scalar::unknown();  // the two views disagree: the operands had no value
    s.bits = *t;
    s.u32min = static_cast<uint32_t>(r32->umin);
    s.u32max = static_cast<uint32_t>(r32->umax);
    s.s32min = static_cast<int32_t>(r32->smin);
    s.s32max = static_cast<int32_t>(r32->smax);
  }
  if (!s.sync()) return Scalar::unknown();
  return s;
}

// An n-bit result (n <= 32) zero-extended to 64 bits.
Scalar from_zext(const View& r) {
  const int n = r.n;
  if (!view_ok(r)) return Scalar::unknown_of_size(n / 8);
  Scalar s;
  s.bits = {r.v, r.m};
  s.umin = r.umin;
  s.umax = r.umax;
  s.smin = static_cast<int64_t>(r.umin);
  s.smax = static_cast<int64_t>(r.umax);
  s.u32min = static_cast<uint32_t>(r.umin);
  s.u32max = static_cast<uint32_t>(r.umax);
  if (n == 32) {
    s.s32min = static_cast<int32_t>(r.smin);
    s.s32max = static_cast<int32_t>(r.smax);
  } else {
    s.s32min = static_cast<int32_t>(r.umin);
    s.s32max = static_cast<int32_t>(r.umax);
  }
  if (!s.sync()) return Scalar::unknown_of_size(n / 8);
  return s;
}

// Writes a refined view back into the scalar it came from.
void store_view(Scalar& s, const View& r) {
  if (r.n == 64) {
    s.bits = {r.v, r.m};
    s.umin = r.umin;
    s.umax = r.umax;
    s.smin = r.smin;
    s.smax = r.smax;
    return;
  }
  s.bits = {(s.bits.value & ~kLow32) | r.v, (s.bits.mask & ~kLow32) | r.m};
  s.u32min = static_cast<uint32_t>(r.umin);
  s.u32max = static_cast<uint32_t>(r.umax);
  s.s32min = static_cast<int32_t>(r.smin);
  s.s32max = static_cast<int32_t>(r.smax);
}

bool ranges_ok(const Scalar& s) {
  return (s.bits.value & s.bits.mask) == 0 && s.umin <= s.umax && s.smin <= s.smax &&
         s.u32min <= s.u32max && s.s32min <= s.s32max;
}

// Signed and unsigned ranges of one width bound each other.
bool cross_ranges(uint64_t& umin, uint64_t& umax, int64_t& smin, int64_t& smax, int n) {
  const auto u = clip_u(circ_exact(i128{smin}, i128{smax}, n), umin, umax, n);
  if (!u) return false;
  std::tie(umin, umax) = *u;
  const auto s = clip_s(circ_exact(u128{umin}, u128{umax}, n), smin, smax, n);
  if (!s) return false;
  std::tie(smin, smax) = *s;
  return true;
}

// One round of propagation between the components; false if they contradict.
bool sync_step(Scalar& s) {
  // Known bits bound every range.
  const uint64_t v = s.bits.value, m = s.bits.mask;
  s.umin = std::max(s.umin, v);
  s.umax = std::min(s.umax, v | m);
  s.smin = std::max(s.smin, static_cast<int64_t>(v | (m & kSign64)));
  s.smax = std::min(s.smax, static_cast<int64_t>(v | (m & ~kSign64)));
  const uint32_t v32 = static_cast<uint32_t>(v), m32 = static_cast<uint32_t>(m);
  s.u32min = std::max(s.u32min, v32);
  s.u32max = std::min(s.u32max, v32 | m32);
  s.s32min = std::max(s.s32min, static_cast<int32_t>(v32 | (m32 & 0x80000000u)));
  s.s32max = std::min(s.s32max, static_cast<int32_t>(v32 | (m32 & 0x7fffffffu)));
  if (!ranges_ok(s)) return false;

  if (!cross_ranges(s.umin, s.umax, s.smin, s.smax, 64)) return false;
  uint64_t u32min = s.u32min, u32max = s.u32max;
  int64_t s32min = s.s32min, s32max = s.s32max;
  if (!cross_ranges(u32min, u32max, s32min, s32max, 32)) return false;

  // A 64-bit range spanning fewer than 2^32 values bounds the low half.
  const Circ wide[2] = {circ_exact(u128{s.umin}, u128{s.umax}, 32),
                        circ_exact(i128{s.smin}, i128{s.smax}, 32)};
  for (const Circ& c : wide) {
    const auto u = clip_u(c, u32min, u32max, 32);
    const auto sr = clip_s(c, s32min, s32max, 32);
    if (!u || !sr) return false;
    std::tie(u32min, u32max) = *u;
    std::tie(s32min, s32max) = *sr;
  }
  s.u32min = static_cast<uint32_t>(u32min);
  s.u32max = static_cast<uint32_t>(u32max);
  s.s32min = static_cast<int32_t>(s32min);
  s.s32max = static_cast<int32_t>(s32max);

  // The low-half ranges move each 64-bit bound to the nearest value whose low half fits.
  const Circ low[2] = {{u32min, u32max - u32min},
                       {static_cast<uint64_t>(s32min) & kLow32, static_cast<uint64_t>(s32max - s32min)}};
  for (const Circ& w : low) {
    const auto lo = next_ge(s.umin, w), hi = prev_le(s.umax, w);
    // Flipping bit 63 maps signed order onto unsigned order and leaves the low half alone.
    const auto slo = next_ge(static_cast<uint64_t>(s.smin) ^ kSign64, w);
    const auto shi = prev_le(static_cast<uint64_t>(s.smax) ^ kSign64, w);
    if (!lo || !hi || !slo || !shi || *lo > *hi || *slo > *shi) return false;
    s.umin = *lo;
    s.umax = *hi;
    s.smin = static_cast<int64_t>(*slo ^ kSign64);
    s.smax = static_cast<int64_t>(*shi ^ kSign64);
  }

  // Ranges bound the known bits.
  auto t = s.bits.meet(Tnum::range(s.umin, s.umax));
  if (!t) return false;
  const Tnum t32 = Tnum::range(s.u32min, s.u32max);
  t = t->meet({t32.value, t32.mask | ~kLow32});
  if (!t) return false;
  s.bits = *t;
  return ranges_ok(s);
}

// Comparisons reduced to "a rel b" (Gt/Ge swap operands; a false branch negates).
enum class Rel : uint8_t { Eq, Ne, Lt, Le, SLt, SLe, Set, Clear };

std::optional<bool> taken_view(CmpOp op, const View& a, const View& b) {
  const auto ca = const_of(a), cb = const_of(b);
  switch (op) {
    case CmpOp::Eq:
    case CmpOp::Ne: {
      std::optional<bool> eq;
      if (ca && cb) eq = *ca == *cb;
      else if (((a.v ^ b.v) & ~a.m & ~b.m) != 0 || a.umax < b.umin || b.umax < a.umin ||
               a.smax < b.smin || b.smax < a.smin)
        eq = false;
      if (eq && op == CmpOp::Ne) return !*eq;
      return eq;
    }
    case CmpOp::Gt: return taken_view(CmpOp::Lt, b, a);
    case CmpOp::Ge: return taken_view(CmpOp::Le, b, a);
    case CmpOp::SGt: return taken_view(CmpOp::SLt, b, a);
    case CmpOp::SGe: return taken_view(CmpOp::SLe, b, a);
    case CmpOp::Lt:
      if (a.umax < b.umin) return true;
      if (a.umin >= b.umax) return false;
      return std::nullopt;
    case CmpOp::Le:
      if (a.umax <= b.umin) return true;
      if (a.umin > b.umax) return false;
      return std::nullopt;
    case CmpOp::SLt:
      if (a.smax < b.smin) return true;
      if (a.smin >= b.smax) return false;
      return std::nullopt;
    case CmpOp::SLe:
      if (a.smax <= b.smin) return true;
      if (a.smin > b.smax) return false;
      return std::nullopt;
    case CmpOp::Set:
      if ((a.v & b.v) != 0) return true;
      if (((a.v | a.m) & (b.v | b.m)) == 0) return false;
      return std::nullopt;
  }
  return std::nullopt;
}

// a != c for a constant c: only a range end equal to c can move.
void exclude_const(View& a, uint64_t c) {
  if (const auto ca = const_of(a); ca && *ca == c) {
    a.empty = true;
    return;
  }
  const int64_t sc = as_signed(c, a.n);
  if (a.umin == c) ++a.umin;
  if (a.umax == c) --a.umax;
  if (a.smin == sc) ++a.smin;
  if (a.smax == sc) --a.smax;
}

// a & c != 0 for a constant c.
void require_some_bit(View& a, uint64_t c) {
  if (c == 0) {
    a.empty = true;
    return;
  }
  if (std::has_single_bit(c)) {  // that bit must be set
    if ((a.v | a.m) & c) {
      a.v |= c;
      a.m &= ~c;
    } else {
      a.empty = true;
    }
  }
  a.umin = std::max(a.umin, c & (0 - c));  // at least the lowest bit of c
}

// Narrows a and b to the values with `a rel b`; false if none remain.
bool refine_view(Rel rel, View& a, View& b) {
  const int n = a.n;
  switch (rel) {
    case Rel::Eq: {
      const auto t = a.t().meet(b.t());
      if (!t) return false;
      a.v = b.v = t->value;
      a.m = b.m = t->mask;
      a.umin = b.umin = std::max(a.umin, b.umin);
      a.umax = b.umax = std::min(a.umax, b.umax);
      a.smin = b.smin = std::max(a.smin, b.smin);
      a.smax = b.smax = std::min(a.smax, b.smax);
      break;
    }
    case Rel::Ne:
      if (const auto cb = const_of(b)) exclude_const(a, *cb);
      if (const auto ca = const_of(a)) exclude_const(b, *ca);
      break;
    case Rel::Lt:
      if (b.umax == 0 || a.umin == width_mask(n)) return false;
      a.umax = std::min(a.umax, b.umax - 1);
      b.umin = std::max(b.umin, a.umin + 1);
      break;
    case Rel::Le:
      a.umax = std::min(a.umax, b.umax);
      b.umin = std::max(b.umin, a.umin);
      break;
    case Rel::SLt:
      if (b.smax == smin_of(n) || a.smin == smax_of(n)) return false;
      a.smax = std::min(a.smax, b.smax - 1);
      b.smin = std::max(b.smin, a.smin + 1);
      break;
    case Rel::SLe:
      a.smax = std::min(a.smax, b.smax);
      b.smin = std::max(b.smin, a.smin);
      break;
    case Rel::Set:
      if (const auto cb = const_of(b)) require_some_bit(a, *cb);
      if (const auto ca = const_of(a)) require_some_bit(b, *ca);
      break;
    case Rel::Clear:
      // A bit known set in one operand is clear in the other.
      if ((a.v & b.v) != 0) return false;
      a.m &= ~b.v;
      b.m &= ~a.v;
      break;
  }
  return view_ok(a) && view_ok(b);
}

}  // namespace

// ---- Tnum ----

Tnum Tnum::range(uint64_t min, uint64_t max) {
  const uint64_t diff = min ^ max;
  if (diff == 0) return constant(min);
  // Values in [min, max] share the bits above the highest bit where min and max differ.
  const uint64_t low = width_mask(64 - std::countl_zero(diff));
  return {min & ~low, low};
}

bool Tnum::contains(const Tnum& other) const {
  return (other.mask & ~mask) == 0 && (other.value & ~mask) == value;
}

Tnum Tnum::join(const Tnum& other) const { return tn_join(*this, other); }

std::optional<Tnum> Tnum::meet(const Tnum& other) const {
  if ((value ^ other.value) & ~mask & ~other.mask) return std::nullopt;
  return Tnum{value | other.value, mask & other.mask};
}

// ---- Scalar ----

Scalar Scalar::constant(uint64_t v) {
  Scalar s;
  s.bits = Tnum::constant(v);
  s.umin = s.umax = v;
  s.smin = s.smax = static_cast<int64_t>(v);
  s.u32min = s.u32max = static_cast<uint32_t>(v);
  s.s32min = s.s32max = static_cast<int32_t>(v);
  return s;
}

Scalar Scalar::urange(uint64_t min, uint64_t max) {
  Scalar s;
  s.umin = min;
  s.umax = max;
  s.sync();
  return s;
}

Scalar Scalar::srange(int64_t min, int64_t max) {
  Scalar s;
  s.smin = min;
  s.smax = max;
  s.sync();
  return s;
}

Scalar Scalar::unknown_of_size(int bytes) {
  if (bytes >= 8) return unknown();
  return urange(0, width_mask(8 * bytes));
}

Scalar Scalar::unknown_signed_of_size(int bytes) {
  if (bytes >= 8) return unknown();
  return srange(smin_of(8 * bytes), smax_of(8 * bytes));
}

bool Scalar::contains(uint64_t v) const {
  const auto sv = static_cast<int64_t>(v);
  const auto v32 = static_cast<uint32_t>(v);
  const auto sv32 = static_cast<int32_t>(v);
  return bits.contains(v) && umin <= v && v <= umax && smin <= sv && sv <= smax && u32min <= v32 &&
         v32 <= u32max && s32min <= sv32 && sv32 <= s32max;
}

bool Scalar::contains(const Scalar& o) const {
  return bits.contains(o.bits) && umin <= o.umin && o.umax <= umax && smin <= o.smin && o.smax <= smax &&
         u32min <= o.u32min && o.u32max <= u32max && s32min <= o.s32min && o.s32max <= s32max;
}

Scalar Scalar::join(const Scalar& o) const {
  // x joined with itself is x, without the cost of sync (most registers are the same on both
  // paths that meet): the hull is x, and sync only narrows, so a synced hull that still holds
  // x is x. (A tnum with value bits under its mask would come out normalised: not taken here.)
  if (*this == o && (bits.value & bits.mask) == 0) return *this;
  Scalar h;
  h.bits = bits.join(o.bits);
  h.umin = std::min(umin, o.umin);
  h.umax = std::max(umax, o.umax);
  h.smin = std::min(smin, o.smin);
  h.smax = std::max(smax, o.smax);
  h.u32min = std::min(u32min, o.u32min);
  h.u32max = std::max(u32max, o.u32max);
  h.s32min = std::min(s32min, o.s32min);
  h.s32max = std::max(s32max, o.s32max);
  // Sync may tighten the hull, but the result must still hold both operands component by
  // component (state pruning relies on that), so keep the plain hull otherwise.
  Scalar t = h;
  return t.sync() && t.contains(*this) && t.contains(o) ? t : h;
}

bool Scalar::sync() {
  // Each round only narrows; a few rounds reach the fixpoint in practice.
  for (int round = 0; round < 10; ++round) {
    const Scalar before = *this;
    if (!sync_step(*this)) return false;
    if (*this == before) break;
  }
  return ranges_ok(*this);
}

Scalar Scalar::alu64(AluOp op, const Scalar& a, const Scalar& b) {
  const View r64 = alu_view(op, view_of(a, 64), view_of(b, 64));
  switch (op) {
    case AluOp::Add:
    case AluOp::Sub:
    case AluOp::Mul:
    case AluOp::And:
    case AluOp::Or:
    case AluOp::Xor: {
      // The low half of these depends only on the operands' low halves.
      const View r32 = alu_view(op, view_of(a, 32), view_of(b, 32));
      return from_views(r64, &r32);
    }
    default: return from_views(r64, nullptr);
  }
}

Scalar Scalar::alu32(AluOp op, const Scalar& a, const Scalar& b) {
  return from_zext(alu_view(op, view_of(a, 32), view_of(b, 32)));
}

Scalar Scalar::neg64() const { return alu64(AluOp::Sub, constant(0), *this); }
Scalar Scalar::neg32() const { return alu32(AluOp::Sub, constant(0), *this); }
Scalar Scalar::zext32() const { return from_zext(view_of(*this, 32)); }

Scalar Scalar::truncate(int bytes) const {
  if (bytes >= 8) return *this;
  if (bytes == 4) return zext32();
  return from_zext(low_view(*this, 8 * bytes));
}

Scalar Scalar::sext(int from_bytes) const {
  if (from_bytes >= 8) return *this;
  const int n = 8 * from_bytes;
  const View r = n == 32 ? view_of(*this, 32) : low_view(*this, n);
  if (!view_ok(r)) return unknown_signed_of_size(from_bytes);
  Scalar s;
  // Replicate the sign bit, known or not, into the upper bits.
  const uint64_t ext = ~width_mask(n);
  s.bits = {r.v, r.m};
  if (r.m & top_bit(n)) s.bits.mask |= ext;
  else if (r.v & top_bit(n)) s.bits.value |= ext;
  s.smin = r.smin;
  s.smax = r.smax;
  s.s32min = static_cast<int32_t>(r.smin);
  s.s32max = static_cast<int32_t>(r.smax);
  if (n == 32) {
    s.u32min = static_cast<uint32_t>(r.umin);
    s.u32max = static_cast<uint32_t>(r.umax);
  }
  if (!s.sync()) return unknown_signed_of_size(from_bytes);
  return s;
}

Scalar Scalar::sext32(int from_bytes) const {
  if (from_bytes >= 4) return zext32();
  const int n = 8 * from_bytes;
  const View r = low_view(*this, n);
  if (!view_ok(r)) return unknown_of_size(4);
  View w = top(32);  // the 32-bit sign-extended value
  Tnum t{r.v, r.m};
  const uint64_t ext = kLow32 & ~width_mask(n);
  if (r.m & top_bit(n)) t.mask |= ext;
  else if (r.v & top_bit(n)) t.value |= ext;
  meet_tn(w, t);
  meet_exact(w, i128{r.smin}, i128{r.smax});
  return from_zext(w);
}

Scalar Scalar::bswap(int width) const {
  const uint64_t m = width_mask(width);
  View r = top(width);
  meet_tn(r, {swap_bytes(bits.value & m, width), swap_bytes(bits.mask & m, width)});
  if (width == 64) return from_views(r, nullptr);
  return from_zext(r);
}

Scalar Scalar::zext_low(int width) const { return truncate(width / 8); }

std::optional<bool> Scalar::branch_taken(CmpOp op, const Scalar& a, const Scalar& b, bool is32) {
  if (&a == &b) {  // a register compared with itself
    switch (op) {
      case CmpOp::Eq:
      case CmpOp::Ge:
      case CmpOp::Le:
      case CmpOp::SGe:
      case CmpOp::SLe: return true;
      case CmpOp::Ne:
      case CmpOp::Gt:
      case CmpOp::Lt:
      case CmpOp::SGt:
      case CmpOp::SLt: return false;
      case CmpOp::Set: break;
    }
  }
  const int n = is32 ? 32 : 64;
  return taken_view(op, view_of(a, n), view_of(b, n));
}

bool Scalar::refine(CmpOp op, bool taken, Scalar& a, Scalar& b, bool is32) {
  if (const auto t = branch_taken(op, a, b, is32); t && *t != taken) return false;
  if (&a == &b) {
    // x op x is fixed except for JSET: x & x != 0 says x != 0.
    if (op != CmpOp::Set) return true;
    Scalar zero = constant(0);
    return refine(CmpOp::Ne, taken, a, zero, is32);
  }
  // The relation that holds on this edge; `swap` means it holds as "b rel a".
  Rel rel = Rel::Eq;
  bool swap = false;
  auto set = [&](Rel r, bool s) { rel = r, swap = s; };
  switch (op) {
    case CmpOp::Eq: rel = taken ? Rel::Eq : Rel::Ne; break;
    case CmpOp::Ne: rel = taken ? Rel::Ne : Rel::Eq; break;
    case CmpOp::Lt: taken ? set(Rel::Lt, false) : set(Rel::Le, true); break;
    case CmpOp::Le: taken ? set(Rel::Le, false) : set(Rel::Lt, true); break;
    case CmpOp::Gt: taken ? set(Rel::Lt, true) : set(Rel::Le, false); break;
    case CmpOp::Ge: taken ? set(Rel::Le, true) : set(Rel::Lt, false); break;
    case CmpOp::SLt: taken ? set(Rel::SLt, false) : set(Rel::SLe, true); break;
    case CmpOp::SLe: taken ? set(Rel::SLe, false) : set(Rel::SLt, true); break;
    case CmpOp::SGt: taken ? set(Rel::SLt, true) : set(Rel::SLe, false); break;
    case CmpOp::SGe: taken ? set(Rel::SLe, true) : set(Rel::SLt, false); break;
    case CmpOp::Set: rel = taken ? Rel::Set : Rel::Clear; break;
  }
  Scalar na = a, nb = b;
  if (rel == Rel::Eq && !is32) {
    // Equal 64-bit values share every component.
    const auto t = na.bits.meet(nb.bits);
    if (!t) return false;
    na.bits = *t;
    na.umin = std::max(na.umin, nb.umin);
    na.umax = std::min(na.umax, nb.umax);
    na.smin = std::max(na.smin, nb.smin);
    na.smax = std::min(na.smax, nb.smax);
    na.u32min = std::max(na.u32min, nb.u32min);
    na.u32max = std::min(na.u32max, nb.u32max);
    na.s32min = std::max(na.s32min, nb.s32min);
    na.s32max = std::min(na.s32max, nb.s32max);
    if (!na.sync()) return false;
    a = b = na;
    return true;
  }
  const int n = is32 ? 32 : 64;
  View va = view_of(na, n), vb = view_of(nb, n);
  if (!(swap ? refine_view(rel, vb, va) : refine_view(rel, va, vb))) return false;
  store_view(na, va);
  store_view(nb, vb);
  if (!na.sync() || !nb.sync()) return false;
  a = na;
  b = nb;
  return true;
}

std::string Scalar::to_string() const {
  if (is_const()) return std::to_string(static_cast<int64_t>(bits.value));
  std::string out;
  auto add = [&](const char* name, const std::string& value) {
    if (!out.empty()) out += ' ';
    out += name;
    out += '=';
    out += value;
  };
  if (smin != INT64_MIN) add("smin", std::to_string(smin));
  if (smax != INT64_MAX) add("smax", std::to_string(smax));
  if (umin != 0) add("umin", std::to_string(umin));
  if (umax != UINT64_MAX) add("umax", std::to_string(umax));
  // 32-bit bounds only where they say more than the 64-bit ones.
  if (s32min != INT32_MIN && s32min != smin) add("smin32", std::to_string(s32min));
  if (s32max != INT32_MAX && s32max != smax) add("smax32", std::to_string(s32max));
  if (u32min != 0 && u32min != umin) add("umin32", std::to_string(u32min));
  if (u32max != UINT32_MAX && u32max != umax) add("umax32", std::to_string(u32max));
  if (bits.mask != ~uint64_t{0}) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "(0x%llx; 0x%llx)", static_cast<unsigned long long>(bits.value),
                  static_cast<unsigned long long>(bits.mask));
    add("var_off", buf);
  }
  if (out.empty()) out = "scalar";  // nothing known
  return out;
}

}  // namespace bpfq::verifier
