#!/usr/bin/env bash
# Kernel matrix: runs every privileged integration test of the package inside
# Debian's kernels 5.10 (bullseye), 6.1 (bookworm) and 6.12 (trixie) under qemu
# (TCG, one boot per kernel), and on this host, then prints a kernel x test table.
#
# Usage: vmtest/run.sh [KERNEL...]     KERNEL: 5.10 6.1 6.12 host (default: all four)
#
# Environment:
#   VMTEST_TIMEOUT=1500      seconds one VM may run (boot + all tests) before it fails
#   VMTEST_TEST_TIMEOUT=120  seconds one test may run (in the VMs and on the host)
#   VMTEST_REFRESH=1         look for newer kernel packages (else the cached ones are used)
#   VMTEST_KEEP_DEBUG=1      keep debug info in the binaries copied into the initramfs
#   VMTEST_JOBS=1            VMs booted at once (3: all kernels in parallel; faster when
#                            the tests mostly wait, but timing-sensitive tests see a
#                            more loaded machine)
#   VMTEST_MEM=2048 VMTEST_SMP=2
#
# Everything it downloads or builds lives in .cache/vmtest/. Exit status: 0 only if
# every kernel booted, reported the expected `uname -r`, and no test failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
here=$root/vmtest
cache=$root/.cache/vmtest
stage=$cache/stage
logs=$cache/logs
res=$cache/results
timeout_s=${VMTEST_TIMEOUT:-1500}

say() { echo "vmtest: $*" >&2; }
die() { echo "vmtest: ERROR: $*" >&2; exit 1; }

suite_of() {
	case $1 in
	5.10 | bullseye) echo bullseye ;;
	6.1 | bookworm) echo bookworm ;;
	6.12 | trixie) echo trixie ;;
	*) return 1 ;;
	esac
}
label_of() {
	case $1 in
	bullseye) echo 5.10 ;; bookworm) echo 6.1 ;; trixie) echo 6.12 ;; *) echo "$1" ;;
	esac
}

columns=()
if [ $# -eq 0 ]; then
	set -- 5.10 6.1 6.12 host
fi
for k in "$@"; do
	if [ "$k" = host ]; then
		if [ "$(id -u)" = 0 ]; then
			columns+=(host)
		else
			say "not root: no host column (make test-host runs the host tests with sudo)"
		fi
	elif s=$(suite_of "$k"); then
		columns+=("$s")
	else
		die "unknown kernel '$k' (known: 5.10 6.1 6.12 host)"
	fi
done

for tool in qemu-system-x86_64 cpio gzip busybox apt-get dpkg-deb; do
	command -v "$tool" >/dev/null || die "$tool not found (make deps installs it)"
done
busybox_bin=$(command -v busybox)
file -L "$busybox_bin" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$busybox_bin" 2>&1 | grep -q 'not a dynamic' ||
	die "$busybox_bin is not static: apt-get install busybox-static"

mkdir -p "$cache" "$logs" "$res"
t_all=$SECONDS

# ---------------------------------------------------------------- 1. build once
say "building binaries, examples and test executables (cargo, once for all kernels)..."
cd "$root"
cargo build --bins --examples --message-format=json-render-diagnostics >"$cache/build.json" ||
	die "cargo build failed"
cargo test --no-run --message-format=json-render-diagnostics >"$cache/test.json" 2>"$cache/test.stderr" ||
	{ cat "$cache/test.stderr" >&2; die "cargo test --no-run failed"; }

# kind name executable, one line per artifact with an executable
artifacts() {
	sed -n 's/.*"target":{"kind":\["\([a-z-]*\)"\],"crate_types":\[[^]]*\],"name":"\([^"]*\)".*"executable":"\([^"]*\)".*/\1 \2 \3/p' "$@"
}
mapfile -t programs < <(artifacts "$cache/build.json" | awk '$1 == "bin" || $1 == "example"' | sort -u)
mapfile -t tests < <(artifacts "$cache/test.json" | awk '$1 == "test"' | sort -u)
[ ${#programs[@]} -gt 0 ] || die "found no binaries in cargo's output"
[ ${#tests[@]} -gt 0 ] || die "found no integration test executables in cargo's output"
say "${#programs[@]} programs, ${#tests[@]} test executables"

# ---------------------------------------------------------------- 2. initramfs
say "building the initramfs..."
rm -rf "$stage"
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,run,root,etc,lib,lib64,vmtest,opt/lebpf/bin,opt/lebpf/tests}
ln -s bin "$stage/sbin"
mkdir -p "$stage/usr"
ln -s ../bin "$stage/usr/bin"
ln -s ../bin "$stage/usr/sbin"
cp "$busybox_bin" "$stage/bin/busybox"
for a in $("$busybox_bin" --list); do
	[ "$a" = busybox ] || ln -s busybox "$stage/bin/$a"
done

copy_elf() { # src dst
	if [ "${VMTEST_KEEP_DEBUG:-0}" != 1 ] && command -v strip >/dev/null; then
		strip --strip-debug -o "$2" "$1"
	else
		cp "$1" "$2"
	fi
}
elves=()
for p in "${programs[@]}"; do
	read -r _ name exe <<<"$p"
	copy_elf "$exe" "$stage/opt/lebpf/bin/$name"
	elves+=("$exe")
done
for t in "${tests[@]}"; do
	read -r _ name exe <<<"$t"
	copy_elf "$exe" "$stage/opt/lebpf/tests/$name"
	elves+=("$exe")
done
# Shared libraries (and the loader) at the paths ldd resolves them to.
for lib in $(ldd "${elves[@]}" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | sort -u); do
	mkdir -p "$stage$(dirname "$lib")"
	cp -L "$lib" "$stage$lib"
done
ldd "${elves[@]}" 2>/dev/null | grep -q 'not found' && die "a shared library is missing: $(ldd "${elves[@]}" | grep 'not found' | head -n 3)"

printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
printf 'passwd: files\ngroup: files\n' >"$stage/etc/nsswitch.conf"
install -m 0755 "$here/init" "$stage/init"
install -m 0755 "$here/runner.sh" "$stage/vmtest/runner.sh"
chmod 1777 "$stage/tmp"
initrd=$cache/initramfs.cpio.gz
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$initrd.tmp"
mv "$initrd.tmp" "$initrd"
say "initramfs: $(du -h "$initrd" | cut -f1) ($(du -sh "$stage" | cut -f1) unpacked)"

# ---------------------------------------------------------------- 3. results
# res/<column>.tsv: target/test <TAB> status <TAB> reason ; res/<column>.meta: key=value
parse_records() { # records-file tsv
	awk '
		/^@@VMTEST result / {
			reason = ""
			for (i = 7; i <= NF; i++) reason = reason (i > 7 ? " " : "") $i
			printf "%s/%s\t%s\t%s\n", $3, $4, $5, reason
		}' "$1" >"$2"
}

# Prints a line per finished test while process $3 runs (records file $2).
progress() {
	tail -n +1 -f --pid="$3" "$2" 2>/dev/null | tr -d '\r' | awk -v k="$1" '
		/^@@VMTEST result / {
			reason = ""
			for (i = 7; i <= NF; i++) reason = reason (i > 7 ? " " : "") $i
			printf "vmtest: %s: %-7s %s/%s (%ss)%s\n", k, $5, $3, $4, $6, reason != "" ? ": " reason : ""
			fflush()
		}' >&2
}

failures=0
harness_errors=()

run_host() {
	local rec=$logs/host.results
	say "host: running the tests on $(uname -r)..."
	local t0=$SECONDS
	: >"$rec"
	LEBPF_BIN_DIR=$stage/opt/lebpf/bin sh "$here/runner.sh" "$stage/opt/lebpf/tests" >"$rec" 2>&1 &
	local rpid=$!
	progress host "$rec" "$rpid"
	wait "$rpid" || true
	echo "tests $((SECONDS - t0))s" >"$res/host.timing"
	echo "uname=$(uname -r)" >"$res/host.meta"
	parse_records "$rec" "$res/host.tsv"
	grep '^@@VMTEST error' "$rec" | sed 's/^@@VMTEST /host: /' >"$res/host.errors" || true
	if ! grep -q '^@@VMTEST ran ' "$rec"; then
		echo "the test runner did not finish (see $rec)" >"$res/host.boot"
	elif [ -s "$res/host.errors" ]; then
		echo "runner errors (below)" >"$res/host.boot"
	else
		echo ok >"$res/host.boot"
	fi
}

# Boots one kernel (already fetched into $2) and leaves its results in $res/$1.*
# (.tsv records, .meta, .boot = "ok" or the harness error, .timing, .errors).
# Runs in the background when VMs run in parallel: it only writes files.
run_vm() { # suite kernel-dir
	local suite=$1 kdir=$2 label ver log rec
	label=$(label_of "$suite")
	ver=$(cat "$kdir/version")
	log=$logs/$ver.log
	rec=$logs/$ver.results
	rm -f "$log" "$rec" "$res/$suite.tsv"
	say "$label: booting $ver under qemu (TCG)..."
	local t0=$SECONDS rc=0
	: >"$rec"
	timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
		-accel tcg -cpu max -m "${VMTEST_MEM:-2048}" -smp "${VMTEST_SMP:-2}" \
		-nodefaults -display none -no-reboot \
		-serial "file:$log" -serial "file:$rec" \
		-kernel "$kdir/vmlinuz" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 rdinit=/init mitigations=off VMTEST_TEST_TIMEOUT=${VMTEST_TEST_TIMEOUT:-120}" \
		</dev/null >"$logs/$ver.qemu" 2>&1 &
	local qpid=$!
	progress "$label" "$rec" "$qpid"
	wait "$qpid" || rc=$?
	local wall=$((SECONDS - t0))
	echo "uname=$ver" >"$res/$suite.meta"
	touch "$rec"
	# the guest's tty turns \n into \r\n
	tr -d '\r' <"$rec" >"$rec.tmp" && mv "$rec.tmp" "$rec"
	parse_records "$rec" "$res/$suite.tsv"
	# These kernels are built with kprobes: a test skipping for want of kprobes there
	# means the detection is broken, and the kprobe path would go untested. Fail it.
	if grep -q '^CONFIG_KPROBES=y' "$kdir/config"; then
		awk -F'\t' -v OFS='\t' 'tolower($3) ~ /kprobe/ && $2 == "skip" {
			$2 = "fail"; $3 = "skipped on a kernel with CONFIG_KPROBES=y: " $3 } { print }' \
			"$res/$suite.tsv" >"$res/$suite.tsv.tmp" && mv "$res/$suite.tsv.tmp" "$res/$suite.tsv"
	fi
	local err=
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		err="timed out after ${timeout_s}s"
	elif [ "$rc" != 0 ]; then
		err="qemu exited with status $rc: $(head -c 300 "$logs/$ver.qemu")"
	fi
	local got
	got=$(sed -n 's/^@@VMTEST uname //p' "$rec" | head -n 1)
	if [ -z "$err" ] && [ -z "$got" ]; then
		err="the guest never reached /init (no uname record)"
	elif [ -z "$err" ] && [ "$got" != "$ver" ]; then
		err="guest runs '$got', expected '$ver'"
	elif [ -z "$err" ] && ! grep -q '^@@VMTEST done' "$rec"; then
		err="the guest stopped before the tests finished"
	elif [ -z "$err" ] && ! grep -q '^@@VMTEST ran ' "$rec"; then
		err="the test runner did not finish"
	fi
	grep '^@@VMTEST \(error\|warn\)' "$rec" | sed "s/^@@VMTEST /$label: /" >"$res/$suite.errors" || true
	if grep -q '^@@VMTEST error' "$rec"; then
		err="${err:+$err; }runner errors (below)"
	fi
	local boot done_up
	boot=$(sed -n 's/^@@VMTEST boot //p' "$rec" | head -n 1)
	done_up=$(sed -n 's/^@@VMTEST done .*uptime=//p' "$rec" | head -n 1)
	if [ -n "$boot" ] && [ -n "$done_up" ]; then
		awk -v b="$boot" -v d="$done_up" -v w="$wall" \
			'BEGIN { printf "boot %.1fs, tests %.1fs, qemu wall %ds\n", b, d - b, w }' >"$res/$suite.timing"
	else
		echo "qemu wall ${wall}s" >"$res/$suite.timing"
	fi
	if [ -n "$err" ]; then
		echo "$err; serial log: $log" >"$res/$suite.boot"
		say "$label: FAILED: $err"
		echo "----- last lines of $log -----" >&2
		tail -n 25 "$log" >&2 || true
		echo "-----" >&2
	else
		echo ok >"$res/$suite.boot"
		say "$label: done ($(cat "$res/$suite.timing"))"
	fi
}

for c in "${columns[@]}"; do
	rm -f "$res/$c".*
done
# Fetch every kernel first (downloads are quick), then boot them, VMTEST_JOBS at a time.
declare -A kdirs
for c in "${columns[@]}"; do
	[ "$c" = host ] && continue
	kdirs[$c]=$("$here/fetch-kernel.sh" "$c" "$cache") ||
		echo "could not get the kernel package (see above)" >"$res/$c.boot"
done
jobs_max=${VMTEST_JOBS:-1}
running=0
for c in "${columns[@]}"; do
	[ "$c" = host ] && continue
	[ -n "${kdirs[$c]:-}" ] || continue
	if [ "$jobs_max" -le 1 ]; then
		run_vm "$c" "${kdirs[$c]}"
		continue
	fi
	if [ "$running" -ge "$jobs_max" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	run_vm "$c" "${kdirs[$c]}" &
	running=$((running + 1))
done
wait
# The host last, on a quiet machine.
for c in "${columns[@]}"; do
	[ "$c" = host ] && run_host
done
for c in "${columns[@]}"; do
	b=$(cat "$res/$c.boot" 2>/dev/null || echo "did not run")
	[ "$b" = ok ] || harness_errors+=("$(label_of "$c"): $b")
done

# ---------------------------------------------------------------- 4. table
# Every test the executables list is a row; a column without a record for it says
# "not run" (and fails).
all_tests=$(for t in "${tests[@]}"; do
	read -r _ name _ <<<"$t"
	sed -n "s|^\(.*\): test\$|$name/\1|p" < <("$stage/opt/lebpf/tests/$name" --list --format=terse 2>/dev/null)
done)
table=$cache/results.md
{
	printf '| test |'
	for c in "${columns[@]}"; do
		if [ "$c" = host ]; then
			printf ' host %s |' "$(sed -n 's/^uname=//p' "$res/host.meta" 2>/dev/null)"
		else
			printf ' %s |' "$(sed -n 's/^uname=//p' "$res/$c.meta" 2>/dev/null || label_of "$c")"
		fi
	done
	printf '\n|---|'
	for _ in "${columns[@]}"; do printf -- '---|'; done
	printf '\n| (boot, uname, runner) |'
	for c in "${columns[@]}"; do
		b=$(cat "$res/$c.boot" 2>/dev/null || echo "did not run")
		if [ "$b" = ok ]; then printf ' ok |'; else printf ' **FAIL** (%s) |' "$b"; fi
	done
	printf '\n'
	while read -r t; do
		[ -n "$t" ] || continue
		printf '| %s |' "$t"
		for c in "${columns[@]}"; do
			cell=$(awk -F'\t' -v t="$t" '$1 == t { gsub(/\|/, "\\|", $3)
				if ($2 == "skip") print "skip (" $3 ")"; else if ($2 == "fail") print "**FAIL**" ($3 != "" ? " (" $3 ")" : ""); else print $2 }' \
				"$res/$c.tsv" 2>/dev/null | head -n 1)
			printf ' %s |' "${cell:-**not run**}"
		done
		printf '\n'
	done <<<"$all_tests"
	echo
	for c in "${columns[@]}"; do
		echo "- $(label_of "$c"): $(cat "$res/$c.timing" 2>/dev/null || echo n/a)"
	done
} >"$table"

echo
cat "$table"
echo

# Failed tests: show their output.
for c in "${columns[@]}"; do
	[ -f "$res/$c.tsv" ] || continue
	if [ "$c" = host ]; then rec=$logs/host.results; else rec=$logs/$(sed -n 's/^uname=//p' "$res/$c.meta").results; fi
	while IFS=$'\t' read -r t status reason; do
		[ "$status" = fail ] || continue
		failures=$((failures + 1))
		echo "===== $(label_of "$c"): $t FAILED ($reason) ====="
		awk -v t="${t%%/*} ${t#*/}" '
			$0 == "@@VMTEST output-begin " t { on = 1; next }
			on && /^@@VMTEST output-end/ { exit }
			on { print }' "$rec" | tail -n 40
	done <"$res/$c.tsv"
	if [ -s "$res/$c.errors" ]; then cat "$res/$c.errors"; fi
done

# Rows without a record (a column that ran but never reported a test) count as failures.
not_run=$(grep -c 'not run' "$table" || true)
for e in "${harness_errors[@]+"${harness_errors[@]}"}"; do echo "vmtest: HARNESS ERROR: $e" >&2; done
say "results written to $table (logs in $logs) in $((SECONDS - t_all))s"
if [ ${#harness_errors[@]} -gt 0 ] || [ "$failures" -gt 0 ] || [ "$not_run" -gt 0 ]; then
	say "FAILED: ${#harness_errors[@]} harness error(s), $failures failed test(s), $not_run row(s) with tests not run"
	exit 1
fi
say "all passed"
