//! Ctrl-C / SIGTERM / SIGHUP handling: the handler only sets a flag; the main loops poll
//! it, return, and the skeleton and its links are dropped (detached) on the way out.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// Set once a termination signal arrived (or the program decided to stop).
#[derive(Clone, Debug, Default)]
pub struct Shutdown(Arc<AtomicBool>);

impl Shutdown {
    /// Installs the handler for SIGINT, SIGTERM and SIGHUP. Call once per process.
    pub fn install() -> Result<Self> {
        let flag = Self::default();
        let inner = flag.0.clone();
        ctrlc::set_handler(move || inner.store(true, Ordering::SeqCst))
            .context("installing the SIGINT/SIGTERM handler")?;
        Ok(flag)
    }

    /// True once a signal arrived or [`Shutdown::request`] was called.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Asks every loop watching this flag to stop (e.g. `--duration` ran out).
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst)
    }

    /// Sleeps for `total`, waking early on shutdown. Returns false if shutdown was
    /// requested before the time was up.
    pub fn sleep(&self, total: Duration) -> bool {
        let end = Instant::now() + total;
        loop {
            if self.requested() {
                return false;
            }
            let now = Instant::now();
            if now >= end {
                return true;
            }
            std::thread::sleep((end - now).min(Duration::from_millis(50)));
        }
    }
}
