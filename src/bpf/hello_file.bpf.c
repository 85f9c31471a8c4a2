// SPDX-License-Identifier: GPL-2.0
/* Port of the companion's chapter2/hello-file.py: on every openat, print the file name
 * and the caller's command to the trace pipe.
 *
 * BCC's TRACEPOINT_PROBE(syscalls, sys_enter_openat) is a tracepoint program named
 * tracepoint__syscalls__sys_enter_openat whose `args` is the tracepoint's record; in
 * libbpf it is SEC("tp/syscalls/sys_enter_openat") with the generic sys_enter record,
 * where args[0] is dfd and args[1] the filename (user memory).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("tp/syscalls/sys_enter_openat")
int tracepoint__syscalls__sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	char command[256];

	bpf_get_current_comm(command, sizeof(command));

	/* Book: args->filename. %s reads a user pointer on x86_64 (as in the book). */
	bpf_printk("File %s", (const char *)ctx->args[1]);
	bpf_printk("     opened by:%s", command);

	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
