// SPDX-License-Identifier: GPL-2.0
/* The floor for `make bench`: an empty program on the raw tracepoint sys_enter, the
 * same attach point as hello-tail. What it costs per syscall is what any program there
 * costs before doing anything. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("raw_tp/sys_enter")
int bench_empty(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
