#!/usr/bin/env bash
# Builds bpfq (release) and runs its main job: the bufferbloat scenario (4 bulk TCP flows and a
# latency probe over a 10 Mbit/s, 40 ms bottleneck) with several qdiscs side by side — Linux's
# native pfifo, the same discipline as an eBPF program (progs/pfifo.bpf.c, the seed's rbtree
# map of packet references), and a short eBPF FIFO (progs/fifo.bpf.c) with a 100-packet limit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DBPFQ_TESTS=OFF -DBPFQ_BENCH=OFF >/dev/null
cmake --build build-rel -j"$(nproc)" --target bpfq bpfq_progs >/dev/null
./build-rel/bpfq sim --preset bufferbloat \
  --compare "pfifo,bpf obj build-rel/progs/pfifo.bpf.o,bpf obj build-rel/progs/fifo.bpf.o limit 100"
