//! `hello-map` — Learning eBPF, chapter 2, hello-map.py ("Hash Table Map"), and the
//! chapter's exercises 2, 3 and 5 as flags (see docs/book.md, "Exercises").
//!
//! Counts execve calls per user ID in the hash map `counter_table`, and prints the map
//! every 2 seconds.

use std::io::Write;
use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, TracepointCategory::Syscalls};

use lebpf::attach::{self, select_autoload, AttachMode};
use lebpf::cli;
use lebpf::skel::hello_map::HelloMapSkelBuilder;
use lebpf::syscalls::SyscallTable;

const PROG: &str = "hello-map";

/// Count execve calls per user ID in a BPF hash map (Learning eBPF, ch. 2).
///
/// Every 2 seconds prints one line, "ID <uid>: <count>" and a TAB per user, in the
/// map's iteration order (an empty line until the first exec). Counts never reset.
///
/// Examples:
///   sudo hello-map                      # kprobe where possible, else the tracepoint
///   sudo hello-map --attach tracepoint  # force syscalls/sys_enter_execve
///   sudo hello-map --syscall execve,openat,write  # exercise 2: one program, 3 attaches
///   sudo hello-map --separate-programs  # exercise 2: 3 programs, one map
///   sudo hello-map --all-syscalls       # exercise 3: every syscall, per uid
///   sudo hello-map --by-syscall         # exercise 5: every syscall, per syscall
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Attach point for the syscalls.
    #[arg(long, value_enum, default_value_t = AttachMode::Auto)]
    attach: AttachMode,
    /// Syscalls to count (comma-separated names; repeatable); default execve.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    syscall: Vec<String>,
    /// Count execve, openat and write with one program each, sharing the map
    /// (their syscalls/sys_enter_* tracepoints).
    #[arg(long, conflicts_with_all = ["syscall", "attach"])]
    separate_programs: bool,
    /// Count every syscall per uid (raw tracepoint sys_enter).
    #[arg(long, conflicts_with_all = ["syscall", "attach", "separate_programs"])]
    all_syscalls: bool,
    /// Count every syscall per syscall, printed "ID <nr> (<name>): <count>".
    #[arg(long, conflicts_with_all = ["syscall", "attach", "separate_programs", "all_syscalls"])]
    by_syscall: bool,
    /// Show libbpf's debug messages on stderr.
    #[arg(short, long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run(PROG, || run(args))
}

fn run(args: Args) -> Result<()> {
    let table = SyscallTable::host().ok_or_else(|| anyhow!("no syscall table for this arch"))?;
    let mut syscalls = args.syscall.clone();
    if syscalls.is_empty() {
        syscalls.push("execve".into());
    }
    for name in &syscalls {
        table
            .resolve(name)
            .map_err(|e| cli::usage_error(e.to_string()))?;
    }
    let stop = cli::prepare(args.verbose)?;

    // Book: b = BPF(text=program) compiles and loads; here clang ran at build time and
    // the skeleton opens, then loads, the object.
    let mut storage = MaybeUninit::uninit();
    let mut open = HelloMapSkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    let p = &mut open.progs;
    select_autoload(args.attach, &mut p.hello, &mut p.hello_tp);
    let (raw_tp, separate) = (args.all_syscalls || args.by_syscall, args.separate_programs);
    if raw_tp {
        p.hello.set_autoload(false);
        p.hello_tp.set_autoload(false);
    }
    if separate {
        p.hello.set_autoload(false);
        p.hello_tp.set_autoload(true);
    }
    p.hello_sys_enter.set_autoload(args.all_syscalls);
    p.hello_by_syscall.set_autoload(args.by_syscall);
    p.hello_openat.set_autoload(separate);
    p.hello_write.set_autoload(separate);
    let skel = open.load().context("loading the BPF program")?;

    let progs = &skel.progs;
    let mut links: Vec<Link> = Vec::new();
    if args.all_syscalls || args.by_syscall {
        // Book (exercise): b.attach_raw_tracepoint(tp="sys_enter", fn_name="hello")
        let prog = if args.all_syscalls {
            &progs.hello_sys_enter
        } else {
            &progs.hello_by_syscall
        };
        links.push(
            prog.attach_raw_tracepoint("sys_enter")
                .context("attaching to raw tracepoint sys_enter")?,
        );
        eprintln!("{PROG}: attached to raw tracepoint sys_enter");
    } else if separate {
        for (prog, name) in [
            (&progs.hello_tp, "execve"),
            (&progs.hello_openat, "openat"),
            (&progs.hello_write, "write"),
        ] {
            links.push(attach::tracepoint(
                prog,
                Syscalls,
                &format!("sys_enter_{name}"),
            )?);
        }
        eprintln!("{PROG}: attached to tracepoints syscalls/sys_enter_{{execve,openat,write}}, one program each");
    } else {
        for name in &syscalls {
            let (link, _) = attach::syscall_entry(
                PROG,
                args.attach,
                name,
                // Book: b.attach_kprobe(event=b.get_syscall_fnname("execve"), fn_name="hello")
                || progs.hello.attach_ksyscall(false, name),
                // Not in the book: kernels without kprobes.
                || attach::tracepoint(&progs.hello_tp, Syscalls, &format!("sys_enter_{name}")),
            )?;
            links.push(link);
        }
    }

    // Book: while True: sleep(2); for k,v in b["counter_table"].items(): s += ...; print(s)
    let mut out = std::io::stdout().lock();
    while stop.sleep(Duration::from_secs(2)) {
        let mut line = String::new();
        for key in skel.maps.counter_table.keys() {
            let Some(value) = skel.maps.counter_table.lookup(&key, MapFlags::ANY)? else {
                continue;
            };
            let (k, v) = (u64_of(&key), u64_of(&value));
            line.push_str(&match args.by_syscall {
                false => format!("ID {k}: {v}\t"),
                true => format!("ID {k} ({}): {v}\t", syscall_name(&table, k)),
            });
        }
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(())
}

/// A u64 key or value of `counter_table` (native byte order, as the kernel stores it).
fn u64_of(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_ne_bytes).unwrap_or(0)
}

/// The running architecture's name for a syscall number, "?" when the table has none.
fn syscall_name(table: &SyscallTable, nr: u64) -> &'static str {
    u32::try_from(nr)
        .ok()
        .and_then(|n| table.name(n))
        .unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_exclude_each_other() {
        let ok = |a: &[&str]| Args::try_parse_from([&[PROG], a].concat()).is_ok();
        assert!(ok(&["--all-syscalls"]));
        assert!(ok(&[
            "--attach",
            "tracepoint",
            "--syscall",
            "execve,openat",
            "--syscall",
            "write"
        ]));
        assert!(!ok(&["--all-syscalls", "--attach", "kprobe"]));
        assert!(!ok(&["--by-syscall", "--all-syscalls"]));
        assert!(!ok(&["--separate-programs", "--syscall", "write"]));
        let a = Args::try_parse_from([PROG, "--syscall", "execve,openat", "--syscall", "write"])
            .unwrap();
        assert_eq!(a.syscall, vec!["execve", "openat", "write"]);
    }

    #[test]
    fn counts_and_names() {
        assert_eq!(u64_of(&7u64.to_ne_bytes()), 7);
        assert_eq!(syscall_name(&SyscallTable::X86_64, 59), "execve");
        assert_eq!(syscall_name(&SyscallTable::X86_64, 100_000), "?");
    }
}
