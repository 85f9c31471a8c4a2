// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* For `make bench` only: where execsnoop's time per exec goes, part by part.
 *
 * This file compiles the real kernel side whole (same maps, same helpers: nothing is
 * copied) and adds one more program on raw_tp/sched_process_exec that runs the steps
 * of the default mode's execsnoop_exec in order, stopping after `bench_upto`. The
 * loader (examples/bench-exec-parts.rs) loads only this program; the run time of step
 * N minus that of step N-1 is what step N costs. The verifier prunes the steps past
 * the bound, so each build runs exactly its steps and nothing else. */
#include "execsnoop.bpf.c"

enum bench_part {
	BENCH_PART_NONE = 0,       /* return at once: the attach point alone */
	BENCH_PART_SETUP = 1,      /* + the filters (none set) and the scratch lookup */
	BENCH_PART_HEADER = 2,     /* + the header: ids, comm, cgroup, time, ppid, argc */
	BENCH_PART_FILENAMES = 3,  /* + the filename (and interpreter) copy */
	BENCH_PART_ARGS = 4,       /* + the argument copy */
	BENCH_PART_SEND_QUIET = 5, /* + the ring buffer output, never waking the reader */
	BENCH_PART_SEND = 6,       /* + the ring buffer output as execsnoop does it */
};

const volatile __u32 bench_upto = BENCH_PART_SEND;

SEC("raw_tp/sched_process_exec")
int BPF_PROG(bench_exec_parts, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct execsnoop_scratch *s;
	struct execsnoop_event *e;
	__u32 off = 0, len = 0;

	if (bench_upto < BENCH_PART_SETUP)
		return 0;
	if (!wanted())
		return 0;
	s = scratch();
	if (!s)
		return 0;
	if (bench_upto < BENCH_PART_HEADER)
		return 0;
	e = &s->ev;
	fill_common(e);
	e->tid = old_pid;
	e->ret = 0;
	e->kind = EXECSNOOP_KIND_EXEC;
	e->argc = BPF_CORE_READ(bprm, argc);
	if (bench_upto < BENCH_PART_FILENAMES)
		return 0;
	off = read_filenames(e, s->data, bprm);
	if (bench_upto < BENCH_PART_ARGS)
		return 0;
	len = read_args(e, s->data + off, p);
	if (bench_upto == BENCH_PART_SEND_QUIET) {
		/* emit() without the wake-up: the loader polls with a timeout instead. */
		long err = -1;

		if (off + len <= SCRATCH_DATA)
			err = bpf_ringbuf_output(&exec_ringbuf, s, sizeof(*e) + off + len,
						 BPF_RB_NO_WAKEUP);
		count(err ? EXECSNOOP_STAT_LOST : EXECSNOOP_STAT_EMITTED);
		return 0;
	}
	if (bench_upto < BENCH_PART_SEND)
		return 0;
	emit(ctx, s, off + len);
	return 0;
}
