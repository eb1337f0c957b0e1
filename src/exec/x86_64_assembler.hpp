#pragma once
// A small x86-64 machine-code writer for the JIT: just the encodings it emits.
// Registers are numbered as the hardware numbers them (0 rax … 15 r15).
#include <cstdint>
#include <cstring>
#include <vector>

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
  std::vector<uint8_t>& bytes() { return code_; }
  size_t pos() const { return code_.size(); }

  void u8(uint8_t b) { code_.push_back(b); }
  void u16(uint16_t v) { append(&v, 2); }
  void u32(uint32_t v) { append(&v, 4); }
  void u64(uint64_t v) { append(&v, 8); }
  void patch_u32(size_t at, uint32_t v) { std::memcpy(&code_[at], &v, 4); }

  // reg, r/m both registers. byte_regs: an 8-bit operand, where REX selects sil/dil/bpl/spl.
  void rr(Prefix p, bool w, uint16_t opc, uint8_t reg, uint8_t rm, bool byte_regs = false) {
    prefix(p);
    rex(w, reg, rm, byte_regs && (reg >= 4 || rm >= 4));
    opcode(opc);
    u8(static_cast<uint8_t>(0xc0 | (reg & 7) << 3 | (rm & 7)));
  }
  // reg, [base + disp].
  void rm(Prefix p, bool w, uint16_t opc, uint8_t reg, uint8_t base, int32_t disp, bool byte_reg = false) {
    prefix(p);
    rex(w, reg, base, byte_reg && reg >= 4);
    opcode(opc);
    mem(reg, base, disp);
  }

  void push(uint8_t r) { if (r >= 8) u8(0x41); u8(static_cast<uint8_t>(0x50 + (r & 7))); }
  void pop(uint8_t r) { if (r >= 8) u8(0x41); u8(static_cast<uint8_t>(0x58 + (r & 7))); }
  void ret() { u8(0xc3); }
  void bswap(bool w, uint8_t r) { rex(w, 0, r, false); u8(0x0f); u8(static_cast<uint8_t>(0xc8 + (r & 7))); }
  void cqo() { u8(0x48); u8(0x99); }  // rdx:rax = sign-extended rax
  void cdq() { u8(0x99); }            // edx:eax = sign-extended eax
  void leave() { u8(0xc9); }

  void mov(bool w, uint8_t dst, uint8_t src) {
    if (dst != src || !w) rr(NONE, w, MOV_RM_R, src, dst);  // a 32-bit self-move zero-extends
  }
  // dst = imm, the shortest form.
  void mov_imm(uint8_t dst, uint64_t imm) {
    if (imm == 0) {
      rr(NONE, false, XOR_RM_R, dst, dst);
    } else if (imm <= UINT32_MAX) {  // mov r32, imm32 zero-extends
      rex(false, 0, dst, false);
      u8(static_cast<uint8_t>(0xb8 + (dst & 7)));
      u32(static_cast<uint32_t>(imm));
    } else if (fits_i32(static_cast<int64_t>(imm))) {
      rr(NONE, true, MOV_RM_IMM, 0, dst);
      u32(static_cast<uint32_t>(imm));
    } else {
      rex(true, 0, dst, false);
      u8(static_cast<uint8_t>(0xb8 + (dst & 7)));
      u64(imm);
    }
  }
  // add/or/and/sub/xor/cmp dst, imm32 (sign-extended in 64-bit form).
  void alu_imm(bool w, uint8_t ext, uint8_t dst, int32_t imm) {
    if (fits_i8(imm)) {
      rr(NONE, w, GRP1_IMM8, ext, dst);
      u8(static_cast<uint8_t>(imm));
    } else {
      rr(NONE, w, GRP1_IMM32, ext, dst);
      u32(static_cast<uint32_t>(imm));
    }
  }
  void shift_imm(bool w, uint8_t ext, uint8_t dst, uint8_t count) {
    rr(NONE, w, SHIFT_IMM8, ext, dst);
    u8(count);
  }

  // Jumps and calls with a 32-bit displacement; the returned position is patched later.
  size_t jcc(uint8_t cond) { u8(0x0f); u8(static_cast<uint8_t>(0x80 | cond)); return placeholder(); }
  size_t jmp() { u8(0xe9); return placeholder(); }
  size_t call() { u8(0xe8); return placeholder(); }
  void call_reg(uint8_t r) { rex(false, 0, r, false); u8(0xff); u8(static_cast<uint8_t>(0xd0 | (r & 7))); }
  void jmp_to(size_t target) { patch_rel(jmp(), target); }
  void jcc_to(uint8_t cond, size_t target) { patch_rel(jcc(cond), target); }
  // The rel32 at `at` reaches `target` (both code offsets).
  void patch_rel(size_t at, size_t target) {
    patch_u32(at, static_cast<uint32_t>(static_cast<int64_t>(target) - static_cast<int64_t>(at + 4)));
  }

 private:
  void append(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    code_.insert(code_.end(), b, b + n);
  }
  void prefix(Prefix p) { if (p != NONE) u8(p); }
  void rex(bool w, uint8_t reg, uint8_t rm, bool force) {
    const uint8_t v = static_cast<uint8_t>(0x40 | (w ? 8 : 0) | (reg >> 3 & 1) << 2 | (rm >> 3 & 1));
    if (v != 0x40 || force) u8(v);
  }
  void opcode(uint16_t opc) {
    if (opc > 0xff) u8(static_cast<uint8_t>(opc >> 8));
    u8(static_cast<uint8_t>(opc));
  }
  void mem(uint8_t reg, uint8_t base, int32_t disp) {
    const uint8_t r = static_cast<uint8_t>((reg & 7) << 3), b = base & 7;
    const bool sib = b == 4;  // rsp/r12 as a base need a SIB byte
    if (disp == 0 && b != 5) {  // rbp/r13 with mod 00 would mean rip-relative
      u8(r | b);
      if (sib) u8(0x24);
    } else if (fits_i8(disp)) {
      u8(static_cast<uint8_t>(0x40 | r | b));
      if (sib) u8(0x24);
      u8(static_cast<uint8_t>(disp));
    } else {
      u8(static_cast<uint8_t>(0x80 | r | b));
      if (sib) u8(0x24);
      u32(static_cast<uint32_t>(disp));
    }
  }
  size_t placeholder() { const size_t at = pos(); u32(0); return at; }

  std::vector<uint8_t> code_;
};

}  // namespace bpfq::exec::x86
