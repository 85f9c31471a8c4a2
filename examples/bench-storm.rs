//! `bench-storm` — the exec workload of `make bench` (see bench/run.sh).
//!
//! Storm mode (`--count N`): N execs of PROG split over `--workers` threads, each
//! spawning (posix_spawn, i.e. clone(CLONE_VM|CLONE_VFORK) + execve) and reaping one
//! child after another as fast as the machine allows. Ticker mode (`--interval-ms`):
//! one exec every interval until SIGINT/SIGTERM or `--duration-s`.
//!
//! Prints one JSON line on stdout: execs that succeeded (exit status 0), failures,
//! wall seconds and execs per second.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStringExt;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use lebpf::shutdown::Shutdown;

/// Exec PROG as fast as possible from parallel workers, or at a fixed interval.
#[derive(Parser, Debug)]
#[command(verbatim_doc_comment)]
struct Args {
    /// Parallel spawner threads (storm mode).
    #[arg(long, default_value_t = 2)]
    workers: u64,
    /// Total execs (storm mode).
    #[arg(long, conflicts_with = "interval_ms")]
    count: Option<u64>,
    /// One exec every this many milliseconds until stopped (ticker mode).
    #[arg(long)]
    interval_ms: Option<u64>,
    /// Stop the ticker after this many seconds.
    #[arg(long)]
    duration_s: Option<f64>,
    /// Program path, then its arguments (argv[0] is the path).
    #[arg(required = true, last = true)]
    command: Vec<OsString>,
}

/// A NULL-terminated argv for posix_spawn; owns the strings it points into.
struct Argv {
    _strings: Vec<CString>,
    ptrs: Vec<*mut libc::c_char>,
}

// The pointers only point into `_strings`, which is never mutated.
unsafe impl Send for Argv {}
unsafe impl Sync for Argv {}

impl Argv {
    fn new(words: &[OsString]) -> Result<Self> {
        let strings = words
            .iter()
            .map(|w| CString::new(w.clone().into_vec()).context("NUL byte in an argument"))
            .collect::<Result<Vec<_>>>()?;
        let mut ptrs: Vec<*mut libc::c_char> =
            strings.iter().map(|s| s.as_ptr() as *mut _).collect();
        ptrs.push(std::ptr::null_mut());
        Ok(Self {
            _strings: strings,
            ptrs,
        })
    }
}

/// Spawns argv and waits for it. Ok(true) when it exited 0.
fn spawn_wait(argv: &Argv) -> Result<bool> {
    let envp: [*mut libc::c_char; 1] = [std::ptr::null_mut()];
    let mut pid: libc::pid_t = 0;
    // SAFETY: argv and envp are NULL-terminated arrays of valid C strings that outlive
    // the call; null file actions and attributes are allowed.
    let rc = unsafe {
        libc::posix_spawn(
            &mut pid,
            argv.ptrs[0],
            std::ptr::null(),
            std::ptr::null(),
            argv.ptrs.as_ptr(),
            envp.as_ptr(),
        )
    };
    if rc != 0 {
        bail!("posix_spawn: {}", std::io::Error::from_raw_os_error(rc));
    }
    let mut status = 0;
    loop {
        // SAFETY: pid is our child; status is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            bail!("waitpid: {err}");
        }
    }
    Ok(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0)
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-storm: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    let argv = Arc::new(Argv::new(&args.command)?);
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    match (args.count, args.interval_ms) {
        (Some(count), None) => {
            let workers = args.workers.max(1);
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    // Worker w does its share; the first ones take the remainder.
                    let share = count / workers + u64::from(w < count % workers);
                    let (argv, ok, failed) = (argv.clone(), ok.clone(), failed.clone());
                    std::thread::spawn(move || -> Result<()> {
                        for _ in 0..share {
                            if spawn_wait(&argv)? {
                                ok.fetch_add(1, Ordering::Relaxed);
                            } else {
                                failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("worker panicked")?;
            }
        }
        (None, Some(ms)) => {
            let stop = Shutdown::install()?;
            let end = args
                .duration_s
                .map(|s| start + Duration::from_secs_f64(s.max(0.0)));
            let interval = Duration::from_millis(ms);
            let mut next = Instant::now();
            while !stop.requested() && end.is_none_or(|e| Instant::now() < e) {
                if spawn_wait(&argv)? {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                next += interval;
                let now = Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
        }
        _ => bail!("give exactly one of --count and --interval-ms"),
    }
    let secs = start.elapsed().as_secs_f64();
    let execs = ok.load(Ordering::Relaxed);
    // CPU of the workload itself (spawners + the exec'd children): where the kernel-side
    // cost of a tracer's BPF programs lands, and less sensitive than wall time to
    // whatever else the machine runs.
    let cpu = cpu_seconds(libc::RUSAGE_SELF) + cpu_seconds(libc::RUSAGE_CHILDREN);
    println!(
        "{{\"execs\": {execs}, \"failed\": {}, \"seconds\": {secs:.6}, \"per_second\": {:.1}, \"cpu_seconds\": {cpu:.6}}}",
        failed.load(Ordering::Relaxed),
        execs as f64 / secs.max(1e-9)
    );
    Ok(())
}

/// User + system CPU seconds from getrusage.
fn cpu_seconds(who: libc::c_int) -> f64 {
    // SAFETY: an all-zero rusage is valid; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}
