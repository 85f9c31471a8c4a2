//! `hello-buffer`: the test's own child shows up with its pid, uid 0 and the comm it
//! had before exec, through the ring buffer and through the perf buffer.

mod common;

use std::time::Duration;

use common::*;

fn sees_own_child(args: &[&str], transport: &str) {
    require_root();
    let mut p = Proc::spawn("hello-buffer", args);
    wait_attached(&p);
    p.wait_stderr(
        &format!("events through the {transport}"),
        Duration::from_secs(5),
    )
    .unwrap_or_else(|| panic!("no transport line; stderr: {:?}", p.stderr()));
    let comm = thread_comm();
    let mut found = None;
    // Samples can be lost on a busy machine: try a few children.
    for _ in 0..10 {
        let pid = exec_true(None);
        let want = format!("{pid} 0 {comm} Hello World");
        found = p.wait_line(Duration::from_secs(2), |l| l == want);
        if found.is_some() {
            break;
        }
    }
    assert!(
        found.is_some(),
        "no line for our child (comm {comm:?}); stderr: {:?}; last lines: {:?}",
        p.stderr(),
        p.seen().iter().rev().take(5).collect::<Vec<_>>()
    );
    stop_cleanly(&mut p);
}

#[test]
fn hello_buffer_ring_buffer_shows_own_child() {
    sees_own_child(&["--attach", "tracepoint"], "ring buffer");
}

#[test]
fn hello_buffer_perf_buffer_shows_own_child() {
    sees_own_child(&["--attach", "tracepoint", "--perf-buffer"], "perf buffer");
}

#[test]
fn hello_buffer_auto_attach_shows_own_child() {
    sees_own_child(&[], "ring buffer");
}

#[test]
fn hello_buffer_kprobe_shows_own_child() {
    require_root();
    if !kprobes_available() {
        skip("kernel has no kprobes (CONFIG_KPROBES off)");
        return;
    }
    sees_own_child(&["--attach", "kprobe"], "ring buffer");
    sees_own_child(&["--attach", "kprobe", "--perf-buffer"], "perf buffer");
}

#[test]
fn hello_buffer_without_privilege_says_so_and_exits_1() {
    require_root();
    assert_unprivileged_fails("hello-buffer", &[]);
    assert_unprivileged_fails("hello-buffer", &["--perf-buffer"]);
}

#[test]
fn hello_buffer_exits_0_when_stdout_closes() {
    require_root();
    assert_exits_0_when_stdout_closes("hello-buffer", &[], || {
        exec_true(None);
    });
}

/// Exercise 1: `--odd-even` makes the message "Odd pid" or "Even pid" by the pid that
/// called execve; the test's own children show both.
#[test]
fn hello_buffer_odd_even_message_follows_own_pid() {
    require_root();
    let mut p = Proc::spawn("hello-buffer", &["--odd-even"]);
    wait_attached(&p);
    let comm = thread_comm();
    let mut seen = [false; 2];
    for _ in 0..40 {
        let pid = exec_true(None);
        let msg = ["Even pid", "Odd pid"][(pid % 2) as usize];
        let want = format!("{pid} 0 {comm} {msg}");
        if p.wait_line(Duration::from_secs(2), |l| l == want).is_some() {
            seen[(pid % 2) as usize] = true;
        }
        if seen == [true, true] {
            break;
        }
    }
    assert_eq!(
        seen,
        [true, true],
        "even/odd lines for own children; stderr {:?}; last {:?}",
        p.stderr(),
        p.seen().iter().rev().take(5).collect::<Vec<_>>()
    );
    stop_cleanly(&mut p);
}
