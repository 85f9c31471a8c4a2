//! The kernel's BTF, which CO-RE programs (execsnoop, hello-buffer-config) relocate
//! against. Without it libbpf fails deep in the load with an errno ("Input/output
//! error", "No such file"); [`check_kernel`] turns that into one line saying what is
//! missing.

use std::io::Read;

use anyhow::{bail, Result};

/// Where the kernel exposes its own BTF (CONFIG_DEBUG_INFO_BTF=y).
pub const KERNEL_BTF: &str = "/sys/kernel/btf/vmlinux";

/// First two bytes of a BTF blob (0xeB9F in the byte order of the file).
const MAGIC: [[u8; 2]; 2] = [[0x9f, 0xeb], [0xeb, 0x9f]];

/// Checks that [`KERNEL_BTF`] is there and starts like BTF. `prog` names the program
/// in the message; `alternative` is appended (e.g. "or --btf FILE ...").
pub fn check_kernel(prog: &str, alternative: &str) -> Result<()> {
    let mut head = [0u8; 2];
    let read = std::fs::File::open(KERNEL_BTF).and_then(|mut f| f.read_exact(&mut head));
    match read {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "this kernel has no BTF ({KERNEL_BTF} is missing): {prog} needs a kernel built \
             with CONFIG_DEBUG_INFO_BTF=y{alternative}"
        ),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            bail!("{KERNEL_BTF} is empty: {prog} needs the kernel's BTF{alternative}")
        }
        Err(e) => bail!("reading {KERNEL_BTF}: {e}"),
        Ok(()) if !MAGIC.contains(&head) => {
            bail!("{KERNEL_BTF} is not BTF: {prog} needs the kernel's BTF{alternative}")
        }
        Ok(()) => Ok(()),
    }
}
