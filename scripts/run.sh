#!/usr/bin/env bash
# Builds bpfq (release) and runs its main job: the bufferbloat scenario (4 bulk TCP flows and a
# latency probe over a 10 Mbit/s, 40 ms bottleneck) with several qdiscs side by side — Linux's
# default FIFO (native_pfifo: C++, 1000 packets), the same FIFO as an eBPF program in the seed's
# style (pfifo: progs/pfifo.bpf.c, found by name), and the AQMs of the qdisc library as eBPF
# programs (codel, fq_codel) next to bpfq's native C++ fq_codel, which they match packet for packet.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cmake -S . -B build-rel -G Ninja -DCMAKE_BUILD_TYPE=Release -DBPFQ_TESTS=OFF -DBPFQ_BENCH=OFF >/dev/null
cmake --build build-rel -j"$(nproc)" --target bpfq bpfq_progs >/dev/null
./build-rel/bpfq sim --preset bufferbloat --compare native_pfifo,pfifo,codel,native_fq_codel,fq_codel
