#!/usr/bin/env bash
# Usage: vmtest/fetch-kernel.sh SUITE CACHE_DIR [ARCH]
#
# Makes sure Debian SUITE's newest generic ARCH kernel (amd64, the default, or
# arm64: the one the suite's linux-image-ARCH meta package depends on) is extracted
# under CACHE_DIR/kernels/SUITE/<version>/ (amd64) or CACHE_DIR/kernels/SUITE-arm64/
# <version>/, and prints that directory on stdout. The directory holds vmlinuz,
# config, version (the kernel's `uname -r`) and package-version.
#
# apt runs with a private configuration (sources, lists and cache inside
# CACHE_DIR/apt/SUITE), so the system's apt sources and state stay untouched.
# Signatures are verified against debian-archive-keyring. Once a kernel is
# cached nothing is downloaded again; VMTEST_REFRESH=1 looks for a newer one.
set -euo pipefail

suite=${1:?suite}
cache=${2:?cache dir}
arch=${3:-amd64}
case $arch in
amd64) sub=$suite ;;
arm64) sub=$suite-arm64 ;;
*) echo "vmtest: ERROR: unknown architecture '$arch' (known: amd64 arm64)" >&2; exit 1 ;;
esac
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mirror=${VMTEST_MIRROR:-http://deb.debian.org/debian}
security_mirror=${VMTEST_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

say() { echo "vmtest: $*" >&2; }
die() { echo "vmtest: ERROR: $*" >&2; exit 1; }

kdir=$cache/kernels/$sub
if [ "${VMTEST_REFRESH:-0}" != 1 ] && [ -f "$kdir/current" ]; then
	cur=$kdir/$(cat "$kdir/current")
	if [ -f "$cur/vmlinuz" ] && [ -f "$cur/version" ]; then
		echo "$cur"
		exit 0
	fi
fi

[ -r "$keyring" ] || die "$keyring missing: apt-get install debian-archive-keyring"

adir=$cache/apt/$sub
mkdir -p "$adir/lists/partial" "$adir/cache/archives/partial" "$adir/sources.list.d" "$adir/download"

write_sources() { # $1 = mirror, $2 = security mirror
	local opts="[arch=$arch signed-by=$keyring]"
	{
		echo "deb $opts $1 $suite main"
		echo "deb $opts $1 $suite-updates main"
		echo "deb $opts $2 $suite-security main"
	} >"$adir/sources.list"
}

apt_opts=(
	-o "Dir::Etc::SourceList=$adir/sources.list"
	-o "Dir::Etc::SourceParts=$adir/sources.list.d"
	-o "Dir::State::Lists=$adir/lists"
	-o "Dir::Cache=$adir/cache"
	-o "APT::Architecture=$arch"
	-o "APT::Architectures=$arch"
	-o "APT::Get::List-Cleanup=false"
	-o "APT::Sandbox::User=root"
	-o "Acquire::Languages=none"
	-o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
	-o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
	-o "Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false"
	-o "Acquire::IndexTargets::deb::CNF::DefaultEnabled=false"
)

update() {
	local log=$adir/update.log
	# apt-get update exits 0 on some fetch and signature errors: look for them too.
	if apt-get -q "${apt_opts[@]}" update >"$log" 2>&1 &&
		! grep -Eq '^(E:|W: (Failed to fetch|GPG error|The repository|.*NO_PUBKEY|.*not signed))' "$log"; then
		return 0
	fi
	return 1
}

say "refreshing package lists for $suite ($arch)..."
write_sources "$mirror" "$security_mirror"
if ! update; then
	# Suites past their support end move to archive.debian.org.
	say "$suite not on $mirror; trying archive.debian.org"
	write_sources http://archive.debian.org/debian http://archive.debian.org/debian-security
	update || { cat "$adir/update.log" >&2; die "apt-get update for $suite failed (log above)"; }
fi

pkg=$(apt-cache "${apt_opts[@]}" depends "linux-image-$arch" 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || die "$suite: linux-image-$arch names no linux-image-<version>-$arch package"
ver=${pkg#linux-image-}

if [ -f "$kdir/$ver/vmlinuz" ]; then
	echo "$ver" >"$kdir/current"
	echo "$kdir/$ver"
	exit 0
fi

say "downloading $pkg ($suite, $arch)..."
rm -f "$adir/download/"*.deb
(cd "$adir/download" && apt-get -q "${apt_opts[@]}" download "$pkg" >"$adir/download.log" 2>&1) ||
	{ cat "$adir/download.log" >&2; die "apt-get download $pkg failed"; }
deb=$(ls "$adir/download/"*.deb)

say "extracting $pkg..."
tmp=$kdir/.tmp-$ver
rm -rf "$tmp"
mkdir -p "$tmp"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./boot
[ -f "$tmp/boot/vmlinuz-$ver" ] || die "$deb has no boot/vmlinuz-$ver"
mv "$tmp/boot/vmlinuz-$ver" "$tmp/vmlinuz"
mv "$tmp/boot/config-$ver" "$tmp/config"
rm -rf "$tmp/boot"
dpkg-deb -f "$deb" Version >"$tmp/package-version"
echo "$ver" >"$tmp/version"
rm -rf "${kdir:?}/$ver"
mv "$tmp" "$kdir/$ver"
rm -f "$deb"
echo "$ver" >"$kdir/current"
echo "$kdir/$ver"
