//! Load: a 5-minute exec storm at full rate against `execsnoop --json`. Its memory
//! (RSS, and the kernel memory of its maps) stays flat, every exec of the storm is
//! printed or counted lost, and every line stays valid JSON.
//!
//! Ignored by default (it takes 5 minutes); `make test` runs it on the host with
//! `--ignored`. `LEBPF_SOAK_SECS` shortens it for a quick look.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// VmRSS of a process in KiB.
fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Sum of `memlock:` over a process's BPF map fds (kernel memory of its maps), bytes.
fn map_memlock(pid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return 0;
    };
    dir.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter(|t| t.contains("map_type:"))
        .filter_map(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("memlock:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .sum()
}

#[test]
#[ignore = "5-minute soak: make test runs it on the host (cargo test --test soak -- --ignored)"]
fn five_minute_exec_storm_memory_flat_nothing_silent_json_valid() {
    require_root();
    let secs: u64 = std::env::var("LEBPF_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let m = format!("lebpfmk-soak-{}", std::process::id());
    let mut child = Command::new(bin("execsnoop"))
        .args(["--json", "-l", &m])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn execsnoop");
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let err_reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            if l.contains("tracing exec()") {
                let _ = tx.send(());
            }
            all.push(l);
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("execsnoop started");
    let stdout = child.stdout.take().unwrap();
    let marker = m.clone();
    let out_reader = std::thread::spawn(move || {
        let (mut matched, mut lines) = (0u64, 0u64);
        for l in BufReader::new(stdout).lines() {
            let l = l.expect("stdout is UTF-8 text");
            lines += 1;
            let v: serde_json::Value = serde_json::from_str(&l)
                .unwrap_or_else(|e| panic!("line {lines} is not JSON ({e}): {l}"));
            if v["args"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == marker.as_str()))
            {
                matched += 1;
            }
        }
        (matched, lines)
    });

    let storm = std::thread::spawn(move || {
        let out = Command::new(example_bin("exectrigger"))
            .args(["storm", &secs.to_string(), &m])
            .output()
            .expect("run exectrigger storm");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find_map(|l| l.strip_prefix("execs="))
            .and_then(|v| v.parse::<u64>().ok())
            .expect("execs= line")
    });
    // Samples every few seconds; the first after a warm-up tenth of the run.
    let t0 = Instant::now();
    let warm = Duration::from_secs(secs / 10 + 1);
    let mut samples = Vec::new();
    while !storm.is_finished() {
        std::thread::sleep(Duration::from_secs(2));
        if t0.elapsed() >= warm {
            samples.push((rss_kib(pid), map_memlock(pid)));
        }
    }
    let made = storm.join().unwrap();
    // SAFETY: plain kill(2) on our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let st = child.wait().unwrap();
    let (matched, lines) = out_reader.join().unwrap();
    let err = err_reader.join().unwrap();
    assert_eq!(st.code(), Some(0), "{err:?}");
    let summary = err
        .iter()
        .rev()
        .find(|l| l.contains(" events, "))
        .expect("summary")
        .clone();
    let lost: u64 = summary
        .split(", ")
        .find_map(|p| p.strip_suffix(" lost"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    eprintln!(
        "soak: {secs} s, {made} execs, {matched} printed, {lost} lost, {lines} lines; \
         rss/memlock samples first {:?} last {:?}",
        samples.first(),
        samples.last()
    );
    assert!(made > 0);
    assert!(
        matched + lost >= made,
        "made {made}, printed {matched}, {summary}"
    );
    assert!(samples.len() >= 2, "too few samples");
    let (rss0, mem0) = samples[0];
    let rss_max = samples.iter().map(|s| s.0).max().unwrap();
    assert!(rss0 > 0 && mem0 > 0, "{samples:?}");
    assert!(
        rss_max <= rss0 + 2048,
        "RSS grew from {rss0} KiB to {rss_max} KiB: {samples:?}"
    );
    assert!(
        samples.iter().all(|s| s.1 == mem0),
        "map memory changed: {samples:?}"
    );
}
