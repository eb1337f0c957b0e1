#!/usr/bin/env bash
# Installs the build under test into a temporary prefix and uses it as docs/install.md says:
# pkg-config finds bpfq.pc, the documented clang command builds a program, and the installed
# bpfq checks it and the installed library, and finds library programs by name.
# Usage: install_test.sh CMAKE BUILD_DIR LIBDIR DATADIR (LIBDIR, DATADIR: GNUInstallDirs', relative)
set -euo pipefail
cmake=$1 build=$2 libdir=$3 datadir=$4

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bpfq-install-test.XXXXXX")
# Compiles still running when a check fails finish before their folder goes.
trap 'wait; rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
progs=$prefix/$datadir/bpfq/progs

fail() { echo "FAIL: $*" >&2; exit 1; }

"$cmake" --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }

[ -x "$prefix/bin/bpfq" ] || fail "no bin/bpfq"
[ -f "$prefix/include/bpfq/bpf/sch_bpf.h" ] || fail "no include/bpfq/bpf/sch_bpf.h"
[ -f "$prefix/$libdir/pkgconfig/bpfq.pc" ] || fail "no $libdir/pkgconfig/bpfq.pc"
sources=("$progs"/*.bpf.c)
[ -f "${sources[0]}" ] || fail "no sources in $progs"
for src in "${sources[@]}"; do
  [ -f "${src%.c}.o" ] || fail "$(basename "$src") installed without its object"
done

# Only the temporary install: the flags must point into it, not at the checkout.
export PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig
cflags=$(pkg-config --cflags bpfq) || fail "pkg-config --cflags bpfq"
case "$cflags" in *"$prefix"*) ;; *) fail "pkg-config --cflags bpfq gives '$cflags', outside $prefix" ;; esac

# A program of our own, written as a user would: two bands by skb->priority over the skb queue.
mkdir "$tmp/work"
cd "$tmp/work"
cat > my_qdisc.bpf.c <<'C'
#include <bpfq/bpf/sch_bpf.h>

const volatile __u32 limit = 100;

BPFQ_SKB_QUEUE(packets, 1024, 2);

SEC("qdisc/enqueue")
int two_band_enqueue(struct sch_bpf_ctx *ctx)
{
	__u64 band = ctx->skb->priority ? 0 : 1;

	if (bpf_skb_queue_len(&packets) >= limit)
		return SCH_BPF_DROP;
	if (bpf_skb_queue_push(&packets, skb_ref(ctx->skb), band))
		return SCH_BPF_DROP;
	return SCH_BPF_QUEUED;
}

SEC("qdisc/dequeue")
int two_band_dequeue(struct sch_bpf_ctx *ctx)
{
	ctx->skb = skb_view(bpf_skb_queue_pop(&packets));
	return SCH_BPF_DEQUEUED;
}

char LICENSE[] SEC("license") = "GPL";
C

# The command of docs/install.md, verbatim.
clang -O2 -g -target bpf $(pkg-config --cflags bpfq) -c my_qdisc.bpf.c -o my_qdisc.bpf.o \
  || fail "the documented clang command"
"$prefix/bin/bpfq" prog check my_qdisc.bpf.o || fail "bpfq prog check my_qdisc.bpf.o"
"$prefix/bin/bpfq" prog check "$progs/fq_codel.bpf.o" || fail "bpfq prog check fq_codel.bpf.o"

# By name, the installed bpfq runs the installed library (share/ beside its bin/), not the
# build tree's; a folder in BPFQ_PROGS_PATH makes a program of ours a name too.
printf 'qdisc add dev eth0 root handle 1: fq_codel\nqdisc show dev eth0\n' > by_name.tc
shown=$(env -u BPFQ_PROGS_PATH "$prefix/bin/bpfq" -b by_name.tc) || fail "bpfq -b by_name.tc"
case "$shown" in *"$progs/fq_codel.bpf.o"*) ;; *) fail "fq_codel by name is not $progs/fq_codel.bpf.o: $shown" ;; esac
printf 'qdisc add dev eth0 root handle 1: my_qdisc limit 10\nqdisc show dev eth0\n' > mine.tc
shown=$(BPFQ_PROGS_PATH=$PWD "$prefix/bin/bpfq" -b mine.tc) || fail "bpfq -b mine.tc"
case "$shown" in *"$PWD/my_qdisc.bpf.o"*) ;; *) fail "my_qdisc by name is not $PWD/my_qdisc.bpf.o: $shown" ;; esac

# The installed sources build with the same command (they include only installed headers);
# a few at a time, to keep the test short.
cp "${sources[@]}" .
jobs_max=$(nproc)
pids=() names=()
for src in "${sources[@]}"; do
  name=$(basename "$src" .c)
  clang -O2 -g -target bpf $(pkg-config --cflags bpfq) -c "$name.c" -o "$name.o" &
  pids+=($!) names+=("$name")
  if [ ${#pids[@]} -ge "$jobs_max" ]; then
    wait "${pids[0]}" || fail "installed ${names[0]}.c does not compile"
    pids=("${pids[@]:1}") names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || fail "installed ${names[$i]}.c does not compile"
done
"$prefix/bin/bpfq" prog check fq_codel.bpf.o || fail "bpfq prog check on fq_codel rebuilt from the installed source"
echo "install test: ${#sources[@]} library programs and my_qdisc built against $prefix"
