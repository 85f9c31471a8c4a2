#!/usr/bin/env bash
# Usage: vmtest/repeat.sh N [KERNEL...]
#
# Runs the full matrix (vmtest/run.sh KERNEL...) N times in a row, keeps every run's
# output and logs under .cache/vmtest/repeat/<start time>/<i>/, and appends one line per
# run to .cache/vmtest/repeat/<start time>/summary:
#
#   <i> <start UTC> <PASS|FAIL> <seconds> <load average at the end> <first failure>
#
# Exit status: 0 only if every run passed.
set -euo pipefail

n=${1:?number of runs}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/.cache/vmtest/repeat/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$dir"
echo "vmtest/repeat: $n runs, summary in $dir/summary" >&2
bad=0
for i in $(seq 1 "$n"); do
	start=$(date -u +%H:%M:%S)
	t0=$SECONDS
	rc=0
	"$root/vmtest/run.sh" "$@" >"$dir/$i.out" 2>&1 || rc=$?
	secs=$((SECONDS - t0))
	mkdir -p "$dir/$i"
	cp -r "$root/.cache/vmtest/logs" "$root/.cache/vmtest/results.md" "$dir/$i/" 2>/dev/null || true
	if [ "$rc" = 0 ]; then
		verdict=PASS why=
	else
		verdict=FAIL bad=$((bad + 1))
		why=$(grep -m 1 -E 'HARNESS ERROR|: fail |FAILED' "$dir/$i.out" | cut -c 1-200 || true)
	fi
	load=$(cut -d ' ' -f 1-3 /proc/loadavg)
	echo "$i $start $verdict ${secs}s load=[$load] $why" | tee -a "$dir/summary" >&2
done
[ "$bad" = 0 ]
