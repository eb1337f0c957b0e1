#pragma once
// The bpfq::Error a call throws, for tests that assert its reason, place and hint.
#include <gtest/gtest.h>

#include <bpfq/error.hpp>

namespace bpfq::test {

template <class F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no bpfq::Error thrown";
  return Error("none");
}

}  // namespace bpfq::test
