// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* execsnoop, kernel side: one event per exec() on the machine.
 *
 * Why these attach points (tracepoints only: this must run on kernels built without
 * kprobes or fentry):
 *  - A committed exec is reported from raw_tp/sched_process_exec. It fires once the new
 *    program is in place, so the argument area of the NEW mm (mm->arg_start..arg_end)
 *    is complete and resident: the kernel itself just wrote it. That fixes the peers'
 *    empty-argv events (their read at syscall entry fails when the caller's pages are
 *    not faulted in yet). It fires for execve, execveat (fexecve) and compat execs
 *    alike, from any thread: `old_pid` is the thread that called exec. The raw
 *    tracepoint (rather than the sched/ one) gives us the linux_binprm: argc, the
 *    filename as passed, and the interpreter that really runs (shebang scripts).
 *  - A failed exec never reaches sched_process_exec: with failures requested (-x) the
 *    sys_enter_execve/execveat tracepoints remember the caller's user pointers per
 *    thread, and sys_exit_* with ret < 0 reads them back (the kernel faulted them in
 *    while copying them) and reports the errno. With -x off those programs are not even
 *    loaded: the default costs one raw tracepoint per exec and no map lookups.
 *  - Entries of the in-flight map are removed on every path out of exec: at
 *    sched_process_exec (keyed by old_pid, so an exec from a non-leader thread is
 *    matched), at syscall exit, and at sched_process_exit for a thread killed mid-exec.
 *    Nothing can leak, and the map does not preallocate.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "execsnoop.h"

/* Config, written by user space before load (the verifier sees the final values and
 * prunes the branches that are off). */
const volatile __u32 targ_uid = (__u32)-1;   /* -u; -1: every uid */
const volatile bool filter_cgroup = false;   /* -c: exec_cgroup[0] holds the cgroup */
const volatile bool trace_failures = false;  /* -x */
const volatile bool use_ringbuf = true;      /* else the perf buffer */
const volatile __u32 args_budget = EXECSNOOP_ARGS_CAP - 1; /* argument bytes per event */
const volatile __u32 max_args = 20;          /* args copied for a failed exec */

/* Scratch space for one event per CPU: the ring buffer can only reserve a constant
 * size, and events are sent at their real length, so they are built here first.
 * An ARRAY indexed by CPU (not PERCPU_ARRAY: that caps values at 32 KiB); user space
 * sets max_entries to the number of possible CPUs. Sized so that every masked offset
 * plus masked length the verifier can see stays inside: paths (2 x PATH_CAP) plus two
 * ARGS_CAP (offset and length of a failed exec's argument read are both bounded by it). */
#define SCRATCH_DATA (2 * EXECSNOOP_PATH_CAP + 2 * EXECSNOOP_ARGS_CAP)
struct execsnoop_scratch {
	struct execsnoop_event ev;
	char data[SCRATCH_DATA];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* set to the CPU count by user space */
	__type(key, __u32);
	__type(value, struct execsnoop_scratch);
} exec_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20); /* user space may resize (--buffer-kib) */
} exec_ringbuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} exec_perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EXECSNOOP_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} exec_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} exec_cgroup SEC(".maps");

/* A failed exec in flight: the caller's pointers, keyed by thread id. */
struct exec_start {
	const char *filename;
	const char *const *argv;
	__u32 flags;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	/* One entry per thread inside execve at this instant: 16384 is plenty; a full map
	 * is counted (STAT_STARTS_FULL), and NO_PREALLOC keeps an idle map at ~0 bytes.
	 * User space clears NO_PREALLOC before 6.1, where run-time allocation from a
	 * tracing program is unsafe (no BPF memory allocator; 5.10's verifier warns). */
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct exec_start);
} exec_starts SEC(".maps");

/* Makes the event type visible in the skeleton's BTF (user space checks its layout). */
struct execsnoop_event execsnoop_event_btf_anchor = {};

static __always_inline void count(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&exec_stats, &slot);

	if (v)
		*v += 1;
}

/* In-kernel filters that do not depend on the event: uid and cgroup. */
static __always_inline bool wanted(void)
{
	if (targ_uid != (__u32)-1 && (__u32)bpf_get_current_uid_gid() != targ_uid)
		return false;
	if (filter_cgroup && bpf_current_task_under_cgroup(&exec_cgroup, 0) != 1)
		return false;
	return true;
}

static __always_inline struct execsnoop_scratch *scratch(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct execsnoop_scratch *s = bpf_map_lookup_elem(&exec_scratch, &cpu);

	if (!s)
		count(EXECSNOOP_STAT_NO_SCRATCH);
	return s;
}

static __always_inline void fill_common(struct execsnoop_event *e)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();

	e->ts_ns = bpf_ktime_get_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = id >> 32;
	e->tid = (__u32)id;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->flags = 0;
	e->pad[0] = e->pad[1] = 0;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
}

static __always_inline void emit(void *ctx, struct execsnoop_scratch *s, __u64 data_len)
{
	/* The bound is what the verifier needs; data_len never exceeds it. */
	if (data_len > SCRATCH_DATA)
		return;
	__u64 size = sizeof(struct execsnoop_event) + data_len;
	long err;

	if (use_ringbuf)
		err = bpf_ringbuf_output(&exec_ringbuf, s, size, 0);
	else
		err = bpf_perf_event_output(ctx, &exec_perf, BPF_F_CURRENT_CPU, s, size);
	count(err ? EXECSNOOP_STAT_LOST : EXECSNOOP_STAT_EMITTED);
}

/* Reads a kernel path string into dst; returns its length without the NUL. */
static __always_inline __u32 read_kpath(char *dst, const char *src, __u8 *flags, __u8 cut_flag)
{
	long n = bpf_probe_read_kernel_str(dst, EXECSNOOP_PATH_CAP, src);

	if (n <= 0)
		return 0;
	if (n >= EXECSNOOP_PATH_CAP)
		*flags |= cut_flag;
	return (__u32)(n - 1) & (EXECSNOOP_PATH_CAP - 1);
}

/* Copies the filename as exec was given it to dst, then the interpreter if a binfmt
 * handler (#!, binfmt_misc) replaced it: interp is the filename itself otherwise, and
 * is not sent (interp_len 0). Returns the bytes written (< 2 * PATH_CAP). */
static __always_inline __u32 read_filenames(struct execsnoop_event *e, char *dst,
					    struct linux_binprm *bprm)
{
	struct { const char *filename, *interp; } names = {};
	__u32 flen, ilen = 0;

	/* The two pointers are neighbours in every kernel we know: one read for both
	 * (each helper call costs ~100 ns here, docs/benchmarks.md), two if a kernel
	 * ever parts them. */
	if (bpf_core_field_offset(struct linux_binprm, interp) ==
	    bpf_core_field_offset(struct linux_binprm, filename) + sizeof(names.filename)) {
		bpf_core_read(&names, sizeof(names), &bprm->filename);
	} else {
		BPF_CORE_READ_INTO(&names.filename, bprm, filename);
		BPF_CORE_READ_INTO(&names.interp, bprm, interp);
	}

	flen = read_kpath(dst, names.filename, &e->flags, EXECSNOOP_F_FILENAME_CUT);
	if (names.interp != names.filename)
		ilen = read_kpath(dst + flen, names.interp, &e->flags, EXECSNOOP_F_INTERP_CUT);
	e->filename_len = flen;
	e->interp_len = ilen;
	return (flen + ilen) & (2 * EXECSNOOP_PATH_CAP - 1);
}

/* Copies the argument area of the new program (mm->arg_start..arg_end: the strings,
 * NUL-separated, as the kernel just wrote them) to dst, at most args_budget bytes, in
 * one read: no per-argument loop. Sets args_size and args_len; returns args_len.
 * p is the current task (sched_process_exec runs in the exec'ing task). */
static __always_inline __u32 read_args(struct execsnoop_event *e, char *dst,
				       struct task_struct *p)
{
	unsigned long start, end;
	__u32 len;

	/* 5.11+: the current task as a BTF pointer, read with plain loads instead of
	 * three helper calls; 5.10 lacks the helper (this branch is then never loaded). */
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)) {
		struct mm_struct *mm = bpf_get_current_task_btf()->mm;

		start = mm->arg_start;
		end = mm->arg_end;
	} else {
		struct mm_struct *mm = BPF_CORE_READ(p, mm);

		start = BPF_CORE_READ(mm, arg_start);
		end = BPF_CORE_READ(mm, arg_end);
	}
	len = end > start ? end - start : 0;
	e->args_size = len;
	if (len > args_budget)
		len = args_budget;
	len &= EXECSNOOP_ARGS_CAP - 1;
	if (bpf_probe_read_user(dst, len, (void *)start)) {
		e->flags |= EXECSNOOP_F_ARGS_READ_ERR;
		len = 0;
	}
	e->args_len = len;
	return len;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(execsnoop_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct execsnoop_scratch *s;
	struct execsnoop_event *e;
	__u32 off, len;

	if (trace_failures) {
		__u32 key = old_pid;

		bpf_map_delete_elem(&exec_starts, &key);
	}
	if (!wanted()) {
		count(EXECSNOOP_STAT_FILTERED);
		return 0;
	}
	s = scratch();
	if (!s)
		return 0;
	e = &s->ev;
	fill_common(e);
	e->tid = old_pid;
	e->ret = 0;
	e->kind = EXECSNOOP_KIND_EXEC;
	e->argc = BPF_CORE_READ(bprm, argc);

	off = read_filenames(e, s->data, bprm);
	len = read_args(e, s->data + off, p);
	emit(ctx, s, off + len);
	return 0;
}

static __always_inline int start_exec(const char *filename, const char *const *argv,
				      __u32 flags)
{
	struct exec_start st = { .filename = filename, .argv = argv, .flags = flags };
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!wanted())
		return 0;
	if (bpf_map_update_elem(&exec_starts, &tid, &st, BPF_ANY))
		count(EXECSNOOP_STAT_STARTS_FULL);
	return 0;
}

SEC("tp/syscalls/sys_enter_execve")
int execsnoop_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	return start_exec((const char *)ctx->args[0], (const char *const *)ctx->args[1], 0);
}

SEC("tp/syscalls/sys_enter_execveat")
int execsnoop_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	return start_exec((const char *)ctx->args[1], (const char *const *)ctx->args[2],
			  EXECSNOOP_F_EXECVEAT);
}

static __always_inline int exit_exec(void *ctx, long ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct exec_start *st;
	struct execsnoop_scratch *s;
	struct execsnoop_event *e;
	const char *const *argv;
	__u32 flen, off = 0, i, k;
	long n;

	st = bpf_map_lookup_elem(&exec_starts, &tid);
	if (!st)
		return 0;
	if (ret >= 0) {
		/* Committed: sched_process_exec reported it (and normally already removed
		 * the entry; this covers a thread id reused by the exec). */
		bpf_map_delete_elem(&exec_starts, &tid);
		return 0;
	}
	s = scratch();
	if (!s)
		goto out;
	e = &s->ev;
	fill_common(e);
	e->ret = ret;
	e->kind = EXECSNOOP_KIND_FAIL;
	e->flags = st->flags;
	e->interp_len = 0;
	argv = st->argv;

	n = bpf_probe_read_user_str(s->data, EXECSNOOP_PATH_CAP, st->filename);
	flen = n > 0 ? (__u32)(n - 1) & (EXECSNOOP_PATH_CAP - 1) : 0;
	if (n >= EXECSNOOP_PATH_CAP)
		e->flags |= EXECSNOOP_F_FILENAME_CUT;
	e->filename_len = flen;

	/* Two loops, each a single straight path per iteration so the verifier's work
	 * stays linear (a loop with data-dependent branches that rejoin is explored once
	 * per combination and does not load): first count argv (pointers only), then copy
	 * the strings that fit, stopping at the first one that does not. */
	for (i = 0; i < EXECSNOOP_FAIL_ARGS_WALK; i++) {
		const char *arg = NULL;

		if (!argv || bpf_probe_read_user(&arg, sizeof(arg), &argv[i]) || !arg)
			break;
	}
	e->argc = i;
	if (i == EXECSNOOP_FAIL_ARGS_WALK)
		e->flags |= EXECSNOOP_F_ARGC_INEXACT;
	/* Read the count back from memory: the verifier then sees one unknown bound
	 * instead of 1024 exit states with a known i, and checks the copy loop once. */
	i = *(volatile __u32 *)&e->argc;
	for (k = 0; k < EXECSNOOP_FAIL_ARGS_COPY; k++) {
		const char *arg = NULL;
		__u32 room;

		if (k >= i || k >= max_args)
			break;
		if (bpf_probe_read_user(&arg, sizeof(arg), &argv[k]) || !arg)
			break;
		if (off >= args_budget) {
			e->flags |= EXECSNOOP_F_BYTES_INEXACT;
			break;
		}
		room = (args_budget - off) & (EXECSNOOP_ARGS_CAP - 1);
		n = bpf_probe_read_user_str(s->data + flen + (off & (EXECSNOOP_ARGS_CAP - 1)),
					    room, arg);
		if (n <= 0) {
			e->flags |= EXECSNOOP_F_ARGS_READ_ERR;
			break;
		}
		off += n;
		if (n >= room) {
			/* Filled the room: (probably) cut; its full size is not measured. */
			e->flags |= EXECSNOOP_F_BYTES_INEXACT;
			break;
		}
	}
	/* Arguments not copied (beyond max_args or the copy bound) were not measured. */
	if (k < i)
		e->flags |= EXECSNOOP_F_BYTES_INEXACT;
	off &= EXECSNOOP_ARGS_CAP - 1;
	e->args_len = off;
	e->args_size = off; /* exact only without F_BYTES_INEXACT */
	emit(ctx, s, flen + off);
out:
	bpf_map_delete_elem(&exec_starts, &tid);
	return 0;
}

/* One program for both exits (same context layout): user space attaches it to
 * sys_exit_execve and sys_exit_execveat, so the verifier checks it once. */
SEC("tp/syscalls/sys_exit_execve")
int execsnoop_exit(struct trace_event_raw_sys_exit *ctx)
{
	return exit_exec(ctx, ctx->ret);
}

/* A thread killed inside exec (or losing the race to a sibling's exec) never returns
 * from the syscall: drop its entry here. */
SEC("tp/sched/sched_process_exit")
int execsnoop_thread_exit(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&exec_starts, &tid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Unused variables of the enum types: they put the constants into BTF, so the skeleton
 * carries them and the Rust side's copies are checked against them in a unit test. */
enum execsnoop_limits execsnoop_limits_btf_anchor;
enum execsnoop_kind execsnoop_kind_btf_anchor;
enum execsnoop_flags execsnoop_flags_btf_anchor;
enum execsnoop_stat execsnoop_stat_btf_anchor;
