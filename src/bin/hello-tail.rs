//! `hello-tail` — Learning eBPF, chapter 2, hello-tail.py ("Tail Calls").
//!
//! A program on the `sys_enter` raw tracepoint tail-calls the program stored in the
//! prog array `syscall` at the syscall's number: `hello_exec` for execve, `hello_timer`
//! for the timer syscalls, `ignore_opcode` for the ignored ones; for an empty slot the
//! tail call fails and `hello` itself prints "Another syscall: N".

use std::io::Write;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd};
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags};

use lebpf::book::hello_tail::{
    is_own_line, plan, split_names, IgnoreChoice, Target, DEFAULT_IGNORE,
};
use lebpf::cli;
use lebpf::skel::hello_tail::HelloTailSkelBuilder;
use lebpf::syscalls::SyscallTable;
use lebpf::tracepipe::TracePipe;

const PROG: &str = "hello-tail";

/// Tail calls per syscall from the sys_enter raw tracepoint (Learning eBPF, ch. 2).
///
/// Prints the trace_pipe lines its programs write: "Executing a program" (execve),
/// "Creating a timer" / "Deleting a timer" / "Some other timer operation" (timer_*),
/// and "Another syscall: N" for every syscall that is not ignored.
///
/// Syscalls are given by NAME and resolved for the running architecture. By default a
/// set of frequent syscalls is ignored so the output stays readable: the ones the
/// book's list names (read, write, close, openat, futex, ioctl, epoll_pwait, ...) and
/// other calls an idle machine makes all the time (poll, mmap, brk, recvmsg, ...).
/// This process's own syscalls are never shown (reading trace_pipe would feed itself).
///
/// Examples:
///   sudo hello-tail                          # default ignore set
///   sudo hello-tail --ignore getppid,uname   # ignore more
///   sudo hello-tail --no-default-ignore      # every syscall (very noisy)
///   sudo hello-tail --ignore-others          # only exec and timer lines
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment, after_long_help = default_ignore_help())]
struct Args {
    /// Also ignore these syscalls (comma-separated names; repeatable).
    #[arg(long, value_name = "NAME,...")]
    ignore: Vec<String>,
    /// Do not ignore the default set (only --ignore names).
    #[arg(long)]
    no_default_ignore: bool,
    /// Ignore every syscall but execve and the timer ones.
    #[arg(long, conflicts_with = "no_default_ignore")]
    ignore_others: bool,
    /// Print every trace_pipe line, not only this program's.
    #[arg(long)]
    all_lines: bool,
    /// Show libbpf's debug messages on stderr.
    #[arg(short, long)]
    verbose: bool,
}

/// The default ignore set as resolved here, for `--help`.
fn default_ignore_help() -> String {
    let table = SyscallTable::host();
    let names: Vec<&str> = DEFAULT_IGNORE
        .iter()
        .copied()
        .filter(|n| table.is_some_and(|t| t.number(n).is_some()))
        .collect();
    let mut text = String::from("Default ignore set on this architecture:\n");
    let mut line = String::from(" ");
    for n in names {
        if line.len() + n.len() + 1 > 78 {
            text.push_str(&line);
            text.push('\n');
            line = String::from(" ");
        }
        line.push(' ');
        line.push_str(n);
    }
    text.push_str(&line);
    text
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run(PROG, || run(args))
}

fn run(args: Args) -> Result<()> {
    let table =
        SyscallTable::host().ok_or_else(|| anyhow!("no syscall table for this architecture"))?;
    let choice = IgnoreChoice {
        extra: split_names(&args.ignore),
        no_default: args.no_default_ignore,
        others: args.ignore_others,
    };
    // Bad names are the user's mistake: say so before needing any privilege.
    let slots = plan(&table, &choice).map_err(|e| cli::usage_error(e.to_string()))?;
    let nr =
        |name: &str| -> Result<i32> { Ok(table.resolve(name).map_err(|e| anyhow!("{e}"))? as i32) };

    let stop = cli::prepare(args.verbose)?;
    let mut storage = MaybeUninit::uninit();
    let mut open = HelloTailSkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    open.maps
        .syscall
        .set_max_entries(table.slots())
        .context("sizing the prog array")?;
    let rodata = open
        .maps
        .rodata_data
        .as_deref_mut()
        .ok_or_else(|| anyhow!("BPF object has no .rodata"))?;
    rodata.timer_create_nr = nr("timer_create")?;
    rodata.timer_delete_nr = nr("timer_delete")?;
    rodata.reader_tgid = std::process::id();
    let skel = open.load().context("loading the BPF programs")?;

    // Fill the prog array before attaching, so no syscall runs `hello` with a
    // half-filled array (the book attaches first and gets a burst of noise).
    let progs = &skel.progs;
    for (slot, target) in &slots {
        let prog = match target {
            Target::Exec => &progs.hello_exec,
            Target::Timer => &progs.hello_timer,
            Target::Ignore => &progs.ignore_opcode,
        };
        let fd = prog.as_fd().as_raw_fd() as u32;
        skel.maps
            .syscall
            .update(&slot.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
            .with_context(|| format!("setting slot {slot} of the prog array"))?;
    }
    let mut pipe = TracePipe::open()?;
    let _link = progs
        .hello
        .attach_raw_tracepoint("sys_enter")
        .context("attaching to raw tracepoint sys_enter")?;
    let ignored = slots.iter().filter(|(_, t)| *t == Target::Ignore).count();
    eprintln!(
        "{PROG}: attached to raw tracepoint sys_enter ({} syscalls on {}, {ignored} ignored)",
        table.slots(),
        table.arch()
    );

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

    #[test]
    fn ignore_takes_lists_and_repeats() {
        let a = Args::try_parse_from(["hello-tail", "--ignore", "a,b", "--ignore", "c"]).unwrap();
        assert_eq!(split_names(&a.ignore), vec!["a", "b", "c"]);
        assert!(
            Args::try_parse_from(["hello-tail", "--ignore-others", "--no-default-ignore"]).is_err()
        );
    }
}
