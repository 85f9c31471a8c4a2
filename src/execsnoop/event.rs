//! Decoding the kernel's `struct execsnoop_event` (src/bpf/execsnoop.h) and working out
//! which arguments are shown and what was cut.
//!
//! The header is copied out of the sample into the skeleton's generated
//! `execsnoop_event` (its layout comes from the BPF object's BTF, so a field the C side
//! adds or moves needs no offset edited here). Copying works on perf buffer samples
//! too, which are not 8-byte aligned, unlike ring buffer samples.

use std::fmt;
use std::mem::{offset_of, size_of};

use crate::skel::execsnoop::types::{
    execsnoop_event, execsnoop_flags, execsnoop_kind, execsnoop_limits,
};

// SAFETY: execsnoop_event is #[repr(C)] integers and integer arrays (the generated
// copy of the C struct): every bit pattern is a valid value.
unsafe impl plain::Plain for execsnoop_event {}

/// Size of the fixed header (`sizeof(struct execsnoop_event)`): the data follows it.
pub const HEADER_LEN: usize = size_of::<execsnoop_event>();
const COMM_OFF: usize = offset_of!(execsnoop_event, comm);
const COMM_LEN: usize = execsnoop_limits::EXECSNOOP_COMM_LEN.0 as usize;
const PCOMM_OFF: usize = offset_of!(execsnoop_event, pcomm);

/// loginuid / sessionid value for "unset" (and for a kernel without audit).
pub const ID_UNSET: u32 = u32::MAX;

fn flag(f: execsnoop_flags) -> u8 {
    f.0 as u8
}

/// The sample's kernel time (`ts_ns`), without decoding the rest: the order key for
/// putting a perf buffer's per-CPU batches back in time order.
pub fn sample_time(b: &[u8]) -> u64 {
    const OFF: usize = offset_of!(execsnoop_event, ts_ns);
    b.get(OFF..OFF + 8)
        .map_or(0, |x| u64::from_ne_bytes(x.try_into().unwrap_or([0; 8])))
}

/// Lays out a sample as the kernel sends it: `header` then `data` (the filename,
/// interpreter and argument bytes, as the header's lengths say). For tests and fuzzing:
/// the one place that writes the layout.
pub fn encode_sample(header: &execsnoop_event, data: &[u8]) -> Vec<u8> {
    // SAFETY: see the Plain impl above; the struct has no padding bytes the kernel
    // would not send either (checked by header_matches_the_kernel_struct).
    let mut b = unsafe { plain::as_bytes(header) }.to_vec();
    b.extend_from_slice(data);
    b
}

/// Sets a header's comm (cut to the field's size; the rest stays zero). For tests.
pub fn set_comm(h: &mut execsnoop_event, comm: &[u8]) {
    for (d, &c) in h.comm.iter_mut().zip(comm) {
        *d = c as _;
    }
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

impl ExecKind {
    /// The kernel's `enum execsnoop_kind` value.
    pub fn code(self) -> u8 {
        match self {
            ExecKind::Exec => execsnoop_kind::EXECSNOOP_KIND_EXEC.0 as u8,
            ExecKind::Fail => execsnoop_kind::EXECSNOOP_KIND_FAIL.0 as u8,
        }
    }

    /// The `"event"` name in JSON.
    pub fn name(self) -> &'static str {
        match self {
            ExecKind::Exec => "exec",
            ExecKind::Fail => "fail",
        }
    }
}

/// One decoded event; byte strings borrow the sample.
#[derive(Debug, Clone)]
pub struct ExecEvent<'a> {
    pub kind: ExecKind,
    /// The whole fixed header as the kernel sent it.
    pub header: execsnoop_event,
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
    /// The parent's command name (its `real_parent->comm`, up to the first NUL).
    pub pcomm: &'a [u8],
    /// --paths, committed execs: the working directory (empty otherwise).
    pub cwd: &'a [u8],
    /// --paths, committed execs: the absolute path of the executable (empty otherwise).
    pub exe: &'a [u8],
}

fn until_nul(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |n| &b[..n])
}

impl<'a> ExecEvent<'a> {
    /// Decodes one sample. The perf buffer may pad a sample at the end: extra bytes
    /// after the data are ignored.
    pub fn parse(b: &'a [u8]) -> Result<Self, DecodeError> {
        let mut h = execsnoop_event::default();
        if b.len() < HEADER_LEN || plain::copy_from_bytes(&mut h, b).is_err() {
            return Err(DecodeError(format!(
                "{} bytes, header needs {HEADER_LEN}",
                b.len()
            )));
        }
        let kind = match u32::from(h.kind) {
            k if k == execsnoop_kind::EXECSNOOP_KIND_EXEC.0 => ExecKind::Exec,
            k if k == execsnoop_kind::EXECSNOOP_KIND_FAIL.0 => ExecKind::Fail,
            k => return Err(DecodeError(format!("unknown kind {k}"))),
        };
        let (args_len, filename_len, interp_len) = (
            h.args_len as usize,
            usize::from(h.filename_len),
            usize::from(h.interp_len),
        );
        let (cwd_len, exe_len) = (usize::from(h.cwd_len), usize::from(h.exe_len));
        let data = &b[HEADER_LEN..];
        let need = filename_len + interp_len + args_len + cwd_len + exe_len;
        if data.len() < need {
            return Err(DecodeError(format!(
                "{} data bytes, lengths say {need}",
                data.len()
            )));
        }
        let (filename, rest) = data.split_at(filename_len);
        let (interp, rest) = rest.split_at(interp_len);
        let (args_area, rest) = rest.split_at(args_len);
        let (cwd, rest) = rest.split_at(cwd_len);
        Ok(ExecEvent {
            kind,
            header: h,
            ts_ns: h.ts_ns,
            cgroup_id: h.cgroup_id,
            pid: h.pid,
            tid: h.tid,
            ppid: h.ppid,
            uid: h.uid,
            ret: h.ret,
            argc: h.argc,
            args_size: h.args_size,
            flags: h.flags,
            // The comm borrows the sample (the header copy is a local).
            comm: until_nul(&b[COMM_OFF..COMM_OFF + COMM_LEN]),
            filename,
            interp,
            args_area,
            pcomm: until_nul(&b[PCOMM_OFF..PCOMM_OFF + COMM_LEN]),
            cwd,
            exe: &rest[..exe_len],
        })
    }

    /// The process's start time (ns since boot, CLOCK_BOOTTIME: the kernel's
    /// `start_boottime`, which /proc/PID/stat field 22 shows in clock ticks).
    pub fn start_ns(&self) -> u64 {
        self.header.start_ns
    }

    /// An audit id (loginuid, sessionid) as JSON shows it: None when unset.
    pub fn audit_id(v: u32) -> Option<u32> {
        (v != ID_UNSET).then_some(v)
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

    /// --paths: the cwd lost its leading components (deeper than the walk's bound).
    pub fn cwd_cut(&self) -> bool {
        self.has_flag(execsnoop_flags::EXECSNOOP_F_CWD_CUT)
    }

    /// --paths: the same for exe.
    pub fn exe_cut(&self) -> bool {
        self.has_flag(execsnoop_flags::EXECSNOOP_F_EXE_CUT)
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

    /// Splits the arguments under `limits`, putting the shown slices into `out` (which
    /// it clears first) and returning what was cut.
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
        let mut h = execsnoop_event {
            ts_ns: 1_000_000_000,
            cgroup_id: 77,
            pid: 100,
            tid: 101,
            ppid: 1,
            uid: 1000,
            ret,
            argc,
            args_size,
            args_len: args_area.len() as u32,
            filename_len: filename.len() as u16,
            interp_len: interp.len() as u16,
            kind: kind.code(),
            flags,
            ..Default::default()
        };
        set_comm(&mut h, comm);
        let mut data = filename.to_vec();
        data.extend_from_slice(interp);
        data.extend_from_slice(args_area);
        encode_sample(&h, &data)
    }

    #[test]
    fn header_matches_the_kernel_struct() {
        // The comm is read in place (it borrows the sample): its slice must be the
        // generated struct's field, whatever the C side adds before it.
        let mut h = execsnoop_event::default();
        set_comm(&mut h, b"abc");
        h.pid = 7;
        let s = encode_sample(&h, b"");
        assert_eq!(s.len(), HEADER_LEN);
        let e = ExecEvent::parse(&s).unwrap_err();
        assert!(e.0.contains("unknown kind 0"), "{e}");
        h.kind = ExecKind::Exec.code();
        let s = encode_sample(&h, b"");
        let e = ExecEvent::parse(&s).unwrap();
        assert_eq!((e.comm, e.pid), (&b"abc"[..], 7));
        assert_eq!(sample_time(&s), 0);
        h.ts_ns = 42;
        assert_eq!(sample_time(&encode_sample(&h, b"")), 42);
    }

    /// Every constant of execsnoop.h's enums, parsed from the header text, equals the
    /// value the Rust side uses (the generated skeleton's, which is where every Rust
    /// use takes it from). A constant the header gains must be added here: that is
    /// the point (the Rust side then knows of it).
    #[test]
    fn constants_match_execsnoop_h() {
        use crate::skel::execsnoop::types::execsnoop_stat as S;
        use execsnoop_flags as F;
        use execsnoop_limits as L;
        let h = include_str!("../bpf/execsnoop.h");
        let mut seen = 0;
        for line in h.lines() {
            let line = line.trim();
            let Some((name, rest)) = line.split_once(" = ") else {
                continue;
            };
            if !name.starts_with("EXECSNOOP_") {
                continue;
            }
            let num: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let c: u32 = num.parse().unwrap_or_else(|_| panic!("{line}"));
            let rust = match name {
                "EXECSNOOP_COMM_LEN" => L::EXECSNOOP_COMM_LEN.0,
                "EXECSNOOP_PATH_CAP" => L::EXECSNOOP_PATH_CAP.0,
                "EXECSNOOP_ARGS_CAP" => L::EXECSNOOP_ARGS_CAP.0,
                "EXECSNOOP_FAIL_ARGS_WALK" => L::EXECSNOOP_FAIL_ARGS_WALK.0,
                "EXECSNOOP_FAIL_ARGS_COPY" => L::EXECSNOOP_FAIL_ARGS_COPY.0,
                "EXECSNOOP_KIND_EXEC" => u32::from(ExecKind::Exec.code()),
                "EXECSNOOP_KIND_FAIL" => u32::from(ExecKind::Fail.code()),
                "EXECSNOOP_F_FILENAME_CUT" => F::EXECSNOOP_F_FILENAME_CUT.0,
                "EXECSNOOP_F_INTERP_CUT" => F::EXECSNOOP_F_INTERP_CUT.0,
                "EXECSNOOP_F_ARGS_READ_ERR" => F::EXECSNOOP_F_ARGS_READ_ERR.0,
                "EXECSNOOP_F_ARGC_INEXACT" => F::EXECSNOOP_F_ARGC_INEXACT.0,
                "EXECSNOOP_F_BYTES_INEXACT" => F::EXECSNOOP_F_BYTES_INEXACT.0,
                "EXECSNOOP_F_EXECVEAT" => F::EXECSNOOP_F_EXECVEAT.0,
                "EXECSNOOP_F_CWD_CUT" => F::EXECSNOOP_F_CWD_CUT.0,
                "EXECSNOOP_F_EXE_CUT" => F::EXECSNOOP_F_EXE_CUT.0,
                "EXECSNOOP_PATH_DEPTH" => L::EXECSNOOP_PATH_DEPTH.0,
                "EXECSNOOP_CTX_PATH_CAP" => L::EXECSNOOP_CTX_PATH_CAP.0,
                "EXECSNOOP_NAME_CAP" => L::EXECSNOOP_NAME_CAP.0,
                "EXECSNOOP_STAT_EMITTED" => S::EXECSNOOP_STAT_EMITTED.0,
                "EXECSNOOP_STAT_LOST" => S::EXECSNOOP_STAT_LOST.0,
                "EXECSNOOP_STAT_STARTS_FULL" => S::EXECSNOOP_STAT_STARTS_FULL.0,
                "EXECSNOOP_STAT_NO_SCRATCH" => S::EXECSNOOP_STAT_NO_SCRATCH.0,
                "EXECSNOOP_STAT_FILTERED" => S::EXECSNOOP_STAT_FILTERED.0,
                "EXECSNOOP_STAT_NR" => S::EXECSNOOP_STAT_NR.0,
                other => panic!("execsnoop.h has {other}: tie it to the Rust side here"),
            };
            assert_eq!(rust, c, "{name}");
            seen += 1;
        }
        assert!(seen >= 24, "parsed only {seen} constants");
        // The Rust-side copies that are not the generated ones.
        assert_eq!(
            crate::execsnoop::args::MAX_CAPTURE,
            L::EXECSNOOP_ARGS_CAP.0 as usize - 1
        );
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
