#pragma once
// bench_ns3's bpfq side, declared without bpfq's (C++20) headers for its C++17 unit.
#include <cstdint>

// What runs at the bottleneck: fq_codel.bpf.o on the JIT or the interpreter, or bpfq's native
// C++ fq_codel (the twin of the eBPF one).
enum class BpfqQdisc { Jit, Interpreter, Native };

// Runs the dumbbell in bpfq's simulator; the packets the bottleneck sent.
uint64_t run_bpfq_dumbbell(uint32_t flows, uint64_t seconds, BpfqQdisc qdisc);
