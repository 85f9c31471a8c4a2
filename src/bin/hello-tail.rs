//! `hello-tail` — Learning eBPF, chapter 2, hello-tail.py ("Tail Calls").
//!
//! A program on the `sys_enter` raw tracepoint tail-calls the program stored in the
//! prog array `syscall` at the syscall's number: `hello_exec` for execve, `hello_timer`
//! for the timer syscalls, `ignore_opcode` for the ignored ones; for an empty slot the
//! tail call fails and `hello` itself prints "Another syscall: N". `--auto-attach` is
//! the chapter's exercise 4.

use std::io::Write;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd};
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, Skel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags};

use lebpf::cli;
use lebpf::skel::hello_tail::HelloTailSkelBuilder;
use lebpf::syscalls::SyscallTable;
use lebpf::tracepipe::{parse_line, TracePipe};

const PROG: &str = "hello-tail";

/// Timer syscalls, whose slot gets `hello_timer` (the book: 222..226 on x86_64).
const TIMERS: [&str; 5] = [
    "timer_create",
    "timer_settime",
    "timer_gettime",
    "timer_getoverrun",
    "timer_delete",
];

/// Ignored by default (slot = `ignore_opcode`), so "Another syscall" stays readable:
/// first the calls the book's first ignore list names (it wrote arm64 numbers: 21
/// epoll_ctl, 22 epoll_pwait, 25 fcntl, 29 ioctl, 56 openat, 57 close, 63 read, 64
/// write, ...), then others an idle machine makes all the time. Names the running
/// architecture lacks (`poll`, `stat` on arm64) are skipped.
#[rustfmt::skip]
const DEFAULT_IGNORE: &[&str] = &[
    "epoll_ctl", "epoll_pwait", "fcntl", "ioctl", "openat", "close", "read", "write",
    "writev", "pselect6", "ppoll", "newfstatat", "futex", "nanosleep", "clock_nanosleep",
    "tgkill", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "getpid", "madvise", "bpf",
    "statx",
    "poll", "select", "epoll_wait", "epoll_pwait2", "stat", "fstat", "lstat", "open",
    "access", "faccessat", "faccessat2", "lseek", "pread64", "pwrite64", "readv", "mmap",
    "munmap", "mprotect", "brk", "recvfrom", "sendto", "recvmsg", "sendmsg", "getrandom",
    "sched_yield", "gettid", "getuid", "geteuid", "getgid", "getegid", "clock_gettime",
    "getdents64", "readlink", "readlinkat", "prctl", "wait4", "io_uring_enter",
    "timerfd_settime", "epoll_create1", "rseq", "set_robust_list", "prlimit64",
    "exit_group",
];

/// Tail calls per syscall from the sys_enter raw tracepoint (Learning eBPF, ch. 2).
///
/// Prints the trace_pipe lines its programs write: "Executing a program" (execve),
/// "Creating a timer" / "Deleting a timer" / "Some other timer operation" (timer_*),
/// and "Another syscall: N" for every syscall that is not ignored.
///
/// Syscalls are given by NAME and resolved for the running architecture. By default a
/// set of frequent syscalls is ignored so the output stays readable (listed below).
/// This process's own syscalls are never shown (reading trace_pipe would feed itself).
///
/// Examples:
///   sudo hello-tail                          # default ignore set
///   sudo hello-tail --ignore getppid,uname   # ignore more
///   sudo hello-tail --no-default-ignore      # every syscall (very noisy)
///   sudo hello-tail --ignore-others          # only exec and timer lines
///   sudo hello-tail --auto-attach            # exercise 4: attach by section name
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment, after_long_help = default_ignore_help())]
struct Args {
    /// Also ignore these syscalls (comma-separated names; repeatable).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    ignore: Vec<String>,
    /// Do not ignore the default set (only --ignore names).
    #[arg(long)]
    no_default_ignore: bool,
    /// Ignore every syscall but execve and the timer ones (the companion code's way).
    #[arg(long, conflicts_with = "no_default_ignore")]
    ignore_others: bool,
    /// Attach `hello` by its section name, raw_tp/sys_enter, with the skeleton's
    /// attach() (libbpf auto-attach; BCC's RAW_TRACEPOINT_PROBE): exercise 4.
    #[arg(long)]
    auto_attach: bool,
    /// Print every trace_pipe line, not only this program's.
    #[arg(long)]
    all_lines: bool,
    /// Show libbpf's debug messages on stderr.
    #[arg(short, long)]
    verbose: bool,
}

fn default_ignore_help() -> String {
    let table = SyscallTable::host();
    let names: Vec<&str> = (DEFAULT_IGNORE.iter().copied())
        .filter(|n| table.is_some_and(|t| t.number(n).is_some()))
        .collect();
    format!(
        "Default ignore set on this architecture:\n  {}",
        names.join(" ")
    )
}

/// The tail-call target of a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Exec,
    Timer,
    Ignore,
}

/// The prog array writes, in order: exec and timer slots, then the ignored ones (so an
/// explicit `--ignore execve` wins, as the book's ignore list came last). Unknown names
/// given by the user are an error; default names the arch lacks are skipped.
fn plan(table: &SyscallTable, args: &Args) -> Result<Vec<(u32, Target)>, String> {
    let nr = |name: &str| table.resolve(name).map_err(|e| e.to_string());
    let mut out = vec![(nr("execve")?, Target::Exec)];
    for name in TIMERS {
        out.push((nr(name)?, Target::Timer));
    }
    let special: Vec<u32> = out.iter().map(|(n, _)| *n).collect();
    let mut ignore = Vec::new();
    for name in args
        .ignore
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
    {
        ignore.push(nr(name)?);
    }
    if args.ignore_others {
        ignore.extend((0..table.slots()).filter(|n| !special.contains(n)));
    } else if !args.no_default_ignore {
        ignore.extend(DEFAULT_IGNORE.iter().filter_map(|n| table.number(n)));
    }
    ignore.sort_unstable();
    ignore.dedup();
    out.extend(ignore.into_iter().map(|n| (n, Target::Ignore)));
    Ok(out)
}

/// True for a trace line one of hello-tail's programs wrote.
fn is_own_line(line: &str) -> bool {
    parse_line(line).is_some_and(|t| {
        t.message.starts_with("Another syscall: ")
            || matches!(
                t.message,
                "Executing a program"
                    | "Creating a timer"
                    | "Deleting a timer"
                    | "Some other timer operation"
            )
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run(PROG, || run(args))
}

fn run(args: Args) -> Result<()> {
    let table = SyscallTable::host().ok_or_else(|| anyhow!("no syscall table for this arch"))?;
    // Bad names are the user's mistake: say so before needing any privilege.
    let slots = plan(&table, &args).map_err(cli::usage_error)?;
    let nr = |name| table.resolve(name).map(|n| n as i32);

    let stop = cli::prepare(args.verbose)?;
    // Book: b = BPF(text=program)
    let mut storage = MaybeUninit::uninit();
    let mut open = HelloTailSkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    // Book: BPF_PROG_ARRAY(syscall, 500); sized here to this arch's syscall table.
    open.maps.syscall.set_max_entries(table.slots())?;
    let rodata = open.maps.rodata_data.as_deref_mut().context("no .rodata")?;
    rodata.timer_create_nr = nr("timer_create")?;
    rodata.timer_delete_nr = nr("timer_delete")?;
    rodata.reader_tgid = std::process::id();
    let mut skel = open.load().context("loading the BPF programs")?;

    // Book: b.load_func("hello_exec", BPF.RAW_TRACEPOINT) etc. (loaded above) and
    // prog_array[ct.c_int(59)] = ct.c_int(exec_fn.fd): the value is the program's fd.
    // Done before attaching, so no syscall meets a half-filled array.
    let progs = &skel.progs;
    for (slot, target) in &slots {
        let prog = match target {
            Target::Exec => &progs.hello_exec,
            Target::Timer => &progs.hello_timer,
            Target::Ignore => &progs.ignore_opcode,
        };
        let fd = prog.as_fd().as_raw_fd() as u32;
        (skel.maps.syscall)
            .update(&slot.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
            .with_context(|| format!("setting slot {slot} of the prog array"))?;
    }
    let mut pipe = TracePipe::open()?;
    let _link = if args.auto_attach {
        // Exercise 4: libbpf attaches each program by its SEC() name, like BCC's
        // RAW_TRACEPOINT_PROBE(sys_enter); the unnamed SEC("raw_tp") targets are skipped.
        skel.attach().context("auto-attaching by section name")?;
        None
    } else {
        // Book: b.attach_raw_tracepoint(tp="sys_enter", fn_name="hello")
        let link = skel.progs.hello.attach_raw_tracepoint("sys_enter");
        Some(link.context("attaching to raw tracepoint sys_enter")?)
    };
    let ignored = slots.iter().filter(|(_, t)| *t == Target::Ignore).count();
    let how = if args.auto_attach {
        ", by section name"
    } else {
        ""
    };
    eprintln!(
        "{PROG}: attached to raw tracepoint sys_enter{how} ({} syscalls on {}, {ignored} ignored)",
        table.slots(),
        table.arch()
    );

    // Book: b.trace_print()
    let mut out = std::io::stdout().lock();
    pipe.for_each_line(&stop, |line| {
        if args.all_lines || is_own_line(line) {
            writeln!(out, "{line}")?;
            out.flush()?;
        }
        Ok(true)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(p: &[(u32, Target)], nr: u32) -> Vec<Target> {
        (p.iter().filter(|(n, _)| *n == nr))
            .map(|(_, t)| *t)
            .collect()
    }

    fn args(a: &[&str]) -> Args {
        Args::try_parse_from([&[PROG], a].concat()).unwrap()
    }

    #[test]
    fn default_plan_on_x86_64() {
        let t = SyscallTable::X86_64;
        let p = plan(&t, &args(&[])).unwrap();
        assert_eq!(targets(&p, 59), vec![Target::Exec]);
        for nr in 222..=226 {
            assert_eq!(targets(&p, nr), vec![Target::Timer], "{nr}");
        }
        assert_eq!(targets(&p, 0), vec![Target::Ignore], "read");
        assert_eq!(targets(&p, 110), vec![], "getppid is shown");
        assert!(p.iter().all(|(nr, _)| *nr < t.slots()));
    }

    #[test]
    fn arm64_resolves_names_to_its_own_numbers() {
        let p = plan(&SyscallTable::AARCH64, &args(&[])).unwrap();
        assert_eq!(targets(&p, 221), vec![Target::Exec]);
        assert_eq!(targets(&p, 107), vec![Target::Timer]);
        assert_eq!(targets(&p, 63), vec![Target::Ignore], "read");
    }

    #[test]
    fn flags_change_the_ignore_set() {
        let t = SyscallTable::X86_64;
        assert_eq!(plan(&t, &args(&["--no-default-ignore"])).unwrap().len(), 6);
        let a = args(&[
            "--no-default-ignore",
            "--ignore",
            "getppid, uname",
            "--ignore",
            "execve",
        ]);
        let p = plan(&t, &a).unwrap();
        assert_eq!(targets(&p, 110), vec![Target::Ignore]);
        assert_eq!(
            targets(&p, 59),
            vec![Target::Exec, Target::Ignore],
            "ignore wins"
        );
        let p = plan(&t, &args(&["--ignore-others"])).unwrap();
        assert_eq!(p.len() as u32, t.slots());
        assert!(Args::try_parse_from([PROG, "--ignore-others", "--no-default-ignore"]).is_err());
        let e = plan(&t, &args(&["--ignore", "getppid,nosuch"])).unwrap_err();
        assert!(e.contains("'nosuch'"), "{e}");
    }

    #[test]
    fn recognises_its_lines() {
        assert!(is_own_line(
            "  a.out-5 [000] ..... 1.0: bpf_trace_printk: Executing a program"
        ));
        assert!(is_own_line(
            "  a-5 [000] ..... 1.0: bpf_trace_printk: Another syscall: 39"
        ));
        assert!(!is_own_line(
            "  a-5 [000] ..... 1.0: bpf_trace_printk: Hello World!"
        ));
    }
}
