// SPDX-License-Identifier: GPL-2.0
/* Port of "Learning eBPF" chapter 2, hello-tail.py ("Tail Calls"): a program on the
 * sys_enter raw tracepoint tail-calls a per-syscall program from a prog array.
 *
 * The book's BCC forms: BPF_PROG_ARRAY(syscall, 300) -> a BTF-defined PROG_ARRAY;
 * syscall.call(ctx, opcode) -> bpf_tail_call(); bpf_trace_printk -> bpf_printk.
 * The tail-call targets are loaded, never attached (section "raw_tp" without a name);
 * user space writes their fds into the array before attaching `hello`.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* Book: 300 entries (its later code: 500). x86_64 numbers go past 460, so user space
 * resizes this to the running architecture's syscall table before load. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 300);
	__type(key, u32);
	__type(value, u32);
} syscall SEC(".maps");

/* Not in the book: the book hardcodes x86_64's 222 and 226; user space sets the
 * running architecture's numbers for timer_create and timer_delete before load. */
const volatile int timer_create_nr = 222;
const volatile int timer_delete_nr = 226;

/* Not in the book: the process reading trace_pipe. Its own reads and writes would
 * otherwise print lines that wake it to read again, forever. 0 = filter nothing. */
const volatile u32 reader_tgid = 0;

SEC("raw_tp/sys_enter")
int hello(struct bpf_raw_tracepoint_args *ctx)
{
	int opcode = ctx->args[1];

	if (reader_tgid && (bpf_get_current_pid_tgid() >> 32) == reader_tgid)
		return 0;
	bpf_tail_call(ctx, &syscall, opcode);
	bpf_printk("Another syscall: %d", opcode);
	return 0;
}

SEC("raw_tp")
int hello_exec(void *ctx)
{
	bpf_printk("Executing a program");
	return 0;
}

SEC("raw_tp")
int hello_timer(struct bpf_raw_tracepoint_args *ctx)
{
	int opcode = ctx->args[1];

	/* Book: switch on the literals 222 and 226 (x86_64). */
	if (opcode == timer_create_nr)
		bpf_printk("Creating a timer");
	else if (opcode == timer_delete_nr)
		bpf_printk("Deleting a timer");
	else
		bpf_printk("Some other timer operation");
	return 0;
}

SEC("raw_tp")
int ignore_opcode(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
