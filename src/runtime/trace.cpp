#include <bpfq/runtime/trace.hpp>

namespace bpfq::runtime {

void StderrTraceSink::write(std::string_view text) {
  const bool newline = !text.empty() && text.back() == '\n';
  std::fprintf(out_, "%s%.*s%s", prefix_.c_str(), static_cast<int>(text.size()), text.data(),
               newline ? "" : "\n");
}

}  // namespace bpfq::runtime
