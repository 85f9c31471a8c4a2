// SPDX-License-Identifier: GPL-2.0
/* Port of "Learning eBPF" chapter 2, hello-buffer.py ("Perf and Ring Buffer Maps"): on every execve,
 * send {pid, uid, command, "Hello World"} to user space.
 *
 * The book uses BCC's BPF_PERF_OUTPUT(output) and output.perf_submit(); libbpf's form is
 * a PERF_EVENT_ARRAY map and bpf_perf_event_output(). By default we send the same
 * event through a BPF ring buffer instead (kernel 5.8+: one buffer for all CPUs, events
 * in order); --perf-buffer, or a kernel without ring buffers, selects the book's way.
 *
 * How the variant is chosen: this object ships both maps and one program per
 * (transport, attach point). User space turns off autoload of the programs it will not
 * use and autocreate of the unused map before load, so a kernel without ring buffers
 * never sees a RINGBUF map or the ringbuf helpers, and nothing unused is loaded.
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

/* Not in the book: the ring buffer of the blog port we follow (4096 bytes). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} ringbuf SEC(".maps");

/* Not in the book: an event only reserved in the ring buffer is in no function
 * signature or map, so its type would be missing from the BTF (and from the Rust
 * skeleton's types); this unused global keeps it there. */
struct data_t *unused_data_t __attribute__((unused));

/* Not in the book: ring buffer samples dropped because it was full. */
u64 ringbuf_lost = 0;

/* The book's body, filling the event wherever it lives (stack or ring buffer). */
static __always_inline void fill(struct data_t *data)
{
	char message[12] = "Hello World";

	data->pid = bpf_get_current_pid_tgid() >> 32;
	data->uid = bpf_get_current_uid_gid() & 0xFFFFFFFF;
	bpf_get_current_comm(&data->command, sizeof(data->command));
	bpf_probe_read_kernel(&data->message, sizeof(data->message), message);
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
		/* Full. A perf buffer counts lost samples itself; a ring buffer does
		 * not, so we count them for user space to report. */
		__sync_fetch_and_add(&ringbuf_lost, 1);
		return 0;
	}
	fill(data);
	bpf_ringbuf_submit(data, 0);
	return 0;
}

/* Ring buffer variant (default). */
SEC("ksyscall/execve")
int hello(void *ctx)
{
	return send_ringbuf();
}

SEC("tp/syscalls/sys_enter_execve")
int hello_tp(void *ctx)
{
	return send_ringbuf();
}

/* Perf buffer variant (the book's). */
SEC("ksyscall/execve")
int hello_perf(void *ctx)
{
	return send_perf(ctx);
}

SEC("tp/syscalls/sys_enter_execve")
int hello_perf_tp(void *ctx)
{
	return send_perf(ctx);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
