//! `exectrigger`: makes the execs execsnoop's tests look for, without needing bash,
//! python or cargo on the machine (the kernel-matrix VM has only busybox).
//!
//! Every subcommand prints `pid=<pid> tid=<tid>` lines for what it started (so a test
//! can check PID/PPID), waits for its children, and exits 0 when things went as
//! planned. Targets are /bin/true and /bin/sh (busybox has both).
//!
//!   exectrigger run PROG [ARGS...]          fork + execve PROG with argv [PROG, ARGS...]
//!   exectrigger weird MARKER                /bin/true with spaces, quotes, \n, \t, ESC, \xff
//!   exectrigger fail MARKER                 execve of a missing file (ENOENT)
//!   exectrigger fail-many N MARKER         a failing execve with N arguments in all
//!   exectrigger fail-storm T N MARKER       T threads each make N failing execve calls
//!                                           at once (no fork: a failed exec returns)
//!   exectrigger execveat MARKER             execveat(dirfd of /bin, "true", ...)
//!   exectrigger fexecve MARKER              execveat(fd of /bin/true, "", AT_EMPTY_PATH)
//!   exectrigger thread-exec MARKER          a non-leader thread execs /bin/true
//!   exectrigger shebang MARKER              runs a `#!/bin/sh` script written to /tmp
//!   exectrigger many-args N MARKER          /bin/true MARKER a1 a2 ... (N args in all)
//!   exectrigger big-arg BYTES MARKER        /bin/true MARKER xxxx...(BYTES)
//!   exectrigger burst N MARKER              N sequential /bin/true MARKER execs
//!   exectrigger storm SECONDS MARKER        2 workers exec /bin/true MARKER as fast as
//!                                           they can for SECONDS
//!   exectrigger as-uid UID MARKER           /bin/true MARKER as UID
//!   exectrigger in-cgroup DIR MARKER        /bin/true MARKER inside cgroup v2 DIR
//!   exectrigger spawn-many P N MARKER [PAD] P threads at once, each N execs of
//!                                           /bin/true MARKER-<thread>-<i> [x * PAD]
//!   exectrigger inflight-full N MARKER      holds one failing execve in flight (its
//!                                           filename page is a userfaultfd page not yet
//!                                           filled), makes N more failing execs
//!                                           (MARKER-full-<i>) meanwhile, releases it
//!                                           (MARKER-held), then fails once more
//!                                           (MARKER-after); MARKER-before comes first
//!   exectrigger hold-exec MARKER            a thread blocks inside execve (as above),
//!                                           "held" is printed, then waits to be killed
//!   exectrigger soak SECONDS MARKER         for SECONDS at once: 2 workers exec
//!                                           /bin/true MARKER-ok-<w>-<i>, one thread fails
//!                                           execve MARKER-fail-<i>, one runs thread-exec
//!                                           MARKER-thr-<i>, one kills hold-exec
//!                                           MARKER-kill-<i> mid-exec; prints the counts
//!
//! `exectrigger --cgroup DIR SUB ...` first moves itself into cgroup v2 DIR (so its
//! children, not its own exec, are in there).

use std::ffi::{CString, OsString};
use std::io::Write;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::{exit, Command};

fn tid() -> i64 {
    // SAFETY: gettid has no arguments.
    unsafe { libc::syscall(libc::SYS_gettid) }
}

fn say_child(pid: u32) {
    println!("pid={pid} ppid={}", std::process::id());
    let _ = std::io::stdout().flush();
}

fn run_cmd(cmd: &mut Command) -> bool {
    match cmd.spawn() {
        Ok(mut child) => {
            say_child(child.id());
            child.wait().map(|s| s.success()).unwrap_or(false)
        }
        Err(e) => {
            eprintln!("exectrigger: spawn: {e}");
            false
        }
    }
}

fn cstr(b: &[u8]) -> CString {
    CString::new(b).expect("no NUL in argument")
}

/// fork, then in the child execveat(dirfd, path, argv, envp, flags); waits for it.
fn fork_execveat(dirfd: i32, path: &[u8], args: &[&[u8]], flags: i32) -> bool {
    let path = cstr(path);
    let cargs: Vec<CString> = args.iter().map(|a| cstr(a)).collect();
    let mut argv: Vec<*const libc::c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: the child only calls async-signal-safe execveat/_exit on prepared data.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                dirfd,
                path.as_ptr(),
                argv.as_ptr(),
                envp.as_ptr(),
                flags,
            );
            libc::_exit(127);
        }
    }
    if pid < 0 {
        return false;
    }
    say_child(pid as u32);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

fn open_path(p: &str, flags: i32) -> i32 {
    let c = cstr(p.as_bytes());
    // SAFETY: valid C string.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        eprintln!("exectrigger: open {p}: {}", std::io::Error::last_os_error());
        exit(1);
    }
    fd
}

fn usage() -> ! {
    eprintln!("usage: exectrigger <run|weird|fail|execveat|fexecve|thread-exec|shebang|many-args|big-arg|burst|as-uid|in-cgroup> ...");
    exit(2)
}

fn num(s: Option<&String>) -> usize {
    s.and_then(|s| s.parse().ok()).unwrap_or_else(|| usage())
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--cgroup") {
        let dir = args.get(1).cloned().unwrap_or_else(|| usage());
        let procs = format!("{dir}/cgroup.procs");
        if let Err(e) = std::fs::write(&procs, std::process::id().to_string()) {
            eprintln!("exectrigger: moving into {procs}: {e}");
            exit(1);
        }
        args.drain(..2);
    }
    let sub = args.first().map(String::as_str).unwrap_or_else(|| usage());
    let marker = |i: usize| args.get(i).cloned().unwrap_or_else(|| usage());
    let ok = match sub {
        "run" => {
            let prog = marker(1);
            run_cmd(Command::new(&prog).args(&args[2..]))
        }
        "weird" => {
            let m = marker(1);
            let raw: Vec<OsString> = vec![
                m.into(),
                "two words".into(),
                "say \"hi\"".into(),
                "line1\nline2".into(),
                "tab\there".into(),
                "\x1b[31mred\x1b[0m".into(),
                OsString::from_vec(b"bad\xff\xfeutf8".to_vec()),
                "back\\slash".into(),
            ];
            run_cmd(Command::new("/bin/true").args(raw))
        }
        "fail" => {
            let m = marker(1);
            let path = format!("/nonexistent-lebpf/{m}");
            match Command::new(&path).arg(&m).spawn() {
                Ok(_) => false,
                Err(e) => {
                    println!("errno={}", e.raw_os_error().unwrap_or(0));
                    e.raw_os_error() == Some(libc::ENOENT)
                }
            }
        }
        "fail-many" => {
            let n = num(args.get(1));
            let m = marker(2);
            let path = format!("/nonexistent-lebpf/{m}");
            let mut v = vec![m];
            v.extend((2..n).map(|i| format!("a{i:03}")));
            let e = Command::new(&path).args(v).spawn().err();
            e.and_then(|e| e.raw_os_error()) == Some(libc::ENOENT)
        }
        "fail-storm" => {
            let (threads, n) = (num(args.get(1)), num(args.get(2)));
            let m = marker(3);
            let path = cstr(format!("/nonexistent-lebpf/{m}").as_bytes());
            let arg = cstr(m.as_bytes());
            let failed = std::sync::atomic::AtomicUsize::new(0);
            std::thread::scope(|sc| {
                for _ in 0..threads {
                    sc.spawn(|| {
                        let argv = [path.as_ptr(), arg.as_ptr(), std::ptr::null()];
                        let envp: [*const libc::c_char; 1] = [std::ptr::null()];
                        for _ in 0..n {
                            // SAFETY: valid NUL-terminated strings and NULL-ended arrays;
                            // the path does not exist, so execve returns.
                            let rc = unsafe {
                                libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr())
                            };
                            if rc == -1 {
                                failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                        }
                    });
                }
            });
            let failed = failed.into_inner();
            println!("execs={failed}");
            failed == threads * n
        }
        "execveat" => {
            let m = marker(1);
            let dir = open_path("/bin", libc::O_RDONLY | libc::O_DIRECTORY);
            fork_execveat(dir, b"true", &[b"true", m.as_bytes()], 0)
        }
        "fexecve" => {
            let m = marker(1);
            // O_CLOEXEC is fine for an ELF binary (a script would need the fd to stay).
            let fd = open_path("/bin/true", libc::O_RDONLY);
            fork_execveat(fd, b"", &[b"true", m.as_bytes()], libc::AT_EMPTY_PATH)
        }
        "thread-exec" => {
            let m = marker(1);
            println!("pid={} leader_tid={}", std::process::id(), tid());
            let _ = std::io::stdout().flush();
            let h = std::thread::spawn(move || {
                println!("exec_tid={}", tid());
                let _ = std::io::stdout().flush();
                let e = Command::new("/bin/true").arg(&m).exec();
                eprintln!("exectrigger: exec from thread: {e}");
                exit(1);
            });
            let _ = h.join();
            false
        }
        "shebang" => {
            let m = marker(1);
            let path = format!("/tmp/lebpf-shebang-{}.sh", std::process::id());
            std::fs::write(&path, "#!/bin/sh\nexit 0\n").expect("write script");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            println!("script={path}");
            let ok = run_cmd(Command::new(&path).arg(&m));
            let _ = std::fs::remove_file(&path);
            ok
        }
        "many-args" => {
            let n = num(args.get(1));
            let m = marker(2);
            let mut v = vec![m];
            v.extend((2..n).map(|i| format!("a{i:03}")));
            run_cmd(Command::new("/bin/true").args(v))
        }
        "big-arg" => {
            let n = num(args.get(1));
            let m = marker(2);
            run_cmd(Command::new("/bin/true").arg(m).arg("x".repeat(n)))
        }
        "burst" => {
            let n = num(args.get(1));
            let m = marker(2);
            let mut ok = 0usize;
            for _ in 0..n {
                if Command::new("/bin/true")
                    .arg(&m)
                    .status()
                    .is_ok_and(|s| s.success())
                {
                    ok += 1;
                }
            }
            println!("execs={ok}");
            ok == n
        }
        "storm" => {
            let secs = num(args.get(1)) as u64;
            let m = marker(2);
            let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
            let made = std::sync::atomic::AtomicUsize::new(0);
            std::thread::scope(|sc| {
                for _ in 0..2 {
                    sc.spawn(|| {
                        while std::time::Instant::now() < end {
                            if Command::new("/bin/true")
                                .arg(&m)
                                .status()
                                .is_ok_and(|s| s.success())
                            {
                                made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                        }
                    });
                }
            });
            println!("execs={}", made.into_inner());
            true
        }
        "as-uid" => {
            let uid: u32 = num(args.get(1)) as u32;
            let m = marker(2);
            run_cmd(Command::new("/bin/true").arg(m).uid(uid).gid(uid))
        }
        "in-cgroup" => {
            let dir = marker(1);
            let m = marker(2);
            let procs = format!("{dir}/cgroup.procs");
            let fd = open_path(&procs, libc::O_WRONLY);
            let mut cmd = Command::new("/bin/true");
            cmd.arg(m);
            // SAFETY: the hook only calls write(2) on an fd opened beforehand.
            unsafe {
                cmd.pre_exec(move || {
                    // "0" moves the writing process: the child, before it execs.
                    if libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            run_cmd(&mut cmd)
        }
        "spawn-many" => {
            let (threads, n) = (num(args.get(1)), num(args.get(2)));
            let m = marker(3);
            let pad = args.get(4).map(|_| "x".repeat(num(args.get(4))));
            let made = std::sync::atomic::AtomicUsize::new(0);
            std::thread::scope(|sc| {
                for t in 0..threads {
                    let (m, pad, made) = (&m, &pad, &made);
                    sc.spawn(move || {
                        for i in 0..n {
                            let mut cmd = Command::new("/bin/true");
                            cmd.arg(format!("{m}-{t}-{i}"));
                            if let Some(p) = pad {
                                cmd.arg(p);
                            }
                            if cmd.status().is_ok_and(|s| s.success()) {
                                made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            }
                        }
                    });
                }
            });
            let made = made.into_inner();
            println!("execs={made}");
            made == threads * n
        }
        "inflight-full" => {
            let n = num(args.get(1));
            let m = marker(2);
            inflight_full(n, &m)
        }
        "hold-exec" => {
            let m = marker(1);
            let held = HeldExec::start(&m);
            println!("held tid={}", held.tid);
            let _ = std::io::stdout().flush();
            loop {
                // SAFETY: pause(2) has no arguments; we wait for SIGKILL.
                unsafe { libc::pause() };
            }
        }
        "soak" => {
            let secs = num(args.get(1)) as u64;
            let m = marker(2);
            soak(secs, &m)
        }
        _ => usage(),
    };
    exit(if ok { 0 } else { 1 });
}

/// Fails an execve of /nonexistent-lebpf/NAME (argv [path, NAME]) from this thread;
/// returns its errno.
fn fail_exec(name: &str) -> i32 {
    let path = cstr(format!("/nonexistent-lebpf/{name}").as_bytes());
    let arg = cstr(name.as_bytes());
    let argv = [path.as_ptr(), arg.as_ptr(), std::ptr::null()];
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: valid NUL-terminated strings and NULL-ended arrays; the path does not
    // exist, so execve returns.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

// userfaultfd ABI (include/uapi/linux/userfaultfd.h); ioctl numbers are _IOWR(0xAA, n,
// struct) and the same on x86_64 and arm64. libc::Ioctl: ioctl's request is an unsigned
// long in glibc and an int in musl (the static builds); the 32 bits are the same.
const UFFD_API: u64 = 0xAA;
const UFFDIO_API: libc::Ioctl = 0xc018_aa3f_u32 as libc::Ioctl;
const UFFDIO_REGISTER: libc::Ioctl = 0xc020_aa00_u32 as libc::Ioctl;
const UFFDIO_COPY: libc::Ioctl = 0xc028_aa03_u32 as libc::Ioctl;
const UFFDIO_REGISTER_MODE_MISSING: u64 = 1;
const PAGE: usize = 4096;

#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioRegister {
    start: u64,
    len: u64,
    mode: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioCopy {
    dst: u64,
    src: u64,
    len: u64,
    mode: u64,
    copy: i64,
}

fn die(what: &str) -> ! {
    eprintln!("exectrigger: {what}: {}", std::io::Error::last_os_error());
    exit(1)
}

/// A failing execve held inside the kernel: its filename lives in a page registered
/// with userfaultfd and not filled yet, so the kernel's copy of the filename (right
/// after the sys_enter tracepoint) waits until [`HeldExec::release`] fills it.
struct HeldExec {
    uffd: i32,
    page: *mut libc::c_void,
    name: String,
    tid: i64,
    thread: std::thread::JoinHandle<i32>,
}

impl HeldExec {
    /// Starts the exec in a new thread and returns once that thread is blocked.
    fn start(name: &str) -> HeldExec {
        // SAFETY: plain syscalls on values we own; results are checked.
        let uffd = unsafe { libc::syscall(libc::SYS_userfaultfd, libc::O_CLOEXEC) } as i32;
        if uffd < 0 {
            die("userfaultfd (needed to hold an exec in flight)");
        }
        let mut api = UffdioApi {
            api: UFFD_API,
            features: 0,
            ioctls: 0,
        };
        // SAFETY: valid fd and pointer to a properly laid out struct.
        if unsafe { libc::ioctl(uffd, UFFDIO_API, &mut api) } != 0 {
            die("UFFDIO_API");
        }
        // SAFETY: anonymous private mapping of one page.
        let page = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if page == libc::MAP_FAILED {
            die("mmap");
        }
        let mut reg = UffdioRegister {
            start: page as u64,
            len: PAGE as u64,
            mode: UFFDIO_REGISTER_MODE_MISSING,
            ioctls: 0,
        };
        // SAFETY: valid fd and struct; the range is our fresh mapping.
        if unsafe { libc::ioctl(uffd, UFFDIO_REGISTER, &mut reg) } != 0 {
            die("UFFDIO_REGISTER");
        }
        let addr = page as usize;
        let arg = name.to_string();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let _ = tx.send(tid());
            let arg = cstr(arg.as_bytes());
            let path = addr as *const libc::c_char;
            let argv = [path, arg.as_ptr(), std::ptr::null()];
            let envp: [*const libc::c_char; 1] = [std::ptr::null()];
            // SAFETY: the path page becomes a NUL-terminated string once released;
            // until then the kernel waits on the userfaultfd.
            unsafe { libc::execve(path, argv.as_ptr(), envp.as_ptr()) };
            std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
        });
        let tid = rx.recv().unwrap_or(0);
        // Blocks until the exec thread faults on the page: it is then inside execve.
        let mut msg = [0u8; 32];
        // SAFETY: reading one uffd_msg (32 bytes) into a local buffer.
        let n = unsafe { libc::read(uffd, msg.as_mut_ptr().cast(), msg.len()) };
        if n != 32 {
            die("reading the userfaultfd");
        }
        HeldExec {
            uffd,
            page,
            name: name.to_string(),
            tid,
            thread,
        }
    }

    /// Fills the page with the (missing) path; the exec then fails. Returns its errno.
    fn release(self) -> i32 {
        let mut src = vec![0u8; PAGE];
        let path = format!("/nonexistent-lebpf/{}", self.name);
        src[..path.len()].copy_from_slice(path.as_bytes());
        let mut copy = UffdioCopy {
            dst: self.page as u64,
            src: src.as_ptr() as u64,
            len: PAGE as u64,
            mode: 0,
            copy: 0,
        };
        // SAFETY: valid fd and struct; src outlives the call.
        if unsafe { libc::ioctl(self.uffd, UFFDIO_COPY, &mut copy) } != 0 {
            die("UFFDIO_COPY");
        }
        let errno = self.thread.join().unwrap_or(0);
        // SAFETY: our mapping and fd, no longer used.
        unsafe {
            libc::munmap(self.page, PAGE);
            libc::close(self.uffd);
        }
        errno
    }
}

/// The full-in-flight-map scenario (run with `execsnoop -x --inflight-entries 1`): one
/// exec before, one held in flight (fills the map), N while it is held (cannot be
/// tracked), the held one released, one after.
fn inflight_full(n: usize, m: &str) -> bool {
    let before = fail_exec(&format!("{m}-before"));
    let held = HeldExec::start(&format!("{m}-held"));
    let mut full = 0;
    for i in 0..n {
        if fail_exec(&format!("{m}-full-{i}")) == libc::ENOENT {
            full += 1;
        }
    }
    let held_errno = held.release();
    let after = fail_exec(&format!("{m}-after"));
    println!("before={before} full={full} held={held_errno} after={after}");
    [before, held_errno, after] == [libc::ENOENT; 3] && full == n
}

/// The soak's mix, all at once until the time is up; prints what it made.
fn soak(secs: u64, m: &str) -> bool {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let me = std::env::current_exe().expect("current_exe");
    let (ok, fail, thr, kill) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let errors = AtomicUsize::new(0);
    let going = || std::time::Instant::now() < end;
    std::thread::scope(|sc| {
        for w in 0..2 {
            let (ok, errors) = (&ok, &errors);
            sc.spawn(move || {
                let mut i = 0;
                while going() {
                    let st = Command::new("/bin/true")
                        .arg(format!("{m}-ok-{w}-{i}"))
                        .status();
                    if st.is_ok_and(|s| s.success()) {
                        ok.fetch_add(1, Relaxed);
                    } else {
                        errors.fetch_add(1, Relaxed);
                    }
                    i += 1;
                }
            });
        }
        sc.spawn(|| {
            // A non-main thread, throttled: failures cost the tracer as much as execs.
            let mut i = 0;
            while going() {
                if fail_exec(&format!("{m}-fail-{i}")) == libc::ENOENT {
                    fail.fetch_add(1, Relaxed);
                } else {
                    errors.fetch_add(1, Relaxed);
                }
                i += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
        sc.spawn(|| {
            let mut i = 0;
            while going() {
                let st = Command::new(&me)
                    .args(["thread-exec", &format!("{m}-thr-{i}")])
                    .stdout(std::process::Stdio::null())
                    .status();
                if st.is_ok_and(|s| s.success()) {
                    thr.fetch_add(1, Relaxed);
                } else {
                    errors.fetch_add(1, Relaxed);
                }
                i += 1;
            }
        });
        sc.spawn(|| {
            let mut i = 0;
            while going() {
                let child = Command::new(&me)
                    .args(["hold-exec", &format!("{m}-kill-{i}")])
                    .stdout(std::process::Stdio::piped())
                    .spawn();
                let Ok(mut child) = child else {
                    errors.fetch_add(1, Relaxed);
                    continue;
                };
                let mut line = String::new();
                let out = child.stdout.take().expect("piped");
                let _ = std::io::BufRead::read_line(&mut std::io::BufReader::new(out), &mut line);
                let _ = child.kill();
                let _ = child.wait();
                if line.starts_with("held") {
                    kill.fetch_add(1, Relaxed);
                } else {
                    errors.fetch_add(1, Relaxed);
                }
                i += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        });
    });
    println!(
        "ok={} fail={} thr={} kill={} errors={}",
        ok.into_inner(),
        fail.into_inner(),
        thr.into_inner(),
        kill.into_inner(),
        errors.load(Relaxed)
    );
    errors.into_inner() == 0
}
