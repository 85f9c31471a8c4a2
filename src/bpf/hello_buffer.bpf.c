// SPDX-License-Identifier: GPL-2.0
/* Port of "Learning eBPF" chapter 2, hello-buffer.py ("Perf and Ring Buffer Maps"): on
 * every execve, send {pid, uid, command, "Hello World"} to user space.
 *
 * `hello` below is the book's program: BCC's BPF_PERF_OUTPUT(output) and
 * output.perf_submit() are a PERF_EVENT_ARRAY map and bpf_perf_event_output().
 * NOT the book: hello-buffer runs `hello_ringbuf` by default, the same event through a
 * BPF ring buffer (kernel 5.8+; the blog port this project grew from uses one);
 * `--perf-buffer`, and kernels without ring buffers, run the book's `hello`. User space
 * turns off autoload of the programs it will not use and autocreate of the unused map,
 * so an old kernel never sees a RINGBUF map or the ringbuf helpers.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "hello_buffer.h"

/* Book: BPF_PERF_OUTPUT(output). max_entries 0: libbpf sizes it to the CPU count. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} output SEC(".maps");

/* Not in the book. User space resizes it before load to at least what the book's perf
 * buffer holds (8 pages per CPU); 4096 bytes would hold about 85 events. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} ringbuf SEC(".maps");

/* Not in the book: an event only reserved in the ring buffer is in no function
 * signature or map, so its type would be missing from the BTF (and from the Rust
 * skeleton's types); this unused global keeps it there. */
struct data_t *unused_data_t __attribute__((unused));

/* Not in the book: ring buffer samples dropped because it was full (a perf buffer
 * counts its lost samples itself). */
u64 ringbuf_lost = 0;

/* Chapter 2 exercise 1 (--odd-even): a different message for odd and even pids. */
const volatile bool odd_even = false;

/* The book's body, filling the event wherever it lives (stack or ring buffer). */
static __always_inline void fill(struct data_t *data)
{
	char message[12] = "Hello World";
	char odd[12] = "Odd pid";
	char even[12] = "Even pid";
	char *text = message;

	data->pid = bpf_get_current_pid_tgid() >> 32;
	data->uid = bpf_get_current_uid_gid() & 0xFFFFFFFF;
	bpf_get_current_comm(&data->command, sizeof(data->command));
	if (odd_even)
		text = (data->pid & 1) ? odd : even;
	bpf_probe_read_kernel(&data->message, sizeof(data->message), text);
}

static __always_inline int send_perf(void *ctx)
{
	struct data_t data = {};

	fill(&data);
	bpf_perf_event_output(ctx, &output, BPF_F_CURRENT_CPU, &data, sizeof(data));
	return 0;
}

static __always_inline int send_ringbuf(void)
{
	struct data_t *data;

	data = bpf_ringbuf_reserve(&ringbuf, sizeof(*data), 0);
	if (!data) {
		__sync_fetch_and_add(&ringbuf_lost, 1);
		return 0;
	}
	fill(data);
	bpf_ringbuf_submit(data, 0);
	return 0;
}

/* Book: int hello(void *ctx), attached with b.attach_kprobe(event=b.get_syscall_fnname(
 * "execve"), fn_name="hello"); libbpf's ksyscall/execve resolves the same wrapper. */
SEC("ksyscall/execve")
int hello(void *ctx)
{
	return send_perf(ctx);
}

/* Not in the book: the same, for kernels without kprobes. */
SEC("tp/syscalls/sys_enter_execve")
int hello_tp(void *ctx)
{
	return send_perf(ctx);
}

/* Not in the book: the ring buffer variant (the default). */
SEC("ksyscall/execve")
int hello_ringbuf(void *ctx)
{
	return send_ringbuf();
}

SEC("tp/syscalls/sys_enter_execve")
int hello_ringbuf_tp(void *ctx)
{
	return send_ringbuf();
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
