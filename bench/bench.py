#!/usr/bin/env python3
"""Measures execsnoop (ours), libbpf-tools' execsnoop and bpftrace's execsnoop.bt side by
side, plus hello-tail's per-syscall cost, and writes docs/benchmarks.md.

Run through bench/run.sh (`make bench`), which installs the peers and builds our binaries
first. Standard library only. Progress goes to stderr, one line per step.

Environment knobs (defaults in brackets): BENCH_N [100000] execs per storm,
BENCH_ROUNDS [3], BENCH_NULL_N [30000] execs per /dev/null storm, BENCH_TTFE_ROUNDS [5], BENCH_SYSCALL_ROUNDS [5],
BENCH_OUT [docs/benchmarks.md].
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

N = int(os.environ.get("BENCH_N", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
NULL_N = int(os.environ.get("BENCH_NULL_N", "30000"))
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

TRACERS = {
    "ours": [os.path.join(REL, "execsnoop")],
    "libbpf-tools": ["/usr/sbin/execsnoop"],
    "bpftrace": ["bpftrace", "/usr/sbin/execsnoop.bt"],
}

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

    def __init__(self, name, stdout, workdir):
        self.name = name
        self.err_path = os.path.join(workdir, "%s.%s.stderr" % (name, time.monotonic_ns()))
        self.err = open(self.err_path, "wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            TRACERS[name], stdout=stdout, stderr=self.err, stdin=subprocess.DEVNULL,
            cwd=workdir,
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


def storm(count, marker):
    r = subprocess.run(
        [STORM, "--workers", "2", "--count", str(count), "--", TINY, marker],
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


LOST_PATTERNS = [
    re.compile(r"lost (\d+) events", re.I),        # libbpf-tools: "lost N events on CPU #c"
    re.compile(r"(\d+) lost", re.I),               # "N lost"
    re.compile(r"lost[:= ]+(\d+)", re.I),          # "lost: N", "lost=N"
    re.compile(r"Lost (\d+) events"),              # bpftrace
]


def lost_count(text):
    """Sums the lost-event counts a tracer reported (stderr or stdout tail)."""
    total, found = 0, False
    for line in text.splitlines():
        for pat in LOST_PATTERNS:
            m = pat.search(line)
            if m:
                total += int(m.group(1))
                found = True
                break
    return total if found else 0


# ---------------------------------------------------------------- figures


def present(name):
    exe = TRACERS[name][0]
    return os.access(exe, os.X_OK) or shutil.which(exe) is not None


def run_storm(name, count, to_file, workdir, rnd):
    """One storm with tracer `name` (None: no tracer). Returns a result dict."""
    marker = "storm-%s-%s-%d-%s" % (NONCE, name or "none", rnd, "f" if to_file else "n")
    res = {"tracer": name or "none", "round": rnd, "file": to_file}
    tr = None
    out_path = None
    if name:
        if to_file:
            out_path = os.path.join(workdir, "%s.%d.out" % (name, rnd))
            out = open(out_path, "wb")
        else:
            out = open(os.devnull, "wb")
        tr = Tracer(name, out, workdir)
        out.close()
        tr.wait_attached()
        time.sleep(0.3)
        res["cpu_start"] = cpu_seconds(tr.pid)
        stats0 = prog_stats(bpf_fd_memory(tr.pid)[2])
    s = storm(count, marker)
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
        res["lost"] = lost_count(err)
        if to_file:
            res["reported"] = count_in_file(out_path, marker)
            with open(out_path, "rb") as f:
                f.seek(max(0, os.path.getsize(out_path) - 4096))
                res["lost"] += lost_count(f.read().decode("utf-8", "replace"))
            os.unlink(out_path)
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
    names = [n for n in TRACERS if present(n)]
    missing = [n for n in TRACERS if n not in names]
    for n in missing:
        log("%s not built/installed: skipped (%s)" % (n, TRACERS[n][0]))
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
    storms, nulls, ttfes, pps = [], [], [], []
    try:
        with open(stats_path, "w") as f:
            f.write("1")
        # Figures 1, 2 (file), 4, 5: storm with output to a file. Order rotates each
        # round so no tool always runs first (or right after the same neighbour).
        order = [None] + names
        for rnd in range(ROUNDS):
            rot = order[rnd % len(order):] + order[:rnd % len(order)]
            for name in rot:
                log("storm round %d/%d: %s, %d execs, output to a file" % (
                    rnd + 1, ROUNDS, name or "no tracer", N))
                r = run_storm(name, N, True, workdir, rnd)
                storms.append(r)
                log("  %.0f execs/s%s" % (r["rate"], "" if not name else
                    ", reported %d/%d, lost %d, %.2f CPU-s" % (
                        r["reported"], r["execs"], r["lost"], r["cpu"])))
        # Figure 2 (/dev/null).
        for rnd in range(ROUNDS):
            rot = names[rnd % len(names):] + names[:rnd % len(names)] if names else []
            for name in rot:
                log("storm round %d/%d: %s, %d execs, output to /dev/null" % (
                    rnd + 1, ROUNDS, name, NULL_N))
                r = run_storm(name, NULL_N, False, workdir, rnd)
                nulls.append(r)
                log("  %.0f execs/s, %.2f CPU-s" % (r["rate"], r["cpu"]))
        with open(stats_path, "w") as f:
            f.write(stats_before)
        # Figure 3.
        for rnd in range(TTFE_ROUNDS):
            rot = names[rnd % len(names):] + names[:rnd % len(names)] if names else []
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
    report(date, names, missing, have_tail, storms, nulls, ttfes, pps,
           load_start, load_end, busy_start)
    log("wrote %s" % os.path.relpath(OUT, REPO))


def report(date, names, missing, have_tail, storms, nulls, ttfes, pps,
           load_start, load_end, busy_start):
    m = machine()
    v = versions()
    raw = {"storms": storms, "null": nulls, "ttfe": ttfes, "getppid": pps}

    def sel(rows, name, key):
        return [r[key] for r in rows if r["tracer"] == name and r.get(key) is not None]

    L = []
    w = L.append
    w("# Benchmarks: execsnoop and hello-tail against the peers")
    w("")
    w("Generated by `make bench` (bench/run.sh, bench/bench.py) on %s. Every figure is the "
      "median of the rounds; all tools ran in the same run, alternating (the order "
      "rotates each round)." % date)
    w("")
    w("Reproduce: `make bench` (as root; about 6-7 minutes of measuring after the "
      "release build). Knobs: `BENCH_N`, `BENCH_ROUNDS`, `BENCH_NULL_N`, "
      "`BENCH_TTFE_ROUNDS`, `BENCH_SYSCALL_ROUNDS`.")
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
    if missing:
        w("- not measured (not built or not installed): %s" % ", ".join(missing))
    for note in NOTES:
        w("- %s" % note)
    w("")

    base_rate = median([r["rate"] for r in storms if r["tracer"] == "none"])
    lt = "libbpf-tools"

    # Figure 1.
    w("## 1. Completeness under an exec storm")
    w("")
    w("%d execs of a static no-libc program that exits at once (`bench/tiny.c`), from 2 "
      "parallel spawner threads (`examples/bench-storm.rs`, posix_spawn + waitpid, as "
      "fast as they go), %d rounds. Each storm's execs carry a unique marker argument; "
      "'reported' counts the tracer's output lines holding it. Output to a file. "
      "'lost' is what the tracer itself said it lost." % (N, ROUNDS))
    w("")
    w("| tracer | reported / execs (median) | worst round | lost (median) | target |")
    w("|---|---|---|---|---|")
    for n in names:
        rows = [r for r in storms if r["tracer"] == n]
        fr = [r["reported"] / r["execs"] for r in rows if r["execs"]]
        tgt = "every one" if n == "ours" else ""
        if n == "ours" and fr:
            tgt += ": **met**" if min(fr) == 1.0 else ": **missed**"
        w("| %s | %s | %s | %s | %s |" % (
            n, fmt(median(fr), "%.4f"), fmt(min(fr) if fr else None, "%.4f"),
            fmt(median(sel(storms, n, "lost")), "%d"), tgt))
    w("")

    # Figure 2.
    w("## 2. Consumer cost (CPU of the tracer process)")
    w("")
    w("User + system CPU seconds of the tracer process per 10,000 storm execs: from just "
      "before the storm until it has drained and exited on SIGINT (`wait4` rusage minus "
      "`/proc/<pid>/stat` before the storm), so start-up (bpftrace's compile) is left "
      "out. File: the figure-1 storms (%d execs); /dev/null: separate storms of %d "
      "execs." % (N, NULL_N))
    w("")
    w("| tracer | to a file | to /dev/null | vs libbpf-tools (file / null) | target |")
    w("|---|---|---|---|---|")
    cost = {}
    for n in names:
        f = median([r["cpu"] / r["execs"] * 1e4 for r in storms if r["tracer"] == n])
        d = median([r["cpu"] / r["execs"] * 1e4 for r in nulls if r["tracer"] == n])
        cost[n] = (f, d)
    for n in names:
        f, d = cost[n]
        lf, ld = cost.get(lt, (None, None))
        tgt = ""
        if n == "ours" and lf:
            ok = f is not None and f <= lf / 2 and (d is None or ld is None or d <= ld / 2)
            tgt = "<= half of libbpf-tools: **%s**" % ("met" if ok else "missed")
        w("| %s | %s | %s | %s / %s | %s |" % (
            n, fmt(f, "%.3f s"), fmt(d, "%.3f s"), fmt(ratio(f, lf), "%.2fx"),
            fmt(ratio(d, ld), "%.2fx"), tgt))
    w("")
    w("Kernel side: the tracer's BPF programs' run time (`kernel.bpf_stats_enabled=1` "
      "during the storms, `run_time_ns` / `run_cnt` from `bpftool prog show`, summed over "
      "its programs). This is paid by the exec'ing processes, not the tracer, and shows "
      "in figure 5. Runs per storm exec counts every exec on the machine during the storm "
      "(and libbpf-tools runs 2 programs per exec: sys_enter + sys_exit).")
    w("")
    w("| tracer | BPF ns per program run | program runs per storm exec | BPF us per storm exec |")
    w("|---|---|---|---|")
    for n in names:
        rows = [r for r in storms + nulls if r["tracer"] == n and r.get("execs")]
        w("| %s | %s | %s | %s |" % (
            n, fmt(median([r["bpf_ns"] / r["bpf_runs"] for r in rows if r["bpf_runs"]]),
                   "%.0f"),
            fmt(median([r["bpf_runs"] / r["execs"] for r in rows]), "%.2f"),
            fmt(median([r["bpf_ns"] / r["execs"] / 1000 for r in rows]), "%.1f")))
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
    tt = {n: [r["ttfe"] for r in ttfes if r["tracer"] == n and r["ttfe"] is not None]
          for n in names}
    for n in names:
        xs = tt[n]
        md = median(xs)
        tgt = ""
        if n == "ours" and md is not None and tt.get(lt):
            tgt = "no slower than libbpf-tools: **%s**" % (
                "met" if md <= median(tt[lt]) else "missed")
        w("| %s | %s | %s | %s | %s | %s |" % (
            n, fmt(md and md * 1000, "%.0f ms"), fmt(xs and min(xs) * 1000, "%.0f ms"),
            fmt(xs and max(xs) * 1000, "%.0f ms"), fmt(ratio(md, median(tt.get(lt, []))),
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
    w("Peak RSS is `VmHWM` from /proc/<pid>/status after the %d-exec storm (file output). "
      "Map memory is the sum of `memlock:` over the distinct BPF maps whose fds the "
      "tracer holds (/proc/<pid>/fdinfo; the same figure `bpftool map show` prints); "
      "programs' memlock is listed apart. Perf-buffer pages (libbpf-tools, bpftrace) are "
      "mmapped perf events, not maps, and are not in the map figure." % N)
    w("")
    w("| tracer | peak RSS | BPF maps | BPF programs | largest maps (type: bytes) | target |")
    w("|---|---|---|---|---|---|")
    for n in names:
        rows = [r for r in storms if r["tracer"] == n]
        hwm = median([r["hwm_kb"] for r in rows])
        mb = median([r["map_bytes"] for r in rows])
        pb = median([r["prog_bytes"] for r in rows])
        big = rows[0]["maps"][:3] if rows else []
        tgt = ""
        if n == "ours" and hwm is not None:
            tgt = "RSS <= 10 MB: **%s**; maps <= 8 MB: **%s**" % (
                "met" if hwm <= 10 * 1024 else "missed",
                "met" if mb <= 8 * 1024 * 1024 else "missed")
        w("| %s | %s | %s | %s | %s | %s |" % (
            n, fmt(hwm and hwm / 1024, "%.1f MB"), fmt(mb and mb / 1048576, "%.2f MB"),
            fmt(pb and pb / 1024, "%.0f kB"),
            ", ".join("%s: %d" % (map_type_name(t), b) for t, b in big), tgt))
    w("")

    # Figure 5.
    w("## 5. Exec throughput with each tracer attached")
    w("")
    w("Execs per second of the 2-spawner storm (figure-1 storms, tracer output to a "
      "file; /dev/null storms in the third column), against no tracer. Wall-clock rate "
      "moves with everything else on the machine; the workload's own CPU per exec "
      "(spawners + exec'd children, getrusage SELF + CHILDREN), where the kernel-side "
      "cost of the tracer's programs is charged, is the steadier overhead figure.")
    w("")
    w("| tracer | execs/s (file) | vs none | execs/s (/dev/null) | vs none | "
      "workload CPU per exec (file) | vs none |")
    w("|---|---|---|---|---|---|---|")
    base_work = median([r["work_us"] for r in storms if r["tracer"] == "none"])
    w("| none | %s | 1.00x | | | %s | 1.00x |" % (fmt(base_rate, "%.0f"),
                                                 fmt(base_work, "%.0f us")))
    for n in names:
        f = median([r["rate"] for r in storms if r["tracer"] == n])
        d = median([r["rate"] for r in nulls if r["tracer"] == n])
        wk = median([r["work_us"] for r in storms if r["tracer"] == n])
        w("| %s | %s | %s | %s | %s | %s | %s |" % (
            n, fmt(f, "%.0f"), fmt(ratio(f, base_rate), "%.2fx"), fmt(d, "%.0f"),
            fmt(ratio(d, base_rate), "%.2fx"), fmt(wk, "%.0f us"),
            fmt(ratio(wk, base_work), "%.2fx")))
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
