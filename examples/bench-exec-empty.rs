//! `bench-exec-empty` — loads an empty program on raw_tp/sched_process_exec
//! (src/bpf/bench_exec_empty.bpf.c), execsnoop's attach point, and keeps it attached
//! until SIGINT/SIGTERM. `make bench` measures the exec cost it adds, the floor
//! execsnoop is compared with. Prints `ready` on stdout once attached.

use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use libbpf_rs::skel::{OpenSkel, SkelBuilder};

use lebpf::cli;
use lebpf::skel::bench_exec_empty::BenchExecEmptySkelBuilder;

fn main() -> ExitCode {
    cli::run("bench-exec-empty", run)
}

fn run() -> Result<()> {
    let stop = cli::prepare(false)?;
    let mut storage = MaybeUninit::uninit();
    let open = BenchExecEmptySkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    let skel = open.load().context("loading the BPF program")?;
    let _link = skel
        .progs
        .bench_exec_empty
        .attach_raw_tracepoint("sched_process_exec")
        .context("attaching raw_tp/sched_process_exec")?;
    println!("ready");
    while stop.sleep(Duration::from_secs(3600)) {}
    Ok(())
}
