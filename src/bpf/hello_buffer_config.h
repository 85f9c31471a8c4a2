/* SPDX-License-Identifier: GPL-2.0 */
/* Types shared by hello_buffer_config.bpf.c and user space (through the skeleton). */
#ifndef HELLO_BUFFER_CONFIG_H
#define HELLO_BUFFER_CONFIG_H

/* Book: hello-buffer-config.h, 52 bytes, no padding. */
struct data_t {
	int pid;
	int uid;
	char command[16];
	char message[12];
	char path[16];
};

/* Book: struct user_msg_t in the .bpf.c; here so user space shares it. */
struct user_msg_t {
	char message[12];
};

#endif
