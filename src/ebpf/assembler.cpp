#include <bpfq/ebpf/assembler.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

#include <bpfq/error.hpp>

namespace bpfq::ebpf {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Pieces between separators, each trimmed; an empty input gives no pieces.
std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> pieces;
  if (trim(s).empty()) return pieces;
  for (;;) {
    size_t at = s.find(separator);
    pieces.push_back(trim(s.substr(0, at)));
    if (at == std::string_view::npos) return pieces;
    s.remove_prefix(at + 1);
  }
}

std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) words.push_back(s.substr(start, i - start));
  }
  return words;
}

bool is_label_name(std::string_view s) {
  if (s.empty()) return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!letter(s[0])) return false;
  for (char c : s)
    if (!letter(c) && !digit(c) && c != '.') return false;
  return true;
}

bool starts_with_sign(std::string_view s) { return !s.empty() && (s[0] == '+' || s[0] == '-'); }

// An integer literal as written (sign + magnitude), so that both 64-bit hex patterns and
// negative decimals survive until the caller checks them against its field's range.
struct Literal {
  bool negative = false;
  uint64_t magnitude = 0;
  bool too_big = false;  // more than 64 bits of magnitude
};

std::optional<Literal> parse_literal(std::string_view s) {
  Literal lit;
  if (starts_with_sign(s)) {
    lit.negative = s[0] == '-';
    s.remove_prefix(1);
  }
  unsigned base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  }
  if (s.empty()) return std::nullopt;
  for (char c : s) {
    unsigned digit;
    if (c >= '0' && c <= '9') digit = unsigned(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') digit = unsigned(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') digit = unsigned(c - 'A' + 10);
    else return std::nullopt;
    if (lit.magnitude > (std::numeric_limits<uint64_t>::max() - digit) / base) lit.too_big = true;
    lit.magnitude = lit.magnitude * base + digit;
  }
  return lit;
}

// The two's-complement bit pattern of lit if -max_negative <= lit <= max_positive.
std::optional<uint64_t> bits_within(const Literal& lit, uint64_t max_negative, uint64_t max_positive) {
  if (lit.too_big) return std::nullopt;
  if (lit.negative) {
    if (lit.magnitude > max_negative) return std::nullopt;
    return uint64_t{0} - lit.magnitude;
  }
  if (lit.magnitude > max_positive) return std::nullopt;
  return lit.magnitude;
}

constexpr uint64_t kInt16Magnitude = uint64_t{1} << 15;
constexpr uint64_t kInt32Magnitude = uint64_t{1} << 31;
constexpr uint64_t kInt64Magnitude = uint64_t{1} << 63;

struct MemoryOperand {
  uint8_t reg;
  int16_t off;
};

// A jump target before resolution: a signed slot offset or a label name.
using JumpTarget = std::variant<int64_t, std::string>;

// Which field of an instruction receives a resolved label distance.
enum class TargetField { Offset16, Imm32 };

struct PendingTarget {
  size_t slot;
  std::string label;
  TargetField field;
  size_t line;
};

struct AluOpName {
  std::string_view name;
  uint8_t op;
  int16_t off;  // 1 selects the signed variant of DIV/MOD
};

constexpr AluOpName kAluOps[] = {
    {"add", ADD, 0},  {"sub", SUB, 0},  {"mul", MUL, 0},  {"div", DIV, 0},  {"sdiv", DIV, 1},
    {"or", OR, 0},    {"and", AND, 0},  {"lsh", LSH, 0},  {"rsh", RSH, 0},  {"mod", MOD, 0},
    {"smod", MOD, 1}, {"xor", XOR, 0},  {"mov", MOV, 0},  {"arsh", ARSH, 0},
};

struct JumpOpName {
  std::string_view name;
  uint8_t op;
};

constexpr JumpOpName kJumpOps[] = {
    {"jeq", JEQ},   {"jgt", JGT},   {"jge", JGE},   {"jset", JSET}, {"jne", JNE},  {"jsgt", JSGT},
    {"jsge", JSGE}, {"jlt", JLT},   {"jle", JLE},   {"jslt", JSLT}, {"jsle", JSLE},
};

struct SizeName {
  std::string_view name;
  uint8_t size;
};

constexpr SizeName kSizes[] = {{"b", B}, {"h", H}, {"w", W}, {"dw", DW}};

std::optional<uint8_t> size_named(std::string_view s) {
  for (const auto& entry : kSizes)
    if (entry.name == s) return entry.size;
  return std::nullopt;
}

// Splits a "32" / "64" width suffix off a mnemonic: ("add32", ALU, ALU64) -> ("add", ALU);
// "add" and "add64" give ("add", ALU64). The bits are an instruction class or a size.
std::pair<std::string_view, uint8_t> split_width_suffix(std::string_view mnemonic, uint8_t narrow,
                                                        uint8_t wide) {
  if (mnemonic.size() > 2 && mnemonic.ends_with("32")) return {mnemonic.substr(0, mnemonic.size() - 2), narrow};
  if (mnemonic.size() > 2 && mnemonic.ends_with("64")) return {mnemonic.substr(0, mnemonic.size() - 2), wide};
  return {mnemonic, wide};
}

constexpr const char* kMnemonicHint =
    "expected e.g. mov, add32, neg, be16, bswap64, movsx832, ldxw, ldxsb, stw, stxdw, lddw, "
    "lock [fetch] add, ja, jeq32, call, exit, .insn";

class Assembler {
 public:
  std::vector<Insn> run(std::string_view text) {
    size_t start = 0;
    for (size_t number = 1; start <= text.size(); ++number) {
      size_t end = std::min(text.find('\n', start), text.size());
      line_ = number;
      assemble_line(text.substr(start, end - start));
      start = end + 1;
    }
    resolve_targets();
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const std::string& reason, const std::string& hint = {}) const {
    throw Error(reason, "line " + std::to_string(line_), hint);
  }

  void assemble_line(std::string_view line) {
    std::string_view code = trim(line.substr(0, line.find('#')));
    // Leading "name:" prefixes are labels for the next instruction.
    for (size_t colon; (colon = code.find(':')) != std::string_view::npos;) {
      std::string_view name = trim(code.substr(0, colon));
      if (!is_label_name(name)) break;
      define_label(std::string(name));
      code = trim(code.substr(colon + 1));
    }
    if (code.empty()) return;
    size_t space = 0;
    while (space < code.size() && !is_space(code[space])) ++space;
    std::string_view mnemonic = code.substr(0, space);
    std::string_view rest = trim(code.substr(space));
    assemble_instruction(mnemonic, rest);
  }

  void define_label(std::string name) {
    auto [it, inserted] = labels_.try_emplace(std::move(name), LabelSite{out_.size(), line_});
    if (!inserted)
      fail("label '" + it->first + "' is defined twice",
           "it was first defined on line " + std::to_string(it->second.line));
  }

  void emit(Insn insn) { out_.push_back(insn); }

  void assemble_instruction(std::string_view mnemonic, std::string_view rest) {
    if (mnemonic == "exit") return assemble_exit(rest);
    if (mnemonic == "ja" || mnemonic == "ja32") return assemble_ja(mnemonic, rest);
    if (mnemonic == "call") return assemble_call(rest);
    if (mnemonic == "lddw") return assemble_lddw(rest);
    if (mnemonic == "lock") return assemble_atomic(rest);
    if (mnemonic == ".insn") return assemble_raw(rest);
    if (assemble_byte_swap(mnemonic, rest)) return;
    if (assemble_sign_extending_move(mnemonic, rest)) return;
    if (assemble_load_store(mnemonic, rest)) return;
    if (assemble_conditional_jump(mnemonic, rest)) return;
    if (assemble_alu(mnemonic, rest)) return;
    fail("unknown mnemonic '" + std::string(mnemonic) + "'", kMnemonicHint);
  }

  // ---- operands ---------------------------------------------------------------------------

  std::vector<std::string_view> operands(std::string_view mnemonic, std::string_view rest,
                                         size_t expected, std::string_view usage) const {
    auto ops = split(rest, ',');
    if (ops.size() != expected)
      fail("'" + std::string(mnemonic) + "' takes " + std::to_string(expected) + " operand" +
               (expected == 1 ? "" : "s") + ", got " + std::to_string(ops.size()),
           "usage: " + std::string(usage));
    for (auto op : ops)
      if (op.empty()) fail("empty operand in '" + std::string(mnemonic) + "'", "usage: " + std::string(usage));
    return ops;
  }

  uint8_t reg(std::string_view token) const {
    std::string_view digits = token.substr(std::min<size_t>(2, token.size()));
    bool well_formed = token.starts_with("%r") && !digits.empty() && digits.size() <= 2 &&
                       digits.find_first_not_of("0123456789") == std::string_view::npos;
    unsigned number = well_formed ? unsigned(std::stoul(std::string(digits))) : 0;
    if (!well_formed || number > 10)
      fail("bad register '" + std::string(token) + "'", "registers are written %r0 ... %r10");
    return uint8_t(number);
  }

  bool is_register(std::string_view token) const { return !token.empty() && token[0] == '%'; }

  Literal literal(std::string_view token, std::string_view what) const {
    auto lit = parse_literal(token);
    if (!lit) {
      std::string hint = "write a decimal (-8, 42) or hex (0x2a) number";
      if (token.size() >= 2 && token[0] == 'r' && token[1] >= '0' && token[1] <= '9')
        hint = "registers are written %r0 ... %r10";
      fail("bad " + std::string(what) + " '" + std::string(token) + "'", hint);
    }
    return *lit;
  }

  int32_t imm32(std::string_view token) const {
    auto bits = bits_within(literal(token, "immediate"), kInt32Magnitude, std::numeric_limits<uint32_t>::max());
    if (!bits)
      fail("immediate " + std::string(token) + " is out of range for a 32-bit field",
           "use -2147483648 ... 4294967295 (0xffffffff); lddw takes 64-bit values");
    return int32_t(uint32_t(*bits));
  }

  uint64_t imm64(std::string_view token) const {
    auto bits = bits_within(literal(token, "immediate"), kInt64Magnitude, std::numeric_limits<uint64_t>::max());
    if (!bits)
      fail("immediate " + std::string(token) + " is out of range for 64 bits",
           "use -9223372036854775808 ... 0xffffffffffffffff");
    return *bits;
  }

  int16_t offset16(std::string_view token) const {
    auto bits = bits_within(literal(token, "offset"), kInt16Magnitude, kInt16Magnitude - 1);
    if (!bits) fail("offset " + std::string(token) + " is out of range for 16 bits", "use -32768 ... 32767");
    return int16_t(uint16_t(*bits));
  }

  // "[%r1]", "[%r1+2]", "[%r10-8]" (spaces inside the brackets are tolerated).
  MemoryOperand memory(std::string_view token) const {
    const std::string hint = "write memory operands as [%rN], [%rN+off] or [%rN-off]";
    if (token.size() < 2 || token.front() != '[' || token.back() != ']')
      fail("bad memory operand '" + std::string(token) + "'", hint);
    std::string_view inside = trim(token.substr(1, token.size() - 2));
    size_t sign = inside.find_first_of("+-");
    MemoryOperand m{reg(trim(inside.substr(0, sign))), 0};
    if (sign != std::string_view::npos) {
      std::string offset(1, inside[sign]);
      for (char c : inside.substr(sign + 1))
        if (!is_space(c)) offset += c;
      m.off = offset16(offset);
    }
    return m;
  }

  JumpTarget target(std::string_view token) const {
    if (starts_with_sign(token)) {
      auto lit = literal(token, "jump offset");
      auto bits = bits_within(lit, kInt32Magnitude, kInt32Magnitude - 1);
      if (!bits) fail("jump offset " + std::string(token) + " is out of range", "offsets are signed 32-bit at most");
      return int64_t(int32_t(uint32_t(*bits)));
    }
    if (!is_label_name(token))
      fail("bad jump target '" + std::string(token) + "'",
           "write a label name or a signed slot offset such as +2 or -1");
    return std::string(token);
  }

  // Stores a numeric target now or records a label for resolve_targets().
  void set_target(Insn& insn, const JumpTarget& where, TargetField field) {
    if (const auto* offset = std::get_if<int64_t>(&where)) {
      if (field == TargetField::Offset16) {
        if (*offset < std::numeric_limits<int16_t>::min() || *offset > std::numeric_limits<int16_t>::max())
          fail("jump offset " + std::to_string(*offset) + " does not fit the 16-bit offset field",
               "use ja32 for jumps farther than 32767 slots");
        insn.off = int16_t(*offset);
      } else {
        insn.imm = int32_t(*offset);
      }
      return;
    }
    pending_.push_back({out_.size(), std::get<std::string>(where), field, line_});
  }

  void resolve_targets() {
    for (const auto& pending : pending_) {
      line_ = pending.line;
      std::optional<size_t> target_slot;
      if (auto it = labels_.find(pending.label); it != labels_.end()) target_slot = it->second.slot;
      else if (pending.label == "exit" && first_exit_) target_slot = *first_exit_;
      if (!target_slot)
        fail("undefined label '" + pending.label + "'",
             "define it with '" + pending.label + ":' before the instruction it names");
      int64_t distance = int64_t(*target_slot) - int64_t(pending.slot) - 1;
      Insn& insn = out_[pending.slot];
      if (pending.field == TargetField::Offset16) {
        if (distance < std::numeric_limits<int16_t>::min() || distance > std::numeric_limits<int16_t>::max())
          fail("label '" + pending.label + "' is " + std::to_string(distance) +
                   " slots away, too far for a 16-bit jump offset",
               "use ja32, whose offset is 32-bit");
        insn.off = int16_t(distance);
      } else {
        insn.imm = int32_t(distance);
      }
    }
  }

  // ---- instruction forms ------------------------------------------------------------------

  void assemble_exit(std::string_view rest) {
    operands("exit", rest, 0, "exit");
    if (!first_exit_) first_exit_ = out_.size();
    emit(Insn::make(JMP | EXIT));
  }

  void assemble_ja(std::string_view mnemonic, std::string_view rest) {
    bool wide = mnemonic == "ja32";
    auto ops = operands(mnemonic, rest, 1, wide ? "ja32 label|+N" : "ja label|+N");
    Insn insn = Insn::make((wide ? JMP32 : JMP) | JA);
    set_target(insn, target(ops[0]), wide ? TargetField::Imm32 : TargetField::Offset16);
    emit(insn);
  }

  // call N | call helper N | call %rN | call local label|+N | call kfunc N | call runtime N
  void assemble_call(std::string_view rest) {
    const char* usage = "call <helper id> | call %rN | call local <label|+N> | call kfunc <btf id>";
    auto words = split_words(rest);
    if (words.size() == 2 && words[0] == "helper") words.erase(words.begin());
    if (words.size() == 1) {
      if (is_register(words[0])) {
        // callx: the bpf_conformance/ubpf convention puts the register in dst.
        emit(Insn::make(JMP | CALL | X, reg(words[0])));
      } else {
        emit(Insn::make(JMP | CALL, 0, CALL_HELPER, 0, imm32(words[0])));
      }
      return;
    }
    if (words.size() == 2 && words[0] == "local") {
      Insn insn = Insn::make(JMP | CALL, 0, CALL_LOCAL);
      set_target(insn, target(words[1]), TargetField::Imm32);
      emit(insn);
      return;
    }
    if (words.size() == 2 && (words[0] == "kfunc" || words[0] == "runtime")) {
      emit(Insn::make(JMP | CALL, 0, CALL_KFUNC, 0, imm32(words[1])));
      return;
    }
    fail("bad call operands '" + std::string(rest) + "'", std::string("usage: ") + usage);
  }

  // lddw %rD, imm64 | map[N] | map[N]+off | map_idx[N] | map_idx[N]+off | btf_id N | func label|+N
  void assemble_lddw(std::string_view rest) {
    const char* usage = "lddw %rD, <imm64 | map[N] | map[N]+off | map_idx[N][+off] | btf_id N | func label|+N>";
    auto ops = operands("lddw", rest, 2, usage);
    uint8_t dst = reg(ops[0]);
    std::string_view value = ops[1];
    Insn first = Insn::make(LDDW_OPCODE, dst);
    Insn second = Insn::make(0);

    auto words = split_words(value);
    if (value.starts_with("map[") || value.starts_with("map_idx[")) {
      bool by_index = value.starts_with("map_idx[");
      size_t open = value.find('['), close = value.find(']');
      if (close == std::string_view::npos)
        fail("bad map reference '" + std::string(value) + "'", std::string("usage: ") + usage);
      first.imm = imm32(trim(value.substr(open + 1, close - open - 1)));
      std::string_view tail = trim(value.substr(close + 1));
      if (tail.empty()) {
        first.src = by_index ? PSEUDO_MAP_IDX : PSEUDO_MAP_FD;
      } else {
        if (tail[0] != '+')
          fail("bad map value offset '" + std::string(tail) + "'", "write map[N]+off with off >= 0");
        auto bits = bits_within(literal(trim(tail.substr(1)), "map value offset"), 0,
                                std::numeric_limits<uint32_t>::max());
        if (!bits)
          fail("map value offset " + std::string(tail.substr(1)) + " is out of range", "use 0 ... 4294967295");
        first.src = by_index ? PSEUDO_MAP_IDX_VALUE : PSEUDO_MAP_VALUE;
        second.imm = int32_t(uint32_t(*bits));
      }
    } else if (words.size() == 2 && words[0] == "btf_id") {
      first.src = PSEUDO_BTF_ID;
      first.imm = imm32(words[1]);
    } else if (words.size() == 2 && words[0] == "func") {
      first.src = PSEUDO_FUNC;
      set_target(first, target(words[1]), TargetField::Imm32);
    } else {
      uint64_t bits = imm64(value);
      first.imm = int32_t(uint32_t(bits));
      second.imm = int32_t(uint32_t(bits >> 32));
    }
    emit(first);
    emit(second);
  }

  // lock [fetch] add|or|and|xor[32] [%rD+off], %rS ; lock xchg|cmpxchg[32] [%rD+off], %rS
  void assemble_atomic(std::string_view rest) {
    const char* usage = "lock [fetch] add|or|and|xor[32] [%rD+off], %rS | lock xchg|cmpxchg[32] [%rD+off], %rS";
    size_t bracket = rest.find('[');
    auto words = split_words(rest.substr(0, bracket));
    bool fetch = !words.empty() && words[0] == "fetch";
    if (fetch) words.erase(words.begin());
    if (bracket == std::string_view::npos || words.size() != 1)
      fail("bad atomic instruction 'lock " + std::string(rest) + "'", std::string("usage: ") + usage);
    auto [op_name, size] = split_width_suffix(words[0], W, DW);
    int32_t op;
    if (op_name == "add") op = ATOMIC_ADD;
    else if (op_name == "or") op = ATOMIC_OR;
    else if (op_name == "and") op = ATOMIC_AND;
    else if (op_name == "xor") op = ATOMIC_XOR;
    else if (op_name == "xchg") op = ATOMIC_XCHG;
    else if (op_name == "cmpxchg") op = ATOMIC_CMPXCHG;
    else fail("unknown atomic operation '" + std::string(words[0]) + "'", std::string("usage: ") + usage);
    if (fetch && (op == ATOMIC_XCHG || op == ATOMIC_CMPXCHG))
      fail("'fetch' is redundant with " + std::string(op_name), "xchg and cmpxchg always return the old value");
    if (fetch) op |= ATOMIC_FETCH;
    auto ops = operands("lock " + std::string(words[0]), rest.substr(bracket), 2, usage);
    MemoryOperand m = memory(ops[0]);
    emit(Insn::make(STX | ATOMIC | size, m.reg, reg(ops[1]), m.off, op));
  }

  void assemble_raw(std::string_view rest) {
    auto ops = operands(".insn", rest, 1, ".insn 0x<64-bit instruction word>");
    emit(Insn::from_raw(imm64(ops[0])));
  }

  // be16/32/64 and le16/32/64 (ALU class); bswap16/32/64 alias swap16/32/64 (ALU64, v4).
  bool assemble_byte_swap(std::string_view mnemonic, std::string_view rest) {
    uint8_t code;
    std::string_view width;
    if (mnemonic.starts_with("be")) code = ALU | END | TO_BE, width = mnemonic.substr(2);
    else if (mnemonic.starts_with("le")) code = ALU | END | TO_LE, width = mnemonic.substr(2);
    else if (mnemonic.starts_with("bswap")) code = ALU64 | END | TO_LE, width = mnemonic.substr(5);
    else if (mnemonic.starts_with("swap")) code = ALU64 | END | TO_LE, width = mnemonic.substr(4);
    else return false;
    if (width != "16" && width != "32" && width != "64") return false;
    auto ops = operands(mnemonic, rest, 1, std::string(mnemonic) + " %rD");
    emit(Insn::make(code, reg(ops[0]), 0, 0, width == "16" ? 16 : width == "32" ? 32 : 64));
    return true;
  }

  // movsx<from><to>: sign-extend the low <from> bits into a <to>-bit result (v4 MOVSX).
  bool assemble_sign_extending_move(std::string_view mnemonic, std::string_view rest) {
    struct Form { std::string_view name; uint8_t cls; int16_t bits; };
    static constexpr Form kForms[] = {{"movsx832", ALU, 8},    {"movsx1632", ALU, 16}, {"movsx864", ALU64, 8},
                                      {"movsx1664", ALU64, 16}, {"movsx3264", ALU64, 32}};
    for (const auto& form : kForms) {
      if (form.name != mnemonic) continue;
      auto ops = operands(mnemonic, rest, 2, std::string(mnemonic) + " %rD, %rS");
      emit(Insn::make(form.cls | MOV | X, reg(ops[0]), reg(ops[1]), form.bits));
      return true;
    }
    return false;
  }

  // ldx<size>, ldxs<size> (sign-extending), st<size>, stx<size>; size is b, h, w or dw.
  bool assemble_load_store(std::string_view mnemonic, std::string_view rest) {
    auto try_form = [&](std::string_view prefix) -> std::optional<uint8_t> {
      if (!mnemonic.starts_with(prefix)) return std::nullopt;
      return size_named(mnemonic.substr(prefix.size()));
    };
    if (auto size = try_form("ldxs"); size && *size != DW) {
      auto ops = operands(mnemonic, rest, 2, std::string(mnemonic) + " %rD, [%rS+off]");
      uint8_t dst = reg(ops[0]);
      MemoryOperand m = memory(ops[1]);
      emit(Insn::make(LDX | MEMSX | *size, dst, m.reg, m.off));
      return true;
    }
    if (auto size = try_form("ldx")) {
      auto ops = operands(mnemonic, rest, 2, std::string(mnemonic) + " %rD, [%rS+off]");
      uint8_t dst = reg(ops[0]);
      MemoryOperand m = memory(ops[1]);
      emit(Insn::make(LDX | MEM | *size, dst, m.reg, m.off));
      return true;
    }
    if (auto size = try_form("stx")) {
      auto ops = operands(mnemonic, rest, 2, std::string(mnemonic) + " [%rD+off], %rS");
      MemoryOperand m = memory(ops[0]);
      emit(Insn::make(STX | MEM | *size, m.reg, reg(ops[1]), m.off));
      return true;
    }
    if (auto size = try_form("st")) {
      auto ops = operands(mnemonic, rest, 2, std::string(mnemonic) + " [%rD+off], imm");
      MemoryOperand m = memory(ops[0]);
      emit(Insn::make(ST | MEM | *size, m.reg, 0, m.off, imm32(ops[1])));
      return true;
    }
    return false;
  }

  // jeq[32] %rD, %rS|imm, label|+N and the other conditional jumps.
  bool assemble_conditional_jump(std::string_view mnemonic, std::string_view rest) {
    auto [base, cls] = split_width_suffix(mnemonic, JMP32, JMP);
    for (const auto& entry : kJumpOps) {
      if (entry.name != base) continue;
      auto ops = operands(mnemonic, rest, 3, std::string(mnemonic) + " %rD, %rS|imm, label|+N");
      Insn insn = Insn::make(cls | entry.op, reg(ops[0]));
      if (is_register(ops[1])) {
        insn.code |= X;
        insn.src = reg(ops[1]) & 0x0f;
      } else {
        insn.imm = imm32(ops[1]);
      }
      set_target(insn, target(ops[2]), TargetField::Offset16);
      emit(insn);
      return true;
    }
    return false;
  }

  // add[32] %rD, %rS|imm and friends; neg[32] %rD.
  bool assemble_alu(std::string_view mnemonic, std::string_view rest) {
    auto [base, cls] = split_width_suffix(mnemonic, ALU, ALU64);
    if (base == "neg") {
      auto ops = operands(mnemonic, rest, 1, std::string(mnemonic) + " %rD");
      emit(Insn::make(cls | NEG | K, reg(ops[0])));
      return true;
    }
    for (const auto& entry : kAluOps) {
      if (entry.name != base) continue;
      auto ops = operands(mnemonic, rest, 2, std::string(mnemonic) + " %rD, %rS|imm");
      Insn insn = Insn::make(cls | entry.op, reg(ops[0]), 0, entry.off);
      if (is_register(ops[1])) {
        insn.code |= X;
        insn.src = reg(ops[1]) & 0x0f;
      } else {
        insn.imm = imm32(ops[1]);
      }
      emit(insn);
      return true;
    }
    return false;
  }

  struct LabelSite {
    size_t slot;
    size_t line;
  };

  size_t line_ = 0;
  std::vector<Insn> out_;
  std::unordered_map<std::string, LabelSite> labels_;
  std::optional<size_t> first_exit_;  // the implicit target of "exit" when no exit: label exists
  std::vector<PendingTarget> pending_;
};

}  // namespace

std::vector<Insn> assemble(std::string_view text) { return Assembler{}.run(text); }

}  // namespace bpfq::ebpf
