//! `execsnoop`'s process context (issue 11 §2, kernel side): pcomm, euid/gid/egid,
//! loginuid/sessionid, mntns/pidns, start_ns/parent_start_ns, -P/--ppid, --print-parent
//! and --paths (cwd, exe). Every check is made on the test's own exec, found by its pid
//! or a marker argument, against the truth read from /proc while that process lives.
//!
//! The execs are made from here with std::process::Command (plus pre_exec for chdir,
//! unshare, fork), so these run unchanged in the busybox VM of the kernel matrix.

mod common;

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

fn marker(tag: &str) -> String {
    format!("lebpfctx-{tag}-{}", std::process::id())
}

/// Starts execsnoop and waits until it is attached.
fn start(args: &[&str]) -> Proc {
    let p = Proc::spawn("execsnoop", args);
    if p.wait_stderr("tracing exec()", WAIT).is_none() {
        panic!("execsnoop {args:?} did not start; stderr: {:?}", p.stderr());
    }
    p
}

fn json_event(p: &mut Proc, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let line = p
        .wait_line(WAIT, |l| {
            serde_json::from_str::<Value>(l).is_ok_and(|v| pred(&v))
        })
        .unwrap_or_else(|| panic!("no JSON line for {what}; stderr: {:?}", p.stderr()));
    serde_json::from_str(&line).expect("valid JSON")
}

fn has_arg(v: &Value, m: &str) -> bool {
    v["args"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(m)))
}

fn is_exec_of(v: &Value, pid: u32) -> bool {
    v["event"] == "exec" && v["pid"].as_u64() == Some(u64::from(pid))
}

/// The program /bin/true really is (busybox in the VM, coreutils on the host).
fn true_binary() -> PathBuf {
    std::fs::canonicalize("/bin/true").expect("/bin/true")
}

/// The inode of /proc/<pid>/ns/<ns> (what `mntns`/`pidns` must equal).
fn ns_inode(pid: u32, ns: &str) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/{ns}"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/ns/{ns}: {e}"))
        .ino()
}

/// Field 22 of /proc/<pid>/stat (start time in clock ticks since boot).
fn start_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // The comm field may hold spaces: count from the closing parenthesis.
    let rest = &stat[stat.rfind(')').expect(")") + 2..];
    rest.split(' ')
        .nth(19)
        .expect("field 22")
        .parse()
        .expect("number")
}

/// The kernel's conversion of start_boottime to /proc's ticks (USER_HZ).
fn ns_to_ticks(ns: u64) -> u64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    ns / (1_000_000_000 / hz)
}

/// A directory of our own under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(marker(tag));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("mkdir");
        TempDir(std::fs::canonicalize(&p).expect("canonicalize"))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Spawns `prog args` with stdout/stderr to /dev/null.
fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn")
}

/// A process that lives a few seconds (so /proc can be read), tagged with `m`:
/// `/bin/sh -c 'sleep 5' m` ($0 = m).
fn sleeper(m: &str) -> Command {
    let mut c = Command::new("/bin/sh");
    c.args(["-c", "sleep 5", m]);
    c
}

fn reap(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

/// Loads and runs with every option that changes the kernel side (--paths walks,
/// -x programs, -P filter) on both transports: the verifier accepts each variant on
/// this kernel, and the test's own exec comes through.
#[test]
fn every_kernel_variant_loads_and_reports() {
    require_root();
    let me = std::process::id().to_string();
    for (i, extra) in [
        &["--paths"][..],
        &["--paths", "-x"],
        &["--paths", "-x", "--perf-buffer"],
        &["--perf-buffer"],
        &["-P", &me, "--paths"],
    ]
    .iter()
    .enumerate()
    {
        let m = marker(&format!("load{i}"));
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let mut p = start(&args);
        let c = spawn(Command::new("/bin/true").arg(&m));
        let pid = c.id();
        reap(c);
        let v = json_event(&mut p, &m, |v| has_arg(v, &m));
        assert_eq!(v["pid"].as_u64(), Some(u64::from(pid)), "{extra:?}: {v}");
        stop_cleanly(&mut p);
    }
}
