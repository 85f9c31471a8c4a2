// SPDX-License-Identifier: GPL-2.0
/* Port of "Learning eBPF" chapter 2, hello-map.py ("Hash Table Map", and exercises 2, 3
 * and 5 of the chapter): count execve calls per user ID in a hash map that user space
 * reads every 2 s.
 *
 * The book's BCC `BPF_HASH(counter_table)` defaults to u64 keys, u64 values and
 * 10240 entries; below is the same map in libbpf's BTF-defined form.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u64);
	__type(value, u64);
} counter_table SEC(".maps");

/* The book's body. Look up, add one, update: like the book this is not atomic, so
 * two execs by one uid on two CPUs at once can count as one. */
static __always_inline int count_uid(void)
{
	u64 uid;
	u64 counter = 0;
	u64 *p;

	uid = bpf_get_current_uid_gid() & 0xFFFFFFFF;
	p = bpf_map_lookup_elem(&counter_table, &uid);
	if (p != 0) {
		counter = *p;
	}
	counter++;
	bpf_map_update_elem(&counter_table, &uid, &counter, BPF_ANY);
	return 0;
}

/* Book: b.attach_kprobe(event=b.get_syscall_fnname("execve"), fn_name="hello") */
SEC("ksyscall/execve")
int hello(void *ctx)
{
	return count_uid();
}

/* Not in the book: same body, for kernels without kprobes. */
SEC("tp/syscalls/sys_enter_execve")
int hello_tp(void *ctx)
{
	return count_uid();
}

/* Exercise 3 (the book's commented-out attach_raw_tracepoint line): the same body on
 * the sys_enter raw tracepoint counts every syscall per uid (--all-syscalls). */
SEC("raw_tp/sys_enter")
int hello_sys_enter(void *ctx)
{
	return count_uid();
}

/* Exercise 2, second half (--separate-programs): one program per syscall, all
 * counting into the one counter_table. */
SEC("tp/syscalls/sys_enter_openat")
int hello_openat(void *ctx)
{
	return count_uid();
}

SEC("tp/syscalls/sys_enter_write")
int hello_write(void *ctx)
{
	return count_uid();
}

/* Exercise 5 (--by-syscall): the same map keyed by syscall number instead of uid, on
 * the sys_enter raw tracepoint (args[1] is the syscall number): calls on the whole
 * machine per syscall. */
SEC("raw_tp/sys_enter")
int hello_by_syscall(struct bpf_raw_tracepoint_args *ctx)
{
	u64 opcode = ctx->args[1];
	u64 counter = 0;
	u64 *p;

	p = bpf_map_lookup_elem(&counter_table, &opcode);
	if (p != 0) {
		counter = *p;
	}
	counter++;
	bpf_map_update_elem(&counter_table, &opcode, &counter, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
