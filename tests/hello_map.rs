//! `hello-map`: the uid 0 count rises by at least the execs (or syscalls) the test
//! makes, read from two of its 2-second lines.

mod common;

use std::time::Duration;

use common::*;
use lebpf::book::hello_map::parse_counts;

fn uid0(line: &str) -> u64 {
    let counts = parse_counts(line).unwrap_or_else(|| panic!("bad line {line:?}"));
    counts
        .iter()
        .find(|(uid, _)| *uid == 0)
        .map_or(0, |(_, c)| *c)
}

/// Reads a line, runs `trigger` (which makes `made` counted events as uid 0), then
/// reads two more lines (the first may have been sampled during the trigger) and
/// checks the uid 0 count rose by at least `made`.
fn count_rises(args: &[&str], made: u64, trigger: impl Fn()) -> Proc {
    let mut p = Proc::spawn("hello-map", args);
    wait_attached(&p);
    let before = p
        .wait_line(Duration::from_secs(10), |_| true)
        .unwrap_or_else(|| panic!("no first line; stderr: {:?}", p.stderr()));
    trigger();
    let mut after = None;
    for _ in 0..2 {
        after = p.wait_line(Duration::from_secs(10), |_| true);
        assert!(
            after.is_some(),
            "no line after trigger; stderr: {:?}",
            p.stderr()
        );
    }
    let after = after.unwrap();
    assert!(
        uid0(&after) >= uid0(&before) + made,
        "uid 0 count did not rise by {made}: before {before:?}, after {after:?}"
    );
    p
}

#[test]
fn hello_map_counts_execs_per_uid() {
    require_root();
    let mut p = count_rises(&["--attach", "tracepoint"], 5, || {
        for _ in 0..5 {
            exec_true(None);
        }
    });
    assert!(
        p.stderr()
            .iter()
            .any(|l| l == "hello-map: attached to tracepoint syscalls/sys_enter_execve"),
        "{:?}",
        p.stderr()
    );
    stop_cleanly(&mut p);
}

#[test]
fn hello_map_counts_execs_of_another_uid() {
    require_root();
    let mut p = Proc::spawn("hello-map", &[]);
    wait_attached(&p);
    for _ in 0..3 {
        exec_true(Some(65534));
    }
    let line = p
        .wait_line(Duration::from_secs(10), |l| {
            parse_counts(l).is_some_and(|c| c.iter().any(|&(uid, n)| uid == 65534 && n >= 3))
        })
        .unwrap_or_else(|| panic!("no uid 65534 count; seen: {:?}", p.seen()));
    assert!(line.ends_with('\t'), "{line:?}");
    stop_cleanly(&mut p);
}

#[test]
fn hello_map_kprobe_counts_execs() {
    require_root();
    if !kprobes_available() {
        skip("kernel has no kprobes (CONFIG_KPROBES off)");
        return;
    }
    let mut p = count_rises(&["--attach", "kprobe"], 5, || {
        for _ in 0..5 {
            exec_true(None);
        }
    });
    stop_cleanly(&mut p);
}

#[test]
fn hello_map_all_syscalls_counts_every_syscall() {
    require_root();
    let mut p = count_rises(&["--all-syscalls"], 500, || {
        for _ in 0..500 {
            // SAFETY: getppid cannot fail.
            unsafe { libc::getppid() };
        }
    });
    assert!(p
        .stderr()
        .iter()
        .any(|l| l == "hello-map: attached to raw tracepoint sys_enter"));
    stop_cleanly(&mut p);
}

#[test]
fn hello_map_without_privilege_says_so_and_exits_1() {
    require_root();
    assert_unprivileged_fails("hello-map", &[]);
}

#[test]
fn hello_map_exits_0_when_stdout_closes() {
    require_root();
    assert_exits_0_when_stdout_closes("hello-map", &[], || {});
}
