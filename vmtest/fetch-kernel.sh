#!/usr/bin/env bash
# Usage: vmtest/fetch-kernel.sh SUITE CACHE_DIR
#
# Makes sure Debian SUITE's newest generic amd64 kernel (the one the suite's
# linux-image-amd64 meta package depends on) is extracted under
# CACHE_DIR/kernels/SUITE/<version>/, and prints that directory on stdout.
#
# apt runs with a private configuration (sources, lists and cache inside
# CACHE_DIR/apt/SUITE), so the system's apt sources and state stay untouched.
# Signatures are verified against debian-archive-keyring. Once a kernel is
# cached nothing is downloaded again; VMTEST_REFRESH=1 looks for a newer one.
set -euo pipefail

suite=${1:?suite}
cache=${2:?cache dir}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mirror=${VMTEST_MIRROR:-http://deb.debian.org/debian}
security_mirror=${VMTEST_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

say() { echo "vmtest: $*" >&2; }
die() { echo "vmtest: ERROR: $*" >&2; exit 1; }

kdir=$cache/kernels/$suite
if [ "${VMTEST_REFRESH:-0}" != 1 ] && [ -f "$kdir/current" ]; then
	cur=$kdir/$(cat "$kdir/current")
	if [ -f "$cur/vmlinuz" ] && [ -f "$cur/version" ]; then
		echo "$cur"
		exit 0
	fi
fi

[ -r "$keyring" ] || die "$keyring missing: apt-get install debian-archive-keyring"

adir=$cache/apt/$suite
mkdir -p "$adir/lists/partial" "$adir/cache/archives/partial" "$adir/sources.list.d" "$adir/download"

write_sources() { # $1 = mirror, $2 = security mirror
	local opts="[arch=amd64 signed-by=$keyring]"
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

say "refreshing package lists for $suite..."
write_sources "$mirror" "$security_mirror"
if ! update; then
	# Suites past their support end move to archive.debian.org.
	say "$suite not on $mirror; trying archive.debian.org"
	write_sources http://archive.debian.org/debian http://archive.debian.org/debian-security
	update || { cat "$adir/update.log" >&2; die "apt-get update for $suite failed (log above)"; }
fi

pkg=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 2>/dev/null |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || die "$suite: linux-image-amd64 names no linux-image-<version>-amd64 package"
ver=${pkg#linux-image-}

if [ -f "$kdir/$ver/vmlinuz" ]; then
	echo "$ver" >"$kdir/current"
	echo "$kdir/$ver"
	exit 0
fi

say "downloading $pkg ($suite)..."
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
