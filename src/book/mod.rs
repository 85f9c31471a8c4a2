//! What is particular to each of the book's programs and can be checked without the
//! kernel: event layouts and decoding, output formats, argument parsing, and the
//! messages each program's BPF code writes to trace_pipe (to pick our lines out of it).
//! The binaries in `src/bin/` load, attach and loop; the logic they print with is here.

pub mod hello_buffer;
pub mod hello_buffer_config;
pub mod hello_func;
pub mod hello_map;
pub mod hello_tail;
