//! `hello-buffer` — Learning eBPF, chapter 2, hello-buffer.py ("Perf and Ring Buffer Maps").
//!
//! NOT the book's default: events come through a BPF ring buffer (the blog port this
//! project grew from uses one), sized to at least the book's perf buffer (8 pages per
//! CPU). `--perf-buffer`, and kernels before 5.8, run the book's perf buffer program
//! (`hello` in src/bpf/hello_buffer.bpf.c). `--odd-even` is the chapter's exercise 1.

use std::cell::Cell;
use std::io::Write;
use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{PerfBufferBuilder, RingBufferBuilder, TracepointCategory::Syscalls};

use lebpf::attach::{self, select_autoload, AttachMode};
use lebpf::cli;
use lebpf::cstring::field;
use lebpf::events::Choice;
use lebpf::skel::hello_buffer::{types::data_t, HelloBufferSkelBuilder};

const PROG: &str = "hello-buffer";
/// BCC's open_perf_buffer() default: 8 pages per CPU.
const PERF_PAGES: usize = 8;

/// Print "<pid> <uid> <command> Hello World" for every execve (Learning eBPF, ch. 2).
///
/// <command> is the name of the process that called execve, before the new program
/// replaces it (e.g. "bash" for a command typed in bash). Events come through a BPF
/// ring buffer (kernel 5.8+) or, with --perf-buffer or on older kernels, a perf buffer
/// as in the book; stderr says which. Lost samples are reported on stderr.
///
/// Examples:
///   sudo hello-buffer                   # ring buffer, kprobe where possible
///   sudo hello-buffer --perf-buffer     # the book's perf buffer
///   sudo hello-buffer --odd-even        # exercise 1: "Odd pid" / "Even pid"
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Attach point for execve.
    #[arg(long, value_enum, default_value_t = AttachMode::Auto)]
    attach: AttachMode,
    /// Use a perf buffer (PERF_EVENT_ARRAY) as the book does, not a ring buffer.
    #[arg(long)]
    perf_buffer: bool,
    /// Message "Odd pid" or "Even pid" by the caller's pid (the chapter's exercise 1).
    #[arg(long)]
    odd_even: bool,
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
    let choice = Choice::probe(args.perf_buffer);
    let perf = choice.is_perf();
    if choice.fallback {
        eprintln!("{PROG}: this kernel has no BPF ring buffer (5.8+); using a perf buffer");
    }

    // Book: b = BPF(text=program)
    let mut storage = MaybeUninit::uninit();
    let mut open = HelloBufferSkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    let p = &mut open.progs;
    if perf {
        select_autoload(args.attach, &mut p.hello, &mut p.hello_tp);
        p.hello_ringbuf.set_autoload(false);
        p.hello_ringbuf_tp.set_autoload(false);
        open.maps.ringbuf.set_autocreate(false)?;
    } else {
        select_autoload(args.attach, &mut p.hello_ringbuf, &mut p.hello_ringbuf_tp);
        p.hello.set_autoload(false);
        p.hello_tp.set_autoload(false);
        open.maps.ringbuf.set_max_entries(ring_bytes())?;
    }
    open.maps
        .rodata_data
        .as_deref_mut()
        .context("no .rodata")?
        .odd_even = args.odd_even;
    let skel = open.load().context("loading the BPF program")?;

    // Book: b.attach_kprobe(event=b.get_syscall_fnname("execve"), fn_name="hello").
    // Called below once the buffer is set up (the book attaches first): a perf buffer
    // drops what is sent before it exists.
    let (kprobe, tracepoint) = match perf {
        true => (&skel.progs.hello, &skel.progs.hello_tp),
        false => (&skel.progs.hello_ringbuf, &skel.progs.hello_ringbuf_tp),
    };
    let attach_execve = || {
        attach::syscall_entry(
            PROG,
            args.attach,
            "execve",
            || kprobe.attach_ksyscall(false, "execve"),
            || attach::tracepoint(tracepoint, Syscalls, "sys_enter_execve"),
        )
    };

    // Book: def print_event(cpu, data, size): print(f"{pid} {uid} {command} {message}")
    let failed = Cell::new(None);
    let print = |data: &[u8]| {
        if data.len() < std::mem::size_of::<data_t>() {
            return;
        }
        // SAFETY: data_t is ints and char arrays (any bytes are a value); perf samples
        // are not aligned, so read unaligned.
        let e: data_t = unsafe { std::ptr::read_unaligned(data.as_ptr().cast()) };
        let (command, message) = (field(&e.command), field(&e.message));
        let mut out = std::io::stdout().lock();
        if let Err(err) =
            writeln!(out, "{} {} {command} {message}", e.pid, e.uid).and_then(|_| out.flush())
        {
            failed.set(Some(err));
        }
    };
    let every = Duration::from_millis(100);
    attach::tracefs_before_setup(args.attach, Syscalls, "sys_enter_execve")?;
    if perf {
        eprintln!("{PROG}: events through the perf buffer");
        // Book: b["output"].open_perf_buffer(print_event); while True: b.perf_buffer_poll()
        let pb = PerfBufferBuilder::new(&skel.maps.output)
            .pages(PERF_PAGES)
            .sample_cb(|_cpu, data: &[u8]| print(data))
            .lost_cb(|_cpu, n| eprintln!("Possibly lost {n} samples"))
            .build()
            .map_err(|e| attach::attach_error(format!("setting up the perf buffer: {e}")))?;
        let _link = attach_execve()?;
        while !stop.requested() && done(&failed)? {
            pb.poll(every).or_else(interrupted)?;
        }
    } else {
        eprintln!("{PROG}: events through the ring buffer");
        let mut builder = RingBufferBuilder::new();
        builder.add(&skel.maps.ringbuf, |data: &[u8]| {
            print(data);
            0
        })?;
        let rb = builder.build().context("setting up the ring buffer")?;
        let _link = attach_execve()?;
        let (bss, mut reported) = (skel.maps.bss_data.as_deref().context("no .bss")?, 0);
        while !stop.requested() && done(&failed)? {
            rb.poll(every).or_else(interrupted)?;
            // SAFETY: an aligned u64 in the mmapped .bss that the BPF program updates.
            let lost = unsafe { std::ptr::read_volatile(&bss.ringbuf_lost) };
            if lost > reported {
                eprintln!("Possibly lost {} samples", lost - reported);
                reported = lost;
            }
        }
    }
    Ok(())
}

/// The ring buffer's size: at least 8 pages per CPU, as the book's perf buffer, rounded
/// up to the power of two the kernel requires.
fn ring_bytes() -> u32 {
    let cpus = libbpf_rs::num_possible_cpus().unwrap_or(1);
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    (PERF_PAGES * page * cpus).next_power_of_two() as u32
}

/// Ok(true) while stdout works; a write error (closed pipe included) ends the loop.
fn done(failed: &Cell<Option<std::io::Error>>) -> Result<bool> {
    match failed.take() {
        Some(e) => Err(e).context("writing to stdout"),
        None => Ok(true),
    }
}

/// A poll interrupted by a signal is not an error: the loop looks at `stop` next.
fn interrupted(e: libbpf_rs::Error) -> Result<()> {
    match e.kind() {
        libbpf_rs::ErrorKind::Interrupted => Ok(()),
        _ => Err(e).context("polling"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_book() {
        assert_eq!(std::mem::size_of::<data_t>(), 36);
        assert_eq!(std::mem::offset_of!(data_t, command), 8);
        assert_eq!(std::mem::offset_of!(data_t, message), 24);
    }

    #[test]
    fn ring_holds_at_least_the_perf_buffer() {
        let cpus = libbpf_rs::num_possible_cpus().unwrap();
        assert!(ring_bytes() as usize >= PERF_PAGES * 4096 * cpus);
        assert!(ring_bytes().is_power_of_two());
    }
}
