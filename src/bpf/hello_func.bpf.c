// SPDX-License-Identifier: GPL-2.0
/* Port of "Learning eBPF" chapter 3, hello-func.bpf.c ("BPF to BPF Calls"):
 * `hello` calls get_opcode(), a separate BPF function (noinline), and prints
 * the syscall number.
 *
 * The book only loads it (bpftool prog load) and shows the call in
 * `bpftool prog dump xlated`; we also attach it to the sys_enter raw tracepoint.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* Not in the book: the process reading trace_pipe. Its own reads and writes would
 * otherwise print lines that wake it to read again, forever. 0 = filter nothing. */
const volatile u32 reader_tgid = 0;

static __noinline int get_opcode(struct bpf_raw_tracepoint_args *ctx)
{
	return ctx->args[1];
}

/* Book: SEC("raw_tp/"); libbpf attaches by the name after the slash. */
SEC("raw_tp/sys_enter")
int hello(struct bpf_raw_tracepoint_args *ctx)
{
	int opcode;

	if (reader_tgid && (bpf_get_current_pid_tgid() >> 32) == reader_tgid)
		return 0;
	opcode = get_opcode(ctx);
	bpf_printk("Syscall: %d", opcode);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
