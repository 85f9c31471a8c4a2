//! Running a binary as an unprivileged uid that holds exactly a chosen set of
//! capabilities (through ambient capabilities), to prove CAP_BPF + CAP_PERFMON suffice.

#![allow(dead_code)]

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

pub const CAP_DAC_OVERRIDE: u32 = 1;
pub const CAP_DAC_READ_SEARCH: u32 = 2;
pub const CAP_PERFMON: u32 = 38;
pub const CAP_BPF: u32 = 39;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

fn check(rc: libc::c_long) -> io::Result<()> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Makes `cmd` run as uid/gid `uid` holding exactly `caps` (effective, permitted,
/// inheritable and ambient). The parent must be root. RLIMIT_MEMLOCK is raised first,
/// as an operator does for such a service (systemd `LimitMEMLOCK=infinity`): kernels
/// before 5.11 charge BPF maps to it, and without CAP_SYS_RESOURCE the program cannot.
pub fn with_caps<'a>(cmd: &'a mut Command, uid: u32, caps: &[u32]) -> &'a mut Command {
    let caps = caps.to_vec();
    // SAFETY: the closure runs between fork and exec and only makes raw syscalls.
    unsafe {
        cmd.pre_exec(move || {
            let unlimited = libc::rlimit {
                rlim_cur: libc::RLIM_INFINITY,
                rlim_max: libc::RLIM_INFINITY,
            };
            // Best effort: some hosts (this project's CI) deny it even to root, and
            // their kernels (5.11+) do not charge memlock anyway.
            libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited);
            check(libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) as libc::c_long)?;
            check(libc::setgroups(0, std::ptr::null()) as libc::c_long)?;
            check(libc::setresgid(uid, uid, uid) as libc::c_long)?;
            check(libc::setresuid(uid, uid, uid) as libc::c_long)?;
            let mut data = [CapData::default(); 2];
            for &c in &caps {
                let (i, bit) = ((c / 32) as usize, 1u32 << (c % 32));
                data[i].effective |= bit;
                data[i].permitted |= bit;
                data[i].inheritable |= bit;
            }
            let mut hdr = CapHeader {
                version: LINUX_CAPABILITY_VERSION_3,
                pid: 0,
            };
            check(libc::syscall(libc::SYS_capset, &mut hdr, data.as_mut_ptr()))?;
            for &c in &caps {
                check(libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_RAISE,
                    c as libc::c_ulong,
                    0,
                    0,
                ) as libc::c_long)?;
            }
            Ok(())
        })
    }
}

const PARANOID: &str = "/proc/sys/kernel/perf_event_paranoid";

/// Sets kernel.perf_event_paranoid for the life of the guard, then restores it.
/// Debian kernels default to 3, where perf_event_open needs CAP_SYS_ADMIN.
pub struct ParanoidGuard {
    old: String,
}

impl ParanoidGuard {
    pub fn set(level: i32) -> ParanoidGuard {
        let old = std::fs::read_to_string(PARANOID).expect("read perf_event_paranoid");
        std::fs::write(PARANOID, level.to_string()).expect("write perf_event_paranoid");
        ParanoidGuard { old }
    }

    /// Lowers perf_event_paranoid to 2 for the guard's life when it is above (Debian's
    /// kernels default to 3, where CAP_PERFMON cannot open perf events); None otherwise.
    pub fn at_most_2() -> Option<ParanoidGuard> {
        (Self::current() > 2).then(|| Self::set(2))
    }

    pub fn current() -> i32 {
        std::fs::read_to_string(PARANOID)
            .expect("read perf_event_paranoid")
            .trim()
            .parse()
            .expect("number")
    }
}

impl Drop for ParanoidGuard {
    fn drop(&mut self) {
        let _ = std::fs::write(PARANOID, self.old.trim());
    }
}
