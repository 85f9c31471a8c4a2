//! Where lines go and in which form: text or JSON ([`Style`]), stdout with its flush
//! policy ([`Sink`]), and the run's summary ([`Summary`]: one definition that the
//! program prints and the tests and the bench parse).

use std::fmt;
use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::time::{Duration, Instant};

use super::clock::WallClock;
use super::context::{container_id, CgroupPaths, Host};
use super::event::{ExecEvent, Truncation};
use super::format::{self, Columns, Context, Times, JSON_VERSION};

const PROG: &str = "execsnoop";

/// The text form: libbpf-tools' columns.
#[derive(Debug)]
pub struct TextStyle {
    pub cols: Columns,
    /// `HH:MM:SS` of the last second formatted (-T), and that second.
    hms: String,
    hms_sec: Option<i64>,
}

/// The JSON form: one object per line, with the host and cgroup context.
pub struct JsonStyle {
    rfc: String,
    /// --paths: cwd/exe in each exec's object.
    pub paths: bool,
    pub host: Host,
    pub cgroups: CgroupPaths,
}

/// Text or JSON lines.
pub enum Style {
    Text(TextStyle),
    Json(JsonStyle),
}

/// A record in the stream that is not an exec: in JSON, its own line; in text, only
/// the stderr report (the text columns stay as they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// Events the transport dropped since the last record.
    Lost(u64),
    /// Failed execs that could not be tracked (in-flight map full) since the last one.
    Untracked(u64),
}

fn local_hms(unix_sec: i64) -> String {
    let t: libc::time_t = unix_sec as libc::time_t;
    // SAFETY: tm is plain old data; all-zero is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to locals; localtime_r is thread-safe.
    unsafe { libc::localtime_r(&t, &mut tm) };
    format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec)
}

impl Style {
    pub fn text(cols: Columns) -> Self {
        Style::Text(TextStyle {
            cols,
            hms: String::new(),
            hms_sec: None,
        })
    }

    pub fn json(paths: bool) -> Self {
        Style::Json(JsonStyle {
            rfc: String::new(),
            paths,
            host: Host::new(),
            cgroups: CgroupPaths::new(),
        })
    }

    /// Periodic upkeep between polls: the hostname may have changed.
    pub fn tick(&mut self) {
        if let Style::Json(j) = self {
            j.host.refresh();
        }
    }

    /// The header line (text only).
    pub fn header(&self) -> Option<String> {
        match self {
            Style::Text(t) => Some(format::header(t.cols)),
            Style::Json(_) => None,
        }
    }

    /// One event's line (no newline) into `out`.
    pub fn event_line(
        &mut self,
        e: &ExecEvent<'_>,
        args: &[&[u8]],
        t: &Truncation,
        clock: &mut WallClock,
        out: &mut String,
    ) {
        let unix_ns = clock.unix_ns(e.ts_ns);
        match self {
            Style::Json(j) => {
                format::rfc3339_utc(unix_ns, &mut j.rfc);
                let times = Times {
                    rfc3339: &j.rfc,
                    ..Default::default()
                };
                let cgroup = j.cgroups.path(e.cgroup_id);
                let ctx = Context {
                    hostname: &j.host.hostname,
                    boot_id: &j.host.boot_id,
                    cgroup: cgroup.as_deref(),
                    container_id: cgroup.as_deref().and_then(container_id),
                    paths: j.paths,
                };
                format::json_line(e, args, t, &times, &ctx, out);
            }
            Style::Text(s) => {
                if s.cols.time {
                    let sec = unix_ns.div_euclid(1_000_000_000) as i64;
                    if s.hms_sec != Some(sec) {
                        s.hms = local_hms(sec);
                        s.hms_sec = Some(sec);
                    }
                }
                let times = Times {
                    hms: if s.cols.time { &s.hms } else { "" },
                    since_start: clock.since_start(e.ts_ns),
                    rfc3339: "",
                };
                format::text_line(e, args, t, s.cols, &times, out);
            }
        }
    }

    /// A stream record's line (JSON only), stamped with the current time.
    pub fn record_line(&mut self, r: Record, clock: &WallClock) -> Option<String> {
        let Style::Json(j) = self else {
            return None;
        };
        format::rfc3339_utc(clock.now_unix_ns(), &mut j.rfc);
        let (event, count) = match r {
            Record::Lost(n) => ("lost", n),
            Record::Untracked(n) => ("untracked", n),
        };
        Some(format!(
            "{{\"v\":{JSON_VERSION},\"event\":\"{event}\",\"count\":{count},\"time\":\"{}\"}}",
            j.rfc
        ))
    }

    /// The summary as the last JSON line (JSON only).
    pub fn summary_line(&mut self, s: &Summary, clock: &WallClock) -> Option<String> {
        let Style::Json(j) = self else {
            return None;
        };
        format::rfc3339_utc(clock.now_unix_ns(), &mut j.rfc);
        Some(s.to_json(&j.rfc))
    }
}

/// How long lines may wait in the buffer: the first batch after a quiet spell is
/// flushed at once; while events keep coming, at least every `every` (a steady
/// trickle, e.g. one exec every 2 ms, never goes idle).
#[derive(Debug, Clone, Copy)]
pub struct FlushPolicy {
    pub every: Duration,
}

/// Stdout, buffered, with the first write error kept (the transport callbacks cannot
/// return it) and the flush policy applied.
pub struct Sink {
    out: BufWriter<io::Stdout>,
    error: Option<io::Error>,
    policy: FlushPolicy,
    unflushed: bool,
    last_flush: Instant,
}

impl Sink {
    pub fn stdout(policy: FlushPolicy) -> Self {
        Sink {
            out: BufWriter::with_capacity(64 * 1024, io::stdout()),
            error: None,
            policy,
            unflushed: false,
            last_flush: Instant::now(),
        }
    }

    /// Writes one line (a newline is added). False once output is impossible.
    pub fn line(&mut self, line: &str) -> bool {
        if self.error.is_some() {
            return false;
        }
        let r = self
            .out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"));
        match r {
            Ok(()) => {
                self.unflushed = true;
                true
            }
            Err(e) => {
                self.error = Some(e);
                false
            }
        }
    }

    /// Flushes now.
    pub fn flush(&mut self) {
        self.unflushed = false;
        self.last_flush = Instant::now();
        if self.error.is_none() {
            if let Err(e) = self.out.flush() {
                self.error = Some(e);
            }
        }
    }

    /// After a poll: `busy` when it brought events. Flushes when the burst is over,
    /// or when lines have waited `every` during one.
    pub fn after_poll(&mut self, busy: bool) {
        if !self.unflushed {
            return;
        }
        if !busy || self.last_flush.elapsed() >= self.policy.every {
            self.flush();
        }
    }

    /// Lines are waiting for a flush.
    pub fn has_unflushed(&self) -> bool {
        self.unflushed
    }

    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// The write error, if any (a closed pipe is not an error for the caller).
    pub fn into_error(self) -> Option<io::Error> {
        self.error
    }
}

/// What one run saw, as the summary line on stderr says it (and, with --json, the
/// last JSON line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events received from the kernel.
    pub events: u64,
    pub printed: u64,
    /// Dropped by a filter: -n/-l in user space plus -u/-c in the kernel.
    pub filtered: u64,
    /// Dropped because the transport was full.
    pub lost: u64,
    /// Printed with something cut.
    pub truncated: u64,
    /// Failed execs that could not be tracked (in-flight map full).
    pub untracked: u64,
    /// Events without scratch space (should not happen).
    pub no_scratch: u64,
    /// Samples that could not be decoded (a bug).
    pub malformed: u64,
}

/// Suffixes of the optional parts, in the order printed.
const UNTRACKED: &str = " failed execs untracked (in-flight map full)";
const NO_SCRATCH: &str = " events without scratch space";
const MALFORMED: &str = " malformed";

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PROG}: {} events, {} printed, {} filtered, {} lost, {} truncated",
            self.events, self.printed, self.filtered, self.lost, self.truncated
        )?;
        for (n, suffix) in [
            (self.untracked, UNTRACKED),
            (self.no_scratch, NO_SCRATCH),
            (self.malformed, MALFORMED),
        ] {
            if n > 0 {
                write!(f, ", {n}{suffix}")?;
            }
        }
        Ok(())
    }
}

impl Summary {
    /// Parses the stderr line [`Display`](fmt::Display) prints; None for any other
    /// line (a periodic "lost N events" report is not a summary).
    pub fn parse(line: &str) -> Option<Summary> {
        let body = line.trim_end().strip_prefix("execsnoop: ")?;
        let mut s = Summary::default();
        let mut seen = 0u8;
        for part in body.split(", ") {
            let (num, suffix) = part.split_at(part.find(|c: char| !c.is_ascii_digit())?);
            let n: u64 = num.parse().ok()?;
            let (slot, bit) = match suffix {
                " events" => (&mut s.events, 1),
                " printed" => (&mut s.printed, 2),
                " filtered" => (&mut s.filtered, 4),
                " lost" => (&mut s.lost, 8),
                " truncated" => (&mut s.truncated, 16),
                UNTRACKED => (&mut s.untracked, 0),
                NO_SCRATCH => (&mut s.no_scratch, 0),
                MALFORMED => (&mut s.malformed, 0),
                _ => return None,
            };
            *slot = n;
            seen |= bit;
        }
        (seen == 31).then_some(s)
    }

    /// The JSON record: `{"v":1,"event":"summary","time":...,"events":N,...}`.
    pub fn to_json(&self, rfc3339: &str) -> String {
        let mut o = format!("{{\"v\":{JSON_VERSION},\"event\":\"summary\",\"time\":\"{rfc3339}\"");
        for (k, v) in self.fields() {
            let _ = write!(o, ",\"{k}\":{v}");
        }
        o.push('}');
        o
    }

    /// Reads the JSON record back; None unless it is a complete summary record.
    pub fn from_json(v: &serde_json::Value) -> Option<Summary> {
        if v["event"] != "summary" {
            return None;
        }
        let mut s = Summary::default();
        for (k, _) in Summary::default().fields() {
            let n = v[k].as_u64()?;
            *s.field_mut(k)? = n;
        }
        Some(s)
    }

    fn fields(&self) -> [(&'static str, u64); 8] {
        [
            ("events", self.events),
            ("printed", self.printed),
            ("filtered", self.filtered),
            ("lost", self.lost),
            ("truncated", self.truncated),
            ("untracked", self.untracked),
            ("no_scratch", self.no_scratch),
            ("malformed", self.malformed),
        ]
    }

    fn field_mut(&mut self, k: &str) -> Option<&mut u64> {
        Some(match k {
            "events" => &mut self.events,
            "printed" => &mut self.printed,
            "filtered" => &mut self.filtered,
            "lost" => &mut self.lost,
            "truncated" => &mut self.truncated,
            "untracked" => &mut self.untracked,
            "no_scratch" => &mut self.no_scratch,
            "malformed" => &mut self.malformed,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> Summary {
        Summary {
            events: 12,
            printed: 10,
            filtered: 1,
            lost: 3,
            truncated: 2,
            untracked: 4,
            no_scratch: 5,
            malformed: 6,
        }
    }

    #[test]
    fn summary_line_is_the_one_printed_before() {
        let s = Summary {
            events: 5,
            printed: 4,
            filtered: 1,
            ..Default::default()
        };
        assert_eq!(
            s.to_string(),
            "execsnoop: 5 events, 4 printed, 1 filtered, 0 lost, 0 truncated"
        );
        assert_eq!(
            full().to_string(),
            "execsnoop: 12 events, 10 printed, 1 filtered, 3 lost, 2 truncated, \
             4 failed execs untracked (in-flight map full), 5 events without scratch \
             space, 6 malformed"
        );
    }

    #[test]
    fn summary_parses_back_and_rejects_other_lines() {
        for s in [full(), Summary::default()] {
            assert_eq!(Summary::parse(&s.to_string()), Some(s));
            let j: serde_json::Value = serde_json::from_str(&s.to_json("t")).unwrap();
            assert_eq!(j["v"], 1);
            assert_eq!(Summary::from_json(&j), Some(s));
        }
        // The periodic loss report must not count as a summary (bench counted both).
        for other in [
            "execsnoop: lost 12 events (transport full; total 12); a larger --buffer-kib may help",
            "execsnoop: tracing exec() via ring buffer; Ctrl-C to end",
            "execsnoop: 1 events, 1 printed",
            "execsnoop: 1 events, 1 printed, 0 filtered, 0 lost, 0 truncated, 2 bogus",
        ] {
            assert_eq!(Summary::parse(other), None, "{other}");
        }
    }

    #[test]
    fn records_are_json_only() {
        let clock = WallClock::new();
        let mut t = Style::text(Columns::default());
        assert_eq!(t.record_line(Record::Lost(3), &clock), None);
        assert_eq!(t.summary_line(&full(), &clock), None);
        let mut j = Style::json(false);
        assert_eq!(j.header(), None);
        let l = j.record_line(Record::Lost(3), &clock).unwrap();
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(
            (v["v"].as_u64(), v["event"].as_str()),
            (Some(1), Some("lost"))
        );
        assert_eq!(v["count"], 3);
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
        let l = j.record_line(Record::Untracked(2), &clock).unwrap();
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(
            (v["event"].as_str(), v["count"].as_u64()),
            (Some("untracked"), Some(2))
        );
    }
}
