//! execsnoop: trace every exec() on the machine (the project's main job).
//!
//! Kernel side: src/bpf/execsnoop.bpf.c (+ execsnoop.h). This module, in the order a
//! sample travels: the command line ([`args`]); the kernel side loaded and attached
//! ([`tracer`]); events through the ring or perf buffer ([`crate::events`]); decoding
//! ([`event`]); filtering and counting ([`printer`]); escaping ([`escape`]) and line
//! building ([`format`]); text or JSON, stdout and the run summary ([`output`]);
//! event time to wall time ([`clock`]); host and cgroup context ([`context`]); and the
//! session that wires them ([`run`]).

pub mod args;
pub mod clock;
pub mod context;
pub mod escape;
pub mod event;
pub mod format;
pub mod output;
pub mod printer;
mod session;
pub mod tracer;

pub use session::run;
