#!/usr/bin/env bash
# Usage: vmtest/repro/flip.sh KERNEL ACCEL [BOOTS] [SECS]
#   KERNEL: 5.10 | 6.1 | 6.12   ACCEL: tcg | tcg,thread=single
#
# Boots KERNEL (fetched by vmtest/fetch-kernel.sh) BOOTS times (default 5) with a
# busybox-only initramfs that flips tracepoint static keys for SECS seconds (default 60),
# and prints one line per boot: ok (with the number of flip cycles), int3-oops, stall,
# or frozen (no heartbeat for 60 s: then the CPUs' stacks are asked for through the qemu
# monitor, sysrq l/w and an NMI, as vmtest/run.sh does). Logs in .cache/vmtest/repro/.
set -euo pipefail
k=${1:?kernel} accel=${2:?accel} boots=${3:-5} secs=${4:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
case $k in 5.10) suite=bullseye ;; 6.1) suite=bookworm ;; 6.12) suite=trixie ;; *) echo "unknown kernel $k" >&2; exit 2 ;; esac
kdir=$("$root/vmtest/fetch-kernel.sh" "$suite" "$root/.cache/vmtest")
out=$root/.cache/vmtest/repro
mkdir -p "$out"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,proc,sys,dev,tmp}
ln -s bin "$stage/sbin"
cp "$(command -v busybox)" "$stage/bin/busybox"
for a in $(busybox --list); do [ "$a" = busybox ] || ln -s busybox "$stage/bin/$a"; done
install -m 0755 "$root/vmtest/repro/flip-init" "$stage/init"
(cd "$stage" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$out/flip.cpio.gz"
tag=$(echo "$k-$accel" | tr ',=' '__')
for i in $(seq 1 "$boots"); do
	b=$out/$tag-$(date -u +%H%M%S)
	rm -f "$b.in" "$b.out"
	mkfifo "$b.in" "$b.out"
	cat "$b.out" >"$b.mon" 2>/dev/null &
	cpid=$!
	timeout $((secs + 300)) qemu-system-x86_64 -accel "$accel" -cpu max -m 1024 -smp 2 \
		-nodefaults -display none -no-reboot \
		-chardev "pipe,id=mon,path=$b" -mon chardev=mon,mode=readline -serial "file:$b.log" \
		-kernel "$kdir/vmlinuz" -initrd "$out/flip.cpio.gz" \
		-append "console=ttyS0 loglevel=7 panic=-1 oops=panic softlockup_panic=1 softlockup_all_cpu_backtrace=1 hung_task_panic=1 sysctl.kernel.unknown_nmi_panic=1 sysrq_always_enabled=1 rdinit=/init mitigations=off FLIP_SECS=$secs" \
		</dev/null >"$b.qemu" 2>&1 &
	q=$!
	last=-1 same=0 frozen=0
	while kill -0 "$q" 2>/dev/null; do
		sleep 5
		sz=$(grep -ac 'FLIP beat' "$b.log" || true)
		if [ "$sz" = "$last" ] && grep -aq 'Run /init' "$b.log"; then same=$((same + 5)); else same=0 last=$sz; fi
		if [ "$same" -ge 60 ] && ! grep -aq 'FLIP done' "$b.log"; then
			frozen=1
			for c in "sendkey alt-sysrq-l" "sendkey alt-sysrq-w" "nmi"; do
				timeout 5 sh -c 'printf "%s\n" "$2" >"$1"' sh "$b.in" "$c" || true
				sleep 4
			done
			sleep 5
			kill "$q" 2>/dev/null || true
			break
		fi
	done
	wait "$q" || true
	kill "$cpid" 2>/dev/null || true
	wait "$cpid" 2>/dev/null || true
	if grep -aq 'Oops: int3' "$b.log"; then r=int3-oops
	elif grep -aqE 'self-detected stall|kthread starved|BUG: soft lockup' "$b.log"; then r=stall
	elif [ "$frozen" = 1 ] || ! grep -aq 'FLIP done' "$b.log"; then r=frozen
	else r="ok ($(grep -ao 'FLIP done: [0-9]* cycles' "$b.log"))"; fi
	echo "$k $accel boot $i: $r  ($b.log)"
done
