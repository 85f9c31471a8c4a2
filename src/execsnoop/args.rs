//! execsnoop's command line. The doc comments are the `--help` text.

use std::path::PathBuf;

use clap::Parser;

use crate::skel::execsnoop::types::execsnoop_limits;

/// Most argument bytes one event can carry (the kernel's EXECSNOOP_ARGS_CAP, minus one:
/// the capture is masked with ARGS_CAP - 1). `--arg-size`'s help says the number: a
/// test checks it.
pub const MAX_CAPTURE: usize = execsnoop_limits::EXECSNOOP_ARGS_CAP.0 as usize - 1;

/// Trace exec() calls on the whole machine, one line per exec.
///
/// Reports every committed execve/execveat (fexecve included, from any thread) once the
/// new program is in place, with its full argument list as the new process sees it;
/// with -x also failed execs with their error. Arguments beyond the limits are cut and
/// the line says what was cut: ` ...[+N args, +M bytes]`. Control characters, escape
/// sequences and invalid UTF-8 are printed escaped (\n, \t, \\, \x1b, \xff), so no
/// process can forge or hide a line. A one-line summary goes to stderr at exit.
///
/// Examples:
///   execsnoop                   # trace all execs
///   execsnoop -x                # include failed execs (RET = -errno)
///   execsnoop -T -U             # HH:MM:SS and UID columns
///   execsnoop -t                # seconds since start
///   execsnoop -u 1000           # only uid 1000 (filtered in the kernel)
///   execsnoop -n ssh            # only commands whose name contains "ssh"
///   execsnoop -l --force        # only commands whose arguments contain "--force"
///   execsnoop -c /sys/fs/cgroup/system.slice    # only that cgroup v2 and below
///   execsnoop -q --max-args 100 --arg-size 8192 # quoted, longer argument lists
///   execsnoop --json -d 10 > execs.jsonl        # JSON lines for 10 seconds
#[derive(Parser, Debug, Clone)]
#[command(name = "execsnoop", version, verbatim_doc_comment)]
pub struct Args {
    /// Include a time column (HH:MM:SS, local time).
    #[arg(short = 'T', long = "time")]
    pub time: bool,
    /// Include a timestamp column (seconds since execsnoop started).
    #[arg(short = 't', long = "timestamp")]
    pub timestamp: bool,
    /// Include failed exec()s (RET is the negative errno).
    #[arg(short = 'x', long = "fails")]
    pub fails: bool,
    /// Only trace this user: a uid or a user name (from /etc/passwd); the real uid,
    /// filtered in the kernel.
    #[arg(short = 'u', long = "uid", value_name = "USER", value_parser = parse_user)]
    pub uid: Option<u32>,
    /// Print a UID column.
    #[arg(short = 'U', long = "print-uid")]
    pub print_uid: bool,
    /// Only trace execs whose parent process is PID (filtered in the kernel).
    #[arg(short = 'P', long = "ppid", value_name = "PID",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub ppid: Option<u32>,
    /// Print a PARENT column (the parent's command name) after PPID.
    #[arg(long = "print-parent")]
    pub print_parent: bool,
    /// Show the working directory and the executable's absolute path (JSON: "cwd",
    /// "exe"; text: a second line `    cwd="DIR" exe="PATH"`). Committed execs only.
    #[arg(long = "paths")]
    pub paths: bool,
    /// Put quotes (") around each argument (inner quotes are escaped as \").
    #[arg(short = 'q', long = "quote")]
    pub quote: bool,
    /// Only print commands whose name (comm) contains NAME.
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub name: Option<String>,
    /// Only print commands whose arguments (argv[1..], space-joined) contain LINE.
    #[arg(
        short = 'l',
        long = "line",
        value_name = "LINE",
        allow_hyphen_values = true
    )]
    pub line: Option<String>,
    /// Only trace processes in this cgroup v2 directory or below it.
    #[arg(short = 'c', long = "cgroup", value_name = "PATH")]
    pub cgroup: Option<PathBuf>,
    /// Show at most this many arguments (argv[0] included).
    #[arg(long = "max-args", value_name = "N", default_value_t = 20,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_args: u32,
    /// Show at most this many bytes of each argument (the kernel captures at most
    /// 32767 bytes of arguments per exec).
    #[arg(long = "arg-size", value_name = "BYTES", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=MAX_CAPTURE as i64))]
    pub arg_size: u32,
    /// One JSON object per line instead of text (fields in the README; "v" versions them).
    #[arg(long)]
    pub json: bool,
    /// Stop after this many seconds.
    #[arg(short = 'd', long = "duration", value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: Option<u64>,
    /// Use the per-CPU perf buffer instead of the ring buffer (the default where the
    /// kernel has one, 5.8+).
    #[arg(long = "perf-buffer")]
    pub perf_buffer: bool,
    /// Ring buffer size in KiB (a power of two, >= 64); with the perf buffer, the size
    /// of each CPU's buffer. Default: 1024 (ring), 256 (perf, per CPU).
    #[arg(long = "buffer-kib", value_name = "KIB", value_parser = parse_buffer_kib)]
    pub buffer_kib: Option<u32>,
    /// With -x: how many execs may be in flight (between syscall entry and exit) at
    /// once. Entries are allocated on use; a full map is counted and reported.
    #[arg(long = "inflight-entries", value_name = "N", default_value_t = 16384,
          value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub inflight_entries: u32,
    /// Kernel BTF to relocate against instead of /sys/kernel/btf/vmlinux (for kernels
    /// built without CONFIG_DEBUG_INFO_BTF: a BTF file made for that exact kernel).
    #[arg(long = "btf", value_name = "FILE")]
    pub btf: Option<PathBuf>,
    /// Show libbpf's debug messages on stderr.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

/// A uid, or a user name looked up in /etc/passwd. The file is read directly, not
/// through NSS, so the fully static binary resolves names too (users that only NSS
/// modules know, LDAP say, need their number).
fn parse_user(s: &str) -> Result<u32, String> {
    if let Ok(uid) = s.parse::<u32>() {
        return Ok(uid);
    }
    let passwd = std::fs::read("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    uid_in_passwd(&passwd, s.as_bytes()).ok_or_else(|| "no such user in /etc/passwd".into())
}

/// The uid of `name` in passwd(5) text (`name:x:uid:gid:...`).
pub fn uid_in_passwd(passwd: &[u8], name: &[u8]) -> Option<u32> {
    passwd.split(|&c| c == b'\n').find_map(|line| {
        let mut f = line.split(|&c| c == b':');
        if f.next()? != name || name.is_empty() {
            return None;
        }
        let uid = f.nth(1)?;
        std::str::from_utf8(uid).ok()?.trim().parse().ok()
    })
}

fn parse_buffer_kib(s: &str) -> Result<u32, String> {
    let v: u32 = s.parse().map_err(|e| format!("{e}"))?;
    if v < 64 || !v.is_power_of_two() || v > 1 << 20 {
        return Err("must be a power of two between 64 and 1048576".into());
    }
    Ok(v)
}

impl Args {
    /// Argument bytes the kernel should capture per exec: enough for what will be shown
    /// (max_args x arg_size, counting the NULs), capped by the scratch area.
    pub fn capture_budget(&self) -> u32 {
        let want = u64::from(self.max_args) * (u64::from(self.arg_size) + 1);
        want.min(MAX_CAPTURE as u64) as u32
    }
}

/// Parses the command line; a bad value gives ONE line `execsnoop: <what>` and exit 2
/// (clap's own rendering spans several lines). --help/--version print as usual.
pub fn parse_or_exit() -> Args {
    match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                std::process::exit(0);
            }
            eprintln!("execsnoop: {}", one_line_error(&e));
            std::process::exit(2);
        }
    }
}

/// First line of a clap error without the `error: ` prefix.
pub fn one_line_error(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &[&str]) -> Result<Args, clap::Error> {
        let mut all = vec!["execsnoop"];
        all.extend_from_slice(v);
        Args::try_parse_from(all)
    }

    #[test]
    fn defaults_match_libbpf_tools() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.max_args, 20);
        assert!(!a.fails && !a.time && !a.timestamp && !a.print_uid && !a.quote && !a.json);
        assert_eq!(a.uid, None);
        assert_eq!(a.capture_budget(), MAX_CAPTURE as u32); // 20 x 4097 capped
    }

    #[test]
    fn short_flags_like_libbpf_tools() {
        let a = parse(&[
            "-T", "-t", "-x", "-U", "-q", "-u", "1000", "-n", "ssh", "-l", "-rf", "-d", "3",
        ])
        .unwrap();
        assert!(a.time && a.timestamp && a.fails && a.print_uid && a.quote);
        assert_eq!(a.uid, Some(1000));
        assert_eq!(a.name.as_deref(), Some("ssh"));
        assert_eq!(a.line.as_deref(), Some("-rf"));
        assert_eq!(a.duration, Some(3));
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        for bad in [
            &["-u", "abc"][..],
            &["--max-args", "0"],
            &["--arg-size", "99999"],
            &["-d", "0"],
            &["--buffer-kib", "100"],
            &["--bogus"],
        ] {
            let e = parse(bad).unwrap_err();
            let line = one_line_error(&e);
            assert!(!line.is_empty() && !line.contains('\n'), "{bad:?}: {line}");
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
        let e = parse(&["-u", "abc"]).unwrap_err();
        assert!(
            one_line_error(&e).contains("'abc'"),
            "{}",
            one_line_error(&e)
        );
    }

    #[test]
    fn help_states_the_kernel_capture_limit() {
        use clap::CommandFactory;
        let cmd = Args::command();
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some("arg-size"))
            .unwrap();
        let help = arg.get_help().unwrap().to_string();
        assert!(
            help.contains(&format!("at most {MAX_CAPTURE} bytes")),
            "{help}"
        );
    }

    #[test]
    fn user_names_resolve_through_passwd() {
        let pw = b"root:x:0:0:root:/root:/bin/bash\n#comment\nalice:x:1000:1000::/home/alice:/bin/sh\nbob:x:notanumber:1::/:/bin/sh\nali:x:1001:1001::/:/bin/sh";
        assert_eq!(uid_in_passwd(pw, b"root"), Some(0));
        assert_eq!(uid_in_passwd(pw, b"alice"), Some(1000));
        assert_eq!(uid_in_passwd(pw, b"ali"), Some(1001));
        assert_eq!(uid_in_passwd(pw, b"al"), None);
        assert_eq!(uid_in_passwd(pw, b"bob"), None);
        assert_eq!(uid_in_passwd(pw, b""), None);
        assert_eq!(uid_in_passwd(pw, b"x"), None);
        // Through the flag: a number, root by name (every system has it), and an
        // unknown name as one line with exit 2.
        assert_eq!(parse(&["-u", "1234"]).unwrap().uid, Some(1234));
        assert_eq!(parse(&["-u", "root"]).unwrap().uid, Some(0));
        let e = parse(&["-u", "no-such-user-lebpf"]).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        let line = one_line_error(&e);
        assert!(line.contains("no such user"), "{line}");
    }

    #[test]
    fn capture_budget_is_capped() {
        let a = parse(&["--max-args", "1000", "--arg-size", "10000"]).unwrap();
        assert_eq!(a.capture_budget(), MAX_CAPTURE as u32);
        let a = parse(&["--max-args", "2", "--arg-size", "10"]).unwrap();
        assert_eq!(a.capture_budget(), 22);
    }
}
