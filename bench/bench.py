#!/usr/bin/env python3
"""Measures execsnoop (ours: default, -x, --paths), libbpf-tools' execsnoop and bpftrace's
execsnoop.bt side by side on two exec workloads, the floor (an empty program on
execsnoop's attach point), where ours spends its time per exec (step by step), plus
hello-tail's per-syscall cost, and writes docs/benchmarks.md.

Run through bench/run.sh (`make bench`), which installs the peers and builds our binaries
first. Standard library only. Progress goes to stderr, one line per step.

Environment knobs (defaults in brackets): BENCH_N [25000] execs per storm of the short
workload, BENCH_LONG_N [BENCH_N] of the long one, BENCH_ROUNDS [3], BENCH_NULL_N [15000]
execs per /dev/null storm, BENCH_PARTS_N [10000] execs per step storm, BENCH_PARTS_ROUNDS
[2], BENCH_TTFE_ROUNDS [5], BENCH_SYSCALL_ROUNDS [5], BENCH_OUT [docs/benchmarks.md].
"""

import datetime
import json
import os
import platform
import pty
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REL = os.path.join(REPO, "target", "release")
EXAMPLES = os.path.join(REL, "examples")
STORM = os.path.join(EXAMPLES, "bench-storm")
GETPPID = os.path.join(EXAMPLES, "bench-getppid")
EMPTY = os.path.join(EXAMPLES, "bench-empty")
TINY = os.path.join(REPO, "target", "bench", "lebpf-storm")
HELLO_TAIL = os.path.join(REL, "hello-tail")

N = int(os.environ.get("BENCH_N", "25000"))
LONG_N = int(os.environ.get("BENCH_LONG_N", str(N)))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
NULL_N = int(os.environ.get("BENCH_NULL_N", "15000"))
PARTS_N = int(os.environ.get("BENCH_PARTS_N", "10000"))
PARTS_ROUNDS = int(os.environ.get("BENCH_PARTS_ROUNDS", "2"))
TTFE_ROUNDS = int(os.environ.get("BENCH_TTFE_ROUNDS", "5"))
SYSCALL_ROUNDS = int(os.environ.get("BENCH_SYSCALL_ROUNDS", "5"))
OUT = os.environ.get("BENCH_OUT", os.path.join(REPO, "docs", "benchmarks.md"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
NONCE = "%x" % (int(time.time() * 1000) & 0xFFFFFFF)

# getppid: printed by hello-tail (not in its default ignore set); getpid: ignored
# (tail call to an empty program).
SYSCALLS = ("getppid", "getpid")
STATS_ITERS = 200_000
NOTES = []  # things that went wrong in this run, printed in the results

OURS = os.path.join(REL, "execsnoop")
EXEC_EMPTY = os.path.join(EXAMPLES, "bench-exec-empty")
PARTS = os.path.join(EXAMPLES, "bench-exec-parts")

# What runs beside the workload. `flag`: the option of ours the row needs (rows whose
# flag this build lacks are reported as "n/a (flag missing)"); `floor`: not a tracer,
# an empty program (no output, no consumer), measured for its kernel-side cost only.
TRACERS = {
    "ours": {"cmd": [OURS]},
    "ours -x": {"cmd": [OURS, "-x"], "flag": "--fails"},
    "ours --paths": {"cmd": [OURS, "--paths"], "flag": "--paths"},
    "libbpf-tools": {"cmd": ["/usr/sbin/execsnoop"]},
    "bpftrace": {"cmd": ["bpftrace", "/usr/sbin/execsnoop.bt"]},
    "empty program": {"cmd": [EXEC_EMPTY], "floor": True},
}
LT = "libbpf-tools"
FLAG_MISSING = "n/a (flag missing)"

# The exec workloads: what follows argv[0] (the static no-libc bench/tiny.c). Short: the
# marker alone. Long: 20 arguments of 100 bytes, the marker first (padded to 100), as a
# compiler or a container runtime passes them: there the argument limits and the copy
# cost show.
FILLER = ["arg%02d-%s" % (i, "x" * 94) for i in range(2, 21)]
WORKLOADS = {
    "short": {"n": N, "args": lambda m: [m],
              "what": "argv[0] and one short marker argument"},
    "long": {"n": LONG_N, "args": lambda m: [(m + "-").ljust(100, "m")] + FILLER,
             "what": "argv[0] and 20 arguments of 100 bytes (the marker first)"},
}

# The steps of src/bpf/bench_exec_parts.bpf.c (enum bench_part), in order.
PART_NAMES = [
    "attach point (return at once)",
    "filters + scratch lookup",
    "header (ids, time, cgroup, ppid, comm, argc)",
    "filename (+ interpreter) copy",
    "argument copy",
    "ring buffer output, no wake-up",
    "ring buffer output as execsnoop (wakes the reader)",
]

T0 = time.monotonic()


def log(msg):
    print("bench [%5.0fs] %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- /proc helpers


def cpu_seconds(pid):
    """utime + stime of the whole process (all threads), from /proc/<pid>/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def bpf_fd_memory(pid):
    """Sums memlock of the BPF maps (deduplicated by map id) and programs that the
    process holds fds of, from /proc/<pid>/fdinfo. Returns (map_bytes, prog_bytes,
    prog_ids, maps) where maps lists (map_type, memlock)."""
    maps, progs = {}, {}
    fddir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fddir):
        try:
            with open(os.path.join(fddir, fd)) as f:
                kv = dict(
                    line.split(":", 1) for line in f.read().splitlines() if ":" in line
                )
        except OSError:
            continue
        kv = {k.strip(): v.strip() for k, v in kv.items()}
        if "map_id" in kv:
            maps[kv["map_id"]] = (int(kv.get("map_type", -1)), int(kv.get("memlock", 0)))
        elif "prog_id" in kv and "memlock" in kv and "link_type" not in kv:
            progs[kv["prog_id"]] = int(kv["memlock"])
        elif "prog_id" in kv:
            progs.setdefault(kv["prog_id"], 0)
    return (
        sum(m for _, m in maps.values()),
        sum(progs.values()),
        sorted(int(p) for p in progs),
        sorted(maps.values(), key=lambda m: -m[1]),
    )


def attached(pid):
    """Tracepoint/raw_tp attachments bpftool sees held by pid."""
    try:
        out = subprocess.run(
            ["bpftool", "perf", "show", "-j"], capture_output=True, text=True, timeout=10
        ).stdout
        return sorted(
            (e.get("tracepoint", ""), e.get("prog_id")) for e in json.loads(out or "[]")
            if e.get("pid") == pid
        )
    except (json.JSONDecodeError, subprocess.TimeoutExpired):
        return []


def prog_stats(ids):
    """run_cnt and run_time_ns summed over the given program ids (needs
    kernel.bpf_stats_enabled=1)."""
    cnt = ns = 0
    for pid_ in ids:
        out = subprocess.run(
            ["bpftool", "prog", "show", "id", str(pid_), "-j"],
            capture_output=True, text=True,
        ).stdout
        try:
            j = json.loads(out)
        except json.JSONDecodeError:
            continue
        cnt += j.get("run_cnt", 0)
        ns += j.get("run_time_ns", 0)
    return cnt, ns


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def busy_others():
    """Processes (other than us) using CPU right now, for the 'was the machine loaded'
    note: the top 5 by CPU over the last ~1 s."""
    def snap():
        d = {}
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    with open("/proc/%s/stat" % p) as f:
                        s = f.read()
                    comm = s[s.index("(") + 1:s.rindex(")")]
                    fl = s.rsplit(")", 1)[1].split()
                    d[int(p)] = (comm, int(fl[11]) + int(fl[12]))
                except (OSError, ValueError):
                    pass
        return d
    a = snap()
    time.sleep(1.0)
    b = snap()
    use = {}
    for p, (comm, t) in b.items():
        if p in a and p != os.getpid():
            use[comm] = use.get(comm, 0) + (t - a[p][1]) / CLK_TCK
    top = sorted(use.items(), key=lambda x: -x[1])[:5]
    return ", ".join("%s %.0f%%" % (c, 100 * u) for c, u in top if u > 0.02) or "none"


# ---------------------------------------------------------------- process control


class Tracer:
    """A tracer process with its stdout going to a file, /dev/null or a pty."""

    def __init__(self, name, stdout, workdir, cmd=None):
        self.name = name
        self.err_path = os.path.join(workdir, "%s.%s.stderr" % (
            re.sub(r"[^\w.-]", "_", name), time.monotonic_ns()))
        self.err = open(self.err_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            cmd or TRACERS[name]["cmd"], stdout=stdout, stderr=self.err,
            stdin=subprocess.DEVNULL, cwd=workdir,
        )
        self.pid = self.proc.pid
        self.rusage = None
        self.rc = None

    def wait_attached(self, timeout=60.0):
        """Waits until bpftool shows the tracer's attachments, and they stopped
        changing for 0.3 s (tools attach their programs one after another)."""
        end = time.monotonic() + timeout
        last, since = None, time.monotonic()
        while time.monotonic() < end:
            if not self.alive():
                raise RuntimeError("%s exited (%s) before attaching: %s" % (
                    self.name, self.proc.returncode, self.stderr_text()[-500:]))
            cur = attached(self.pid)
            if cur != last:
                last, since = cur, time.monotonic()
            elif cur and time.monotonic() - since >= 0.3:
                return cur
            time.sleep(0.05)
        raise RuntimeError("%s did not attach within %.0f s" % (self.name, timeout))

    def wait_idle(self, path=None, quiet=0.6, timeout=120.0):
        """Waits until the tracer has used no CPU (and its output file has not grown)
        for `quiet` seconds: it has drained what the kernel buffered."""
        end = time.monotonic() + timeout
        last = (cpu_seconds(self.pid), os.path.getsize(path) if path else 0)
        since = time.monotonic()
        while time.monotonic() < end:
            time.sleep(0.1)
            cur = (cpu_seconds(self.pid), os.path.getsize(path) if path else 0)
            if cur != last:
                last, since = cur, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return True
        return False

    def alive(self):
        """True while running; reaps it (keeping its rusage) once it has exited."""
        if self.rc is not None:
            return False
        pid, status, ru = os.wait4(self.pid, os.WNOHANG)
        if pid == self.pid:
            self.rusage = ru
            self.rc = os.waitstatus_to_exitcode(status)
            self.proc.returncode = self.rc
            return False
        return True

    def stop(self, timeout=15.0):
        """SIGINT, then wait (with rusage); SIGKILL only if it ignores SIGINT."""
        if self.alive():
            os.kill(self.pid, signal.SIGINT)
        end = time.monotonic() + timeout
        while self.alive():
            if time.monotonic() > end:
                log("%s ignored SIGINT for %.0f s: SIGKILL" % (self.name, timeout))
                os.kill(self.pid, signal.SIGKILL)
                end = time.monotonic() + 5
            time.sleep(0.02)
        if not self.err.closed:
            self.err.close()
        return self.rc

    def cpu_total(self):
        return self.rusage.ru_utime + self.rusage.ru_stime

    def stderr_text(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


def ticker(marker, interval_ms=2):
    return subprocess.Popen(
        [STORM, "--interval-ms", str(interval_ms), "--", TINY, marker],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )


def stop_ticker(t):
    t.send_signal(signal.SIGINT)
    out, _ = t.communicate(timeout=10)
    return json.loads(out or "{}")


def storm(count, marker, workload="short"):
    r = subprocess.run(
        [STORM, "--workers", "2", "--count", str(count), "--", TINY]
        + WORKLOADS[workload]["args"](marker),
        capture_output=True, text=True, check=True,
    )
    return json.loads(r.stdout)


def count_in_file(path, marker):
    """Lines reporting an exec with the marker argument, less the spawner's own exec
    (its command line holds the marker too)."""
    m = marker.encode()
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if m in line and b"bench-storm" not in line:
                n += 1
    return n


# Ours: the run summary, one definition in the program (src/execsnoop), printed last on
# stderr; a JSON record {"v":1,"event":"summary",...} where the build emits one. The
# periodic "lost N events (...; total T)" lines are progress reports of the same losses
# and are NOT added (adding them counted 24 for 12 real losses).
OURS_SUMMARY = re.compile(
    r"^execsnoop: (?P<events>\d+) events, (?P<printed>\d+) printed, "
    r"(?P<filtered>\d+) filtered, (?P<lost>\d+) lost", re.M)
# Peers: one line per loss report, each a distinct batch of lost samples.
# libbpf-tools: "Lost N events on CPU #c!"; bpftrace: "Lost N events".
PEER_LOST = re.compile(r"\blost (\d+) events\b", re.I)


def ours_summary(*texts):
    """The run summary of ours from its stderr (or a JSON stream): a dict with at least
    'lost', or None when there is none (it crashed, or the format changed: reported)."""
    for text in texts:
        for line in reversed(text.splitlines()):
            if '"summary"' in line and line.lstrip().startswith("{"):
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if rec.get("event") == "summary":
                    return rec
    for text in texts:
        found = list(OURS_SUMMARY.finditer(text))
        if found:
            return {k: int(v) for k, v in found[-1].groupdict().items()}
    return None


def lost_count(name, *texts):
    """Events the tracer says it lost, each loss counted once."""
    if name.startswith("ours"):
        summ = ours_summary(*texts)
        if summ is None:
            NOTES.append("%s printed no run summary: its losses are unknown" % name)
            return None
        return int(summ.get("lost", 0))
    return sum(int(m.group(1)) for t in texts for m in PEER_LOST.finditer(t))


# ---------------------------------------------------------------- figures


_HELP = {}


def unavailable(name):
    """Why the row cannot run in this build ("n/a (flag missing)", "not built"...), or
    None when it can."""
    cfg = TRACERS[name]
    exe = cfg["cmd"][0]
    if not (os.access(exe, os.X_OK) or shutil.which(exe)):
        return "not built/installed (%s)" % exe
    flag = cfg.get("flag")
    if flag:
        if exe not in _HELP:
            _HELP[exe] = subprocess.run([exe, "--help"], capture_output=True,
                                        text=True).stdout
        if not re.search(r"(^|[\s,])%s\b" % re.escape(flag), _HELP[exe]):
            return FLAG_MISSING
    return None


def run_storm(name, count, to_file, workdir, rnd, workload="short", cmd=None):
    """One storm with tracer `name` (None: no tracer; `cmd` overrides the command).
    Returns a result dict."""
    marker = "storm-%s-%s-%s-%d-%s" % (NONCE, re.sub(r"\W", "", name or "none"),
                                       workload, rnd, "f" if to_file else "n")
    res = {"tracer": name or "none", "workload": workload, "round": rnd, "file": to_file}
    tr = None
    out_path = None
    if name:
        if to_file:
            out_path = os.path.join(workdir, "out.%d" % rnd)
            out = open(out_path, "wb")
        else:
            out = open(os.devnull, "wb")
        tr = Tracer(name, out, workdir, cmd)
        out.close()
        tr.wait_attached()
        time.sleep(0.3)
        res["cpu_start"] = cpu_seconds(tr.pid)
        stats0 = prog_stats(bpf_fd_memory(tr.pid)[2])
    s = storm(count, marker, workload)
    res.update(execs=s["execs"], failed=s["failed"], seconds=s["seconds"], rate=s["per_second"],
               work_us=s["cpu_seconds"] / max(s["execs"], 1) * 1e6)
    if tr:
        res["drained"] = tr.wait_idle(out_path)
        res["hwm_kb"] = vm_hwm_kb(tr.pid)
        mapb, progb, ids, maps = bpf_fd_memory(tr.pid)
        res.update(map_bytes=mapb, prog_bytes=progb, maps=maps)
        stats1 = prog_stats(ids)
        res["bpf_runs"] = stats1[0] - stats0[0]
        res["bpf_ns"] = stats1[1] - stats0[1]
        res["cpu_idle_end"] = cpu_seconds(tr.pid)
        res["rc"] = tr.stop()
        res["cpu_total"] = tr.cpu_total()
        # Consumer cost: CPU used from just before the storm to exit (drain + exit).
        res["cpu"] = res["cpu_total"] - res["cpu_start"]
        err = tr.stderr_text()
        res["stderr_tail"] = err[-300:]
        tail = ""
        if to_file:
            res["reported"] = count_in_file(out_path, marker)
            with open(out_path, "rb") as f:
                f.seek(max(0, os.path.getsize(out_path) - 4096))
                tail = f.read().decode("utf-8", "replace")
            os.unlink(out_path)
        if not cmd:
            res["lost"] = lost_count(name, err, tail)
    return res


def run_ttfe(name, workdir, rnd):
    """Time from starting the tracer to the first marker exec it prints, stdout on a pty
    (so every tool line-buffers as on a terminal). A marker exec runs every 2 ms."""
    marker = "ttfe-%s-%s-%d" % (NONCE, name, rnd)
    tick = ticker(marker)
    time.sleep(0.2)
    master, slave = pty.openpty()
    t_start = time.monotonic()
    tr = Tracer(name, slave, workdir)
    os.close(slave)
    buf = b""
    first = None
    deadline = t_start + 30
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            buf = (buf + chunk)[-8192:]
            if marker.encode() in buf:
                first = time.monotonic() - t_start
                break
        elif not tr.alive():
            break
    stop_ticker(tick)
    # Keep draining the pty while the tracer exits, so it never blocks on a full one.
    if tr.alive():
        os.kill(tr.pid, signal.SIGINT)
    end = time.monotonic() + 15
    while tr.alive() and time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                os.read(master, 65536)
            except OSError:
                break
    rc = tr.stop()
    os.close(master)
    return {"tracer": name, "round": rnd, "ttfe": first, "rc": rc}


class TracePipeBusy(Exception):
    """hello-tail could not open trace_pipe: another process holds it."""


def trace_pipe_holders():
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % p):
                if os.readlink("/proc/%s/fd/%s" % (p, fd)).endswith("/trace_pipe"):
                    with open("/proc/%s/cmdline" % p, "rb") as f:
                        cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
                    out.append("pid %s `%s`" % (p, cmd.strip()))
                    break
        except OSError:
            continue
    return out


def run_getppid(mode, workdir, rnd, iters=1_000_000, syscall="getppid"):
    """ns per getppid() (or getpid()) with nothing attached, bench-empty, or
    hello-tail."""
    helper = None
    if mode != "none":
        cmd = [EMPTY] if mode == "empty" else [HELLO_TAIL]
        err_path = os.path.join(workdir, "%s.stderr" % mode)
        give_up = time.monotonic() + 30
        while True:
            with open(err_path, "wb") as err:
                helper = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
            end = time.monotonic() + 30
            while not attached(helper.pid) and helper.poll() is None:
                if time.monotonic() > end:
                    helper.kill()
                    helper.wait()
                    raise RuntimeError("%s did not attach" % mode)
                time.sleep(0.05)
            if helper.poll() is None:
                break
            with open(err_path) as f:
                msg = f.read().strip()
            # trace_pipe has one reader at a time: another hello-tail, hello or a test
            # may hold it. Wait for it rather than fail the whole run.
            if "busy" in msg.lower() and time.monotonic() < give_up:
                log("  %s: %s; retrying" % (mode, msg))
                time.sleep(3)
                continue
            if "busy" in msg.lower():
                raise TracePipeBusy(msg)
            raise RuntimeError("%s exited: %s" % (mode, msg))
        time.sleep(0.3)
        cpu0 = cpu_seconds(helper.pid)
        ids = bpf_fd_memory(helper.pid)[2]
        st0 = prog_stats(ids)
    t0 = time.monotonic()
    # SCHED_FIFO for the loop: other work on the machine (compiles) would otherwise
    # preempt it and swamp differences of tens of nanoseconds. A few seconds at most.
    rt = ["chrt", "-f", "10"] if shutil.which("chrt") else []
    r = subprocess.run(rt + [GETPPID, "--iters", str(iters), "--rounds", "5",
                             "--syscall", syscall],
                       capture_output=True, text=True, check=True)
    wall = time.monotonic() - t0
    # The fastest of the 5 inner rounds: the least disturbed by other work.
    ns = min(json.loads(r.stdout)["ns_per_call"])
    res = {"mode": mode, "syscall": syscall, "round": rnd, "ns": ns}
    if helper:
        st1 = prog_stats(ids)
        res["bpf_runs"] = st1[0] - st0[0]
        res["bpf_ns"] = st1[1] - st0[1]
        res["helper_cpu_share"] = (cpu_seconds(helper.pid) - cpu0) / wall
        helper.send_signal(signal.SIGINT)
        try:
            res["rc"] = helper.wait(timeout=15)
        except subprocess.TimeoutExpired:
            helper.kill()
            res["rc"] = helper.wait()
    return res


# ---------------------------------------------------------------- report


def fmt(x, spec="%.2f", none="—"):
    return none if x is None else spec % x


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem": "%.1f GiB" % (mem_kb / 1048576),
        "kernel": platform.release(),
    }


def versions():
    v = {}
    for pkg in ("libbpf-tools", "bpftrace"):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                           capture_output=True, text=True)
        v[pkg] = r.stdout.strip() or "?"
    r = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    v["ours"] = r.stdout.strip() or "?"
    return v


def main():
    if os.geteuid() != 0:
        sys.exit("bench: needs root (loads BPF programs)")
    for exe in (STORM, GETPPID, EMPTY, TINY):
        if not os.access(exe, os.X_OK):
            sys.exit("bench: %s missing: run bench/run.sh (make bench)" % exe)
    missing = {n: unavailable(n) for n in TRACERS}
    missing = {n: why for n, why in missing.items() if why}
    names = [n for n in TRACERS if n not in missing]
    for n, why in missing.items():
        log("%s: %s, skipped" % (n, why))
    parts_ok = os.access(PARTS, os.X_OK)
    have_tail = os.access(HELLO_TAIL, os.X_OK)
    if not have_tail:
        log("hello-tail not built: its figure is skipped")

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_start = loadavg()
    log("machine load (1/5/15 min) %s; busy: %s" % (load_start, busy_others()))
    busy_start = busy_others()

    stats_path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(stats_path) as f:
        stats_before = f.read().strip()

    workdir = tempfile.mkdtemp(prefix="lebpf-bench-")
    storms, nulls, parts, ttfes, pps = [], [], [], [], []
    try:
        with open(stats_path, "w") as f:
            f.write("1")
        # Figures 1, 2 (file), 4, 5 and the targets: storms with output to a file, on
        # each workload. The order rotates each round so no tool always runs first (or
        # right after the same neighbour).
        order = [None] + names
        for wl in WORKLOADS:
            for rnd in range(ROUNDS):
                rot = order[rnd % len(order):] + order[:rnd % len(order)]
                for name in rot:
                    log("storm round %d/%d, %s workload: %s, %d execs, output to a file" % (
                        rnd + 1, ROUNDS, wl, name or "no tracer", WORKLOADS[wl]["n"]))
                    r = run_storm(name, WORKLOADS[wl]["n"], True, workdir, rnd, wl)
                    storms.append(r)
                    log("  %.0f execs/s, %.0f us workload CPU/exec%s" % (
                        r["rate"], r["work_us"], "" if not name else
                        ", BPF %.2f us/exec" % (r["bpf_ns"] / max(r["execs"], 1) / 1e3)
                        + ("" if "reported" not in r else
                           ", made %d / printed %d / lost %s, %.2f CPU-s" % (
                               r["execs"], r["reported"], r["lost"], r["cpu"]))))
        # Figure 2 (/dev/null), short workload, tracers only.
        tracers = [n for n in names if not TRACERS[n].get("floor")]
        for rnd in range(ROUNDS):
            rot = tracers[rnd % len(tracers):] + tracers[:rnd % len(tracers)] if tracers else []
            for name in rot:
                log("storm round %d/%d: %s, %d execs, output to /dev/null" % (
                    rnd + 1, ROUNDS, name, NULL_N))
                r = run_storm(name, NULL_N, False, workdir, rnd)
                nulls.append(r)
                log("  %.0f execs/s, %.2f CPU-s" % (r["rate"], r["cpu"]))
        # Where the time goes: execsnoop's exec program cut after each step.
        if parts_ok:
            steps = list(range(len(PART_NAMES)))
            for wl in WORKLOADS:
                for rnd in range(PARTS_ROUNDS):
                    rot = steps[rnd % len(steps):] + steps[:rnd % len(steps)]
                    for k in rot:
                        log("step storm %d/%d, %s workload: up to step %d, %d execs" % (
                            rnd + 1, PARTS_ROUNDS, wl, k, PARTS_N))
                        r = run_storm("step %d" % k, PARTS_N, False, workdir, rnd, wl,
                                      cmd=[PARTS, "--upto", str(k)])
                        r["step"] = k
                        parts.append(r)
                        log("  %.0f ns/run" % (r["bpf_ns"] / max(r["bpf_runs"], 1)))
        with open(stats_path, "w") as f:
            f.write(stats_before)
        # Figure 3: the tools as a user starts them.
        firsts = [n for n in ("ours", LT, "bpftrace") if n in names]
        for rnd in range(TTFE_ROUNDS):
            rot = firsts[rnd % len(firsts):] + firsts[:rnd % len(firsts)] if firsts else []
            for name in rot:
                log("first event round %d/%d: %s" % (rnd + 1, TTFE_ROUNDS, name))
                r = run_ttfe(name, workdir, rnd)
                ttfes.append(r)
                log("  %s" % ("no marker seen" if r["ttfe"] is None
                               else "%.0f ms" % (1000 * r["ttfe"])))
        # Figure 6 (bpf_stats off: it adds its own cost to every run). One extra pass
        # with stats on for the kernel-side run time of each program.
        modes = ["none", "empty"] + (["hello-tail"] if have_tail else [])
        for rnd in range(SYSCALL_ROUNDS):
            rot = modes[rnd % len(modes):] + modes[:rnd % len(modes)]
            for mode in rot:
                for sc in SYSCALLS:
                    if mode not in modes:
                        break
                    log("syscall round %d/%d: %s() with %s" % (rnd + 1, SYSCALL_ROUNDS, sc,
                                                               mode))
                    # hello-tail prints a line per getppid: ~1 us a call, fewer.
                    iters = 100_000 if (mode, sc) == ("hello-tail", "getppid") else 500_000
                    try:
                        r = run_getppid(mode, workdir, rnd, iters=iters, syscall=sc)
                    except TracePipeBusy as e:
                        holders = trace_pipe_holders()
                        NOTES.append("hello-tail could not run: %s (held by %s)." % (
                            e, ", ".join(holders) or "?"))
                        log("  skipping hello-tail: %s" % NOTES[-1])
                        modes.remove(mode)
                        break
                    pps.append(r)
                    log("  %.1f ns/call" % r["ns"])
        with open(stats_path, "w") as f:
            f.write("1")
        for mode in modes[1:]:
            for sc in SYSCALLS:
                log("%s() with %s, bpf_stats on" % (sc, mode))
                r = run_getppid(mode, workdir, -1, iters=STATS_ITERS, syscall=sc)
                r["stats_pass"] = True
                pps.append(r)
    finally:
        with open(stats_path, "w") as f:
            f.write(stats_before)
        shutil.rmtree(workdir, ignore_errors=True)

    load_end = loadavg()
    report(date, names, missing, have_tail, storms, nulls, parts, ttfes, pps,
           load_start, load_end, busy_start)
    log("wrote %s" % os.path.relpath(OUT, REPO))


def per_exec(r, key, scale=1.0):
    return r[key] / r["execs"] * scale if r.get("execs") and r.get(key) is not None else None


def report(date, names, missing, have_tail, storms, nulls, parts, ttfes, pps,
           load_start, load_end, busy_start):
    m = machine()
    v = versions()
    raw = {"storms": storms, "null": nulls, "steps": parts, "ttfe": ttfes, "getppid": pps}
    wls = list(WORKLOADS)
    tracers = [n for n in names if not TRACERS[n].get("floor")]
    rows_all = list(TRACERS)  # every row, measured or not (then: why not)

    def rows(src, name, wl="short"):
        return [r for r in src if r["tracer"] == name and r.get("workload", "short") == wl]

    def med(src, name, wl, f):
        return median([f(r) for r in rows(src, name, wl)])

    def bpf_us(name, wl):
        return med(storms, name, wl, lambda r: per_exec(r, "bpf_ns", 1e-3))

    def cpu10k(name, wl, src=None):
        return med(src or storms, name, wl, lambda r: per_exec(r, "cpu", 1e4))

    def work(name, wl):
        return med(storms, name, wl, lambda r: r["work_us"])

    def na(name):
        return missing.get(name, "—")

    L = []
    w = L.append
    w("# Benchmarks: execsnoop and hello-tail against the peers")
    w("")
    w("Generated by `make bench` (bench/run.sh, bench/bench.py) on %s. Every figure is the "
      "median of the rounds; all tools ran in the same run, alternating (the order "
      "rotates each round)." % date)
    w("")
    w("Reproduce: `make bench` (as root; about 10 minutes of measuring after the release "
      "build). Knobs: `BENCH_N`, `BENCH_LONG_N`, `BENCH_ROUNDS`, `BENCH_NULL_N`, "
      "`BENCH_PARTS_N`, `BENCH_PARTS_ROUNDS`, `BENCH_TTFE_ROUNDS`, `BENCH_SYSCALL_ROUNDS`.")
    w("")
    w("## Machine")
    w("")
    w("- %s CPUs (`nproc`), %s, %s memory, kernel %s" % (m["nproc"], m["cpu"], m["mem"],
                                                        m["kernel"]))
    w("- ours: git %s (release build); libbpf-tools %s (`/usr/sbin/execsnoop`); "
      "bpftrace %s (`/usr/sbin/execsnoop.bt`)" % (v["ours"], v["libbpf-tools"], v["bpftrace"]))
    w("- load average at start %s, at end %s; busy at start: %s. %s" % (
        load_start, load_end, busy_start,
        "**The machine was loaded by other work during this run: absolute figures are "
        "noisy; the ratios between tools, measured alternately, are the figures to read.**"
        if float(load_start.split()[0]) > 0.7 else "The machine was otherwise idle."))
    for n, why in missing.items():
        w("- %s: not measured, %s" % (n, why))
    for note in NOTES:
        w("- %s" % note)
    w("")
    w("Workloads (`bench/tiny.c`, a static no-libc program that exits at once, exec'd "
      "by `examples/bench-storm.rs` from 2 parallel spawner threads, posix_spawn + "
      "waitpid, as fast as they go): " + "; ".join(
          "**%s**, %s, %d execs a storm" % (wl, WORKLOADS[wl]["what"], WORKLOADS[wl]["n"])
          for wl in wls) + ". %d rounds of each." % ROUNDS)
    w("")

    # Targets.
    w("## Targets")
    w("")
    w("Each target is a ratio of two figures of this run (same machine, same minutes), "
      "on both workloads. BPF time per exec: the tracer's programs' `run_time_ns` over the "
      "storm (bpf_stats) / execs made. Tracer CPU: figure 2 (output to a file). Workload "
      "CPU: figure 5.")
    w("")
    w("| target | workload | measured | ratio | limit | verdict |")
    w("|---|---|---|---|---|---|")

    def verdict(x, limit):
        return "—" if x is None else ("**PASS**" if x <= limit else "**MISS**")

    for wl in wls:
        a, b = bpf_us("ours -x", wl), bpf_us(LT, wl)
        r = ratio(a, b)
        w("| BPF time per exec, `ours -x` vs libbpf-tools | %s | %s vs %s | %s | <= 0.50x "
          "| %s |" % (wl, fmt(a, "%.2f us", na("ours -x")), fmt(b, "%.2f us", na(LT)),
                      fmt(r, "%.2fx"), verdict(r, 0.5)))
    for wl in wls:
        a, b = cpu10k("ours -x", wl), cpu10k(LT, wl)
        r = ratio(a, b)
        w("| tracer CPU per 10,000 events, `ours -x` vs libbpf-tools | %s | %s vs %s | %s "
          "| <= 0.25x | %s |" % (wl, fmt(a, "%.3f s", na("ours -x")), fmt(b, "%.3f s", na(LT)),
                                 fmt(r, "%.2fx"), verdict(r, 0.25)))
    for wl in wls:
        e = bpf_us("empty program", wl)
        lim = None if e is None else max(1.0, 5 * e)
        for n in ("ours", "ours --paths"):
            a = bpf_us(n, wl)
            r = ratio(a, lim)
            w("| BPF time per exec, `%s` vs max(1 us, 5x the empty program's %s) | %s | %s "
              "vs %s | %s | <= 1.00x | %s |" % (
                  n, fmt(e, "%.3f us", na("empty program")), wl, fmt(a, "%.2f us", na(n)),
                  fmt(lim, "%.2f us"), fmt(r, "%.2fx"),
                  verdict(r, 1.0) if n == "ours" else "(reported, no target)"))
    for wl in wls:
        base = work("none", wl)
        for n in ("ours", "ours --paths"):
            a = work(n, wl)
            r = ratio(a, base)
            w("| workload CPU per exec, `%s` attached vs none | %s | %s vs %s | %s | <= 1.02x "
              "| %s |" % (n, wl, fmt(a, "%.1f us", na(n)), fmt(base, "%.1f us"),
                          fmt(r, "%.3fx"),
                          verdict(r, 1.02) if n == "ours" else "(reported, no target)"))
    w("")

    # Figure 1.
    w("## 1. Completeness under an exec storm")
    w("")
    w("Exact counts per round, as made / printed / lost: **made** is the execs the storm "
      "completed (exit status 0), **printed** the tracer's output lines holding that "
      "storm's unique marker argument (output to a file), **lost** what the tracer itself "
      "reported lost (ours: its run summary, counted once; the peers: the sum of their "
      "loss messages).")
    w("")
    w("| tracer | workload | made / printed / lost, each round | printed of made, all rounds |")
    w("|---|---|---|---|")
    for n in rows_all:
        if TRACERS[n].get("floor"):
            continue
        for wl in wls:
            rs = rows(storms, n, wl)
            if not rs:
                w("| %s | %s | %s | |" % (n, wl, na(n)))
                continue
            made = sum(r["execs"] for r in rs)
            printed = sum(r.get("reported", 0) for r in rs)
            w("| %s | %s | %s | %d of %d%s |" % (
                n, wl, "; ".join("%d / %d / %s" % (r["execs"], r.get("reported", 0),
                                                   fmt(r.get("lost"), "%d", "?"))
                                 for r in rs),
                printed, made, "" if printed == made else " (**%d missing**)" % (made - printed)))
    w("")

    # Figure 2.
    w("## 2. Consumer cost (CPU of the tracer process)")
    w("")
    w("User + system CPU seconds of the tracer process per 10,000 storm execs: from just "
      "before the storm until it has drained and exited on SIGINT (`wait4` rusage minus "
      "`/proc/<pid>/stat` before the storm), so start-up (bpftrace's compile) is left "
      "out. File: the figure-1 storms; /dev/null: separate storms of %d execs (short "
      "workload)." % NULL_N)
    w("")
    w("| tracer | short, to a file | long, to a file | short, to /dev/null | "
      "vs libbpf-tools (short / long / null) |")
    w("|---|---|---|---|---|")
    for n in rows_all:
        if TRACERS[n].get("floor"):
            continue
        if n in missing:
            w("| %s | %s | | | |" % (n, missing[n]))
            continue
        fs, fl, d = cpu10k(n, "short"), cpu10k(n, "long"), cpu10k(n, "short", nulls)
        w("| %s | %s | %s | %s | %s / %s / %s |" % (
            n, fmt(fs, "%.3f s"), fmt(fl, "%.3f s"), fmt(d, "%.3f s"),
            fmt(ratio(fs, cpu10k(LT, "short")), "%.2fx"),
            fmt(ratio(fl, cpu10k(LT, "long")), "%.2fx"),
            fmt(ratio(d, cpu10k(LT, "short", nulls)), "%.2fx")))
    w("")
    w("Kernel side: the programs' run time (`kernel.bpf_stats_enabled=1` during the "
      "storms, `run_time_ns` / `run_cnt` from `bpftool prog show`, summed over the "
      "tracer's programs). It is paid by the exec'ing processes, not the tracer, and "
      "shows in figure 5. Runs per exec counts every exec on the machine during the "
      "storm; `-x` and libbpf-tools run programs at syscall entry and exit too.")
    w("")
    w("| tracer | workload | BPF ns per program run | program runs per storm exec | "
      "BPF us per storm exec |")
    w("|---|---|---|---|---|")
    for n in rows_all:
        for wl in wls:
            if n in missing:
                w("| %s | %s | %s | | |" % (n, wl, missing[n]))
                continue
            rs = rows(storms, n, wl)
            w("| %s | %s | %s | %s | %s |" % (
                n, wl, fmt(median([r["bpf_ns"] / r["bpf_runs"] for r in rs if r["bpf_runs"]]),
                           "%.0f"),
                fmt(median([per_exec(r, "bpf_runs") for r in rs]), "%.2f"),
                fmt(bpf_us(n, wl), "%.2f")))
    w("")

    # Where the time goes.
    w("## 2b. Where ours spends its time per exec")
    w("")
    w("`src/bpf/bench_exec_parts.bpf.c` compiles execsnoop's kernel side whole and adds "
      "one program on raw_tp/sched_process_exec that runs the default mode's steps in "
      "order and stops after step N (a read-only constant: the verifier drops the rest). "
      "`examples/bench-exec-parts.rs` loads it alone and drains the ring buffer as "
      "execsnoop does; one storm of %d execs per step and workload, %d rounds, bpf_stats "
      "on. A step's cost is its run time minus the previous step's. The last row is "
      "execsnoop itself (figure 2's storms)." % (PARTS_N, PARTS_ROUNDS))
    w("")
    if not parts:
        w("Not measured: %s is missing." % PARTS)
    else:
        w("| step | " + " | ".join("%s: ns per run | %s: added" % (wl, wl) for wl in wls)
          + " |")
        w("|---|" + "---|---|" * len(wls))
        cum = {wl: [median([r["bpf_ns"] / r["bpf_runs"] for r in parts
                            if r["step"] == k and r["workload"] == wl and r["bpf_runs"]])
                    for k in range(len(PART_NAMES))] for wl in wls}
        for k, what in enumerate(PART_NAMES):
            cells = []
            for wl in wls:
                c = cum[wl][k]
                prev = cum[wl][k - 1] if k else None
                cells += [fmt(c, "%.0f"),
                          fmt(None if c is None or prev is None else c - prev, "%+.0f")]
            w("| %d. %s | %s |" % (k, what, " | ".join(cells)))
        cells = []
        for wl in wls:
            rs = rows(storms, "ours", wl)
            cells += [fmt(median([r["bpf_ns"] / r["bpf_runs"] for r in rs if r["bpf_runs"]]),
                          "%.0f"), ""]
        w("| execsnoop (default mode) | %s |" % " | ".join(cells))
    w("")

    # Figure 3.
    w("## 3. Time to first event")
    w("")
    w("A marker exec runs every 2 ms from before the tracer starts; the time is from just "
      "before the tracer is spawned to the first line with the marker on its stdout, "
      "which is a pty (every tool line-buffers on a terminal). %d rounds." % TTFE_ROUNDS)
    w("")
    w("| tracer | median | min | max | vs libbpf-tools | target |")
    w("|---|---|---|---|---|---|")
    firsts = [n for n in ("ours", LT, "bpftrace") if n in names]
    tt = {n: [r["ttfe"] for r in ttfes if r["tracer"] == n and r["ttfe"] is not None]
          for n in firsts}
    for n in firsts:
        xs = tt[n]
        md = median(xs)
        tgt = ""
        if n == "ours" and md is not None and tt.get(LT):
            tgt = "no slower than libbpf-tools: **%s**" % (
                "met" if md <= median(tt[LT]) else "missed")
        w("| %s | %s | %s | %s | %s | %s |" % (
            n, fmt(md and md * 1000, "%.0f ms"), fmt(xs and min(xs) * 1000, "%.0f ms"),
            fmt(xs and max(xs) * 1000, "%.0f ms"), fmt(ratio(md, median(tt.get(LT, []))),
                                                       "%.2fx"), tgt))
    nf = [r for r in ttfes if r["ttfe"] is None]
    if nf:
        w("")
        w("No marker seen within 30 s: %s." % ", ".join(
            "%s round %d" % (r["tracer"], r["round"] + 1) for r in nf))
    w("")

    # Figure 4.
    w("## 4. Memory")
    w("")
    w("Peak RSS is `VmHWM` from /proc/<pid>/status after a short-workload storm (file "
      "output). Map memory is the sum of `memlock:` over the distinct BPF maps whose fds "
      "the tracer holds (/proc/<pid>/fdinfo; the same figure `bpftool map show` prints); "
      "programs' memlock is listed apart. Perf-buffer pages (libbpf-tools, bpftrace) are "
      "mmapped perf events, not maps, and are not in the map figure.")
    w("")
    w("| tracer | peak RSS | BPF maps | BPF programs | largest maps (type: bytes) | target |")
    w("|---|---|---|---|---|---|")
    for n in rows_all:
        if TRACERS[n].get("floor"):
            continue
        if n in missing:
            w("| %s | %s | | | | |" % (n, missing[n]))
            continue
        rs = rows(storms, n, "short")
        hwm = median([r["hwm_kb"] for r in rs])
        mb = median([r["map_bytes"] for r in rs])
        pb = median([r["prog_bytes"] for r in rs])
        big = rs[0]["maps"][:3] if rs else []
        tgt = ""
        if n.startswith("ours") and hwm is not None:
            tgt = "RSS <= 10 MB: **%s**; maps <= 8 MB: **%s**" % (
                "PASS" if hwm <= 10 * 1024 else "MISS",
                "PASS" if mb <= 8 * 1024 * 1024 else "MISS")
        w("| %s | %s | %s | %s | %s | %s |" % (
            n, fmt(hwm and hwm / 1024, "%.1f MB"), fmt(mb and mb / 1048576, "%.2f MB"),
            fmt(pb and pb / 1024, "%.0f kB"),
            ", ".join("%s: %d" % (map_type_name(t), b) for t, b in big), tgt))
    w("")

    # Figure 5.
    w("## 5. The traced workload's cost with each tracer attached")
    w("")
    w("The workload's own CPU per exec (spawners + exec'd children, getrusage SELF + "
      "CHILDREN; the median over the rounds), where the kernel-side cost of a tracer's "
      "programs is charged, against no tracer; the throughput figure is its inverse, "
      "execs per CPU-second. Wall-clock execs per second moves with everything else on "
      "a shared machine and is shown last, for information only.")
    w("")
    w("| tracer | " + " | ".join(
        "%s: CPU per exec | %s: vs none | %s: execs per CPU-s" % (wl, wl, wl) for wl in wls)
      + " | short: wall execs/s |")
    w("|---|" + "---|---|---|" * len(wls) + "---|")
    for n in ["none"] + rows_all:
        if n in missing:
            w("| %s | %s |%s" % (n, missing[n], " |" * (3 * len(wls))))
            continue
        cells = []
        for wl in wls:
            wk = work(n, wl)
            cells += [fmt(wk, "%.1f us"), fmt(ratio(wk, work("none", wl)), "%.3fx"),
                      fmt(wk and 1e6 / wk, "%.0f")]
        wall = median([r["rate"] for r in rows(storms, n, "short")])
        w("| %s | %s | %s |" % (n, " | ".join(cells), fmt(wall, "%.0f")))
    w("")

    # Figure 6.
    w("## 6. hello-tail: cost per syscall")
    w("")
    w("A tight loop of raw syscalls (`examples/bench-getppid.rs`), run SCHED_FIFO under "
      "`chrt -f 10` so other work cannot preempt it: the fastest of 5 x 500,000 calls "
      "(100,000 for getppid under hello-tail) in each of %d rounds, and the fastest "
      "round (interference only ever adds time). With nothing attached, with an empty "
      "program on raw_tp/sys_enter (`examples/bench-empty.rs`, "
      "`src/bpf/bench_empty.bpf.c`) and with hello-tail (default ignore set, stdout to "
      "/dev/null). The loop runs on getppid(), which is not in hello-tail's default "
      "ignore set, so hello-tail prints a line for each, and on getpid(), which the "
      "default set ignores: the dispatch alone (raw_tp program + tail call to the empty "
      "`ignore_opcode`). bpf_stats is off for these; a separate short pass with it on "
      "gives the programs' own run time." % SYSCALL_ROUNDS)
    w("")
    w("| syscall | attached | ns per call | added vs none | added vs empty's added | "
      "BPF ns per run | BPF runs per call | hello-tail's CPU during the loop |")
    w("|---|---|---|---|---|---|---|---|")
    verdicts = []
    for sc in SYSCALLS:
        # Minimum over the rounds: interference only ever adds time.
        ns = {mo: min([r["ns"] for r in pps if r["mode"] == mo and r["syscall"] == sc
                       and not r.get("stats_pass")], default=None)
              for mo in ("none", "empty", "hello-tail")}
        if ns["none"] is None:
            continue
        added_empty = None if ns["empty"] is None else ns["empty"] - ns["none"]
        for mo in ("none", "empty", "hello-tail"):
            if ns[mo] is None:
                continue
            added = ns[mo] - ns["none"]
            sp = [r for r in pps if r["mode"] == mo and r["syscall"] == sc
                  and r.get("stats_pass")]
            bpf = runs = None
            if sp and sp[0].get("bpf_runs"):
                bpf = sp[0]["bpf_ns"] / sp[0]["bpf_runs"]
                runs = sp[0]["bpf_runs"] / (STATS_ITERS * 5)
            share = median([r.get("helper_cpu_share") for r in pps
                            if r["mode"] == mo and r["syscall"] == sc
                            and not r.get("stats_pass")])
            w("| %s() | %s | %.1f | %s | %s | %s | %s | %s |" % (
                sc, mo, ns[mo], "" if mo == "none" else "%+.1f ns" % added,
                "" if mo != "hello-tail" else fmt(ratio(added, added_empty), "%.2fx"),
                fmt(bpf, "%.0f"), fmt(runs, "%.2f"),
                "" if mo != "hello-tail" else fmt(share and share * 100, "%.0f%% of a CPU")))
        if ns["hello-tail"] is not None and added_empty:
            r_ = (ns["hello-tail"] - ns["none"]) / added_empty
            verdicts.append("%s() (%s): **%s** (%.2fx)" % (
                sc, "printed" if sc == "getppid" else "in the default ignore set",
                "met" if r_ <= 1.5 else "missed", r_))
    w("")
    if verdicts:
        w("Target, hello-tail's added cost within 1.5x the empty program's: " +
          "; ".join(verdicts) + ".")
    elif not have_tail:
        w("hello-tail was not built in this tree: its rows are missing.")
    w("")
    w(FINDINGS_MARK)
    w("")
    w(findings())
    w("")
    w("## Raw results")
    w("")
    w("<details><summary>JSON of every run</summary>")
    w("")
    w("```json")
    for k, rows in raw.items():
        for r in rows:
            r = {kk: vv for kk, vv in r.items() if kk not in ("maps", "stderr_tail")}
            w(json.dumps(dict(kind=k, **r), default=str))
    w("```")
    w("")
    w("</details>")
    tails = [(r["tracer"], r["stderr_tail"].strip()) for r in storms + nulls
             if r.get("stderr_tail", "").strip()]
    if tails:
        w("")
        w("<details><summary>Last lines of each tracer's stderr (first storm)</summary>")
        w("")
        seen = set()
        for n, t in tails:
            if n in seen:
                continue
            seen.add(n)
            w("%s:" % n)
            w("")
            w("```")
            w(t)
            w("```")
            w("")
        w("</details>")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("\n".join(L) + "\n")


MAP_TYPES = {1: "hash", 2: "array", 3: "prog_array", 4: "perf_event_array", 5: "percpu_hash",
             6: "percpu_array", 8: "lru_hash", 27: "ringbuf"}


def map_type_name(t):
    return MAP_TYPES.get(t, "type %d" % t)


FINDINGS_MARK = "## Findings"


def findings():
    """The analysis written by hand lives in bench/findings.md and is copied in."""
    path = os.path.join(REPO, "bench", "findings.md")
    if os.path.exists(path):
        with open(path) as f:
            return f.read().strip()
    return "(none written yet)"


if __name__ == "__main__":
    main()
