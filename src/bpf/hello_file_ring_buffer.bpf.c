// SPDX-License-Identifier: GPL-2.0
/* Port of the companion's chapter2/hello-file-ring-buffer.py: hello-file, plus each
 * openat sent as {command, filename, dfd} through a BPF ring buffer.
 *
 * BCC's BPF_RINGBUF_OUTPUT(output, 1) is a RINGBUF map of one page; its
 * output.ringbuf_output() is bpf_ringbuf_output(). TRACEPOINT_PROBE: see hello_file.bpf.c.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "hello_file_ring_buffer.h"

/* Book: BPF_RINGBUF_OUTPUT(output, 1): one 4 KiB page (about 14 events). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} output SEC(".maps");

/* Not in the book: the event is built on the stack, so its type is in no signature or
 * map; this unused global keeps it in the BTF for the Rust skeleton. */
struct event_t *unused_event_t __attribute__((unused));

SEC("tp/syscalls/sys_enter_openat")
int tracepoint__syscalls__sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	struct event_t event = {};

	/* Book: args->dfd, args->filename */
	event.dfd = ctx->args[0];
	bpf_probe_read_user_str(&event.filename, sizeof(event.filename), (const char *)ctx->args[1]);
	bpf_get_current_comm(&event.command, sizeof(event.command));

	bpf_printk("File %d - %s", event.dfd, event.filename);
	bpf_printk("     opened by:%s", event.command);
	bpf_ringbuf_output(&output, &event, sizeof(event), 0);

	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
