//! Receiving events from BPF programs: a BPF ring buffer (kernel 5.8+) or a perf
//! buffer (PERF_EVENT_ARRAY, every kernel), polled until shutdown.
//!
//! The caller gives a callback per sample (the raw bytes) and one for lost samples; an
//! error from either (a closed stdout, say) stops the loop and is returned. Ring buffer
//! samples are 8-byte aligned, perf buffer samples are not: decode with a copy
//! ([`decode`]) so one decoder serves both.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use libbpf_rs::{
    ErrorKind, MapCore, MapType, PerfBuffer, PerfBufferBuilder, RingBuffer, RingBufferBuilder,
};

use crate::shutdown::Shutdown;

/// How events travel from the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One BPF ring buffer shared by all CPUs (BPF_MAP_TYPE_RINGBUF, 5.8+).
    RingBuffer,
    /// One perf ring per CPU (BPF_MAP_TYPE_PERF_EVENT_ARRAY).
    PerfBuffer,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::RingBuffer => "ring buffer",
            Transport::PerfBuffer => "perf buffer",
        })
    }
}

/// Set to 1 to make [`ring_buffer_supported`] answer no: how the tests exercise the
/// perf-buffer fallback of kernels older than 5.8 on a kernel that has ring buffers.
pub const ASSUME_NO_RINGBUF_ENV: &str = "LEBPF_ASSUME_NO_RINGBUF";

/// True when the kernel can create BPF ring buffers (probed by creating one), unless
/// `LEBPF_ASSUME_NO_RINGBUF=1` says to behave as on a kernel without them.
pub fn ring_buffer_supported() -> bool {
    if std::env::var_os(ASSUME_NO_RINGBUF_ENV).is_some_and(|v| v == "1") {
        return false;
    }
    MapType::RingBuf.is_supported().unwrap_or(false)
}

/// Picks the transport: the perf buffer when asked for, else the ring buffer where
/// the kernel has it. The second value is true when the ring buffer was wanted but
/// the kernel lacks it (the caller says so).
pub fn choose_transport(want_perf: bool, ring_supported: bool) -> (Transport, bool) {
    match (want_perf, ring_supported) {
        (true, _) => (Transport::PerfBuffer, false),
        (false, true) => (Transport::RingBuffer, false),
        (false, false) => (Transport::PerfBuffer, true),
    }
}

/// Copies a sample into a `T` (which must be plain old data, as BPF event structs
/// are). Works for unaligned perf samples; None when the sample is too short.
pub fn decode<T: plain::Plain + Default>(bytes: &[u8]) -> Option<T> {
    let mut v = T::default();
    plain::copy_from_bytes(&mut v, bytes).ok()?;
    Some(v)
}

/// Turns a drop counter the BPF side keeps (a global it increments when
/// `bpf_ringbuf_reserve` fails) into "lost since last time" numbers, the way a perf
/// buffer reports them.
#[derive(Clone, Copy, Debug, Default)]
pub struct DropCounter {
    reported: u64,
}

impl DropCounter {
    /// Given the counter's current value, returns how many drops are new (None if none).
    pub fn newly_lost(&mut self, now: u64) -> Option<u64> {
        if now > self.reported {
            let n = now - self.reported;
            self.reported = now;
            Some(n)
        } else {
            None
        }
    }
}

type SharedErr = Rc<RefCell<Option<anyhow::Error>>>;

enum Inner<'cb> {
    Ring(RingBuffer<'cb>),
    Perf(PerfBuffer<'cb>),
}

/// A ring buffer or perf buffer with its callbacks, ready to poll.
pub struct EventPoller<'cb> {
    inner: Inner<'cb>,
    error: SharedErr,
}

impl<'cb> EventPoller<'cb> {
    /// Polls a BPF_MAP_TYPE_RINGBUF map. A ring buffer has no lost-sample count of
    /// its own: programs that count drops report them through their own variable.
    pub fn ring_buffer<M: MapCore>(
        map: &M,
        mut on_sample: impl FnMut(&[u8]) -> Result<()> + 'cb,
    ) -> Result<Self> {
        let error: SharedErr = Rc::default();
        let slot = error.clone();
        let mut builder = RingBufferBuilder::new();
        builder
            .add(map, move |data: &[u8]| match on_sample(data) {
                Ok(()) => 0,
                Err(e) => {
                    slot.borrow_mut().get_or_insert(e);
                    -1
                }
            })
            .context("setting up the ring buffer")?;
        let rb = builder.build().context("setting up the ring buffer")?;
        Ok(Self {
            inner: Inner::Ring(rb),
            error,
        })
    }

    /// Polls a BPF_MAP_TYPE_PERF_EVENT_ARRAY map with `pages` pages per CPU (a power
    /// of two). `on_lost` gets the number of samples the kernel dropped.
    pub fn perf_buffer<M: MapCore>(
        map: &M,
        pages: usize,
        mut on_sample: impl FnMut(&[u8]) -> Result<()> + 'cb,
        mut on_lost: impl FnMut(u64) -> Result<()> + 'cb,
    ) -> Result<Self> {
        let error: SharedErr = Rc::default();
        let (s1, s2) = (error.clone(), error.clone());
        let pb = PerfBufferBuilder::new(map)
            .pages(pages)
            .sample_cb(move |_cpu, data: &[u8]| {
                // After a failure, drop the rest of this poll's samples.
                if s1.borrow().is_some() {
                    return;
                }
                if let Err(e) = on_sample(data) {
                    *s1.borrow_mut() = Some(e);
                }
            })
            .lost_cb(move |_cpu, count| {
                if s2.borrow().is_some() {
                    return;
                }
                if let Err(e) = on_lost(count) {
                    *s2.borrow_mut() = Some(e);
                }
            })
            .build()
            .context("setting up the perf buffer")?;
        Ok(Self {
            inner: Inner::Perf(pb),
            error,
        })
    }

    /// Which transport this is.
    pub fn transport(&self) -> Transport {
        match self.inner {
            Inner::Ring(_) => Transport::RingBuffer,
            Inner::Perf(_) => Transport::PerfBuffer,
        }
    }

    /// Waits up to `timeout` for samples and handles those ready. Returns the first
    /// callback error.
    pub fn poll_once(&self, timeout: Duration) -> Result<()> {
        let res = match &self.inner {
            Inner::Ring(rb) => rb.poll(timeout),
            Inner::Perf(pb) => pb.poll(timeout),
        };
        if let Some(e) = self.error.borrow_mut().take() {
            return Err(e);
        }
        match res {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(anyhow!("polling the {}: {e}", self.transport())),
        }
    }

    /// Handles every sample already in the buffer without waiting (the last drain
    /// before exit). Callback errors end it early and are dropped: the caller is
    /// shutting down and has its own record of them.
    pub fn drain(&self) {
        let _ = match &self.inner {
            Inner::Ring(rb) => rb.consume().map_err(|e| e.to_string()),
            Inner::Perf(pb) => pb.consume().map_err(|e| e.to_string()),
        };
        self.error.borrow_mut().take();
    }

    /// Polls every `interval` until `stop` is requested; `after_poll` runs after each
    /// poll (for periodic work such as reporting drops counted by the BPF side).
    pub fn run(
        &self,
        stop: &Shutdown,
        interval: Duration,
        mut after_poll: impl FnMut() -> Result<()>,
    ) -> Result<()> {
        while !stop.requested() {
            self.poll_once(interval)?;
            after_poll()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default, Debug, PartialEq)]
    #[repr(C)]
    struct Two {
        a: i32,
        b: u16,
    }
    // SAFETY: plain integers, any bit pattern is valid.
    unsafe impl plain::Plain for Two {}

    #[test]
    fn decode_copies_from_unaligned_bytes() {
        let mut buf = vec![0u8; 1];
        buf.extend_from_slice(&7i32.to_ne_bytes());
        buf.extend_from_slice(&9u16.to_ne_bytes());
        buf.extend_from_slice(&[0, 0]);
        let v: Two = decode(&buf[1..]).unwrap();
        assert_eq!(v, Two { a: 7, b: 9 });
        assert!(decode::<Two>(&buf[1..4]).is_none());
    }

    #[test]
    fn drop_counter_reports_increases_once() {
        let mut d = DropCounter::default();
        assert_eq!(d.newly_lost(0), None);
        assert_eq!(d.newly_lost(3), Some(3));
        assert_eq!(d.newly_lost(3), None);
        assert_eq!(d.newly_lost(5), Some(2));
    }

    #[test]
    fn transport_choice_falls_back_and_says_so() {
        assert_eq!(
            choose_transport(false, true),
            (Transport::RingBuffer, false)
        );
        assert_eq!(
            choose_transport(false, false),
            (Transport::PerfBuffer, true)
        );
        assert_eq!(choose_transport(true, true), (Transport::PerfBuffer, false));
        assert_eq!(Transport::RingBuffer.to_string(), "ring buffer");
    }
}
