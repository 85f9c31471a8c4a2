//! `hello-buffer-config` — Learning eBPF, chapter 5, hello-buffer-config.bpf.c / .c (the
//! book's CO-RE libbpf program).
//!
//! On every execve the BPF program sends {pid, uid, command, message, path} through a
//! perf buffer; `message` is the text set for the caller's uid in the hash map
//! `my_config`, else the global "Hello World". `--message UID=TEXT` fills the map
//! before attaching; it stays editable with bpftool while this runs.

use std::io::Write;
use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags};

use lebpf::attach::{attach_syscall_entry, select_autoload, AttachMode};
use lebpf::book::hello_buffer_config::{format_event, parse_message, Event, LOST_LINE};
use lebpf::cli;
use lebpf::events::{decode, EventPoller};
use lebpf::skel::hello_buffer_config::HelloBufferConfigSkelBuilder;

const PROG: &str = "hello-buffer-config";
/// The book's perf_buffer__new(..., 8, ...).
const PERF_PAGES: usize = 8;
/// The book's perf_buffer__poll(pb, 100).
const POLL: Duration = Duration::from_millis(100);

/// Print pid, uid, command, path and a per-user message for every execve
/// (Learning eBPF, ch. 5).
///
/// Columns as the book prints them: "%-6d %-6d %-16s %-16s %s" = pid, uid, command
/// (the caller's name before the exec), path (first 15 bytes of the program path),
/// message. The message comes from the BPF hash map my_config (u32 uid -> char[12]),
/// else "Hello World". Set entries with --message, or with bpftool while it runs:
///   sudo bpftool map update name my_config key 0xe8 0x03 0 0 value 0x48 0x69 0 0 0 0 0 0 0 0 0 0
/// (uid 1000 -> "Hi"; key and value in host byte order).
///
/// Examples:
///   sudo hello-buffer-config
///   sudo hello-buffer-config --message 0="Hi root" --message 1000=Hey
///   sudo hello-buffer-config --attach tracepoint
#[derive(Parser, Debug)]
#[command(version, verbatim_doc_comment)]
struct Args {
    /// Message for a uid, UID=TEXT, at most 11 bytes of text (repeatable).
    #[arg(long, value_name = "UID=TEXT")]
    message: Vec<String>,
    /// Attach point for execve.
    #[arg(long, value_enum, default_value_t = AttachMode::Auto)]
    attach: AttachMode,
    /// Show libbpf's debug messages on stderr.
    #[arg(short, long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    cli::run(PROG, || run(args))
}

fn run(args: Args) -> Result<()> {
    // Bad values are the user's mistake: say so before needing any privilege.
    let messages = args
        .message
        .iter()
        .map(|m| parse_message(m))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cli::usage_error(e.to_string()))?;

    let stop = cli::prepare(args.verbose)?;
    // CO-RE (chapter 5) relocates against the kernel's BTF: say so if it is missing.
    lebpf::btf::check_kernel("hello-buffer-config", "")?;
    let mut storage = MaybeUninit::uninit();
    let mut open = HelloBufferConfigSkelBuilder::default()
        .open(&mut storage)
        .context("opening the BPF object")?;
    select_autoload(args.attach, &mut open.progs.hello, &mut open.progs.hello_tp);
    let skel = open.load().context("loading the BPF program")?;

    // Before attaching, so the first events already carry the messages.
    for m in &messages {
        skel.maps
            .my_config
            .update(&m.uid.to_ne_bytes(), &m.value_bytes(), MapFlags::ANY)
            .with_context(|| format!("setting the message for uid {}", m.uid))?;
    }

    let out = std::cell::RefCell::new(std::io::stdout().lock());
    let poller = EventPoller::perf_buffer(
        &skel.maps.output,
        PERF_PAGES,
        |data: &[u8]| -> Result<()> {
            let Some(event) = decode::<Event>(data) else {
                eprintln!("{PROG}: short sample ({} bytes)", data.len());
                return Ok(());
            };
            let mut out = out.borrow_mut();
            writeln!(out, "{}", format_event(&event))?;
            out.flush()?;
            Ok(())
        },
        |_count| -> Result<()> {
            eprintln!("{LOST_LINE}");
            Ok(())
        },
    )?;
    let (_link, _point) = attach_syscall_entry(
        PROG,
        args.attach,
        "execve",
        &skel.progs.hello,
        &skel.progs.hello_tp,
    )?;
    poller.run(&stop, POLL, || Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_is_repeatable() {
        let a = Args::try_parse_from([PROG, "--message", "0=a", "--message", "1000=b"]).unwrap();
        assert_eq!(a.message, vec!["0=a", "1000=b"]);
    }
}
