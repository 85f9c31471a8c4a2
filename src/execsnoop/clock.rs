//! From the kernel's event time to wall-clock time.
//!
//! Events carry `bpf_ktime_get_ns()`, CLOCK_MONOTONIC. Wall time is that plus the
//! offset CLOCK_REALTIME - CLOCK_MONOTONIC, sampled in user space.

/// Reads one clock in nanoseconds.
pub fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a local timespec.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// Converts event times (CLOCK_MONOTONIC ns) to Unix time and to seconds since start.
#[derive(Debug, Clone)]
pub struct WallClock {
    mono_start_ns: i128,
    realtime_offset_ns: i128,
}

impl WallClock {
    /// Starts now.
    pub fn new() -> Self {
        let mono_start_ns = clock_ns(libc::CLOCK_MONOTONIC);
        WallClock {
            mono_start_ns,
            realtime_offset_ns: clock_ns(libc::CLOCK_REALTIME) - mono_start_ns,
        }
    }

    /// Unix time in ns of a CLOCK_MONOTONIC time.
    pub fn unix_ns(&self, mono_ns: u64) -> i128 {
        i128::from(mono_ns) + self.realtime_offset_ns
    }

    /// The current Unix time in ns.
    pub fn now_unix_ns(&self) -> i128 {
        clock_ns(libc::CLOCK_REALTIME)
    }

    /// Seconds from start to a CLOCK_MONOTONIC time (never negative).
    pub fn since_start(&self, mono_ns: u64) -> f64 {
        ((i128::from(mono_ns) - self.mono_start_ns) as f64 / 1e9).max(0.0)
    }
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}
