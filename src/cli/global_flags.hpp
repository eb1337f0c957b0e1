#pragma once
// Flags every bpfq command understands, as tc has them: -j (JSON), -s (statistics), -b FILE.
#include <string>

namespace bpfq::cli {

struct GlobalFlags {
  bool json = false;
  bool stats = false;
  std::string batch;  // -b FILE: tc lines to run
};

}  // namespace bpfq::cli
