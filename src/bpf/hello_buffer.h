/* SPDX-License-Identifier: GPL-2.0 */
/* The event hello_buffer.bpf.c sends to user space; the Rust side uses the
 * skeleton's copy of this type (generated from BTF), so both agree by construction. */
#ifndef HELLO_BUFFER_H
#define HELLO_BUFFER_H

/* Book: struct data_t, 36 bytes, no padding. */
struct data_t {
	int pid;
	int uid;
	char command[16];
	char message[12];
};

#endif
