#!/usr/bin/env bash
# The ns-3 example as a user builds it: `cmake --install` of the build under test into a
# temporary prefix, then the installed dumbbell.cc compiled with `pkg-config bpfq-ns3` alone
# (no path into the checkout) and run with an installed library program.
# Usage: example_install_test.sh CMAKE BUILD_DIR LIBDIR DATADIR (LIBDIR, DATADIR: relative)
set -euo pipefail
cmake=$1 build=$2 libdir=$3 datadir=$4

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpfq-ns3-example-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }

"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
examples=$(pkg-config --variable=examplesdir bpfq-ns3) || fail "pkg-config finds no bpfq-ns3.pc"
[ -f "$examples/dumbbell.cc" ] || fail "no dumbbell.cc in $examples"
flags=$(pkg-config --cflags --libs bpfq-ns3 ns3-applications ns3-point-to-point-layout)
case "$flags" in *"$prefix"*) ;; *) fail "pkg-config bpfq-ns3 gives '$flags', outside $prefix" ;; esac

cd "$tmp"
# The command of docs/ns3.md; -std=c++17 as ns-3.37's headers need.
g++ -std=c++17 -O1 "$examples/dumbbell.cc" -o dumbbell $flags || fail "the example does not build from the installed SDK"
# A program that names the queue disc only by its TypeId string still gets it registered
# (the header keeps libbpfq-ns3.so linked under --as-needed).
cat > by_name.cc <<'C'
#include <bpfq/ns3/bpf-queue-disc.h>
#include <ns3/core-module.h>
int main() {
  ns3::TypeId tid;
  return ns3::TypeId::LookupByNameFailSafe("ns3::BpfQueueDisc", &tid) ? 0 : 1;
}
C
g++ -std=c++17 by_name.cc -o by_name $(pkg-config --cflags --libs bpfq-ns3) || fail "a program naming BpfQueueDisc by string does not build"
LD_LIBRARY_PATH=$prefix/$libdir ./by_name || fail "ns3::BpfQueueDisc is not registered in a program that names it only by string"

progs=$prefix/$datadir/bpfq/progs
out=$(LD_LIBRARY_PATH=$prefix/$libdir ./dumbbell --program="$progs/fq_codel.bpf.o" --params="target 5ms" \
        --flows=2 --time=2) || fail "the example failed: $out"
echo "$out"
case "$out" in *"root obj $progs/fq_codel.bpf.o target 5ms"*) ;; *) fail "bpfq's view does not show the installed fq_codel" ;; esac
total=$(sed -n 's/^  total: \([0-9.]*\) Mbit\/s$/\1/p' <<<"$out")
awk -v t="$total" 'BEGIN { exit !(t > 50) }' || fail "2 flows through fq_codel got $total Mbit/s of 100"
