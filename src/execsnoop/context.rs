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
/// Most directories one walk of the cgroup2 tree visits (the fallback when file
/// handles are refused): bounds the time a lookup can take on a huge hierarchy.
const CGROUP_WALK_MAX: usize = 65_536;

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
/// (open_by_handle_at(2); needs CAP_DAC_READ_SEARCH: root has it, the systemd unit's
/// CAP_BPF + CAP_PERFMON service does not, and then [`find_by_inode`] is used).
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
    /// False once the kernel refused a file handle (no CAP_DAC_READ_SEARCH, or a
    /// seccomp filter): every later lookup walks the tree instead.
    handles: bool,
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
            handles: can_open_handles(),
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
        if self.handles {
            match open_by_id(mount, id) {
                Ok(dir) => {
                    let link =
                        std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())).ok()?;
                    return relative_to(&link, root).map(Rc::from);
                }
                // Gone: the id names no cgroup any more.
                Err(e) if e.raw_os_error() == Some(libc::ESTALE) => return None,
                Err(e) => {
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EPERM | libc::EACCES | libc::ENOSYS | libc::EOPNOTSUPP)
                    ) {
                        self.handles = false;
                    }
                }
            }
        }
        find_by_inode(root, id).map(Rc::from)
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

/// Whether open_by_handle_at can work: CAP_DAC_READ_SEARCH (bit 2) in the effective
/// set. Without it (the systemd unit's service) the syscall is not even tried, so a
/// seccomp filter need not allow it.
fn can_open_handles() -> bool {
    const CAP_DAC_READ_SEARCH: u32 = 2; // linux/capability.h
    std::fs::read_to_string("/proc/self/status").is_ok_and(|st| {
        st.lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
            .is_some_and(|eff| eff & (1 << CAP_DAC_READ_SEARCH) != 0)
    })
}

/// The cgroup whose directory has inode `id` (a cgroup v2 directory's inode number is
/// its cgroup id), found by walking the tree below `root`: needs no privilege, as
/// cgroup directories are world-readable. At most [`CGROUP_WALK_MAX`] directories.
fn find_by_inode(root: &Path, id: u64) -> Option<Vec<u8>> {
    use std::os::unix::fs::{DirEntryExt, MetadataExt};
    if std::fs::metadata(root).ok()?.ino() == id {
        return Some(b"/".to_vec());
    }
    let mut todo = vec![root.to_path_buf()];
    let mut visited = 0;
    while let Some(dir) = todo.pop() {
        visited += 1;
        if visited > CGROUP_WALK_MAX {
            return None;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            // d_ino from getdents: no stat per directory.
            if e.ino() == id {
                return relative_to(&e.path(), root);
            }
            todo.push(e.path());
        }
    }
    None
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
    fn cgroup_cache_is_bounded_and_remembers_misses() {
        use std::os::unix::fs::MetadataExt;
        let mut c = CgroupPaths::new();
        // Ids no cgroup has (ids count up from 1 on a boot).
        let n = CGROUP_CACHE_MAX as u64 + 10;
        for i in 0..n {
            assert_eq!(c.path(u64::MAX - i), None);
        }
        assert!(c.cached() <= CGROUP_CACHE_MAX, "{}", c.cached());
        let before = c.lookups;
        assert_eq!(c.path(u64::MAX - (n - 1)), None);
        assert_eq!(c.lookups, before, "a miss was looked up again");
        // The root cgroup's id is its directory's inode: path "/" (needs cgroup v2
        // and CAP_DAC_READ_SEARCH).
        // SAFETY: geteuid has no preconditions.
        if let (Some(root), 0) = (cgroup2_mount(), unsafe { libc::geteuid() }) {
            let ino = std::fs::metadata(&root).unwrap().ino();
            assert_eq!(
                c.path(ino).as_deref(),
                Some(&b"/"[..]),
                "{}",
                root.display()
            );
        }
    }

    #[test]
    fn walk_finds_what_the_handle_finds() {
        use std::os::unix::fs::MetadataExt;
        let Some(root) = cgroup2_mount() else {
            eprintln!("SKIP: no cgroup v2 mount");
            return;
        };
        // This process's own cgroup: "0::/some/path" in /proc/self/cgroup.
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
        let Some(rel) = own.lines().find_map(|l| l.strip_prefix("0::")) else {
            eprintln!("SKIP: not in a cgroup v2 hierarchy");
            return;
        };
        let dir = root.join(rel.trim_start_matches('/'));
        let Ok(meta) = std::fs::metadata(&dir) else {
            eprintln!("SKIP: {} is not visible here", dir.display());
            return;
        };
        let want = if rel == "/" {
            "/".to_string()
        } else {
            rel.to_string()
        };
        assert_eq!(
            find_by_inode(&root, meta.ino()).as_deref(),
            Some(want.as_bytes())
        );
        assert_eq!(find_by_inode(&root, u64::MAX), None);
        // As root, also a cgroup of our own two levels down.
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let top = root.join(format!("lebpf-walk-{}", std::process::id()));
            let sub = top.join("inner");
            std::fs::create_dir_all(&sub).unwrap();
            let found = find_by_inode(&root, std::fs::metadata(&sub).unwrap().ino());
            let _ = std::fs::remove_dir(&sub);
            let _ = std::fs::remove_dir(&top);
            let want = format!("/lebpf-walk-{}/inner", std::process::id());
            assert_eq!(found.as_deref(), Some(want.as_bytes()));
        }
        // With handles refused (as in the unit's service), lookups still resolve.
        let mut c = CgroupPaths::new();
        c.handles = false;
        assert_eq!(c.path(meta.ino()).as_deref(), Some(want.as_bytes()));
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
