//! `hello-tail`: the exec and timer tail-call targets print for the test's own
//! syscalls; ignore flags change what "Another syscall" shows; bad names exit 2.

mod common;

use std::time::Duration;

use common::*;
use lebpf::syscalls::SyscallTable;
use lebpf::tracepipe::parse_line;

/// Waits for a line from task `pid` whose message is `msg`, calling `trigger` before
/// each wait (trace lines can be lost on a busy machine).
fn wait_own(p: &mut Proc, pid: u32, msg: &str, trigger: impl Fn()) -> String {
    for _ in 0..10 {
        trigger();
        let got = p.wait_line(Duration::from_secs(1), |l| {
            parse_line(l).is_some_and(|t| t.pid == pid && t.message == msg)
        });
        if let Some(l) = got {
            return l;
        }
    }
    panic!("no {msg:?} line from {pid}; stderr: {:?}", p.stderr());
}

fn timer_create_delete() {
    // SAFETY: zeroed sigevent is valid; SIGEV_NONE needs no handler; the timer is
    // deleted right away.
    unsafe {
        let mut sev: libc::sigevent = std::mem::zeroed();
        sev.sigev_notify = libc::SIGEV_NONE;
        let mut timer: libc::timer_t = std::ptr::null_mut();
        assert_eq!(
            libc::timer_create(libc::CLOCK_MONOTONIC, &mut sev, &mut timer),
            0
        );
        assert_eq!(libc::timer_delete(timer), 0);
    }
}

#[test]
fn hello_tail_prints_exec_and_timer_lines() {
    exec_and_timer_lines(&[], "hello-tail: attached to raw tracepoint sys_enter (");
}

/// Exercise 4: `--auto-attach` attaches `hello` by its section name alone.
#[test]
fn hello_tail_auto_attach_prints_exec_and_timer_lines() {
    exec_and_timer_lines(
        &["--auto-attach"],
        "hello-tail: attached to raw tracepoint sys_enter, by section name (",
    );
}

fn exec_and_timer_lines(args: &[&str], attached_line: &str) {
    require_root();
    let mut p = Proc::spawn("hello-tail", args);
    let attached = wait_attached(&p);
    assert!(attached.starts_with(attached_line), "{attached}");

    // The child calls execve: its pid is on the line.
    let mut line = None;
    for _ in 0..10 {
        let pid = exec_true(None);
        line = p.wait_line(Duration::from_secs(1), |l| {
            parse_line(l).is_some_and(|t| t.pid == pid && t.message == "Executing a program")
        });
        if line.is_some() {
            break;
        }
    }
    assert!(line.is_some(), "no exec line; stderr: {:?}", p.stderr());

    let tid = gettid();
    wait_own(&mut p, tid, "Creating a timer", timer_create_delete);
    wait_own(&mut p, tid, "Deleting a timer", timer_create_delete);
    stop_cleanly(&mut p);
}

#[test]
fn hello_tail_shows_other_syscalls_unless_ignored() {
    require_root();
    let table = SyscallTable::host().expect("syscall table");
    let getppid = table.number("getppid").unwrap();
    let getuid = table.number("getuid").unwrap();
    // getuid is in the default ignore set: --no-default-ignore shows it;
    // --ignore getppid hides getppid.
    let mut p = Proc::spawn(
        "hello-tail",
        &["--no-default-ignore", "--ignore", "getppid"],
    );
    wait_attached(&p);
    let tid = gettid();
    wait_own(&mut p, tid, &format!("Another syscall: {getuid}"), || {
        // SAFETY: neither call can fail.
        unsafe {
            libc::getppid();
            libc::getuid();
        }
    });
    let hidden = format!("Another syscall: {getppid}");
    assert!(
        !p.seen()
            .iter()
            .any(|l| parse_line(l).is_some_and(|t| t.pid == tid && t.message == hidden)),
        "getppid was not ignored"
    );
    stop_cleanly(&mut p);
}

#[test]
fn hello_tail_unknown_syscall_name_exits_2() {
    let (code, out, err) = run_bin("hello-tail", &["--ignore", "getppid,nosuchcall"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(out, "");
    let arch = SyscallTable::host().unwrap().arch();
    assert_eq!(
        err,
        format!("hello-tail: unknown syscall name 'nosuchcall' on {arch}\n")
    );
}

#[test]
fn hello_tail_without_privilege_says_so_and_exits_1() {
    require_root();
    assert_unprivileged_fails("hello-tail", &[]);
}

#[test]
fn hello_tail_exits_0_when_stdout_closes() {
    require_root();
    assert_exits_0_when_stdout_closes("hello-tail", &["--ignore-others"], || {
        exec_true(None);
    });
}
