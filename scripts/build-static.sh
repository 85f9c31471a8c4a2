#!/usr/bin/env bash
# The one recipe for fully static executables (musl libc; libbpf, libelf and zlib
# built from libbpf-sys's vendored sources and linked in).
#
#   scripts/build-static.sh <x86_64|aarch64> [--tests] [--dist DIR]
#   scripts/build-static.sh --check FILE...
#
# Builds every program (`--bins`) for <arch>; with --tests also the examples and
# the integration test executables (`cargo test --no-run`). Writes the manifest
# target/static-<arch>.list, one line per artifact: `<kind> <name> <absolute path>`
# with kind bin|example|test. With --dist DIR, copies the programs into DIR.
# Every artifact is checked to be static (no NEEDED entry, no interpreter); one
# that is not fails the build with one line. --check runs only that check.
#
# Why musl: a static glibc cannot resolve user names (getpwnam goes through NSS,
# which dlopens libnss_*.so: in a static binary it fails or needs the very glibc
# it was built with); musl reads /etc/passwd itself. execsnoop -u takes names.
# Debian ships musl for both architectures (musl-tools; musl-dev:arm64 via
# multiarch, with its aarch64-linux-musl-gcc wrapper around the cross gcc).
set -euo pipefail

die() { echo "build-static: $*" >&2; exit 1; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# A static executable: `file` says static(-pie), and there is neither a NEEDED
# entry nor a program interpreter. Rust's musl targets link static-pie (ASLR
# kept), which `file` calls "static-pie linked".
check_static() { # file...
	local f desc
	for f in "$@"; do
		[ -f "$f" ] || die "$f: no such file"
		desc=$(file -b "$f")
		if readelf -d "$f" 2>/dev/null | grep -q '(NEEDED)' ||
			readelf -l "$f" 2>/dev/null | grep -q 'Requesting program interpreter' ||
			! grep -Eq 'statically linked|static-pie linked' <<<"$desc"; then
			die "$f is not static: ${desc%%, BuildID*}"
		fi
	done
}

if [ "${1:-}" = --check ]; then
	shift
	[ $# -gt 0 ] || die "--check needs files"
	check_static "$@"
	exit 0
fi

arch=${1:-}
shift || true
tests=0
dist=
while [ $# -gt 0 ]; do
	case $1 in
	--tests) tests=1 ;;
	--dist)
		[ $# -ge 2 ] || die "--dist needs a directory"
		dist=$2
		shift
		;;
	*) die "unknown argument '$1' (usage: $0 <x86_64|aarch64> [--tests] [--dist DIR])" ;;
	esac
	shift
done

case $arch in
x86_64)
	triple=x86_64-unknown-linux-musl
	cc=x86_64-linux-musl-gcc
	kernel_headers=/usr/include
	kernel_asm=/usr/include/x86_64-linux-gnu/asm
	extra_cflags=
	;;
aarch64)
	triple=aarch64-unknown-linux-musl
	cc=aarch64-linux-musl-gcc
	kernel_headers=/usr/aarch64-linux-gnu/include
	kernel_asm=$kernel_headers/asm
	# gcc calls libgcc's __aarch64_ldadd4_sync & co. for atomics by default; Rust
	# links without libgcc: inline the (ARMv8.0) atomics instead.
	extra_cflags=-mno-outline-atomics
	;;
*) die "usage: $0 <x86_64|aarch64> [--tests] [--dist DIR]" ;;
esac

command -v "$cc" >/dev/null || die "$cc not found (make deps installs musl for $arch)"
for d in "$kernel_headers/linux" "$kernel_headers/asm-generic" "$kernel_asm"; do
	[ -d "$d" ] || die "$d missing: the $arch kernel headers (make deps installs them)"
done
rustup target list --installed 2>/dev/null | grep -qx "$triple" ||
	die "rust target $triple not installed (make deps: rustup target add $triple)"

# musl's gcc wrapper searches only musl's headers. libbpf also needs the kernel's
# uapi headers (linux/, asm/, asm-generic/) and the vendored elfutils build needs
# <argp.h> (scripts/musl-compat/argp.h says why): one include dir with those.
compat=$root/target/static-compat/$arch
rm -rf "$compat"
mkdir -p "$compat"
ln -s "$kernel_headers/linux" "$compat/linux"
ln -s "$kernel_headers/asm-generic" "$compat/asm-generic"
ln -s "$kernel_asm" "$compat/asm"
cp "$root/scripts/musl-compat/argp.h" "$compat/"

t=${triple//-/_}
export "CC_$t=$cc"
export "CFLAGS_$t=-I$compat${extra_cflags:+ $extra_cflags}"
# elfutils' configure insists on argp, fts and obstack (its tools use them);
# libelf, the only part built, does not: tell configure they are there.
export ac_cv_search_argp_parse="none required"
export ac_cv_search_fts_close="none required"
export ac_cv_search__obstack_free="none required"
# The linker for aarch64 is in .cargo/config.toml (aarch64-linux-gnu-gcc).

# libbpf-sys's build script does not rerun when these flags change: rebuild it then.
flags_file=$root/target/static-$arch.cflags
cflags_var=CFLAGS_$t
if [ "$(cat "$flags_file" 2>/dev/null)" != "${!cflags_var}" ]; then
	cargo clean --quiet --release --target "$triple" -p libbpf-sys 2>/dev/null || true
	echo "${!cflags_var}" >"$flags_file"
fi

cd "$root"
json=$root/target/static-$arch
mkdir -p "$root/target"
what="--bins"
[ $tests = 1 ] && what="--bins --examples"
echo "build-static: $arch ($triple): cargo build --release $what"
# shellcheck disable=SC2086
cargo build --release --locked --target "$triple" --features static $what \
	--message-format=json-render-diagnostics >"$json.build.json" ||
	die "cargo build for $triple failed"
if [ $tests = 1 ]; then
	echo "build-static: $arch ($triple): cargo test --release --no-run"
	cargo test --release --locked --target "$triple" --features static --no-run \
		--message-format=json-render-diagnostics >"$json.test.json" ||
		die "cargo test --no-run for $triple failed"
fi

# kind name executable, one line per artifact with an executable (the same
# format as artifacts() in vmtest/run.sh)
artifacts() {
	sed -n 's/.*"target":{"kind":\["\([a-z-]*\)"\],"crate_types":\[[^]]*\],"name":"\([^"]*\)".*"executable":"\([^"]*\)".*/\1 \2 \3/p' "$@"
}
list=$root/target/static-$arch.list
{
	artifacts "$json.build.json" | awk '$1 == "bin" || $1 == "example"'
	[ $tests = 0 ] || artifacts "$json.test.json" | awk '$1 == "test"'
} | sort -u >"$list.tmp"
grep -q '^bin ' "$list.tmp" || die "cargo reported no binaries for $triple"
[ $tests = 0 ] || grep -q '^test ' "$list.tmp" || die "cargo reported no test executables for $triple"
# shellcheck disable=SC2046
check_static $(awk '{print $3}' "$list.tmp")
mv "$list.tmp" "$list"
echo "build-static: $(wc -l <"$list") static artifacts listed in $list"

if [ -n "$dist" ]; then
	mkdir -p "$dist"
	while read -r kind name exe; do
		[ "$kind" = bin ] || continue
		cp "$exe" "$dist/$name"
		check_static "$dist/$name"
	done <"$list"
	echo "build-static: programs for $arch in $dist"
fi
