#!/usr/bin/env bash
# `make bench`: installs the peers and the tools the harness uses, builds ours in
# release, then measures everything (bench/bench.py) into docs/benchmarks.md.
# Needs root (loads BPF); under 10 minutes on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
say() { echo "bench: $*" >&2; }

# Peers and tools, quietly when already there.
PKGS="libbpf-tools bpftrace bpftool procps util-linux time gcc python3"
missing=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
	say "installing $(echo $missing)"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		$missing >/dev/null
fi

say "building ours (release, bins and examples)"
nice cargo build --release --bins --examples --quiet

say "building the storm's exec target (bench/tiny.c, static, no libc)"
mkdir -p target/bench
gcc -static -nostdlib -Os -o target/bench/lebpf-storm bench/tiny.c
target/bench/lebpf-storm

exec $SUDO python3 bench/bench.py "$@"
