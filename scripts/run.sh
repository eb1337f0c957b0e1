#!/usr/bin/env bash
# Builds bpfq (release) and runs its main job.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DBPFQ_TESTS=ON -DBPFQ_BENCH=OFF >/dev/null
cmake --build build-rel -j"$(nproc)" --target bpfq bpfq_test_progs
./build-rel/bpfq prog show build-rel/progs/tests/loader_calls.bpf.o
