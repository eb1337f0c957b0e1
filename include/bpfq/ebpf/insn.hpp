#pragma once
// The eBPF instruction encoding (RFC 9669, ISA v4): struct bpf_insn and its field constants.
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

namespace bpfq::ebpf {

// Little-endian 8-byte slot; dst_reg is the low nibble of the register byte.
struct Insn {
  uint8_t code;
  uint8_t dst : 4;
  uint8_t src : 4;
  int16_t off;
  int32_t imm;

  uint64_t raw() const;              // the 64-bit word as stored in memory
  static Insn from_raw(uint64_t w);
  // Registers are masked to their 4 bits.
  static constexpr Insn make(uint8_t code, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0) {
    Insn insn{};
    insn.code = code;
    insn.dst = dst & 0x0f;
    insn.src = src & 0x0f;
    insn.off = off;
    insn.imm = imm;
    return insn;
  }
  friend bool operator==(const Insn&, const Insn&) = default;
};
static_assert(sizeof(Insn) == 8);
static_assert(std::is_trivially_copyable_v<Insn> && std::is_trivial_v<Insn>);

std::vector<Insn> from_bytes(std::span<const uint8_t> bytes);  // size must be a multiple of 8
std::vector<uint8_t> to_bytes(std::span<const Insn> insns);

// Instruction classes (low 3 bits of code).
inline constexpr uint8_t LD = 0;
inline constexpr uint8_t LDX = 1;
inline constexpr uint8_t ST = 2;
inline constexpr uint8_t STX = 3;
inline constexpr uint8_t ALU = 4;
inline constexpr uint8_t JMP = 5;
inline constexpr uint8_t JMP32 = 6;
inline constexpr uint8_t ALU64 = 7;
// ALU operations (high 4 bits) and source bit.
inline constexpr uint8_t ADD = 0x00;
inline constexpr uint8_t SUB = 0x10;
inline constexpr uint8_t MUL = 0x20;
inline constexpr uint8_t DIV = 0x30;
inline constexpr uint8_t OR = 0x40;
inline constexpr uint8_t AND = 0x50;
inline constexpr uint8_t LSH = 0x60;
inline constexpr uint8_t RSH = 0x70;
inline constexpr uint8_t NEG = 0x80;
inline constexpr uint8_t MOD = 0x90;
inline constexpr uint8_t XOR = 0xa0;
inline constexpr uint8_t MOV = 0xb0;
inline constexpr uint8_t ARSH = 0xc0;
inline constexpr uint8_t END = 0xd0;
inline constexpr uint8_t K = 0x00;
inline constexpr uint8_t X = 0x08;
inline constexpr uint8_t JA = 0x00;
inline constexpr uint8_t JEQ = 0x10;
inline constexpr uint8_t JGT = 0x20;
inline constexpr uint8_t JGE = 0x30;
inline constexpr uint8_t JSET = 0x40;
inline constexpr uint8_t JNE = 0x50;
inline constexpr uint8_t JSGT = 0x60;
inline constexpr uint8_t JSGE = 0x70;
inline constexpr uint8_t CALL = 0x80;
inline constexpr uint8_t EXIT = 0x90;
inline constexpr uint8_t JLT = 0xa0;
inline constexpr uint8_t JLE = 0xb0;
inline constexpr uint8_t JSLT = 0xc0;
inline constexpr uint8_t JSLE = 0xd0;
// Load/store size and mode.
inline constexpr uint8_t W = 0x00;
inline constexpr uint8_t H = 0x08;
inline constexpr uint8_t B = 0x10;
inline constexpr uint8_t DW = 0x18;
inline constexpr uint8_t IMM = 0x00;
inline constexpr uint8_t ABS = 0x20;
inline constexpr uint8_t IND = 0x40;
inline constexpr uint8_t MEM = 0x60;
inline constexpr uint8_t MEMSX = 0x80;
inline constexpr uint8_t ATOMIC = 0xc0;
// END source bit: TO_LE = 0x00, TO_BE = 0x08 (ALU); ALU64|END is an unconditional bswap.
inline constexpr uint8_t TO_LE = 0x00;
inline constexpr uint8_t TO_BE = 0x08;
// Atomic operations (imm of STX|ATOMIC).
inline constexpr int32_t ATOMIC_ADD = 0x00;
inline constexpr int32_t ATOMIC_OR = 0x40;
inline constexpr int32_t ATOMIC_AND = 0x50;
inline constexpr int32_t ATOMIC_XOR = 0xa0;
inline constexpr int32_t ATOMIC_FETCH = 0x01;
inline constexpr int32_t ATOMIC_XCHG = 0xe0 | ATOMIC_FETCH;
inline constexpr int32_t ATOMIC_CMPXCHG = 0xf0 | ATOMIC_FETCH;
// src_reg of lddw: what the 64-bit immediate means.
inline constexpr uint8_t LDDW_IMM64 = 0;
inline constexpr uint8_t PSEUDO_MAP_FD = 1;
inline constexpr uint8_t PSEUDO_MAP_VALUE = 2;
inline constexpr uint8_t PSEUDO_BTF_ID = 3;
inline constexpr uint8_t PSEUDO_FUNC = 4;
inline constexpr uint8_t PSEUDO_MAP_IDX = 5;
inline constexpr uint8_t PSEUDO_MAP_IDX_VALUE = 6;
// src_reg of call: helper by id, local sub-program, kernel function.
inline constexpr uint8_t CALL_HELPER = 0;
inline constexpr uint8_t CALL_LOCAL = 1;
inline constexpr uint8_t CALL_KFUNC = 2;

constexpr uint8_t LDDW_OPCODE = LD | IMM | DW;  // 0x18
constexpr int kNumRegs = 11;                   // r0..r10
constexpr int kFrameReg = 10;
constexpr int kStackSize = 512;                // bytes per frame
constexpr int kMaxCallDepth = 8;
constexpr uint64_t kMaxLoops = uint64_t{1} << 23;  // bpf_loop's limit: the kernel's BPF_MAX_LOOPS

inline uint8_t insn_class(uint8_t code) { return code & 0x07; }
inline uint8_t alu_op(uint8_t code) { return code & 0xf0; }
inline uint8_t source(uint8_t code) { return code & 0x08; }
inline uint8_t mem_size(uint8_t code) { return code & 0x18; }
inline uint8_t mem_mode(uint8_t code) { return code & 0xe0; }
inline int size_bytes(uint8_t size) { return size == W ? 4 : size == H ? 2 : size == B ? 1 : 8; }

}  // namespace bpfq::ebpf
