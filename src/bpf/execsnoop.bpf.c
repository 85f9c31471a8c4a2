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
const volatile __u32 targ_ppid = 0;          /* -P; 0: every parent */
const volatile bool want_paths = false;      /* --paths: cwd and exe */
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
	/* --paths: room for the masked offsets of a path (see PATHS_BASE_MASK). */
	char path_slack[1024];
	/* --paths: the dentry names of one path, leaf first, and how many. */
	const unsigned char *names[EXECSNOOP_PATH_DEPTH];
	__u32 depth;
	__u32 tmp;
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

/* In-kernel filters that do not depend on the event: uid, parent and cgroup. */
static __always_inline bool wanted(void)
{
	if (targ_uid != (__u32)-1 && (__u32)bpf_get_current_uid_gid() != targ_uid)
		return false;
	if (targ_ppid) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();

		if (BPF_CORE_READ(task, real_parent, tgid) != targ_ppid)
			return false;
	}
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

/* The task's own pid namespace (task_active_pid_ns(), what /proc/PID/ns/pid shows) is
 * the one its struct pid was allocated in: numbers[level].ns. Not
 * nsproxy->pid_ns_for_children, which unshare(CLONE_NEWPID) changes for the children
 * only. numbers[] is a flexible array indexed by a run-time value: read by hand. */
static __always_inline __u32 pid_ns_inum(struct pid *pid, unsigned int level)
{
	struct upid *upid;

	upid = (struct upid *)((void *)pid + bpf_core_field_offset(struct pid, numbers)) + level;
	return BPF_CORE_READ(upid, ns, ns.inum);
}

/* The context fields: parent's name, credentials, audit ids, namespaces, start times.
 * Notes that hold for both versions below:
 *  - At sched_process_exec `cred` is already the new program's (commit_creds ran in
 *    begin_new_exec): a setuid program shows its owner as euid.
 *  - loginuid and sessionid exist only with CONFIG_AUDIT: else "unset" ((u32)-1).
 *  - start_boottime (CLOCK_BOOTTIME ns, suspend included), not start_time
 *    (CLOCK_MONOTONIC): it is what /proc/PID/stat field 22 reports (in clock ticks), so
 *    a record joins with ps. After a non-leader thread's exec, de_thread() copied the
 *    leader's.
 *  - parent_start_ns is the parent PROCESS's (group leader's) start, like ppid is its
 *    tgid: real_parent is the thread that forked, and (ppid, parent_start_ns) must
 *    name the record of the parent's own exec. pcomm stays real_parent->comm (the
 *    forking thread's name), as the spec asks.
 *  - comm is copied whole, not as a string: the kernel keeps it NUL-padded, and the
 *    scratch slot must not keep the tail of an earlier, longer name.
 * This version follows the pointers with direct loads from the BTF-typed current task
 * (5.11+): ~15 probe reads cost ~400 ns per exec, the loads almost nothing. */
static __always_inline void fill_context_btf(struct execsnoop_event *e)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct task_struct *parent = t->real_parent;
	const struct cred *cred = t->cred;
	struct pid *pid = t->thread_pid;

	__builtin_memcpy(e->pcomm, parent->comm, sizeof(e->pcomm));
	e->euid = cred->euid.val;
	e->gid = cred->gid.val;
	e->egid = cred->egid.val;
	if (bpf_core_field_exists(t->loginuid)) {
		e->loginuid = t->loginuid.val;
		e->sessionid = t->sessionid;
	} else {
		e->loginuid = (__u32)-1;
		e->sessionid = (__u32)-1;
	}
	e->mntns = t->nsproxy->mnt_ns->ns.inum;
	e->pidns = pid_ns_inum(pid, pid->level);
	e->start_ns = t->start_boottime;
	e->parent_start_ns = parent->group_leader->start_boottime;
}

/* The same with probe reads, for 5.10 (no bpf_get_current_task_btf). */
static __always_inline void fill_context_probe(struct execsnoop_event *e,
					       struct task_struct *task)
{
	struct task_struct *parent = BPF_CORE_READ(task, real_parent);
	const struct cred *cred = BPF_CORE_READ(task, cred);
	struct pid *pid = BPF_CORE_READ(task, thread_pid);

	bpf_core_read(&e->pcomm, sizeof(e->pcomm), &parent->comm);
	e->euid = BPF_CORE_READ(cred, euid.val);
	e->gid = BPF_CORE_READ(cred, gid.val);
	e->egid = BPF_CORE_READ(cred, egid.val);
	if (bpf_core_field_exists(task->loginuid)) {
		e->loginuid = BPF_CORE_READ(task, loginuid.val);
		e->sessionid = BPF_CORE_READ(task, sessionid);
	} else {
		e->loginuid = (__u32)-1;
		e->sessionid = (__u32)-1;
	}
	e->mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	e->pidns = pid_ns_inum(pid, BPF_CORE_READ(pid, level));
	e->start_ns = BPF_CORE_READ(task, start_boottime);
	e->parent_start_ns = BPF_CORE_READ(parent, group_leader, start_boottime);
}

static __always_inline void fill_context(struct execsnoop_event *e, struct task_struct *task)
{
	/* Known at load time: on a kernel without the helper the branch is dead code
	 * and the verifier removes it (the helper's id is unknown there). */
	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf))
		fill_context_btf(e);
	else
		fill_context_probe(e, task);
	e->cwd_len = 0;
	e->exe_len = 0;
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
	fill_context(e, task);
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

/* Highest data offset a --paths path may start at: after the filename and interpreter
 * (each masked below 2 * PATH_CAP together) and the arguments (below ARGS_CAP), plus
 * the cwd for the exe. The scratch's data holds that plus one more path. */
#define PATHS_BASE_MAX (2 * EXECSNOOP_PATH_CAP + EXECSNOOP_ARGS_CAP + EXECSNOOP_CTX_PATH_CAP)
_Static_assert(PATHS_BASE_MAX + EXECSNOOP_CTX_PATH_CAP + 1 <= SCRATCH_DATA, "scratch too small");
/* Offsets into data are masked at each use, not only checked: 5.10 and 6.1 do not carry
 * a bound learned from a comparison into a pointer computed before it ("unbounded
 * memory access"); a mask bounds every copy. Masked, a path may reach this far. */
#define PATHS_BASE_MASK 0xffff
#define CTX_PATH_MASK (EXECSNOOP_CTX_PATH_CAP - 1)
_Static_assert(PATHS_BASE_MAX <= PATHS_BASE_MASK, "mask must keep real offsets");
_Static_assert(PATHS_BASE_MASK + CTX_PATH_MASK + 1 + EXECSNOOP_NAME_CAP <=
		       SCRATCH_DATA + sizeof(((struct execsnoop_scratch *)0)->path_slack),
	       "slack too small");

static __always_inline struct mount *real_mount(struct vfsmount *vfsmnt)
{
	return (struct mount *)((void *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

/* --paths: writes the absolute path of (vfsmnt, dentry) at data + base, as d_path()
 * would show it to the task (relative to its root, task->fs->root), and returns its
 * length. There is no bpf_d_path() on a raw tracepoint: the dentries are walked up
 * by hand, at most PATH_DEPTH steps (a step is a component or a mount crossing).
 * Deeper paths lose their leading components and get `cut_flag`. Best effort against
 * a concurrent rename, like any lockless walk. Two passes because the walk runs leaf
 * to root and the path is written root to leaf: first collect the name pointers, then
 * copy the names; the count lives in the map so the verifier checks each loop once. */
static __always_inline __u32 put_path(struct execsnoop_scratch *s, __u32 base,
				      struct vfsmount *vfsmnt, struct dentry *dentry,
				      struct mount *root_mnt, struct dentry *root, __u8 cut_flag)
{
	struct mount *mnt = real_mount(vfsmnt);
	__u32 i, j, n, at, pos = 0;
	long r;

	if (base > PATHS_BASE_MAX || !dentry)
		return 0;
	s->depth = 0;
#pragma clang loop unroll(disable)
	for (i = 0; i < EXECSNOOP_PATH_DEPTH; i++) {
		struct dentry *up;

		if (dentry == root && mnt == root_mnt)
			break;
		if (dentry == BPF_CORE_READ(mnt, mnt.mnt_root)) {
			/* Top of this mount: continue from where it is mounted. */
			struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);

			if (parent == mnt)
				break; /* the namespace's root mount */
			dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = parent;
			continue;
		}
		up = BPF_CORE_READ(dentry, d_parent);
		if (up == dentry)
			break; /* root of a file system that is not mounted here */
		n = s->depth;
		s->names[n & (EXECSNOOP_PATH_DEPTH - 1)] = BPF_CORE_READ(dentry, d_name.name);
		s->depth = n + 1;
		dentry = up;
	}
	/* Out of steps before the root: cut (also when the next step would have been the
	 * root: a path of exactly PATH_DEPTH steps is marked too). */
	if (i == EXECSNOOP_PATH_DEPTH)
		s->ev.flags |= cut_flag;
	n = *(volatile __u32 *)&s->depth;
	if (n == 0) {
		s->data[base & PATHS_BASE_MASK] = '/';
		return 1;
	}
#pragma clang loop unroll(disable)
	for (j = 0; j < EXECSNOOP_PATH_DEPTH; j++) {
		if (j >= n)
			break;
		/* Never true (PATH_DEPTH names of NAME_CAP bytes fit): the verifier's bound. */
		if (pos > EXECSNOOP_CTX_PATH_CAP - EXECSNOOP_NAME_CAP) {
			s->ev.flags |= cut_flag;
			break;
		}
		at = (base & PATHS_BASE_MASK) + (pos & CTX_PATH_MASK);
		s->data[at] = '/';
		r = bpf_probe_read_kernel_str(&s->data[at + 1], EXECSNOOP_NAME_CAP,
					      s->names[(n - 1 - j) & (EXECSNOOP_PATH_DEPTH - 1)]);
		if (r <= 0) {
			s->ev.flags |= cut_flag;
			break;
		}
		pos += r; /* the slash, and the name without its NUL */
	}
	return pos;
}

/* Returns v through memory: the verifier then knows nothing of it but its type, so
 * the states that reach a walk with different known ranges of v collapse into one,
 * and each walk is checked once instead of once per range (too many insns else). */
static __always_inline __u32 opaque(struct execsnoop_scratch *s, __u32 v)
{
	s->tmp = v;
	return *(volatile __u32 *)&s->tmp;
}

/* --paths for a committed exec: cwd, then the executable (mm->exe_file: a symlink
 * used to start it is already resolved). Returns the new end of the data. */
static __always_inline __u32 put_paths(struct execsnoop_scratch *s, struct task_struct *p,
				       struct mm_struct *mm, __u32 end)
{
	struct fs_struct *fs = BPF_CORE_READ(p, fs);
	struct mount *root_mnt = real_mount(BPF_CORE_READ(fs, root.mnt));
	struct dentry *root = BPF_CORE_READ(fs, root.dentry);
	struct file *exe = BPF_CORE_READ(mm, exe_file);
	__u32 n;

	end = opaque(s, end);
	n = put_path(s, end, BPF_CORE_READ(fs, pwd.mnt), BPF_CORE_READ(fs, pwd.dentry),
		     root_mnt, root, EXECSNOOP_F_CWD_CUT);
	s->ev.cwd_len = n;
	end = opaque(s, end + n);
	n = put_path(s, end, BPF_CORE_READ(exe, f_path.mnt), BPF_CORE_READ(exe, f_path.dentry),
		     root_mnt, root, EXECSNOOP_F_EXE_CUT);
	s->ev.exe_len = n;
	return opaque(s, end + n);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(execsnoop_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct execsnoop_scratch *s;
	struct execsnoop_event *e;
	__u32 off;

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
	off += read_args(e, s->data + off, p);
	if (want_paths)
		off = put_paths(s, p, BPF_CORE_READ(p, mm), off);
	emit(ctx, s, off);
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
	 * instead of FAIL_ARGS_WALK (256) exit states with a known i, and checks the
	 * copy loop once. */
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
