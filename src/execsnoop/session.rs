//! One execsnoop run: wires the parts together. Check the input, load the kernel side
//! ([`Tracer`]), set up the transport ([`EventPoller`]) with the [`Printer`] as its
//! callback, attach, poll until told to stop, then drain and report.

use std::cell::RefCell;
use std::io;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use super::args::Args;
use super::event::Limits;
use super::format::Columns;
use super::output::{FlushPolicy, Record, Sink, Style, Summary};
use super::printer::{Filter, Printer};
use super::tracer::{self, Config, Tracer};
use crate::cli;
use crate::events::{Choice, DropCounter, EventPoller};
use crate::shutdown::Shutdown;

const PROG: &str = "execsnoop";
/// How long one poll may block: bounds the delay to notice a signal, the end of
/// --duration or a closed stdout.
const POLL: Duration = Duration::from_millis(100);
/// While events keep coming: the pause between polls that lets them gather, and the
/// longest time between two flushes of the output (a steady trickle, e.g. one exec
/// every 2 ms, never goes idle; 100 ms here made the first line 100 ms late).
/// The first batch after a quiet spell is flushed at once.
const COALESCE: Duration = Duration::from_millis(2);
const FLUSH: FlushPolicy = FlushPolicy {
    every: Duration::from_millis(10),
};
/// How often the kernel counters are read to report drops as they happen.
const STATS_EVERY: Duration = Duration::from_millis(500);

/// True once stdout is a pipe whose reader went away (`execsnoop | head`): noticed
/// without writing, so the tracer ends promptly even when no exec happens.
fn stdout_closed() -> bool {
    let mut pfd = libc::pollfd {
        fd: 1,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, zero timeout.
    let rc = unsafe { libc::poll(&mut pfd, 1, 0) };
    rc > 0 && pfd.revents & (libc::POLLERR | libc::POLLHUP) != 0
}

fn printer_for(args: &Args) -> Printer {
    let style = if args.json {
        Style::json(args.paths)
    } else {
        Style::text(Columns {
            time: args.time,
            timestamp: args.timestamp,
            uid: args.print_uid,
            quote: args.quote,
            parent: args.print_parent,
            paths: args.paths,
        })
    };
    let limits = Limits {
        max_args: args.max_args as usize,
        arg_size: args.arg_size as usize,
    };
    let filter = Filter::new(args.name.as_deref(), args.line.as_deref());
    Printer::new(filter, style, Sink::stdout(FLUSH), limits)
}

/// Runs execsnoop with parsed arguments until a signal, --duration or a closed stdout.
pub fn run(args: Args) -> Result<()> {
    // Bad input first (exit 2), before the privilege check (exit 1).
    let cgroup = args
        .cgroup
        .as_deref()
        .map(tracer::open_cgroup)
        .transpose()?;
    let btf = tracer::kernel_btf(args.btf.as_deref())?;
    let stop = cli::prepare(args.verbose)?;

    let cfg = Config {
        btf: btf.as_ref(),
        uid: args.uid,
        ppid: args.ppid,
        paths: args.paths,
        cgroup: cgroup.as_ref(),
        fails: args.fails,
        transport: Choice::probe(args.perf_buffer),
        buffer_kib: args.buffer_kib,
        args_budget: args.capture_budget(),
        max_args: args.max_args,
        inflight_entries: args.inflight_entries,
    };
    let mut storage = MaybeUninit::uninit();
    let mut tracer = Tracer::load(&cfg, &mut storage)?;
    let printer = RefCell::new(printer_for(&args));
    let poller = tracer.poller(|data| {
        if printer.borrow_mut().handle(data) {
            Ok(())
        } else {
            // The sink keeps the write error; this only stops the poll.
            Err(anyhow!("stdout closed"))
        }
    })?;
    tracer.attach()?;
    eprintln!(
        "{PROG}: tracing exec() via {}; Ctrl-C to end",
        tracer.transport().via()
    );
    printer.borrow_mut().header();

    let deadline = args
        .duration
        .map(|s| Instant::now() + Duration::from_secs(s));
    let mut drops = Drops::default();
    let result = poll_loop(&poller, &tracer, &printer, &stop, deadline, &mut drops);

    // Detach first, so the final drain below has an end even under an exec storm.
    tracer.detach();
    // Print what is already in the buffer, unless stdout is gone.
    if !printer.borrow().sink.failed() && !stdout_closed() {
        poller.drain();
        printer.borrow_mut().sink.flush();
    }
    let k = tracer.stats();
    let lost = poller.total_lost(k.lost);
    drop(poller);
    let mut p = printer.into_inner();
    let summary = Summary {
        filtered: p.counts.filtered + k.filtered,
        lost,
        untracked: k.starts_full,
        no_scratch: k.no_scratch,
        ..p.counts
    };
    // Losses since the last report reach the JSON stream before the summary (stderr
    // has them in the summary line).
    drops.report(&mut p, summary.lost, summary.untracked, false);
    p.summary(&summary);
    eprintln!("{summary}");
    match p.sink.into_error() {
        Some(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Some(e) => return Err(anyhow::Error::from(e).context("writing to stdout")),
        None => {}
    }
    result
}

/// Drops reported so far: transport losses and untracked failed execs.
#[derive(Default)]
struct Drops {
    lost: DropCounter,
    untracked: DropCounter,
}

impl Drops {
    /// Reports increases as records in the JSON stream and, when `live`, on stderr.
    fn report(&mut self, p: &mut Printer, lost: u64, untracked: u64, live: bool) {
        if let Some(n) = self.lost.newly_lost(lost) {
            live.then(|| eprintln!(
                "{PROG}: lost {n} events (transport full; total {lost}); a larger --buffer-kib may help"
            ));
            p.record(Record::Lost(n));
        }
        if let Some(n) = self.untracked.newly_lost(untracked) {
            live.then(|| eprintln!(
                "{PROG}: {n} failed execs untracked (in-flight map full; total {untracked}); a larger --inflight-entries may help"
            ));
            p.record(Record::Untracked(n));
        }
    }
}

/// Polls and prints until a signal, the deadline, or a closed stdout.
fn poll_loop(
    poller: &EventPoller<'_>,
    tracer: &Tracer<'_>,
    printer: &RefCell<Printer>,
    stop: &Shutdown,
    deadline: Option<Instant>,
    drops: &mut Drops,
) -> Result<()> {
    let mut last_stats = Instant::now();
    let mut idle = true;
    loop {
        // A closed stdout is noticed by the next write when events flow; the poll(2)
        // on it is only needed when nothing was written (saves a syscall per wakeup).
        if stop.requested() || printer.borrow().sink.failed() || (idle && stdout_closed()) {
            return Ok(());
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(());
        }
        // With lines waiting for a flush, only look for more; else block.
        let timeout = if printer.borrow().sink.has_unflushed() {
            Duration::ZERO
        } else {
            deadline.map_or(POLL, |d| {
                d.saturating_duration_since(Instant::now()).min(POLL)
            })
        };
        let seen_before = printer.borrow().counts.events;
        if let Err(e) = poller.poll_once(timeout) {
            if printer.borrow().sink.failed() {
                return Ok(());
            }
            return Err(e);
        }
        let got = printer.borrow().counts.events != seen_before;
        idle = !got;
        {
            let mut p = printer.borrow_mut();
            p.sink.after_poll(got);
            p.tick();
        }
        if got {
            // Let events gather before the next poll: a ring buffer only wakes its
            // reader for the first record after it caught up, so one wakeup then
            // carries a batch. This cut the consumer's CPU per event about 4x and the
            // BPF program's time per exec from ~10 to ~2.5 us (docs/benchmarks.md),
            // for at most COALESCE of extra latency while events keep coming.
            std::thread::sleep(COALESCE);
        }
        if last_stats.elapsed() >= STATS_EVERY || poller.transport_lost() > drops.lost.total() {
            last_stats = Instant::now();
            let k = tracer.stats();
            drops.report(
                &mut printer.borrow_mut(),
                poller.total_lost(k.lost),
                k.starts_full,
                true,
            );
        }
    }
}
