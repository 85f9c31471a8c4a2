//! `bench-getppid` — the syscall-cost probe of `make bench`: times a tight loop of raw
//! getppid() (or getpid()) syscalls and prints the nanoseconds per call of each round as JSON.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

/// Time a tight getppid() loop.
#[derive(Parser, Debug)]
struct Args {
    /// Syscalls per round.
    #[arg(long, default_value_t = 1_000_000)]
    iters: u64,
    /// The syscall to loop on: getppid, or getpid (to compare one hello-tail ignores).
    #[arg(long, default_value = "getppid", value_parser = ["getppid", "getpid"])]
    syscall: String,
    /// Rounds (one figure each).
    #[arg(long, default_value_t = 5)]
    rounds: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let nr = if args.syscall == "getpid" {
        libc::SYS_getpid
    } else {
        libc::SYS_getppid
    };
    let mut per_call = Vec::new();
    for _ in 0..args.rounds {
        let start = Instant::now();
        for _ in 0..args.iters {
            // SAFETY: getppid and getpid take no arguments and cannot fail. The raw syscall keeps
            // any libc caching out of the measurement.
            let r = unsafe { libc::syscall(std::hint::black_box(nr)) };
            std::hint::black_box(r);
        }
        per_call.push(start.elapsed().as_nanos() as f64 / args.iters.max(1) as f64);
    }
    let list: Vec<String> = per_call.iter().map(|n| format!("{n:.1}")).collect();
    println!("{{\"ns_per_call\": [{}]}}", list.join(", "));
    ExitCode::SUCCESS
}
