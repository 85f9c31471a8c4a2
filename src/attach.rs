//! Attaching the book's execve programs with a fallback: the book uses a kprobe on the
//! arch's syscall wrapper (libbpf `ksyscall`), which kernels built without
//! CONFIG_KPROBES cannot do; there the `syscalls/sys_enter_<name>` tracepoint carries
//! the same arguments. Each program ships both bodies; user space loads what the mode
//! needs and attaches one, saying on stderr which. The decision lives here; the attach
//! calls themselves stay in each program's `main` (passed to [`syscall_entry`]).

use std::fmt;
use std::path::Path;

use anyhow::{anyhow, Result};
use libbpf_rs::{Link, OpenProgramMut, ProgramMut, TracepointCategory};

/// `--attach` values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AttachMode {
    /// kprobe where the kernel has kprobes, else the tracepoint.
    #[default]
    Auto,
    /// Only the book's kprobe (ksyscall); fail if the kernel cannot.
    Kprobe,
    /// Only the syscalls/sys_enter_* tracepoint.
    Tracepoint,
}

/// Where a program ended up attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttachPoint {
    Ksyscall(String),
    Tracepoint(String),
}

impl fmt::Display for AttachPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttachPoint::Ksyscall(s) => write!(f, "kprobe (ksyscall/{s})"),
            AttachPoint::Tracepoint(s) => write!(f, "tracepoint syscalls/sys_enter_{s}"),
        }
    }
}

/// True when the kernel offers perf-event kprobes (the PMU libbpf attaches through).
/// Absent on kernels built without CONFIG_KPROBE_EVENTS.
pub fn kprobes_available() -> bool {
    Path::new("/sys/bus/event_source/devices/kprobe").exists()
}

/// An attach failure, with the perf_event_paranoid hint when that is the likely cause.
pub fn attach_error(msg: String) -> anyhow::Error {
    match crate::privilege::perf_event_hint() {
        Some(hint) => anyhow!("{msg} ({hint})"),
        None => anyhow!("{msg}"),
    }
}

/// Attaches `prog` to the tracepoint `category/name` (libbpf `attach_tracepoint`),
/// mounting tracefs first when it is mounted nowhere (libbpf reads the tracepoint's id
/// there; see [`crate::tracefs`]). Errors name the tracepoint and the cause.
pub fn tracepoint(prog: &ProgramMut, category: TracepointCategory, name: &str) -> Result<Link> {
    let what = format!("tracepoint {}/{name}", category.as_ref());
    crate::tracefs::ensure().map_err(|e| anyhow!("attaching to {what}: {e:#}"))?;
    prog.attach_tracepoint(category, name)
        .map_err(|e| attach_error(format!("attaching to {what}: {e}")))
}

/// Before load: turns off autoload of the body the mode will not attach, so a forced
/// mode never loads the other one. In `auto`, both load so the attach can fall back.
pub fn select_autoload(
    mode: AttachMode,
    kprobe: &mut OpenProgramMut,
    tracepoint: &mut OpenProgramMut,
) {
    let (k, t) = match mode {
        AttachMode::Auto if !kprobes_available() => (false, true),
        AttachMode::Auto => (true, true),
        AttachMode::Kprobe => (true, false),
        AttachMode::Tracepoint => (false, true),
    };
    kprobe.set_autoload(k);
    tracepoint.set_autoload(t);
}

/// The kprobe-or-tracepoint decision for a syscall entry, with the attach calls left
/// to the caller (so a program's `main` shows them): runs `kprobe` (the book's
/// `attach_kprobe`, libbpf `attach_ksyscall`) or `tracepoint` (`syscalls/sys_enter_<name>`)
/// as `mode` says, falls back to the tracepoint in `auto` when kprobes are missing or
/// fail, and tells on stderr which one was used (and why, when auto fell back). `prog`
/// names the binary in that line.
pub fn syscall_entry(
    prog: &str,
    mode: AttachMode,
    syscall: &str,
    kprobe: impl FnOnce() -> libbpf_rs::Result<Link>,
    tracepoint: impl FnOnce() -> Result<Link>,
) -> Result<(Link, AttachPoint)> {
    let tp = |why: Option<String>| -> Result<(Link, AttachPoint)> {
        let link = tracepoint()?;
        let point = AttachPoint::Tracepoint(syscall.to_string());
        match why {
            Some(why) => eprintln!("{prog}: {why}; attached to {point} instead"),
            None => eprintln!("{prog}: attached to {point}"),
        }
        Ok((link, point))
    };
    let kp = || -> Result<(Link, AttachPoint)> {
        let link = kprobe()
            .map_err(|e| attach_error(format!("attaching kprobe (ksyscall/{syscall}): {e}")))?;
        let point = AttachPoint::Ksyscall(syscall.to_string());
        eprintln!("{prog}: attached to {point}");
        Ok((link, point))
    };
    match mode {
        AttachMode::Tracepoint => tp(None),
        AttachMode::Kprobe if !kprobes_available() => Err(anyhow!(
            "this kernel has no kprobes (no /sys/bus/event_source/devices/kprobe); use --attach tracepoint or auto"
        )),
        AttachMode::Kprobe => kp(),
        AttachMode::Auto if !kprobes_available() => tp(Some("kernel has no kprobes".into())),
        AttachMode::Auto => match kp() {
            Ok(done) => Ok(done),
            Err(e) => tp(Some(format!("{e:#}"))),
        },
    }
}

/// Mounts tracefs now if `mode` may end up on the tracepoint `category/name`, failing
/// with the error the attach would give. For programs that set up a perf buffer
/// before attaching (so no early sample is lost): without it, a missing tracefs would
/// surface as a perf buffer error instead of the attach error that explains it.
pub fn tracefs_before_setup(
    mode: AttachMode,
    category: TracepointCategory,
    name: &str,
) -> Result<()> {
    if mode == AttachMode::Kprobe || (mode == AttachMode::Auto && kprobes_available()) {
        return Ok(());
    }
    let what = format!("tracepoint {}/{name}", category.as_ref());
    crate::tracefs::ensure()
        .map(drop)
        .map_err(|e| anyhow!("attaching to {what}: {e:#}"))
}
