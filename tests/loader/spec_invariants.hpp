#pragma once
// What every ObjectSpec the loader returns must satisfy, whatever the input: the conventions of
// object_spec.hpp hold and every index points at something that exists. Used by the fuzz test
// (a mutated object must load into a consistent spec or be rejected) and by the object tests.
#include <string>

#include <bpfq/loader/object_spec.hpp>

namespace bpfq::loader::test {

// "" when spec is consistent, else a description of the first violation.
std::string spec_violation(const ObjectSpec& spec);

}  // namespace bpfq::loader::test
