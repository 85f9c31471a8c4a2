//! tracefs, the one place that makes sure it is mounted.
//!
//! libbpf reads a tracepoint's id from tracefs when it attaches one
//! (`events/<category>/<name>/id`), and `bpf_printk` output is read from its
//! `trace_pipe`. A freshly booted machine often has tracefs mounted nowhere (neither
//! /sys/kernel/tracing nor /sys/kernel/debug/tracing: minimal VMs, containers, systems
//! without systemd's mount unit), and libbpf then fails with a bare "failed to attach
//! tracepoint". Every program that attaches a tracepoint or reads trace_pipe calls
//! [`ensure`] first: it mounts tracefs at /sys/kernel/tracing when it can, and says in
//! one line what is missing and what to run when it cannot.
//!
//! libbpf picks /sys/kernel/debug/tracing when that path exists (checked once per
//! process) and /sys/kernel/tracing otherwise; [`ensure`] looks in the same order of
//! precedence, so the directory it finds is the one libbpf will use.

use std::ffi::CStr;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Where tracefs is mounted on current systems, and where [`ensure`] mounts it.
pub const TRACEFS: &str = "/sys/kernel/tracing";
/// Where it appears when debugfs is mounted (older systems; libbpf prefers it).
pub const DEBUGFS_TRACING: &str = "/sys/kernel/debug/tracing";

/// The command that mounts tracefs, for error messages and docs.
pub const MOUNT_HINT: &str = "mount -t tracefs tracefs /sys/kernel/tracing";

/// What is at a place where tracefs may be mounted.
enum Probe {
    Mounted,
    /// Something is there that this user may not look into (tracefs is root's, mode
    /// 0700): mounted, but useless without CAP_DAC_READ_SEARCH.
    Unreadable,
    Absent,
}

fn probe(dir: &str) -> Probe {
    // `events` holds the tracepoint ids libbpf reads; trace_pipe sits beside it.
    match std::fs::metadata(Path::new(dir).join("events")) {
        Ok(m) if m.is_dir() => Probe::Mounted,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Probe::Unreadable,
        _ => Probe::Absent,
    }
}

/// The mounted tracefs directory this process can use, if any, in libbpf's order of
/// preference (libbpf skips /sys/kernel/debug/tracing when it cannot see it).
pub fn find() -> Option<PathBuf> {
    [DEBUGFS_TRACING, TRACEFS]
        .into_iter()
        .find(|dir| matches!(probe(dir), Probe::Mounted))
        .map(PathBuf::from)
}

/// Returns the tracefs directory, mounting tracefs at /sys/kernel/tracing first when
/// it is mounted nowhere. The error is one line: what is missing and what to run.
pub fn ensure() -> Result<PathBuf> {
    if let Some(dir) = find() {
        return Ok(dir);
    }
    if let Probe::Unreadable = probe(TRACEFS) {
        bail!(
            "{TRACEFS} is not readable by this user (tracefs is root's): run as root, or \
             with CAP_DAC_READ_SEARCH added"
        );
    }
    const TARGET: &CStr = c"/sys/kernel/tracing";
    const FSTYPE: &CStr = c"tracefs";
    // SAFETY: valid NUL-terminated strings; no data argument.
    let rc = unsafe {
        libc::mount(
            FSTYPE.as_ptr(),
            TARGET.as_ptr(),
            FSTYPE.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EPERM) | Some(libc::EACCES) => bail!(
                "tracefs is not mounted and mounting it needs CAP_SYS_ADMIN; as root, run: {MOUNT_HINT}"
            ),
            Some(libc::ENODEV) => bail!(
                "this kernel has no tracefs (built without CONFIG_TRACING), which tracepoints need"
            ),
            _ => bail!("tracefs is not mounted and mounting it at {TRACEFS} failed ({err}); as root, run: {MOUNT_HINT}"),
        }
    }
    if !matches!(probe(TRACEFS), Probe::Mounted) {
        bail!("mounted tracefs at {TRACEFS} but it has no events directory");
    }
    Ok(PathBuf::from(TRACEFS))
}
