// progs/tests/loader_bad_*.bpf.c: real clang output the loader must reject, each with the place
// (where) and the reason a user needs to fix the source.
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "test_support.hpp"

namespace bpfq::loader::test {
namespace {

struct BadObject {
  const char* object;
  const char* where_suffix;  // appended to the object's path
  const char* reason;
  const char* hint_part;
};

void PrintTo(const BadObject& b, std::ostream* os) { *os << b.object; }  // readable ctest names

class BadObjects : public ::testing::TestWithParam<BadObject> {};

TEST_P(BadObjects, RejectedWithWhereReasonAndHint) {
  const BadObject& bad = GetParam();
  const std::string path = test_object(bad.object);
  const Error e = expect_error([&] { load_object(path); }, path + bad.where_suffix, bad.reason);
  EXPECT_NE(e.hint().find(bad.hint_part), std::string::npos) << "hint: " << e.hint();
}

INSTANTIATE_TEST_SUITE_P(
    Loader, BadObjects,
    ::testing::Values(
        BadObject{"loader_bad_extern", " section tc insn 1", "call to undefined function 'not_a_kfunc'",
                  "extern … __ksym"},
        BadObject{"loader_bad_key_size", " section .maps", "map 'confused' conflicting key sizes 8 and 4",
                  "make them agree"},
        BadObject{"loader_bad_map_field", " section .maps", "map 'painted' unknown field 'colour'",
                  "known fields: type, max_entries"},
        BadObject{"loader_bad_map_in_map", " section .maps",
                  "map 'hollow' is a map-in-map without an inner map definition", "__array(values"},
        BadObject{"loader_bad_map_no_type", " section .maps", "map 'untyped' has no type",
                  "__uint(type, BPF_MAP_TYPE_"},
        BadObject{"loader_bad_pointer_global", " section .rel.data",
                  "global variables in .data hold addresses of other symbols", "cannot hold pointers"},
        BadObject{"loader_bad_ksym_variable", " section tc insn 0",
                  "reference to undefined symbol 'bpf_prog_active'", "__ksym variables"},
        BadObject{"loader_bad_legacy_maps", " section maps", "legacy map definitions are not supported",
                  "SEC(\".maps\")"},
        BadObject{"loader_bad_static_program", " section tc", "program 'hidden' is static",
                  "entry programs must be global"},
        BadObject{"loader_bad_prog_array", " section .maps",
                  "map 'jump_table' program arrays (values of function pointers) are not supported", ""},
        BadObject{"loader_bad_map_in_map_values", " section .rel.maps",
                  "map definitions carry relocations (initialised map-in-map 'values')",
                  "insert them from user space"},
        BadObject{"loader_bad_kptr_alignment", " section .BTF",
                  "map 'squeezed_map': kptr field at offset 4 is not 8-byte aligned",
                  "naturally aligned pointer fields"}),
    [](const ::testing::TestParamInfo<BadObject>& info) {
      return std::string(info.param.object).substr(std::string("loader_bad_").size());
    });

}  // namespace
}  // namespace bpfq::loader::test
