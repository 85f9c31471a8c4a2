//! `hello-file`: the test thread's own openat of a file named after the test shows as
//! `File <that name>` then `     opened by:<the thread's comm>`, from the thread's id.

mod common;

use std::time::Duration;

use common::*;
use lebpf::tracepipe::parse_line;

#[test]
fn hello_file_prints_own_open_and_command() {
    require_root();
    let mut p = Proc::spawn("hello-file", &[]);
    wait_attached(&p);
    let (tid, comm) = (gettid(), thread_comm());
    let marker = std::env::temp_dir().join(format!("lebpf-hello-file-{}", std::process::id()));
    let want_file = format!("File {}", marker.display());
    let mut found = false;
    for _ in 0..10 {
        openat_create(&marker);
        let own = |l: &str| parse_line(l).is_some_and(|t| t.pid == tid && t.message == want_file);
        if p.wait_line(Duration::from_secs(1), own).is_some() {
            let next = p.wait_line(Duration::from_secs(2), |l| {
                parse_line(l).is_some_and(|t| t.pid == tid)
            });
            let next = next.expect("no second line from the test thread");
            assert_eq!(
                parse_line(&next).unwrap().message,
                format!("     opened by:{comm}")
            );
            found = true;
            break;
        }
    }
    let _ = std::fs::remove_file(&marker);
    assert!(found, "no line for {want_file:?}; stderr {:?}", p.stderr());
    stop_cleanly(&mut p);
}

#[test]
fn hello_file_without_privilege_says_so_and_exits_1() {
    require_root();
    assert_unprivileged_fails("hello-file", &[]);
}
