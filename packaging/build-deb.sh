#!/bin/bash
# Builds dist/execsnoop_<version>_<debarch>.deb from a static execsnoop, the generated
# man page and completions, and the systemd unit. A hand-made tree packed by
# `dpkg-deb --build --root-owner-group`: dpkg-deb is on every Debian machine, and the
# package is small enough that cargo-deb (another tool to install and pin) buys nothing.
#   packaging/build-deb.sh BINARY DEBARCH VERSION DOCS_DIR OUT_DIR
# DOCS_DIR holds what examples/gen-execsnoop-docs.rs writes.
set -euo pipefail
[ $# = 5 ] || { echo "usage: $0 BINARY DEBARCH VERSION DOCS_DIR OUT_DIR" >&2; exit 2; }
bin=$1 debarch=$2 version=$3 docs=$4 out=$5
here=$(cd "$(dirname "$0")" && pwd)

[ -x "$bin" ] || { echo "build-deb: $bin: no such executable (make dist?)" >&2; exit 1; }
# One file that runs on any Debian/Ubuntu of the architecture: no shared library, so
# no Depends to get right.
if readelf -d "$bin" 2>/dev/null | grep -q '(NEEDED)'; then
	echo "build-deb: $bin is dynamically linked ($(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')); the package ships a static executable: make dist" >&2
	exit 1
fi
machine=$(readelf -h "$bin" | sed -n 's/^ *Machine: *//p')
case "$debarch:$machine" in
	amd64:*X86-64*|arm64:*AArch64*) ;;
	*) echo "build-deb: $bin is for '$machine', not Debian's $debarch" >&2; exit 1 ;;
esac
for f in execsnoop.8 execsnoop.bash _execsnoop execsnoop.fish; do
	[ -s "$docs/$f" ] || { echo "build-deb: $docs/$f missing (make man)" >&2; exit 1; }
done

root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
umask 022
install -D -m 0755 "$bin" "$root/usr/sbin/execsnoop"
install -D -m 0644 "$here/execsnoop.service" "$root/lib/systemd/system/execsnoop.service"
install -D -m 0644 "$docs/execsnoop.8" "$root/usr/share/man/man8/execsnoop.8"
gzip -9n "$root/usr/share/man/man8/execsnoop.8"
install -D -m 0644 "$docs/execsnoop.bash" "$root/usr/share/bash-completion/completions/execsnoop"
install -D -m 0644 "$docs/_execsnoop" "$root/usr/share/zsh/vendor-completions/_execsnoop"
install -D -m 0644 "$docs/execsnoop.fish" "$root/usr/share/fish/vendor_completions.d/execsnoop.fish"
install -D -m 0644 "$here/debian/copyright" "$root/usr/share/doc/execsnoop/copyright"
# The date of the last commit keeps the package the same from one build to the next.
date=$(git -C "$here" log -1 --format=%cD 2>/dev/null || date -R)
printf 'execsnoop (%s) unstable; urgency=medium\n\n  * Built from learning-ebpf-rs %s.\n\n -- learning-ebpf-rs <execsnoop@localhost>  %s\n' \
	"$version" "$(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown)" "$date" |
	gzip -9n >"$root/usr/share/doc/execsnoop/changelog.Debian.gz"
chmod 0644 "$root/usr/share/doc/execsnoop/changelog.Debian.gz"

mkdir -p "$root/DEBIAN"
for s in postinst prerm postrm; do install -m 0755 "$here/debian/$s" "$root/DEBIAN/$s"; done
size=$(du -k -s --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: execsnoop
Version: $version
Architecture: $debarch
Maintainer: learning-ebpf-rs <execsnoop@localhost>
Installed-Size: $size
Section: admin
Priority: optional
Description: trace every exec() on the machine with eBPF (static, CO-RE)
 execsnoop prints one line (or one JSON object) per exec() on the whole machine:
 pid, parent, uid, the program and its full argument list, with failed execs on
 request. It is one static executable for any kernel with BTF (CO-RE relocations;
 5.8+ for CAP_BPF). The package includes a systemd unit, installed disabled, that runs
 it as an unprivileged dynamic user with CAP_BPF and CAP_PERFMON and sends JSON
 lines to the journal.
CONTROL
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

mkdir -p "$out"
deb="$out/execsnoop_${version}_${debarch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
