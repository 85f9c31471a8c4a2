//! Receiving events from BPF programs: a BPF ring buffer (kernel 5.8+) or a perf
//! buffer (PERF_EVENT_ARRAY, every kernel). The one home of that logic: which one to
//! use (and the line that says so), polling, putting a perf buffer's per-CPU batches
//! back in time order, and counting what was lost.
//!
//! The caller gives one callback per sample (the raw bytes); an error from it (a closed
//! stdout, say) stops the poll and is returned. Ring buffer samples are 8-byte aligned,
//! perf buffer samples are not: decoders copy (`plain::copy_from_bytes`).
//!
//! hello-buffer builds its buffers in its own `main` (that is the book's lesson) and
//! only asks this module whether the kernel has ring buffers.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use libbpf_rs::{
    ErrorKind, MapCore, MapType, PerfBuffer, PerfBufferBuilder, RingBuffer, RingBufferBuilder,
};

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

/// The transport a run uses, and whether it is a fallback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    pub transport: Transport,
    /// The ring buffer was wanted but the kernel lacks it.
    pub fallback: bool,
}

impl Choice {
    /// The perf buffer when asked for, else the ring buffer where the kernel has it.
    pub fn new(want_perf: bool, ring_supported: bool) -> Self {
        let (transport, fallback) = match (want_perf, ring_supported) {
            (true, _) => (Transport::PerfBuffer, false),
            (false, true) => (Transport::RingBuffer, false),
            (false, false) => (Transport::PerfBuffer, true),
        };
        Choice {
            transport,
            fallback,
        }
    }

    /// [`Choice::new`] with this kernel's answer.
    pub fn probe(want_perf: bool) -> Self {
        Self::new(want_perf, want_perf || ring_buffer_supported())
    }

    pub fn is_perf(&self) -> bool {
        self.transport == Transport::PerfBuffer
    }

    /// What the "via" line names: `ring buffer`, `perf buffer`, or `perf buffer (this
    /// kernel has no ring buffer)`.
    pub fn via(&self) -> String {
        if self.fallback {
            format!("{} (this kernel has no ring buffer)", self.transport)
        } else {
            self.transport.to_string()
        }
    }
}

/// Turns a running drop total into "lost since last time" numbers, for reporting
/// drops as they happen.
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

    /// The total reported so far.
    pub fn total(&self) -> u64 {
        self.reported
    }
}

/// Perf buffer samples are read one CPU after the other: to print them in time order
/// they are kept for the length of one poll and sorted by this key.
pub type OrderKey = fn(&[u8]) -> u64;

type Callback<'cb> = Rc<RefCell<dyn FnMut(&[u8]) -> Result<()> + 'cb>>;
type SharedErr = Rc<RefCell<Option<anyhow::Error>>>;

enum Inner<'cb> {
    Ring(RingBuffer<'cb>),
    Perf {
        pb: PerfBuffer<'cb>,
        batch: Rc<RefCell<Vec<Vec<u8>>>>,
        order: Option<OrderKey>,
    },
}

/// A ring buffer or perf buffer with its callback, ready to poll.
pub struct EventPoller<'cb> {
    inner: Inner<'cb>,
    on_sample: Callback<'cb>,
    error: SharedErr,
    /// Samples the perf buffer reported lost (a ring buffer reports none itself).
    lost: Rc<Cell<u64>>,
}

impl<'cb> EventPoller<'cb> {
    /// Polls a BPF_MAP_TYPE_RINGBUF map. A ring buffer has no lost-sample count of
    /// its own: programs that count drops report them through their own counter.
    pub fn ring_buffer<M: MapCore>(
        map: &M,
        on_sample: impl FnMut(&[u8]) -> Result<()> + 'cb,
    ) -> Result<Self> {
        let on_sample: Callback<'cb> = Rc::new(RefCell::new(on_sample));
        let error: SharedErr = Rc::default();
        let (cb, slot) = (on_sample.clone(), error.clone());
        let mut builder = RingBufferBuilder::new();
        builder
            .add(map, move |data: &[u8]| match (cb.borrow_mut())(data) {
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
            on_sample,
            error,
            lost: Rc::default(),
        })
    }

    /// Polls a BPF_MAP_TYPE_PERF_EVENT_ARRAY map with `pages` pages per CPU (a power
    /// of two). With `order`, the samples of one poll reach `on_sample` sorted by that
    /// key (a stable sort: equal keys stay in arrival order).
    pub fn perf_buffer<M: MapCore>(
        map: &M,
        pages: usize,
        order: Option<OrderKey>,
        on_sample: impl FnMut(&[u8]) -> Result<()> + 'cb,
    ) -> Result<Self> {
        let on_sample: Callback<'cb> = Rc::new(RefCell::new(on_sample));
        let error: SharedErr = Rc::default();
        let lost: Rc<Cell<u64>> = Rc::default();
        let batch: Rc<RefCell<Vec<Vec<u8>>>> = Rc::default();
        let (cb, slot, held, lost_n) = (
            on_sample.clone(),
            error.clone(),
            batch.clone(),
            lost.clone(),
        );
        let pb = PerfBufferBuilder::new(map)
            .pages(pages)
            .sample_cb(move |_cpu, data: &[u8]| {
                if order.is_some() {
                    held.borrow_mut().push(data.to_vec());
                    return;
                }
                // After a failure, drop the rest of this poll's samples.
                if slot.borrow().is_some() {
                    return;
                }
                if let Err(e) = (cb.borrow_mut())(data) {
                    *slot.borrow_mut() = Some(e);
                }
            })
            .lost_cb(move |_cpu, count| lost_n.set(lost_n.get() + count))
            .build()
            .context("setting up the perf buffer")?;
        Ok(Self {
            inner: Inner::Perf { pb, batch, order },
            on_sample,
            error,
            lost,
        })
    }

    /// Which transport this is.
    pub fn transport(&self) -> Transport {
        match self.inner {
            Inner::Ring(_) => Transport::RingBuffer,
            Inner::Perf { .. } => Transport::PerfBuffer,
        }
    }

    /// Samples the perf buffer said it lost so far (always 0 for a ring buffer).
    pub fn transport_lost(&self) -> u64 {
        self.lost.get()
    }

    /// All losses: a BPF-side count of failed outputs (`kernel_count`) and the perf
    /// buffer's own report see the same drops from two ends, so the larger one is it.
    pub fn total_lost(&self, kernel_count: u64) -> u64 {
        kernel_count.max(self.transport_lost())
    }

    /// Hands a perf batch to the callback in key order.
    fn release_batch(&self) {
        let Inner::Perf {
            batch,
            order: Some(key),
            ..
        } = &self.inner
        else {
            return;
        };
        let mut batch = batch.borrow_mut();
        batch.sort_by_key(|d| key(d));
        let mut cb = self.on_sample.borrow_mut();
        for d in batch.drain(..) {
            if self.error.borrow().is_some() {
                continue;
            }
            if let Err(e) = cb(&d) {
                *self.error.borrow_mut() = Some(e);
            }
        }
    }

    /// Waits up to `timeout` for samples and handles those ready. Returns the first
    /// callback error.
    pub fn poll_once(&self, timeout: Duration) -> Result<()> {
        let res = match &self.inner {
            Inner::Ring(rb) => rb.poll(timeout),
            Inner::Perf { pb, .. } => pb.poll(timeout),
        };
        self.release_batch();
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
            Inner::Perf { pb, .. } => pb.consume().map_err(|e| e.to_string()),
        };
        self.release_batch();
        self.error.borrow_mut().take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_counter_reports_increases_once() {
        let mut d = DropCounter::default();
        assert_eq!(d.newly_lost(0), None);
        assert_eq!(d.newly_lost(3), Some(3));
        assert_eq!(d.newly_lost(3), None);
        assert_eq!(d.newly_lost(5), Some(2));
        assert_eq!(d.total(), 5);
    }

    #[test]
    fn transport_choice_falls_back_and_says_so() {
        let c = Choice::new(false, true);
        assert_eq!((c.transport, c.fallback), (Transport::RingBuffer, false));
        assert_eq!(c.via(), "ring buffer");
        let c = Choice::new(false, false);
        assert_eq!((c.transport, c.fallback), (Transport::PerfBuffer, true));
        assert_eq!(c.via(), "perf buffer (this kernel has no ring buffer)");
        let c = Choice::new(true, true);
        assert_eq!((c.transport, c.fallback), (Transport::PerfBuffer, false));
        assert_eq!(c.via(), "perf buffer");
        assert!(c.is_perf());
    }
}
