#!/usr/bin/env bash
# Installs every build and test dependency of bpfq from Debian packages.
# Idempotent: packages already present are left alone. Works as root, uses sudo otherwise.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  clang llvm lld                     # clang -target bpf for progs/, libFuzzer
  clang-19 bpftool                   # struct_ops programs keep kptr tags; a host vmlinux.h
  libclang-rt-dev                    # sanitizer/fuzzer runtimes for clang
  libelf-dev zlib1g-dev libbpf-dev   # ELF + BTF for the loader
  linux-libc-dev                     # uapi linux/bpf.h for programs
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libfmt-dev libcli11-dev nlohmann-json3-dev libtoml11-dev
  libpcap-dev                        # pcap replay and capture in the simulator
  libns3-dev libgsl-dev              # ns-3 as the differential oracle for the qdisc library
  libxdp-dev                         # AF_XDP ports (xsk.h: UMEM and rings); libbpf loads their XDP program
  iproute2 ethtool                   # ethtool: offloads off for AF_XDP ports (no GSO)
  iperf3 iputils-ping                # real TCP and ping through `bpfq live` in the live tests
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
