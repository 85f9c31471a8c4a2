//! execsnoop: trace every exec() on the machine (the project's main job).
//!
//! Kernel side: src/bpf/execsnoop.bpf.c (+ execsnoop.h). This module: the command line
//! ([`args`]), decoding ([`event`]), escaping ([`escape`]), output lines ([`format`])
//! and the session that loads, attaches, polls and prints ([`run`]).

pub mod args;
pub mod escape;
pub mod event;
pub mod format;
mod session;

pub use session::run;
