//! Snapshot of the BPF programs, maps and links loaded on the machine, to prove a
//! program leaves nothing behind when it ends.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Ids of every BPF program, map and link on the machine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BpfObjects {
    pub progs: BTreeSet<u32>,
    pub maps: BTreeSet<u32>,
    pub links: BTreeSet<u32>,
}

fn ids(next: unsafe extern "C" fn(u32, *mut u32) -> i32) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    let mut id = 0u32;
    loop {
        let mut nid = 0u32;
        // SAFETY: valid out pointer; the call only reads ids.
        if unsafe { next(id, &mut nid) } != 0 {
            break;
        }
        out.insert(nid);
        id = nid;
    }
    out
}

impl BpfObjects {
    pub fn now() -> Self {
        Self {
            progs: ids(libbpf_sys::bpf_prog_get_next_id),
            maps: ids(libbpf_sys::bpf_map_get_next_id),
            links: ids(libbpf_sys::bpf_link_get_next_id),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.progs.is_empty() && self.maps.is_empty() && self.links.is_empty()
    }
}

/// The BPF programs, maps and links a process holds open (from /proc/<pid>/fdinfo), so a
/// check is not fooled by other processes loading BPF on the machine meanwhile.
pub fn owned_by(pid: i32) -> BpfObjects {
    let mut o = BpfObjects::default();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return o;
    };
    for entry in dir.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        for line in text.lines() {
            let mut kv = line.splitn(2, ':');
            let (Some(k), Some(v)) = (kv.next(), kv.next()) else {
                continue;
            };
            let Ok(id) = v.trim().parse::<u32>() else {
                continue;
            };
            match k {
                "prog_id" => o.progs.insert(id),
                "map_id" => o.maps.insert(id),
                "link_id" => o.links.insert(id),
                _ => false,
            };
        }
    }
    o
}

/// Waits until none of `owned` exists any more; returns what is still there.
pub fn still_there_after(owned: &BpfObjects, timeout: Duration) -> BpfObjects {
    let end = Instant::now() + timeout;
    loop {
        let now = BpfObjects::now();
        let left = BpfObjects {
            progs: owned.progs.intersection(&now.progs).copied().collect(),
            maps: owned.maps.intersection(&now.maps).copied().collect(),
            links: owned.links.intersection(&now.links).copied().collect(),
        };
        if left.is_empty() || Instant::now() >= end {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
