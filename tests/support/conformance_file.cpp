#include "support/conformance_file.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>
#include <string_view>

#include <bpfq/ebpf/assembler.hpp>
#include <bpfq/error.hpp>

namespace bpfq::test {
namespace {

enum class Section { Preamble, Asm, Raw, Mem, Result, Error, Ignored };

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

std::string_view strip_comment(std::string_view s) { return trim(s.substr(0, s.find('#'))); }

std::vector<std::string_view> tokens(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

class FileParser {
 public:
  explicit FileParser(const std::filesystem::path& file) : file_(file) {}

  ConformanceCase run() {
    std::ifstream in(file_);
    if (!in) throw Error("cannot open conformance file", file_.string(), "check the path and permissions");
    result_.name = file_.stem().string();
    std::string line;
    while (std::getline(in, line)) {
      ++line_;
      handle_line(line);
    }
    return std::move(result_);
  }

 private:
  [[noreturn]] void fail(const std::string& reason, const std::string& hint = {}) const {
    throw Error(reason, file_.string() + ":" + std::to_string(line_), hint);
  }

  void handle_line(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view content = strip_comment(line);
    // Only lines that start with "--" switch sections, so C code such as "i--" stays inside -- c.
    if (content.starts_with("--")) return open_section(trim(content.substr(2)));
    switch (section_) {
      case Section::Asm:
        result_.asm_text.append(line);
        result_.asm_text += '\n';
        break;
      case Section::Raw:
        for (auto token : tokens(content)) result_.raw.push_back(number(token, "instruction word"));
        break;
      case Section::Mem:
        for (auto token : tokens(content)) result_.mem.push_back(byte(token));
        break;
      case Section::Result:
        if (content.empty()) break;
        if (result_.result) fail("more than one value in the result section", "write exactly one expected r0");
        result_.result = number(content, "result");
        break;
      case Section::Error:
        if (content.empty()) break;
        if (result_.error) fail("more than one line in the error section", "write the expected error on one line");
        result_.error = std::string(content);
        break;
      case Section::Preamble:
      case Section::Ignored: break;
    }
  }

  void open_section(std::string_view name) {
    if (name == "asm") {
      section_ = Section::Asm;
      if (result_.asm_first_line == 0) result_.asm_first_line = line_ + 1;
    } else if (name == "raw") section_ = Section::Raw;
    else if (name == "mem") section_ = Section::Mem;
    else if (name == "result") section_ = Section::Result;
    else if (name == "error") section_ = Section::Error;
    else if (name == "c" || name == "no register offset") section_ = Section::Ignored;
    else fail("unknown section '-- " + std::string(name) + "'",
              "known sections: asm, raw, mem, result, error, c, no register offset");
  }

  // Hex if the token contains "0x" (as bpf_conformance reads it), else decimal; a leading '-'
  // gives the two's complement.
  uint64_t number(std::string_view token, const char* what) const {
    std::string text(token);
    bool hex = text.find("0x") != std::string::npos || text.find("0X") != std::string::npos;
    bool negative = !text.empty() && text[0] == '-';
    std::string digits = negative ? text.substr(1) : text;
    if (hex) {
      if (digits.size() < 2 || digits[0] != '0' || (digits[1] != 'x' && digits[1] != 'X'))
        fail(std::string("bad ") + what + " '" + text + "'", "write hex as 0x1f");
      digits = digits.substr(2);
    }
    const char* allowed = hex ? "0123456789abcdefABCDEF" : "0123456789";
    if (digits.empty() || digits.find_first_not_of(allowed) != std::string::npos)
      fail(std::string("bad ") + what + " '" + text + "'", "write a decimal number or hex with 0x");
    uint64_t value = 0;
    try {
      value = std::stoull(digits, nullptr, hex ? 16 : 10);
    } catch (const std::out_of_range&) {
      fail(std::string(what) + " '" + text + "' does not fit in 64 bits");
    }
    return negative ? uint64_t{0} - value : value;
  }

  uint8_t byte(std::string_view token) const {
    std::string text(token);
    std::string digits = text.starts_with("0x") || text.starts_with("0X") ? text.substr(2) : text;
    if (digits.empty() || digits.size() > 2 || digits.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
      fail("bad memory byte '" + text + "'", "memory is written as hex bytes, e.g. 00 ff 1a");
    return uint8_t(std::stoul(digits, nullptr, 16));
  }

  std::filesystem::path file_;
  size_t line_ = 0;
  Section section_ = Section::Preamble;
  ConformanceCase result_;
};

}  // namespace

ConformanceCase parse_conformance_file(const std::filesystem::path& file) { return FileParser(file).run(); }

std::vector<std::filesystem::path> conformance_files(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file() && entry.path().extension() == ".data") files.push_back(entry.path());
  if (ec) throw Error("cannot list conformance directory: " + ec.message(), dir.string());
  std::sort(files.begin(), files.end());
  return files;
}

std::optional<std::vector<ebpf::Insn>> conformance_program(const ConformanceCase& c) {
  std::vector<ebpf::Insn> insns;
  try {
    if (c.raw.empty()) return ebpf::assemble(c.asm_text);
    for (uint64_t w : c.raw) insns.push_back(ebpf::Insn::from_raw(w));
  } catch (const Error&) {
    return std::nullopt;
  }
  return insns;
}

}  // namespace bpfq::test
