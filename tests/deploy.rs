//! What an operator installs: the systemd unit (packaging/execsnoop.service), the man
//! page and completions generated from the clap definitions, and the Debian package.
//!
//! - The unit's ExecStart runs with exactly the unit's capabilities, user, limits and
//!   no_new_privs, at the strictest perf_event_paranoid (Debian's 3), and shows the
//!   test's own exec. Runs everywhere, the kernel matrix included.
//! - `systemd-analyze verify` accepts the unit without a single warning.
//! - The man page and the three completions name every long flag of `--help`, and
//!   `--help` ends with the examples, each of which parses.
//! - The .deb (`make deb`) installs into a clean debootstrap'd Debian, runs there
//!   (`--version`, a short trace showing an exec made inside the chroot) and purges
//!   without leaving a file behind.
//! - Every syscall, socket, file and mapping execsnoop makes (strace) is one the
//!   unit's seccomp filter and sandboxing allow.
//! - Booted with systemd as PID 1 (systemd-nspawn), the installed, enabled unit runs
//!   execsnoop with exactly its privileges, journals the test's exec, stops cleanly,
//!   and `dpkg --purge` disables and unloads it.
//!
//! The tools all but the first need (systemd-analyze, man, strace, dpkg, debootstrap,
//! systemd-nspawn) are installed by `make deps`; missing on the host they FAIL. The kernel-matrix guests
//! (LEBPF_VMTEST set) have none of them: there those tests print SKIP.

#[path = "common/caps.rs"]
mod caps;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::CString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use caps::*;
use common::*;
use serde_json::Value;

/// The unit as shipped: the tests follow whatever it says.
const UNIT: &str = include_str!("../packaging/execsnoop.service");
const WAIT: Duration = Duration::from_secs(20);

/// Capability names (include/uapi/linux/capability.h), index = number.
const CAP_NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The `[Service]` settings of the unit: key -> every value given (in order).
fn unit_settings() -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut in_service = false;
    for line in UNIT.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
            continue;
        }
        if !in_service || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("unit line without '=': {line}"));
        out.entry(k.to_string()).or_default().push(v.to_string());
    }
    out
}

fn setting(s: &BTreeMap<String, Vec<String>>, key: &str) -> Option<String> {
    s.get(key).map(|v| v.join(" "))
}

fn cap_number(name: &str) -> u32 {
    let short = name.strip_prefix("CAP_").unwrap_or(name);
    CAP_NAMES
        .iter()
        .position(|n| *n == short)
        .unwrap_or_else(|| panic!("unknown capability {name} in the unit")) as u32
}

fn caps_of(list: &str) -> BTreeSet<u32> {
    list.split_whitespace().map(cap_number).collect()
}

/// LimitMEMLOCK= in bytes (RLIM_INFINITY for "infinity").
fn memlock_of(v: &str) -> u64 {
    if v == "infinity" {
        return libc::RLIM_INFINITY;
    }
    let (num, mult) = match v.chars().last() {
        Some('K') => (&v[..v.len() - 1], 1024),
        Some('M') => (&v[..v.len() - 1], 1024 * 1024),
        Some('G') => (&v[..v.len() - 1], 1024 * 1024 * 1024),
        _ => (v, 1),
    };
    num.parse::<u64>()
        .unwrap_or_else(|_| panic!("LimitMEMLOCK={v}: not understood by this test"))
        * mult
}

/// A `/proc/<pid>/status` hex capability line.
fn status_caps(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| u64::from_str_radix(v.trim(), 16).expect("hex caps"))
        .unwrap_or_else(|| panic!("no {key} in status"))
}

fn kernel_at_least(major: u32, minor: u32) -> bool {
    let r = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    let mut it = r
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (a, b) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    (a, b) >= (major, minor)
}

/// The service as systemd would start it: ExecStart (with this build's execsnoop for
/// /usr/sbin/execsnoop), as a non-root uid (DynamicUser=yes) holding exactly the
/// unit's capabilities (bounding, permitted, effective, inheritable and ambient),
/// no_new_privs, the unit's RLIMIT_MEMLOCK, and kernel.perf_event_paranoid=3 (Debian's
/// default). It must trace, and show the test's own exec.
#[test]
fn unit_exec_start_with_exactly_its_privileges_sees_own_exec() {
    require_root();
    let s = unit_settings();
    let exec = setting(&s, "ExecStart").expect("ExecStart");
    let mut argv = exec.split_whitespace();
    assert_eq!(argv.next(), Some("/usr/sbin/execsnoop"), "ExecStart={exec}");
    let args: Vec<String> = argv.map(str::to_string).collect();
    assert!(args.iter().any(|a| a == "--json"), "ExecStart={exec}");
    assert_eq!(
        setting(&s, "DynamicUser").as_deref(),
        Some("yes"),
        "the test runs the service as a non-root uid, as DynamicUser=yes does"
    );
    let ambient = caps_of(&setting(&s, "AmbientCapabilities").expect("AmbientCapabilities"));
    let bounding = caps_of(&setting(&s, "CapabilityBoundingSet").expect("CapabilityBoundingSet"));
    assert_eq!(ambient, bounding, "ambient and bounding sets differ");
    let nnp = setting(&s, "NoNewPrivileges").as_deref() == Some("yes");
    let memlock = memlock_of(&setting(&s, "LimitMEMLOCK").expect("LimitMEMLOCK"));
    let mask: u64 = ambient.iter().map(|c| 1u64 << c).sum();

    let _paranoid = ParanoidGuard::set(3);
    let uid = own_uid();
    let last_cap: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .expect("cap_last_cap")
        .trim()
        .parse()
        .expect("number");
    let mut cmd = Command::new(bin("execsnoop"));
    cmd.args(&args);
    let keep = bounding.clone();
    // SAFETY: the closures run between fork and exec and only make raw syscalls.
    unsafe {
        // First, while still root: the bounding set (needs CAP_SETPCAP).
        cmd.pre_exec(move || {
            for c in 0..=last_cap {
                if !keep.contains(&c) && libc::prctl(libc::PR_CAPBSET_DROP, c, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    // The cgroup a later exec runs in, made before execsnoop starts: on a machine
    // without cgroup v2 mounted (the matrix guests) this mounts it, as a booted
    // system has it before the service starts.
    let cg = common::TestCgroup::new("unit-cg");
    let inner = PathBuf::from(cg.path()).join("inner");
    std::fs::create_dir(&inner).expect("create the inner cgroup");
    with_caps(&mut cmd, uid, &ambient.iter().copied().collect::<Vec<_>>());
    // SAFETY: as above.
    unsafe {
        // Last: the unit's memlock limit (with_caps raised it to infinity where the
        // kernel allows; lowering is always allowed) and no_new_privs.
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: memlock,
                rlim_max: memlock,
            };
            libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim);
            if nnp && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut p = Proc::spawn_cmd(&mut cmd);
    if p.wait_stderr("tracing exec()", WAIT).is_none() {
        panic!(
            "ExecStart={exec} with only {:?} did not start; stderr: {:?}",
            setting(&s, "AmbientCapabilities"),
            p.stderr()
        );
    }

    // The service process holds exactly what the unit gives, nothing more.
    let status = std::fs::read_to_string(format!("/proc/{}/status", p.pid())).expect("status");
    for key in ["CapEff:", "CapPrm:", "CapAmb:", "CapBnd:", "CapInh:"] {
        assert_eq!(status_caps(&status, key), mask, "{key} of the service");
    }
    let uids = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert!(
        uids.split_whitespace()
            .skip(1)
            .all(|u| u == uid.to_string()),
        "{uids}"
    );
    if nnp {
        assert!(status.contains("NoNewPrivs:\t1"), "no_new_privs not set");
    }
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", p.pid())).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max locked memory"))
        .unwrap();
    let want = if memlock == libc::RLIM_INFINITY {
        "unlimited".to_string()
    } else {
        memlock.to_string()
    };
    if line.split_whitespace().nth(3) != Some(want.as_str()) {
        // This project's CI host refuses to raise RLIMIT_MEMLOCK even to root; kernels
        // from 5.11 on do not charge BPF memory to it, so there it cannot matter.
        assert!(
            kernel_at_least(5, 11),
            "could not give the service LimitMEMLOCK ({line}) on a kernel that needs it"
        );
        eprintln!(
            "note: this host does not let root raise RLIMIT_MEMLOCK ({line}); 5.11+ ignores it"
        );
    }

    let marker = format!("lebpf-unit-{}", std::process::id());
    let child = Command::new("/bin/true")
        .arg(&marker)
        .spawn()
        .expect("spawn /bin/true");
    let pid = child.id();
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success());
    let line = p
        .wait_line(WAIT, |l| l.contains(&marker))
        .unwrap_or_else(|| panic!("no event for the own exec; stderr: {:?}", p.stderr()));
    let v: Value = serde_json::from_str(&line).expect("a JSON line");
    assert_eq!(v["pid"].as_u64(), Some(pid.into()), "{line}");
    assert_eq!(v["args"][1].as_str(), Some(marker.as_str()), "{line}");
    assert_eq!(v["filename"].as_str(), Some("/bin/true"), "{line}");

    // The cgroup field resolves with only the unit's capabilities (no
    // CAP_DAC_READ_SEARCH for file handles: execsnoop walks the cgroup tree). An exec
    // in a cgroup of the test's own, two levels below the root.
    let marker2 = format!("lebpf-unit-cg-{}", std::process::id());
    let st = Command::new("/bin/sh")
        .arg("-c")
        .arg(format!(
            "echo $$ > {}/cgroup.procs && exec /bin/true {marker2}",
            inner.display()
        ))
        .status()
        .expect("run /bin/sh");
    assert!(st.success(), "moving into {}", inner.display());
    let line = p
        .wait_line(WAIT, |l| {
            serde_json::from_str::<Value>(l)
                .is_ok_and(|v| v["filename"] == "/bin/true" && v["args"][1] == marker2.as_str())
        })
        .unwrap_or_else(|| panic!("no event for the cgroup exec; stderr: {:?}", p.stderr()));
    let v: Value = serde_json::from_str(&line).expect("a JSON line");
    let want = format!("{}/inner", cg.cgroup_path());
    assert_eq!(v["cgroup"].as_str(), Some(want.as_str()), "{line}");
    let _ = std::fs::remove_dir(&inner);

    // KillSignal (systemctl stop): a clean stop, status 0, so systemd logs no failure.
    let sig = match setting(&s, "KillSignal").as_deref() {
        None | Some("SIGTERM") => libc::SIGTERM,
        Some("SIGINT") => libc::SIGINT,
        Some(other) => panic!("KillSignal={other}: not understood by this test"),
    };
    let st = p
        .signal_and_wait(sig, WAIT)
        .expect("the service did not stop");
    assert_eq!(st.code(), Some(0), "stderr: {:?}", p.stderr());
}

/// True when `tool` is on PATH. When it is not: in a kernel-matrix guest, SKIP (they
/// carry no such tools); on a host, FAIL (make deps installs it).
fn have_tool(tool: &str) -> bool {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    if found {
        return true;
    }
    if std::env::var_os("LEBPF_VMTEST").is_some() {
        skip(&format!(
            "{tool} is not in the kernel-matrix guest (host test)"
        ));
        return false;
    }
    panic!("{tool} not found: `make deps` installs it");
}

/// The man page and completions, freshly generated into a temporary directory.
fn generated_docs() -> Option<tempdir::Dir> {
    let gen = match std::env::var_os("LEBPF_BIN_DIR") {
        Some(d) if !PathBuf::from(&d).join("gen-execsnoop-docs").exists() => {
            skip("gen-execsnoop-docs is not staged in the kernel-matrix guest (host test)");
            return None;
        }
        _ => example_bin("gen-execsnoop-docs"),
    };
    let dir = tempdir::Dir::new("docs");
    let out = Command::new(gen).arg(dir.path()).output().expect("run gen");
    assert!(
        out.status.success(),
        "gen-execsnoop-docs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(dir)
}

/// True when `needle` occurs in `hay` not followed by a flag character (so --time is
/// not found inside --timestamp).
fn has_word(hay: &str, needle: &str) -> bool {
    hay.match_indices(needle).any(|(i, _)| {
        !hay[i + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

/// The long flags `--help` lists (without the dashes).
fn help_long_flags(help: &str) -> Vec<String> {
    let mut flags = Vec::new();
    for line in help.lines() {
        let t = line.trim_start();
        let t = match t.strip_prefix('-') {
            Some(rest) if rest.starts_with('-') => t,
            Some(_) => match t.split_once(", ") {
                Some((_, long)) => long,
                None => continue,
            },
            None => continue,
        };
        if let Some(rest) = t.strip_prefix("--") {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if !name.is_empty() && !flags.contains(&name) {
                flags.push(name);
            }
        }
    }
    flags
}

#[test]
fn man_page_and_completions_name_every_long_flag_of_help() {
    let (code, help, err) = run_bin("execsnoop", &["--help"]);
    assert_eq!(code, Some(0), "{err}");
    let flags = help_long_flags(&help);
    assert!(
        flags.len() >= 15 && flags.iter().any(|f| f == "json"),
        "--help parsed badly: {flags:?}"
    );
    let Some(dir) = generated_docs() else { return };
    let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).expect(f);
    let man = read("execsnoop.8");
    let bash = read("execsnoop.bash");
    let zsh = read("_execsnoop");
    let fish = read("execsnoop.fish");
    // Each flag described in OPTIONS (the SYNOPSIS names them all anyway).
    let options = man
        .split(".SH OPTIONS")
        .nth(1)
        .and_then(|s| s.split(".SH ").next())
        .expect("an OPTIONS section");
    let mut missing = Vec::new();
    for f in &flags {
        let roff = format!("\\-\\-{}", f.replace('-', "\\-"));
        if !has_word(options, &roff) {
            missing.push(format!("man: --{f}"));
        }
        if !has_word(&bash, &format!("--{f}")) {
            missing.push(format!("bash: --{f}"));
        }
        if !has_word(&zsh, &format!("--{f}")) {
            missing.push(format!("zsh: --{f}"));
        }
        if !has_word(&fish, &format!("-l {f}")) {
            missing.push(format!("fish: --{f}"));
        }
    }
    assert!(missing.is_empty(), "not in the generated docs: {missing:?}");
    assert!(man.contains(".TH EXECSNOOP 8 "), "man section 8");
    // The examples made it into the man page, one line each.
    let examples = lebpf::execsnoop::args::EXAMPLES;
    for ex in examples.lines().skip(1) {
        let cmd = ex.trim().split("  #").next().unwrap().trim();
        let roff = cmd.replace('-', "\\-");
        assert!(man.contains(&roff), "man page lacks the example {cmd:?}");
    }
}

/// `--help` (and `-h`) end with the examples, after the usage line and the options,
/// and every `execsnoop ...` example is a command line that parses.
#[test]
fn help_ends_with_examples_that_parse() {
    use clap::Parser;
    let examples = lebpf::execsnoop::args::EXAMPLES;
    for flag in ["--help", "-h"] {
        let (code, help, err) = run_bin("execsnoop", &[flag]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            help.trim_end().ends_with(examples.trim_end()),
            "{flag} does not end with the examples:\n{help}"
        );
        let usage = help.find("Usage:").expect("Usage:");
        let options = help.find("Options:").expect("Options:");
        let ex = help.find("Examples:").expect("Examples:");
        assert!(usage < ex && options < ex, "{flag}: examples before usage");
    }
    let mut n = 0;
    for ex in examples.lines().skip(1) {
        let cmd = ex.trim().split("  #").next().unwrap().trim();
        let Some(args) = cmd.strip_prefix("execsnoop") else {
            continue;
        };
        let argv: Vec<&str> = std::iter::once("execsnoop")
            .chain(args.split_whitespace().take_while(|w| *w != ">"))
            .collect();
        if let Err(e) = lebpf::execsnoop::args::Args::try_parse_from(&argv) {
            panic!("example {cmd:?} does not parse: {e}");
        }
        n += 1;
    }
    assert!((6..=12).contains(&n), "{n} execsnoop examples");
}

/// The unit, installed as the package installs it next to this build's execsnoop and
/// man page, passes `systemd-analyze verify` with no message at all (verify exits 0
/// even on settings it ignores, so any output fails the test).
#[test]
fn unit_passes_systemd_analyze_verify() {
    if !have_tool("systemd-analyze") || !have_tool("man") {
        return;
    }
    let Some(docs) = generated_docs() else { return };
    let root = tempdir::Dir::new("verify-root");
    let r = root.path();
    let units = r.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&units).unwrap();
    std::os::unix::fs::symlink("usr/lib", r.join("lib")).unwrap();
    // systemd-analyze loads the unit's dependencies (sysinit.target, ...) from the
    // root: the host's own units.
    let cp = Command::new("cp")
        .args(["-a", "/usr/lib/systemd/system/.", units.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(cp.success(), "copying the host's units");
    std::fs::write(units.join("execsnoop.service"), UNIT).unwrap();
    std::fs::create_dir_all(r.join("usr/sbin")).unwrap();
    std::fs::copy(bin("execsnoop"), r.join("usr/sbin/execsnoop")).unwrap();
    let man8 = r.join("usr/share/man/man8");
    std::fs::create_dir_all(&man8).unwrap();
    std::fs::copy(docs.path().join("execsnoop.8"), man8.join("execsnoop.8")).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", r.display()))
        .arg("/lib/systemd/system/execsnoop.service")
        // Documentation=man:execsnoop(8) is checked with `man`: the generated page.
        .env("MANPATH", r.join("usr/share/man"))
        .output()
        .expect("systemd-analyze");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "systemd-analyze verify: {:?}\n{text}",
        out.status
    );
}

/// A temporary directory under target/, removed on drop (the chroot test checks its
/// mounts are gone first).
mod tempdir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
            let p = base.join(format!("deploy-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(&p).expect("create temp dir");
            Dir(p)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Mount points at or below `dir` in the calling thread's mount namespace.
fn mounts_below(dir: &Path) -> Vec<String> {
    let prefix = dir.to_str().unwrap();
    std::fs::read_to_string("/proc/thread-self/mountinfo")
        .expect("mountinfo")
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|m| m == prefix || m.starts_with(&format!("{prefix}/")))
        .collect()
}

/// A Debian root unpacked from the cached debootstrap tarball, with proc and sysfs
/// mounted; unmounted, then deleted, on drop.
struct Chroot {
    dir: Option<tempdir::Dir>,
}

impl Chroot {
    /// Unpacks the tarball; nothing mounted yet.
    fn unpack(tarball: &Path) -> Chroot {
        let dir = tempdir::Dir::new("chroot");
        let t = Instant::now();
        let st = Command::new("tar")
            .arg("-xf")
            .arg(tarball)
            .arg("-C")
            .arg(dir.path())
            .status()
            .expect("tar");
        assert!(st.success(), "unpacking {}", tarball.display());
        eprintln!(
            "deploy: unpacked the cached Debian root in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        Chroot { dir: Some(dir) }
    }

    /// Unpacks the tarball and mounts proc and sysfs in it (for `chroot`).
    fn new(tarball: &Path) -> Chroot {
        let c = Chroot::unpack(tarball);
        for (fs, at) in [("proc", "proc"), ("sysfs", "sys")] {
            let st = Command::new("mount")
                .args(["-t", fs, fs])
                .arg(c.root().join(at))
                .status()
                .expect("mount");
            assert!(st.success(), "mounting {fs} in the chroot");
        }
        c
    }

    fn root(&self) -> &Path {
        self.dir.as_ref().unwrap().path()
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("chroot");
        c.arg(self.root())
            .args(args)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        c
    }

    /// Runs a command in the chroot; its stdout, or a panic with its stderr.
    fn run(&self, args: &[&str]) -> String {
        let out = self
            .cmd(args)
            .stdin(Stdio::null())
            .output()
            .expect("chroot");
        assert!(
            out.status.success(),
            "chroot {args:?}: {:?}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every path in the root (mounted file systems not entered).
    fn files(&self) -> BTreeSet<String> {
        let out = Command::new("find")
            .arg(self.root())
            .args(["-xdev", "-mindepth", "1", "-printf", "%P\\n"])
            .output()
            .expect("find");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Chroot {
    fn drop(&mut self) {
        let root = self.root().to_path_buf();
        for at in ["sys", "proc"] {
            let c = CString::new(root.join(at).to_str().unwrap()).unwrap();
            // SAFETY: valid path.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
        let left = mounts_below(&root);
        if left.is_empty() {
            drop(self.dir.take());
        } else {
            // Never delete through a mount point (it could reach the host's files).
            eprintln!(
                "deploy: NOT deleting {}: still mounted: {left:?}",
                root.display()
            );
            std::mem::forget(self.dir.take());
        }
    }
}

/// The cached tarball of a clean `debootstrap --variant=minbase bookworm` root, made
/// on first use (packaging/debian-chroot.sh), with `include` packages added.
fn debian_root(include: Option<&str>) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let t = Instant::now();
    let out = Command::new(manifest.join("packaging/debian-chroot.sh"))
        .arg("bookworm")
        .args(include)
        .stderr(Stdio::inherit())
        .output()
        .expect("packaging/debian-chroot.sh");
    assert!(out.status.success(), "making the Debian root failed");
    eprintln!(
        "deploy: Debian root ready in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The package `make deb` built for this machine's architecture.
fn built_deb() -> PathBuf {
    if let Some(p) = std::env::var_os("EXECSNOOP_DEB") {
        return PathBuf::from(p);
    }
    let arch = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .expect("dpkg");
    let arch = String::from_utf8_lossy(&arch.stdout).trim().to_string();
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "dist/execsnoop_{}_{arch}.deb",
        env!("CARGO_PKG_VERSION")
    ));
    assert!(
        p.exists(),
        "{} not built: run `make deb` first",
        p.display()
    );
    p
}

/// Files dpkg itself rewrites on every install or removal (its database and log).
fn dpkg_bookkeeping(path: &str) -> bool {
    [
        "var/lib/dpkg/status-old",
        "var/lib/dpkg/available-old",
        "var/lib/dpkg/diversions-old",
        "var/lib/dpkg/statoverride-old",
        "var/lib/dpkg/triggers/Unincorp-old",
        "var/log/dpkg.log",
    ]
    .contains(&path)
}

#[test]
fn deb_installs_traces_and_purges_in_a_clean_debian() {
    require_root();
    for tool in ["dpkg", "debootstrap", "chroot"] {
        if !have_tool(tool) {
            return;
        }
    }
    let deb = built_deb();
    let tarball = debian_root(None);
    let ch = Chroot::new(&tarball);

    // Only the package's files, and the binary is static (runs with no library).
    let contents = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&contents.stdout).into_owned();
    let shipped: BTreeSet<&str> = listing
        .lines()
        .filter(|l| !l.starts_with('d'))
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    let want: BTreeSet<&str> = [
        "./usr/sbin/execsnoop",
        "./lib/systemd/system/execsnoop.service",
        "./usr/share/man/man8/execsnoop.8.gz",
        "./usr/share/bash-completion/completions/execsnoop",
        "./usr/share/zsh/vendor-completions/_execsnoop",
        "./usr/share/fish/vendor_completions.d/execsnoop.fish",
        "./usr/share/doc/execsnoop/copyright",
        "./usr/share/doc/execsnoop/changelog.Debian.gz",
    ]
    .into();
    assert_eq!(shipped, want, "the package's files");

    std::fs::copy(&deb, ch.root().join("tmp/execsnoop.deb")).expect("copy the .deb");
    let before = ch.files();
    ch.run(&["dpkg", "-i", "/tmp/execsnoop.deb"]);
    let status = ch.run(&[
        "dpkg-query",
        "-W",
        "-f",
        "${Status} ${Version}",
        "execsnoop",
    ]);
    assert_eq!(
        status,
        format!("install ok installed {}", env!("CARGO_PKG_VERSION"))
    );
    let version = ch.run(&["execsnoop", "--version"]);
    assert_eq!(
        version.trim(),
        format!("execsnoop {}", env!("CARGO_PKG_VERSION"))
    );
    // The unit went where systemd looks, and is not enabled.
    assert!(ch
        .root()
        .join("lib/systemd/system/execsnoop.service")
        .is_file());
    assert!(!ch
        .root()
        .join("etc/systemd/system/multi-user.target.wants/execsnoop.service")
        .exists());

    // A short trace inside the chroot sees an exec made inside it.
    let mut p = Proc::spawn_cmd(&mut ch.cmd(&["execsnoop", "--json", "-d", "5"]));
    if p.wait_stderr("tracing exec()", WAIT).is_none() {
        panic!(
            "execsnoop in the chroot did not start; stderr: {:?}",
            p.stderr()
        );
    }
    let marker = format!("lebpf-chroot-{}", std::process::id());
    let child = ch
        .cmd(&["/bin/true", &marker])
        .spawn()
        .expect("chroot /bin/true");
    let pid = child.id();
    assert!(child.wait_with_output().unwrap().status.success());
    let line = p
        .wait_line(WAIT, |l| {
            serde_json::from_str::<Value>(l)
                .is_ok_and(|v| v["filename"] == "/bin/true" && v["args"][1] == marker.as_str())
        })
        .unwrap_or_else(|| {
            panic!(
                "no event for the exec in the chroot; stderr: {:?}",
                p.stderr()
            )
        });
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["pid"].as_u64(), Some(pid.into()), "{line}");
    let st = p.wait_timeout(WAIT).expect("-d 5 did not end the run");
    assert_eq!(st.code(), Some(0), "stderr: {:?}", p.stderr());

    ch.run(&["dpkg", "--purge", "execsnoop"]);
    let after = ch.files();
    let added: Vec<_> = after
        .difference(&before)
        .filter(|f| !dpkg_bookkeeping(f))
        .collect();
    let removed: Vec<_> = before
        .difference(&after)
        .filter(|f| !dpkg_bookkeeping(f))
        .collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "purge left {added:?} behind, removed {removed:?}"
    );
    let gone = ch
        .cmd(&["dpkg-query", "-W", "execsnoop"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(!gone.success(), "dpkg still knows execsnoop after --purge");
}

/// systemd's syscall groups (`systemd-analyze syscall-filter`): name -> members, which
/// may be groups again (@name).
fn syscall_groups() -> BTreeMap<String, Vec<String>> {
    let out = Command::new("systemd-analyze")
        .arg("syscall-filter")
        .output()
        .expect("systemd-analyze syscall-filter");
    assert!(out.status.success());
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cur = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let t = line.trim();
        if line.starts_with('@') {
            cur = Some(t.to_string());
            groups.entry(t.to_string()).or_default();
        } else if !t.is_empty() && !t.starts_with('#') {
            if let Some(g) = &cur {
                groups.get_mut(g).unwrap().push(t.to_string());
            }
        }
    }
    groups
}

fn expand(groups: &BTreeMap<String, Vec<String>>, item: &str, into: &mut BTreeSet<String>) {
    if let Some(members) = groups.get(item) {
        for m in members {
            expand(groups, m, into);
        }
    } else {
        assert!(!item.starts_with('@'), "unknown syscall group {item}");
        into.insert(item.to_string());
    }
}

/// The unit's seccomp and memory settings do not break a run: every syscall execsnoop
/// makes (strace -f over a run that sees the test's own exec) is in SystemCallFilter=,
/// its sockets are of RestrictAddressFamilies=, and under MemoryDenyWriteExecute= it
/// neither maps memory writable and executable nor makes memory executable later.
/// (No systemd runs as PID 1 on the test machines, so the unit itself cannot be
/// started; its capabilities and limits are the previous test's.)
#[test]
fn unit_syscall_filter_allows_every_syscall_execsnoop_makes() {
    require_root();
    if !have_tool("strace") || !have_tool("systemd-analyze") {
        return;
    }
    let s = unit_settings();
    let filter = setting(&s, "SystemCallFilter").expect("SystemCallFilter");
    let groups = syscall_groups();
    let mut allowed = BTreeSet::new();
    for item in filter.split_whitespace() {
        assert!(
            !item.starts_with('~'),
            "deny lists are not understood by this test"
        );
        expand(&groups, item, &mut allowed);
    }

    // This build's execsnoop, and the static one `make dist` ships when it is there.
    let mut binaries = vec![bin("execsnoop")];
    let dist = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("dist")
        .join(std::env::consts::ARCH)
        .join("execsnoop");
    if dist.exists() {
        binaries.push(dist);
    }
    for binary in binaries {
        eprintln!("deploy: strace over {}", binary.display());
        let exec = setting(&s, "ExecStart").expect("ExecStart");
        let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
        let log = tempdir::Dir::new("strace");
        let trace = log.path().join("strace.log");
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-qq", "-o"])
            .arg(&trace)
            .arg(&binary)
            .args(&args)
            .args(["-d", "3"]);
        let mut p = Proc::spawn_cmd(&mut cmd);
        if p.wait_stderr("tracing exec()", WAIT).is_none() {
            panic!("execsnoop under strace did not start: {:?}", p.stderr());
        }
        let marker = format!("lebpf-seccomp-{}", std::process::id());
        let st = Command::new("/bin/true").arg(&marker).status().unwrap();
        assert!(st.success());
        p.wait_line(WAIT, |l| l.contains(&marker))
            .unwrap_or_else(|| panic!("no event for the own exec; stderr: {:?}", p.stderr()));
        let st = p.wait_timeout(WAIT).expect("-d 3 did not end the run");
        assert_eq!(st.code(), Some(0), "stderr: {:?}", p.stderr());

        let text = std::fs::read_to_string(&trace).expect("strace log");
        let families = setting(&s, "RestrictAddressFamilies").unwrap_or_default();
        let mdwe = setting(&s, "MemoryDenyWriteExecute").as_deref() == Some("yes");
        let mut made = BTreeSet::new();
        let mut bad = Vec::new();
        for line in text.lines() {
            // "PID name(args) = ret"; "<... name resumed>" repeats a call already seen.
            let Some(call) = line.split_once(' ').map(|(_, r)| r.trim_start()) else {
                continue;
            };
            let Some((name, rest)) = call.split_once('(') else {
                continue;
            };
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            made.insert(name.to_string());
            let args = rest.split(')').next().unwrap_or("");
            // ProtectSystem=strict (and ProtectKernelTunables): nothing is opened for
            // writing; ProtectHome: no home directory; PrivateDevices: no device but
            // the pseudo ones.
            let failed = line
                .rsplit(" = ")
                .next()
                .is_some_and(|r| r.starts_with('-'));
            if (name == "openat" || name == "open") && !failed {
                let path = args.split('"').nth(1).unwrap_or("");
                if args.contains("O_WRONLY") || args.contains("O_RDWR") || args.contains("O_CREAT")
                {
                    bad.push(format!(
                        "opened for writing under ProtectSystem=strict: {line}"
                    ));
                }
                let pseudo = [
                    "/dev/null",
                    "/dev/zero",
                    "/dev/full",
                    "/dev/random",
                    "/dev/urandom",
                ];
                if (path.starts_with("/dev/") && !pseudo.contains(&path))
                    || ["/home/", "/root/", "/run/user/"]
                        .iter()
                        .any(|h| path.starts_with(h))
                {
                    bad.push(format!("PrivateDevices/ProtectHome would hide: {line}"));
                }
            }
            if name == "socket" {
                let fam = args.split(',').next().unwrap_or("").trim();
                if !families.split_whitespace().any(|f| f == fam) {
                    bad.push(format!(
                        "socket family {fam} not in RestrictAddressFamilies"
                    ));
                }
            }
            if mdwe
                && ((name == "mmap" && args.contains("PROT_WRITE") && args.contains("PROT_EXEC"))
                    || (name.ends_with("mprotect") && args.contains("PROT_EXEC")))
            {
                bad.push(format!("MemoryDenyWriteExecute would refuse: {line}"));
            }
        }
        assert!(made.contains("bpf"), "strace saw no bpf(): {made:?}");
        for name in &made {
            if !allowed.contains(name) {
                bad.push(format!("{name} not in SystemCallFilter={filter}"));
            }
        }
        assert!(bad.is_empty(), "{}: {bad:#?}", binary.display());
    }
}

/// What the booted container does (a oneshot unit ordered after execsnoop.service),
/// into files the test reads after the container powers off: the service's journal
/// once it shows the test's exec, the service process's /proc status, its state before
/// and after `systemctl stop`, then `dpkg --purge` with systemd running.
const CONTAINER_CHECK: &str = r#"#!/bin/sh
for i in $(seq 60); do journalctl -u execsnoop -o cat | grep -q 'tracing exec()' && break; sleep 0.5; done
/bin/true MARKER
for i in $(seq 60); do journalctl -u execsnoop -o cat | grep -q MARKER && break; sleep 0.5; done
cat /proc/$(systemctl show -p MainPID --value execsnoop)/status > /deploy-status
systemctl show execsnoop -p ActiveState -p SubState -p NRestarts > /deploy-running
systemctl stop execsnoop
systemctl show execsnoop -p Result -p ExecMainStatus > /deploy-stopped
journalctl -u execsnoop -o cat > /deploy-journal
dpkg --purge execsnoop > /deploy-purge 2>&1
ls /etc/systemd/system/multi-user.target.wants > /deploy-wants
systemctl show execsnoop -p LoadState >> /deploy-wants
systemctl poweroff
"#;

/// The unit started by systemd itself: a clean Debian with systemd, booted as a
/// systemd-nspawn container (the only way to have systemd as PID 1 on the test
/// machines), with the package installed and the service enabled. The service must
/// run as a dynamic user holding exactly CAP_BPF + CAP_PERFMON under its seccomp
/// filter, log the test's exec to the journal as JSON, stop with success, and
/// `dpkg --purge` must disable it. The container itself is given CAP_BPF and
/// CAP_PERFMON and the bpf and perf_event_open syscalls, which nspawn withholds by
/// default.
#[test]
fn unit_runs_under_systemd_in_a_booted_debian_container() {
    require_root();
    for tool in ["dpkg", "debootstrap", "systemd-nspawn"] {
        if !have_tool(tool) {
            return;
        }
    }
    let deb = built_deb();
    let tarball = debian_root(Some("systemd,dbus"));
    let ch = Chroot::unpack(&tarball);
    let r = ch.root();
    std::fs::copy(&deb, r.join("tmp/execsnoop.deb")).expect("copy the .deb");
    // Installed and enabled before the boot (no systemd runs in a chroot: the
    // maintainer scripts skip systemctl; `systemctl enable` works offline).
    let run = |args: &[&str]| {
        let out = Command::new("chroot").arg(r).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "chroot {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["dpkg", "-i", "/tmp/execsnoop.deb"]);
    run(&["systemctl", "enable", "execsnoop.service"]);
    let marker = format!("lebpf-nspawn-{}", std::process::id());
    let script = r.join("usr/local/sbin/deploy-check");
    std::fs::write(&script, CONTAINER_CHECK.replace("MARKER", &marker)).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(
        r.join("etc/systemd/system/deploy-check.service"),
        "[Unit]\nAfter=execsnoop.service\n[Service]\nType=oneshot\n\
         ExecStart=/usr/local/sbin/deploy-check\n[Install]\nWantedBy=multi-user.target\n",
    )
    .unwrap();
    run(&["systemctl", "enable", "deploy-check.service"]);

    let t = Instant::now();
    let out = Command::new("timeout")
        .arg("180")
        .arg("systemd-nspawn")
        .args(["-q", "--boot", "--register=no", "--keep-unit"])
        .args(["--capability=CAP_BPF,CAP_PERFMON"])
        .args(["--system-call-filter=bpf perf_event_open"])
        .arg("-D")
        .arg(r)
        .stdin(Stdio::null())
        .output()
        .expect("systemd-nspawn");
    eprintln!(
        "deploy: the container booted, checked and powered off in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let read = |f: &str| {
        std::fs::read_to_string(r.join(f)).unwrap_or_else(|_| {
            panic!(
                "{f} not written by the container ({:?}); its console:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout)
            )
        })
    };
    let journal = read("deploy-journal");
    let own = journal
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["filename"] == "/bin/true" && v["args"][1] == marker.as_str())
        .unwrap_or_else(|| panic!("no JSON line for the own exec in the journal:\n{journal}"));
    assert_eq!(own["event"], "exec", "{own}");
    assert!(
        journal
            .lines()
            .any(|l| l.starts_with("execsnoop: ") && l.contains(" events, ")),
        "no summary line after the stop:\n{journal}"
    );

    let running = read("deploy-running");
    for want in ["ActiveState=active", "SubState=running", "NRestarts=0"] {
        assert!(running.lines().any(|l| l == want), "{want}?\n{running}");
    }
    let stopped = read("deploy-stopped");
    for want in ["Result=success", "ExecMainStatus=0"] {
        assert!(stopped.lines().any(|l| l == want), "{want}?\n{stopped}");
    }
    let status = read("deploy-status");
    let mask = (1u64 << CAP_BPF) | (1u64 << CAP_PERFMON);
    for key in ["CapEff:", "CapPrm:", "CapAmb:", "CapBnd:"] {
        assert_eq!(status_caps(&status, key), mask, "{key}\n{status}");
    }
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap();
    assert_ne!(uid, "0", "the service ran as root");
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    assert!(
        status.contains("Seccomp:\t2"),
        "no seccomp filter: {status}"
    );

    let wants = read("deploy-wants");
    assert!(
        !wants.contains("execsnoop.service") && wants.contains("LoadState=not-found"),
        "after dpkg --purge with systemd running:\n{wants}\n{}",
        read("deploy-purge")
    );
}
