#pragma once
// What the tests and benchmarks that load programs into the running kernel (bpf()) share.
// Header-only: the benchmarks include it without linking the test support library.
#include <unistd.h>

#include <cstring>
#include <string>
#include <utility>

namespace bpfq::test {

// "EPERM (Operation not permitted)".
inline std::string errno_text(int err) {
  const char* name = strerrorname_np(err);
  return std::string(name ? name : "errno " + std::to_string(err)) + " (" + std::strerror(err) + ")";
}

// Owns a file descriptor (a loaded program); -1: none.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

}  // namespace bpfq::test
