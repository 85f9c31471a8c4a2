// SPDX-License-Identifier: GPL-2.0
/* Port of "Learning eBPF" chapter 2, hello.py (Example 2-1): print "Hello World!"
 * to the trace pipe on every execve.
 *
 * The book attaches one program with BCC's `b.attach_kprobe(event=get_syscall_fnname
 * ("execve"))`. libbpf's `ksyscall/execve` section resolves the same per-arch wrapper.
 * Kernels without CONFIG_KPROBES cannot run it, so a second copy on the
 * syscalls/sys_enter_execve tracepoint exists; user space loads both and attaches one.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* Book: int hello(void *ctx) { bpf_trace_printk("Hello World!"); return 0; } */
SEC("ksyscall/execve")
int hello(void *ctx)
{
	bpf_printk("Hello World!");
	return 0;
}

/* Not in the book: same body, for kernels without kprobes. */
SEC("tp/syscalls/sys_enter_execve")
int hello_tp(void *ctx)
{
	bpf_printk("Hello World!");
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
