//! `hello-file` — the companion code's chapter2/hello-file.py: on every openat, two
//! trace_pipe lines, `File <filename>` and `     opened by:<command>`.

use std::io::Write;
use std::mem::MaybeUninit;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::TracepointCategory::Syscalls;

use lebpf::attach;
use lebpf::cli;
use lebpf::skel::hello_file::HelloFileSkelBuilder;
use lebpf::tracepipe::{parse_line, TracePipe};

const PROG: &str = "hello-file";

/// Print the file name and command of every openat on the machine (Learning eBPF,
/// ch. 2 companion code).
///
/// Trace lines are printed as the kernel writes them; only this program's two kinds
/// of line are shown unless --all-lines is given. Very busy on a busy machine.
///
/// Examples:
///   sudo hello-file
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
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
    // Book: b = BPF(text=program); TRACEPOINT_PROBE attaches when loaded.
    let mut storage = MaybeUninit::uninit();
    let open = HelloFileSkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    let skel = open.load().context("loading the BPF program")?;
    let mut pipe = TracePipe::open()?;
    let prog = &skel.progs.tracepoint__syscalls__sys_enter_openat;
    let _link = attach::tracepoint(prog, Syscalls, "sys_enter_openat")?;
    eprintln!("{PROG}: attached to tracepoint syscalls/sys_enter_openat");
    // Book: b.trace_print()
    let mut out = std::io::stdout().lock();
    pipe.for_each_line(&stop, |line| {
        if args.all_lines || parse_line(line).is_some_and(|t| is_own_message(t.message)) {
            writeln!(out, "{line}")?;
            out.flush()?;
        }
        Ok(true)
    })
}

/// The two messages the BPF program writes.
fn is_own_message(message: &str) -> bool {
    message.starts_with("File ") || message.starts_with("     opened by:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_its_lines() {
        assert!(is_own_message("File /etc/passwd"));
        assert!(is_own_message("     opened by:cat"));
        assert!(!is_own_message("Hello World!"));
    }
}
