//! `execsnoop`: every acceptance item of issue 3 that can be checked from outside, each
//! with an assertion on what execsnoop printed (text and JSON where it applies).
//!
//! The execs come from `examples/exectrigger.rs` (no shell or python needed, so these
//! run unchanged in the busybox VM of the kernel matrix). Every test tags its execs
//! with a marker unique to the test and this run, and looks only at its own lines: the
//! machine may be busy with other execs.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use lebpf::execsnoop::output::Summary;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

fn marker(tag: &str) -> String {
    format!("lebpfmk-{tag}-{}", std::process::id())
}

/// Starts execsnoop and waits until it is attached (its stderr line says so).
fn start(args: &[&str]) -> Proc {
    let p = Proc::spawn("execsnoop", args);
    if p.wait_stderr("tracing exec()", WAIT).is_none() {
        panic!("execsnoop {args:?} did not start; stderr: {:?}", p.stderr());
    }
    p
}

/// A text execsnoop and a JSON one with the same extra flags, both attached.
fn start_both(extra: &[&str]) -> (Proc, Proc) {
    let text = start(extra);
    let mut j = vec!["--json"];
    j.extend_from_slice(extra);
    (text, start(&j))
}

/// Runs exectrigger and returns its stdout; panics unless it succeeded.
fn trigger(args: &[&str]) -> String {
    let out = Command::new(example_bin("exectrigger"))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("run exectrigger");
    assert!(
        out.status.success(),
        "exectrigger {args:?}: {:?}",
        out.status
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of `key=` in exectrigger's output.
fn field(out: &str, key: &str) -> String {
    out.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")).map(str::to_string))
        .unwrap_or_else(|| panic!("no {key}= in {out:?}"))
}

fn text_line(p: &mut Proc, pred: impl Fn(&str) -> bool) -> String {
    p.wait_line(WAIT, pred)
        .unwrap_or_else(|| panic!("no matching text line; stderr: {:?}", p.stderr()))
}

fn json_event(p: &mut Proc, pred: impl Fn(&Value) -> bool) -> Value {
    let line = p
        .wait_line(WAIT, |l| {
            serde_json::from_str::<Value>(l).is_ok_and(|v| pred(&v))
        })
        .unwrap_or_else(|| panic!("no matching JSON line; stderr: {:?}", p.stderr()));
    serde_json::from_str(&line).expect("valid JSON")
}

fn has_arg(v: &Value, m: &str) -> bool {
    v["args"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x == m))
}

/// Text columns of a default-format line: comm, pid, ppid, ret, args.
fn cols(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Ends the tracer with SIGTERM and returns its summary (asserting exit 0), parsed
/// through the program's own definition.
fn stop(mut p: Proc) -> Summary {
    let st = p
        .signal_and_wait(libc::SIGTERM, WAIT)
        .expect("execsnoop exits after SIGTERM");
    assert_eq!(st.code(), Some(0), "stderr: {:?}", p.stderr());
    summary_of(&p)
}

/// Like [`stop`], but keeps the Proc: every stdout line it printed is in `p.seen()`
/// afterwards (read until the pipe closed).
fn stop_keep(p: &mut Proc) -> Summary {
    let st = p
        .signal_and_wait(libc::SIGTERM, WAIT)
        .expect("execsnoop exits after SIGTERM");
    assert_eq!(st.code(), Some(0), "stderr: {:?}", p.stderr());
    // Ends as soon as the reader thread saw the pipe close.
    p.collect_for(WAIT);
    summary_of(p)
}

/// The summary line of an ended execsnoop, parsed.
fn summary_of(p: &Proc) -> Summary {
    let line = p
        .wait_stderr(" events, ", Duration::from_secs(2))
        .unwrap_or_else(|| panic!("no summary; stderr: {:?}", p.stderr()));
    Summary::parse(&line).unwrap_or_else(|| panic!("not a summary: {line}"))
}

/// The token of a text line or the element of a JSON args array that starts with
/// `prefix` (the per-exec marker).
fn marker_in(line: &str, prefix: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<Value>(line) {
        return v["args"]
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .find(|a| a.starts_with(prefix))
            .map(str::to_string);
    }
    line.split_whitespace()
        .find(|w| w.starts_with(prefix))
        .map(str::to_string)
}

/// How often each per-exec marker (`prefix` + suffix) appears in `lines`.
fn marker_counts(lines: &[String], prefix: &str) -> std::collections::HashMap<String, usize> {
    let mut m = std::collections::HashMap::new();
    for l in lines {
        if let Some(k) = marker_in(l, prefix) {
            *m.entry(k).or_insert(0) += 1;
        }
    }
    m
}

#[test]
fn simple_exec_with_args() {
    require_root();
    let m = marker("simple");
    let (mut t, mut j) = start_both(&[]);
    let out = trigger(&["run", "/bin/true", &m, "second arg"]);
    let pid = field(&out, "pid");
    let line = text_line(&mut t, |l| l.contains(&m) && l.starts_with("true "));
    let c = cols(&line);
    assert_eq!(c[1], pid, "{line}");
    assert_eq!(c[3], "0", "{line}");
    assert!(
        line.ends_with(&format!(" 0 /bin/true {m} second arg")),
        "{line}"
    );
    let v = json_event(&mut j, |v| v["comm"] == "true" && has_arg(v, &m));
    assert_eq!(v["v"], 1);
    assert_eq!(v["event"], "exec");
    assert_eq!(v["pid"].to_string(), pid);
    assert_eq!(v["tid"].to_string(), pid);
    assert_eq!(v["ret"], 0);
    assert_eq!(v["filename"], "/bin/true");
    assert_eq!(v["args"], serde_json::json!(["/bin/true", m, "second arg"]));
    assert_eq!(v["argc"], 3);
    assert_eq!(v["truncated"], false);
    assert!(v["cgroup_id"].as_u64().is_some() && v["ts_ns"].as_u64().is_some());
    assert!(v["time"].as_str().is_some_and(|s| s.ends_with('Z')), "{v}");
    stop(t);
    stop(j);
}

#[test]
fn hostile_args_are_escaped() {
    require_root();
    let m = marker("weird");
    let (mut t, mut j) = start_both(&[]);
    trigger(&["weird", &m]);
    let line = text_line(&mut t, |l| l.contains(&m) && l.starts_with("true "));
    let want = format!(
        "/bin/true {m} two words say \"hi\" line1\\nline2 tab\\there \\x1b[31mred\\x1b[0m bad\\xff\\xfeutf8 back\\\\slash"
    );
    assert!(line.ends_with(&want), "{line:?}\nwant suffix {want:?}");
    assert!(!line.contains('\x1b') && !line.contains('\t'), "{line:?}");
    let v = json_event(&mut j, |v| v["comm"] == "true" && has_arg(v, &m));
    assert_eq!(
        v["args"],
        serde_json::json!([
            "/bin/true",
            m,
            "two words",
            "say \"hi\"",
            "line1\nline2",
            "tab\there",
            "\u{1b}[31mred\u{1b}[0m",
            "bad\\xff\\xfeutf8",
            // non_utf8: every string of the object is in bytes mode, where a
            // backslash is doubled (README, JSON fields).
            "back\\\\slash"
        ])
    );
    assert_eq!(v["non_utf8"], true);
    stop(t);
    stop(j);
}

#[test]
fn quoted_args_escape_inner_quotes() {
    require_root();
    let m = marker("quote");
    let mut t = start(&["-q"]);
    trigger(&["weird", &m]);
    let line = text_line(&mut t, |l| l.contains(&m) && l.starts_with("true "));
    assert!(
        line.contains(&format!(
            "\"/bin/true\" \"{m}\" \"two words\" \"say \\\"hi\\\"\""
        )),
        "{line}"
    );
    stop(t);
}

#[test]
fn failed_exec_shown_only_with_x() {
    require_root();
    let m = marker("fail");
    let sentinel = marker("fail-sentinel");
    // Without -x: the failure is not reported (the sentinel after it is).
    let mut plain = start(&[]);
    let (mut t, mut j) = start_both(&["-x"]);
    let out = trigger(&["fail", &m]);
    assert_eq!(field(&out, "errno"), "2");
    trigger(&["run", "/bin/true", &sentinel]);
    text_line(&mut plain, |l| {
        l.contains(&sentinel) && l.starts_with("true ")
    });
    assert!(
        !plain
            .seen()
            .iter()
            .any(|l| l.contains(&format!("/nonexistent-lebpf/{m}"))),
        "failure shown without -x: {:?}",
        plain.seen()
    );
    let line = text_line(&mut t, |l| l.contains(&format!("/nonexistent-lebpf/{m}")));
    let c = cols(&line);
    assert_eq!(c[0], "exectrigger", "{line}");
    assert_eq!(c[3], "-2", "{line}");
    assert!(
        line.ends_with(&format!("/nonexistent-lebpf/{m} {m}")),
        "{line}"
    );
    let v = json_event(&mut j, |v| v["event"] == "fail" && has_arg(v, &m));
    assert_eq!(v["ret"], -2);
    assert_eq!(v["filename"], format!("/nonexistent-lebpf/{m}"));
    assert_eq!(v["args_truncated"], 0);
    assert_eq!(v["bytes_truncated"], 0);
    stop(plain);
    stop(t);
    stop(j);
}

#[test]
fn execveat_and_fexecve_are_traced() {
    require_root();
    let m1 = marker("execveat");
    let m2 = marker("fexecve");
    let (mut t, mut j) = start_both(&[]);
    let out1 = trigger(&["execveat", &m1]);
    let out2 = trigger(&["fexecve", &m2]);
    let l1 = text_line(&mut t, |l| l.contains(&m1) && l.starts_with("true "));
    assert_eq!(cols(&l1)[1], field(&out1, "pid"));
    // fexecve: the comm comes from the opened file's name, which is "busybox" when
    // /bin/true is busybox's symlink (the VM): match on the marker only.
    let l2 = text_line(&mut t, |l| l.contains(&m2) && !l.starts_with("exectrigger"));
    assert_eq!(cols(&l2)[1], field(&out2, "pid"));
    assert!(l2.contains(" 0 /dev/fd/"), "{l2}");
    let v1 = json_event(&mut j, |v| v["comm"] == "true" && has_arg(v, &m1));
    assert_eq!(v1["args"], serde_json::json!(["true", m1]));
    assert!(v1["filename"].as_str().unwrap().ends_with("/true"), "{v1}");
    let v2 = json_event(&mut j, |v| v["comm"] != "exectrigger" && has_arg(v, &m2));
    assert_eq!(v2["args"], serde_json::json!(["true", m2]));
    assert!(
        v2["filename"].as_str().unwrap().starts_with("/dev/fd/"),
        "{v2}"
    );
    stop(t);
    stop(j);
}

#[test]
fn exec_from_a_non_leader_thread() {
    require_root();
    let m = marker("thread");
    let (mut t, mut j) = start_both(&[]);
    let out = trigger(&["thread-exec", &m]);
    let pid = field(&out, "pid");
    let tid = field(&out, "exec_tid");
    assert_ne!(pid, tid);
    let line = text_line(&mut t, |l| l.contains(&m) && l.starts_with("true "));
    assert_eq!(cols(&line)[1], pid, "{line}");
    let v = json_event(&mut j, |v| v["comm"] == "true" && has_arg(v, &m));
    assert_eq!(v["pid"].to_string(), pid);
    assert_eq!(v["tid"].to_string(), tid);
    stop(t);
    stop(j);
}

#[test]
fn shebang_script_shows_the_interpreter() {
    require_root();
    let m = marker("shebang");
    let (mut t, mut j) = start_both(&[]);
    let out = trigger(&["shebang", &m]);
    let script = field(&out, "script");
    let line = text_line(&mut t, |l| l.contains(&m) && l.starts_with("lebpf-shebang"));
    assert!(
        line.ends_with(&format!(" 0 /bin/sh {script} {m}")),
        "{line}"
    );
    let v = json_event(&mut j, |v| has_arg(v, &m) && v["filename"] == script);
    assert_eq!(v["interp"], "/bin/sh");
    assert_eq!(v["args"], serde_json::json!(["/bin/sh", script, m]));
    stop(t);
    stop(j);
}

#[test]
fn hundred_args_are_cut_and_counted() {
    require_root();
    let m = marker("many");
    let (mut t, mut j) = start_both(&[]);
    let (mut tall, mut jall) = start_both(&["--max-args", "100"]);
    trigger(&["many-args", "100", &m]);
    // Shown: /bin/true, marker, a002..a019 (20); dropped: a020..a099 = 80 x 4 bytes.
    let line = text_line(&mut t, |l| l.contains(&m) && l.starts_with("true "));
    assert!(line.ends_with(" a019 ...[+80 args, +320 bytes]"), "{line}");
    let v = json_event(&mut j, |v| v["comm"] == "true" && has_arg(v, &m));
    assert_eq!(v["args"].as_array().unwrap().len(), 20);
    assert_eq!(v["argc"], 100);
    assert_eq!(v["args_truncated"], 80);
    assert_eq!(v["bytes_truncated"], 320);
    assert_eq!(v["truncated"], true);
    let line = text_line(&mut tall, |l| l.contains(&m) && l.starts_with("true "));
    assert!(line.ends_with(" a098 a099"), "{line}");
    let v = json_event(&mut jall, |v| v["comm"] == "true" && has_arg(v, &m));
    assert_eq!(v["args"].as_array().unwrap().len(), 100);
    assert_eq!(v["truncated"], false);
    for p in [t, j, tall, jall] {
        stop(p);
    }
}

#[test]
fn ten_kb_arg_is_cut_and_counted() {
    require_root();
    let m = marker("bigarg");
    let (mut t, mut j) = start_both(&[]);
    let mut full = start(&["--json", "--arg-size", "16384"]);
    trigger(&["big-arg", "10240", &m]);
    // Default --arg-size 4096: the 10240-byte argument loses 6144 bytes.
    let line = text_line(&mut t, |l| l.contains(&m) && l.starts_with("true "));
    let x4096 = "x".repeat(4096);
    assert!(
        line.ends_with(&format!("{m} {x4096} ...[+0 args, +6144 bytes]")),
        "{}",
        &line[line.len().saturating_sub(80)..]
    );
    let v = json_event(&mut j, |v| v["comm"] == "true" && has_arg(v, &m));
    assert_eq!(v["args"][2].as_str().unwrap().len(), 4096);
    assert_eq!(v["args_truncated"], 0);
    assert_eq!(v["bytes_truncated"], 6144);
    assert_eq!(v["args_cut"], 1);
    let v = json_event(&mut full, |v| v["comm"] == "true" && has_arg(v, &m));
    assert_eq!(v["args"][2].as_str().unwrap(), "x".repeat(10240));
    assert_eq!(v["truncated"], false);
    stop(t);
    stop(j);
    stop(full);
}

#[test]
fn uid_filter() {
    require_root();
    let m_in = marker("uid-in");
    let m_out = marker("uid-out");
    let m_end = marker("uid-end");
    let (mut t, mut j) = start_both(&["-u", "65534", "-U"]);
    trigger(&["as-uid", "65534", &m_in]);
    trigger(&["run", "/bin/true", &m_out]);
    trigger(&["as-uid", "65534", &m_end]);
    let line = text_line(&mut t, |l| l.contains(&m_in));
    assert_eq!(cols(&line)[0], "65534", "{line}");
    text_line(&mut t, |l| l.contains(&m_end));
    assert!(
        !t.seen().iter().any(|l| l.contains(&m_out)),
        "{:?}",
        t.seen()
    );
    let v = json_event(&mut j, |v| has_arg(v, &m_end));
    assert_eq!(v["uid"], 65534);
    assert!(!j.seen().iter().any(|l| l.contains(&m_out)));
    stop(t);
    stop(j);
}

#[test]
fn name_filter() {
    require_root();
    let m = marker("name");
    let (mut t, mut j) = start_both(&["-n", "tru"]);
    trigger(&["run", "/bin/true", &m]);
    let line = text_line(&mut t, |l| l.contains(&m));
    assert!(line.starts_with("true "), "{line}");
    // exectrigger's own exec (comm "exectrigger", marker in its args) came first and
    // must have been filtered.
    assert!(
        !t.seen().iter().any(|l| l.starts_with("exectrigger")),
        "{:?}",
        t.seen()
    );
    json_event(&mut j, |v| v["comm"] == "true" && has_arg(v, &m));
    assert!(!j
        .seen()
        .iter()
        .any(|l| l.contains("\"comm\":\"exectrigger\"")));
    stop(t);
    stop(j);
}

#[test]
fn line_filter_matches_arguments_not_the_name() {
    require_root();
    let a = marker("line-a");
    let b = marker("line-b");
    let (mut t, mut j) = start_both(&["-l", "/bin/true"]);
    // 1st: true's argv[1..] = [a]: no match (only its name/path has /bin/true).
    trigger(&["run", "/bin/true", &a]);
    // 2nd: true's argv[1..] = ["/bin/true", b]: match.
    trigger(&["run", "/bin/true", "/bin/true", &b]);
    let line = text_line(&mut t, |l| l.contains(&b) && l.starts_with("true "));
    assert!(
        line.ends_with(&format!("/bin/true /bin/true {b}")),
        "{line}"
    );
    assert!(
        !t.seen()
            .iter()
            .any(|l| l.starts_with("true ") && l.contains(&a)),
        "{:?}",
        t.seen()
    );
    // exectrigger's exec has /bin/true in its arguments: shown.
    assert!(t
        .seen()
        .iter()
        .any(|l| l.starts_with("exectrigger") && l.contains(&a)));
    json_event(&mut j, |v| v["comm"] == "true" && has_arg(v, &b));
    assert!(!j
        .seen()
        .iter()
        .any(|l| l.contains("\"comm\":\"true\"") && l.contains(&a)));
    stop(t);
    stop(j);
}

#[test]
fn cgroup_filter_includes_descendants() {
    require_root();
    let root = cgroup2_root();
    let dir = root.join(format!("lebpf-test-{}", std::process::id()));
    let sub = dir.join("sub");
    std::fs::create_dir_all(&sub).expect("create test cgroups");
    let (d, s) = (dir.to_str().unwrap(), sub.to_str().unwrap());
    let m_in = marker("cg-in");
    let m_sub = marker("cg-sub");
    let m_out = marker("cg-out");
    let (mut t, mut j) = start_both(&["-c", d]);
    trigger(&["in-cgroup", d, &m_in]);
    trigger(&["run", "/bin/true", &m_out]);
    trigger(&["in-cgroup", s, &m_sub]);
    text_line(&mut t, |l| l.contains(&m_in) && l.starts_with("true "));
    text_line(&mut t, |l| l.contains(&m_sub) && l.starts_with("true "));
    assert!(
        !t.seen().iter().any(|l| l.contains(&m_out)),
        "{:?}",
        t.seen()
    );
    // exectrigger itself runs outside the cgroup: its exec is not shown.
    assert!(!t.seen().iter().any(|l| l.starts_with("exectrigger")));
    json_event(&mut j, |v| has_arg(v, &m_sub));
    assert!(!j.seen().iter().any(|l| l.contains(&m_out)));
    stop(t);
    stop(j);
    let _ = std::fs::remove_dir(&sub);
    let _ = std::fs::remove_dir(&dir);
}

#[test]
fn ppid_is_the_parent_process() {
    require_root();
    let m = marker("ppid");
    let (mut t, mut j) = start_both(&[]);
    let out = trigger(&["run", "/bin/true", &m]);
    let (pid, ppid) = (field(&out, "pid"), field(&out, "ppid"));
    let line = text_line(&mut t, |l| l.contains(&m) && l.starts_with("true "));
    assert_eq!(cols(&line)[1..3], [pid.as_str(), ppid.as_str()], "{line}");
    let v = json_event(&mut j, |v| v["comm"] == "true" && has_arg(v, &m));
    assert_eq!(v["ppid"].to_string(), ppid);
    stop(t);
    stop(j);
}

#[test]
fn optional_columns() {
    require_root();
    let m = marker("cols");
    let mut t = start(&["-T", "-t", "-U", "-q"]);
    let header = text_line(&mut t, |l| l.contains("PCOMM"));
    assert_eq!(
        header,
        "TIME     TIME(s)  UID    PCOMM            PID    PPID   RET ARGS"
    );
    let out = trigger(&["run", "/bin/true", &m]);
    let line = text_line(&mut t, |l| l.contains(&m) && l.contains(" true "));
    let c = cols(&line);
    let hms: Vec<&str> = c[0].split(':').collect();
    assert!(
        hms.len() == 3 && hms.iter().all(|p| p.len() == 2 && p.parse::<u8>().is_ok()),
        "{line}"
    );
    assert!(c[1].parse::<f64>().is_ok_and(|s| s >= 0.0), "{line}");
    assert_eq!(c[2], "0", "{line}");
    assert_eq!(c[3], "true");
    assert_eq!(c[4], field(&out, "pid"));
    assert!(
        line.ends_with(&format!(" 0 \"/bin/true\" \"{m}\"")),
        "{line}"
    );
    stop(t);
}

#[test]
fn default_header_is_libbpf_tools_shape() {
    require_root();
    let mut t = start(&[]);
    let header = text_line(&mut t, |_| true);
    assert_eq!(header, "PCOMM            PID    PPID   RET ARGS");
    stop(t);
}

fn transport_shows_exec(flag: Option<&str>, want: &str) {
    let m = marker(want.split_whitespace().next().unwrap());
    let extra: Vec<&str> = flag.into_iter().collect();
    let (mut t, mut j) = start_both(&extra);
    assert!(
        t.wait_stderr(&format!("via {want}"), WAIT).is_some(),
        "{:?}",
        t.stderr()
    );
    trigger(&["run", "/bin/true", &m]);
    text_line(&mut t, |l| l.contains(&m) && l.starts_with("true "));
    json_event(&mut j, |v| v["comm"] == "true" && has_arg(v, &m));
    let summary = stop(t);
    assert_eq!(summary.lost, 0, "{summary}");
    stop(j);
}

#[test]
fn ring_buffer_transport() {
    require_root();
    transport_shows_exec(None, "ring buffer");
}

#[test]
fn perf_buffer_transport() {
    require_root();
    transport_shows_exec(Some("--perf-buffer"), "perf buffer");
}

/// A concurrent burst: SPAWNERS threads exec at once, PER execs each: 4 x 2,500 =
/// 10,000 on the host, 4 x 500 = 2,000 in the kernel-matrix VMs (software emulation,
/// 5-10x slower; same assertions).
const SPAWNERS: usize = 4;
fn burst_per_spawner() -> usize {
    if std::env::var_os("LEBPF_VMTEST").is_some() {
        500
    } else {
        2_500
    }
}

/// Every exec of the burst (one unique marker each) printed exactly once, nothing lost.
/// The execs are isolated in the test's cgroup (-c), so the summary's counts are the
/// burst's alone, and the buffer is sized to hold the WHOLE burst even if execsnoop
/// read nothing (8 MiB ring; 4 MiB per CPU of perf buffer; an event is ~140 bytes):
/// zero loss is then a correctness requirement, not a race against the consumer.
fn burst(flag: Option<&str>) {
    let per = burst_per_spawner();
    let n = SPAWNERS * per;
    let cg = TestCgroup::new("burst");
    let m = marker("burst");
    let prefix = format!("{m}-");
    let kib = if flag.is_some() { "4096" } else { "8192" };
    let mut args = vec!["-c", cg.path(), "--buffer-kib", kib];
    args.extend(flag);
    let mut t = start(&args);
    let out = trigger(&[
        "--cgroup",
        cg.path(),
        "spawn-many",
        &SPAWNERS.to_string(),
        &per.to_string(),
        &m,
    ]);
    assert_eq!(field(&out, "execs"), n.to_string());
    let mut distinct = HashSet::new();
    while distinct.len() < n {
        match t.wait_line(WAIT, |l| l.starts_with("true ") && l.contains(&prefix)) {
            Some(l) => {
                distinct.insert(marker_in(&l, &prefix).unwrap());
            }
            None => break,
        }
    }
    let summary = stop_keep(&mut t);
    let counts = marker_counts(t.seen(), &prefix);
    let want: HashSet<String> = (0..SPAWNERS)
        .flat_map(|s| (0..per).map(move |i| (s, i)))
        .map(|(s, i)| format!("{m}-{s}-{i}"))
        .collect();
    let missing: Vec<_> = want.iter().filter(|k| !counts.contains_key(*k)).collect();
    let twice: Vec<_> = counts.iter().filter(|(_, &c)| c != 1).collect();
    let foreign: Vec<_> = counts.keys().filter(|k| !want.contains(*k)).collect();
    assert!(
        missing.is_empty() && twice.is_empty() && foreign.is_empty(),
        "of {n}: {} missing (first {:?}), {} not exactly once (first {:?}), {} unknown; {summary}",
        missing.len(),
        missing.first(),
        twice.len(),
        twice.first(),
        foreign.len()
    );
    assert_eq!(summary.lost, 0, "{summary}");
    assert_eq!(summary.events, n as u64, "{summary}");
    assert_eq!(summary.printed, n as u64, "{summary}");
}

#[test]
fn concurrent_burst_each_exec_printed_once() {
    require_root();
    burst(None);
}

#[test]
fn concurrent_burst_each_exec_printed_once_perf_buffer() {
    require_root();
    burst(Some("--perf-buffer"));
}

#[test]
fn head_closes_the_pipe_and_execsnoop_exits_clean() {
    require_root();
    let mut child = Command::new(bin("execsnoop"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn execsnoop");
    let stdout = child.stdout.take().unwrap();
    let m = marker("head");
    let reader = std::thread::spawn(move || {
        // Like `head -3`: read three lines, then close the pipe.
        let mut lines = Vec::new();
        let mut r = BufReader::new(stdout);
        for _ in 0..3 {
            let mut l = String::new();
            if r.read_line(&mut l).unwrap_or(0) == 0 {
                break;
            }
            lines.push(l);
        }
        lines
    });
    let mut lines = None;
    for _ in 0..200 {
        let _ = Command::new(example_bin("exectrigger"))
            .args(["run", "/bin/true", &m])
            .output();
        if reader.is_finished() {
            lines = Some(reader.join().unwrap());
            break;
        }
    }
    let lines = lines.expect("three lines within 200 execs");
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("PCOMM"));
    let mut status = None;
    for _ in 0..(WAIT.as_millis() / 50) {
        if let Some(st) = child.try_wait().unwrap() {
            status = Some(st);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let Some(st) = status else {
        let _ = child.kill();
        panic!("execsnoop still running after its stdout was closed");
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(st.code(), Some(0), "stderr: {err}");
    assert!(err.contains(" events, "), "no summary: {err}");
    assert!(!err.contains("rror"), "{err}");
}

/// (id, name) of every BPF program (`maps` false) or map on the machine.
fn bpf_objects(maps: bool) -> Vec<(u32, String)> {
    let mut v = Vec::new();
    let mut id = 0u32;
    loop {
        let mut next = 0u32;
        // SAFETY: valid out-pointer.
        let rc = unsafe {
            if maps {
                libbpf_sys::bpf_map_get_next_id(id, &mut next)
            } else {
                libbpf_sys::bpf_prog_get_next_id(id, &mut next)
            }
        };
        if rc != 0 {
            break;
        }
        id = next;
        // SAFETY: plain fd-by-id calls; info structs are zeroed PODs.
        let name = unsafe {
            let fd = if maps {
                libbpf_sys::bpf_map_get_fd_by_id(id)
            } else {
                libbpf_sys::bpf_prog_get_fd_by_id(id)
            };
            if fd < 0 {
                continue; // gone meanwhile
            }
            let raw: [std::os::raw::c_char; 16] = if maps {
                let mut info: libbpf_sys::bpf_map_info = std::mem::zeroed();
                let mut len = std::mem::size_of_val(&info) as u32;
                libbpf_sys::bpf_obj_get_info_by_fd(
                    fd,
                    (&mut info as *mut libbpf_sys::bpf_map_info).cast(),
                    &mut len,
                );
                info.name
            } else {
                let mut info: libbpf_sys::bpf_prog_info = std::mem::zeroed();
                let mut len = std::mem::size_of_val(&info) as u32;
                libbpf_sys::bpf_obj_get_info_by_fd(
                    fd,
                    (&mut info as *mut libbpf_sys::bpf_prog_info).cast(),
                    &mut len,
                );
                info.name
            };
            libc::close(fd);
            let bytes: Vec<u8> = raw
                .iter()
                .take_while(|&&c| c != 0)
                .map(|&c| c as u8)
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        v.push((id, name));
    }
    v
}

#[test]
fn sigterm_exits_0_and_leaves_no_bpf_objects() {
    require_root();
    let ours_prog = |n: &str| n.starts_with("execsnoop_");
    let ours_map = |n: &str| n.starts_with("exec_") || n.starts_with("execsnoo");
    let before: HashSet<u32> = bpf_objects(false)
        .into_iter()
        .chain(bpf_objects(true))
        .map(|(id, _)| id)
        .collect();
    let p = start(&["-x"]);
    let mine: Vec<(u32, String)> = bpf_objects(false)
        .into_iter()
        .filter(|(id, n)| !before.contains(id) && ours_prog(n))
        .chain(
            bpf_objects(true)
                .into_iter()
                .filter(|(id, n)| !before.contains(id) && ours_map(n)),
        )
        .collect();
    assert!(
        mine.iter().any(|(_, n)| n == "execsnoop_exec"),
        "our programs not found: {mine:?}"
    );
    assert!(mine.iter().any(|(_, n)| n == "exec_stats"), "{mine:?}");
    stop(p);
    let after: HashSet<u32> = bpf_objects(false)
        .into_iter()
        .chain(bpf_objects(true))
        .map(|(id, _)| id)
        .collect();
    let left: Vec<_> = mine.iter().filter(|(id, _)| after.contains(id)).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn without_privilege_says_so_and_exits_1() {
    require_root();
    let (code, out, err) = run_unprivileged("execsnoop", &[]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("execsnoop: needs root"), "{err}");
}

#[test]
fn bad_values_get_one_line_and_exit_2() {
    for args in [
        &["-u", "abc"][..],
        &["--max-args", "0"],
        &["-c", "/nonexistent/cgroup"],
        &["-c", "/tmp"],
        &["-c", "/sys/fs/cgroup/cgroup.procs"],
        &["--arg-size", "0"],
        &["--bogus"],
    ] {
        let out = Command::new(bin("execsnoop"))
            .args(args)
            .output()
            .expect("run execsnoop");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("execsnoop: "), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_has_examples() {
    let out = Command::new(bin("execsnoop"))
        .arg("--help")
        .output()
        .expect("run execsnoop");
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Examples:"), "{help}");
    for flag in [
        "--fails",
        "--uid",
        "--cgroup",
        "--max-args",
        "--arg-size",
        "--json",
        "--perf-buffer",
        "--duration",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

/// `-d N` ends the run after N seconds: not before (measured from the spawn, which
/// comes before execsnoop starts its clock), and not much later (measured from the
/// moment it said it was tracing). 4 s with 3.5 s of slack: twice the duration is out
/// of bounds on the host; the emulated VMs get more slack for the exit.
#[test]
fn duration_ends_the_run_with_a_summary() {
    require_root();
    const SECS: u64 = 4;
    let slack = if std::env::var_os("LEBPF_VMTEST").is_some() {
        Duration::from_secs(20)
    } else {
        Duration::from_millis(3500)
    };
    let spawned = std::time::Instant::now();
    let mut p = Proc::spawn("execsnoop", &["-d", &SECS.to_string()]);
    assert!(
        p.wait_stderr("tracing exec()", WAIT).is_some(),
        "{:?}",
        p.stderr()
    );
    let tracing = std::time::Instant::now();
    let st = p
        .wait_timeout(WAIT + Duration::from_secs(SECS))
        .expect("exits after --duration");
    let exited = std::time::Instant::now();
    assert_eq!(st.code(), Some(0), "{:?}", p.stderr());
    let ran = exited - spawned;
    assert!(
        ran >= Duration::from_secs(SECS),
        "-d {SECS} ended after {ran:?}"
    );
    let traced = exited - tracing;
    assert!(
        traced <= Duration::from_secs(SECS) + slack,
        "-d {SECS} still ran {traced:?} after it started tracing"
    );
    let summary = summary_of(&p);
    assert_eq!(summary.lost, 0, "{summary}");
}

/// A stalled consumer and a small transport: the kernel must drop events, and every
/// exec the test made is printed or counted lost (printed + lost == made, exactly:
/// the -c cgroup filter makes every event and every loss the test's own), none twice,
/// with a live report of the loss and the count in the summary.
fn lost_events_are_counted(flag: Option<&str>) {
    let cg = TestCgroup::new("lost");
    let m = marker("lost");
    let prefix = format!("{m}-");
    let mut args = vec!["-c", cg.path(), "--buffer-kib", "64"];
    args.extend(flag);
    let mut t = start(&args);
    // Stall the consumer: execsnoop cannot read while stopped. 100 events of 8 KB
    // cannot fit in 64 KiB (per CPU for the perf buffer: 2 CPUs hold at most ~16).
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(t.pid(), libc::SIGSTOP) };
    let out = trigger(&["--cgroup", cg.path(), "spawn-many", "2", "50", &m, "8000"]);
    // SAFETY: as above.
    unsafe { libc::kill(t.pid(), libc::SIGCONT) };
    let made: usize = field(&out, "execs").parse().unwrap();
    assert_eq!(made, 100);
    let live = t.wait_stderr("events (transport full; total", WAIT);
    let summary = stop_keep(&mut t);
    assert!(
        live.is_some(),
        "no live report of the loss: {:?}",
        t.stderr()
    );
    let counts = marker_counts(t.seen(), &prefix);
    let dups: Vec<_> = counts.iter().filter(|(_, &n)| n > 1).collect();
    assert!(dups.is_empty(), "printed twice: {dups:?}");
    let printed = counts.len();
    let lost = summary.lost as usize;
    assert!(
        lost > 0,
        "nothing lost with a stalled 64 KiB buffer: {summary}"
    );
    assert!(printed > 0, "nothing printed after the stall: {summary}");
    assert_eq!(
        printed + lost,
        made,
        "printed {printed} + lost {lost} != made {made}: {summary}"
    );
    // Nothing else was in the cgroup: the summary's own event count agrees.
    assert_eq!(summary.events, printed as u64, "{summary}");
}

#[test]
fn lost_events_are_reported_not_silent() {
    require_root();
    lost_events_are_counted(None);
}

#[test]
fn lost_events_are_reported_not_silent_perf_buffer() {
    require_root();
    lost_events_are_counted(Some("--perf-buffer"));
}

#[test]
fn failed_exec_with_many_args_is_marked() {
    require_root();
    let m = marker("failmany");
    let (mut t, mut j) = start_both(&["-x"]);
    trigger(&["fail-many", "30", &m]);
    // 30 args, 20 shown (argv[0] replaced by the filename in text); the dropped ones
    // were not measured by the kernel: "+?" bytes.
    let line = text_line(&mut t, |l| l.contains(&format!("/nonexistent-lebpf/{m} ")));
    assert!(line.ends_with(" a019 ...[+10 args, +? bytes]"), "{line}");
    assert_eq!(cols(&line)[3], "-2");
    let v = json_event(&mut j, |v| v["event"] == "fail" && has_arg(v, &m));
    assert_eq!(v["argc"], 30);
    assert_eq!(v["args"].as_array().unwrap().len(), 20);
    assert_eq!(v["args_truncated"], 10);
    assert_eq!(v["bytes_truncated"], Value::Null);
    assert_eq!(v["truncated"], true);
    stop(t);
    stop(j);
}

// ---- Fallbacks and limits (reliability) ----

/// A kernel without ring buffers (before 5.8), simulated: execsnoop and hello-buffer
/// fall back to the perf buffer, say so, and still report.
#[test]
fn without_ring_buffer_falls_back_to_perf_buffer_and_says_so() {
    require_root();
    let m = marker("noringbuf");
    let mut cmd = Command::new(bin("execsnoop"));
    cmd.env(lebpf::events::ASSUME_NO_RINGBUF_ENV, "1");
    let mut t = Proc::spawn_cmd(&mut cmd);
    let line = t
        .wait_stderr("tracing exec()", WAIT)
        .unwrap_or_else(|| panic!("no start line: {:?}", t.stderr()));
    assert!(
        line.contains("via perf buffer (this kernel has no ring buffer)"),
        "{line}"
    );
    trigger(&["run", "/bin/true", &m]);
    text_line(&mut t, |l| l.contains(&m) && l.starts_with("true "));
    stop(t);

    let mut cmd = Command::new(bin("hello-buffer"));
    cmd.env(lebpf::events::ASSUME_NO_RINGBUF_ENV, "1");
    let mut h = Proc::spawn_cmd(&mut cmd);
    wait_attached(&h);
    let said = h.stderr().join("\n");
    assert!(said.contains("perf buffer"), "{said}");
    let pid = exec_true(None);
    h.wait_line(WAIT, |l| l.starts_with(&format!("{pid} ")))
        .unwrap_or_else(|| panic!("no event for pid {pid}: {:?}", h.stderr()));
    stop_cleanly(&mut h);
}

/// `--btf`: a missing file is a usage error (exit 2), a file that is not BTF a
/// one-line load error (exit 1), the kernel's own file works.
#[test]
fn btf_option_errors_and_works() {
    require_root();
    let (code, out, err) = run_bin("execsnoop", &["--btf", "/nonexistent-lebpf.btf"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        "execsnoop: --btf /nonexistent-lebpf.btf: no such file\n"
    );

    let bogus = std::env::temp_dir().join(format!("lebpf-bogus-{}.btf", std::process::id()));
    std::fs::write(&bogus, b"not BTF at all").unwrap();
    let (code, out, err) = run_bin("execsnoop", &["--btf", bogus.to_str().unwrap()]);
    let _ = std::fs::remove_file(&bogus);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("execsnoop: loading the BPF programs with the BTF of "),
        "{err}"
    );

    let m = marker("btf");
    let mut t = start(&["--btf", "/sys/kernel/btf/vmlinux"]);
    trigger(&["run", "/bin/true", &m]);
    text_line(&mut t, |l| l.contains(&m));
    stop(t);
}

/// The in-flight map of -x, shrunk to one entry, is filled deterministically: one of
/// the test's failing execs is held inside the kernel (exectrigger's userfaultfd page
/// as its filename) while N more fail. Those N, and only those, are untracked: reported
/// live and in the summary, never printed. Then the SAME execsnoop prints the held exec
/// once released and a failing exec made after it (recovery). The -c cgroup filter
/// keeps other execs on the machine out of the map and the counts.
#[test]
fn full_inflight_map_is_reported_and_recovers() {
    require_root();
    const N: usize = 5;
    let cg = TestCgroup::new("inflight");
    let m = marker("inflight");
    let mut t = start(&["-x", "--inflight-entries", "1", "-c", cg.path()]);
    let out = trigger(&["--cgroup", cg.path(), "inflight-full", &N.to_string(), &m]);
    assert_eq!(field(&out, "full"), N.to_string(), "{out}");
    // In this order, each a failure line (RET -2) of exectrigger.
    for step in ["before", "held", "after"] {
        let path = format!("/nonexistent-lebpf/{m}-{step} ");
        let line = text_line(&mut t, |l| l.contains(&path));
        assert_eq!(cols(&line)[3], "-2", "{line}");
    }
    let live = t.wait_stderr(&format!("(in-flight map full; total {N})"), WAIT);
    let summary = stop_keep(&mut t);
    assert!(live.is_some(), "no live report: {:?}", t.stderr());
    let full_prefix = format!("{m}-full-");
    assert!(
        !t.seen().iter().any(|l| l.contains(&full_prefix)),
        "an untracked exec was printed: {:?}",
        t.seen()
    );
    assert_eq!(summary.untracked, N as u64, "{summary}");
    assert_eq!(summary.events, 3, "{summary}");
    assert_eq!(summary.lost, 0, "{summary}");
}

#[test]
fn inflight_entries_zero_is_a_usage_error() {
    let (code, _, err) = run_bin("execsnoop", &["--inflight-entries", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// 1 MB of argv (16 arguments of 64 KiB): one text line, valid JSON, and the counts of
/// what was cut add up to exactly what the process was given.
#[test]
fn one_megabyte_of_argv_is_cut_and_counted_exactly() {
    require_root();
    let m = marker("mega");
    let big: Vec<String> = (0..16)
        .map(|i| char::from(b'a' + i as u8).to_string().repeat(65536))
        .collect();
    let (mut t, mut j) = start_both(&[]);
    let mut targs: Vec<&str> = vec!["run", "/bin/true", &m];
    targs.extend(big.iter().map(String::as_str));
    trigger(&targs);
    let line = text_line(&mut t, |l| l.starts_with("true ") && l.contains(&m));
    assert!(
        line.ends_with(" bytes]"),
        "{}",
        &line[line.len().saturating_sub(80)..]
    );
    let v = json_event(&mut j, |v| v["comm"] == "true" && has_arg(v, &m));
    assert_eq!(v["argc"], 18);
    assert_eq!(v["truncated"], true);
    let shown: u64 = v["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().len() as u64)
        .sum();
    let given = ("/bin/true".len() + m.len() + 16 * 65536) as u64;
    let shown_args = v["args"].as_array().unwrap().len() as u64;
    assert_eq!(
        v["args_truncated"].as_u64().unwrap(),
        18 - shown_args,
        "{v}"
    );
    assert_eq!(v["bytes_truncated"].as_u64().unwrap(), given - shown, "{v}");
    stop(t);
    stop(j);
}

/// docs/execsnoop.schema.json, compiled (draft 2020-12).
fn schema() -> jsonschema::Validator {
    let text = include_str!("../docs/execsnoop.schema.json");
    let v: Value = serde_json::from_str(text).expect("the schema is JSON");
    jsonschema::draft202012::meta::validate(&v).expect("the schema is a 2020-12 schema");
    jsonschema::draft202012::new(&v).expect("the schema compiles")
}

/// Checks every stdout line against the schema; returns them parsed.
fn validated(s: &jsonschema::Validator, lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let errs: Vec<String> = s.iter_errors(&v).map(|e| e.to_string()).collect();
            assert!(errs.is_empty(), "schema: {errs:?} in {l}");
            v
        })
        .collect()
}

/// The host's name as uname(2) gives it.
fn uname_nodename() -> String {
    // SAFETY: utsname is plain old data; uname fills it.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer.
    assert_eq!(unsafe { libc::uname(&mut u) }, 0);
    // SAFETY: NUL-terminated by uname.
    unsafe { std::ffi::CStr::from_ptr(u.nodename.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The user-space context of the test's own execs: one process that execs twice
/// (/bin/sh, then /bin/true in its place) inside a cgroup the test names as docker
/// does. hostname is uname's, boot_id the kernel's file, cgroup the test's path,
/// container_id the id in its name, and the two execs of one pid get two exec_ids.
#[test]
fn json_context_is_this_hosts_and_this_cgroups() {
    require_root();
    let id = format!("{:064x}", (u128::from(std::process::id()) << 64) | 0xfeed);
    let cg = TestCgroup::named(&format!("docker-{id}.scope"));
    let m = marker("ctx");
    let mut j = start(&["--json", "-c", cg.path()]);
    let script = format!("exec /bin/true {m}");
    trigger(&["--cgroup", cg.path(), "run", "/bin/sh", "-c", &script]);
    let sh = json_event(&mut j, |v| v["comm"] == "sh" && has_arg(v, &script));
    let tr = json_event(&mut j, |v| v["comm"] == "true" && has_arg(v, &m));
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    let s = schema();
    for v in [&sh, &tr] {
        assert_eq!(v["hostname"], uname_nodename().as_str(), "{v}");
        assert_eq!(v["boot_id"], boot_id.trim(), "{v}");
        assert_eq!(v["cgroup"], cg.cgroup_path().as_str(), "{v}");
        assert_eq!(v["container_id"], id.as_str(), "{v}");
        let prefix = format!("{}-{}-", v["pid"], v["tid"]);
        let eid = v["exec_id"].as_str().unwrap();
        assert!(eid.starts_with(&prefix), "{eid} for {v}");
        assert!(eid.ends_with(&format!("-{}", v["ts_ns"])), "{eid} for {v}");
        assert!(s.is_valid(v), "{v}");
    }
    assert_eq!(sh["pid"], tr["pid"], "one process, two execs");
    assert_ne!(sh["exec_id"], tr["exec_id"]);
    let summary = stop(j);
    assert_eq!(
        summary.events, 2,
        "only the test's execs are in its cgroup: {summary}"
    );
}

/// Real output of every record kind (exec, fail, untracked, lost, summary) passes
/// docs/execsnoop.schema.json, and the gap records add up to the summary's counts.
/// Two runs, each filtered to a cgroup of the test's own: one with -x and a one-entry
/// in-flight map (fail, untracked, exec), one stalled with a small buffer (lost).
#[test]
fn json_schema_holds_for_every_record_kind() {
    require_root();
    let s = schema();
    let cg = TestCgroup::new("schema-x");
    let m = marker("schema");
    let mut a = start(&["--json", "-x", "--inflight-entries", "1", "-c", cg.path()]);
    trigger(&["--cgroup", cg.path(), "inflight-full", "3", &m]);
    trigger(&["--cgroup", cg.path(), "run", "/bin/true", &m]);
    json_event(&mut a, |v| v["event"] == "exec" && has_arg(v, &m));
    stop_keep(&mut a);
    let mut all = validated(&s, a.seen());
    let untracked: u64 = all
        .iter()
        .filter(|v| v["event"] == "untracked")
        .map(|v| v["count"].as_u64().unwrap())
        .sum();
    assert_eq!(untracked, 3, "untracked records");

    let cg = TestCgroup::new("schema-lost");
    let mut b = start(&["--json", "-c", cg.path(), "--buffer-kib", "64"]);
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(b.pid(), libc::SIGSTOP) };
    trigger(&["--cgroup", cg.path(), "spawn-many", "2", "50", &m, "8000"]);
    // SAFETY: as above.
    unsafe { libc::kill(b.pid(), libc::SIGCONT) };
    b.wait_stderr("events (transport full; total", WAIT);
    let summary = stop_keep(&mut b);
    let lost_run = validated(&s, b.seen());
    let lost: u64 = lost_run
        .iter()
        .filter(|v| v["event"] == "lost")
        .map(|v| v["count"].as_u64().unwrap())
        .sum();
    assert!(summary.lost > 0, "nothing lost: {summary}");
    assert_eq!(lost, summary.lost, "lost records vs {summary}");
    let last = lost_run.last().expect("lines");
    assert_eq!(Summary::from_json(last), Some(summary), "{last}");
    all.extend(lost_run);
    for kind in ["exec", "fail", "untracked", "lost", "summary"] {
        assert!(
            all.iter().any(|v| v["event"] == kind),
            "no {kind} record validated"
        );
    }
}

/// `-u NAME`: the name is looked up in /etc/passwd (no NSS: the static binary does the
/// same) and filters as its uid does; an unknown name is one line and exit 2.
#[test]
fn uid_filter_by_name() {
    let (code, _, err) = run_bin("execsnoop", &["-u", "no-such-user-lebpf"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no such user"), "{err}");
    require_root();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let Some(name) = passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2] == "65534").then(|| f[0].to_string())
    }) else {
        println!("SKIP: no user with uid 65534 in /etc/passwd on this machine");
        return;
    };
    let m_in = marker("uidname-in");
    let m_out = marker("uidname-out");
    let mut j = start(&["--json", "-u", &name]);
    trigger(&["run", "/bin/true", &m_out]);
    trigger(&["as-uid", "65534", &m_in]);
    let v = json_event(&mut j, |v| has_arg(v, &m_in));
    assert_eq!(v["uid"], 65534);
    assert!(!j.seen().iter().any(|l| l.contains(&m_out)), "{name}");
    stop(j);
}

/// CLOCK_REALTIME in ns.
fn realtime_ns() -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a local timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// Steps CLOCK_REALTIME by `by_ns`; stepping back when dropped.
struct ClockStep(i128);

impl ClockStep {
    fn new(by_ns: i128) -> ClockStep {
        Self::step(by_ns);
        ClockStep(by_ns)
    }

    fn step(by_ns: i128) {
        let t = realtime_ns() + by_ns;
        let ts = libc::timespec {
            tv_sec: t.div_euclid(1_000_000_000) as libc::time_t,
            tv_nsec: t.rem_euclid(1_000_000_000) as libc::c_long,
        };
        // SAFETY: valid pointer to a local timespec.
        let rc = unsafe { libc::clock_settime(libc::CLOCK_REALTIME, &ts) };
        assert_eq!(rc, 0, "clock_settime: {}", std::io::Error::last_os_error());
    }
}

impl Drop for ClockStep {
    fn drop(&mut self) {
        Self::step(-self.0);
    }
}

/// The exec's JSON `time` in ns since the epoch, and the wall clock just before and
/// just after the trigger that made it.
fn timed_exec(j: &mut Proc, m: &str) -> (i128, i128, i128) {
    let before = realtime_ns();
    trigger(&["run", "/bin/true", m]);
    let after = realtime_ns();
    let v = json_event(j, |v| v["comm"] == "true" && has_arg(v, m));
    let t = v["time"].as_str().unwrap();
    (rfc3339_ns(t), before, after)
}

/// Parses `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` (what execsnoop writes) to ns since the epoch.
fn rfc3339_ns(t: &str) -> i128 {
    let n = |r: std::ops::Range<usize>| -> i64 { t[r].parse().unwrap() };
    let (y, mo, d) = (n(0..4), n(5..7), n(8..10));
    // Days from civil (proleptic Gregorian), as in Howard Hinnant's algorithm.
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + n(11..13) * 3600 + n(14..16) * 60 + n(17..19);
    i128::from(secs) * 1_000_000_000 + i128::from(n(20..29))
}

/// A run across a wall-clock step: one hour forward while execsnoop runs. `time` of an
/// exec made 200 ms after the step lies within the wall-clock interval of its trigger,
/// as one made before the step does. (Taken once at start, the offset would put it an
/// hour early.) Steps the clock only in the kernel matrix's guests: on a shared host
/// it would disturb everything else (the offset logic itself is unit-tested there with
/// injected clocks, src/execsnoop/clock.rs).
#[test]
fn time_follows_a_wall_clock_step() {
    require_root();
    assert_eq!(
        rfc3339_ns("2026-11-25T10:48:23.000000001Z"),
        1_795_603_703_000_000_001
    );
    if std::env::var_os("LEBPF_VMTEST").is_none() {
        println!("SKIP: steps the wall clock: runs in the kernel matrix's guests only");
        return;
    }
    let m1 = marker("clock-before");
    let m2 = marker("clock-after");
    let mut j = start(&["--json"]);
    let slack = 5_000_000;
    let (t, lo, hi) = timed_exec(&mut j, &m1);
    assert!(
        lo - slack <= t && t <= hi + slack,
        "before the step: {t} not in {lo}..{hi}"
    );
    let _step = ClockStep::new(3_600_000_000_000);
    std::thread::sleep(Duration::from_millis(200));
    let (t, lo, hi) = timed_exec(&mut j, &m2);
    assert!(
        lo - slack <= t && t <= hi + slack,
        "after a 1 h step: {t} not in {lo}..{hi} (off by {} ms)",
        (t - lo) / 1_000_000
    );
    stop(j);
}
