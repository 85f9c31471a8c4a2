//! The frame every binary's `main` runs in: libbpf log routing (`-v`), the privilege
//! check, RLIMIT_MEMLOCK, and turning an error into one line on stderr plus an exit code.

use std::io;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use libbpf_rs::PrintLevel;

/// Exit code for a missing privilege or any runtime failure.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for bad command-line input (clap uses the same).
pub const EXIT_USAGE: u8 = 2;

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// A user error that should exit with [`EXIT_USAGE`] (a bad value clap could not check).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Returns a [`UsageError`] wrapped for `?`.
pub fn usage_error(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

fn libbpf_print(_level: PrintLevel, msg: String) {
    if VERBOSE.load(Ordering::Relaxed) {
        eprint!("{msg}");
    }
}

/// Routes libbpf's own messages: to stderr with `-v`, nowhere otherwise (our errors
/// carry the cause).
pub fn init_libbpf_log(verbose: bool) {
    VERBOSE.store(verbose, Ordering::Relaxed);
    libbpf_rs::set_print(Some((PrintLevel::Debug, libbpf_print)));
}

/// Raises RLIMIT_MEMLOCK for pre-5.11 kernels that charge BPF maps to it. Failure is
/// not fatal: 5.11+ accounts BPF memory to the cgroup instead.
pub fn bump_memlock() {
    let lim = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: valid pointer to a local.
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &lim) };
}

/// Everything a BPF binary does before opening its skeleton: log routing, privilege
/// check, memlock, and the SIGINT/SIGTERM handler whose flag its loops watch.
pub fn prepare(verbose: bool) -> anyhow::Result<crate::shutdown::Shutdown> {
    init_libbpf_log(verbose);
    crate::privilege::check()?;
    bump_memlock();
    crate::shutdown::Shutdown::install()
}

/// True when the error chain holds a closed-pipe write (`prog | head`): that is a normal
/// way for a printer to end.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Runs a binary's body and maps the outcome to an exit code: Ok -> 0; closed stdout
/// -> 0; bad input -> 2; anything else (missing privilege included) -> 1, with one line
/// `<prog>: <error: cause: cause>` on stderr.
pub fn run(prog: &str, body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let code = if e.downcast_ref::<UsageError>().is_some() {
                EXIT_USAGE
            } else {
                EXIT_FAILURE
            };
            let line = format!("{e:#}").replace('\n', " ");
            eprintln!("{prog}: {line}");
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_pipe_is_detected_through_context() {
        let e = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert!(is_broken_pipe(&e));
        let e = anyhow::anyhow!("other");
        assert!(!is_broken_pipe(&e));
    }

    #[test]
    fn usage_errors_exit_2_and_others_1() {
        assert_eq!(run("t", || Err(usage_error("bad"))), ExitCode::from(2));
        assert_eq!(run("t", || Err(anyhow::anyhow!("boom"))), ExitCode::from(1));
        assert_eq!(run("t", || Ok(())), ExitCode::SUCCESS);
    }
}
