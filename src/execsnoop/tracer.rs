//! The kernel side of one run: the skeleton, configured and loaded, and its links.
//!
//! [`Tracer`] owns both (as scx's schedulers own theirs). The skeleton borrows the
//! libbpf object storage (`MaybeUninit<OpenObject>`), which the caller owns and keeps
//! alive for as long as the tracer: `Tracer<'obj>` says so in its type, with no unsafe
//! lifetime extension. Dropping the tracer detaches the links first, then closes the
//! programs and maps (field order).

use std::ffi::CString;
use std::fs::File;
use std::mem::MaybeUninit;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use libbpf_rs::skel::{OpenSkel, SkelBuilder};
use libbpf_rs::{Link, MapCore, MapFlags, OpenObject, TracepointCategory};

use super::event;
use crate::cli;
use crate::events::{Choice, EventPoller};
use crate::skel::execsnoop::types::execsnoop_stat;
use crate::skel::execsnoop::{ExecsnoopSkel, ExecsnoopSkelBuilder};

const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
/// Default transport sizes: the ring buffer (shared), a perf buffer (per CPU).
const RING_KIB: u32 = 1024;
const PERF_KIB: u32 = 256;

/// Opens and checks a `-c` directory: it must exist and be on cgroup v2.
pub fn open_cgroup(path: &Path) -> Result<File> {
    let f = File::open(path)
        .map_err(|e| cli::usage_error(format!("cgroup {}: {e}", path.display())))?;
    // SAFETY: statfs is plain old data; all-zero is a valid value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and pointer to a local statfs.
    let rc = unsafe { libc::fstatfs(f.as_raw_fd(), &mut st) };
    let is_dir = f.metadata().is_ok_and(|m| m.is_dir());
    if rc != 0 || st.f_type as i64 != CGROUP2_SUPER_MAGIC || !is_dir {
        return Err(cli::usage_error(format!(
            "cgroup {}: not a cgroup v2 directory",
            path.display()
        )));
    }
    Ok(f)
}

/// A `--btf FILE` to relocate against.
#[derive(Debug, Clone)]
pub struct CustomBtf {
    path: PathBuf,
    c_path: CString,
}

/// The BTF CO-RE relocates against: `--btf FILE` (checked to exist: exit 2 if not), or
/// the kernel's own, whose absence is one clear error instead of libbpf's relocation
/// noise. None means libbpf's default (the kernel's).
pub fn kernel_btf(custom: Option<&Path>) -> Result<Option<CustomBtf>> {
    match custom {
        Some(p) if !p.is_file() => Err(cli::usage_error(format!(
            "--btf {}: no such file",
            p.display()
        ))),
        Some(p) => {
            let c_path = CString::new(p.as_os_str().as_encoded_bytes())
                .map_err(|_| cli::usage_error("--btf: path contains a NUL byte"))?;
            Ok(Some(CustomBtf {
                path: p.to_path_buf(),
                c_path,
            }))
        }
        None => {
            crate::btf::check_kernel("execsnoop", ", or --btf FILE with BTF made for this kernel")?;
            Ok(None)
        }
    }
}

/// True when the kernel (release string as `uname -r` prints it) has the BPF memory
/// allocator (6.1+), which makes run-time allocated hash maps safe in tracing programs.
/// An unparsable release counts as old (preallocating is always safe).
fn runtime_alloc_is_safe(release: &str) -> bool {
    let mut nums = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u32>().ok());
    match (nums.next().flatten(), nums.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (6, 1),
        _ => false,
    }
}

/// What the kernel side is asked to do.
#[derive(Debug)]
pub struct Config<'a> {
    pub btf: Option<&'a CustomBtf>,
    /// -u: only this real uid.
    pub uid: Option<u32>,
    /// -P: only children of this process.
    pub ppid: Option<u32>,
    /// --paths: the kernel walks cwd and exe.
    pub paths: bool,
    /// -c: only this cgroup and below.
    pub cgroup: Option<&'a File>,
    /// -x: failed execs too.
    pub fails: bool,
    pub transport: Choice,
    /// --buffer-kib (default: [`RING_KIB`] or [`PERF_KIB`]).
    pub buffer_kib: Option<u32>,
    /// Argument bytes to capture per exec.
    pub args_budget: u32,
    /// Arguments to copy for a failed exec.
    pub max_args: u32,
    /// --inflight-entries (used with -x only).
    pub inflight_entries: u32,
}

/// Kernel-side counters, summed over CPUs.
#[derive(Debug, Default, Clone, Copy)]
pub struct KernelStats {
    pub lost: u64,
    pub starts_full: u64,
    pub no_scratch: u64,
    pub filtered: u64,
}

/// The loaded skeleton and its links.
pub struct Tracer<'obj> {
    // Declared before `skel`: dropped (detached) before the programs close.
    links: Vec<Link>,
    skel: ExecsnoopSkel<'obj>,
    fails: bool,
    transport: Choice,
    buffer_kib: Option<u32>,
}

impl<'obj> Tracer<'obj> {
    /// Opens the BPF object into `storage`, configures it and loads it. Nothing is
    /// attached yet ([`Tracer::attach`]): set up the transport first.
    pub fn load(cfg: &Config<'_>, storage: &'obj mut MaybeUninit<OpenObject>) -> Result<Self> {
        let builder = ExecsnoopSkelBuilder::default();
        let mut open = match cfg.btf {
            None => builder.open(storage),
            Some(btf) => {
                // SAFETY: bpf_object_open_opts is plain data; all-zero is its default.
                let mut opts: libbpf_sys::bpf_object_open_opts = unsafe { std::mem::zeroed() };
                opts.sz = std::mem::size_of::<libbpf_sys::bpf_object_open_opts>() as _;
                // libbpf copies the path during open.
                opts.btf_custom_path = btf.c_path.as_ptr();
                builder.open_opts(opts, storage)
            }
        }
        .context("opening the BPF object")?;

        let ro = open
            .maps
            .rodata_data
            .as_deref_mut()
            .ok_or_else(|| anyhow!("BPF object has no .rodata"))?;
        ro.targ_uid = cfg.uid.unwrap_or(u32::MAX);
        ro.targ_ppid = cfg.ppid.unwrap_or(0);
        ro.want_paths = cfg.paths;
        ro.filter_cgroup = cfg.cgroup.is_some();
        ro.trace_failures = cfg.fails;
        ro.use_ringbuf = !cfg.transport.is_perf();
        ro.args_budget = cfg.args_budget;
        ro.max_args = cfg.max_args;

        size_maps(&mut open, cfg)?;
        // Failures need the syscall tracepoints; without -x they are not even loaded.
        for p in [
            &mut open.progs.execsnoop_enter_execve,
            &mut open.progs.execsnoop_enter_execveat,
            &mut open.progs.execsnoop_exit,
            &mut open.progs.execsnoop_thread_exit,
        ] {
            p.set_autoload(cfg.fails);
        }
        let skel = open.load().map_err(|e| match cfg.btf {
            Some(b) => anyhow!(
                "loading the BPF programs with the BTF of {}: {e}",
                b.path.display()
            ),
            None => anyhow!("loading the BPF programs: {e}"),
        })?;
        if let Some(cg) = cfg.cgroup {
            let fd = cg.as_raw_fd() as u32;
            skel.maps
                .exec_cgroup
                .update(&0u32.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
                .context("setting the cgroup filter")?;
        }
        Ok(Tracer {
            links: Vec::new(),
            skel,
            fails: cfg.fails,
            transport: cfg.transport,
            buffer_kib: cfg.buffer_kib,
        })
    }

    /// The transport this run uses.
    pub fn transport(&self) -> Choice {
        self.transport
    }

    /// Sets up the ring or perf buffer; `on_sample` gets every event's bytes (a perf
    /// buffer's in kernel time order per poll).
    pub fn poller<'cb>(
        &self,
        on_sample: impl FnMut(&[u8]) -> Result<()> + 'cb,
    ) -> Result<EventPoller<'cb>> {
        if self.transport.is_perf() {
            let kib = self.buffer_kib.unwrap_or(PERF_KIB) as usize;
            let pages = (kib * 1024 / 4096).max(1).next_power_of_two();
            EventPoller::perf_buffer(
                &self.skel.maps.exec_perf,
                pages,
                Some(event::sample_time),
                on_sample,
            )
        } else {
            EventPoller::ring_buffer(&self.skel.maps.exec_ringbuf, on_sample)
        }
    }

    /// Attaches the programs. Syscall tracepoints first: a failure seen at exit needs
    /// its entry.
    pub fn attach(&mut self) -> Result<()> {
        let pr = &self.skel.progs;
        if self.fails {
            let tp = crate::attach::tracepoint;
            use TracepointCategory::{Sched, Syscalls};
            self.links.push(tp(
                &pr.execsnoop_enter_execve,
                Syscalls,
                "sys_enter_execve",
            )?);
            self.links.push(tp(
                &pr.execsnoop_enter_execveat,
                Syscalls,
                "sys_enter_execveat",
            )?);
            self.links
                .push(tp(&pr.execsnoop_exit, Syscalls, "sys_exit_execve")?);
            self.links
                .push(tp(&pr.execsnoop_exit, Syscalls, "sys_exit_execveat")?);
            self.links
                .push(tp(&pr.execsnoop_thread_exit, Sched, "sched_process_exit")?);
        }
        self.links.push(
            pr.execsnoop_exec
                .attach_raw_tracepoint("sched_process_exec")
                .context("attaching to raw tracepoint sched_process_exec")?,
        );
        Ok(())
    }

    /// Detaches every program (no new events; what is in the buffer stays readable).
    pub fn detach(&mut self) {
        self.links.clear();
    }

    /// The kernel's counters, summed over CPUs.
    pub fn stats(&self) -> KernelStats {
        let get = |slot: execsnoop_stat| -> u64 {
            let key = slot.0.to_ne_bytes();
            match self.skel.maps.exec_stats.lookup_percpu(&key, MapFlags::ANY) {
                Ok(Some(vals)) => vals
                    .iter()
                    .filter_map(|v| {
                        v.get(..8)
                            .map(|b| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])))
                    })
                    .sum(),
                _ => 0,
            }
        };
        KernelStats {
            lost: get(execsnoop_stat::EXECSNOOP_STAT_LOST),
            starts_full: get(execsnoop_stat::EXECSNOOP_STAT_STARTS_FULL),
            no_scratch: get(execsnoop_stat::EXECSNOOP_STAT_NO_SCRATCH),
            filtered: get(execsnoop_stat::EXECSNOOP_STAT_FILTERED),
        }
    }
}

/// Map sizes and which transport map exists.
fn size_maps(
    open: &mut crate::skel::execsnoop::OpenExecsnoopSkel<'_>,
    cfg: &Config<'_>,
) -> Result<()> {
    let ncpu = libbpf_rs::num_possible_cpus().context("counting CPUs")? as u32;
    open.maps
        .exec_scratch
        .set_max_entries(ncpu.max(1))
        .context("sizing the scratch map")?;
    if cfg.transport.is_perf() {
        open.maps.exec_ringbuf.set_autocreate(false)?;
    } else {
        open.maps.exec_perf.set_autocreate(false)?;
        let kib = cfg.buffer_kib.unwrap_or(RING_KIB);
        open.maps.exec_ringbuf.set_max_entries(kib * 1024)?;
    }
    // The in-flight map only serves -x; without it, one entry (the map must exist).
    open.maps
        .exec_starts
        .set_max_entries(if cfg.fails { cfg.inflight_entries } else { 1 })
        .context("sizing the in-flight map")?;
    // Before 6.1 (no BPF memory allocator) a tracing program that allocates hash map
    // entries at run time is unsafe: 5.10's verifier warns so in the kernel log
    // (WARN_ONCE, seen in the kernel matrix). Preallocate there.
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    if !runtime_alloc_is_safe(&release) {
        let flags = open.maps.exec_starts.map_flags() & !libbpf_sys::BPF_F_NO_PREALLOC;
        open.maps
            .exec_starts
            .set_map_flags(flags)
            .context("preallocating the in-flight map")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_allocation_is_safe_from_6_1() {
        assert!(!runtime_alloc_is_safe("5.10.0-46-amd64"));
        assert!(!runtime_alloc_is_safe("6.0.19"));
        assert!(runtime_alloc_is_safe("6.1.0-56-amd64"));
        assert!(runtime_alloc_is_safe("6.12.118+deb13-amd64"));
        assert!(runtime_alloc_is_safe("6.18.44-fc-v782"));
        assert!(runtime_alloc_is_safe("7.0"));
        assert!(!runtime_alloc_is_safe(""));
        assert!(!runtime_alloc_is_safe("garbage"));
    }
}
