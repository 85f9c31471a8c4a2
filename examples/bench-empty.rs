//! `bench-empty` — loads an empty program on raw_tp/sys_enter (src/bpf/bench_empty.bpf.c)
//! and keeps it attached until SIGINT/SIGTERM. `make bench` measures the syscall cost
//! it adds, the floor hello-tail is compared with. Prints `ready` on stdout once attached.

use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use libbpf_rs::skel::{OpenSkel, SkelBuilder};

use lebpf::cli;
use lebpf::skel::bench_empty::BenchEmptySkelBuilder;

fn main() -> ExitCode {
    cli::run("bench-empty", run)
}

fn run() -> Result<()> {
    let stop = cli::prepare(false)?;
    let mut storage = MaybeUninit::uninit();
    let open = BenchEmptySkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    let skel = open.load().context("loading the BPF program")?;
    let _link = skel
        .progs
        .bench_empty
        .attach_raw_tracepoint("sys_enter")
        .context("attaching raw_tp/sys_enter")?;
    println!("ready");
    while stop.sleep(Duration::from_secs(3600)) {}
    Ok(())
}
