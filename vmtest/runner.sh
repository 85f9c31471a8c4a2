#!/bin/sh
# Usage: runner.sh TEST_DIR
#
# Runs every test of every integration-test executable in TEST_DIR (named after
# its cargo target), one test per process (`--exact NAME --test-threads=1`), and
# prints machine-readable records on stdout:
#
#   @@VMTEST result <target> <test> pass|skip|fail|ignored <seconds> [<reason>]
#
# between `@@VMTEST output-begin <target> <test>` and `@@VMTEST output-end` it
# prints the test's own output; `@@VMTEST start <target> <test> <loop>` goes out
# before a test starts (the host's no-progress watchdog names the test that hung).
# Runs under busybox sh in the guest and under bash/dash on the host.
# LEBPF_BIN_DIR must be set (the tests find the programs there).
#
#   VMTEST_ONLY=<ERE>  run only the tests whose "<target>/<test>" matches (default: all)
#   VMTEST_SELECT=FILE run only the tests whose "<target>/<test>" is a line of FILE
#                      (run.sh writes the list it selected for the guest's arch)
#   VMTEST_LOOPS=N     run the (selected) tests N times over (default 1)
#
# An executable that lists no tests (or whose filter leaves none), or no test at all,
# is an error record: the host fails the run.
set -u

dir=${1:?test dir}
per_test_timeout=${VMTEST_TEST_TIMEOUT:-120}
only=${VMTEST_ONLY:-}
select=${VMTEST_SELECT:-}
loops=${VMTEST_LOOPS:-1}
out=${TMPDIR:-/tmp}/vmtest-runner.$$
: "${LEBPF_BIN_DIR:?LEBPF_BIN_DIR must be set}"

now() { awk '{ print $1 }' /proc/uptime; }

n=0
loop=0
while [ "$loop" -lt "$loops" ]; do
loop=$((loop + 1))
for exe in "$dir"/*; do
	[ -x "$exe" ] || continue
	target=${exe##*/}
	if ! "$exe" --list --format=terse >"$out.list" 2>&1; then
		echo "@@VMTEST error $target: --list failed: $(head -c 500 "$out.list" | tr '\n' ' ')"
		continue
	fi
	sed -n 's/: test$//p' "$out.list" >"$out.names"
	if [ ! -s "$out.names" ]; then
		echo "@@VMTEST error $target: --list names no tests"
		continue
	fi
	if [ -n "$only" ]; then
		sed "s|^|$target/|" "$out.names" | grep -E -- "$only" | sed "s|^$target/||" >"$out.sel" || true
		mv "$out.sel" "$out.names"
	fi
	if [ -n "$select" ]; then
		sed "s|^|$target/|" "$out.names" | grep -Fx -f "$select" | sed "s|^$target/||" >"$out.sel" || true
		mv "$out.sel" "$out.names"
	fi
	while read -r t; do
		n=$((n + 1))
		echo "@@VMTEST start $target $t $loop"
		start=$(now)
		timeout "$per_test_timeout" "$exe" --exact "$t" --test-threads=1 --show-output \
			</dev/null >"$out" 2>&1
		rc=$?
		end=$(now)
		secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
		reason=
		if [ "$rc" = 124 ] || [ "$rc" = 143 ]; then
			status=fail reason="timed out after ${per_test_timeout}s"
		elif [ "$rc" != 0 ]; then
			# the panic message (first line) says more than the exit status
			msg=$(awk '/panicked at / { getline; print; exit }' "$out" | cut -c 1-150)
			status=fail reason=${msg:-"exit status $rc"}
		elif grep -q "^test $t \.\.\. ignored" "$out"; then
			status=ignored
		elif ! grep -q "^test $t \.\.\. ok" "$out" && ! grep -q "^test $t \.\.\. .*ok$" "$out"; then
			status=fail reason="no 'test $t ... ok' line"
		elif grep -q "^SKIP: $t: " "$out"; then
			status=skip
			reason=$(sed -n "s/^SKIP: $t: //p" "$out" | head -n 1)
		else
			status=pass
		fi
		echo "@@VMTEST output-begin $target $t"
		cat "$out"
		# the output may end without a newline (a test killed mid-line)
		[ -z "$(tail -c 1 "$out")" ] || echo
		echo "@@VMTEST output-end"
		echo "@@VMTEST result $target $t $status $secs $reason"
	done <"$out.names"
done
done
rm -f "$out" "$out.list" "$out.names"
if [ "$n" -eq 0 ]; then
	echo "@@VMTEST error no test ran (dir $dir${only:+, VMTEST_ONLY=$only}${select:+, VMTEST_SELECT=$select})"
fi
echo "@@VMTEST ran $n tests"
