//! The syscall table hello-tail resolves names with covers every syscall the running
//! kernel has a `syscalls/sys_enter_*` tracepoint for. On a kernel newer than the
//! table this FAILS: add the new rows to src/syscalls.rs.

mod common;

use common::*;
use lebpf::syscalls::SyscallTable;

/// Tracepoint names that differ from the syscall table's names.
const TRACEPOINT_ALIASES: &[(&str, &str)] = &[
    ("newstat", "stat"),
    ("newfstat", "fstat"),
    ("newlstat", "lstat"),
    ("newuname", "uname"),
    ("sendfile64", "sendfile"),
    ("umount", "umount2"),
    // arm64 names these two after its own entry points.
    ("arm64_personality", "personality"),
    ("fadvise64_64", "fadvise64"),
];

#[test]
fn table_covers_every_syscall_tracepoint_of_this_kernel() {
    require_root();
    let Some(table) = SyscallTable::host() else {
        skip("no syscall table for this architecture");
        return;
    };
    // As root, tracefs is mounted when missing: failing to is a failure, not a skip.
    let dir = lebpf::tracefs::ensure()
        .expect("tracefs")
        .join("events/syscalls");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        skip("kernel has no syscall tracepoints (CONFIG_FTRACE_SYSCALLS off)");
        return;
    };
    let mut missing = Vec::new();
    let mut seen = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(sys) = name.strip_prefix("sys_enter_") else {
            continue;
        };
        seen += 1;
        let sys = TRACEPOINT_ALIASES
            .iter()
            .find(|(tp, _)| *tp == sys)
            .map_or(sys, |(_, real)| real);
        if table.number(sys).is_none() {
            missing.push(sys.to_string());
        }
    }
    assert!(
        seen > 200,
        "only {seen} syscall tracepoints in {}",
        dir.display()
    );
    missing.sort();
    assert!(
        missing.is_empty(),
        "syscalls of this kernel missing from the {} table: {missing:?}",
        table.arch()
    );
}
