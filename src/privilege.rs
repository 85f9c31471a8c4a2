//! Privilege checks done before touching the bpf() syscall, so a user without rights
//! gets one line saying what is missing instead of libbpf's EPERM noise.

use std::fmt;
use std::fs;

/// Linux capability numbers (include/uapi/linux/capability.h).
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_PERFMON: u32 = 38;
pub const CAP_BPF: u32 = 39;

/// What the process lacks to load and attach tracing programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingPrivilege {
    pub euid: u32,
    pub missing: Vec<&'static str>,
}

impl fmt::Display for MissingPrivilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "needs root, or the capabilities CAP_BPF and CAP_PERFMON (running as uid {} without {}); try sudo",
            self.euid,
            self.missing.join(", ")
        )
    }
}

impl std::error::Error for MissingPrivilege {}

/// Parses the `CapEff:` hex mask out of a /proc/<pid>/status text.
pub fn parse_cap_eff(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
}

/// Decides from an effective uid and capability mask whether tracing programs can be
/// loaded: root, CAP_SYS_ADMIN (pre-5.8 rule, still honoured), or CAP_BPF+CAP_PERFMON.
pub fn evaluate(euid: u32, cap_eff: u64) -> Result<(), MissingPrivilege> {
    let has = |cap: u32| cap_eff & (1u64 << cap) != 0;
    if euid == 0 && has(CAP_SYS_ADMIN) {
        return Ok(());
    }
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    let mut missing = Vec::new();
    if !has(CAP_BPF) {
        missing.push("CAP_BPF");
    }
    if !has(CAP_PERFMON) {
        missing.push("CAP_PERFMON");
    }
    Err(MissingPrivilege { euid, missing })
}

/// Checks the calling process.
pub fn check() -> Result<(), MissingPrivilege> {
    // SAFETY: geteuid cannot fail.
    let euid = unsafe { libc::geteuid() };
    let cap_eff = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| parse_cap_eff(&s))
        .unwrap_or(0);
    evaluate(euid, cap_eff)
}

/// Debian and Ubuntu kernels add `kernel.perf_event_paranoid=3`, under which
/// perf_event_open (how tracepoints and kprobes are attached) needs CAP_SYS_ADMIN even
/// with CAP_PERFMON. Returns a hint for an attach error when that is the likely cause.
pub fn perf_event_hint() -> Option<String> {
    let level: i32 = fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let cap_eff = fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| parse_cap_eff(&s))
        .unwrap_or(0);
    perf_event_hint_for(level, cap_eff)
}

/// The decision behind [`perf_event_hint`], for a paranoid level and a capability mask.
pub fn perf_event_hint_for(paranoid: i32, cap_eff: u64) -> Option<String> {
    (paranoid > 2 && cap_eff & (1u64 << CAP_SYS_ADMIN) == 0).then(|| {
        format!(
            "kernel.perf_event_paranoid is {paranoid}: this kernel then lets only CAP_SYS_ADMIN \
             attach tracepoints and kprobes (run as root, or sysctl kernel.perf_event_paranoid=2)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paranoid_3_without_sys_admin_gets_a_hint() {
        assert!(perf_event_hint_for(3, 1 << CAP_PERFMON)
            .unwrap()
            .contains("perf_event_paranoid is 3"));
        assert_eq!(perf_event_hint_for(3, 1 << CAP_SYS_ADMIN), None);
        assert_eq!(perf_event_hint_for(2, 1 << CAP_PERFMON), None);
    }

    #[test]
    fn parses_cap_eff() {
        let s = "Name:\tx\nCapPrm:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
        assert_eq!(parse_cap_eff(s), Some(0x1ff_ffff_ffff));
        assert_eq!(parse_cap_eff("Name: x\n"), None);
    }

    #[test]
    fn root_with_caps_passes_and_nobody_fails() {
        assert!(evaluate(0, 0x1ff_ffff_ffff).is_ok());
        let e = evaluate(65534, 0).unwrap_err();
        assert_eq!(e.missing, vec!["CAP_BPF", "CAP_PERFMON"]);
        assert!(e.to_string().contains("uid 65534"));
    }

    #[test]
    fn bpf_plus_perfmon_is_enough_but_one_is_not() {
        let both = (1 << CAP_BPF) | (1 << CAP_PERFMON);
        assert!(evaluate(1000, both).is_ok());
        let e = evaluate(1000, 1 << CAP_BPF).unwrap_err();
        assert_eq!(e.missing, vec!["CAP_PERFMON"]);
        // root in a user namespace without capabilities is not enough.
        assert!(evaluate(0, 0).is_err());
    }
}
