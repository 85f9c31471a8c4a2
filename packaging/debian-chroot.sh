#!/bin/bash
# Prints the path of a tarball holding a clean minimal Debian root (debootstrap
# --variant=minbase), made once and cached: the .deb is tested in a copy of it.
#   packaging/debian-chroot.sh [SUITE [PACKAGES]]   (default: bookworm; PACKAGES: a
#   comma-separated list added with --include, e.g. systemd,dbus for a bootable root)
# Mirror: DEPLOY_MIRROR, else the first Debian URI of this machine's apt sources, else
# deb.debian.org. Cache: $DEPLOY_CACHE (default .cache/deploy next to this script's repo).
set -euo pipefail
suite=${1:-bookworm}
include=${2:-}
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${DEPLOY_CACHE:-$here/.cache/deploy}
tarball=$cache/$suite-minbase${include:+-${include//,/-}}.tar
if [ -s "$tarball" ]; then echo "$tarball"; exit 0; fi

mirror=${DEPLOY_MIRROR:-}
if [ -z "$mirror" ]; then
	# deb822 (URIs:) or one-line (deb URL suite ...) sources; skip the security archive.
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -n -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?//p' |
		awk '{print $1}' | grep -m1 -E '/debian/?$' || true)
fi
mirror=${mirror:-http://deb.debian.org/debian}
command -v debootstrap >/dev/null || { echo "debian-chroot: debootstrap is not installed (make deps)" >&2; exit 1; }

mkdir -p "$cache"
work=$(mktemp -d "$cache/.$suite.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
echo "debian-chroot: debootstrap --variant=minbase ${include:+--include=$include }$suite from $mirror" >&2
if ! debootstrap --variant=minbase ${include:+--include="$include"} "$suite" "$work/root" "$mirror" >"$work/log" 2>&1; then
	tail -20 "$work/log" >&2
	echo "debian-chroot: debootstrap failed (full log above)" >&2
	exit 1
fi
tar -C "$work/root" -cf "$work/root.tar" .
mv "$work/root.tar" "$tarball"
echo "debian-chroot: made $tarball in $(( $(date +%s) - start )) s" >&2
echo "$tarball"
