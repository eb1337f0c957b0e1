#pragma once
// Shared by the runtime tests: the clang-built test objects and the context they all use.
#include <cstdint>
#include <cstring>
#include <string>

#include <bpfq/runtime/object.hpp>
#include <bpfq/runtime/run_env.hpp>

#include "support/test_objects.hpp"

namespace bpfq::runtime::test {

using bpfq::test::test_object;

// struct io in progs/tests/runtime_*.bpf.c: inputs a..d, results out[].
struct Io {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  int64_t out[8] = {};
};

// Runs the program `section` of obj on io, with env as RunOptions::user.
inline exec::RunResult run(const Object& obj, std::string_view section, Io& io, RunEnv& env) {
  return obj.program(section).run(&io, sizeof io, run_options(env));
}

template <class T>
T load_as(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace bpfq::runtime::test
