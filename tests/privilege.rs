//! Privilege: a non-root uid with exactly CAP_BPF + CAP_PERFMON (+ CAP_DAC_OVERRIDE to
//! read tracefs) runs the programs; with one of the two missing it gets one line naming
//! what is missing and exit 1.

#[path = "common/caps.rs"]
mod caps;
mod common;

use std::process::Command;
use std::time::Duration;

use caps::*;
use common::*;

#[test]
fn hello_runs_with_cap_bpf_and_cap_perfmon_only() {
    require_root();
    let mut cmd = Command::new(bin("hello"));
    cmd.args(["--attach", "tracepoint"]);
    with_caps(&mut cmd, 65534, &[CAP_BPF, CAP_PERFMON, CAP_DAC_OVERRIDE]);
    let mut p = Proc::spawn_cmd(&mut cmd);
    p.wait_stderr("attached to", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("did not attach with CAP_BPF+CAP_PERFMON: {:?}", p.stderr()));
    let mut line = None;
    for _ in 0..20 {
        run("/bin/true", &[]);
        line = p.wait_line(Duration::from_millis(500), |l| l.ends_with("Hello World!"));
        if line.is_some() {
            break;
        }
    }
    assert!(line.is_some(), "no trace line; stderr {:?}", p.stderr());
    let st = p
        .signal_and_wait(libc::SIGTERM, Duration::from_secs(2))
        .expect("exit");
    assert_eq!(st.code(), Some(0));
}

#[test]
fn cap_bpf_alone_is_refused_with_one_line() {
    require_root();
    let mut cmd = Command::new(bin("hello"));
    with_caps(&mut cmd, 65534, &[CAP_BPF, CAP_DAC_OVERRIDE]);
    let out = cmd.output().expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(out.stdout.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("without CAP_PERFMON"), "{err}");
}

/// Every program loads and attaches as uid 65534 holding only CAP_BPF, CAP_PERFMON and
/// CAP_DAC_OVERRIDE (tracefs files are root's, mode 0440/0640).
#[test]
fn every_program_attaches_with_cap_bpf_and_cap_perfmon() {
    require_root();
    for (name, args) in [
        ("hello-map", &[][..]),
        ("hello-map", &["--all-syscalls"][..]),
        ("hello-buffer", &[][..]),
        ("hello-buffer", &["--perf-buffer"][..]),
        ("hello-tail", &[][..]),
        ("hello-func", &[][..]),
        ("hello-buffer-config", &[][..]),
    ] {
        let mut cmd = Command::new(bin(name));
        cmd.args(args);
        with_caps(&mut cmd, 65534, &[CAP_BPF, CAP_PERFMON, CAP_DAC_OVERRIDE]);
        let mut p = Proc::spawn_cmd(&mut cmd);
        p.wait_stderr("attached to", Duration::from_secs(10))
            .unwrap_or_else(|| panic!("{name} {args:?} did not attach: {:?}", p.stderr()));
        let st = p
            .signal_and_wait(libc::SIGTERM, Duration::from_secs(2))
            .expect("exit");
        assert_eq!(st.code(), Some(0), "{name}: {:?}", p.stderr());
    }
}
