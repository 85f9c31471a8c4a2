//! `hello`: loads, attaches, and prints a Hello World! line for execs the test makes.

mod common;

use std::time::Duration;

use common::*;

fn hello_lines_for(mode: &str) {
    require_root();
    let mut p = Proc::spawn("hello", &["--attach", mode]);
    let attached = p
        .wait_stderr("attached to", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no attach line; stderr: {:?}", p.stderr()));
    if mode == "tracepoint" {
        assert!(
            attached.contains("tracepoint syscalls/sys_enter_execve"),
            "{attached}"
        );
    } else {
        assert!(attached.contains("kprobe (ksyscall/execve)"), "{attached}");
    }
    // The child that calls execve is on the line (trace lines can be dropped on a
    // busy machine: try a few children).
    let mut found = None;
    for _ in 0..20 {
        let pid = exec_true(None);
        found = p.wait_line(Duration::from_millis(500), |l| {
            lebpf::tracepipe::parse_line(l)
                .is_some_and(|t| t.pid == pid && t.message == "Hello World!")
        });
        if found.is_some() {
            break;
        }
    }
    found.unwrap_or_else(|| {
        panic!(
            "no Hello World! line from our child; stderr: {:?}",
            p.stderr()
        )
    });
    let st = p
        .signal_and_wait(libc::SIGTERM, Duration::from_secs(2))
        .expect("exit after SIGTERM");
    assert_eq!(st.code(), Some(0), "stderr: {:?}", p.stderr());
}

#[test]
fn hello_tracepoint_prints_hello_world() {
    hello_lines_for("tracepoint");
}

#[test]
fn hello_kprobe_prints_hello_world() {
    require_root();
    if !kprobes_available() {
        skip("kernel has no kprobes (CONFIG_KPROBES off)");
        return;
    }
    hello_lines_for("kprobe");
}

#[test]
fn hello_auto_says_which_attach_point() {
    require_root();
    let p = Proc::spawn("hello", &[]);
    let line = p
        .wait_stderr("attached to", Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no attach line; stderr: {:?}", p.stderr()));
    if kprobes_available() {
        // Exactly the kprobe line: the fallback line mentions kprobes too.
        assert_eq!(line, "hello: attached to kprobe (ksyscall/execve)");
    } else {
        assert_eq!(
            line,
            "hello: kernel has no kprobes; attached to tracepoint syscalls/sys_enter_execve instead"
        );
    }
}

#[test]
fn hello_without_privilege_says_so_and_exits_1() {
    require_root();
    let (code, out, err) = run_unprivileged("hello", &[]);
    assert_eq!(code, Some(1));
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("hello: needs root, or the capabilities CAP_BPF and CAP_PERFMON"),
        "{err}"
    );
}

#[test]
fn hello_with_trace_pipe_busy_says_so_in_one_line() {
    require_root();
    let dir = lebpf::tracefs::ensure().expect("tracefs");
    let _held = std::fs::File::open(dir.join("trace_pipe")).expect("open trace_pipe");
    let mut p = Proc::spawn("hello", &["--attach", "tracepoint"]);
    let Some(st) = p.wait_timeout(Duration::from_secs(10)) else {
        assert!(
            p.wait_stderr("attached to", Duration::ZERO).is_some(),
            "{:?}",
            p.stderr()
        );
        skip("this kernel lets several processes read trace_pipe");
        return;
    };
    let err = p.stderr();
    assert_eq!(st.code(), Some(1), "{err:?}");
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(err[0].starts_with("hello: /sys/kernel/"), "{err:?}");
    assert!(
        err[0].contains("trace_pipe is busy: another program is reading it"),
        "{err:?}"
    );
}
