#pragma once
// A small x86-64 machine-code writer for the JIT: just the encodings it emits.
// Registers are numbered as the hardware numbers them (0 rax … 15 r15).
#include <cstdint>
#include <cstring>
#include <memory>

namespace bpfq::exec::x86 {

enum Reg : uint8_t { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

// Condition codes (the low nibble of Jcc).
enum Cond : uint8_t { kB = 0x2, kAE = 0x3, kE = 0x4, kNE = 0x5, kBE = 0x6, kA = 0x7,
                      kL = 0xc, kGE = 0xd, kLE = 0xe, kG = 0xf };

// Opcodes: one byte, or 0x0Fxx for the two-byte map.
enum Opc : uint16_t {
  ADD_RM_R = 0x01, OR_RM_R = 0x09, AND_RM_R = 0x21, SUB_RM_R = 0x29, XOR_RM_R = 0x31,
  CMP_RM_R = 0x39, CMP_RM8_IMM8 = 0x80, TEST_RM_R = 0x85, XCHG_RM_R = 0x87, MOV_RM_R8 = 0x88, MOV_RM_R = 0x89,
  MOV_R_RM = 0x8b, LEA = 0x8d, MOVSXD = 0x63, GRP1_IMM32 = 0x81, GRP1_IMM8 = 0x83,
  SHIFT_IMM8 = 0xc1, MOV_RM8_IMM = 0xc6, MOV_RM_IMM = 0xc7, SHIFT_CL = 0xd3, GRP3 = 0xf7,
  IMUL_R_RM = 0x0faf, IMUL_R_RM_IMM = 0x69, MOVZX8 = 0x0fb6, MOVZX16 = 0x0fb7, MOVSX8 = 0x0fbe,
  MOVSX16 = 0x0fbf, CMPXCHG = 0x0fb1, XADD = 0x0fc1,
};
// The /digit of group opcodes.
enum Ext : uint8_t { EXT_ADD = 0, EXT_OR = 1, EXT_AND = 4, EXT_SUB = 5, EXT_XOR = 6, EXT_CMP = 7,
                     EXT_ROL = 0, EXT_SHL = 4, EXT_SHR = 5, EXT_SAR = 7,
                     EXT_TEST = 0, EXT_NEG = 3, EXT_DIV = 6, EXT_IDIV = 7 };

// Legacy prefixes, written before REX.
enum Prefix : uint8_t { NONE = 0, OPSIZE16 = 0x66, LOCK = 0xf0 };

inline bool fits_i8(int64_t v) { return v >= -128 && v <= 127; }
inline bool fits_i32(int64_t v) { return v >= INT32_MIN && v <= INT32_MAX; }

class Assembler {
 public:
  // capacity: a first guess of the code's size; the buffer grows when it is short.
  explicit Assembler(size_t capacity = 256) : buf_(new uint8_t[capacity]), cap_(capacity) {}

  const uint8_t* data() const { return buf_.get(); }
  size_t pos() const { return pos_; }
  uint8_t& operator[](size_t at) { return buf_[at]; }

  void u8(uint8_t b) { Writer x(*this); x.add(b); }
  void u16(uint16_t v) { Writer x(*this); x.add(&v, 2); }
  void u32(uint32_t v) { Writer x(*this); x.add(&v, 4); }
  void patch_u32(size_t at, uint32_t v) { std::memcpy(&buf_[at], &v, 4); }

  // reg, r/m both registers. byte_regs: an 8-bit operand, where REX selects sil/dil/bpl/spl.
  void rr(Prefix p, bool w, uint16_t opc, uint8_t reg, uint8_t rm, bool byte_regs = false) {
    Writer x(*this);
    rr(x, p, w, opc, reg, rm, byte_regs);
  }
  // reg, [base + disp].
  void rm(Prefix p, bool w, uint16_t opc, uint8_t reg, uint8_t base, int32_t disp, bool byte_reg = false) {
    Writer x(*this);
    if (p != NONE) x.add(p);
    rex(x, w, reg, base, byte_reg && reg >= 4);
    opcode(x, opc);
    mem(x, reg, base, disp);
  }

  void push(uint8_t r) { Writer x(*this); if (r >= 8) x.add(0x41); x.add(static_cast<uint8_t>(0x50 + (r & 7))); }
  void pop(uint8_t r) { Writer x(*this); if (r >= 8) x.add(0x41); x.add(static_cast<uint8_t>(0x58 + (r & 7))); }
  void ret() { u8(0xc3); }
  void bswap(bool w, uint8_t r) {
    Writer x(*this);
    rex(x, w, 0, r, false);
    x.add(0x0f);
    x.add(static_cast<uint8_t>(0xc8 + (r & 7)));
  }
  void cqo() { u16(0x9948); }  // rdx:rax = sign-extended rax
  void cdq() { u8(0x99); }     // edx:eax = sign-extended eax
  void leave() { u8(0xc9); }

  void mov(bool w, uint8_t dst, uint8_t src) {
    if (dst != src || !w) rr(NONE, w, MOV_RM_R, src, dst);  // a 32-bit self-move zero-extends
  }
  // dst = imm, the shortest form.
  void mov_imm(uint8_t dst, uint64_t imm) {
    Writer x(*this);
    if (imm == 0) {
      rr(x, NONE, false, XOR_RM_R, dst, dst, false);
    } else if (imm <= UINT32_MAX) {  // mov r32, imm32 zero-extends
      rex(x, false, 0, dst, false);
      x.add(static_cast<uint8_t>(0xb8 + (dst & 7)));
      x.add32(static_cast<uint32_t>(imm));
    } else if (fits_i32(static_cast<int64_t>(imm))) {
      rr(x, NONE, true, MOV_RM_IMM, 0, dst, false);
      x.add32(static_cast<uint32_t>(imm));
    } else {
      rex(x, true, 0, dst, false);
      x.add(static_cast<uint8_t>(0xb8 + (dst & 7)));
      x.add(&imm, 8);
    }
  }
  // add/or/and/sub/xor/cmp dst, imm32 (sign-extended in 64-bit form).
  void alu_imm(bool w, uint8_t ext, uint8_t dst, int32_t imm) {
    Writer x(*this);
    if (fits_i8(imm)) {
      rr(x, NONE, w, GRP1_IMM8, ext, dst, false);
      x.add(static_cast<uint8_t>(imm));
    } else {
      rr(x, NONE, w, GRP1_IMM32, ext, dst, false);
      x.add32(static_cast<uint32_t>(imm));
    }
  }
  void shift_imm(bool w, uint8_t ext, uint8_t dst, uint8_t count) {
    Writer x(*this);
    rr(x, NONE, w, SHIFT_IMM8, ext, dst, false);
    x.add(count);
  }

  // Jumps and calls with a 32-bit displacement; the returned position is patched later.
  size_t jcc(uint8_t cond) { return rel32(0x0f, static_cast<uint8_t>(0x80 | cond)); }
  size_t jmp() { return rel32(0xe9); }
  size_t call() { return rel32(0xe8); }
  void call_reg(uint8_t r) {
    Writer x(*this);
    rex(x, false, 0, r, false);
    x.add(0xff);
    x.add(static_cast<uint8_t>(0xd0 | (r & 7)));
  }
  void jmp_to(size_t target) { patch_rel(jmp(), target); }
  void jcc_to(uint8_t cond, size_t target) { patch_rel(jcc(cond), target); }
  // The rel32 at `at` reaches `target` (both code offsets).
  void patch_rel(size_t at, size_t target) {
    patch_u32(at, static_cast<uint32_t>(static_cast<int64_t>(target) - static_cast<int64_t>(at + 4)));
  }

 private:
  // Writes one instruction (at most 15 bytes) straight into the buffer: the room is checked
  // once, and the end of the code moves when the writer goes out of scope.
  class Writer {
   public:
    explicit Writer(Assembler& a) : a_(a) {
      if (a.cap_ - a.pos_ < 16) a.grow();
      p_ = a.buf_.get() + a.pos_;
    }
    ~Writer() { a_.pos_ = static_cast<size_t>(p_ - a_.buf_.get()); }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    void add(uint8_t v) { *p_++ = v; }
    void add(const void* src, size_t k) { std::memcpy(p_, src, k), p_ += k; }
    void add32(uint32_t v) { add(&v, 4); }
    size_t pos() const { return static_cast<size_t>(p_ - a_.buf_.get()); }

   private:
    Assembler& a_;
    uint8_t* p_;
  };
  void grow() {
    cap_ = 2 * cap_ + 16;
    std::unique_ptr<uint8_t[]> bigger(new uint8_t[cap_]);
    std::memcpy(bigger.get(), buf_.get(), pos_);
    buf_ = std::move(bigger);
  }
  size_t rel32(uint8_t op1, int op2 = -1) {
    Writer x(*this);
    x.add(op1);
    if (op2 >= 0) x.add(static_cast<uint8_t>(op2));
    const size_t at = x.pos();
    x.add32(0);
    return at;
  }

  static void rr(Writer& x, Prefix p, bool w, uint16_t opc, uint8_t reg, uint8_t rm, bool byte_regs) {
    if (p != NONE) x.add(p);
    rex(x, w, reg, rm, byte_regs && (reg >= 4 || rm >= 4));
    opcode(x, opc);
    x.add(static_cast<uint8_t>(0xc0 | (reg & 7) << 3 | (rm & 7)));
  }
  static void rex(Writer& x, bool w, uint8_t reg, uint8_t rm, bool force) {
    const uint8_t v = static_cast<uint8_t>(0x40 | (w ? 8 : 0) | (reg >> 3 & 1) << 2 | (rm >> 3 & 1));
    if (v != 0x40 || force) x.add(v);
  }
  static void opcode(Writer& x, uint16_t opc) {
    if (opc > 0xff) x.add(static_cast<uint8_t>(opc >> 8));
    x.add(static_cast<uint8_t>(opc));
  }
  static void mem(Writer& x, uint8_t reg, uint8_t base, int32_t disp) {
    const uint8_t r = static_cast<uint8_t>((reg & 7) << 3), b = base & 7;
    const bool sib = b == 4;  // rsp/r12 as a base need a SIB byte
    if (disp == 0 && b != 5) {  // rbp/r13 with mod 00 would mean rip-relative
      x.add(r | b);
      if (sib) x.add(0x24);
    } else if (fits_i8(disp)) {
      x.add(static_cast<uint8_t>(0x40 | r | b));
      if (sib) x.add(0x24);
      x.add(static_cast<uint8_t>(disp));
    } else {
      x.add(static_cast<uint8_t>(0x80 | r | b));
      if (sib) x.add(0x24);
      x.add32(static_cast<uint32_t>(disp));
    }
  }

  std::unique_ptr<uint8_t[]> buf_;
  size_t cap_ = 0;
  size_t pos_ = 0;
};

}  // namespace bpfq::exec::x86
