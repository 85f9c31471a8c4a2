//! `hello-map`: the uid 0 count rises by at least the execs (or syscalls) the test
//! makes, read from two of its 2-second lines.

mod common;

use std::time::Duration;

use common::*;

/// The book's line, `ID {uid}: {count}` and a TAB per entry, read back.
fn parse_counts(line: &str) -> Option<Vec<(u64, u64)>> {
    if line.is_empty() {
        return Some(Vec::new());
    }
    let body = line.strip_suffix('\t')?;
    body.split('\t')
        .map(|item| {
            let (uid, count) = item.strip_prefix("ID ")?.split_once(": ")?;
            Some((uid.parse().ok()?, count.parse().ok()?))
        })
        .collect()
}

fn count_of(line: &str, uid: u32) -> u64 {
    let counts = parse_counts(line).unwrap_or_else(|| panic!("bad line {line:?}"));
    counts
        .iter()
        .find(|(u, _)| *u == u64::from(uid))
        .map_or(0, |(_, c)| *c)
}

/// Starts hello-map with `args`, runs `trigger` (which makes events as [`own_uid`]),
/// and returns the program and the own uid's count from the first line printed after
/// the trigger ended (hello-map prints every 2 s).
fn own_count(args: &[&str], trigger: impl Fn(u32)) -> (Proc, u64) {
    let uid = own_uid();
    let mut p = Proc::spawn("hello-map", args);
    wait_attached(&p);
    let before = p
        .wait_line(Duration::from_secs(10), |_| true)
        .unwrap_or_else(|| panic!("no first line; stderr: {:?}", p.stderr()));
    assert_eq!(
        count_of(&before, uid),
        0,
        "uid {uid} counted before the test: {before:?}"
    );
    trigger(uid);
    // The line being built during the trigger may miss the end of it: take the next.
    p.wait_line(Duration::from_secs(10), |_| true)
        .unwrap_or_else(|| panic!("no line after the trigger; stderr: {:?}", p.stderr()));
    let after = p
        .wait_line(Duration::from_secs(10), |_| true)
        .unwrap_or_else(|| panic!("no second line after the trigger; stderr: {:?}", p.stderr()));
    assert!(after.ends_with('\t'), "{after:?}");
    (p, count_of(&after, uid))
}

fn execs_as(uid: u32, n: usize) {
    for _ in 0..n {
        exec_true(Some(uid));
    }
}

#[test]
fn hello_map_counts_execs_per_uid() {
    require_root();
    let (mut p, n) = own_count(&["--attach", "tracepoint"], |uid| execs_as(uid, 5));
    assert_eq!(n, 5, "the test's uid made exactly 5 execs");
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
fn hello_map_default_attach_counts_execs_per_uid() {
    require_root();
    let (mut p, n) = own_count(&[], |uid| execs_as(uid, 3));
    assert_eq!(n, 3, "the test's uid made exactly 3 execs");
    stop_cleanly(&mut p);
}

#[test]
fn hello_map_kprobe_counts_execs() {
    require_root();
    if !kprobes_available() {
        skip("kernel has no kprobes (CONFIG_KPROBES off)");
        return;
    }
    let (mut p, n) = own_count(&["--attach", "kprobe"], |uid| execs_as(uid, 5));
    assert_eq!(n, 5, "the test's uid made exactly 5 execs");
    stop_cleanly(&mut p);
}

/// --all-syscalls counts every syscall: a thread of the test switches its own
/// credentials to the test's uid (the raw setresuid syscall changes only the calling
/// thread) and makes 500 getppid calls, plus the few its exit takes.
#[test]
fn hello_map_all_syscalls_counts_every_syscall() {
    require_root();
    let (mut p, n) = own_count(&["--all-syscalls"], |uid| {
        std::thread::spawn(move || {
            // SAFETY: raw syscalls; this thread never returns to root and just exits.
            unsafe {
                assert_eq!(libc::syscall(libc::SYS_setresuid, uid, uid, uid), 0);
                for _ in 0..500 {
                    libc::syscall(libc::SYS_getppid);
                }
            }
        })
        .join()
        .unwrap();
    });
    assert!(
        (500..=520).contains(&n),
        "the test's uid made 500 getppid calls and a few to exit, counted {n}"
    );
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
