//! Teardown of every binary: SIGINT, SIGTERM and (for printers) a closed stdout end it
//! with exit 0 within a second, and kill -9 too leaves no BPF program, map or link.

#[path = "common/bpfobjs.rs"]
mod bpfobjs;
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bpfobjs::{owned_by, still_there_after, BpfObjects};
use common::*;

/// Each binary with arguments that make it run, and the stderr text that says it is up
/// and attached.
const BINARIES: &[(&str, &[&str], &str)] = &[
    ("hello", &[], "attached to"),
    ("hello-map", &[], "attached to"),
    ("hello-map", &["--all-syscalls"], "attached to"),
    ("hello-buffer", &[], "attached to"),
    ("hello-buffer", &["--perf-buffer"], "attached to"),
    ("hello-tail", &[], "attached to"),
    ("hello-func", &[], "attached to"),
    ("hello-buffer-config", &[], "attached to"),
    ("execsnoop", &[], "tracing exec()"),
    ("execsnoop", &["-x", "--json"], "tracing exec()"),
    ("execsnoop", &["--perf-buffer"], "tracing exec()"),
];

/// How long a program may take to notice its stdout closed: printers write on each
/// event (an exec the test makes), hello-map only on its 2-second tick. Scaled in the
/// emulated VMs (see [`slack`]).
fn pipe_close_limit(name: &str) -> Duration {
    if name == "hello-map" {
        Duration::from_millis(2500) * slack()
    } else {
        Duration::from_secs(1) * slack()
    }
}

/// How long a program may take to end after a signal.
fn signal_limit() -> Duration {
    Duration::from_secs(1) * slack()
}

/// The limits above are what a quiet machine shows (README, Guarantees: "within 1 s").
/// They are not timings: detaching a tracepoint waits for an RCU grace period, which a
/// loaded machine stretches (seen: over 1 s on a busy CI host), so the tests allow 3
/// times as long on the host, and 10 times in the kernel-matrix guests (software
/// emulation on a shared host, where one guest second can take several). What they
/// catch is a program that does not end on the signal or closed pipe, ends with
/// another status, or leaves BPF objects behind.
fn slack() -> u32 {
    if std::env::var_os("LEBPF_VMTEST").is_some() {
        10
    } else {
        3
    }
}

/// Starts `name`, waits until it says it is attached, and returns it with the BPF
/// objects it holds (its own, whatever else runs on the machine).
fn start(name: &str, args: &[&str], ready: &str) -> (Proc, BpfObjects) {
    let p = Proc::spawn(name, args);
    p.wait_stderr(ready, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("{name} did not start: {:?}", p.stderr()));
    // Links are not asserted: before 5.15 a tracepoint or kprobe attachment is a
    // perf event fd, not a bpf_link.
    let owned = owned_by(p.pid());
    assert!(
        !owned.progs.is_empty() && !owned.maps.is_empty(),
        "{name} runs but holds no BPF program or map: {owned:?}"
    );
    (p, owned)
}

fn assert_clean(name: &str, owned: &BpfObjects) {
    let left = still_there_after(owned, Duration::from_secs(3));
    assert!(left.is_empty(), "{name} left BPF objects behind: {left:?}");
}

fn ends_on_signal(sig: i32) {
    require_root();
    for (name, args, ready) in BINARIES {
        let (mut p, owned) = start(name, args, ready);
        let t0 = Instant::now();
        let st = p.signal_and_wait(sig, signal_limit()).unwrap_or_else(|| {
            panic!(
                "{name} still running {:?} after signal {sig}",
                signal_limit()
            )
        });
        assert_eq!(
            st.code(),
            Some(0),
            "{name} exit after signal {sig}; stderr {:?}",
            p.stderr()
        );
        assert!(t0.elapsed() < signal_limit());
        assert_clean(name, &owned);
    }
}

#[test]
fn sigint_exits_0_and_detaches_everything() {
    ends_on_signal(libc::SIGINT);
}

#[test]
fn sigterm_exits_0_and_detaches_everything() {
    ends_on_signal(libc::SIGTERM);
}

#[test]
fn kill_9_leaves_nothing_behind() {
    require_root();
    for (name, args, ready) in BINARIES {
        let (mut p, owned) = start(name, args, ready);
        let st = p
            .signal_and_wait(libc::SIGKILL, signal_limit())
            .expect("killed");
        assert_eq!(st.code(), None);
        assert_clean(name, &owned);
    }
}

#[test]
fn closed_stdout_ends_printers_with_exit_0() {
    require_root();
    for (name, args, ready) in BINARIES {
        let mut child = Command::new(bin(name))
            .args(*args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        // Wait until it says it is attached: an exec it reports must then hit the
        // closed pipe.
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let ready_line = ready.to_string();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in
                std::io::BufRead::lines(std::io::BufReader::new(stderr)).map_while(Result::ok)
            {
                if line.contains(&ready_line) {
                    let _ = tx.send(());
                }
                all.push_str(&line);
                all.push('\n');
            }
            all
        });
        if rx.recv_timeout(Duration::from_secs(15)).is_err() {
            let _ = child.kill();
            panic!("{name} never attached: {}", reader.join().unwrap());
        }
        let owned = owned_by(child.id() as i32);
        drop(child.stdout.take());
        let t0 = Instant::now();
        let status = loop {
            let _ = run("/bin/true", &[]);
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if t0.elapsed() > pipe_close_limit(name) {
                let _ = child.kill();
                panic!(
                    "{name} {args:?} still running {:?} after its stdout closed (ready: {ready})",
                    pipe_close_limit(name)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let err = reader.join().unwrap();
        assert_eq!(status.code(), Some(0), "{name}: stderr {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_clean(name, &owned);
    }
}
