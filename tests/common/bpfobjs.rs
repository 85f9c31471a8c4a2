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

    /// Objects in `self` that were not in `before`.
    pub fn added_since(&self, before: &BpfObjects) -> BpfObjects {
        BpfObjects {
            progs: self.progs.difference(&before.progs).copied().collect(),
            maps: self.maps.difference(&before.maps).copied().collect(),
            links: self.links.difference(&before.links).copied().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.progs.is_empty() && self.maps.is_empty() && self.links.is_empty()
    }
}

/// Waits (the kernel frees BPF objects after an RCU grace period) until nothing is left
/// on the machine that was not there in `before`; returns what is still there.
pub fn leftovers_after(before: &BpfObjects, timeout: Duration) -> BpfObjects {
    let end = Instant::now() + timeout;
    loop {
        let added = BpfObjects::now().added_since(before);
        if added.is_empty() || Instant::now() >= end {
            return added;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
