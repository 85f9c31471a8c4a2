//! `cargo run` for a reader who is not root: `.cargo/config.toml` names
//! `scripts/cargo-runner.sh` as cargo's runner, and the script elevates with sudo only
//! when not root and sudo exists. Checked with a stand-in `sudo` that records its call,
//! as root and as uid 65534.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn script() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cargo-runner.sh");
    p.exists().then_some(p)
}

/// A folder holding `sh`, `id` and, when `with_sudo`, a `sudo` that prints
/// `SUDO <args>` and runs them: a PATH on which "sudo exists" is under the test's control.
fn fake_path(tag: &str, with_sudo: bool) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lebpf-runner-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    for tool in ["sh", "id"] {
        let real = ["/bin", "/usr/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no {tool}"));
        std::os::unix::fs::symlink(real, dir.join(tool)).unwrap();
    }
    if with_sudo {
        let sudo = dir.join("sudo");
        std::fs::write(
            &sudo,
            "#!/bin/sh\necho \"SUDO $*\"\n[ \"$1\" = -- ] && shift\nexec \"$@\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

/// Runs the runner on `exe args` with PATH = `path`, as `uid` (None: as the test).
fn run_runner(path: &Path, uid: Option<u32>, exe: &str) -> (i32, String, String) {
    let mut cmd = Command::new(script().unwrap());
    cmd.arg(exe).arg("-u").env_clear().env("PATH", path);
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    let out = cmd.output().expect("run the cargo runner");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn config_names_the_runner_script() {
    let Some(script) = script() else {
        skip("source tree not present (kernel-matrix guest)");
        return;
    };
    let config =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".cargo/config.toml"))
            .expect(".cargo/config.toml");
    assert!(
        config.contains("[target.'cfg(target_os = \"linux\")']"),
        "{config}"
    );
    assert!(
        config.contains("runner = \"scripts/cargo-runner.sh\""),
        "{config}"
    );
    let mode = std::fs::metadata(&script).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "runner script not executable");
}

#[test]
fn runner_elevates_only_a_non_root_user_with_sudo() {
    require_root();
    if script().is_none() {
        skip("source tree not present (kernel-matrix guest)");
        return;
    }
    let id = ["/usr/bin/id", "/bin/id"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("id");
    let with = fake_path("sudo", true);
    let without = fake_path("nosudo", false);

    // Root: runs directly even though sudo is there.
    let (code, out, _) = run_runner(&with, None, id);
    assert_eq!(
        (code, out.as_str()),
        (0, "0\n"),
        "root must not go through sudo"
    );

    // Not root, sudo present: through sudo, with the program and its arguments.
    let (code, out, _) = run_runner(&with, Some(65534), id);
    assert_eq!(code, 0);
    assert_eq!(
        out.lines().next(),
        Some(format!("SUDO -- {id} -u").as_str()),
        "{out}"
    );

    // Not root, no sudo: runs directly as that user and says so.
    let (code, out, err) = run_runner(&without, Some(65534), id);
    assert_eq!((code, out.as_str()), (0, "65534\n"), "{err}");
    assert!(err.contains("not root and no sudo"), "{err}");

    // Test executables are never elevated.
    let deps = without.join("deps");
    std::fs::create_dir_all(&deps).unwrap();
    std::os::unix::fs::symlink(id, deps.join("id")).unwrap();
    let (code, out, _) = run_runner(&with, Some(65534), deps.join("id").to_str().unwrap());
    assert_eq!(
        (code, out.as_str()),
        (0, "65534\n"),
        "a test executable went through sudo"
    );

    let _ = std::fs::remove_dir_all(with);
    let _ = std::fs::remove_dir_all(without);
}
