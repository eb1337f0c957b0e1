#pragma once
// Shared by the struct_ops tests: where the build puts their objects, and what every run of a
// well-behaved program must leave behind.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include <bpfq/sched/struct_ops_qdisc.hpp>

namespace bpfq::sched::test {

// progs/struct_ops/<name>.bpf.c built as `variant`: "bpfq" (clang-19, bpfq's vmlinux.h), "host"
// (clang-19, this host's), "host-clang14".
inline std::string struct_ops_object(std::string_view variant, std::string_view name) {
  return std::string(BPFQ_BINARY_DIR) + "/progs/struct_ops/" + std::string(variant) + "/" + std::string(name) +
         ".bpf.o";
}

// tests/struct_ops/progs/<name>.bpf.c (clang-19, bpfq's vmlinux.h).
inline std::string struct_ops_test_object(std::string_view name) {
  return struct_ops_object("tests", name);
}

inline void expect_clean(const StructOpsQdisc& q) {
  const StructOpsCounters& c = q.counters();
  EXPECT_EQ(c.faults, 0u) << c.last_fault;
  EXPECT_EQ(c.leaked_refs, 0u);
  EXPECT_EQ(c.leaked_objects, 0u);
  EXPECT_EQ(c.bad_dequeues, 0u);
  EXPECT_TRUE(q.stats().conserved());
}

}  // namespace bpfq::sched::test
