//! A freshly booted machine: nothing mounted but proc, sysfs and devtmpfs, and the
//! fallbacks that are real there (not simulated). Every privileged test starts from
//! that state (`require_root` enters a private mount namespace without tracefs or
//! debugfs, see tests/common); these tests check what a program does when it cannot
//! fix the state itself, and what it does when the kernel's BTF is missing.

#[path = "common/caps.rs"]
mod caps;
mod common;

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use caps::*;
use common::*;

/// Bind-mounts `src` over `dst` in the test's private mount namespace.
fn bind(src: &Path, dst: &str) {
    let s = CString::new(src.to_str().unwrap()).unwrap();
    let d = CString::new(dst).unwrap();
    // SAFETY: valid NUL-terminated strings.
    let rc = unsafe {
        libc::mount(
            s.as_ptr(),
            d.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    assert_eq!(
        rc,
        0,
        "bind {} over {dst}: {}",
        src.display(),
        std::io::Error::last_os_error()
    );
}

fn temp_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("lebpf-fresh-{tag}-{}", std::process::id()))
}

/// Each program that attaches a tracepoint or reads trace_pipe, started where tracefs
/// is mounted nowhere, mounts it itself, attaches, and shows the test's own exec.
#[test]
fn every_tracefs_program_mounts_it_and_delivers_an_event() {
    require_root();
    for (name, args, own) in [
        ("hello-map", &["--attach", "tracepoint"][..], Own::UidExecs),
        (
            "hello-buffer",
            &["--attach", "tracepoint"][..],
            Own::FirstColumn,
        ),
        (
            "hello-buffer",
            &["--attach", "tracepoint", "--perf-buffer"][..],
            Own::FirstColumn,
        ),
        (
            "hello-buffer-config",
            &["--attach", "tracepoint"][..],
            Own::FirstColumn,
        ),
        ("execsnoop", &["-x"][..], Own::SecondColumn),
        ("hello", &["--attach", "tracepoint"][..], Own::TraceLineFrom),
        ("hello-tail", &[][..], Own::TraceLineFrom),
        ("hello-func", &[][..], Own::TraceLineFrom),
    ] {
        enter_fresh_mount_namespace();
        let what = format!("{name} {args:?}");
        let mut p = Proc::spawn(name, args);
        let ready = if name == "execsnoop" {
            "tracing exec()"
        } else {
            "attached to"
        };
        p.wait_stderr(ready, Duration::from_secs(20))
            .unwrap_or_else(|| panic!("{what} did not attach: {:?}", p.stderr()));
        assert!(
            lebpf::tracefs::find().is_some(),
            "{what} attached but tracefs is not mounted"
        );
        wait_own_event(&mut p, own, &what);
        stop_cleanly(&mut p);
    }
}

/// tracefs mounted by root is root's (mode 0700): a program holding only CAP_BPF and
/// CAP_PERFMON says so in one line instead of "failed to attach tracepoint".
#[test]
fn tracefs_not_readable_says_which_capability() {
    require_root();
    let _p = ParanoidGuard::at_most_2();
    lebpf::tracefs::ensure().expect("mount tracefs as root");
    for (name, args) in [
        ("hello-map", &["--attach", "tracepoint"][..]),
        ("execsnoop", &["-x"][..]),
        ("hello", &["--attach", "tracepoint"][..]),
    ] {
        let mut cmd = Command::new(bin(name));
        cmd.args(args);
        with_caps(&mut cmd, 65534, &[CAP_BPF, CAP_PERFMON]);
        let out = cmd.output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(
            err.trim_end().ends_with(
                "/sys/kernel/tracing is not readable by this user (tracefs is root's): run as \
                 root, or with CAP_DAC_READ_SEARCH added"
            ),
            "{name}: {err}"
        );
    }
}

/// Without CAP_SYS_ADMIN a program cannot mount tracefs: a tracepoint program then
/// says in one line what is missing and what to run, and exits 1 (no bare "failed to
/// attach tracepoint").
#[test]
fn tracepoint_without_tracefs_and_without_cap_sys_admin_says_what_to_run() {
    require_root();
    // Debian's kernels default to perf_event_paranoid=3, where CAP_PERFMON cannot open
    // the perf buffer some of these set up before attaching (tests/privilege.rs).
    let _p = ParanoidGuard::at_most_2();
    assert!(lebpf::tracefs::find().is_none());
    for (name, args) in [
        ("hello-map", &["--attach", "tracepoint"][..]),
        ("hello-buffer", &["--attach", "tracepoint"][..]),
        ("hello-buffer-config", &["--attach", "tracepoint"][..]),
        ("execsnoop", &["-x"][..]),
    ] {
        let mut cmd = Command::new(bin(name));
        cmd.args(args);
        with_caps(&mut cmd, 65534, &[CAP_BPF, CAP_PERFMON]);
        let out = cmd.output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}");
        // hello-buffer names its transport first; the error is the last line.
        let last = err.lines().last().unwrap_or_default();
        assert!(
            last.starts_with(&format!(
                "{name}: attaching to tracepoint syscalls/sys_enter_exec"
            )),
            "{name}: {err}"
        );
        assert!(
            last.ends_with(
                "tracefs is not mounted and mounting it needs CAP_SYS_ADMIN; as root, run: \
                 mount -t tracefs tracefs /sys/kernel/tracing"
            ),
            "{name}: {err}"
        );
        assert!(!err.contains("failed to attach"), "{name}: {err}");
    }
}

/// Kernel BTF hidden (an empty directory over /sys/kernel/btf, in the test's private
/// mount namespace): execsnoop says so in one line and exits 1; `--btf` with a copy
/// saved before works and traces the test's exec.
#[test]
fn without_kernel_btf_execsnoop_says_so_and_btf_file_works() {
    require_root();
    let saved = temp_path("vmlinux.btf");
    std::fs::copy("/sys/kernel/btf/vmlinux", &saved).expect("copy kernel BTF");
    let empty = temp_path("empty-dir");
    std::fs::create_dir_all(&empty).unwrap();
    bind(&empty, "/sys/kernel/btf");
    assert!(!Path::new("/sys/kernel/btf/vmlinux").exists());

    let (code, out, err) = run_bin("execsnoop", &[]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(out, "");
    assert_eq!(
        err,
        "execsnoop: this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): execsnoop \
         needs a kernel built with CONFIG_DEBUG_INFO_BTF=y, or --btf FILE with BTF made for \
         this kernel\n"
    );

    let m = format!("lebpfmk-btf-{}", std::process::id());
    let mut p = Proc::spawn("execsnoop", &["-x", "--btf", saved.to_str().unwrap()]);
    p.wait_stderr("tracing exec()", Duration::from_secs(20))
        .unwrap_or_else(|| panic!("did not start with --btf: {:?}", p.stderr()));
    let mut seen = None;
    for _ in 0..10 {
        assert!(run("/bin/true", &[&m]).success());
        seen = p.wait_line(Duration::from_secs(1), |l| {
            l.starts_with("true ") && l.ends_with(&format!("/bin/true {m}"))
        });
        if seen.is_some() {
            break;
        }
    }
    assert!(seen.is_some(), "own exec not printed: {:?}", p.stderr());
    stop_cleanly(&mut p);
    let _ = std::fs::remove_file(&saved);
    let _ = std::fs::remove_dir(&empty);
}

/// Kernel BTF replaced by an empty file: one clear line, exit 1, no libbpf noise.
#[test]
fn empty_kernel_btf_file_is_one_clear_line() {
    require_root();
    let empty = temp_path("empty.btf");
    std::fs::write(&empty, b"").unwrap();
    bind(&empty, "/sys/kernel/btf/vmlinux");
    for name in ["execsnoop", "hello-buffer-config"] {
        let (code, out, err) = run_bin(name, &[]);
        assert_eq!(code, Some(1), "{name}: {err}");
        assert_eq!(out, "", "{name}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(
            err.contains("/sys/kernel/btf/vmlinux") && err.contains("BTF"),
            "{name}: {err}"
        );
    }
    let _ = std::fs::remove_file(&empty);
}
