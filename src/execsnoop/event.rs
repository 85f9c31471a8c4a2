//! Decoding the kernel's `struct execsnoop_event` (src/bpf/execsnoop.h) and working out
//! which arguments are shown and what was cut.
//!
//! Decoding reads fields at fixed offsets with `from_ne_bytes`, so it works on perf
//! buffer samples too (those are not 8-byte aligned, unlike ring buffer samples).

use std::fmt;

use crate::skel::execsnoop::types::{execsnoop_flags, execsnoop_kind};

/// Size of the fixed header (`sizeof(struct execsnoop_event)`); a unit test checks it
/// against the skeleton's copy of the struct.
pub const HEADER_LEN: usize = 136;
const COMM_OFF: usize = 56;
const COMM_LEN: usize = 16;

fn flag(f: execsnoop_flags) -> u8 {
    f.0 as u8
}

/// Why a sample could not be decoded (a kernel/user-space mismatch: a bug, not input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed event: {}", self.0)
    }
}

impl std::error::Error for DecodeError {}

/// Committed exec or failed exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecKind {
    Exec,
    Fail,
}

/// One decoded event; byte strings borrow the sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecEvent<'a> {
    pub kind: ExecKind,
    pub ts_ns: u64,
    pub cgroup_id: u64,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub ret: i32,
    pub argc: u32,
    /// Size of the whole argument area in the process (NULs included).
    pub args_size: u32,
    pub flags: u8,
    /// The command name after exec (up to the first NUL).
    pub comm: &'a [u8],
    /// The filename given to exec.
    pub filename: &'a [u8],
    /// The program that really runs when a binfmt handler replaced it (`#!`
    /// interpreter); empty when it is the filename.
    pub interp: &'a [u8],
    /// The captured part of the argument area: NUL-terminated strings, the last one
    /// possibly without its NUL when the capture was cut.
    pub args_area: &'a [u8],
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes(b[off..off + 2].try_into().expect("2 bytes"))
}

fn until_nul(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |n| &b[..n])
}

impl<'a> ExecEvent<'a> {
    /// Decodes one sample. The perf buffer may pad a sample at the end: extra bytes
    /// after the data are ignored.
    pub fn parse(b: &'a [u8]) -> Result<Self, DecodeError> {
        if b.len() < HEADER_LEN {
            return Err(DecodeError(format!(
                "{} bytes, header needs {HEADER_LEN}",
                b.len()
            )));
        }
        let args_len = u32_at(b, 44) as usize;
        let filename_len = u16_at(b, 48) as usize;
        let interp_len = u16_at(b, 50) as usize;
        let kind = match u32::from(b[52]) {
            k if k == execsnoop_kind::EXECSNOOP_KIND_EXEC.0 => ExecKind::Exec,
            k if k == execsnoop_kind::EXECSNOOP_KIND_FAIL.0 => ExecKind::Fail,
            k => return Err(DecodeError(format!("unknown kind {k}"))),
        };
        let data = &b[HEADER_LEN..];
        let need = filename_len + interp_len + args_len;
        if data.len() < need {
            return Err(DecodeError(format!(
                "{} data bytes, lengths say {need}",
                data.len()
            )));
        }
        let (filename, rest) = data.split_at(filename_len);
        let (interp, rest) = rest.split_at(interp_len);
        Ok(ExecEvent {
            kind,
            ts_ns: u64_at(b, 0),
            cgroup_id: u64_at(b, 8),
            pid: u32_at(b, 16),
            tid: u32_at(b, 20),
            ppid: u32_at(b, 24),
            uid: u32_at(b, 28),
            ret: u32_at(b, 32) as i32,
            argc: u32_at(b, 36),
            args_size: u32_at(b, 40),
            flags: b[53],
            comm: until_nul(&b[COMM_OFF..COMM_OFF + COMM_LEN]),
            filename,
            interp,
            args_area: &rest[..args_len],
        })
    }

    /// The program that runs: the interpreter for a script, else the filename.
    pub fn program(&self) -> &'a [u8] {
        if self.interp.is_empty() {
            self.filename
        } else {
            self.interp
        }
    }

    pub fn has_flag(&self, f: execsnoop_flags) -> bool {
        self.flags & flag(f) != 0
    }

    /// Every captured argument, before the display limits (the last one may be cut).
    pub fn captured_args(&self) -> impl Iterator<Item = &'a [u8]> {
        let area = self.args_area;
        let complete_tail = area.last() == Some(&0);
        let body = if complete_tail {
            &area[..area.len() - 1]
        } else {
            area
        };
        let empty = area.is_empty();
        body.split(|&c| c == 0).filter(move |_| !empty)
    }

    /// Splits the arguments under `limits`, recording shown ranges into `out` (reused
    /// between events to avoid allocating) and returning what was cut.
    pub fn select_args(&self, limits: Limits, out: &mut Vec<&'a [u8]>) -> Truncation {
        out.clear();
        let mut shown_bytes: u64 = 0;
        let mut cut_args = 0u32;
        // What was captured, counted as it is split: the header's argc and args_size
        // are trusted only as far as they cover it (an inconsistent sample must not
        // hide captured arguments without saying so).
        let (mut captured, mut captured_text) = (0u64, 0u64);
        for arg in self.captured_args() {
            captured += 1;
            captured_text += arg.len() as u64;
            if out.len() >= limits.max_args {
                continue;
            }
            let keep = &arg[..arg.len().min(limits.arg_size)];
            if keep.len() < arg.len() {
                cut_args += 1;
            }
            shown_bytes += keep.len() as u64;
            out.push(keep);
        }
        let captured_whole = self.args_area.len() as u64 >= u64::from(self.args_size)
            && !self.has_flag(execsnoop_flags::EXECSNOOP_F_BYTES_INEXACT);
        let argc = u64::from(self.argc).max(captured);
        let args_dropped = argc.saturating_sub(out.len() as u64);
        let bytes_dropped = if self.kind == ExecKind::Exec
            || (captured_whole && !self.has_flag(execsnoop_flags::EXECSNOOP_F_ARGS_READ_ERR))
        {
            // Text bytes = area size minus one NUL per argument.
            let text = u64::from(self.args_size)
                .saturating_sub(u64::from(self.argc))
                .max(captured_text);
            Some(text.saturating_sub(shown_bytes))
        } else {
            None
        };
        // A read error on a committed exec loses everything: no exact byte count is
        // possible if the area could not be read at all, but args_size still says.
        Truncation {
            args_dropped,
            args_dropped_exact: !self.has_flag(execsnoop_flags::EXECSNOOP_F_ARGC_INEXACT),
            bytes_dropped,
            args_cut: cut_args,
        }
    }
}

/// Display limits (`--max-args`, `--arg-size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_args: usize,
    pub arg_size: usize,
}

/// What an event lost to the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Truncation {
    /// Arguments not shown at all.
    pub args_dropped: u64,
    /// False when argc itself is a lower bound (a failed exec with a huge argv).
    pub args_dropped_exact: bool,
    /// Argument bytes not shown (NUL terminators not counted); None when unknown (a
    /// failed exec whose dropped arguments were not measured).
    pub bytes_dropped: Option<u64>,
    /// Arguments shown but cut short.
    pub args_cut: u32,
}

impl Truncation {
    pub fn any(&self) -> bool {
        self.args_dropped > 0 || self.bytes_dropped != Some(0) || self.args_cut > 0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a sample the way the kernel lays it out.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sample(
        kind: ExecKind,
        comm: &[u8],
        filename: &[u8],
        interp: &[u8],
        args_area: &[u8],
        argc: u32,
        args_size: u32,
        ret: i32,
        flags: u8,
    ) -> Vec<u8> {
        let mut b = vec![0u8; HEADER_LEN];
        b[0..8].copy_from_slice(&1_000_000_000u64.to_ne_bytes());
        b[8..16].copy_from_slice(&77u64.to_ne_bytes());
        b[16..20].copy_from_slice(&100u32.to_ne_bytes());
        b[20..24].copy_from_slice(&101u32.to_ne_bytes());
        b[24..28].copy_from_slice(&1u32.to_ne_bytes());
        b[28..32].copy_from_slice(&1000u32.to_ne_bytes());
        b[32..36].copy_from_slice(&ret.to_ne_bytes());
        b[36..40].copy_from_slice(&argc.to_ne_bytes());
        b[40..44].copy_from_slice(&args_size.to_ne_bytes());
        b[44..48].copy_from_slice(&(args_area.len() as u32).to_ne_bytes());
        b[48..50].copy_from_slice(&(filename.len() as u16).to_ne_bytes());
        b[50..52].copy_from_slice(&(interp.len() as u16).to_ne_bytes());
        b[52] = match kind {
            ExecKind::Exec => 1,
            ExecKind::Fail => 2,
        };
        b[53] = flags;
        b[COMM_OFF..COMM_OFF + comm.len()].copy_from_slice(comm);
        b.extend_from_slice(filename);
        b.extend_from_slice(interp);
        b.extend_from_slice(args_area);
        b
    }

    #[test]
    fn header_matches_the_kernel_struct() {
        use crate::skel::execsnoop::types::execsnoop_event;
        assert_eq!(std::mem::size_of::<execsnoop_event>(), HEADER_LEN);
        let e = execsnoop_event::default();
        let base = &e as *const _ as usize;
        assert_eq!(&e.comm as *const _ as usize - base, COMM_OFF);
        assert_eq!(&e.args_len as *const _ as usize - base, 44);
        assert_eq!(&e.kind as *const _ as usize - base, 52);
    }

    #[test]
    fn decodes_a_committed_exec() {
        let s = sample(
            ExecKind::Exec,
            b"ls",
            b"/bin/ls",
            b"",
            b"ls\0-l\0",
            2,
            6,
            0,
            0,
        );
        let e = ExecEvent::parse(&s).unwrap();
        assert_eq!(e.kind, ExecKind::Exec);
        assert_eq!((e.pid, e.tid, e.ppid, e.uid, e.ret), (100, 101, 1, 1000, 0));
        assert_eq!(e.comm, b"ls");
        assert_eq!(e.program(), b"/bin/ls");
        let args: Vec<_> = e.captured_args().collect();
        assert_eq!(args, vec![&b"ls"[..], b"-l"]);
        let mut v = Vec::new();
        let t = e.select_args(
            Limits {
                max_args: 20,
                arg_size: 100,
            },
            &mut v,
        );
        assert!(!t.any(), "{t:?}");
        assert_eq!(v.len(), 2);
    }

    #[test]
    fn rejects_short_or_inconsistent_samples() {
        assert!(ExecEvent::parse(&[0u8; 10]).is_err());
        let mut s = sample(ExecKind::Exec, b"x", b"/x", b"", b"x\0", 1, 2, 0, 0);
        s.truncate(s.len() - 1);
        assert!(ExecEvent::parse(&s).is_err());
        let mut s = sample(ExecKind::Exec, b"x", b"/x", b"", b"x\0", 1, 2, 0, 0);
        s[52] = 9;
        assert!(ExecEvent::parse(&s).is_err());
    }

    #[test]
    fn interpreter_replaces_the_program() {
        let s = sample(
            ExecKind::Exec,
            b"s.sh",
            b"/tmp/s.sh",
            b"/bin/sh",
            b"/bin/sh\0/tmp/s.sh\0",
            2,
            18,
            0,
            0,
        );
        let e = ExecEvent::parse(&s).unwrap();
        assert_eq!(e.program(), b"/bin/sh");
        assert_eq!(e.filename, b"/tmp/s.sh");
    }

    #[test]
    fn counts_dropped_args_and_bytes_exactly() {
        // 5 args of 3 bytes ("aaa") = 20 bytes with NULs; show 2, each cut to 2 bytes.
        let area = b"aaa\0bbb\0ccc\0ddd\0eee\0";
        let s = sample(ExecKind::Exec, b"x", b"/x", b"", area, 5, 20, 0, 0);
        let e = ExecEvent::parse(&s).unwrap();
        let mut v = Vec::new();
        let t = e.select_args(
            Limits {
                max_args: 2,
                arg_size: 2,
            },
            &mut v,
        );
        assert_eq!(v, vec![&b"aa"[..], b"bb"]);
        assert_eq!(t.args_dropped, 3);
        assert_eq!(t.bytes_dropped, Some(15 - 4));
        assert_eq!(t.args_cut, 2);
        assert!(t.any());
    }

    #[test]
    fn kernel_capture_cut_is_counted() {
        // The kernel sent 6 of 14 bytes: "abc\0de" of "abc\0defgh\0ij\0".
        let s = sample(ExecKind::Exec, b"x", b"/x", b"", b"abc\0de", 3, 14, 0, 0);
        let e = ExecEvent::parse(&s).unwrap();
        let mut v = Vec::new();
        let t = e.select_args(
            Limits {
                max_args: 20,
                arg_size: 4096,
            },
            &mut v,
        );
        assert_eq!(v, vec![&b"abc"[..], b"de"]);
        assert_eq!(t.args_dropped, 1);
        assert_eq!(t.bytes_dropped, Some(11 - 5));
    }

    #[test]
    fn exactly_max_args_is_not_marked() {
        // The peers' "..." shows up when argc == limit; ours must not.
        let s = sample(ExecKind::Exec, b"x", b"/x", b"", b"a\0b\0", 2, 4, 0, 0);
        let e = ExecEvent::parse(&s).unwrap();
        let mut v = Vec::new();
        let t = e.select_args(
            Limits {
                max_args: 2,
                arg_size: 1,
            },
            &mut v,
        );
        assert!(!t.any(), "{t:?}");
    }

    #[test]
    fn failed_exec_with_unmeasured_args_has_unknown_bytes() {
        let f = flag(execsnoop_flags::EXECSNOOP_F_BYTES_INEXACT);
        let s = sample(ExecKind::Fail, b"sh", b"/nope", b"", b"a\0", 3, 2, -2, f);
        let e = ExecEvent::parse(&s).unwrap();
        assert_eq!(e.ret, -2);
        let mut v = Vec::new();
        let t = e.select_args(
            Limits {
                max_args: 20,
                arg_size: 100,
            },
            &mut v,
        );
        assert_eq!(t.args_dropped, 2);
        assert_eq!(t.bytes_dropped, None);
        assert!(t.any());
    }

    #[test]
    fn failed_exec_fully_captured_is_exact() {
        let s = sample(
            ExecKind::Fail,
            b"sh",
            b"/nope",
            b"",
            b"nope\0x\0",
            2,
            7,
            -2,
            0,
        );
        let e = ExecEvent::parse(&s).unwrap();
        let mut v = Vec::new();
        let t = e.select_args(
            Limits {
                max_args: 20,
                arg_size: 100,
            },
            &mut v,
        );
        assert!(!t.any(), "{t:?}");
    }

    #[test]
    fn empty_argv_has_no_args() {
        let s = sample(ExecKind::Exec, b"x", b"/x", b"", b"", 0, 0, 0, 0);
        let e = ExecEvent::parse(&s).unwrap();
        assert_eq!(e.captured_args().count(), 0);
    }
}
