//! Two execsnoop instances, hello-map and hello-tail at once: each works and none
//! interferes (separate maps and buffers; only hello-tail reads trace_pipe).

mod common;

use std::time::Duration;

use common::*;

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn two_execsnoops_hello_map_and_hello_tail_together() {
    require_root();
    let mut a = Proc::spawn("execsnoop", &[]);
    let mut b = Proc::spawn("execsnoop", &["--json", "--perf-buffer"]);
    let mut map = Proc::spawn("hello-map", &[]);
    let mut tail = Proc::spawn("hello-tail", &[]);
    for p in [&a, &b] {
        p.wait_stderr("tracing exec()", WAIT)
            .unwrap_or_else(|| panic!("execsnoop did not start: {:?}", p.stderr()));
    }
    wait_attached(&map);
    wait_attached(&tail);

    let m = format!("lebpfmk-coexist-{}", std::process::id());
    assert!(run("/bin/true", &[&m]).success());
    a.wait_line(WAIT, |l| l.starts_with("true ") && l.contains(&m))
        .unwrap_or_else(|| panic!("execsnoop (text) missed it: {:?}", a.stderr()));
    b.wait_line(WAIT, |l| l.contains(&m) && l.contains("\"comm\":\"true\""))
        .unwrap_or_else(|| panic!("execsnoop (json) missed it: {:?}", b.stderr()));
    tail.wait_line(WAIT, |l| {
        l.ends_with("bpf_trace_printk: Executing a program")
    })
    .unwrap_or_else(|| panic!("hello-tail printed no exec line: {:?}", tail.stderr()));
    let line = map
        .wait_line(Duration::from_secs(5), |l| l.contains("ID 0: "))
        .unwrap_or_else(|| panic!("hello-map printed no uid 0 count: {:?}", map.stderr()));
    let count: u64 = line
        .split('\t')
        .find_map(|e| e.strip_prefix("ID 0: "))
        .and_then(|n| n.trim().parse().ok())
        .expect("count");
    assert!(count >= 1, "{line}");

    for p in [&mut a, &mut b, &mut map, &mut tail] {
        let st = p
            .signal_and_wait(libc::SIGTERM, Duration::from_secs(2))
            .expect("exits on SIGTERM");
        assert_eq!(st.code(), Some(0), "{:?}", p.stderr());
    }
    for p in [&a, &b] {
        let s = p
            .wait_stderr(" events, ", Duration::from_secs(1))
            .expect("summary");
        assert!(s.contains(" 0 lost"), "{s}");
    }
}
