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
    let args: Vec<String> = std::env::args().skip(1).collect();
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
        _ => usage(),
    };
    exit(if ok { 0 } else { 1 });
}
