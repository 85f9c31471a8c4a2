//! `hello-buffer-config` — Learning eBPF, chapter 5, hello-buffer-config.c (the book's
//! CO-RE libbpf program; kernel side in src/bpf/hello_buffer_config.bpf.c).
//!
//! On every execve the BPF program sends {pid, uid, command, message, path} through a
//! perf buffer; `message` is the text set for the caller's uid in the hash map
//! `my_config`, else "Hello World". `--message UID=TEXT` fills the map before attaching.

use std::mem::MaybeUninit;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{MapCore, MapFlags, PerfBufferBuilder, TracepointCategory::Syscalls};

use lebpf::attach::{self, select_autoload, AttachMode};
use lebpf::cli;
use lebpf::cstring::field;
use lebpf::skel::hello_buffer_config::{types::data_t, HelloBufferConfigSkelBuilder};

const PROG: &str = "hello-buffer-config";

/// Print pid, uid, command, path and a per-user message for every execve
/// (Learning eBPF, ch. 5).
///
/// Columns as the book's printf("%-6d %-6d %-16s %-16s %s"): pid, uid, command (the
/// caller's name before the exec), path (first 15 bytes), message. The message is the
/// BPF hash map my_config's entry for the uid (u32 -> char[12]), else "Hello World".
/// Set entries with --message, or with bpftool while it runs:
///   sudo bpftool map update name my_config key 0xe8 0x03 0 0 value 0x48 0x69 0 0 0 0 0 0 0 0 0 0
/// (uid 1000 -> "Hi"; key and value in host byte order).
///
/// Examples:
///   sudo hello-buffer-config --message 0="Hi root" --message 1000=Hey
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
    // A bad value is the user's mistake: one line, exit 2, before any privilege check.
    let messages = (args.message.iter())
        .map(|m| {
            parse_message(m).map_err(|why| cli::usage_error(format!("--message '{m}': {why}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let stop = cli::prepare(args.verbose)?;
    // CO-RE relocates against the kernel's BTF: say so if it is missing.
    lebpf::btf::check_kernel(PROG, "")?;
    // Book: skel = hello_buffer_config_bpf__open_and_load();
    let mut storage = MaybeUninit::uninit();
    let mut open = HelloBufferConfigSkelBuilder::default().open(&mut storage)?;
    select_autoload(args.attach, &mut open.progs.hello, &mut open.progs.hello_tp);
    let skel = open.load().context("loading the BPF program")?;
    // Not in the book (it uses bpftool by hand): fill my_config before attaching.
    for (uid, text) in &messages {
        let map = &skel.maps.my_config;
        map.update(&uid.to_ne_bytes(), text, MapFlags::ANY)?;
    }
    attach::tracefs_before_setup(args.attach, Syscalls, "sys_enter_execve")?;
    // Book: perf_buffer__new(bpf_map__fd(skel->maps.output), 8, handle_event, lost_event, ...)
    let failed = std::cell::Cell::new(false);
    let pb = PerfBufferBuilder::new(&skel.maps.output)
        .pages(8)
        .sample_cb(|_cpu, data: &[u8]| failed.set(failed.get() || handle_event(data).is_err()))
        .lost_cb(|_cpu, _count| eprintln!("lost event"))
        .build()
        .map_err(|e| attach::attach_error(format!("setting up the perf buffer: {e}")))?;
    // Book: hello_buffer_config_bpf__attach(skel), done after the perf buffer exists
    // (the book attaches first): a perf buffer drops what is sent before it is set up.
    let (_link, _) = attach::syscall_entry(
        PROG,
        args.attach,
        "execve",
        || skel.progs.hello.attach_ksyscall(false, "execve"),
        || attach::tracepoint(&skel.progs.hello_tp, Syscalls, "sys_enter_execve"),
    )?;
    // Book: while (true) { err = perf_buffer__poll(pb, 100 /* timeout, ms */); ... }
    while !stop.requested() && !failed.get() {
        match pb.poll(Duration::from_millis(100)) {
            Err(e) if e.kind() != libbpf_rs::ErrorKind::Interrupted => bail!("polling: {e}"),
            _ => {}
        }
    }
    Ok(())
}

/// Book: handle_event, printf("%-6d %-6d %-16s %-16s %s\n", pid, uid, command, path, message).
/// Err when stdout is gone (`| head`), which ends the program.
fn handle_event(data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if data.len() < std::mem::size_of::<data_t>() {
        return Ok(());
    }
    // SAFETY: ints and char arrays (any bytes are a value); perf samples are unaligned.
    let m: data_t = unsafe { std::ptr::read_unaligned(data.as_ptr().cast()) };
    let (command, path, message) = (field(&m.command), field(&m.path), field(&m.message));
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<6} {:<6} {command:<16} {path:<16} {message}",
        m.pid, m.uid
    )?;
    out.flush()
}

/// `--message UID=TEXT`: the my_config key and value (`char message[12]`, NUL included).
fn parse_message(arg: &str) -> Result<(u32, [u8; 12]), String> {
    let (uid, text) = arg
        .split_once('=')
        .ok_or("expected UID=TEXT, e.g. 0=Hi root")?;
    let bad_uid = |_| format!("uid '{uid}' is not a number (0..4294967295)");
    let uid = uid.parse().map_err(bad_uid)?;
    if text.contains('\0') {
        return Err("text contains a NUL byte".into());
    }
    if text.len() > 11 {
        let n = text.len();
        return Err(format!(
            "text is {n} bytes; at most 11 fit (char message[12] with its NUL)"
        ));
    }
    let mut value = [0u8; 12];
    value[..text.len()].copy_from_slice(text.as_bytes());
    Ok((uid, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_book() {
        assert_eq!(std::mem::size_of::<data_t>(), 52);
        assert_eq!(std::mem::offset_of!(data_t, message), 24);
        assert_eq!(std::mem::offset_of!(data_t, path), 36);
    }

    #[test]
    fn message_values() {
        assert_eq!(
            parse_message("0=Hi root").unwrap(),
            (0, *b"Hi root\0\0\0\0\0")
        );
        assert_eq!(parse_message("1000=a=b").unwrap().1[..4], *b"a=b\0");
        assert_eq!(parse_message("7=").unwrap().1, [0; 12]);
        assert!(parse_message("5=Hello World").is_ok());
        assert!(parse_message("0=Hello World!")
            .unwrap_err()
            .contains("12 bytes"));
        assert!(parse_message("root=hi")
            .unwrap_err()
            .contains("not a number"));
        assert!(parse_message("hello").is_err());
        assert!(parse_message("4294967296=x").is_err());
        let a = Args::try_parse_from([PROG, "--message", "0=a", "--message", "1000=b"]).unwrap();
        assert_eq!(a.message, vec!["0=a", "1000=b"]);
    }
}
