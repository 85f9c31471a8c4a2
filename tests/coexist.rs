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

    // The test's own exec: a marker in argv for the execsnoops, its pid for
    // hello-tail, and a uid only the test uses for hello-map (exact count).
    let uid = 60000 + std::process::id() % 5000;
    let m = format!("lebpfmk-coexist-{}", std::process::id());
    let mut child = std::process::Command::new("/bin/true");
    std::os::unix::process::CommandExt::uid(&mut child, uid);
    let mut child = child.arg(&m).spawn().expect("spawn /bin/true");
    let pid = child.id();
    assert!(child.wait().unwrap().success());
    let pid_s = pid.to_string();
    a.wait_line(WAIT, |l| {
        l.starts_with("true ") && l.split_whitespace().nth(1) == Some(&pid_s) && l.ends_with(&m)
    })
    .unwrap_or_else(|| panic!("execsnoop (text) missed it: {:?}", a.stderr()));
    b.wait_line(WAIT, |l| {
        l.contains(&format!("\"pid\":{pid},")) && l.contains(&m) && l.contains("\"comm\":\"true\"")
    })
    .unwrap_or_else(|| panic!("execsnoop (json) missed it: {:?}", b.stderr()));
    tail.wait_line(WAIT, |l| {
        lebpf::tracepipe::parse_line(l)
            .is_some_and(|t| t.pid == pid && t.message == "Executing a program")
    })
    .unwrap_or_else(|| {
        panic!(
            "hello-tail printed no exec line for {pid}: {:?}",
            tail.stderr()
        )
    });
    let want = format!("ID {uid}: 1\t");
    map.wait_line(Duration::from_secs(5), |l| l.contains(&want))
        .unwrap_or_else(|| panic!("hello-map printed no {want:?}: {:?}", map.seen()));

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
