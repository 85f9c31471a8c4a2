//! hello-tail: which program goes in which slot of the `syscall` prog array, by
//! syscall NAME resolved for the running architecture, and the trace lines it writes.

use crate::syscalls::{SyscallTable, UnknownSyscall};
use crate::tracepipe::parse_line;

/// Syscalls whose slot gets `hello_exec`.
pub const EXEC_SYSCALLS: &[&str] = &["execve"];
/// Syscalls whose slot gets `hello_timer` (the book: 222..226 on x86_64).
pub const TIMER_SYSCALLS: &[&str] = &[
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_getoverrun",
    "timer_delete",
];

/// Ignored by default (slot = `ignore_opcode`), so the "Another syscall" lines stay
/// readable. First the calls the book's list names (it wrote arm64 numbers: 21
/// epoll_ctl, 22 epoll_pwait, 25 fcntl, 29 ioctl, 56 openat, 57 close, 63 read, 64 write,
/// ...), then the other calls an idle machine makes many times a second. Names the
/// running architecture lacks (`poll`, `stat` on arm64) are skipped.
pub const DEFAULT_IGNORE: &[&str] = &[
    // the book's list, by name
    "epoll_ctl",
    "epoll_pwait",
    "fcntl",
    "ioctl",
    "openat",
    "close",
    "read",
    "write",
    "writev",
    "pselect6",
    "ppoll",
    "newfstatat",
    "futex",
    "nanosleep",
    "clock_nanosleep",
    "tgkill",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "getpid",
    "madvise",
    "bpf",
    "statx",
    // frequent elsewhere
    "poll",
    "select",
    "epoll_wait",
    "epoll_pwait2",
    "stat",
    "fstat",
    "lstat",
    "open",
    "access",
    "faccessat",
    "faccessat2",
    "lseek",
    "pread64",
    "pwrite64",
    "readv",
    "mmap",
    "munmap",
    "mprotect",
    "brk",
    "recvfrom",
    "sendto",
    "recvmsg",
    "sendmsg",
    "getrandom",
    "sched_yield",
    "gettid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "clock_gettime",
    "getdents64",
    "readlink",
    "readlinkat",
    "prctl",
    "wait4",
    "io_uring_enter",
    "timerfd_settime",
    "epoll_create1",
    "rseq",
    "set_robust_list",
    "prlimit64",
    "exit_group",
];

/// The tail-call target of a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Exec,
    Timer,
    Ignore,
}

/// What to ignore besides exec and timer slots.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreChoice {
    /// Names given with --ignore.
    pub extra: Vec<String>,
    /// --no-default-ignore: leave [`DEFAULT_IGNORE`] out.
    pub no_default: bool,
    /// --ignore-others: every slot that is not exec or timer (the companion code's
    /// later version).
    pub others: bool,
}

/// Resolves the choice into (slot, target) writes, in the order to apply them: exec
/// and timer first, then ignores, so an explicit `--ignore execve` wins as in the
/// book, whose ignore list came last. Unknown user-given names are an error; unknown
/// default names are skipped (they belong to another architecture).
pub fn plan(
    table: &SyscallTable,
    choice: &IgnoreChoice,
) -> Result<Vec<(u32, Target)>, UnknownSyscall> {
    let mut out = Vec::new();
    for name in EXEC_SYSCALLS {
        out.push((table.resolve(name)?, Target::Exec));
    }
    for name in TIMER_SYSCALLS {
        out.push((table.resolve(name)?, Target::Timer));
    }
    let special: Vec<u32> = out.iter().map(|(nr, _)| *nr).collect();
    let mut ignore = Vec::new();
    for name in &choice.extra {
        ignore.push(table.resolve(name)?);
    }
    if choice.others {
        ignore.extend((0..table.slots()).filter(|nr| !special.contains(nr)));
    } else if !choice.no_default {
        ignore.extend(DEFAULT_IGNORE.iter().filter_map(|n| table.number(n)));
    }
    ignore.sort_unstable();
    ignore.dedup();
    out.extend(ignore.into_iter().map(|nr| (nr, Target::Ignore)));
    Ok(out)
}

/// Splits `--ignore a,b --ignore c` values into names.
pub fn split_names(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// True for a trace line one of hello-tail's programs wrote.
pub fn is_own_message(message: &str) -> bool {
    message.starts_with("Another syscall: ")
        || matches!(
            message,
            "Executing a program"
                | "Creating a timer"
                | "Deleting a timer"
                | "Some other timer operation"
        )
}

/// [`is_own_message`] on a whole trace_pipe line.
pub fn is_own_line(line: &str) -> bool {
    parse_line(line).is_some_and(|t| is_own_message(t.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(p: &[(u32, Target)], nr: u32) -> Vec<Target> {
        p.iter()
            .filter(|(n, _)| *n == nr)
            .map(|(_, t)| *t)
            .collect()
    }

    #[test]
    fn default_plan_on_x86_64() {
        let t = SyscallTable::X86_64;
        let p = plan(&t, &IgnoreChoice::default()).unwrap();
        assert_eq!(targets(&p, 59), vec![Target::Exec]);
        for nr in 222..=226 {
            assert_eq!(targets(&p, nr), vec![Target::Timer], "{nr}");
        }
        assert_eq!(targets(&p, 0), vec![Target::Ignore], "read");
        assert_eq!(targets(&p, 7), vec![Target::Ignore], "poll");
        assert_eq!(targets(&p, 110), vec![], "getppid is shown");
        assert!(p.iter().all(|(nr, _)| *nr < t.slots()));
    }

    #[test]
    fn arm64_resolves_names_to_its_own_numbers() {
        let p = plan(&SyscallTable::AARCH64, &IgnoreChoice::default()).unwrap();
        assert_eq!(targets(&p, 221), vec![Target::Exec]);
        assert_eq!(targets(&p, 107), vec![Target::Timer]);
        assert_eq!(targets(&p, 63), vec![Target::Ignore], "read");
    }

    #[test]
    fn flags_change_the_ignore_set() {
        let t = SyscallTable::X86_64;
        let none = IgnoreChoice {
            no_default: true,
            ..Default::default()
        };
        let p = plan(&t, &none).unwrap();
        assert_eq!(p.len(), 6, "only exec and timer slots");
        let extra = IgnoreChoice {
            extra: split_names(&["getppid, uname".into(), "execve".into()]),
            no_default: true,
            others: false,
        };
        let p = plan(&t, &extra).unwrap();
        assert_eq!(targets(&p, 110), vec![Target::Ignore]);
        assert_eq!(targets(&p, 63), vec![Target::Ignore]);
        assert_eq!(
            targets(&p, 59),
            vec![Target::Exec, Target::Ignore],
            "ignore wins"
        );
        let others = IgnoreChoice {
            others: true,
            ..Default::default()
        };
        let p = plan(&t, &others).unwrap();
        assert_eq!(p.len() as u32, t.slots());
        assert_eq!(targets(&p, 400), vec![Target::Ignore], "gaps too");
    }

    #[test]
    fn unknown_names_are_refused() {
        let bad = IgnoreChoice {
            extra: vec!["getppid".into(), "nosuch".into()],
            ..Default::default()
        };
        let e = plan(&SyscallTable::X86_64, &bad).unwrap_err();
        assert_eq!(e.name, "nosuch");
    }

    #[test]
    fn recognises_its_lines() {
        assert!(is_own_message("Another syscall: 39"));
        assert!(is_own_message("Creating a timer"));
        assert!(!is_own_message("Hello World!"));
        assert!(is_own_line(
            "  a.out-5 [000] ..... 1.0: bpf_trace_printk: Executing a program"
        ));
    }
}
