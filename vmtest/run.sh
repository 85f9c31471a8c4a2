#!/usr/bin/env bash
# Kernel matrix: runs every privileged integration test of the package, from the
# static release files (scripts/build-static.sh: no host library enters a VM), inside
# Debian's kernels 5.10 (bullseye), 6.1 (bookworm) and 6.12 (trixie) on x86_64 and on
# arm64 under qemu (TCG, one boot per kernel), and on this host, then prints a
# kernel x test table.
#
# Usage: vmtest/run.sh [KERNEL...]
#   KERNEL: 5.10 6.1 6.12 host (x86_64), 5.10-arm64 6.1-arm64 6.12-arm64 (aarch64,
#   qemu-system-aarch64 -M virt), or a group: x86 (= 5.10 6.1 6.12 host),
#   arm64 (= the three arm64 kernels). Default: all seven columns.
#
# Environment:
#   VMTEST_TIMEOUT=<s>       seconds one VM may run (boot + all tests) before it fails
#                            (default 1500 on x86_64, 3000 on arm64)
#   VMTEST_TEST_TIMEOUT=<s>  seconds one test may run (default 120; 240 in the arm64
#                            guests, which emulate a foreign instruction set)
#   VMTEST_STALL=<s>         a guest that sends no new @@VMTEST record for this long is
#                            hung: the host asks it for backtraces (sysrq l/w, then an
#                            NMI on x86_64 / sysrq c on arm64, both panic it), kills
#                            qemu and fails (default: the test timeout + 60)
#   VMTEST_ONLY=<ERE>        run only the tests whose "<target>/<test>" matches
#   VMTEST_ARM64_ONLY=<ERE>  the arm64 columns run only the tests that also match this
#                            (default: $arm64_default below, empty = all tests)
#   VMTEST_LOOPS=1           run the (selected) tests this many times per boot/column
#   VMTEST_ACCEL=tcg,thread=single   qemu -accel value. Single-threaded TCG (one host
#                            thread runs all vCPUs in turn) instead of qemu's default
#                            multi-threaded TCG (one host thread per vCPU), whose
#                            emulation of the kernel's cross-CPU live code patching
#                            (text_poke_bp) is suspected of the lockups/int3 oopses
#                            seen on busy hosts: see vmtest/FINDINGS.md. Costs no wall
#                            time here: the VMs run in parallel (VMTEST_JOBS), one host
#                            core each. VMTEST_ACCEL=tcg brings MTTCG back.
#   VMTEST_CPU=max           qemu -cpu value (x86_64)
#   VMTEST_CPU_ARM64=max,pauth-impdef=on   qemu -cpu value (arm64): the `max` CPU with
#                            qemu's cheap pointer-authentication hash instead of the
#                            architected QARMA5, which TCG emulates slowly
#   VMTEST_REFRESH=1         look for newer kernel packages (else the cached ones are used)
#   VMTEST_KEEP_DEBUG=1      keep debug info in the binaries copied into the initramfs
#   VMTEST_JOBS=<n>          VMs booted at once (default: the host's cores, at most 3:
#                            with single-threaded TCG each VM keeps one core busy; more
#                            VMs than cores slows every guest and timing-sensitive
#                            tests fail more often)
#   VMTEST_MEM=2048 VMTEST_SMP=2
#
# Everything it downloads or builds lives in .cache/vmtest/ (the static builds in
# target/). Exit status: 0 only if every kernel booted, reported the expected
# `uname -r`, and no test failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
here=$root/vmtest
cache=$root/.cache/vmtest
logs=$cache/logs
res=$cache/results
accel=${VMTEST_ACCEL:-tcg,thread=single}
only=${VMTEST_ONLY:-}
loops=${VMTEST_LOOPS:-1}
case $loops in '' | *[!0-9]* | 0) echo "vmtest: ERROR: VMTEST_LOOPS must be a positive number" >&2; exit 1 ;; esac
# The tests the arm64 columns run (ERE on "<target>/<test>"; empty: all). See the
# README's kernel-matrix section for what is left out and why.
arm64_default=
arm64_only=${VMTEST_ARM64_ONLY-$arm64_default}

say() { echo "vmtest: $*" >&2; }
die() { echo "vmtest: ERROR: $*" >&2; exit 1; }

# A column is a Debian suite (x86_64 guest), <suite>-arm64 (aarch64 guest) or host.
suite_of() {
	case $1 in
	5.10 | bullseye) echo bullseye ;;
	6.1 | bookworm) echo bookworm ;;
	6.12 | trixie) echo trixie ;;
	5.10-arm64 | bullseye-arm64) echo bullseye-arm64 ;;
	6.1-arm64 | bookworm-arm64) echo bookworm-arm64 ;;
	6.12-arm64 | trixie-arm64) echo trixie-arm64 ;;
	*) return 1 ;;
	esac
}
label_of() {
	case $1 in
	bullseye) echo 5.10 ;; bookworm) echo 6.1 ;; trixie) echo 6.12 ;;
	*-arm64) echo "$(label_of "${1%-arm64}")-arm64" ;;
	*) echo "$1" ;;
	esac
}
arch_of() { # column -> the rust/ELF architecture of its binaries
	case $1 in *-arm64) echo aarch64 ;; *) echo x86_64 ;; esac
}
timeout_of() { # arch -> seconds one VM may run
	case $1 in aarch64) echo "${VMTEST_TIMEOUT:-3000}" ;; *) echo "${VMTEST_TIMEOUT:-1500}" ;; esac
}
test_timeout_of() { # arch -> seconds one test may run
	case $1 in aarch64) echo "${VMTEST_TEST_TIMEOUT:-240}" ;; *) echo "${VMTEST_TEST_TIMEOUT:-120}" ;; esac
}

columns=()
if [ $# -eq 0 ]; then
	set -- x86 arm64
fi
for k in "$@"; do
	case $k in
	x86 | x86_64 | amd64) set -- 5.10 6.1 6.12 host ;;
	arm64 | aarch64) set -- 5.10-arm64 6.1-arm64 6.12-arm64 ;;
	*) set -- "$k" ;;
	esac
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
			die "unknown kernel '$k' (known: 5.10 6.1 6.12 host 5.10-arm64 6.1-arm64 6.12-arm64, x86, arm64)"
		fi
	done
done
[ ${#columns[@]} -gt 0 ] || die "no column to run"
# The arm64 guests first: they take longest, and the VMs share VMTEST_JOBS slots.
mapfile -t columns < <(printf '%s\n' "${columns[@]}" | awk '!seen[$0]++' | awk '/-arm64$/ { print; next } { rest[++n] = $0 } END { for (i = 1; i <= n; i++) print rest[i] }')
arches=()
for c in "${columns[@]}"; do
	a=$(arch_of "$c")
	case " ${arches[*]} " in *" $a "*) ;; *) arches+=("$a") ;; esac
done

need=(cpio gzip apt-get dpkg-deb readelf file)
for a in "${arches[@]}"; do
	case $a in
	x86_64) need+=(busybox) ;;
	aarch64) need+=(qemu-aarch64-static) ;;
	esac
done
for c in "${columns[@]}"; do
	case $c in host) ;; *-arm64) need+=(qemu-system-aarch64) ;; *) need+=(qemu-system-x86_64) ;; esac
done
for tool in "${need[@]}"; do
	command -v "$tool" >/dev/null || die "$tool not found (make deps installs it)"
done

mkdir -p "$cache" "$logs" "$res"
t_all=$SECONDS

is_static() { # ELF: no program interpreter, no NEEDED library
	! readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter' &&
		! readelf -dW "$1" 2>/dev/null | grep -q '(NEEDED)'
}

# ---------------------------------------------------------------- 1. build once per arch
# scripts/build-static.sh ARCH --tests builds every binary, example and integration
# test executable fully static for ARCH and writes target/static-ARCH.list (in
# $CARGO_TARGET_DIR when set): one
# "<kind> <name> <absolute path>" line per executable (kind bin|example|test).
declare -A programs_of tests_of
for a in "${arches[@]}"; do
	[ -x "$root/scripts/build-static.sh" ] || die "scripts/build-static.sh is missing: the matrix runs the static release files it builds"
	say "$a: building the static binaries, examples and test executables (scripts/build-static.sh $a --tests)..."
	t0=$SECONDS
	nice "$root/scripts/build-static.sh" "$a" --tests >"$cache/build-$a.log" 2>&1 ||
		{ tail -n 40 "$cache/build-$a.log" >&2; die "scripts/build-static.sh $a --tests failed (log: $cache/build-$a.log)"; }
	manifest=$(cd "$root" && mkdir -p "${CARGO_TARGET_DIR:-target}" && cd "${CARGO_TARGET_DIR:-target}" && pwd)/static-$a.list
	[ -s "$manifest" ] || die "scripts/build-static.sh $a --tests wrote no $manifest"
	programs_of[$a]=$(awk '$1 == "bin" || $1 == "example"' "$manifest" | sort -u)
	tests_of[$a]=$(awk '$1 == "test"' "$manifest" | sort -u)
	[ -n "${programs_of[$a]}" ] || die "$manifest names no binaries"
	[ -n "${tests_of[$a]}" ] || die "$manifest names no integration test executables"
	# Release files only: every executable must be fully static. No host library is
	# ever copied into a VM, so a dynamic one could not run there (and would not run
	# on an older userland either).
	while read -r _ name exe; do
		[ -f "$exe" ] || die "$manifest: $exe does not exist"
		is_static "$exe" || die "$name ($exe) is dynamically linked ($(readelf -dW "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')$(readelf -lW "$exe" | sed -n 's/.*program interpreter: \([^]]*\)\]/interpreter \1/p')): the matrix runs static files only"
	done <<<"${programs_of[$a]}"$'\n'"${tests_of[$a]}"
	say "$a: built in $((SECONDS - t0))s"
done

# Every test the executables list is a row of the table. An executable that cannot
# list its tests or lists none, or a filter that leaves none, fails the run here.
# aarch64 executables list under qemu's user-mode emulator.
declare -A selected_of
all_tests=
for a in "${arches[@]}"; do
	run_exe=()
	[ "$a" = aarch64 ] && run_exe=(qemu-aarch64-static)
	listed=
	while read -r _ name exe; do
		list=$("${run_exe[@]}" "$exe" --list --format=terse 2>&1) || die "$a: $name --list failed: $list"
		names=$(sed -n "s|^\(.*\): test\$|$name/\1|p" <<<"$list")
		[ -n "$names" ] || die "$a: test executable $name ($exe) lists no tests"
		listed+=$names$'\n'
	done <<<"${tests_of[$a]}"
	sel=$listed
	if [ -n "$only" ]; then
		sel=$(grep -E -- "$only" <<<"$sel" || true)
	fi
	if [ "$a" = aarch64 ] && [ -n "$arm64_only" ]; then
		sel=$(grep -E -- "$arm64_only" <<<"$sel" || true)
	fi
	[ -n "${sel//[$'\n']/}" ] || die "$a: no test left${only:+ after VMTEST_ONLY='$only'}$([ "$a" = aarch64 ] && [ -n "$arm64_only" ] && echo " and VMTEST_ARM64_ONLY='$arm64_only'")"
	selected_of[$a]=$(grep . <<<"$sel")
	# rows: every listed test that passes VMTEST_ONLY (the arm64 subset shows as such)
	if [ -n "$only" ]; then listed=$(grep -E -- "$only" <<<"$listed" || true); fi
	all_tests+=$listed$'\n'
	say "$a: $(grep -c . <<<"${programs_of[$a]}") programs, $(grep -c . <<<"${tests_of[$a]}") test executables, $(grep -c . <<<"${selected_of[$a]}") tests to run${only:+ matching '$only'}$([ "$a" = aarch64 ] && [ -n "$arm64_only" ] && echo " (arm64 subset)"), $loops loop(s)"
done
all_tests=$(grep . <<<"$all_tests" | awk '!seen[$0]++')
[ -n "$all_tests" ] || die "the test executables list no tests"

# ---------------------------------------------------------------- 2. initramfs per arch
shq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
copy_elf() { # arch src dst
	if [ "${VMTEST_KEEP_DEBUG:-0}" != 1 ]; then
		# binutils' strip reads every ELF architecture it was built for; Debian's
		# x86_64 one does not do aarch64: keep the debug info then
		if strip --strip-debug -o "$3" "$2" 2>/dev/null; then return 0; fi
		[ "$1" = aarch64 ] && command -v aarch64-linux-gnu-strip >/dev/null &&
			aarch64-linux-gnu-strip --strip-debug -o "$3" "$2" && return 0
	fi
	cp "$2" "$3"
}
build_initramfs() { # arch
	local a=$1 stage=$cache/stage-$1 bb p name exe
	if [ "$a" = aarch64 ]; then
		# busybox-static:arm64 cannot be installed beside the host's amd64 one: it
		# comes from the same private apt configuration as the kernels
		bb=$("$here/fetch-kernel.sh" bookworm "$cache" arm64 busybox) || die "could not get busybox-static:arm64"
	else
		bb=$(command -v busybox)
	fi
	is_static "$bb" || die "$bb is not static: apt-get install busybox-static"
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,dev,proc,sys,tmp,run,root,etc,vmtest,opt/lebpf/bin,opt/lebpf/tests}
	ln -s bin "$stage/sbin"
	mkdir -p "$stage/usr"
	ln -s ../bin "$stage/usr/bin"
	ln -s ../bin "$stage/usr/sbin"
	cp "$bb" "$stage/bin/busybox"
	local run_bb=()
	[ "$a" = aarch64 ] && run_bb=(qemu-aarch64-static)
	for p in $("${run_bb[@]}" "$bb" --list); do
		[ "$p" = busybox ] || ln -s busybox "$stage/bin/$p"
	done
	while read -r _ name exe; do
		copy_elf "$a" "$exe" "$stage/opt/lebpf/bin/$name"
	done <<<"${programs_of[$a]}"
	while read -r _ name exe; do
		copy_elf "$a" "$exe" "$stage/opt/lebpf/tests/$name"
	done <<<"${tests_of[$a]}"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$stage/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$stage/etc/group"
	printf 'passwd: files\ngroup: files\n' >"$stage/etc/nsswitch.conf"
	install -m 0755 "$here/init" "$stage/init"
	install -m 0755 "$here/runner.sh" "$stage/vmtest/runner.sh"
	printf '%s\n' "${selected_of[$a]}" >"$stage/vmtest/tests"
	# The knobs the guest's runner reads, single-quoted for sh.
	{
		echo "VMTEST_TEST_TIMEOUT=$(shq "$(test_timeout_of "$a")")"
		echo "VMTEST_SELECT=/vmtest/tests"
		echo "VMTEST_LOOPS=$(shq "$loops")"
	} >"$stage/vmtest/env"
	chmod 1777 "$stage/tmp"
	# No host library: every ELF in the image must be static (checked again here, on
	# what is really packed).
	local f bad=
	while IFS= read -r f; do
		is_static "$f" || bad+=" ${f#"$stage"}"
	done < <(find "$stage" -type f -exec sh -c 'head -c 4 "$1" | grep -q "ELF"' sh {} \; -print)
	[ -z "$bad" ] || die "$a initramfs: dynamically linked:$bad"
	local initrd=$cache/initramfs-$a.cpio.gz
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
	say "$a initramfs: $(du -h "$initrd" | cut -f1) ($(du -sh "$stage" | cut -f1) unpacked, no shared library)"
}
for a in "${arches[@]}"; do
	build_initramfs "$a"
done
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
	local stage=$cache/stage-x86_64
	LEBPF_BIN_DIR=$stage/opt/lebpf/bin VMTEST_SELECT=$stage/vmtest/tests VMTEST_LOOPS=$loops \
		VMTEST_TEST_TIMEOUT=$(test_timeout_of x86_64) \
		sh "$here/runner.sh" "$stage/opt/lebpf/tests" >"$rec" 2>&1 &
	local rpid=$!
	progress host "$rec" "$rpid"
	wait "$rpid" || true
	echo "tests $((SECONDS - t0))s" >"$res/host.timing"
	printf 'uname=%s\npackage=%s\n' "$(uname -r)" "$(uname -m)" >"$res/host.meta"
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
trouble_pat='BUG: |Oops|Internal error: |Unable to handle kernel|soft lockup|hard LOCKUP|rcu_sched kthread starved|rcu_preempt kthread starved|rcu: INFO: |self-detected stall|detected stalls on CPUs|INFO: task .* blocked for more than|Kernel panic|general protection fault|WARNING: CPU: |int3: |invalid opcode: '
# ... and what the watchdog's sysrq / NMI make the guest print (not trouble by itself)
asked_pat='sysrq: Show|sysrq: Trigger a crash|NMI backtrace for cpu|Uhhuh. NMI'
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
# line for $6 seconds, asks the guest for every CPU's backtrace and the blocked tasks
# (sysrq l, w), then makes it panic with the stack of the CPU it stopped, and kills
# qemu (pid file $4). Writes why to $5.
#   x86_64: sysrq through the PS/2 keyboard (monitor `sendkey alt-sysrq-X`), then an
#           NMI (monitor `nmi`: the guest panics on it, unknown_nmi_panic).
#   arm64:  the virt board has no keyboard and qemu 7.2 no NMI for it: sysrq by a
#           serial BREAK on the console (ttyAMA0, a telnet chardev: IAC BRK, then the
#           key), and sysrq c (crash) for the panic.
watchdog() { # qemu-timeout-pid records mon pidfile stall-file stall-seconds arch
	local pid=$1 rec=$2 mon=$3 pidfile=$4 stallf=$5 stall_s=$6 arch=$7 n last=-1 since=$SECONDS
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
		if [ "$arch" = aarch64 ]; then
			sysrq_serial "$mon" l w c
		else
			mon_cmd "$mon" "sendkey alt-sysrq-l"
			sleep 2
			mon_cmd "$mon" "sendkey alt-sysrq-w"
			sleep 2
			mon_cmd "$mon" "nmi"
		fi
		sleep 5
		kill "$(cat "$pidfile" 2>/dev/null)" 2>/dev/null || kill "$pid" 2>/dev/null || true
		return 0
	done
}
mon_cmd() { # mon command: never blocks (the fifo has no reader once qemu is gone)
	timeout 5 sh -c 'printf "%s\n" "$2" >"$1.in"' sh "$1" "$2" 2>/dev/null || true
}
# Sends a serial BREAK and then a sysrq KEY, for each KEY, 2 s apart, to the arm64
# guest's console, over one connection to its telnet chardev (qemu picked a free port:
# the monitor's `info chardev` names it). Seen: keys sent over separate connections
# right after each other were sometimes lost; one connection for all of them was not.
sysrq_serial() { # mon key...
	local mon=$1 port
	shift
	mon_cmd "$mon" "info chardev"
	sleep 1
	port=$(tr -d '\r' <"$mon.log" 2>/dev/null | sed -n 's/^con: filename=.*telnet:127\.0\.0\.1:\([0-9]*\).*/\1/p' | tail -n 1)
	[ -n "$port" ] || return 0
	timeout $((5 + 3 * $#)) bash -c 'exec 5<>"/dev/tcp/127.0.0.1/$1" || exit 1; shift
		for k in "$@"; do printf "\377\363" >&5; sleep 0.5; printf "%s" "$k" >&5; sleep 2; done' \
		sh "$port" "$@" 2>/dev/null || true
}

# Boots one kernel (already fetched into $2) and leaves its results in $res/$1.*
# (.tsv records, .meta, .boot = "ok" or the harness error, .timing, .errors,
# .trouble = the kernel's lockup/oops report when there is one).
# Runs in the background when VMs run in parallel: it only writes files.
run_vm() { # suite kernel-dir
	local suite=$1 kdir=$2 label ver log rec mon pidfile stallf arch timeout_s stall_s
	label=$(label_of "$suite")
	arch=$(arch_of "$suite")
	timeout_s=$(timeout_of "$arch")
	stall_s=${VMTEST_STALL:-$(($(test_timeout_of "$arch") + 60))}
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
	# the console (loglevel 7: everything but debug). The records go to a second
	# serial port, named to /init by vmtest_out=.
	local cmdline="loglevel=7 panic=-1 oops=panic softlockup_panic=1 softlockup_all_cpu_backtrace=1 hung_task_panic=1 sysctl.kernel.panic_on_rcu_stall=1 sysrq_always_enabled=1 rdinit=/init mitigations=off"
	local qemu
	if [ "$arch" = aarch64 ]; then
		# -M virt has one PL011 UART (ttyAMA0: the console, a telnet chardev so that
		# the watchdog can send a BREAK for sysrq; qemu picks a free local port and
		# logs everything to $log) and a PCI 16550 for the records (ttyS0).
		qemu=(qemu-system-aarch64 -M virt -cpu "${VMTEST_CPU_ARM64:-max,pauth-impdef=on}"
			-chardev "socket,id=con,host=127.0.0.1,port=0,server=on,wait=off,telnet=on,logfile=$log"
			-serial chardev:con
			-chardev "file,id=rec,path=$rec" -device "pci-serial,chardev=rec"
			-append "console=ttyAMA0 vmtest_out=ttyS0 $cmdline")
	else
		qemu=(qemu-system-x86_64 -cpu "${VMTEST_CPU:-max}"
			-serial "file:$log" -serial "file:$rec"
			-append "console=ttyS0 vmtest_out=ttyS1 sysctl.kernel.unknown_nmi_panic=1 $cmdline")
	fi
	timeout --kill-after=10 "$timeout_s" "${qemu[@]}" \
		-accel "$accel" -m "${VMTEST_MEM:-2048}" -smp "${VMTEST_SMP:-2}" \
		-nodefaults -display none -no-reboot -pidfile "$pidfile" \
		-chardev "pipe,id=mon,path=$mon" -mon chardev=mon,mode=readline \
		-kernel "$kdir/vmlinuz" -initrd "$cache/initramfs-$arch.cpio.gz" \
		</dev/null >"$logs/$ver.qemu" 2>&1 &
	local qpid=$!
	# the monitor's answers (kept for the record); cat ends when qemu closes the fifo
	cat "$mon.out" >"$mon.log" 2>/dev/null &
	local cpid=$!
	watchdog "$qpid" "$rec" "$mon" "$pidfile" "$stallf" "$stall_s" "$arch" &
	local wpid=$!
	progress "$label" "$rec" "$qpid"
	wait "$qpid" || rc=$?
	kill "$wpid" 2>/dev/null || true
	wait "$wpid" 2>/dev/null || true
	# (cat still waits for a writer when qemu never opened the fifo)
	kill "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	local wall=$((SECONDS - t0))
	{
		echo "uname=$ver"
		echo "package=$(basename "$(dirname "$kdir")" | sed 's/-arm64$//') $(cat "$kdir/package-version" 2>/dev/null)"
	} >"$res/$suite.meta"
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
	if [ "$(arch_of "$c")" = aarch64 ]; then
		kdirs[$c]=$("$here/fetch-kernel.sh" "${c%-arm64}" "$cache" arm64) ||
			echo "could not get the kernel package (see above)" >"$res/$c.boot"
		continue
	fi
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
# "not run" (and fails), but for the tests an arm64 column leaves out by design
# (VMTEST_ARM64_ONLY).
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
	printf '\n| (kernel package) |'
	for c in "${columns[@]}"; do
		printf ' %s |' "$(sed -n 's/^package=//p' "$res/$c.meta" 2>/dev/null)"
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
			if [ -z "$cell" ] && ! grep -Fxq -- "$t" <<<"${selected_of[$(arch_of "$c")]}"; then
				cell="- (not in the arm64 subset)"
			fi
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
