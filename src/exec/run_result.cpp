#include <cstdio>

#include <bpfq/exec/program.hpp>

namespace bpfq::exec {

std::string RunResult::message() const {
  char buf[256];
  const unsigned at = pc;
  switch (fault) {
    case Fault::None: return "ok";
    case Fault::OutOfBounds:
      snprintf(buf, sizeof buf, "out-of-bounds access of %u bytes at 0x%llx (insn %u)", size,
               static_cast<unsigned long long>(addr), at);
      break;
    case Fault::ReadOnly:
      snprintf(buf, sizeof buf, "write of %u bytes to read-only memory at 0x%llx (insn %u)", size,
               static_cast<unsigned long long>(addr), at);
      break;
    case Fault::Budget:  // detail: which budget, when it is not the checked instruction count
      snprintf(buf, sizeof buf, "%s, runaway loop? (insn %u)", detail ? detail : "instruction budget exhausted", at);
      break;
    case Fault::CallDepth:
      snprintf(buf, sizeof buf, "call depth exceeds 8 frames (insn %u)", at);
      break;
    case Fault::HelperFault:
    case Fault::BadCallback:
      snprintf(buf, sizeof buf, "helper failed: %s (insn %u)", detail ? detail : "bad arguments", at);
      break;
    case Fault::FellOffEnd:
      snprintf(buf, sizeof buf, "execution ran past the last instruction (insn %u)", at);
      break;
    case Fault::Misaligned:
      snprintf(buf, sizeof buf, "misaligned atomic access of %u bytes at 0x%llx (insn %u)", size,
               static_cast<unsigned long long>(addr), at);
      break;
  }
  return buf;
}

}  // namespace bpfq::exec
