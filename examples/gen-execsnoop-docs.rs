//! Writes execsnoop's man page and shell completions from its clap definition, so they
//! cannot drift from `--help`:
//!
//!   cargo run --example gen-execsnoop-docs -- OUTDIR
//!
//! makes OUTDIR/execsnoop.8, OUTDIR/execsnoop.bash, OUTDIR/_execsnoop (zsh) and
//! OUTDIR/execsnoop.fish. An example rather than a program: it is a build tool, and
//! `cargo build --bins` / `make dist` do not ship it (`make man` and `make deb` run it).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::{generate, Shell};
use lebpf::execsnoop::args::{Args, EXAMPLES};

/// Text of a roff no-fill block: backslashes, hyphens and a leading dot or quote escaped.
fn roff_literal(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let l = line.replace('\\', "\\e").replace('-', "\\-");
        if l.starts_with('.') || l.starts_with('\'') {
            out.push_str("\\&");
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// The sections clap knows nothing about: examples (from the same text as `--help`'s),
/// privileges, the service, exit status.
fn extra_sections() -> String {
    let examples = EXAMPLES
        .strip_prefix("Examples:\n")
        .expect("EXAMPLES starts with its heading");
    let mut s = String::new();
    s.push_str(".SH EXAMPLES\n.nf\n");
    s.push_str(&roff_literal(examples));
    s.push_str(".fi\n");
    s.push_str(
        r#".SH PRIVILEGES
execsnoop needs root, or the capabilities CAP_BPF and CAP_PERFMON (Linux 5.8+).
Without \-x it attaches a raw tracepoint with bpf() alone and needs nothing more.
With \-x or \-\-perf\-buffer it opens perf events, which need CAP_SYS_ADMIN where
kernel.perf_event_paranoid is 3 (the Debian default); \-x also needs tracefs, which it
mounts when it can (CAP_SYS_ADMIN) and reads as root or with CAP_DAC_READ_SEARCH.
Kernels before 5.8 need CAP_SYS_ADMIN. Kernels before 5.11 charge BPF maps to
RLIMIT_MEMLOCK: give it a high limit (systemd: LimitMEMLOCK=infinity).
.SH SERVICE
The unit execsnoop.service runs
.B execsnoop \-\-json
as a dynamic user holding only CAP_BPF and CAP_PERFMON, one JSON object per exec to
the journal. It is installed disabled:
.B systemctl enable \-\-now execsnoop
starts it, and
.B journalctl \-u execsnoop \-o cat
prints its output: the JSON objects, one a line (each starts with {), and
execsnoop's own messages from standard error (each starts with "execsnoop:").
.SH EXIT STATUS
0 after Ctrl\-C, SIGTERM, the end of \-d or a closed standard output (with a one\-line
summary on standard error); 1 on an error (one line on standard error); 2 on a bad
command line.
.SH SEE ALSO
.BR journalctl (1),
.BR systemd.exec (5),
.BR capabilities (7)
"#,
    );
    s
}

fn write_man(dir: &Path) -> Result<()> {
    let cmd = Args::command();
    let version = cmd.get_version().unwrap_or("").to_string();
    let man = clap_mangen::Man::new(cmd).section("8");
    let path = dir.join("execsnoop.8");
    let mut w = BufWriter::new(File::create(&path).with_context(|| path.display().to_string())?);
    // Our own title line: clap_mangen leaves an empty date unquoted, which shifts the
    // source and manual fields one place left. The two string definitions are the
    // ones its option text uses (\*(Aq).
    writeln!(
        w,
        ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n\
         .TH EXECSNOOP 8 \"\" \"execsnoop {version}\" \"System Administration\""
    )?;
    man.render_name_section(&mut w)?;
    man.render_synopsis_section(&mut w)?;
    man.render_description_section(&mut w)?;
    man.render_options_section(&mut w)?;
    w.write_all(extra_sections().as_bytes())?;
    man.render_version_section(&mut w)?;
    w.flush()?;
    Ok(())
}

fn write_completions(dir: &Path) -> Result<()> {
    for (shell, file) in [
        (Shell::Bash, "execsnoop.bash"),
        (Shell::Zsh, "_execsnoop"),
        (Shell::Fish, "execsnoop.fish"),
    ] {
        let path = dir.join(file);
        let mut w =
            BufWriter::new(File::create(&path).with_context(|| path.display().to_string())?);
        generate(shell, &mut Args::command(), "execsnoop", &mut w);
        w.flush()?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .context("usage: gen-execsnoop-docs OUTDIR")?;
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    write_man(&dir)?;
    write_completions(&dir)?;
    Ok(())
}
