// bpfq-conformance-plugin: lets the upstream bpf_conformance runner drive bpfq's interpreter.
// Protocol: argv[1] = input memory as hex bytes ("01  02  …", optional); stdin = the program as
// hex bytes (8 per instruction); prints r0 in hex and exits 0, or prints an error and exits 1.
// Options after the memory: --checked (bounds-checked mode), --elf is not supported.
#include <cctype>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <bpfq/ebpf/insn.hpp>
#include <bpfq/error.hpp>
#include <bpfq/exec/program.hpp>

namespace {

std::vector<uint8_t> parse_hex_bytes(const std::string& text) {
  std::vector<uint8_t> out;
  int nibbles = 0;
  unsigned value = 0;
  for (char ch : text) {
    if (std::isxdigit(static_cast<unsigned char>(ch))) {
      value = value * 16 + (std::isdigit(static_cast<unsigned char>(ch)) ? ch - '0' : (std::tolower(ch) - 'a' + 10));
      if (++nibbles == 2) {
        out.push_back(static_cast<uint8_t>(value));
        nibbles = 0;
        value = 0;
      }
    } else if (!std::isspace(static_cast<unsigned char>(ch))) {
      throw bpfq::Error(std::string("unexpected character '") + ch + "' in hex input");
    } else if (nibbles != 0) {
      throw bpfq::Error("odd number of hex digits in a byte");
    }
  }
  if (nibbles != 0) throw bpfq::Error("odd number of hex digits at the end of input");
  return out;
}

uint64_t unwind_helper(uint64_t a1, uint64_t, uint64_t, uint64_t, uint64_t) { return a1; }

}  // namespace

int main(int argc, char** argv) {
  std::vector<uint8_t> mem;
  bool checked = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--checked") {
      checked = true;
    } else if (arg == "--elf") {
      std::cout << "bpfq-conformance-plugin: --elf input is not supported; pass raw instructions\n";
      return 1;
    } else if (i == 1) {
      try {
        mem = parse_hex_bytes(arg);
      } catch (const bpfq::Error& e) {
        std::cout << "bad memory argument: " << e.what() << "\n";
        return 1;
      }
    }
  }
  try {
    const std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    const std::vector<bpfq::ebpf::Insn> insns = bpfq::ebpf::from_bytes(parse_hex_bytes(text));
    bpfq::exec::HelperRegistry helpers;
    helpers.add_helper(5, "unwind", unwind_helper);
    bpfq::exec::LinkEnv env;
    env.helpers = &helpers;
    bpfq::exec::ProgramOptions opts;
    opts.checked = checked;
    const auto prog = bpfq::exec::Program::load(insns, env, opts);
    const auto r = prog.run(mem.empty() ? nullptr : mem.data(), mem.size());
    if (!r.ok()) {
      std::cout << r.message() << "\n";
      return 1;
    }
    std::printf("%llx\n", static_cast<unsigned long long>(r.r0));
    return 0;
  } catch (const bpfq::Error& e) {
    std::cout << e.what() << "\n";
    return 1;
  }
}
