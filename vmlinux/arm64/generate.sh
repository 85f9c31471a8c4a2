#!/usr/bin/env bash
# Usage: vmlinux/arm64/generate.sh [SUITE]     (default SUITE: bookworm)
#
# Regenerates vmlinux/arm64/vmlinux.h from the BTF of Debian SUITE's arm64 kernel
# (linux-image-<version>-arm64, fetched by vmtest/fetch-kernel.sh), on any host
# architecture: no arm64 machine and no boot needed.
#
# How: Debian's arm64 vmlinuz is the kernel's uncompressed `Image`, which holds the
# .BTF section (what the running kernel serves as /sys/kernel/btf/vmlinux) verbatim.
# The BTF header (magic 0xeB9F, version 1, hdr_len 24, then type_off, type_len,
# str_off, str_len) is found by its bytes and gives the blob's length; bpftool
# then checks and dumps it. vmtest/run.sh's arm64 guests can confirm it is the
# same blob the booted kernel serves (see vmlinux/README.md).
set -euo pipefail

suite=${1:-bookworm}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/vmlinux/arm64/vmlinux.h
kdir=$("$root/vmtest/fetch-kernel.sh" "$suite" "$root/.cache/vmtest" arm64)
image=$kdir/vmlinuz
btf=$(mktemp)
trap 'rm -f "$btf" "$out.tmp"' EXIT

case $(head -c 2 "$image" | od -An -tx1 | tr -d ' ') in
1f8b) gzip -dc "$image" >"$btf.image" && image=$btf.image && trap 'rm -f "$btf" "$btf.image" "$out.tmp"' EXIT ;;
esac

# every offset of the 8 header bytes 9f eb 01 00 18 00 00 00
mapfile -t offs < <(LC_ALL=C grep -obUaP '\x9f\xeb\x01\x00\x18\x00\x00\x00' "$image" | cut -d: -f1)
[ ${#offs[@]} -eq 1 ] || { echo "generate: expected one BTF header in $image, found ${#offs[@]}" >&2; exit 1; }
u32() { od -An -tu4 -j "$1" -N 4 --endian=little "$image" | tr -d ' '; }
off=${offs[0]}
str_off=$(u32 $((off + 16)))
str_len=$(u32 $((off + 20)))
len=$((24 + str_off + str_len))
dd if="$image" of="$btf" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$len" status=none
bpftool btf dump file "$btf" format c >"$out.tmp"
grep -q '^struct user_pt_regs {' "$out.tmp" || { echo "generate: the dump has no struct user_pt_regs: not an arm64 kernel?" >&2; exit 1; }
mv "$out.tmp" "$out"
echo "vmlinux/arm64/vmlinux.h: $(wc -l <"$out") lines from $(cat "$kdir/version") (Debian $suite, linux-image-$(cat "$kdir/version") $(cat "$kdir/package-version")), BTF $len bytes, sha256 $(sha256sum "$btf" | cut -c1-16)"
