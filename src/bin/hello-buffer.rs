//! `hello-buffer` — Learning eBPF, chapter 2, hello-buffer.py ("Perf and Ring Buffer Maps").
//!
//! On every execve the BPF program sends {pid, uid, command, "Hello World"} to user
//! space, through a BPF ring buffer by default or the book's perf buffer
//! (`--perf-buffer`, and automatically on kernels older than 5.8).

use std::io::Write;
use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};

use lebpf::attach::{attach_syscall_entry, select_autoload, AttachMode};
use lebpf::book::hello_buffer::{format_event, lost_line, Event};
use lebpf::cli;
use lebpf::events::{
    choose_transport, decode, ring_buffer_supported, DropCounter, EventPoller, Transport,
};
use lebpf::skel::hello_buffer::HelloBufferSkelBuilder;

const PROG: &str = "hello-buffer";
/// The book's library opens perf buffers with 8 pages per CPU.
const PERF_PAGES: usize = 8;

/// Print "<pid> <uid> <command> Hello World" for every execve (Learning eBPF, ch. 2).
///
/// <command> is the name of the process that called execve, before the new program
/// replaces it (e.g. "bash" for a command typed in bash). Events come through a BPF
/// ring buffer (kernel 5.8+) or, with --perf-buffer or on older kernels, a perf buffer
/// as in the book. Lost samples are reported on stderr.
///
/// Examples:
///   sudo hello-buffer                   # ring buffer, kprobe where possible
///   sudo hello-buffer --perf-buffer     # the book's perf buffer
///   sudo hello-buffer --attach tracepoint
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Attach point for execve.
    #[arg(long, value_enum, default_value_t = AttachMode::Auto)]
    attach: AttachMode,
    /// Use a perf buffer (PERF_EVENT_ARRAY) as the book does, not a ring buffer.
    #[arg(long)]
    perf_buffer: bool,
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
    let (transport, fell_back) = choose_transport(args.perf_buffer, ring_buffer_supported());
    if fell_back {
        eprintln!("{PROG}: this kernel has no BPF ring buffer (5.8+); using a perf buffer");
    }

    let mut storage = MaybeUninit::uninit();
    let mut open = HelloBufferSkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    // Load only the pair of programs for the chosen transport, and create only its map
    // (see the comment at the top of hello_buffer.bpf.c).
    let progs = &mut open.progs;
    match transport {
        Transport::RingBuffer => {
            select_autoload(args.attach, &mut progs.hello, &mut progs.hello_tp);
            progs.hello_perf.set_autoload(false);
            progs.hello_perf_tp.set_autoload(false);
            open.maps.output.set_autocreate(false)?;
        }
        Transport::PerfBuffer => {
            select_autoload(args.attach, &mut progs.hello_perf, &mut progs.hello_perf_tp);
            progs.hello.set_autoload(false);
            progs.hello_tp.set_autoload(false);
            open.maps.ringbuf.set_autocreate(false)?;
        }
    }
    let skel = open.load().context("loading the BPF program")?;

    let out = std::cell::RefCell::new(std::io::stdout().lock());
    let print = |data: &[u8]| -> Result<()> {
        let Some(event) = decode::<Event>(data) else {
            eprintln!("{PROG}: short sample ({} bytes)", data.len());
            return Ok(());
        };
        let mut out = out.borrow_mut();
        writeln!(out, "{}", format_event(&event))?;
        out.flush()?;
        Ok(())
    };
    let lost = |count: u64| -> Result<()> {
        eprintln!("{}", lost_line(count));
        Ok(())
    };
    let poller = match transport {
        Transport::RingBuffer => EventPoller::ring_buffer(&skel.maps.ringbuf, print)?,
        Transport::PerfBuffer => {
            EventPoller::perf_buffer(&skel.maps.output, PERF_PAGES, print, lost)?
        }
    };

    let (kprobe, tracepoint) = match transport {
        Transport::RingBuffer => (&skel.progs.hello, &skel.progs.hello_tp),
        Transport::PerfBuffer => (&skel.progs.hello_perf, &skel.progs.hello_perf_tp),
    };
    let (_link, _point) = attach_syscall_entry(PROG, args.attach, "execve", kprobe, tracepoint)?;
    eprintln!("{PROG}: events through the {transport}");

    // The ring buffer variant counts drops in its `ringbuf_lost` global.
    let bss = skel.maps.bss_data.as_deref();
    let mut drops = DropCounter::default();
    poller.run(&stop, Duration::from_millis(100), || {
        if let (Transport::RingBuffer, Some(bss)) = (transport, bss) {
            // SAFETY: an aligned u64 in the mmapped .bss the BPF program updates.
            let now = unsafe { std::ptr::read_volatile(&bss.ringbuf_lost) };
            if let Some(n) = drops.newly_lost(now) {
                lost(n)?;
            }
        }
        Ok(())
    })
}
