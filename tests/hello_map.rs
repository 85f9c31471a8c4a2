//! `hello-map`: the uid 0 count rises by at least the execs (or syscalls) the test
//! makes, read from two of its 2-second lines.

mod common;

use std::time::Duration;

use common::*;

/// Starts hello-map with `args`, runs `trigger` (which makes events as [`own_uid`]),
/// and returns the program and the own uid's count from the first line printed after
/// the trigger ended (hello-map prints every 2 s).
fn own_count(args: &[&str], at_least: u64, trigger: impl Fn(u32)) -> (Proc, u64) {
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
    // Lines printed while the trigger ran (several, on a slow machine) are still queued:
    // read on until the count reaches what the trigger made at least, then take one
    // more line, printed a tick (2 s) after that, so a late or double count shows.
    let reached = p.wait_line(Duration::from_secs(30), |l| count_of(l, uid) >= at_least);
    assert!(
        reached.is_some(),
        "the count for uid {uid} stayed below the {at_least} the test made; last lines {:?}; stderr: {:?}",
        p.seen().iter().rev().take(3).collect::<Vec<_>>(),
        p.stderr()
    );
    let after = p
        .wait_line(Duration::from_secs(10), |_| true)
        .unwrap_or_else(|| panic!("no line after the count settled; stderr: {:?}", p.stderr()));
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
    let (mut p, n) = own_count(&["--attach", "tracepoint"], 5, |uid| execs_as(uid, 5));
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
    let (mut p, n) = own_count(&[], 3, |uid| execs_as(uid, 3));
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
    let (mut p, n) = own_count(&["--attach", "kprobe"], 5, |uid| execs_as(uid, 5));
    assert_eq!(n, 5, "the test's uid made exactly 5 execs");
    stop_cleanly(&mut p);
}

/// --all-syscalls counts every syscall: a thread of the test switches its own
/// credentials to the test's uid (the raw setresuid syscall changes only the calling
/// thread) and makes 500 getppid calls, plus the few its exit takes.
#[test]
fn hello_map_all_syscalls_counts_every_syscall() {
    require_root();
    let (mut p, n) = own_count(&["--all-syscalls"], 500, |uid| {
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

/// A thread of the test switches to `uid` (raw setresuid changes only that thread) and
/// makes `opens` openat calls and `writes` write calls, nothing else counted.
fn opens_and_writes_as(uid: u32, opens: usize, writes: usize) {
    // SAFETY: plain syscalls on valid buffers; the fd is opened (as root) and closed here.
    let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY) };
    assert!(fd >= 0);
    std::thread::spawn(move || unsafe {
        assert_eq!(libc::syscall(libc::SYS_setresuid, uid, uid, uid), 0);
        for _ in 0..opens {
            let f = libc::syscall(libc::SYS_openat, libc::AT_FDCWD, c"/dev/null".as_ptr(), 0);
            assert!(f >= 0);
            libc::syscall(libc::SYS_close, f);
        }
        for _ in 0..writes {
            assert_eq!(libc::syscall(libc::SYS_write, fd, c"x".as_ptr(), 1), 1);
        }
    })
    .join()
    .unwrap();
    unsafe { libc::close(fd) };
}

/// Exercise 2, first half: one program attached to execve, openat and write.
#[test]
fn hello_map_counts_several_syscalls_with_one_program() {
    require_root();
    let (mut p, n) = own_count(&["--syscall", "execve,openat,write"], 7, |uid| {
        opens_and_writes_as(uid, 3, 4)
    });
    assert_eq!(
        n, 7,
        "the test's uid made exactly 3 openat and 4 write calls"
    );
    assert_eq!(
        p.stderr()
            .iter()
            .filter(|l| l.starts_with("hello-map: ") && l.contains("attached to"))
            .count(),
        3,
        "{:?}",
        p.stderr()
    );
    stop_cleanly(&mut p);
}

/// Exercise 2, second half: a program per syscall, all counting into one map.
#[test]
fn hello_map_separate_programs_share_the_map() {
    require_root();
    let (mut p, n) = own_count(&["--separate-programs"], 7, |uid| {
        opens_and_writes_as(uid, 2, 5)
    });
    assert_eq!(
        n, 7,
        "the test's uid made exactly 2 openat and 5 write calls"
    );
    assert!(p.stderr().iter().any(|l| l.contains("one program each")));
    stop_cleanly(&mut p);
}

/// Exercise 5: counts per syscall on the whole machine, names beside numbers. The
/// test makes 500 getppid calls; the count for getppid rises by at least that.
#[test]
fn hello_map_by_syscall_counts_each_syscall() {
    require_root();
    let table = lebpf::syscalls::SyscallTable::host().unwrap();
    let nr = table.number("getppid").unwrap();
    let key = format!("ID {nr} (getppid): ");
    let count = |l: &str| -> u64 {
        l.split('\t')
            .find_map(|e| e.strip_prefix(&key))
            .map_or(0, |n| n.parse().unwrap())
    };
    let mut p = Proc::spawn("hello-map", &["--by-syscall"]);
    wait_attached(&p);
    let before = p
        .wait_line(Duration::from_secs(10), |_| true)
        .expect("first line");
    for _ in 0..500 {
        // SAFETY: getppid has no arguments and cannot fail.
        unsafe { libc::syscall(libc::SYS_getppid) };
    }
    p.wait_line(Duration::from_secs(10), |_| true)
        .expect("second line");
    let after = p
        .wait_line(Duration::from_secs(10), |_| true)
        .expect("third line");
    assert!(
        count(&after) >= count(&before) + 500,
        "getppid count {} -> {}: {after:?}",
        count(&before),
        count(&after)
    );
    stop_cleanly(&mut p);
}
