//! hello-func: the trace_pipe line its BPF code writes.

use crate::tracepipe::parse_line;

/// Prefix of hello-func's `bpf_printk("Syscall: %d", opcode)` lines.
pub const MESSAGE_PREFIX: &str = "Syscall: ";

/// The syscall number of a hello-func trace line, if `line` is one.
pub fn syscall_of(line: &str) -> Option<i64> {
    parse_line(line)?
        .message
        .strip_prefix(MESSAGE_PREFIX)?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_our_lines() {
        let l = "          <...>-31  [001] ...21  10.5: bpf_trace_printk: Syscall: 110";
        assert_eq!(syscall_of(l), Some(110));
        let l = "          bash-31  [001] ...21  10.5: bpf_trace_printk: Hello World!";
        assert_eq!(syscall_of(l), None);
    }
}
