#!/usr/bin/env bash
# Builds bpfq with AddressSanitizer + UndefinedBehaviorSanitizer and runs the whole test suite.
# The closing line is ctest's "N% tests passed, N tests failed out of N".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The benchmarks are built too (not run): a bench that no longer compiles is found here.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBPFQ_SANITIZE=ON -DBPFQ_BENCH=ON
cmake --build build-asan -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j"$(nproc)"
