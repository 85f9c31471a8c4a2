//! The context user space adds to each JSON event: which host (`hostname`, `boot_id`),
//! which cgroup (`cgroup`, from the kernel's `cgroup_id`) and which container
//! (`container_id`, from the cgroup path).

use std::collections::HashMap;
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How often the hostname is read again (it can change while we run: `hostname x`).
const HOSTNAME_EVERY: Duration = Duration::from_secs(1);
/// Most cgroup ids remembered (found or not). Beyond that the cache starts over:
/// memory stays bounded (a few hundred KB) whatever the churn of cgroups.
pub const CGROUP_CACHE_MAX: usize = 4096;

/// The kernel's boot id (`/proc/sys/kernel/random/boot_id`), empty if unreadable.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The host's name as uname(2) gives it (the UTS namespace execsnoop runs in).
pub fn hostname() -> Vec<u8> {
    // SAFETY: utsname is plain old data; all-zero is a valid value.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to a local utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return Vec::new();
    }
    // SAFETY: uname NUL-terminates nodename.
    unsafe { CStr::from_ptr(u.nodename.as_ptr()) }
        .to_bytes()
        .to_vec()
}

/// The host fields, with the hostname re-read at most once per [`HOSTNAME_EVERY`].
#[derive(Debug)]
pub struct Host {
    pub hostname: Vec<u8>,
    pub boot_id: String,
    read_at: Instant,
}

impl Host {
    pub fn new() -> Self {
        Host {
            hostname: hostname(),
            boot_id: boot_id(),
            read_at: Instant::now(),
        }
    }

    /// Re-reads the hostname if it is time to (one uname(2) per second at most).
    pub fn refresh(&mut self) {
        if self.read_at.elapsed() >= HOSTNAME_EVERY {
            self.hostname = hostname();
            self.read_at = Instant::now();
        }
    }
}

impl Default for Host {
    fn default() -> Self {
        Self::new()
    }
}

/// Where cgroup v2 is mounted (the first cgroup2 line of /proc/self/mountinfo).
pub fn cgroup2_mount() -> Option<PathBuf> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        // ... mount-point ... - fstype source options
        let (left, right) = l.split_once(" - ")?;
        if right.split(' ').next()? != "cgroup2" {
            return None;
        }
        left.split(' ')
            .nth(4)
            .map(|p| PathBuf::from(unescape_mountinfo(p)))
    })
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() {
            let oct = std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(oct, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// FILEID_KERNFS: the file handle type of kernfs (cgroup v2) files, whose handle is
/// the 64-bit id, which is also the cgroup id `bpf_get_current_cgroup_id()` returns.
const FILEID_KERNFS: i32 = 0xfe;

#[repr(C)]
struct KernfsHandle {
    handle_bytes: u32,
    handle_type: i32,
    id: [u8; 8],
}

/// Opens the cgroup directory with this id through its file handle
/// (open_by_handle_at(2); needs CAP_DAC_READ_SEARCH, which a tracer has).
fn open_by_id(mount: &File, id: u64) -> io::Result<File> {
    let mut h = KernfsHandle {
        handle_bytes: 8,
        handle_type: FILEID_KERNFS,
        id: id.to_ne_bytes(),
    };
    // SAFETY: the handle is a valid struct file_handle with 8 bytes of f_handle; the
    // returned fd (if any) is ours.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_by_handle_at,
            mount.as_raw_fd(),
            &mut h as *mut KernfsHandle,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new fd we own.
    Ok(unsafe { File::from_raw_fd(fd as i32) })
}

/// Cgroup id to cgroup v2 path (relative to the cgroup2 mount: `/system.slice/x`),
/// cached. Ids are never reused during a boot, so a path once found stays right and
/// an id once gone stays gone (the negative entries are as final as the positive).
pub struct CgroupPaths {
    mount: Option<(File, PathBuf)>,
    cache: HashMap<u64, Option<Rc<[u8]>>>,
    /// Lookups that went to the kernel (for tests and the curious).
    pub lookups: u64,
}

impl CgroupPaths {
    /// Resolves against the system's cgroup2 mount (none: every path unknown).
    pub fn new() -> Self {
        let mount = cgroup2_mount().and_then(|p| File::open(&p).ok().map(|f| (f, p)));
        CgroupPaths {
            mount,
            cache: HashMap::new(),
            lookups: 0,
        }
    }

    /// The path of cgroup `id`, or None if it cannot be found (gone, no cgroup2).
    pub fn path(&mut self, id: u64) -> Option<Rc<[u8]>> {
        if let Some(hit) = self.cache.get(&id) {
            return hit.clone();
        }
        let found = self.lookup(id);
        if self.cache.len() >= CGROUP_CACHE_MAX {
            self.cache.clear();
        }
        self.cache.insert(id, found.clone());
        found
    }

    fn lookup(&mut self, id: u64) -> Option<Rc<[u8]>> {
        let (mount, root) = self.mount.as_ref()?;
        self.lookups += 1;
        let dir = open_by_id(mount, id).ok()?;
        let link = std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())).ok()?;
        relative_to(&link, root).map(Rc::from)
    }

    /// Entries held now (bounded by [`CGROUP_CACHE_MAX`]).
    pub fn cached(&self) -> usize {
        self.cache.len()
    }
}

impl Default for CgroupPaths {
    fn default() -> Self {
        Self::new()
    }
}

/// `link` below `root` as an absolute cgroup path (`/` for the root itself).
fn relative_to(link: &Path, root: &Path) -> Option<Vec<u8>> {
    let rest = link.strip_prefix(root).ok()?;
    let mut out = b"/".to_vec();
    out.extend_from_slice(rest.as_os_str().as_encoded_bytes());
    Some(out)
}

fn is_hex64(s: &[u8]) -> bool {
    s.len() == 64 && s.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// The container id a cgroup path carries, by the naming of the common runtimes:
/// - `docker-<id>.scope` (docker, systemd driver), `/docker/<id>` (cgroupfs driver);
/// - `cri-containerd-<id>.scope` (containerd), `crio-<id>.scope` (cri-o; not its
///   `crio-conmon-<id>.scope` monitor), `libpod-<id>.scope` (podman);
/// - kubepods: `.../kubepods-<qos>-pod<uid>.slice/<one of the above>` (systemd) or
///   `/kubepods/<qos>/pod<uid>/<id>` (cgroupfs).
///
/// `<id>` is 64 lowercase hex digits. The innermost component that matches wins (a
/// container's own sub-cgroups, `docker-<id>.scope/init.scope`, still name it).
pub fn container_id(path: &[u8]) -> Option<&[u8]> {
    const PREFIXES: [&[u8]; 4] = [b"docker-", b"cri-containerd-", b"crio-", b"libpod-"];
    let parts: Vec<&[u8]> = path.split(|&c| c == b'/').collect();
    for (i, part) in parts.iter().enumerate().rev() {
        let scoped = part.strip_suffix(b".scope").and_then(|p| {
            PREFIXES
                .iter()
                .find_map(|pre| p.strip_prefix(*pre))
                .filter(|id| is_hex64(id))
        });
        if scoped.is_some() {
            return scoped;
        }
        // A bare id directly under docker/ or under a kubepods pod directory.
        if is_hex64(part) && i > 0 {
            let parent = parts[i - 1];
            if parent == b"docker" || parent.starts_with(b"pod") {
                return Some(part);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f4e8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b";

    #[test]
    fn container_ids_by_runtime() {
        let cases: Vec<(String, Option<&str>)> = vec![
            (format!("/system.slice/docker-{ID}.scope"), Some(ID)),
            (format!("/system.slice/docker-{ID}.scope/init.scope"), Some(ID)),
            (format!("/docker/{ID}"), Some(ID)),
            (format!("/docker/{ID}/sub"), Some(ID)),
            (
                format!("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1a2b_3c4d.slice/cri-containerd-{ID}.scope"),
                Some(ID),
            ),
            (
                format!("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1a2b.slice/crio-{ID}.scope"),
                Some(ID),
            ),
            (format!("/kubepods/besteffort/pod1a2b-3c4d/{ID}"), Some(ID)),
            (format!("/kubepods/pod1a2b-3c4d/{ID}"), Some(ID)),
            (format!("/machine.slice/libpod-{ID}.scope/container"), Some(ID)),
            // Not containers, or not an id:
            (format!("/system.slice/crio-conmon-{ID}.scope"), None),
            ("/system.slice/ssh.service".into(), None),
            ("/user.slice/user-1000.slice/session-3.scope".into(), None),
            ("/".into(), None),
            (format!("/system.slice/docker-{}.scope", &ID[..63]), None),
            (format!("/system.slice/docker-{}.scope", ID.to_uppercase()), None),
            (format!("/system.slice/docker-{ID}x.scope"), None),
            (format!("/other/{ID}"), None),
            (format!("/system.slice/docker-{ID}"), None),
        ];
        for (path, want) in cases {
            let got = container_id(path.as_bytes()).map(|b| std::str::from_utf8(b).unwrap());
            assert_eq!(got, want, "{path}");
        }
    }

    #[test]
    fn mountinfo_escapes() {
        assert_eq!(unescape_mountinfo("/sys/fs/cgroup"), "/sys/fs/cgroup");
        assert_eq!(unescape_mountinfo("/a\\040b"), "/a b");
        assert_eq!(unescape_mountinfo("/a\\"), "/a\\");
    }

    #[test]
    fn paths_relative_to_the_mount() {
        let root = Path::new("/sys/fs/cgroup");
        assert_eq!(relative_to(root, root).unwrap(), b"/");
        assert_eq!(
            relative_to(Path::new("/sys/fs/cgroup/system.slice/x.service"), root).unwrap(),
            b"/system.slice/x.service"
        );
        assert_eq!(relative_to(Path::new("/elsewhere"), root), None);
    }
}
