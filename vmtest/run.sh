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
#   VMTEST_STALL=<s>         a guest that sends no new @@VMTEST record for this long is
#                            hung: the host asks it for backtraces (sysrq l/w, then an
#                            NMI that panics it), kills qemu and fails
#                            (default: VMTEST_TEST_TIMEOUT + 60)
#   VMTEST_ONLY=<ERE>        run only the tests whose "<target>/<test>" matches
#   VMTEST_LOOPS=1           run the (selected) tests this many times per boot/column
#   VMTEST_ACCEL=tcg,thread=single   qemu -accel value. Single-threaded TCG (one host
#                            thread runs all vCPUs in turn) instead of qemu's default
#                            multi-threaded TCG (one host thread per vCPU), whose
#                            emulation of the kernel's cross-CPU live code patching
#                            (text_poke_bp) is suspected of the lockups/int3 oopses
#                            seen on busy hosts: see vmtest/FINDINGS.md. Costs no wall
#                            time here: the VMs run in parallel (VMTEST_JOBS), one host
#                            core each. VMTEST_ACCEL=tcg brings MTTCG back.
#   VMTEST_CPU=max           qemu -cpu value
#   VMTEST_REFRESH=1         look for newer kernel packages (else the cached ones are used)
#   VMTEST_KEEP_DEBUG=1      keep debug info in the binaries copied into the initramfs
#   VMTEST_JOBS=<n>          VMs booted at once (default: the host's cores, at most 3:
#                            with single-threaded TCG each VM keeps one core busy; more
#                            VMs than cores slows every guest and timing-sensitive
#                            tests fail more often)
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
test_timeout=${VMTEST_TEST_TIMEOUT:-120}
stall_s=${VMTEST_STALL:-$((test_timeout + 60))}
accel=${VMTEST_ACCEL:-tcg,thread=single}
only=${VMTEST_ONLY:-}
loops=${VMTEST_LOOPS:-1}
case $loops in '' | *[!0-9]* | 0) echo "vmtest: ERROR: VMTEST_LOOPS must be a positive number" >&2; exit 1 ;; esac

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
# Every test the executables list is a row of the table. An executable that cannot
# list its tests or lists none, or a filter that leaves none, fails the run here.
all_tests=
for t in "${tests[@]}"; do
	read -r _ name exe <<<"$t"
	list=$("$exe" --list --format=terse 2>&1) || die "$name --list failed: $list"
	names=$(sed -n "s|^\(.*\): test\$|$name/\1|p" <<<"$list")
	[ -n "$names" ] || die "test executable $name ($exe) lists no tests"
	all_tests+=$names$'\n'
done
if [ -n "$only" ]; then
	all_tests=$(grep -E -- "$only" <<<"$all_tests" || true)
	[ -n "$all_tests" ] || die "VMTEST_ONLY='$only' matches no test"
fi
[ -n "${all_tests//[$'\n']/}" ] || die "the test executables list no tests"
say "${#programs[@]} programs, ${#tests[@]} test executables, $(grep -c . <<<"$all_tests") tests${only:+ matching '$only'}${loops:+, $loops loop(s)}"

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
# The knobs the guest's runner reads, single-quoted for sh.
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
{
	echo "VMTEST_TEST_TIMEOUT=$(shq "$test_timeout")"
	echo "VMTEST_ONLY=$(shq "$only")"
	echo "VMTEST_LOOPS=$(shq "$loops")"
} >"$stage/vmtest/env"
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
	LEBPF_BIN_DIR=$stage/opt/lebpf/bin VMTEST_ONLY=$only VMTEST_LOOPS=$loops VMTEST_TEST_TIMEOUT=$test_timeout \
		sh "$here/runner.sh" "$stage/opt/lebpf/tests" >"$rec" 2>&1 &
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

# Kernel trouble in a serial log: lockups, stalls, oopses, warnings, panics. Prints
# the first such block (from a few lines before it, with its call trace) and every
# "Kernel panic" line, at most $2 lines (default 200). Prints nothing for a clean log.
trouble_pat='BUG: |Oops|soft lockup|hard LOCKUP|rcu_sched kthread starved|rcu_preempt kthread starved|rcu: INFO: |self-detected stall|detected stalls on CPUs|INFO: task .* blocked for more than|Kernel panic|general protection fault|WARNING: CPU: |int3: |invalid opcode: '
# ... and what the watchdog's sysrq / NMI make the guest print (not trouble by itself)
asked_pat='sysrq: Show|NMI backtrace for cpu|Uhhuh. NMI'
kernel_trouble() { # serial-log [max-lines]
	tr -d '\r' <"$1" | awk -v pat="$trouble_pat|$asked_pat" -v max="${2:-200}" '
		{ line[NR] = $0 }
		!first && $0 ~ pat { first = NR }
		/Kernel panic/ { panic[++np] = NR }
		END {
			if (!first) exit
			from = first > 5 ? first - 5 : 1
			to = from + max - 1
			if (to > NR) to = NR
			for (i = from; i <= to; i++) print line[i]
			if (to < NR) printf "[... %d more lines in the log ...]\n", NR - to
			for (j = 1; j <= np; j++) if (panic[j] > to) print line[panic[j]]
		}'
}
# The first line of trouble the kernel reported by itself (before the watchdog asked
# for backtraces), or nothing.
kernel_trouble_line() {
	tr -d '\r' <"$1" | awk -v pat="$trouble_pat" -v asked="$asked_pat" '
		$0 ~ asked { exit }
		$0 ~ pat { print substr($0, 1, 200); exit }'
}

# No-progress watchdog for one guest: when the records file $2 gets no new @@VMTEST
# line for $stall_s seconds, asks the guest (monitor fifo $3.in) for every CPU's
# backtrace and the blocked tasks (sysrq l, w), then injects an NMI (the guest panics
# on it: unknown_nmi_panic), and kills qemu (pid file $4). Writes why to $5.
watchdog() { # qemu-timeout-pid records mon pidfile stall-file
	local pid=$1 rec=$2 mon=$3 pidfile=$4 stallf=$5 n last=-1 since=$SECONDS
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		n=$(grep -c '^@@VMTEST' "$rec" 2>/dev/null || true)
		if [ "$n" != "$last" ]; then
			last=$n since=$SECONDS
			continue
		fi
		[ $((SECONDS - since)) -ge "$stall_s" ] || continue
		local what
		what=$(tr -d '\r' <"$rec" | grep '^@@VMTEST \(start\|result\|boot\|uname\)' | tail -n 1 |
			sed 's/^@@VMTEST start \([^ ]*\) \([^ ]*\) \([0-9]*\)/while running \1\/\2 (loop \3)/; s/^@@VMTEST \(result\|boot\|uname\).*/after "&"/')
		echo "no new record for ${stall_s}s ${what:-before the first record}: guest hung" >"$stallf"
		mon_cmd "$mon" "sendkey alt-sysrq-l"
		sleep 2
		mon_cmd "$mon" "sendkey alt-sysrq-w"
		sleep 2
		mon_cmd "$mon" "nmi"
		sleep 5
		kill "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null || kill "$pid" 2>/dev/null || true
		return 0
	done
}
mon_cmd() { # mon command: never blocks (the fifo has no reader once qemu is gone)
	timeout 5 sh -c 'printf "%s\n" "$2" >"$1.in"' sh "$1" "$2" 2>/dev/null || true
}

# Boots one kernel (already fetched into $2) and leaves its results in $res/$1.*
# (.tsv records, .meta, .boot = "ok" or the harness error, .timing, .errors,
# .trouble = the kernel's lockup/oops report when there is one).
# Runs in the background when VMs run in parallel: it only writes files.
run_vm() { # suite kernel-dir
	local suite=$1 kdir=$2 label ver log rec mon pidfile stallf
	label=$(label_of "$suite")
	ver=$(cat "$kdir/version")
	log=$logs/$ver.log
	rec=$logs/$ver.results
	mon=$logs/$ver.mon
	pidfile=$logs/$ver.pid
	stallf=$logs/$ver.stall
	rm -f "$log" "$rec" "$res/$suite.tsv" "$mon.in" "$mon.out" "$mon.log" "$pidfile" "$stallf"
	mkfifo "$mon.in" "$mon.out"
	say "$label: booting $ver under qemu (-accel $accel)..."
	local t0=$SECONDS rc=0
	: >"$rec"
	# Kernel command line: panic at once (and so end qemu: -no-reboot) on an oops,
	# a soft lockup or a hung task, with every CPU's backtrace, and print it all on
	# ttyS0 (loglevel 7: everything but debug).
	timeout --kill-after=10 "$timeout_s" qemu-system-x86_64 \
		-accel "$accel" -cpu "${VMTEST_CPU:-max}" -m "${VMTEST_MEM:-2048}" -smp "${VMTEST_SMP:-2}" \
		-nodefaults -display none -no-reboot -pidfile "$pidfile" \
		-chardev "pipe,id=mon,path=$mon" -mon chardev=mon,mode=readline \
		-serial "file:$log" -serial "file:$rec" \
		-kernel "$kdir/vmlinuz" -initrd "$initrd" \
		-append "console=ttyS0 loglevel=7 panic=-1 oops=panic softlockup_panic=1 softlockup_all_cpu_backtrace=1 hung_task_panic=1 sysctl.kernel.unknown_nmi_panic=1 sysctl.kernel.panic_on_rcu_stall=1 sysrq_always_enabled=1 rdinit=/init mitigations=off" \
		</dev/null >"$logs/$ver.qemu" 2>&1 &
	local qpid=$!
	# the monitor's answers (kept for the record); cat ends when qemu closes the fifo
	cat "$mon.out" >"$mon.log" 2>/dev/null &
	local cpid=$!
	watchdog "$qpid" "$rec" "$mon" "$pidfile" "$stallf" &
	local wpid=$!
	progress "$label" "$rec" "$qpid"
	wait "$qpid" || rc=$?
	kill "$wpid" 2>/dev/null || true
	wait "$wpid" 2>/dev/null || true
	# (cat still waits for a writer when qemu never opened the fifo)
	kill "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	local wall=$((SECONDS - t0))
	echo "uname=$ver" >"$res/$suite.meta"
	touch "$rec" "$log"
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
	local err= trouble
	trouble=$(kernel_trouble_line "$log")
	if [ -s "$stallf" ]; then
		err=$(cat "$stallf")
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
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
	# A lockup, oops or kernel warning fails the column even when every test passed.
	if [ -n "$trouble" ]; then
		err="${err:+$err; }kernel: $trouble"
	fi
	if [ -n "$trouble" ] || [ -s "$stallf" ]; then
		kernel_trouble "$log" >"$res/$suite.trouble"
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
		if [ -s "$res/$suite.trouble" ]; then
			echo "----- kernel report in $log -----" >&2
			cat "$res/$suite.trouble" >&2
		else
			echo "----- last lines of $log -----" >&2
			tr -d '\r' <"$log" | tail -n 40 >&2 || true
		fi
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
cores=$(nproc 2>/dev/null || echo 1)
jobs_max=${VMTEST_JOBS:-$((cores < 3 ? cores : 3))}
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
			# with VMTEST_LOOPS > 1: a failure in any loop shows (k/n), else the first
			cell=$(awk -F'\t' -v t="$t" '$1 == t { gsub(/\|/, "\\|", $3); n++
					if ($2 == "fail") { nf++; if (!fr) fr = ($3 != "" ? $3 : "-") }
					if (!first) first = ($2 == "skip" ? "skip (" $3 ")" : $2) }
				END { if (!n) exit
					if (nf) print "**FAIL**" (n > 1 ? " " nf "/" n : "") (fr != "-" ? " (" fr ")" : "")
					else print first (n > 1 ? " x" n : "") }' \
				"$res/$c.tsv" 2>/dev/null)
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
	nf=$(awk -F'\t' '$2 == "fail"' "$res/$c.tsv" | wc -l)
	failures=$((failures + nf))
	[ "$nf" -eq 0 ] || awk -v k="$(label_of "$c")" -v max=40 '
		/^@@VMTEST output-begin / { on = 1; n = 0; next }
		on && /^@@VMTEST output-end/ { on = 0; next }
		on { buf[++n] = $0; next }
		/^@@VMTEST result / && $5 == "fail" {
			reason = ""
			for (i = 7; i <= NF; i++) reason = reason (i > 7 ? " " : "") $i
			printf "===== %s: %s/%s FAILED (%s) =====\n", k, $3, $4, reason
			for (i = (n > max ? n - max + 1 : 1); i <= n; i++) print buf[i]
		}' "$rec"
	if [ -s "$res/$c.errors" ]; then cat "$res/$c.errors"; fi
done
# The kernels' lockup / oops reports, once more at the end of the output.
for c in "${columns[@]}"; do
	[ -s "$res/$c.trouble" ] || continue
	echo "===== $(label_of "$c"): kernel report (serial log $logs/$(sed -n 's/^uname=//p' "$res/$c.meta").log) ====="
	cat "$res/$c.trouble"
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
