//! `hello-func`: the loaded program holds a BPF-to-BPF call, and its "Syscall: N"
//! lines show the test's own syscalls.

mod common;

use std::mem::MaybeUninit;
use std::time::Duration;

use common::*;
use lebpf::skel::hello_func::HelloFuncSkelBuilder;
use lebpf::syscalls::SyscallTable;
use lebpf::tracepipe::parse_line;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};

#[test]
fn hello_func_loaded_program_has_a_bpf_to_bpf_call() {
    require_root();
    let mut storage = MaybeUninit::uninit();
    let open = HelloFuncSkelBuilder::default().open(&mut storage).unwrap();
    // Before load: the ELF already calls a separate function...
    assert!(
        open.progs
            .hello
            .insns()
            .iter()
            .any(|i| i.code == lebpf::inspect::OP_CALL && i.src_reg() == 1),
        "no pseudo call in the ELF instructions"
    );
    let skel = open.load().unwrap();
    // ...and the verifier kept it: the loaded program calls get_opcode.
    assert!(lebpf::inspect::has_bpf_to_bpf_call(&skel.progs.hello).unwrap());
    let ev = lebpf::inspect::call_evidence(std::os::fd::AsFd::as_fd(&skel.progs.hello)).unwrap();
    let names: Vec<&str> = ev.functions.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, vec!["hello", "get_opcode"]);
    assert_eq!(ev.calls.len(), 1);
    assert_eq!(ev.calls[0].callee.as_deref(), Some("get_opcode"));
}

#[test]
fn hello_func_show_call_prints_the_evidence() {
    require_root();
    let (code, out, err) = run_bin("hello-func", &["--show-call"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("function get_opcode"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("(BPF_PSEUDO_CALL): BPF-to-BPF call to get_opcode")),
        "{out}"
    );
}

#[test]
fn hello_func_prints_syscall_numbers() {
    require_root();
    let getppid = i64::from(
        SyscallTable::host()
            .and_then(|t| t.number("getppid"))
            .expect("getppid"),
    );
    let mut p = Proc::spawn("hello-func", &[]);
    let attached = wait_attached(&p);
    assert_eq!(attached, "hello-func: attached to raw tracepoint sys_enter");
    let tid = gettid();
    let mut found = None;
    for _ in 0..10 {
        // SAFETY: getppid cannot fail.
        unsafe { libc::getppid() };
        found = p.wait_line(Duration::from_secs(1), |l| {
            parse_line(l)
                .is_some_and(|t| t.pid == tid && t.message == format!("Syscall: {getppid}"))
        });
        if found.is_some() {
            break;
        }
    }
    assert!(
        found.is_some(),
        "no 'Syscall: {getppid}' line from {tid}; stderr: {:?}",
        p.stderr()
    );
    stop_cleanly(&mut p);
}

#[test]
fn hello_func_without_privilege_says_so_and_exits_1() {
    require_root();
    assert_unprivileged_fails("hello-func", &[]);
    assert_unprivileged_fails("hello-func", &["--show-call"]);
}

#[test]
fn hello_func_exits_0_when_stdout_closes() {
    require_root();
    assert_exits_0_when_stdout_closes("hello-func", &[], || {
        // SAFETY: getppid cannot fail.
        unsafe { libc::getppid() };
    });
}
