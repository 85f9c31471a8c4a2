//! From the kernel's event time to wall-clock time, without drift.
//!
//! Events carry `bpf_ktime_get_ns()`, CLOCK_MONOTONIC. Wall time is that plus the
//! offset CLOCK_REALTIME - CLOCK_MONOTONIC. That offset changes when the wall clock
//! is stepped (NTP, an admin, a VM restore) or slewed, and across a suspend (the
//! monotonic clock stops, the wall clock does not): taken once at start, every later
//! `time` would carry the error for the rest of the run. So it is re-sampled: whenever
//! an event is more than [`RESAMPLE_NS`] younger than the last sample.
//!
//! The bound: an event's `time` uses an offset sampled at most 100 ms before the event
//! (or after it, for events read late). A step of the wall clock therefore shows in
//! `time` for every event from 100 ms after the step on; events in those 100 ms may
//! carry the old offset (or, read after the next sample, the new one), i.e. be off by
//! the step. A slew (at most 500 ppm under NTP) adds at most 50 us per 100 ms.
//! Sampling costs two vDSO clock reads, at most ten times a second.

/// Re-sample the offset when an event is this much younger than the last sample.
pub const RESAMPLE_NS: i128 = 100_000_000;

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

/// Where the clocks come from: the system's, or a test's.
pub trait Clocks {
    /// CLOCK_MONOTONIC, ns.
    fn mono(&self) -> i128;
    /// CLOCK_REALTIME, ns since the Unix epoch.
    fn real(&self) -> i128;
}

/// The system's clocks.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClocks;

impl Clocks for SystemClocks {
    fn mono(&self) -> i128 {
        clock_ns(libc::CLOCK_MONOTONIC)
    }
    fn real(&self) -> i128 {
        clock_ns(libc::CLOCK_REALTIME)
    }
}

/// Converts event times (CLOCK_MONOTONIC ns) to Unix time and to seconds since start.
#[derive(Debug, Clone)]
pub struct WallClock<C: Clocks = SystemClocks> {
    clocks: C,
    mono_start_ns: i128,
    /// When the offset was last sampled (CLOCK_MONOTONIC), and the offset.
    sampled_at: i128,
    realtime_offset_ns: i128,
}

impl WallClock<SystemClocks> {
    /// Starts now, on the system's clocks.
    pub fn new() -> Self {
        Self::with_clocks(SystemClocks)
    }
}

impl Default for WallClock<SystemClocks> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clocks> WallClock<C> {
    pub fn with_clocks(clocks: C) -> Self {
        let mono_start_ns = clocks.mono();
        let mut c = WallClock {
            clocks,
            mono_start_ns,
            sampled_at: mono_start_ns,
            realtime_offset_ns: 0,
        };
        c.resample();
        c
    }

    /// Takes the offset again. The monotonic clock is read on both sides of the
    /// real-time read and averaged, so a preemption between the reads shows as an
    /// error of half the gap at most.
    pub fn resample(&mut self) {
        let m1 = self.clocks.mono();
        let r = self.clocks.real();
        let m2 = self.clocks.mono();
        let m = m1 + (m2 - m1) / 2;
        self.realtime_offset_ns = r - m;
        self.sampled_at = m;
    }

    /// Unix time in ns of a CLOCK_MONOTONIC time (re-sampling the offset first when
    /// the event is more than RESAMPLE_NS after the last sample).
    pub fn unix_ns(&mut self, mono_ns: u64) -> i128 {
        if i128::from(mono_ns) - self.sampled_at > RESAMPLE_NS {
            self.resample();
        }
        i128::from(mono_ns) + self.realtime_offset_ns
    }

    /// The current Unix time in ns.
    pub fn now_unix_ns(&self) -> i128 {
        self.clocks.real()
    }

    /// Seconds from start to a CLOCK_MONOTONIC time (never negative).
    pub fn since_start(&self, mono_ns: u64) -> f64 {
        ((i128::from(mono_ns) - self.mono_start_ns) as f64 / 1e9).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::rc::Rc;

    /// A monotonic clock the test advances, and a wall clock that is the monotonic
    /// one plus a step the test sets.
    #[derive(Clone, Default)]
    struct Fake {
        mono: Rc<Cell<i128>>,
        step: Rc<Cell<i128>>,
    }

    const EPOCH: i128 = 1_795_603_703_000_000_000;

    impl Clocks for Fake {
        fn mono(&self) -> i128 {
            self.mono.get()
        }
        fn real(&self) -> i128 {
            EPOCH + self.mono.get() + self.step.get()
        }
    }

    const MS: i128 = 1_000_000;

    #[test]
    fn a_clock_step_shows_within_the_bound() {
        let f = Fake::default();
        f.mono.set(1000 * MS);
        let mut c = WallClock::with_clocks(f.clone());
        // Before any step: exact.
        assert_eq!(c.unix_ns((1010 * MS) as u64), EPOCH + 1010 * MS);
        // The wall clock is stepped one hour forward at mono 1020 ms (NTP, an admin).
        f.mono.set(1020 * MS);
        f.step.set(3600 * 1000 * MS);
        // From RESAMPLE_NS after the last sample on, every event is exact again.
        for at in [1101, 1150, 5000, 86_400_000] {
            let at = at * MS;
            f.mono.set(at);
            let wall = c.unix_ns(at as u64);
            assert!(
                (wall - f.real()).abs() <= MS,
                "event at mono {at}: time {wall}, wall clock {}",
                f.real()
            );
        }
    }

    #[test]
    fn a_step_backwards_and_a_suspend_are_followed() {
        let f = Fake::default();
        f.mono.set(5 * MS);
        let mut c = WallClock::with_clocks(f.clone());
        // Stepped 10 s back, then a "suspend": the wall clock runs 2 h on while the
        // monotonic clock stands still.
        f.step.set(-10_000 * MS);
        f.step.set(f.step.get() + 7_200_000 * MS);
        f.mono.set(500 * MS);
        let wall = c.unix_ns((500 * MS) as u64);
        assert_eq!(wall, f.real());
        assert_eq!(c.since_start((505 * MS) as u64), 0.5);
    }

    #[test]
    fn system_clock_time_is_now() {
        let mut c = WallClock::new();
        let now_mono = clock_ns(libc::CLOCK_MONOTONIC) as u64;
        let d = c.unix_ns(now_mono) - clock_ns(libc::CLOCK_REALTIME);
        assert!(d.abs() < 50 * MS, "{d} ns off");
    }
}
