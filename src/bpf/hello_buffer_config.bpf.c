// SPDX-License-Identifier: GPL-2.0
/* Port of "Learning eBPF" chapter 5, hello-buffer-config.bpf.c (the book's CO-RE
 * libbpf program): on every execve, send {pid, uid, command, message, path} through a
 * perf buffer, where message is the per-uid text from the my_config hash map, else
 * the global "Hello World".
 *
 * CO-RE: BPF_KPROBE_SYSCALL reads the syscall arguments out of the wrapper's pt_regs with
 * BPF_CORE_READ on kernels whose syscalls go through such wrappers, and every field
 * access on a vmlinux.h type (ctx->args[0] below) is relocated by libbpf at load time
 * (vmlinux.h marks its structs preserve_access_index), so this one object runs on
 * kernels whose struct layouts differ from vmlinux.h's.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "hello_buffer_config.h"

char message[12] = "Hello World";

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} output SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct user_msg_t);
} my_config SEC(".maps");

/* Not in the book: the event is built on the stack and sent by value, so its type is
 * in no signature or map; this unused global keeps it in the BTF for the skeleton. */
struct data_t *unused_data_t __attribute__((unused));

/* The book's body, shared by the kprobe and the tracepoint entry points. */
static __always_inline int send_event(void *ctx, const char *pathname)
{
	struct data_t data = {};
	struct user_msg_t *p;

	data.pid = bpf_get_current_pid_tgid() >> 32;
	data.uid = bpf_get_current_uid_gid() & 0xFFFFFFFF;

	bpf_get_current_comm(&data.command, sizeof(data.command));
	bpf_probe_read_user_str(&data.path, sizeof(data.path), pathname);

	p = bpf_map_lookup_elem(&my_config, &data.uid);
	if (p != 0) {
		bpf_probe_read_kernel_str(&data.message, sizeof(data.message), p->message);
	} else {
		bpf_probe_read_kernel_str(&data.message, sizeof(data.message), message);
	}

	bpf_perf_event_output(ctx, &output, BPF_F_CURRENT_CPU, &data, sizeof(data));
	return 0;
}

/* Book: the same section and macro (libbpf also calls it BPF_KSYSCALL). */
SEC("ksyscall/execve")
int BPF_KPROBE_SYSCALL(hello, const char *pathname)
{
	return send_event(ctx, pathname);
}

/* Not in the book: for kernels without kprobes. The tracepoint's context carries the
 * syscall arguments; args[0] is execve's pathname. */
SEC("tp/syscalls/sys_enter_execve")
int hello_tp(struct trace_event_raw_sys_enter *ctx)
{
	return send_event(ctx, (const char *)ctx->args[0]);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
