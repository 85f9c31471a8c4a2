//! One execsnoop run: load and attach the BPF side, poll the transport, print, report.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, TracepointCategory};

use super::args::Args;
use super::event::{ExecEvent, Limits};
use super::format::{self, Columns, Times};
use crate::cli;
use crate::events::EventPoller;
use crate::skel::execsnoop::types::execsnoop_stat;
use crate::skel::execsnoop::{ExecsnoopSkel, ExecsnoopSkelBuilder};

const PROG: &str = "execsnoop";
/// How long one poll may block: bounds the delay to notice a signal, the end of
/// --duration or a closed stdout.
const POLL: Duration = Duration::from_millis(100);
/// While events keep coming: the pause between polls that lets them gather, and the
/// longest time between two flushes of the output (a steady trickle, e.g. one exec
/// every 2 ms, never goes idle; 100 ms here made the first line 100 ms late).
/// The first batch after a quiet spell is flushed at once.
const COALESCE: Duration = Duration::from_millis(2);
const FLUSH_EVERY: Duration = Duration::from_millis(10);
/// How often the kernel counters are read to report drops as they happen.
const STATS_EVERY: Duration = Duration::from_millis(500);
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a local timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// Opens and checks a `-c` directory: it must exist and be on cgroup v2.
fn open_cgroup(path: &Path) -> Result<File> {
    let f = File::open(path)
        .map_err(|e| cli::usage_error(format!("cgroup {}: {e}", path.display())))?;
    // SAFETY: statfs is plain old data; all-zero is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and pointer to a local statfs.
    let rc = unsafe { libc::fstatfs(f.as_raw_fd(), &mut st) };
    let is_dir = f.metadata().is_ok_and(|m| m.is_dir());
    if rc != 0 || st.f_type as i64 != CGROUP2_SUPER_MAGIC || !is_dir {
        return Err(cli::usage_error(format!(
            "cgroup {}: not a cgroup v2 directory",
            path.display()
        )));
    }
    Ok(f)
}

/// The BTF CO-RE relocates against: `--btf FILE` (checked to exist: exit 2 if not), or
/// the kernel's own, whose absence is one clear error instead of libbpf's relocation
/// noise. None means libbpf's default (the kernel's).
fn kernel_btf(custom: Option<&Path>) -> Result<Option<std::ffi::CString>> {
    match custom {
        Some(p) if !p.is_file() => Err(cli::usage_error(format!(
            "--btf {}: no such file",
            p.display()
        ))),
        Some(p) => {
            let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes())
                .map_err(|_| cli::usage_error("--btf: path contains a NUL byte"))?;
            Ok(Some(c))
        }
        None => {
            crate::btf::check_kernel("execsnoop", ", or --btf FILE with BTF made for this kernel")?;
            Ok(None)
        }
    }
}

/// True when the kernel (release string as `uname -r` prints it) has the BPF memory
/// allocator (6.1+), which makes run-time allocated hash maps safe in tracing programs.
/// An unparsable release counts as old (preallocating is always safe).
fn runtime_alloc_is_safe(release: &str) -> bool {
    let mut nums = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().ok());
    match (nums.next().flatten(), nums.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (6, 1),
        _ => false,
    }
}

/// Kernel-side counters, summed over CPUs.
#[derive(Debug, Default, Clone, Copy)]
struct KernelStats {
    lost: u64,
    starts_full: u64,
    no_scratch: u64,
    filtered: u64,
}

fn read_stats(skel: &ExecsnoopSkel<'_>) -> KernelStats {
    let get = |slot: execsnoop_stat| -> u64 {
        let key = slot.0.to_ne_bytes();
        match skel.maps.exec_stats.lookup_percpu(&key, MapFlags::ANY) {
            Ok(Some(vals)) => vals
                .iter()
                .filter_map(|v| {
                    v.get(..8)
                        .map(|b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])))
                })
                .sum(),
            _ => 0,
        }
    };
    KernelStats {
        lost: get(execsnoop_stat::EXECSNOOP_STAT_LOST),
        starts_full: get(execsnoop_stat::EXECSNOOP_STAT_STARTS_FULL),
        no_scratch: get(execsnoop_stat::EXECSNOOP_STAT_NO_SCRATCH),
        filtered: get(execsnoop_stat::EXECSNOOP_STAT_FILTERED),
    }
}

/// Turns samples into lines. Owns stdout's buffer; errors are kept for the poll loop
/// (the transport callbacks cannot return them).
struct Printer {
    out: BufWriter<io::Stdout>,
    json: bool,
    cols: Columns,
    limits: Limits,
    name: Option<Vec<u8>>,
    line_filter: Option<Vec<u8>>,
    mono_start_ns: i128,
    realtime_offset_ns: i128,
    line: String,
    hms: String,
    hms_sec: i64,
    rfc: String,
    joined: Vec<u8>,
    error: Option<io::Error>,
    decode_errors: u64,
    seen: u64,
    printed: u64,
    filtered: u64,
    truncated: u64,
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

impl Printer {
    fn local_hms(&mut self, unix_sec: i64) -> &str {
        if unix_sec != self.hms_sec || self.hms.is_empty() {
            // The type is time_t, inferred: naming libc::time_t warns on musl (deprecated
            // there while the libc crate moves it to 64 bits; it is 64 bits on every
            // 64-bit target already).
            let t = unix_sec as _;
            // SAFETY: tm is plain old data; all-zero is a valid value.
            let mut tm: libc::tm = unsafe { std::mem::zeroed() };
            // SAFETY: valid pointers to locals; localtime_r is thread-safe.
            unsafe { libc::localtime_r(&t, &mut tm) };
            self.hms = format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
            self.hms_sec = unix_sec;
        }
        &self.hms
    }

    /// Handles one sample; returns false once output is impossible (stdout closed).
    fn handle(&mut self, data: &[u8]) -> bool {
        if self.error.is_some() {
            return false;
        }
        let e = match ExecEvent::parse(data) {
            Ok(e) => e,
            Err(err) => {
                self.decode_errors += 1;
                if self.decode_errors == 1 {
                    eprintln!("{PROG}: {err} (further ones counted in the summary)");
                }
                return true;
            }
        };
        self.seen += 1;
        if let Some(n) = &self.name {
            if !contains(e.comm, n) {
                self.filtered += 1;
                return true;
            }
        }
        if let Some(l) = &self.line_filter {
            self.joined.clear();
            for (i, a) in e.captured_args().skip(1).enumerate() {
                if i > 0 {
                    self.joined.push(b' ');
                }
                self.joined.extend_from_slice(a);
            }
            if !contains(&self.joined, l) {
                self.filtered += 1;
                return true;
            }
        }
        let mut args = Vec::with_capacity(8);
        let t = e.select_args(self.limits, &mut args);
        if t.any() {
            self.truncated += 1;
        }
        let unix_ns = i128::from(e.ts_ns) + self.realtime_offset_ns;
        let mut line = std::mem::take(&mut self.line);
        if self.json {
            let mut rfc = std::mem::take(&mut self.rfc);
            format::rfc3339_utc(unix_ns, &mut rfc);
            let times = Times {
                rfc3339: &rfc,
                ..Default::default()
            };
            format::json_line(&e, &args, &t, &times, &mut line);
            self.rfc = rfc;
        } else {
            let since_start = (i128::from(e.ts_ns) - self.mono_start_ns) as f64 / 1e9;
            let hms = if self.cols.time {
                self.local_hms(unix_ns.div_euclid(1_000_000_000) as i64)
                    .to_string()
            } else {
                String::new()
            };
            let times = Times {
                hms: &hms,
                since_start: since_start.max(0.0),
                rfc3339: "",
            };
            format::text_line(&e, &args, &t, self.cols, &times, &mut line);
        }
        line.push('\n');
        let r = self.out.write_all(line.as_bytes());
        self.line = line;
        match r {
            Ok(()) => {
                self.printed += 1;
                true
            }
            Err(err) => {
                self.error = Some(err);
                false
            }
        }
    }

    fn flush(&mut self) {
        if self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
    }
}

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

/// Runs execsnoop with parsed arguments until a signal, --duration or a closed stdout.
pub fn run(args: Args) -> Result<()> {
    // Bad input first (exit 2), before the privilege check (exit 1).
    let cgroup = args.cgroup.as_deref().map(open_cgroup).transpose()?;
    let name = args.name.as_ref().map(|s| s.as_bytes().to_vec());
    let line_filter = args.line.as_ref().map(|s| s.as_bytes().to_vec());

    let btf = kernel_btf(args.btf.as_deref())?;

    let mono_start_ns = clock_ns(libc::CLOCK_MONOTONIC);
    let realtime_offset_ns = clock_ns(libc::CLOCK_REALTIME) - mono_start_ns;
    let stop = cli::prepare(args.verbose)?;

    let use_perf = args.perf_buffer || !crate::events::ring_buffer_supported();
    let mut storage = MaybeUninit::uninit();
    let mut open = match &btf {
        None => ExecsnoopSkelBuilder::default().open(&mut storage),
        Some(path) => {
            // SAFETY: bpf_object_open_opts is plain data; all-zero is its default.
            let mut opts: libbpf_sys::bpf_object_open_opts = unsafe { std::mem::zeroed() };
            opts.sz = std::mem::size_of::<libbpf_sys::bpf_object_open_opts>() as _;
            // libbpf copies the path during open.
            opts.btf_custom_path = path.as_ptr();
            ExecsnoopSkelBuilder::default().open_opts(opts, &mut storage)
        }
    }
    .context("opening the BPF object")?;
    {
        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .ok_or_else(|| anyhow!("BPF object has no .rodata"))?;
        ro.targ_uid = args.uid.unwrap_or(u32::MAX);
        ro.filter_cgroup = cgroup.is_some();
        ro.trace_failures = args.fails;
        ro.use_ringbuf = !use_perf;
        ro.args_budget = args.capture_budget();
        ro.max_args = args.max_args;
    }
    let ncpu = libbpf_rs::num_possible_cpus().context("counting CPUs")? as u32;
    open.maps
        .exec_scratch
        .set_max_entries(ncpu.max(1))
        .context("sizing the scratch map")?;
    if use_perf {
        open.maps.exec_ringbuf.set_autocreate(false)?;
    } else {
        open.maps.exec_perf.set_autocreate(false)?;
        let kib = args.buffer_kib.unwrap_or(1024);
        open.maps.exec_ringbuf.set_max_entries(kib * 1024)?;
    }
    // The in-flight map only serves -x; without it, one entry (the map must exist).
    open.maps
        .exec_starts
        .set_max_entries(if args.fails { args.inflight_entries } else { 1 })
        .context("sizing the in-flight map")?;
    // Before 6.1 (no BPF memory allocator) a tracing program that allocates hash map
    // entries at run time is unsafe: 5.10's verifier warns so in the kernel log
    // (WARN_ONCE, seen in the kernel matrix). Preallocate there.
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    if !runtime_alloc_is_safe(&release) {
        let flags = open.maps.exec_starts.map_flags() & !libbpf_rs::libbpf_sys::BPF_F_NO_PREALLOC;
        open.maps
            .exec_starts
            .set_map_flags(flags)
            .context("preallocating the in-flight map")?;
    }
    // Failures need the syscall tracepoints; without -x they are not even loaded.
    for p in [
        &mut open.progs.execsnoop_enter_execve,
        &mut open.progs.execsnoop_enter_execveat,
        &mut open.progs.execsnoop_exit,
        &mut open.progs.execsnoop_thread_exit,
    ] {
        p.set_autoload(args.fails);
    }
    let skel = open.load().map_err(|e| match &args.btf {
        Some(p) => anyhow!(
            "loading the BPF programs with the BTF of {}: {e}",
            p.display()
        ),
        None => anyhow!("loading the BPF programs: {e}"),
    })?;
    if let Some(cg) = &cgroup {
        let fd = cg.as_raw_fd() as u32;
        skel.maps
            .exec_cgroup
            .update(&0u32.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
            .context("setting the cgroup filter")?;
    }

    let mut links: Vec<Link> = Vec::new();
    // Syscall tracepoints first: a failure seen at exit needs its entry.
    if args.fails {
        let tp = crate::attach::tracepoint;
        let pr = &skel.progs;
        links.push(tp(
            &pr.execsnoop_enter_execve,
            TracepointCategory::Syscalls,
            "sys_enter_execve",
        )?);
        links.push(tp(
            &pr.execsnoop_enter_execveat,
            TracepointCategory::Syscalls,
            "sys_enter_execveat",
        )?);
        links.push(tp(
            &pr.execsnoop_exit,
            TracepointCategory::Syscalls,
            "sys_exit_execve",
        )?);
        links.push(tp(
            &pr.execsnoop_exit,
            TracepointCategory::Syscalls,
            "sys_exit_execveat",
        )?);
        links.push(tp(
            &pr.execsnoop_thread_exit,
            TracepointCategory::Sched,
            "sched_process_exit",
        )?);
    }
    links.push(
        skel.progs
            .execsnoop_exec
            .attach_raw_tracepoint("sched_process_exec")
            .context("attaching to raw tracepoint sched_process_exec")?,
    );

    let printer = RefCell::new(Printer {
        out: BufWriter::with_capacity(64 * 1024, io::stdout()),
        json: args.json,
        cols: Columns {
            time: args.time,
            timestamp: args.timestamp,
            uid: args.print_uid,
            quote: args.quote,
        },
        limits: Limits {
            max_args: args.max_args as usize,
            arg_size: args.arg_size as usize,
        },
        name,
        line_filter,
        mono_start_ns,
        realtime_offset_ns,
        line: String::with_capacity(512),
        hms: String::new(),
        hms_sec: 0,
        rfc: String::new(),
        joined: Vec::new(),
        error: None,
        decode_errors: 0,
        seen: 0,
        printed: 0,
        filtered: 0,
        truncated: 0,
    });
    let perf_lost = std::cell::Cell::new(0u64);
    let perf_batch: RefCell<Vec<Vec<u8>>> = RefCell::new(Vec::new());
    let release_perf_batch = || {
        let mut batch = perf_batch.borrow_mut();
        // ts_ns is the first field of every event; a stable sort keeps equal times
        // in arrival order.
        batch.sort_by_key(|d| {
            d.get(..8)
                .map_or(0, |b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])))
        });
        let mut p = printer.borrow_mut();
        for d in batch.drain(..) {
            if !p.handle(&d) {
                break;
            }
        }
    };
    let transport = if use_perf {
        let kib = args.buffer_kib.unwrap_or(256) as usize;
        EventPoller::perf_buffer(
            &skel.maps.exec_perf,
            (kib * 1024 / 4096).max(1).next_power_of_two(),
            |data| {
                // Per-CPU buffers are read one CPU after the other: keep the batch
                // and print it in kernel time order (see release_perf_batch).
                perf_batch.borrow_mut().push(data.to_vec());
                Ok(())
            },
            |n| {
                perf_lost.set(perf_lost.get() + n);
                Ok(())
            },
        )?
    } else {
        EventPoller::ring_buffer(&skel.maps.exec_ringbuf, |data| {
            if printer.borrow_mut().handle(data) {
                Ok(())
            } else {
                // The printer keeps the write error; this only stops the poll.
                Err(anyhow!("stdout closed"))
            }
        })?
    };

    let via = match (use_perf, args.perf_buffer) {
        (false, _) => "ring buffer",
        (true, true) => "perf buffer",
        (true, false) => "perf buffer (this kernel has no ring buffer)",
    };
    eprintln!("{PROG}: tracing exec() via {via}; Ctrl-C to end");
    if !args.json {
        let mut p = printer.borrow_mut();
        let h = format::header(p.cols);
        let r = writeln!(p.out, "{h}").and_then(|_| p.out.flush());
        if let Err(e) = r {
            p.error = Some(e);
        }
    }

    let started = Instant::now();
    let deadline = args.duration.map(|s| started + Duration::from_secs(s));
    let mut last_stats = Instant::now();
    let mut last_flush = Instant::now();
    let mut reported_lost = 0u64;
    let mut reported_full = 0u64;
    let mut result = Ok(());
    // Lines written since the last flush.
    let mut unflushed = false;
    let mut idle = true;
    loop {
        // A closed stdout is noticed by the next write when events flow; the poll(2)
        // on it is only needed when nothing was written (saves a syscall per wakeup).
        if stop.requested() || printer.borrow().error.is_some() || (idle && stdout_closed()) {
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        // With lines waiting for a flush, only look for more; else block.
        let timeout = if unflushed {
            Duration::ZERO
        } else {
            deadline.map_or(POLL, |d| {
                d.saturating_duration_since(Instant::now()).min(POLL)
            })
        };
        let seen_before = printer.borrow().seen;
        if let Err(e) = transport.poll_once(timeout) {
            if printer.borrow().error.is_some() {
                break;
            }
            result = Err(e);
            break;
        }
        release_perf_batch();
        let got = printer.borrow().seen != seen_before;
        idle = !got;
        if got {
            unflushed = true;
            if last_flush.elapsed() >= FLUSH_EVERY {
                printer.borrow_mut().flush();
                (unflushed, last_flush) = (false, Instant::now());
            }
            // Let events gather before the next poll: a ring buffer only wakes its
            // reader for the first record after it caught up, so one wakeup then
            // carries a batch. This cut the consumer's CPU per event about 4x and the
            // BPF program's time per exec from ~10 to ~2.5 us (docs/benchmarks.md),
            // for at most COALESCE of extra latency while events keep coming.
            std::thread::sleep(COALESCE);
        } else if unflushed {
            // The burst is over: print now.
            printer.borrow_mut().flush();
            (unflushed, last_flush) = (false, Instant::now());
        }
        if last_stats.elapsed() >= STATS_EVERY || perf_lost.get() > reported_lost {
            last_stats = Instant::now();
            let k = read_stats(&skel);
            let lost = k.lost.max(perf_lost.get());
            if lost > reported_lost {
                eprintln!(
                    "{PROG}: lost {} events (transport full; total {lost}); a larger --buffer-kib may help",
                    lost - reported_lost
                );
                reported_lost = lost;
            }
            if k.starts_full > reported_full {
                eprintln!(
                    "{PROG}: {} failed execs untracked (in-flight map full; total {}); a larger --inflight-entries may help",
                    k.starts_full - reported_full,
                    k.starts_full
                );
                reported_full = k.starts_full;
            }
        }
    }
    // Detach first, so the final drain below has an end even under an exec storm.
    drop(links);
    // Print what is already in the buffer, unless stdout is gone.
    if printer.borrow().error.is_none() && !stdout_closed() {
        transport.drain();
        release_perf_batch();
        printer.borrow_mut().flush();
    }
    drop(transport);
    let k = read_stats(&skel);
    let p = printer.into_inner();
    let lost = k.lost.max(perf_lost.get());
    let mut summary = format!(
        "{PROG}: {} events, {} printed, {} filtered, {lost} lost, {} truncated",
        p.seen,
        p.printed,
        p.filtered + k.filtered,
        p.truncated
    );
    if k.starts_full > 0 {
        summary.push_str(&format!(
            ", {} failed execs untracked (in-flight map full)",
            k.starts_full
        ));
    }
    if k.no_scratch > 0 {
        summary.push_str(&format!(", {} events without scratch space", k.no_scratch));
    }
    if p.decode_errors > 0 {
        summary.push_str(&format!(", {} malformed", p.decode_errors));
    }
    eprintln!("{summary}");
    match p.error {
        Some(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Some(e) => return Err(anyhow::Error::from(e).context("writing to stdout")),
        None => {}
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_filter() {
        assert!(contains(b"a --force b", b"--force"));
        assert!(!contains(b"a --forc", b"--force"));
        assert!(contains(b"anything", b""));
        assert!(!contains(b"", b"x"));
    }

    #[test]
    fn runtime_allocation_is_safe_from_6_1() {
        assert!(!runtime_alloc_is_safe("5.10.0-46-amd64"));
        assert!(!runtime_alloc_is_safe("6.0.19"));
        assert!(runtime_alloc_is_safe("6.1.0-56-amd64"));
        assert!(runtime_alloc_is_safe("6.12.118+deb13-amd64"));
        assert!(runtime_alloc_is_safe("6.18.44-fc-v782"));
        assert!(runtime_alloc_is_safe("7.0"));
        assert!(!runtime_alloc_is_safe(""));
        assert!(!runtime_alloc_is_safe("garbage"));
    }
}
