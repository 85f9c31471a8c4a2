//! `hello-buffer-config`: per-uid messages from --message, the default message for
//! other uids, the book's column format, and refused --message values.

mod common;

use std::time::Duration;

use common::*;

fn expect_line(p: &mut Proc, uid: u32, message: &str) {
    let comm = thread_comm();
    for _ in 0..10 {
        let pid = exec_true(if uid == 0 { None } else { Some(uid) });
        let want = format!("{pid:<6} {uid:<6} {comm:<16} {:<16} {message}", "/bin/true");
        if p.wait_line(Duration::from_secs(2), |l| l == want).is_some() {
            return;
        }
    }
    panic!(
        "no line for uid {uid} with {message:?}; stderr: {:?}; last lines: {:?}",
        p.stderr(),
        p.seen().iter().rev().take(5).collect::<Vec<_>>()
    );
}

#[test]
fn hello_buffer_config_custom_and_default_messages() {
    require_root();
    let mut p = Proc::spawn(
        "hello-buffer-config",
        &["--attach", "tracepoint", "--message", "0=Hi test"],
    );
    let attached = wait_attached(&p);
    assert_eq!(
        attached,
        "hello-buffer-config: attached to tracepoint syscalls/sys_enter_execve"
    );
    expect_line(&mut p, 0, "Hi test");
    expect_line(&mut p, 65534, "Hello World");
    stop_cleanly(&mut p);
}

#[test]
fn hello_buffer_config_default_message_for_root() {
    require_root();
    let mut p = Proc::spawn("hello-buffer-config", &[]);
    wait_attached(&p);
    expect_line(&mut p, 0, "Hello World");
    stop_cleanly(&mut p);
}

#[test]
fn hello_buffer_config_kprobe_custom_message() {
    require_root();
    if !kprobes_available() {
        skip("kernel has no kprobes (CONFIG_KPROBES off)");
        return;
    }
    let mut p = Proc::spawn(
        "hello-buffer-config",
        &["--attach", "kprobe", "--message", "0=Hi kprobe"],
    );
    wait_attached(&p);
    expect_line(&mut p, 0, "Hi kprobe");
    stop_cleanly(&mut p);
}

#[test]
fn hello_buffer_config_bad_message_exits_2_with_one_line() {
    // Checked before privilege: the same as root and as nobody.
    for (arg, why) in [
        ("root=hi", "uid 'root' is not a number (0..4294967295)"),
        (
            "0=Hello World!",
            "text is 12 bytes; at most 11 fit (char message[12] with its NUL)",
        ),
        ("hello", "expected UID=TEXT, e.g. 0=Hi root"),
    ] {
        let want = format!("hello-buffer-config: --message '{arg}': {why}\n");
        let (code, out, err) = run_bin("hello-buffer-config", &["--message", arg]);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (Some(2), "", want.as_str())
        );
        if unsafe { libc::geteuid() } == 0 {
            let (code, _, err) = run_unprivileged("hello-buffer-config", &["--message", arg]);
            assert_eq!((code, err.as_str()), (Some(2), want.as_str()));
        }
    }
}

#[test]
fn hello_buffer_config_without_privilege_says_so_and_exits_1() {
    require_root();
    assert_unprivileged_fails("hello-buffer-config", &[]);
    assert_unprivileged_fails("hello-buffer-config", &["--message", "0=hi"]);
}

#[test]
fn hello_buffer_config_exits_0_when_stdout_closes() {
    require_root();
    assert_exits_0_when_stdout_closes("hello-buffer-config", &[], || {
        exec_true(None);
    });
}
