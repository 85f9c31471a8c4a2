//! Reading `bpf_printk` output back from tracefs `trace_pipe`.
//!
//! trace_pipe is ONE stream for the whole machine, and reading it consumes lines.
//! Kernels with the 2023 "pipe_cpumask" change (6.5+, and the stable kernels since
//! September 2023: every kernel of our matrix) refuse a second reader with EBUSY, which
//! we turn into a one-line explanation; older kernels let two readers split the lines
//! between them (docs/book.md, "Two trace_pipe readers"). Programs therefore print only
//! the lines whose message is one their own BPF code writes (see
//! [`TraceLine::message`]), unless asked for all.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::shutdown::Shutdown;

/// One line of trace_pipe, split into its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceLine<'a> {
    /// The task's comm as the kernel printed it (may hold spaces and dashes).
    pub comm: &'a str,
    pub pid: u32,
    pub cpu: u32,
    /// Seconds since boot, as printed.
    pub timestamp: &'a str,
    /// What `bpf_printk` formatted.
    pub message: &'a str,
}

/// Parses `<comm>-<pid> [<cpu>] <flags> <ts>: bpf_trace_printk: <message>`. Lines that
/// are not `bpf_printk` output give None.
pub fn parse_line(line: &str) -> Option<TraceLine<'_>> {
    const TAG: &str = ": bpf_trace_printk: ";
    let at = line.find(TAG)?;
    let (head, message) = (&line[..at], &line[at + TAG.len()..]);
    let message = message.strip_suffix('\n').unwrap_or(message);
    // head: "<comm>-<pid> [<cpu>] <flags> <ts>" with comm possibly padded on the left.
    let open = head.rfind(" [")?;
    let task = head[..open].trim_start();
    let rest = &head[open + 2..];
    let close = rest.find(']')?;
    let cpu = rest[..close].trim().parse().ok()?;
    let timestamp = rest[close + 1..].split_whitespace().last()?;
    let dash = task.rfind('-')?;
    let pid = task[dash + 1..].trim().parse().ok()?;
    Some(TraceLine {
        comm: &task[..dash],
        pid,
        cpu,
        timestamp,
        message,
    })
}

/// An open trace_pipe.
pub struct TracePipe {
    file: File,
    path: PathBuf,
    pending: Vec<u8>,
}

impl TracePipe {
    /// Opens trace_pipe (mounting tracefs when needed, see [`crate::tracefs`]).
    pub fn open() -> Result<Self> {
        let path = crate::tracefs::ensure()?.join("trace_pipe");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
            .map_err(|e| match e.raw_os_error() {
                // Recent kernels let one process at a time read the top-level pipe.
                Some(libc::EBUSY) => anyhow::anyhow!(
                    "{} is busy: another program is reading it (cat trace_pipe, bpftrace, \
                     or another of hello, hello-tail, hello-func); stop it and retry",
                    path.display()
                ),
                _ => anyhow::Error::new(e).context(format!("opening {}", path.display())),
            })?;
        Ok(Self {
            file,
            path,
            pending: Vec::new(),
        })
    }

    /// Where it was opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Calls `on_line` for every complete line until shutdown is requested or
    /// `on_line` returns `Ok(false)`. Wakes every 100 ms to look at `stop`.
    pub fn for_each_line(
        &mut self,
        stop: &Shutdown,
        mut on_line: impl FnMut(&str) -> Result<bool>,
    ) -> Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        while !stop.requested() {
            let mut pfd = libc::pollfd {
                fd: self.file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, 100) };
            if rc < 0 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err).context("poll on trace_pipe");
            }
            if rc == 0 {
                continue;
            }
            let n = match self.file.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(e).with_context(|| format!("reading {}", self.path.display()))
                }
            };
            self.pending.extend_from_slice(&buf[..n]);
            while let Some(nl) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=nl).collect();
                let text = String::from_utf8_lossy(&line[..line.len() - 1]);
                if !on_line(&text)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_plain_line() {
        let l = "            bash-1234    [001] d..31  5678.901234: bpf_trace_printk: Hello World!";
        let t = parse_line(l).unwrap();
        assert_eq!(t.comm, "bash");
        assert_eq!(t.pid, 1234);
        assert_eq!(t.cpu, 1);
        assert_eq!(t.timestamp, "5678.901234");
        assert_eq!(t.message, "Hello World!");
    }

    #[test]
    fn parses_comm_with_dash_space_and_unknown_task() {
        let l = " kworker/u4:1-x y-77 [000] ..... 1.000001: bpf_trace_printk: Syscall: 39";
        let t = parse_line(l).unwrap();
        assert_eq!(t.comm, "kworker/u4:1-x y");
        assert_eq!(t.pid, 77);
        assert_eq!(t.message, "Syscall: 39");
        let l = "           <...>-9 [003] d.... 2.5: bpf_trace_printk: Another syscall: 0";
        let t = parse_line(l).unwrap();
        assert_eq!(t.comm, "<...>");
        assert_eq!(t.message, "Another syscall: 0");
    }

    #[test]
    fn ignores_other_trace_lines() {
        assert!(parse_line("  bash-1 [000] ..... 1.0: sys_enter: NR 1").is_none());
        assert!(parse_line("garbage").is_none());
    }
}
