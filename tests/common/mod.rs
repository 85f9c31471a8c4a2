//! Helpers shared by the integration tests.
//!
//! Privileged tests call [`require_root`] first: without root they FAIL (CI runs as
//! root; a privileged test that quietly passes would hide a broken setup). A kernel that
//! lacks a feature makes a test call [`skip`], which prints `SKIP: <test>: <reason>`
//! (the kernel-matrix harness collects those lines) and returns.
//!
//! The trace pipe is one global stream that readers consume: run these tests with
//! `--test-threads=1` (the Makefile does).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Path of one of the package's binaries: `$LEBPF_BIN_DIR/<name>` when set (the VM
/// harness), else next to the test executable's `deps/` folder (cargo's layout).
pub fn bin(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("LEBPF_BIN_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let p = dir.join(name);
    assert!(p.exists(), "{} not built (cargo build first)", p.display());
    p
}

/// Fails the test unless running as root, then moves the test's thread into a mount
/// namespace of its own that looks like a freshly booted machine (see
/// [`enter_fresh_mount_namespace`]): every program the test starts begins there, and
/// whatever they (or the test) mount goes away with the test, so no test depends on
/// what an earlier run, or the machine's own setup, left mounted.
pub fn require_root() {
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "privileged test: must run as root (make test as root / sudo)"
    );
    enter_fresh_mount_namespace();
}

/// The mounts a freshly booted machine does not have and our programs need: tracefs
/// (where libbpf reads tracepoint ids, and trace_pipe) and debugfs (whose `tracing`
/// directory is tracefs again).
pub const NOT_ON_A_FRESH_BOOT: [&str; 3] = [
    "/sys/kernel/debug/tracing",
    "/sys/kernel/debug",
    "/sys/kernel/tracing",
];

/// Gives the calling thread (and the processes it starts from now on) a private copy
/// of the mount table, with tracefs and debugfs unmounted in it: the state of a fresh
/// boot, whatever the machine has mounted. The machine's own mounts are untouched.
/// Called again, it starts over from a new copy (programs started earlier keep theirs).
pub fn enter_fresh_mount_namespace() {
    // SAFETY: plain syscalls on valid NUL-terminated strings. unshare(CLONE_NEWNS)
    // affects only the calling thread (CLONE_FS is implied and allowed in a
    // multi-threaded process).
    unsafe {
        assert_eq!(
            libc::unshare(libc::CLONE_NEWNS),
            0,
            "unshare(CLONE_NEWNS): {}",
            std::io::Error::last_os_error()
        );
        assert_eq!(
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null()
            ),
            0,
            "making / private: {}",
            std::io::Error::last_os_error()
        );
    }
    for dir in NOT_ON_A_FRESH_BOOT {
        let c = std::ffi::CString::new(dir).unwrap();
        // Stacked mounts come off one at a time; EINVAL: nothing (more) mounted there.
        // SAFETY: valid path.
        while unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } == 0 {}
    }
    assert!(
        lebpf::tracefs::find().is_none(),
        "tracefs still mounted after unmounting it in a private namespace"
    );
}

/// The running test's name (libtest names the thread after it).
pub fn test_name() -> String {
    thread::current().name().unwrap_or("?").to_string()
}

/// Reports a skip with its reason. The caller returns right after.
pub fn skip(reason: &str) {
    eprintln!("SKIP: {}: {}", test_name(), reason);
    println!("SKIP: {}: {}", test_name(), reason);
}

/// True when this kernel offers kprobes.
pub fn kprobes_available() -> bool {
    lebpf::attach::kprobes_available()
}

/// A spawned program whose stdout and stderr are read line by line in the background.
pub struct Proc {
    child: Child,
    out: Receiver<String>,
    err_lines: Arc<Mutex<Vec<String>>>,
    seen: Vec<String>,
}

impl Proc {
    /// Starts `bin(name)` with `args`.
    pub fn spawn(name: &str, args: &[&str]) -> Proc {
        Self::spawn_cmd(Command::new(bin(name)).args(args))
    }

    /// Starts a prepared command (stdout/stderr are replaced by pipes).
    pub fn spawn_cmd(cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let (tx, out) = channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let err_lines = Arc::new(Mutex::new(Vec::new()));
        let sink = err_lines.clone();
        let stderr = child.stderr.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        Proc {
            child,
            out,
            err_lines,
            seen: Vec::new(),
        }
    }

    /// Waits until stderr has a line containing `needle` (e.g. the "attached to" line).
    pub fn wait_stderr(&self, needle: &str, timeout: Duration) -> Option<String> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(l) = self
                .err_lines
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains(needle))
            {
                return Some(l.clone());
            }
            if Instant::now() >= end {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// All stderr lines so far.
    pub fn stderr(&self) -> Vec<String> {
        self.err_lines.lock().unwrap().clone()
    }

    /// Waits for a stdout line matching `pred`; lines read on the way are kept in
    /// [`Proc::seen`].
    pub fn wait_line(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        let end = Instant::now() + timeout;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.out.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return Some(line);
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return None
                }
            }
        }
    }

    /// Every stdout line read so far.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Reads stdout lines for `dur` and returns them (also kept in `seen`).
    pub fn collect_for(&mut self, dur: Duration) -> Vec<String> {
        let end = Instant::now() + dur;
        let mut got = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.out.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    got.push(l)
                }
                Err(_) => break,
            }
        }
        got
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends `sig` and waits up to `timeout` for the exit.
    pub fn signal_and_wait(&mut self, sig: i32, timeout: Duration) -> Option<ExitStatus> {
        // SAFETY: plain kill(2) on our own child.
        unsafe { libc::kill(self.pid(), sig) };
        self.wait_timeout(timeout)
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                // let the reader threads drain
                thread::sleep(Duration::from_millis(50));
                while let Ok(l) = self.out.try_recv() {
                    self.seen.push(l);
                }
                return Some(st);
            }
            thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command to completion, returning its status.
pub fn run(path: &str, args: &[&str]) -> ExitStatus {
    Command::new(path)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("running {path}: {e}"))
}

/// Runs `bin(name) args` as uid/gid 65534 (nobody) and returns (exit code, stdout, stderr).
pub fn run_unprivileged(name: &str, args: &[&str]) -> (Option<i32>, String, String) {
    use std::os::unix::process::CommandExt;
    let out = Command::new(bin(name))
        .args(args)
        .uid(65534)
        .gid(65534)
        .output()
        .expect("spawn as nobody");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The calling thread's comm: what a child forked from here is called until it
/// execs (BPF programs on execve entry see this name).
pub fn thread_comm() -> String {
    std::fs::read_to_string("/proc/thread-self/comm")
        .expect("read /proc/thread-self/comm")
        .trim_end_matches('\n')
        .to_string()
}

/// The calling thread's id (the "pid" field of its trace_pipe lines).
pub fn gettid() -> u32 {
    // SAFETY: gettid cannot fail.
    unsafe { libc::gettid() as u32 }
}

/// Opens (creating it when `create`) `path` with the openat syscall itself, which is
/// what hello-file and hello-file-ring-buffer watch (sys_enter_openat). Not std's
/// `File::open`: on x86_64, musl (the static release build the kernel matrix runs)
/// makes the older `open` syscall, which those programs do not see.
pub fn openat_syscall(path: &std::path::Path, create: bool) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).expect("path without NUL");
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | if create { libc::O_CREAT } else { 0 };
    // SAFETY: a valid NUL-terminated path; the raw syscall takes plain integers.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            c.as_ptr(),
            flags,
            0o600 as libc::c_uint,
        )
    };
    if fd >= 0 {
        // SAFETY: fd was just returned to us and is closed once.
        unsafe { libc::close(fd as libc::c_int) };
    }
}

/// Runs /bin/true (as `uid` when given) and returns the pid that called execve.
pub fn exec_true(uid: Option<u32>) -> u32 {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new("/bin/true");
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    let mut child = cmd.spawn().expect("spawn /bin/true");
    let pid = child.id();
    assert!(child.wait().expect("wait /bin/true").success());
    pid
}

/// Waits for the program's "attached to" line on stderr and returns it.
pub fn wait_attached(p: &Proc) -> String {
    p.wait_stderr("attached to", Duration::from_secs(15))
        .unwrap_or_else(|| panic!("no 'attached to' line; stderr: {:?}", p.stderr()))
}

/// Checks the no-privilege behaviour: as nobody, `name args` prints one line on
/// stderr naming the missing privilege, nothing on stdout, and exits 1.
pub fn assert_unprivileged_fails(name: &str, args: &[&str]) {
    let (code, out, err) = run_unprivileged(name, args);
    assert_eq!(code, Some(1), "stderr: {err}");
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "{name}: needs root, or the capabilities CAP_BPF and CAP_PERFMON"
        )),
        "{err}"
    );
}

/// SIGTERM, then expects exit code 0.
pub fn stop_cleanly(p: &mut Proc) {
    let st = p
        .signal_and_wait(libc::SIGTERM, Duration::from_secs(5))
        .expect("exit after SIGTERM");
    assert_eq!(st.code(), Some(0), "stderr: {:?}", p.stderr());
}

/// Runs `bin(name) args` to completion as the current user: (exit code, stdout, stderr).
pub fn run_bin(name: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(bin(name))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running {name}: {e}"));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `name args | head -1`: after the reader of stdout goes away, the program's next
/// write fails with EPIPE and it must exit 0. `trigger` makes it print.
pub fn assert_exits_0_when_stdout_closes(name: &str, args: &[&str], trigger: impl Fn()) {
    let mut child = Command::new(bin(name))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = out.read_line(&mut line);
        let _ = tx.send(line);
        // `out` is dropped here: the pipe's only reader closes.
    });
    let end = Instant::now() + Duration::from_secs(20);
    let mut got_line = false;
    while Instant::now() < end {
        if !got_line && rx.try_recv().is_ok() {
            got_line = true;
        }
        if let Some(st) = child.try_wait().expect("try_wait") {
            assert!(got_line, "{name} exited before printing: {st}");
            assert_eq!(st.code(), Some(0), "{name} after stdout closed: {st}");
            return;
        }
        trigger();
        thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("{name} did not exit after its stdout closed");
}

/// Path of one of the package's example programs (test helpers such as
/// `exectrigger`): `$LEBPF_BIN_DIR/<name>` when set (the VM harness), else cargo's
/// `target/<profile>/examples/` (build them with `cargo build --examples`).
pub fn example_bin(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("LEBPF_BIN_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let p = dir.join("examples").join(name);
    assert!(
        p.exists(),
        "{} not built (cargo build --examples first)",
        p.display()
    );
    p
}

/// A uid no other process on the machine runs as: counts for it are the test's alone.
pub fn own_uid() -> u32 {
    60000 + std::process::id() % 5000
}

/// How a program's output shows the test's own exec: the pid that called exec (and,
/// for hello-map, a uid only the test uses, with its exact count).
#[derive(Clone, Copy)]
pub enum Own {
    /// hello, hello-tail, hello-func: a trace_pipe line from the child's pid.
    TraceLineFrom,
    /// hello-buffer, hello-buffer-config: first column is the child's pid.
    FirstColumn,
    /// execsnoop: second column (PID) is the child's pid.
    SecondColumn,
    /// hello-map: `ID <uid>: <n>` with n exactly the execs made as that uid.
    UidExecs,
    /// hello-map --all-syscalls: n at least the execs made (each makes many syscalls).
    UidSyscalls,
}

/// The book's line, `ID {uid}: {count}` and a TAB per entry, read back.
pub fn parse_counts(line: &str) -> Option<Vec<(u64, u64)>> {
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

/// The count of `uid` in a hello-map line (0 when absent); panics on a line that is
/// not hello-map's.
pub fn count_of(line: &str, uid: u32) -> u64 {
    let counts = parse_counts(line).unwrap_or_else(|| panic!("bad line {line:?}"));
    counts
        .iter()
        .find(|(u, _)| *u == u64::from(uid))
        .map_or(0, |(_, c)| *c)
}

/// Makes execs (as [`own_uid`] for the hello-map kinds) until `p` shows one of them
/// the way `own` says; panics naming `what` if none shows within ten tries.
pub fn wait_own_event(p: &mut Proc, own: Own, what: &str) {
    let uid = own_uid();
    for made in 1..=10u64 {
        let as_uid = matches!(own, Own::UidExecs | Own::UidSyscalls).then_some(uid);
        let pid = exec_true(as_uid).to_string();
        let ok = |l: &str| match own {
            Own::TraceLineFrom => {
                lebpf::tracepipe::parse_line(l).is_some_and(|t| t.pid.to_string() == pid)
            }
            Own::FirstColumn => l.split_whitespace().next() == Some(&pid),
            Own::SecondColumn => l.split_whitespace().nth(1) == Some(&pid),
            Own::UidExecs | Own::UidSyscalls => {
                let n = count_of(l, uid);
                if matches!(own, Own::UidExecs) {
                    assert!(n <= made, "{what}: more execs than made ({made}): {l}");
                    n == made
                } else {
                    n >= made
                }
            }
        };
        // hello-map prints every 2 s.
        if p.wait_line(Duration::from_secs(3), ok).is_some() {
            return;
        }
    }
    panic!(
        "{what}: no event for the test's own exec; stderr {:?}; last lines {:?}",
        p.stderr(),
        p.seen().iter().rev().take(5).collect::<Vec<_>>()
    );
}

/// A cgroup v2 hierarchy to make test cgroups in: the machine's (found in
/// /proc/thread-self/mounts: /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems), or
/// when none is mounted (a fresh boot without systemd, the kernel-matrix guests) one
/// the test mounts itself in its private mount namespace (see [`require_root`]).
pub fn cgroup2_root() -> PathBuf {
    let mounts =
        std::fs::read_to_string("/proc/thread-self/mounts").expect("read /proc/thread-self/mounts");
    if let Some(root) = mounts.lines().find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.len() > 2 && f[2] == "cgroup2").then(|| PathBuf::from(f[1]))
    }) {
        return root;
    }
    let dir = std::env::temp_dir().join(format!("lebpf-cgroup2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create cgroup2 mount point");
    let target = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    // SAFETY: valid NUL-terminated strings.
    let rc = unsafe {
        libc::mount(
            c"cgroup2".as_ptr(),
            target.as_ptr(),
            c"cgroup2".as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    assert_eq!(
        rc,
        0,
        "no cgroup v2 mounted and mounting one at {} failed: {}",
        dir.display(),
        std::io::Error::last_os_error()
    );
    dir
}

/// A cgroup v2 directory of one test. Execs made with `exectrigger --cgroup DIR` are in
/// it, and `execsnoop -c DIR` filters in the kernel on it: every event, loss and
/// untracked failure such an execsnoop counts is the test's own, so its summary can
/// be compared with what the test made, exactly. Made in [`cgroup2_root`] (mounted by
/// the test when the machine has no cgroup2 hierarchy).
pub struct TestCgroup {
    dir: PathBuf,
}

impl TestCgroup {
    /// A cgroup of this test's own: unique per call, so two tests with the same tag
    /// running at once (cargo test's default threads) never share one and see each
    /// other's execs.
    pub fn new(tag: &str) -> TestCgroup {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self::named(&format!("lebpf-{tag}-{}-{n}", std::process::id()))
    }

    /// A cgroup with exactly this name under the cgroup2 root (e.g. a container
    /// runtime's naming, for the container id).
    pub fn named(name: &str) -> TestCgroup {
        let dir = cgroup2_root().join(name);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("create cgroup {}: {e}", dir.display()));
        TestCgroup { dir }
    }

    pub fn path(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    /// The path as cgroup v2 names it: below the cgroup2 mount, from `/`.
    pub fn cgroup_path(&self) -> String {
        let rel = self.dir.strip_prefix(cgroup2_root()).unwrap();
        format!("/{}", rel.display())
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // The last processes may still be on their way out: retry a little.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
