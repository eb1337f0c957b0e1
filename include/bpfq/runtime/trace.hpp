#pragma once
// Where bpf_trace_printk output goes. The helper formats into a fixed buffer (no allocation)
// and hands the text, exactly as formatted, to the run's TraceSink.
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace bpfq::runtime {

class TraceSink {
 public:
  virtual ~TraceSink() = default;
  // One bpf_trace_printk call's output (a trailing '\n' is kept if the format had one).
  virtual void write(std::string_view text) = 0;
};

// The default: "<prefix><text>\n" on a stdio stream (a newline is added only when missing).
class StderrTraceSink final : public TraceSink {
 public:
  explicit StderrTraceSink(std::string prefix = "bpf_trace_printk: ", std::FILE* out = stderr)
      : prefix_(std::move(prefix)), out_(out) {}
  void write(std::string_view text) override;

 private:
  std::string prefix_;
  std::FILE* out_;
};

// Keeps every line, for tests and tools. Allocates: meant for debugging, not for production.
class CollectingTraceSink final : public TraceSink {
 public:
  void write(std::string_view text) override {
    std::lock_guard lock(mutex_);
    lines_.emplace_back(text);
  }
  std::vector<std::string> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    lines_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

}  // namespace bpfq::runtime
