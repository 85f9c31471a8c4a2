//! `hello-func` — Learning eBPF, chapter 3, hello-func.bpf.c (BPF-to-BPF calls).
//!
//! `hello` calls `get_opcode()`, a separate BPF function, and prints "Syscall: N" for
//! every syscall. `--show-call` prints what the kernel holds after loading: the
//! program's functions and the BPF-to-BPF call instruction (what the book shows with
//! `bpftool prog dump xlated`).

use std::io::Write;
use std::mem::MaybeUninit;
use std::os::fd::AsFd;
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};

use lebpf::cli;
use lebpf::inspect::{call_evidence, describe};
use lebpf::skel::hello_func::HelloFuncSkelBuilder;
use lebpf::tracepipe::{parse_line, TracePipe};

const PROG: &str = "hello-func";

/// Print "Syscall: N" for every syscall, from a BPF function call (Learning eBPF, ch. 3).
///
/// Trace lines are printed as the kernel writes them; N is the syscall number (e.g.
/// execve is 59 on x86_64, 221 on aarch64). This process's own syscalls are left out (reading
/// trace_pipe would otherwise feed itself). Very busy on a busy machine.
///
/// Examples:
///   sudo hello-func               # attach to raw tracepoint sys_enter, print lines
///   sudo hello-func --show-call   # load only, print the BPF-to-BPF call, exit
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Load the program, print its functions and the BPF-to-BPF call the kernel
    /// kept, and exit without attaching.
    #[arg(long)]
    show_call: bool,
    /// Print every trace_pipe line, not only this program's.
    #[arg(long)]
    all_lines: bool,
    /// Show libbpf's debug messages on stderr.
    #[arg(short, long)]
    verbose: bool,
}

/// The syscall number of one of our `Syscall: %d` trace lines.
fn syscall_of(line: &str) -> Option<i64> {
    parse_line(line)?
        .message
        .strip_prefix("Syscall: ")?
        .parse()
        .ok()
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run(PROG, || run(args))
}

fn run(args: Args) -> Result<()> {
    let stop = cli::prepare(args.verbose)?;
    // Book: bpftool prog load hello-func.bpf.o /sys/fs/bpf/hello
    let mut storage = MaybeUninit::uninit();
    let mut open = HelloFuncSkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    open.maps
        .rodata_data
        .as_deref_mut()
        .ok_or_else(|| anyhow!("BPF object has no .rodata"))?
        .reader_tgid = std::process::id();
    let skel = open.load().context("loading the BPF program")?;

    if args.show_call {
        let ev = call_evidence(skel.progs.hello.as_fd()).context("reading the loaded program")?;
        let mut out = std::io::stdout().lock();
        write!(out, "{}", describe("hello", &ev))?;
        out.flush()?;
        if ev.calls.is_empty() {
            bail!("the loaded program has no BPF-to-BPF call");
        }
        return Ok(());
    }

    let mut pipe = TracePipe::open()?;
    // Not in the book (it only loads): SEC("raw_tp/sys_enter") names the tracepoint.
    let _link = skel
        .progs
        .hello
        .attach_raw_tracepoint("sys_enter")
        .context("attaching to raw tracepoint sys_enter")?;
    eprintln!("{PROG}: attached to raw tracepoint sys_enter");
    let mut out = std::io::stdout().lock();
    pipe.for_each_line(&stop, |line| {
        if args.all_lines || syscall_of(line).is_some() {
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
    fn picks_our_lines() {
        let l = "          <...>-31  [001] ...21  10.5: bpf_trace_printk: Syscall: 110";
        assert_eq!(syscall_of(l), Some(110));
        let l = "          bash-31  [001] ...21  10.5: bpf_trace_printk: Hello World!";
        assert_eq!(syscall_of(l), None);
    }
}
