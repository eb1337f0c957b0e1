#include <bpfq/ebpf/disassembler.hpp>

#include <cinttypes>
#include <cstdio>
#include <optional>
#include <string_view>

namespace bpfq::ebpf {
namespace {

// Every printer below returns nullopt when the instruction carries bits its text form cannot
// express (unknown opcode, register > 10, a non-zero unused field); the caller then prints
// ".insn" with the raw word, which keeps assemble(disassemble(p)) == p for any input.
using Text = std::optional<std::string>;

bool valid_reg(unsigned r) { return r <= 10; }

std::string reg(unsigned r) { return "%r" + std::to_string(r); }

std::string hex(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, value);
  return buf;
}

// Immediates print in hex with an explicit sign, so "-0x1" reads as the sign-extended -1.
std::string imm_text(int32_t imm) {
  return imm < 0 ? "-" + hex(uint64_t{0} - uint64_t(int64_t(imm))) : hex(uint64_t(imm));
}

std::string offset_text(int64_t off) { return off < 0 ? std::to_string(off) : "+" + std::to_string(off); }

std::string memory_text(unsigned base, int16_t off) {
  if (off == 0) return "[" + reg(base) + "]";
  return "[" + reg(base) + (off < 0 ? "" : "+") + std::to_string(off) + "]";
}

const char* size_suffix(uint8_t size) {
  switch (size) {
    case B: return "b";
    case H: return "h";
    case W: return "w";
    default: return "dw";
  }
}

// "%rS" for the X form, the immediate for the K form.
Text source_operand(const Insn& insn) {
  if (source(insn.code) == X) {
    if (insn.imm != 0 || !valid_reg(insn.src)) return std::nullopt;
    return reg(insn.src);
  }
  if (insn.src != 0) return std::nullopt;
  return imm_text(insn.imm);
}

Text alu_text(const Insn& insn) {
  const bool wide = insn_class(insn.code) == ALU64;
  const std::string width = wide ? "" : "32";
  const uint8_t op = alu_op(insn.code);
  if (!valid_reg(insn.dst)) return std::nullopt;

  if (op == END) {
    if (insn.src != 0 || insn.off != 0 || (insn.imm != 16 && insn.imm != 32 && insn.imm != 64)) return std::nullopt;
    if (wide && source(insn.code) == TO_BE) return std::nullopt;  // ALU64|END is only the bswap form
    const char* name = wide ? "bswap" : source(insn.code) == TO_BE ? "be" : "le";
    return name + std::to_string(insn.imm) + " " + reg(insn.dst);
  }
  if (op == NEG) {
    if (source(insn.code) != K || insn.src != 0 || insn.off != 0 || insn.imm != 0) return std::nullopt;
    return "neg" + width + " " + reg(insn.dst);
  }
  if (op == MOV && source(insn.code) == X && insn.off != 0) {
    const bool valid_width = insn.off == 8 || insn.off == 16 || (wide && insn.off == 32);
    if (!valid_width || insn.imm != 0 || !valid_reg(insn.src)) return std::nullopt;
    return "movsx" + std::to_string(insn.off) + (wide ? "64 " : "32 ") + reg(insn.dst) + ", " + reg(insn.src);
  }

  const char* name = nullptr;
  switch (op) {
    case ADD: name = "add"; break;
    case SUB: name = "sub"; break;
    case MUL: name = "mul"; break;
    case DIV: name = insn.off == 1 ? "sdiv" : "div"; break;
    case OR: name = "or"; break;
    case AND: name = "and"; break;
    case LSH: name = "lsh"; break;
    case RSH: name = "rsh"; break;
    case MOD: name = insn.off == 1 ? "smod" : "mod"; break;
    case XOR: name = "xor"; break;
    case MOV: name = "mov"; break;
    case ARSH: name = "arsh"; break;
    default: return std::nullopt;
  }
  const bool signed_op = op == DIV || op == MOD;
  if (insn.off != 0 && !(signed_op && insn.off == 1)) return std::nullopt;
  Text operand = source_operand(insn);
  if (!operand) return std::nullopt;
  return name + width + " " + reg(insn.dst) + ", " + *operand;
}

Text call_text(const Insn& insn) {
  if (insn.off != 0) return std::nullopt;
  if (source(insn.code) == X) {
    // callx: register in dst, as the bpf_conformance assembler encodes it.
    if (insn.src != 0 || insn.imm != 0 || !valid_reg(insn.dst)) return std::nullopt;
    return "call " + reg(insn.dst);
  }
  if (insn.dst != 0) return std::nullopt;
  switch (insn.src) {
    case CALL_HELPER: return "call " + std::to_string(insn.imm);
    case CALL_LOCAL: return "call local " + offset_text(insn.imm);
    case CALL_KFUNC: return "call kfunc " + std::to_string(insn.imm);
    default: return std::nullopt;
  }
}

Text jump_text(const Insn& insn) {
  const bool narrow = insn_class(insn.code) == JMP32;
  const uint8_t op = alu_op(insn.code);
  switch (op) {
    case JA:
      if (source(insn.code) != K || insn.dst != 0 || insn.src != 0) return std::nullopt;
      if (narrow) {
        if (insn.off != 0) return std::nullopt;
        return "ja32 " + offset_text(insn.imm);  // gotol: the offset lives in imm
      }
      if (insn.imm != 0) return std::nullopt;
      return "ja " + offset_text(insn.off);
    case CALL:
      return narrow ? std::nullopt : call_text(insn);
    case EXIT:
      if (narrow || insn.code != (JMP | EXIT) || insn.dst != 0 || insn.src != 0 || insn.off != 0 || insn.imm != 0)
        return std::nullopt;
      return "exit";
    default: break;
  }
  const char* name = nullptr;
  switch (op) {
    case JEQ: name = "jeq"; break;
    case JGT: name = "jgt"; break;
    case JGE: name = "jge"; break;
    case JSET: name = "jset"; break;
    case JNE: name = "jne"; break;
    case JSGT: name = "jsgt"; break;
    case JSGE: name = "jsge"; break;
    case JLT: name = "jlt"; break;
    case JLE: name = "jle"; break;
    case JSLT: name = "jslt"; break;
    case JSLE: name = "jsle"; break;
    default: return std::nullopt;
  }
  if (!valid_reg(insn.dst)) return std::nullopt;
  Text operand = source_operand(insn);
  if (!operand) return std::nullopt;
  return std::string(name) + (narrow ? "32 " : " ") + reg(insn.dst) + ", " + *operand + ", " + offset_text(insn.off);
}

Text load_text(const Insn& insn) {
  const uint8_t mode = mem_mode(insn.code), size = mem_size(insn.code);
  if (insn.imm != 0 || !valid_reg(insn.dst) || !valid_reg(insn.src)) return std::nullopt;
  const char* prefix = mode == MEM ? "ldx" : mode == MEMSX && size != DW ? "ldxs" : nullptr;
  if (!prefix) return std::nullopt;
  return prefix + std::string(size_suffix(size)) + " " + reg(insn.dst) + ", " + memory_text(insn.src, insn.off);
}

Text store_imm_text(const Insn& insn) {
  if (mem_mode(insn.code) != MEM || insn.src != 0 || !valid_reg(insn.dst)) return std::nullopt;
  return std::string("st") + size_suffix(mem_size(insn.code)) + " " + memory_text(insn.dst, insn.off) + ", " +
         imm_text(insn.imm);
}

Text atomic_text(const Insn& insn) {
  const uint8_t size = mem_size(insn.code);
  if (size != W && size != DW) return std::nullopt;
  const std::string width = size == W ? "32" : "";
  std::string op;
  switch (insn.imm) {
    case ATOMIC_ADD: op = "add"; break;
    case ATOMIC_OR: op = "or"; break;
    case ATOMIC_AND: op = "and"; break;
    case ATOMIC_XOR: op = "xor"; break;
    case ATOMIC_ADD | ATOMIC_FETCH: op = "fetch add"; break;
    case ATOMIC_OR | ATOMIC_FETCH: op = "fetch or"; break;
    case ATOMIC_AND | ATOMIC_FETCH: op = "fetch and"; break;
    case ATOMIC_XOR | ATOMIC_FETCH: op = "fetch xor"; break;
    case ATOMIC_XCHG: op = "xchg"; break;
    case ATOMIC_CMPXCHG: op = "cmpxchg"; break;
    default: return std::nullopt;
  }
  return "lock " + op + width + " " + memory_text(insn.dst, insn.off) + ", " + reg(insn.src);
}

Text store_reg_text(const Insn& insn) {
  if (!valid_reg(insn.dst) || !valid_reg(insn.src)) return std::nullopt;
  if (mem_mode(insn.code) == ATOMIC) return atomic_text(insn);
  if (mem_mode(insn.code) != MEM || insn.imm != 0) return std::nullopt;
  return std::string("stx") + size_suffix(mem_size(insn.code)) + " " + memory_text(insn.dst, insn.off) + ", " +
         reg(insn.src);
}

// lddw spans two slots; the second carries only the upper immediate (or a map value offset).
Text lddw_text(const Insn& first, const Insn& second) {
  if (first.off != 0 || !valid_reg(first.dst)) return std::nullopt;
  if (second.code != 0 || second.dst != 0 || second.src != 0 || second.off != 0) return std::nullopt;
  const std::string head = "lddw " + reg(first.dst) + ", ";
  const uint32_t upper = uint32_t(second.imm);
  switch (first.src) {
    case LDDW_IMM64: return head + hex(uint64_t(upper) << 32 | uint32_t(first.imm));
    case PSEUDO_MAP_FD:
      if (upper != 0) return std::nullopt;
      return head + "map[" + std::to_string(first.imm) + "]";
    case PSEUDO_MAP_VALUE: return head + "map[" + std::to_string(first.imm) + "]+" + std::to_string(upper);
    case PSEUDO_BTF_ID:
      if (upper != 0) return std::nullopt;
      return head + "btf_id " + std::to_string(first.imm);
    case PSEUDO_FUNC:
      if (upper != 0) return std::nullopt;
      return head + "func " + offset_text(first.imm);
    case PSEUDO_MAP_IDX:
      if (upper != 0) return std::nullopt;
      return head + "map_idx[" + std::to_string(first.imm) + "]";
    case PSEUDO_MAP_IDX_VALUE: return head + "map_idx[" + std::to_string(first.imm) + "]+" + std::to_string(upper);
    default: return std::nullopt;
  }
}

Text single_slot_text(const Insn& insn) {
  switch (insn_class(insn.code)) {
    case LDX: return load_text(insn);
    case ST: return store_imm_text(insn);
    case STX: return store_reg_text(insn);
    case ALU:
    case ALU64: return alu_text(insn);
    case JMP:
    case JMP32: return jump_text(insn);
    default: return std::nullopt;  // LD: only lddw (two slots) is supported
  }
}

std::string raw_text(const Insn& insn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ".insn 0x%016" PRIx64, insn.raw());
  return buf;
}

}  // namespace

std::string disassemble_one(const Insn* insns, size_t remaining, size_t* consumed) {
  if (consumed) *consumed = remaining == 0 ? 0 : 1;
  if (remaining == 0) return {};
  const Insn& insn = insns[0];
  if (insn.code == LDDW_OPCODE && remaining >= 2) {
    if (Text text = lddw_text(insn, insns[1])) {
      if (consumed) *consumed = 2;
      return *text;
    }
  }
  Text text = single_slot_text(insn);
  return text ? *text : raw_text(insn);
}

std::string disassemble(const Insn* insns, size_t n) {
  std::string out;
  for (size_t i = 0; i < n;) {
    size_t consumed = 0;
    out += disassemble_one(insns + i, n - i, &consumed);
    out += '\n';
    i += consumed;
  }
  return out;
}

}  // namespace bpfq::ebpf
