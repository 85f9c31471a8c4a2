//! `execsnoop` — trace every exec() on the machine, one line (or JSON object) each.
//!
//! Everything lives in the library (`lebpf::execsnoop`); see `execsnoop --help`.

use std::process::ExitCode;

use lebpf::{cli, execsnoop};

fn main() -> ExitCode {
    let args = execsnoop::args::parse_or_exit();
    cli::run("execsnoop", || execsnoop::run(args))
}
