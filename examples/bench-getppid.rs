//! `bench-getppid` — the syscall-cost probe of `make bench`: times a tight loop of raw
//! getppid() syscalls and prints the nanoseconds per call of each round as JSON.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

/// Time a tight getppid() loop.
#[derive(Parser, Debug)]
struct Args {
    /// Syscalls per round.
    #[arg(long, default_value_t = 2_000_000)]
    iters: u64,
    /// Rounds (one figure each).
    #[arg(long, default_value_t = 5)]
    rounds: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut per_call = Vec::new();
    for _ in 0..args.rounds {
        let start = Instant::now();
        for _ in 0..args.iters {
            // SAFETY: getppid takes no arguments and cannot fail. The raw syscall keeps
            // any libc caching out of the measurement.
            let ppid = unsafe { libc::syscall(libc::SYS_getppid) };
            std::hint::black_box(ppid);
        }
        per_call.push(start.elapsed().as_nanos() as f64 / args.iters.max(1) as f64);
    }
    let list: Vec<String> = per_call.iter().map(|n| format!("{n:.1}")).collect();
    println!("{{\"ns_per_call\": [{}]}}", list.join(", "));
    ExitCode::SUCCESS
}
