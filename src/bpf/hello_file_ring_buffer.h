/* SPDX-License-Identifier: GPL-2.0 */
/* The event hello_file_ring_buffer.bpf.c sends to user space (the Rust side uses the
 * skeleton's copy of this type). */
#ifndef HELLO_FILE_RING_BUFFER_H
#define HELLO_FILE_RING_BUFFER_H

/* Book: struct event_t, 276 bytes. */
struct event_t {
	char command[16];
	char filename[256];
	int dfd;
};

#endif
