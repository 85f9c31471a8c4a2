//! Compiles every `src/bpf/*.bpf.c` with clang (through libbpf-cargo) against the
//! committed `vmlinux/<arch>/vmlinux.h`, and generates one Rust skeleton per program
//! into `OUT_DIR/<name>.skel.rs`.

use std::env;
use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use libbpf_cargo::SkeletonBuilder;

fn vmlinux_arch() -> &'static str {
    match env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("x86_64") => "x86",
        Ok("aarch64") => "arm64",
        Ok("riscv64") => "riscv",
        Ok("powerpc64") => "powerpc",
        Ok("s390x") => "s390",
        Ok(other) => {
            panic!("no vmlinux.h for target arch {other}: run `make vmlinux` on such a machine")
        }
        Err(_) => "x86",
    }
}

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let arch = vmlinux_arch();
    let vmlinux_dir = manifest.join("vmlinux").join(arch);
    let bpf_dir = manifest.join("src").join("bpf");

    println!(
        "cargo:rerun-if-changed={}",
        vmlinux_dir.join("vmlinux.h").display()
    );
    println!("cargo:rerun-if-changed={}", bpf_dir.display());

    let mut sources: Vec<PathBuf> = fs::read_dir(&bpf_dir)
        .expect("read src/bpf")
        .map(|e| e.expect("dir entry").path())
        .collect();
    sources.sort();
    for path in &sources {
        println!("cargo:rerun-if-changed={}", path.display());
    }

    let mut modules = String::new();
    for src in sources.iter().filter(|p| is_bpf_c(p)) {
        let file = src
            .file_name()
            .and_then(OsStr::to_str)
            .expect("utf-8 file name");
        let name = file.trim_end_matches(".bpf.c");
        let skel = out.join(format!("{name}.skel.rs"));
        SkeletonBuilder::new()
            .source(src)
            .obj(out.join(format!("{name}.bpf.o")))
            .clang_args([
                format!("-I{}", vmlinux_dir.display()),
                format!("-I{}", bpf_dir.display()),
                format!("-D__TARGET_ARCH_{arch}"),
                "-Wall".to_string(),
                "-Wno-unused-function".to_string(),
            ])
            .build_and_generate(&skel)
            .unwrap_or_else(|e| panic!("building {}: {e:#}", src.display()));
        modules.push_str(&format!(
            "pub mod {name} {{ include!(concat!(env!(\"OUT_DIR\"), \"/{name}.skel.rs\")); }}\n"
        ));
    }
    // One module per program, so adding a .bpf.c needs no edit elsewhere.
    fs::write(out.join("skels.rs"), modules).expect("write skels.rs");
}

fn is_bpf_c(p: &Path) -> bool {
    p.file_name()
        .and_then(OsStr::to_str)
        .is_some_and(|n| n.ends_with(".bpf.c"))
}
