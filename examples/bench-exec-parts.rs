//! `bench-exec-parts` — loads execsnoop's kernel side cut after one of its steps
//! (src/bpf/bench_exec_parts.bpf.c) on raw_tp/sched_process_exec, drains the ring
//! buffer the way execsnoop does, and stays attached until SIGINT/SIGTERM. `make bench`
//! runs it once per step to show where the time per exec goes. Prints `ready` on stdout
//! once attached.

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::RingBufferBuilder;

use lebpf::cli;
use lebpf::skel::bench_exec_parts::BenchExecPartsSkelBuilder;

/// Run execsnoop's exec program up to one step (enum bench_part in the C file).
#[derive(Parser, Debug)]
struct Args {
    /// Last step run: 0 none, 1 setup, 2 header, 3 filenames, 4 args, 5 send without
    /// waking the reader, 6 send as execsnoop does.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=6))]
    upto: u32,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run("bench-exec-parts", || run(&args))
}

fn run(args: &Args) -> Result<()> {
    let stop = cli::prepare(false)?;
    let mut storage = MaybeUninit::uninit();
    let mut open = BenchExecPartsSkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    open.maps
        .rodata_data
        .as_deref_mut()
        .ok_or_else(|| anyhow!("BPF object has no .rodata"))?
        .bench_upto = args.upto;
    // As execsnoop sizes them (src/execsnoop/session.rs) in its default mode.
    let ncpu = libbpf_rs::num_possible_cpus().context("counting CPUs")? as u32;
    open.maps.exec_scratch.set_max_entries(ncpu.max(1))?;
    open.maps.exec_perf.set_autocreate(false)?;
    open.maps.exec_starts.set_max_entries(1)?;
    // Only the cut-down program: execsnoop's own ones come along with the object.
    for mut p in open.open_object_mut().progs_mut() {
        let ours = p.name() == "bench_exec_parts";
        p.set_autoload(ours);
    }
    let skel = open.load().context("loading the BPF program")?;
    let _link = skel
        .progs
        .bench_exec_parts
        .attach_raw_tracepoint("sched_process_exec")
        .context("attaching raw_tp/sched_process_exec")?;
    let seen = Cell::new(0u64);
    let mut builder = RingBufferBuilder::new();
    builder.add(&skel.maps.exec_ringbuf, |_: &[u8]| {
        seen.set(seen.get() + 1);
        0
    })?;
    let rb = builder.build()?;
    println!("ready");
    // execsnoop's loop: after a poll that found events, let more gather for 2 ms. With
    // step 5 the kernel never wakes us: the 10 ms timeout drains the ring instead.
    let mut last = 0;
    while !stop.requested() {
        if let Err(e) = rb.poll(Duration::from_millis(10)) {
            // SIGINT lands in the poll: the loop condition sees it.
            if e.kind() != libbpf_rs::ErrorKind::Interrupted {
                return Err(e).context("polling the ring buffer");
            }
        }
        let now = seen.get();
        if now != last {
            last = now;
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    Ok(())
}
