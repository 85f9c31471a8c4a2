// SPDX-License-Identifier: GPL-2.0
/* The floor for execsnoop in `make bench`: an empty program on the raw tracepoint
 * sched_process_exec, execsnoop's own attach point. What it costs per exec is what any
 * program there costs before doing anything. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("raw_tp/sched_process_exec")
int bench_exec_empty(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
