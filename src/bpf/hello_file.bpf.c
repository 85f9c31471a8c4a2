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
	char filename[200];

	bpf_get_current_comm(command, sizeof(command));

	/* Book: args->filename straight into %s. printk's %s reads it as kernel memory, which
	 * finds user memory on x86_64 only (arm64 keeps the two apart and prints an empty
	 * name), so copy it out of user memory first. 200 bytes: command + this fit in the
	 * 512-byte BPF stack. */
	bpf_probe_read_user_str(filename, sizeof(filename), (const char *)ctx->args[1]);
	bpf_printk("File %s", filename);
	bpf_printk("     opened by:%s", command);

	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
