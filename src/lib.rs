//! What the book's programs and `execsnoop` share and what is not the book's lesson:
//! privilege and kernel-feature checks, the kprobe-or-tracepoint decision, tracefs and
//! the trace_pipe reader, signal handling, libbpf log routing, output helpers. Each book
//! program's user side is one file in `src/bin/`, whose `main` shows the book's steps.

pub mod attach;
pub mod btf;
pub mod cli;
pub mod cstring;
pub mod events;
pub mod execsnoop;
pub mod inspect;
pub mod privilege;
pub mod shutdown;
pub mod syscalls;
pub mod tracefs;
pub mod tracepipe;

/// The generated skeletons, one module per `src/bpf/<name>.bpf.c` (see build.rs).
pub mod skel {
    #![allow(
        clippy::all,
        missing_docs,
        unused_imports,
        non_camel_case_types,
        non_upper_case_globals,
        non_snake_case,
        dead_code
    )]
    include!(concat!(env!("OUT_DIR"), "/skels.rs"));
}
