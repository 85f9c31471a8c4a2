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
        // The verifier's verdict, for the kernel matrix's report.
        let mut v = vec!["-v", "-d", "1"];
        v.extend_from_slice(args);
        let (_, _, err) = run_bin("execsnoop", &v);
        let mut tail: Vec<&str> = err.lines().rev().take(40).collect();
        tail.reverse();
        panic!(
            "execsnoop {args:?} did not start; stderr: {:?}; with -v, last lines: {:#?}",
            p.stderr(),
            tail
        );
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

/// The events of `pid` among the lines read so far (and until `until` matches).
fn events_of(p: &Proc, pid: u32) -> Vec<Value> {
    p.seen()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| is_exec_of(v, pid))
        .collect()
}

fn u64_of(v: &Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("no number {k} in {v}"))
}

/// A directory where set-user-ID bits take effect (not mounted nosuid).
fn suid_capable_dir(tag: &str) -> TempDir {
    for base in [
        std::env::temp_dir(),
        "/dev/shm".into(),
        "/run".into(),
        "/root".into(),
    ] {
        // SAFETY: statvfs is plain old data; valid path and pointer.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        let c = std::ffi::CString::new(base.as_os_str().as_encoded_bytes()).unwrap();
        if unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0 && st.f_flag & libc::ST_NOSUID == 0 {
            let p = base.join(marker(tag));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).expect("mkdir");
            return TempDir(std::fs::canonicalize(&p).expect("canonicalize"));
        }
    }
    panic!("no directory without nosuid for the setuid helper");
}

/// uid != euid after a set-user-ID exec (and gid != egid after set-group-ID): the
/// event carries the NEW credentials. A second exec with plain distinct ids checks
/// that uid/gid/euid/egid are not swapped among themselves.
#[test]
fn setuid_exec_shows_the_new_effective_ids() {
    require_root();
    let dir = suid_capable_dir("suid");
    // Named `true` so busybox (the VM's /bin/true) still runs its `true` applet.
    let helper = dir.0.join("true");
    std::fs::copy(true_binary(), &helper).expect("copy /bin/true");
    std::os::unix::fs::chown(&helper, Some(65534), Some(65534)).expect("chown");
    let mut perm = std::fs::metadata(&helper).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o6755);
    std::fs::set_permissions(&helper, perm).expect("chmod 6755");
    // Let uid 1000 reach the helper.
    let mut dperm = std::fs::metadata(&dir.0).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut dperm, 0o755);
    std::fs::set_permissions(&dir.0, dperm).unwrap();

    let mut p = start(&["--json"]);
    let m = marker("suid");
    let c = spawn(Command::new(&helper).arg(&m));
    let pid = c.id();
    reap(c);
    let v = json_event(&mut p, "setuid exec", |v| has_arg(v, &m));
    assert_eq!(u64_of(&v, "pid"), u64::from(pid), "{v}");
    assert_eq!(
        (
            u64_of(&v, "uid"),
            u64_of(&v, "euid"),
            u64_of(&v, "gid"),
            u64_of(&v, "egid")
        ),
        (0, 65534, 0, 65534),
        "root running a 6755 program owned by 65534:65534: {v}"
    );

    let m2 = marker("ids");
    let c = spawn(Command::new(&helper).arg(&m2).uid(1000).gid(1001));
    reap(c);
    let v = json_event(&mut p, "exec as 1000:1001", |v| has_arg(v, &m2));
    assert_eq!(
        (
            u64_of(&v, "uid"),
            u64_of(&v, "euid"),
            u64_of(&v, "gid"),
            u64_of(&v, "egid")
        ),
        (1000, 65534, 1001, 65534),
        "uid 1000 gid 1001 running the same program: {v}"
    );
    stop_cleanly(&mut p);
}

/// mntns is the exec'ing process's mount namespace (a new one made by unshare in
/// the child), and pidns its own pid namespace: after unshare(CLONE_NEWPID) without a
/// fork the process itself stays in the old one (only pid_for_children changes); its
/// forked child is in the new one.
#[test]
fn namespaces_are_the_execing_processs() {
    require_root();
    let me = std::process::id();
    let mut p = start(&["--json"]);

    // A new mount namespace, made in the child before it execs.
    let m = marker("mntns");
    let mut cmd = sleeper(&m);
    // SAFETY: unshare is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let c = spawn(&mut cmd);
    let v = json_event(&mut p, "exec in a new mount ns", |v| has_arg(v, &m));
    let pid = u64_of(&v, "pid") as u32;
    assert_eq!(pid, c.id());
    assert_eq!(u64_of(&v, "mntns"), ns_inode(pid, "mnt"), "{v}");
    assert_ne!(
        u64_of(&v, "mntns"),
        ns_inode(me, "mnt"),
        "unshare made a new one: {v}"
    );
    assert_eq!(u64_of(&v, "pidns"), ns_inode(me, "pid"), "{v}");
    reap(c);

    // unshare(CLONE_NEWPID) without a fork: the exec'ing process keeps its pid ns.
    let m = marker("pidns-self");
    let mut cmd = sleeper(&m);
    // SAFETY: unshare is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::unshare(libc::CLONE_NEWPID) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let c = spawn(&mut cmd);
    let v = json_event(&mut p, "exec after unshare(CLONE_NEWPID)", |v| {
        has_arg(v, &m)
    });
    let pid = c.id();
    assert_eq!(u64_of(&v, "pid"), u64::from(pid));
    assert_eq!(u64_of(&v, "pidns"), ns_inode(pid, "pid"), "{v}");
    assert_eq!(u64_of(&v, "pidns"), ns_inode(me, "pid"), "{v}");
    // The unshare took effect for the children (readable only once the new
    // namespace has a process, which depends on whether the shell forks).
    if let Ok(m) = std::fs::metadata(format!("/proc/{pid}/ns/pid_for_children")) {
        assert_ne!(m.ino(), ns_inode(pid, "pid"), "pid_for_children");
    }
    reap(c);

    // unshare(CLONE_NEWPID), then fork: the grandchild (pid 1 there) execs.
    let m = marker("pidns-child");
    let mut cmd = sleeper(&m);
    // SAFETY: unshare, fork and _exit are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::unshare(libc::CLONE_NEWPID) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            match libc::fork() {
                -1 => Err(std::io::Error::last_os_error()),
                0 => Ok(()),
                // Not waiting: this process holds std's exec-status pipe, and
                // spawn() returns only once every holder has exec'd or exited. The
                // grandchild is reparented and killed below.
                _ => libc::_exit(0),
            }
        });
    }
    let c = spawn(&mut cmd);
    let v = json_event(&mut p, "exec in a new pid ns", |v| has_arg(v, &m));
    let pid = u64_of(&v, "pid") as u32;
    assert_ne!(pid, c.id(), "the grandchild execs");
    assert_eq!(u64_of(&v, "pidns"), ns_inode(pid, "pid"), "{v}");
    assert_ne!(u64_of(&v, "pidns"), ns_inode(me, "pid"), "{v}");
    // SAFETY: kill on the grandchild's pid (still alive: it sleeps).
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    reap(c);
    stop_cleanly(&mut p);
}

/// A process that execs twice (`sh -c 'exec sleep 5'`): both events have its pid and
/// the same start_ns, which is what /proc/PID/stat says (in clock ticks); parent_start_ns
/// is this test process's start, ppid its pid, and pcomm the name of the thread that
/// forked it.
#[test]
fn start_times_and_parent_name() {
    require_root();
    let me = std::process::id();
    let mut p = start(&["--json"]);
    let m = marker("start");
    let c = spawn(Command::new("/bin/sh").args(["-c", "exec /bin/sleep 5", &m]));
    let pid = c.id();
    let first = json_event(&mut p, "sh", |v| has_arg(v, &m));
    let second = json_event(&mut p, "sleep", |v| is_exec_of(v, pid) && !has_arg(v, &m));
    assert_eq!(u64_of(&first, "pid"), u64::from(pid));
    assert_eq!(second["comm"], "sleep", "{second}");
    let start = u64_of(&first, "start_ns");
    assert_eq!(u64_of(&second, "start_ns"), start, "one process, two execs");
    assert_eq!(
        ns_to_ticks(start),
        start_ticks(&pid.to_string()),
        "start_ns vs /proc/{pid}/stat: {first}"
    );
    for v in [&first, &second] {
        assert_eq!(u64_of(v, "ppid"), u64::from(me), "{v}");
        assert_eq!(
            ns_to_ticks(u64_of(v, "parent_start_ns")),
            start_ticks("self"),
            "parent_start_ns vs /proc/self/stat: {v}"
        );
        assert_ne!(u64_of(v, "parent_start_ns"), start, "{v}");
        assert_eq!(v["pcomm"].as_str(), Some(thread_comm().as_str()), "{v}");
    }
    assert_eq!(events_of(&p, pid).len(), 2);
    reap(c);
    stop_cleanly(&mut p);
}

/// loginuid and sessionid are the exec'ing process's (as /proc/PID/loginuid and
/// /proc/PID/sessionid say; null for unset). The child sets its own loginuid first
/// (root may, once, while unset), which also gives it a new session id: so both
/// are real values here, not just "unset" on both sides.
#[test]
fn audit_ids_are_the_processs() {
    require_root();
    if !Path::new("/proc/self/loginuid").exists() {
        skip("kernel without audit (no /proc/self/loginuid): loginuid/sessionid are null");
        return;
    }
    let mut p = start(&["--json"]);
    let m = marker("audit");
    let mut cmd = sleeper(&m);
    // SAFETY: open/write/close are async-signal-safe; the path is a literal.
    unsafe {
        cmd.pre_exec(|| {
            let fd = libc::open(c"/proc/self/loginuid".as_ptr(), libc::O_WRONLY);
            if fd >= 0 {
                // May fail (already set and immutable): the test then compares
                // whatever /proc says.
                libc::write(fd, b"4242".as_ptr().cast(), 4);
                libc::close(fd);
            }
            Ok(())
        });
    }
    let c = spawn(&mut cmd);
    let pid = c.id();
    let v = json_event(&mut p, "exec", |v| has_arg(v, &m));
    assert_eq!(u64_of(&v, "pid"), u64::from(pid));
    for (key, file) in [("loginuid", "loginuid"), ("sessionid", "sessionid")] {
        let truth: u64 = std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .expect("read")
            .trim()
            .parse()
            .expect("number");
        if truth == 4294967295 {
            assert!(v[key].is_null(), "{key} unset: {v}");
        } else {
            assert_eq!(v[key].as_u64(), Some(truth), "{key}: {v}");
        }
    }
    reap(c);
    stop_cleanly(&mut p);
}

/// -P PID: only execs whose parent is PID, filtered in the kernel (no other line
/// reaches the output at all).
#[test]
fn ppid_filter_keeps_only_that_parents_children() {
    require_root();
    let me = std::process::id();
    let mut p = start(&["--json", "-P", &me.to_string()]);
    let (m1, m2, m3) = (marker("ppid1"), marker("ppid2"), marker("ppid3"));
    reap(spawn(Command::new("/bin/true").arg(&m1)));
    // A grandchild: its parent is the shell (`; :` keeps the shell from exec'ing it).
    let script = format!("/bin/true {m2}; :");
    reap(spawn(Command::new("/bin/sh").args(["-c", &script])));
    reap(spawn(Command::new("/bin/true").arg(&m3)));
    json_event(&mut p, "child 1", |v| has_arg(v, &m1));
    json_event(&mut p, "child 3", |v| has_arg(v, &m3));
    let events: Vec<Value> = p
        .seen()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == "exec")
        .collect();
    assert!(
        events.iter().all(|v| u64_of(v, "ppid") == u64::from(me)),
        "only children of {me}: {events:?}"
    );
    assert!(
        !events.iter().any(|v| has_arg(v, &m2)),
        "the grandchild was filtered: {events:?}"
    );
    assert!(
        events.iter().any(|v| v["comm"] == "sh"),
        "the shell (a child) was seen: {events:?}"
    );
    stop_cleanly(&mut p);
}

/// --print-parent: a PARENT column (the parent's comm) after PPID; the columns before
/// it are unchanged.
#[test]
fn print_parent_column() {
    require_root();
    let mut p = start(&["--print-parent"]);
    let header = p
        .wait_line(WAIT, |l| l.starts_with("PCOMM"))
        .expect("header");
    assert_eq!(
        header,
        "PCOMM            PID    PPID   PARENT           RET ARGS"
    );
    let m = marker("parent");
    let c = spawn(Command::new("/bin/true").arg(&m));
    let pid = c.id();
    reap(c);
    let line = p
        .wait_line(WAIT, |l| l.contains(&m))
        .unwrap_or_else(|| panic!("no line; stderr {:?}", p.stderr()));
    let comm = thread_comm();
    let expect = format!(
        "true             {:<6} {:<6} {:<16}   0 /bin/true {m}",
        pid,
        std::process::id(),
        comm
    );
    assert_eq!(line, expect);
    stop_cleanly(&mut p);
}

/// --paths: cwd (a chdir into a directory of ours, below a tmpfs mounted on the
/// way so the walk crosses a mount), exe through a symlink (the target is shown), and
/// a cwd deeper than the walk's bound (cut, marked, the leaf kept). In JSON and text.
#[test]
fn paths_cwd_and_exe() {
    require_root();
    let dir = TempDir::new("paths");
    // A tmpfs in the middle of the path (this test's private mount namespace).
    let mnt = dir.0.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let c_mnt = std::ffi::CString::new(mnt.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: valid C strings.
    let rc = unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            c_mnt.as_ptr(),
            c"tmpfs".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "mount tmpfs: {}", std::io::Error::last_os_error());
    let cwd = mnt.join("work dir");
    std::fs::create_dir(&cwd).unwrap();
    let link = dir.0.join("link-to-true");
    std::os::unix::fs::symlink(true_binary(), &link).unwrap();
    // Deeper than EXECSNOOP_PATH_DEPTH (32) components.
    let mut deep = dir.0.clone();
    for i in 0..40 {
        deep.push(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();

    let mut j = start(&["--json", "--paths"]);
    let mut t = start(&["--paths"]);
    let m = marker("paths");
    reap(spawn(Command::new(&link).arg(&m).current_dir(&cwd)));
    let v = json_event(&mut j, "exec through a symlink", |v| has_arg(v, &m));
    assert_eq!(v["cwd"].as_str(), Some(cwd.to_str().unwrap()), "{v}");
    assert_eq!(
        v["exe"].as_str(),
        Some(true_binary().to_str().unwrap()),
        "{v}"
    );
    assert_eq!(v["filename"].as_str(), Some(link.to_str().unwrap()), "{v}");
    assert_eq!(
        (v["cwd_cut"].as_bool(), v["exe_cut"].as_bool()),
        (Some(false), Some(false))
    );
    let line = t.wait_line(WAIT, |l| l.contains(&m)).expect("text line");
    let second = t.wait_line(WAIT, |_| true).expect("paths line");
    assert!(line.ends_with(&m), "{line}");
    assert_eq!(
        second,
        format!(
            "    cwd=\"{}\" exe=\"{}\"",
            cwd.display(),
            true_binary().display()
        )
    );

    let m = marker("deep");
    reap(spawn(Command::new("/bin/true").arg(&m).current_dir(&deep)));
    let v = json_event(&mut j, "exec in a deep cwd", |v| has_arg(v, &m));
    assert_eq!(v["cwd_cut"].as_bool(), Some(true), "{v}");
    assert_eq!(v["exe_cut"].as_bool(), Some(false), "{v}");
    let got = v["cwd"].as_str().unwrap();
    assert!(
        deep.to_str().unwrap().ends_with(got),
        "a tail of the real path: {got}"
    );
    assert!(got.ends_with("/d38/d39"), "{got}");
    let line = t.wait_line(WAIT, |l| l.contains(&m)).expect("text line");
    let second = t.wait_line(WAIT, |_| true).expect("paths line");
    assert!(line.ends_with(&m), "{line}");
    assert!(second.starts_with("    cwd=\".../"), "{second}");
    stop_cleanly(&mut j);
    stop_cleanly(&mut t);
    // SAFETY: valid C string.
    unsafe { libc::umount2(c_mnt.as_ptr(), libc::MNT_DETACH) };
}
