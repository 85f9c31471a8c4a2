//! Teardown of every binary: SIGINT, SIGTERM and (for printers) a closed stdout end it
//! with exit 0 within a second, and kill -9 too leaves no BPF program, map or link.

#[path = "common/bpfobjs.rs"]
mod bpfobjs;
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bpfobjs::{leftovers_after, BpfObjects};
use common::*;

/// Each binary with arguments that make it run, and the stderr text that says it is up
/// and attached.
const BINARIES: &[(&str, &[&str], &str)] = &[("hello", &[], "attached to")];

/// Starts `name`, waits until it says it is attached, and returns it with the set of BPF
/// objects from before it started.
fn start(name: &str, args: &[&str], ready: &str) -> (Proc, BpfObjects) {
    let before = BpfObjects::now();
    let p = Proc::spawn(name, args);
    p.wait_stderr(ready, Duration::from_secs(15))
        .unwrap_or_else(|| panic!("{name} did not start: {:?}", p.stderr()));
    assert!(
        !BpfObjects::now().added_since(&before).progs.is_empty(),
        "{name} runs but no BPF program appeared"
    );
    (p, before)
}

fn assert_clean(name: &str, before: &BpfObjects) {
    let left = leftovers_after(before, Duration::from_secs(3));
    assert!(left.is_empty(), "{name} left BPF objects behind: {left:?}");
}

fn ends_on_signal(sig: i32) {
    require_root();
    for (name, args, ready) in BINARIES {
        let (mut p, before) = start(name, args, ready);
        let t0 = Instant::now();
        let st = p
            .signal_and_wait(sig, Duration::from_secs(1))
            .unwrap_or_else(|| panic!("{name} still running 1 s after signal {sig}"));
        assert_eq!(
            st.code(),
            Some(0),
            "{name} exit after signal {sig}; stderr {:?}",
            p.stderr()
        );
        assert!(t0.elapsed() < Duration::from_secs(1));
        assert_clean(name, &before);
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
        let (mut p, before) = start(name, args, ready);
        let st = p
            .signal_and_wait(libc::SIGKILL, Duration::from_secs(1))
            .expect("killed");
        assert_eq!(st.code(), None);
        assert_clean(name, &before);
    }
}

#[test]
fn closed_stdout_ends_printers_with_exit_0() {
    require_root();
    for (name, args, ready) in BINARIES {
        let before = BpfObjects::now();
        let mut child = Command::new(bin(name))
            .args(*args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let stderr = child.stderr.take().unwrap();
        let reader =
            std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
        // Wait until it is attached: an exec it reports must then hit the closed pipe.
        let t_start = Instant::now();
        while BpfObjects::now().added_since(&before).links.is_empty() {
            assert!(
                t_start.elapsed() < Duration::from_secs(15),
                "{name} never attached"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(child.stdout.take());
        let t0 = Instant::now();
        let status = loop {
            let _ = run("/bin/true", &[]);
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if t0.elapsed() > Duration::from_secs(1) {
                let _ = child.kill();
                panic!("{name} still running 1 s after its stdout closed (ready: {ready})");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let err = reader.join().unwrap();
        assert_eq!(status.code(), Some(0), "{name}: stderr {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert_clean(name, &before);
    }
}
