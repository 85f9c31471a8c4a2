//! `hello-map` — Learning eBPF, chapter 2, hello-map.py ("Hash Table Map").
//!
//! Counts execve calls per user ID in the hash map `counter_table`, and prints the map
//! every 2 seconds. `--all-syscalls` is the book's exercise: the same program on the
//! `sys_enter` raw tracepoint counts every syscall per user ID.

use std::io::Write;
use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};

use lebpf::attach::{attach_syscall_entry, select_autoload, AttachMode};
use lebpf::book::hello_map::{format_counts, read_counts};
use lebpf::cli;
use lebpf::skel::hello_map::HelloMapSkelBuilder;

const PROG: &str = "hello-map";

/// Count execve calls per user ID in a BPF hash map (Learning eBPF, ch. 2).
///
/// Every 2 seconds prints one line, "ID <uid>: <count>" and a TAB per user, in the
/// map's iteration order (an empty line until the first exec). Counts never reset.
///
/// Examples:
///   sudo hello-map                      # kprobe where possible, else the tracepoint
///   sudo hello-map --attach tracepoint  # force syscalls/sys_enter_execve
///   sudo hello-map --all-syscalls       # count every syscall (raw tracepoint sys_enter)
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Attach point for execve.
    #[arg(long, value_enum, default_value_t = AttachMode::Auto, conflicts_with = "all_syscalls")]
    attach: AttachMode,
    /// Count every syscall, not only execve (raw tracepoint sys_enter).
    #[arg(long)]
    all_syscalls: bool,
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
    let mut storage = MaybeUninit::uninit();
    let mut open = HelloMapSkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    if args.all_syscalls {
        open.progs.hello.set_autoload(false);
        open.progs.hello_tp.set_autoload(false);
    } else {
        select_autoload(args.attach, &mut open.progs.hello, &mut open.progs.hello_tp);
        open.progs.hello_sys_enter.set_autoload(false);
    }
    let skel = open.load().context("loading the BPF program")?;
    let _link = if args.all_syscalls {
        let link = skel
            .progs
            .hello_sys_enter
            .attach_raw_tracepoint("sys_enter")
            .context("attaching to raw tracepoint sys_enter")?;
        eprintln!("{PROG}: attached to raw tracepoint sys_enter");
        link
    } else {
        attach_syscall_entry(
            PROG,
            args.attach,
            "execve",
            &skel.progs.hello,
            &skel.progs.hello_tp,
        )?
        .0
    };
    let mut out = std::io::stdout().lock();
    while stop.sleep(Duration::from_secs(2)) {
        let counts = read_counts(&skel.maps.counter_table)?;
        writeln!(out, "{}", format_counts(&counts))?;
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_syscalls_and_attach_exclude_each_other() {
        assert!(Args::try_parse_from(["hello-map", "--all-syscalls"]).is_ok());
        assert!(Args::try_parse_from(["hello-map", "--attach", "tracepoint"]).is_ok());
        assert!(
            Args::try_parse_from(["hello-map", "--all-syscalls", "--attach", "kprobe"]).is_err()
        );
    }
}
