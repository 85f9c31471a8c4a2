//! `hello-file-ring-buffer` — the companion code's chapter2/hello-file-ring-buffer.py:
//! on every openat, `{command} - {filename}` on stdout from a BPF ring buffer (the BPF
//! program also writes hello-file's two trace lines, which this program does not read,
//! as in the book).

use std::cell::Cell;
use std::io::Write;
use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{RingBufferBuilder, TracepointCategory::Syscalls};

use lebpf::attach;
use lebpf::cli;
use lebpf::cstring::field;
use lebpf::skel::hello_file_ring_buffer::{types::event_t, HelloFileRingBufferSkelBuilder};

const PROG: &str = "hello-file-ring-buffer";

/// Print "<command> - <filename>" for every openat on the machine, through a BPF ring
/// buffer (Learning eBPF, ch. 2 companion code).
///
/// The ring buffer is the book's one page: on a busy machine events are dropped when
/// it is full. Invalid UTF-8 in a file name is replaced, as the book's decode does.
///
/// Examples:
///   sudo hello-file-ring-buffer
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
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
    let open = HelloFileRingBufferSkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    let skel = open.load().context("loading the BPF program")?;
    let prog = &skel.progs.tracepoint__syscalls__sys_enter_openat;
    let _link = attach::tracepoint(prog, Syscalls, "sys_enter_openat")?;
    eprintln!("{PROG}: attached to tracepoint syscalls/sys_enter_openat");

    // Book: def print_event(cpu, data, size): print(f"{ev.command} - {ev.filename}")
    let failed = Cell::new(false);
    let mut builder = RingBufferBuilder::new();
    builder.add(&skel.maps.output, |data: &[u8]| {
        if data.len() < std::mem::size_of::<event_t>() {
            return 0;
        }
        // SAFETY: char arrays and an int (any bytes are a value); read unaligned anyway.
        let ev: event_t = unsafe { std::ptr::read_unaligned(data.as_ptr().cast()) };
        let mut out = std::io::stdout().lock();
        let line = format!("{} - {}", field(&ev.command), field(&ev.filename));
        if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
            failed.set(true);
            return -1;
        }
        0
    })?;
    // Book: b["output"].open_ring_buffer(print_event); while True: b.ring_buffer_poll()
    let rb = builder.build().context("setting up the ring buffer")?;
    while !stop.requested() && !failed.get() {
        match rb.poll(Duration::from_millis(100)) {
            Err(e) if e.kind() != libbpf_rs::ErrorKind::Interrupted && !failed.get() => {
                return Err(e).context("polling the ring buffer")
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_book() {
        assert_eq!(std::mem::size_of::<event_t>(), 276);
        assert_eq!(std::mem::offset_of!(event_t, filename), 16);
        assert_eq!(std::mem::offset_of!(event_t, dfd), 272);
    }
}
