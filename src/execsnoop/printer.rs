//! From one sample to one line: decode, filter (-n, -l), cut to the limits, format,
//! write, count.

use super::clock::WallClock;
use super::event::{ExecEvent, Limits};
use super::output::{Record, Sink, Style, Summary};

const PROG: &str = "execsnoop";

/// The user-space filters: -n (comm contains) and -l (arguments contain).
#[derive(Debug, Default)]
pub struct Filter {
    pub name: Option<Vec<u8>>,
    pub line: Option<Vec<u8>>,
    /// argv[1..] joined with spaces, for -l (kept between events).
    joined: Vec<u8>,
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

impl Filter {
    pub fn new(name: Option<&str>, line: Option<&str>) -> Self {
        Filter {
            name: name.map(|s| s.as_bytes().to_vec()),
            line: line.map(|s| s.as_bytes().to_vec()),
            joined: Vec::new(),
        }
    }

    /// True when the event passes every filter.
    pub fn keep(&mut self, e: &ExecEvent<'_>) -> bool {
        if let Some(n) = &self.name {
            if !contains(e.comm, n) {
                return false;
            }
        }
        if let Some(l) = &self.line {
            self.joined.clear();
            for (i, a) in e.captured_args().skip(1).enumerate() {
                if i > 0 {
                    self.joined.push(b' ');
                }
                self.joined.extend_from_slice(a);
            }
            if !contains(&self.joined, l) {
                return false;
            }
        }
        true
    }
}

/// Turns samples into lines and counts what happened to them.
pub struct Printer {
    pub filter: Filter,
    pub style: Style,
    pub sink: Sink,
    pub limits: Limits,
    pub clock: WallClock,
    /// The line being built, reused between events.
    line: String,
    /// Counts for the summary (the kernel's counts are added at the end).
    pub counts: Summary,
}

impl Printer {
    pub fn new(filter: Filter, style: Style, sink: Sink, limits: Limits) -> Self {
        Printer {
            filter,
            style,
            sink,
            limits,
            clock: WallClock::new(),
            line: String::with_capacity(512),
            counts: Summary::default(),
        }
    }

    /// Writes the header (text only) and flushes it.
    pub fn header(&mut self) {
        if let Some(h) = self.style.header() {
            self.sink.line(&h);
            self.sink.flush();
        }
    }

    /// Handles one sample; returns false once output is impossible (stdout closed).
    pub fn handle(&mut self, data: &[u8]) -> bool {
        if self.sink.failed() {
            return false;
        }
        let e = match ExecEvent::parse(data) {
            Ok(e) => e,
            Err(err) => {
                self.counts.malformed += 1;
                if self.counts.malformed == 1 {
                    eprintln!("{PROG}: {err} (further ones counted in the summary)");
                }
                return true;
            }
        };
        self.counts.events += 1;
        if !self.filter.keep(&e) {
            self.counts.filtered += 1;
            return true;
        }
        let mut args = Vec::with_capacity(8);
        let t = e.select_args(self.limits, &mut args);
        if t.any() {
            self.counts.truncated += 1;
        }
        let mut line = std::mem::take(&mut self.line);
        self.style
            .event_line(&e, &args, &t, &mut self.clock, &mut line);
        let ok = self.sink.line(&line);
        self.line = line;
        if ok {
            self.counts.printed += 1;
        }
        ok
    }

    /// Periodic upkeep between polls (the hostname may change).
    pub fn tick(&mut self) {
        self.style.tick();
    }

    /// A stream record (JSON only; text mode reports on stderr alone).
    pub fn record(&mut self, r: Record) {
        if let Some(l) = self.style.record_line(r, &self.clock) {
            self.sink.line(&l);
        }
    }

    /// The final summary: the last JSON line (JSON only), flushed.
    pub fn summary(&mut self, s: &Summary) {
        if let Some(l) = self.style.summary_line(s, &self.clock) {
            self.sink.line(&l);
            self.sink.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_filter() {
        assert!(contains(b"a --force b", b"--force"));
        assert!(!contains(b"a --forc", b"--force"));
        assert!(contains(b"anything", b""));
        assert!(!contains(b"", b"x"));
    }
}
