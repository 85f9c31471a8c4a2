/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* execsnoop: what the kernel side and user space (src/execsnoop/event.rs) share.
 *
 * Constants live in enums, not #defines, so they reach the generated skeleton's BTF
 * and the Rust side can check its copy against them.
 */
#ifndef EXECSNOOP_H
#define EXECSNOOP_H

enum execsnoop_limits {
	/* TASK_COMM_LEN. */
	EXECSNOOP_COMM_LEN = 16,
	/* Room for a filename or an interpreter path; also the mask bound (power of 2).
	 * Longer paths are cut and flagged. */
	EXECSNOOP_PATH_CAP = 4096,
	/* Most argument bytes one event carries (power of 2, mask bound). 32 KiB is far
	 * beyond the peers' 2.5 KiB (libbpf-tools) / 16 KiB (bpftrace) and keeps one event
	 * well under the perf buffer's 64 KiB record limit. */
	EXECSNOOP_ARGS_CAP = 32768,
	/* Failed execs walk the caller's argv pointer array: at most this many pointers are
	 * followed (more arguments than that: argc is a lower bound, flagged). The
	 * verifier walks this loop once per iteration: 1024 cost ~85 ms of load time,
	 * 256 about a quarter of it. */
	EXECSNOOP_FAIL_ARGS_WALK = 256,
	/* ... and at most this many of its strings are copied (a bounded loop the
	 * verifier walks once per iteration; more show as dropped, size unmeasured). */
	EXECSNOOP_FAIL_ARGS_COPY = 256,
	/* --paths: cwd and exe are rebuilt by walking dentries up to the root, at most
	 * PATH_DEPTH steps (a step is a component or a mount crossing). A deeper path
	 * keeps its last components only and is flagged F_CWD_CUT / F_EXE_CUT (so is a
	 * name that could not be read: then the path ends early). CTX_PATH_CAP, the most
	 * bytes a path can take, is PATH_DEPTH names of NAME_CAP bytes: no byte cut. */
	EXECSNOOP_PATH_DEPTH = 32,
	EXECSNOOP_CTX_PATH_CAP = 8192,
	/* A path component is at most NAME_MAX (255) bytes plus its NUL. */
	EXECSNOOP_NAME_CAP = 256,
};

enum execsnoop_kind {
	EXECSNOOP_KIND_EXEC = 1, /* committed exec, from sched_process_exec */
	EXECSNOOP_KIND_FAIL = 2, /* failed execve/execveat, from the syscall exit */
};

/* event->flags */
enum execsnoop_flags {
	EXECSNOOP_F_FILENAME_CUT = 1,  /* filename longer than PATH_CAP - 1 */
	EXECSNOOP_F_INTERP_CUT = 2,    /* interpreter path longer than PATH_CAP - 1 */
	EXECSNOOP_F_ARGS_READ_ERR = 4, /* reading the argument area failed */
	EXECSNOOP_F_ARGC_INEXACT = 8,  /* failed exec with more than FAIL_ARGS_WALK args */
	EXECSNOOP_F_BYTES_INEXACT = 16,/* failed exec: size of dropped args not measured */
	EXECSNOOP_F_EXECVEAT = 32,     /* failed exec came from execveat */
	EXECSNOOP_F_CWD_CUT = 64,      /* --paths: cwd deeper/longer than the walk's bounds */
	EXECSNOOP_F_EXE_CUT = 128,     /* --paths: exe deeper/longer than the walk's bounds */
};

/* Slots of the per-CPU counters array `exec_stats`. */
enum execsnoop_stat {
	EXECSNOOP_STAT_EMITTED = 0,   /* events handed to the transport */
	EXECSNOOP_STAT_LOST = 1,      /* transport full: event dropped */
	EXECSNOOP_STAT_STARTS_FULL = 2, /* in-flight exec map full: a failure may go unseen */
	EXECSNOOP_STAT_NO_SCRATCH = 3,  /* scratch buffer missing (should not happen) */
	EXECSNOOP_STAT_FILTERED = 4,  /* dropped by an in-kernel filter (uid, cgroup) */
	EXECSNOOP_STAT_NR = 5,
};

/* One event. `data` holds, back to back and without NULs: the filename
 * (filename_len bytes), the interpreter path (interp_len bytes; only for committed
 * execs), then the arguments (args_len bytes, each argument NUL-terminated unless the
 * last one was cut), then with --paths the cwd (cwd_len bytes) and the executable's
 * path (exe_len bytes; both only for committed execs). Only header + data actually
 * used is sent. The context fields after `comm` were appended so the older offsets
 * stay where they were. */
struct execsnoop_event {
	__u64 ts_ns;       /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) */
	__u64 cgroup_id;   /* cgroup v2 id of the task */
	__u32 pid;         /* process id (tgid) after exec */
	__u32 tid;         /* thread that called exec (sched_process_exec old_pid) */
	__u32 ppid;        /* parent's process id (real_parent->tgid) */
	__u32 uid;         /* real uid */
	__s32 ret;         /* 0, or -errno for a failed exec */
	__u32 argc;        /* arguments the program was given (see F_ARGC_INEXACT) */
	__u32 args_size;   /* bytes the full argument area takes (NULs included) */
	__u32 args_len;    /* bytes of it carried in data */
	__u16 filename_len;
	__u16 interp_len;
	__u8 kind;         /* enum execsnoop_kind */
	__u8 flags;        /* enum execsnoop_flags */
	__u8 pad[2];
	char comm[EXECSNOOP_COMM_LEN];
	char pcomm[EXECSNOOP_COMM_LEN]; /* parent's comm (real_parent) at the exec */
	__u64 start_ns;    /* task->start_boottime: ns since boot, suspend included */
	__u64 parent_start_ns; /* the same for the parent process (its group leader) */
	__u32 euid;        /* effective uid (the new credentials after a setuid exec) */
	__u32 gid;         /* real gid */
	__u32 egid;        /* effective gid */
	__u32 loginuid;    /* audit login uid; (u32)-1: unset, or no CONFIG_AUDIT */
	__u32 sessionid;   /* audit session id; (u32)-1: unset, or no CONFIG_AUDIT */
	__u32 mntns;       /* mount namespace inode (as /proc/PID/ns/mnt) */
	__u32 pidns;       /* pid namespace inode (as /proc/PID/ns/pid) */
	__u16 cwd_len;     /* --paths, committed execs: bytes of cwd in data */
	__u16 exe_len;     /* --paths, committed execs: bytes of exe in data */
	char data[];
};

#endif /* EXECSNOOP_H */
