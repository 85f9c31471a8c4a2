//! `hello` — Learning eBPF, chapter 2, Example 2-1 (hello.py).
//!
//! Prints the trace_pipe line `... bpf_trace_printk: Hello World!` for every execve on
//! the machine. Needs root (or CAP_BPF + CAP_PERFMON).

use std::io::Write;
use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::TracepointCategory::Syscalls;

use lebpf::attach::{self, select_autoload, AttachMode};
use lebpf::cli;
use lebpf::skel::hello::HelloSkelBuilder;
use lebpf::tracepipe::{parse_line, TracePipe};

const PROG: &str = "hello";

/// Say "Hello World!" in the kernel trace pipe on every execve (Learning eBPF, ch. 2).
///
/// Lines are printed as the kernel writes them. trace_pipe is shared by the whole
/// machine and reading it consumes lines: only "Hello World!" lines are shown unless
/// --all-lines is given, and another reader (cat trace_pipe, hello-tail) takes some.
///
/// Examples:
///   sudo hello                      # kprobe where possible, else the tracepoint
///   sudo hello --attach tracepoint  # force syscalls/sys_enter_execve
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Attach point for execve.
    #[arg(long, value_enum, default_value_t = AttachMode::Auto)]
    attach: AttachMode,
    /// Print every trace_pipe line, not only this program's.
    #[arg(long)]
    all_lines: bool,
    /// Show libbpf's debug messages on stderr.
    #[arg(short, long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run(PROG, || run(args))
}

fn run(args: Args) -> Result<()> {
    let stop = cli::prepare(args.verbose)?;
    // Book: b = BPF(text=program)
    let mut storage = MaybeUninit::uninit();
    let mut open = HelloSkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    select_autoload(args.attach, &mut open.progs.hello, &mut open.progs.hello_tp);
    let skel = open.load().context("loading the BPF program")?;
    let mut pipe = TracePipe::open()?;
    let (_link, _) = attach::syscall_entry(
        PROG,
        args.attach,
        "execve",
        // Book: b.attach_kprobe(event=b.get_syscall_fnname("execve"), fn_name="hello")
        || skel.progs.hello.attach_ksyscall(false, "execve"),
        // Not in the book: kernels without kprobes.
        || attach::tracepoint(&skel.progs.hello_tp, Syscalls, "sys_enter_execve"),
    )?;
    // Book: b.trace_print()
    let mut out = std::io::stdout().lock();
    pipe.for_each_line(&stop, |line| {
        if args.all_lines || parse_line(line).is_some_and(|t| t.message == "Hello World!") {
            writeln!(out, "{line}")?;
            out.flush()?;
        }
        Ok(true)
    })
}
