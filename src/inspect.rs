//! Looking inside a LOADED program: the instructions the verifier kept ("xlated", what
//! `bpftool prog dump xlated` prints) and its BTF function records. hello-func uses
//! this to show that `get_opcode` stayed a separate function reached by a BPF-to-BPF
//! call instead of being inlined by the compiler.

use std::ffi::CStr;
use std::fmt::Write as _;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

use anyhow::{bail, Result};

/// BPF_JMP | BPF_CALL: a call instruction (helper, kfunc or BPF function).
pub const OP_CALL: u8 = 0x05 | 0x80;
/// src_reg of a call to another BPF function of the same program.
pub const BPF_PSEUDO_CALL: u8 = 1;

/// One instruction, split the way the kernel's `struct bpf_insn` packs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst_reg: u8,
    pub src_reg: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// Decodes one 8-byte instruction (host byte order, as the kernel returns it).
    pub fn from_bytes(b: &[u8; 8]) -> Insn {
        Insn {
            code: b[0],
            // bitfields dst_reg:4, src_reg:4 (little-endian layout)
            dst_reg: if cfg!(target_endian = "little") {
                b[1] & 0xf
            } else {
                b[1] >> 4
            },
            src_reg: if cfg!(target_endian = "little") {
                b[1] >> 4
            } else {
                b[1] & 0xf
            },
            off: i16::from_ne_bytes([b[2], b[3]]),
            imm: i32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// True for a call to another BPF function (not a helper or kfunc).
    pub fn is_bpf_to_bpf_call(&self) -> bool {
        self.code == OP_CALL && self.src_reg == BPF_PSEUDO_CALL
    }
}

/// Splits raw instruction bytes into instructions.
pub fn decode_insns(bytes: &[u8]) -> Vec<Insn> {
    bytes
        .chunks_exact(8)
        .map(|c| Insn::from_bytes(c.try_into().expect("chunk of 8")))
        .collect()
}

/// A BPF-to-BPF call found in a loaded program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PseudoCall {
    /// Index of the call instruction.
    pub index: usize,
    pub insn: Insn,
    /// The callee, when it matches a function start the kernel reports.
    pub callee: Option<String>,
}

/// What the kernel says about a loaded program's functions and calls.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallEvidence {
    /// Number of instructions after verification.
    pub insn_count: usize,
    /// (first instruction, name) of each BPF function, from BTF func_info.
    pub functions: Vec<(u32, String)>,
    pub calls: Vec<PseudoCall>,
}

/// Finds the BPF-to-BPF calls in already-decoded instructions. `functions` are the
/// function starts; a callee is named when the call's target is one of them. (Before
/// JIT the target is `index + 1 + imm`; after the kernel JITs a multi-function program
/// it keeps the relative offset in `off` instead.)
pub fn find_calls(insns: &[Insn], functions: &[(u32, String)]) -> Vec<PseudoCall> {
    let name_at = |target: i64| {
        functions
            .iter()
            .find(|(start, _)| i64::from(*start) == target)
            .map(|(_, n)| n.clone())
    };
    insns
        .iter()
        .enumerate()
        .filter(|(_, i)| i.is_bpf_to_bpf_call())
        .map(|(index, insn)| {
            let base = index as i64 + 1;
            let callee = name_at(base + i64::from(insn.off))
                .filter(|_| insn.off != 0)
                .or_else(|| name_at(base + i64::from(insn.imm)));
            PseudoCall {
                index,
                insn: *insn,
                callee,
            }
        })
        .collect()
}

/// Reads the translated instructions and BTF function records of the loaded program
/// behind `fd` (needs the same privilege as loading it).
pub fn call_evidence(fd: BorrowedFd<'_>) -> Result<CallEvidence> {
    let mut info = libbpf_sys::bpf_prog_info::default();
    let mut len = std::mem::size_of_val(&info) as u32;
    // SAFETY: info is a valid, writable bpf_prog_info of `len` bytes.
    let rc = unsafe { libbpf_sys::bpf_prog_get_info_by_fd(fd.as_raw_fd(), &mut info, &mut len) };
    if rc != 0 {
        bail!(
            "bpf_prog_get_info_by_fd: {}",
            io::Error::from_raw_os_error(-rc)
        );
    }
    let mut xlated = vec![0u8; info.xlated_prog_len as usize];
    let nr_func = info.nr_func_info as usize;
    let rec_size = info.func_info_rec_size as usize;
    let mut func_info = vec![0u8; nr_func * rec_size];
    let btf_id = info.btf_id;
    let mut second = libbpf_sys::bpf_prog_info {
        xlated_prog_len: xlated.len() as u32,
        xlated_prog_insns: xlated.as_mut_ptr() as u64,
        nr_func_info: nr_func as u32,
        func_info_rec_size: rec_size as u32,
        func_info: func_info.as_mut_ptr() as u64,
        ..Default::default()
    };
    let mut len = std::mem::size_of_val(&second) as u32;
    // SAFETY: the buffers outlive the call and have the sizes written in `second`.
    let rc = unsafe { libbpf_sys::bpf_prog_get_info_by_fd(fd.as_raw_fd(), &mut second, &mut len) };
    if rc != 0 {
        bail!(
            "bpf_prog_get_info_by_fd: {}",
            io::Error::from_raw_os_error(-rc)
        );
    }
    if second.xlated_prog_len as usize > xlated.len() {
        bail!("the program changed size while being read");
    }
    // Without CAP_BPF the kernel reports no instructions at all.
    if xlated.is_empty() {
        bail!("the kernel returned no instructions (needs CAP_BPF or root)");
    }
    let functions = function_names(btf_id, &func_info, rec_size);
    let insns = decode_insns(&xlated);
    let calls = find_calls(&insns, &functions);
    Ok(CallEvidence {
        insn_count: insns.len(),
        functions,
        calls,
    })
}

/// True when the loaded program holds at least one BPF-to-BPF call.
pub fn has_bpf_to_bpf_call(prog: &impl AsFd) -> Result<bool> {
    Ok(!call_evidence(prog.as_fd())?.calls.is_empty())
}

/// Names the functions of `func_info` records (insn_off: u32, type_id: u32, ...)
/// through the program's BTF as loaded in the kernel. Names it cannot find are
/// `func#<n>`.
fn function_names(btf_id: u32, func_info: &[u8], rec_size: usize) -> Vec<(u32, String)> {
    if rec_size < 8 {
        return Vec::new();
    }
    // SAFETY: plain libbpf call; a null result is handled.
    let btf = if btf_id != 0 {
        unsafe { libbpf_sys::btf__load_from_kernel_by_id(btf_id) }
    } else {
        std::ptr::null_mut()
    };
    let out = func_info
        .chunks_exact(rec_size)
        .enumerate()
        .map(|(n, rec)| {
            let insn_off = u32::from_ne_bytes(rec[0..4].try_into().expect("4 bytes"));
            let type_id = u32::from_ne_bytes(rec[4..8].try_into().expect("4 bytes"));
            let name = btf_name(btf, type_id).unwrap_or_else(|| format!("func#{n}"));
            (insn_off, name)
        })
        .collect();
    if !btf.is_null() {
        // SAFETY: btf came from btf__load_from_kernel_by_id and is freed once.
        unsafe { libbpf_sys::btf__free(btf) };
    }
    out
}

fn btf_name(btf: *mut libbpf_sys::btf, type_id: u32) -> Option<String> {
    if btf.is_null() {
        return None;
    }
    // SAFETY: btf is a valid handle; libbpf returns NULL for a bad id.
    let t = unsafe { libbpf_sys::btf__type_by_id(btf, type_id) };
    if t.is_null() {
        return None;
    }
    // SAFETY: t points into btf's data; name_by_offset returns NULL or a C string.
    let name = unsafe { libbpf_sys::btf__name_by_offset(btf, (*t).name_off) };
    if name.is_null() {
        return None;
    }
    // SAFETY: NUL-terminated string owned by btf, copied before btf is freed.
    Some(
        unsafe { CStr::from_ptr(name) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// Human-readable evidence, one fact per line (for `hello-func --show-call`).
pub fn describe(prog: &str, ev: &CallEvidence) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{prog}: {} instructions after verification (xlated), {} BPF functions:",
        ev.insn_count,
        ev.functions.len()
    );
    for (start, name) in &ev.functions {
        let _ = writeln!(s, "  insn {start:>3}: function {name}");
    }
    if ev.calls.is_empty() {
        let _ = writeln!(s, "  no BPF-to-BPF call: the callee was inlined");
    }
    for c in &ev.calls {
        let callee = c.callee.as_deref().unwrap_or("another BPF function");
        let _ = writeln!(
            s,
            "  insn {:>3}: code 0x{:02x} (BPF_JMP|BPF_CALL) src_reg {} (BPF_PSEUDO_CALL): BPF-to-BPF call to {callee}",
            c.index, c.insn.code, c.insn.src_reg
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(code: u8, src: u8, off: i16, imm: i32) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = code;
        b[1] = src << 4;
        b[2..4].copy_from_slice(&off.to_ne_bytes());
        b[4..8].copy_from_slice(&imm.to_ne_bytes());
        b
    }

    #[test]
    fn finds_pseudo_calls_and_names_the_callee() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&insn(0xbf, 1, 0, 0)); // r6 = r1
        bytes.extend_from_slice(&insn(OP_CALL, 0, 0, 14)); // helper call
        bytes.extend_from_slice(&insn(OP_CALL, 1, 0, 1)); // pc+1 -> insn 4
        bytes.extend_from_slice(&insn(0x95, 0, 0, 0)); // exit
        bytes.extend_from_slice(&insn(0x95, 0, 0, 0)); // callee: exit
        let insns = decode_insns(&bytes);
        assert_eq!(insns.len(), 5);
        assert_eq!(insns[0].src_reg, 1);
        let funcs = vec![(0, "hello".to_string()), (4, "get_opcode".to_string())];
        let calls = find_calls(&insns, &funcs);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].index, 2);
        assert_eq!(calls[0].callee.as_deref(), Some("get_opcode"));
        let text = describe(
            "hello",
            &CallEvidence {
                insn_count: 5,
                functions: funcs,
                calls,
            },
        );
        assert!(text.contains("insn   2: code 0x85 (BPF_JMP|BPF_CALL) src_reg 1 (BPF_PSEUDO_CALL): BPF-to-BPF call to get_opcode"), "{text}");
    }

    #[test]
    fn jited_form_keeps_the_offset_in_off() {
        let bytes = [
            insn(OP_CALL, 1, 1, 1),
            insn(0x95, 0, 0, 0),
            insn(0x95, 0, 0, 0),
        ]
        .concat();
        let funcs = vec![(0, "hello".to_string()), (2, "get_opcode".to_string())];
        let calls = find_calls(&decode_insns(&bytes), &funcs);
        assert_eq!(calls[0].callee.as_deref(), Some("get_opcode"));
    }

    #[test]
    fn helper_calls_are_not_bpf_to_bpf_calls() {
        let bytes = insn(OP_CALL, 0, 0, 6);
        assert!(find_calls(&decode_insns(&bytes), &[]).is_empty());
    }
}
