//! `hello-file-ring-buffer`: the test's own openat of a file named after the test shows
//! on stdout as `<the thread's comm> - <that name>`.

mod common;

use std::time::Duration;

use common::*;

#[test]
fn hello_file_ring_buffer_prints_own_open() {
    require_root();
    let mut p = Proc::spawn("hello-file-ring-buffer", &[]);
    wait_attached(&p);
    let marker = std::env::temp_dir().join(format!("lebpf-hello-frb-{}", std::process::id()));
    let want = format!("{} - {}", thread_comm(), marker.display());
    let mut found = None;
    // The book's one-page ring buffer drops events on a busy machine: try a few times.
    for _ in 0..10 {
        openat_create(&marker);
        found = p.wait_line(Duration::from_secs(1), |l| l == want);
        if found.is_some() {
            break;
        }
    }
    let _ = std::fs::remove_file(&marker);
    assert!(
        found.is_some(),
        "no {want:?}; stderr {:?}; last {:?}",
        p.stderr(),
        p.seen().iter().rev().take(3).collect::<Vec<_>>()
    );
    stop_cleanly(&mut p);
}

#[test]
fn hello_file_ring_buffer_without_privilege_says_so_and_exits_1() {
    require_root();
    assert_unprivileged_fails("hello-file-ring-buffer", &[]);
}

#[test]
fn hello_file_ring_buffer_exits_0_when_stdout_closes() {
    require_root();
    // Each open of /dev/null is an event to print (an idle VM may open nothing else).
    assert_exits_0_when_stdout_closes("hello-file-ring-buffer", &[], || {
        openat_create(std::path::Path::new("/dev/null"));
    });
}
