#include "trace_format.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace bpfq::runtime::detail {

namespace {

// Appends with snprintf semantics, remembering how much fit.
struct Out {
  char* buf;
  size_t cap;
  size_t len = 0;

  template <class... A>
  void print(const char* spec, A... a) {
    if (len + 1 >= cap) return;
    const int n = std::snprintf(buf + len, cap - len, spec, a...);
    if (n > 0) len = std::min(cap - 1, len + static_cast<size_t>(n));
  }
  void put(char c) {
    if (len + 1 < cap) buf[len++] = c;
  }
};

}  // namespace

long format_trace(const char* fmt, size_t fmt_len, const uint64_t* args, int n_args, int max_args,
                  ReadString read_string, char* buf, size_t cap) {
  if (fmt_len == 0 || fmt[fmt_len - 1] != '\0' || cap == 0) return -EINVAL;
  const size_t end = std::strlen(fmt);
  Out out{buf, cap};
  int used = 0;
  for (size_t i = 0; i < end; ++i) {
    if (fmt[i] != '%') {
      out.put(fmt[i]);
      continue;
    }
    if (fmt[i + 1] == '%') {
      out.put('%');
      ++i;
      continue;
    }
    if (used >= max_args) return -EINVAL;
    // spec: '%', flags, width, length, conversion; "0+- " flags and digits only.
    char spec[32];
    size_t s = 0;
    spec[s++] = '%';
    ++i;
    while (fmt[i] == '0' || fmt[i] == '+' || fmt[i] == '-' || fmt[i] == ' ') {
      if (s < 8) spec[s++] = fmt[i];
      ++i;
    }
    while (fmt[i] >= '0' && fmt[i] <= '9') {
      if (s < 16) spec[s++] = fmt[i];
      ++i;
    }
    const uint64_t arg = used < n_args ? args[used] : 0;
    ++used;
    const char conv = fmt[i];
    if (conv == 'p') {
      const char ext = fmt[i + 1];
      if (ext == 'x' || ext == 'K') {
        ++i;
      } else if (ext != '\0' && ext != ' ' && ext != '\n' && ext != '\t' &&
                 !(ext >= '!' && ext <= '/') && !(ext >= ':' && ext <= '@')) {
        return -EINVAL;  // %pi4, %pB, …: not supported
      }
      std::memcpy(spec + s, "llx", 4);
      out.print("0x");
      out.print(spec, static_cast<unsigned long long>(arg));
      continue;
    }
    if (conv == 's') {
      char str[256];
      if (arg == 0) {
        std::strcpy(str, "(null)");
      } else if (!read_string(arg, str, sizeof str)) {
        std::strcpy(str, "(bad pointer)");
      }
      spec[s++] = 's';
      spec[s] = '\0';
      out.print(spec, static_cast<const char*>(str));
      continue;
    }
    if (conv == 'c') {
      spec[s++] = 'c';
      spec[s] = '\0';
      out.print(spec, static_cast<int>(static_cast<unsigned char>(arg)));
      continue;
    }
    bool wide = false;
    if (fmt[i] == 'l') {
      wide = true;
      ++i;
      if (fmt[i] == 'l') ++i;
    }
    const char c = fmt[i];
    if (c != 'd' && c != 'i' && c != 'u' && c != 'x' && c != 'X') return -EINVAL;
    spec[s++] = 'l';
    spec[s++] = 'l';
    spec[s++] = c;
    spec[s] = '\0';
    if (c == 'd' || c == 'i') {
      const long long v = wide ? static_cast<long long>(arg) : static_cast<int32_t>(arg);
      out.print(spec, v);
    } else {
      const unsigned long long v = wide ? arg : static_cast<uint32_t>(arg);
      out.print(spec, v);
    }
  }
  buf[out.len] = '\0';
  return static_cast<long>(out.len);
}

}  // namespace bpfq::runtime::detail
