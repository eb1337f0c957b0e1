#pragma once
// A process-wide memo of verification results. Opening the same object again (a test suite, a
// simulation comparing setups, every run of `sim --runs N`) verifies each program once: the key
// is everything the verifier reads (instructions, line info, map specs, read-only data, options),
// hashed.
#include <optional>

#include <bpfq/loader/object_spec.hpp>
#include <bpfq/verifier/verifier.hpp>

namespace bpfq::verifier {

std::optional<VerifyResult> cached_result(const loader::ProgramSpec& prog, const loader::ObjectSpec& object,
                                          const VerifyOptions& opts);
void remember_result(const loader::ProgramSpec& prog, const loader::ObjectSpec& object, const VerifyOptions& opts,
                     const VerifyResult& result);

}  // namespace bpfq::verifier
