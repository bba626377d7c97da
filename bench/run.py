#!/usr/bin/env python3
"""What reqprof costs, measured side by side with a run without it and with
the profilers one would otherwise use, all in one run on this machine.

    bench/run.py [--build DIR] [--quick] [--only PARTS] [--results FILE]

`make bench` runs it after building (and `make bench BENCH_QUICK=1` with
--quick: one short round of everything, for iterating). It prints its
tables and writes them, with the date and the machine, to bench/RESULTS.md.

The workloads (each a ratio to the same workload without any profiler, and
to the same workload under the floor):

1. CPU-bound requests: bench/work_server, GET /work doing a fixed amount of
   work calibrated to about 5 ms here, wrk with 16 connections. Configs:
   baseline (no profiler); floor (bench/libfloor.so: a per-thread 1 ms
   timer with an empty handler, armed by reqprof's rules); reqprof with
   default settings (text reports), with JSON reports, and with reports on
   disk; gperftools' libprofiler (CPUPROFILE_FREQUENCY=1000); perf record
   -g -e cpu-clock -F 1000. Why not the test server's /burn route: its work
   stops at a deadline on the thread's CPU clock, which also counts the
   time spent delivering and handling a profiler's signal on that thread,
   so the cost hides (workload 1b shows it).
2. Tiny requests: nginx (one process) serving a 20-byte static file, and
   `return 200`: baseline, floor, reqprof with default settings and with
   REQPROF_MIN_DURATION, gperftools, perf; same wrk.
3. Inside reqprof: one sample in the handler by stack depth
   (bench/sample_cost); an unsampled request on a server thread, all of it
   and its pieces, and its system calls (bench/bookkeeping_cost, strace);
   the writer's CPU per report and per index line (from workloads 1 and
   2); resident memory with 1, 16 and 256 open keep-alive connections to
   the test server.
4. A fork per connection (bench/fork_cost): fork, exit and wait, without
   reqprof and under it, with a parent that only accepted (busybox httpd's)
   and one that served a request too (its writer thread running).

Then issue 9's targets, each met or missed.

The server and everything it runs (reqprof's writer thread, perf record)
are pinned to CPU 0, wrk to CPU 1, when there are two CPUs or more. Each
workload's configs run round-robin, the order rotating each round, so that
noise from the rest of the machine hits all alike; the tables show the
median over rounds, and losses are the median of each round's loss against
that round's baseline (or floor). Nothing here asserts a speed: the
benchmark reports, it does not pass or fail (the targets are shown met or
missed).
"""

import argparse
import datetime
import glob
import gzip
import json
import os
import platform
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LIBPROFILER_CANDIDATES = [
    "/usr/lib/x86_64-linux-gnu/libprofiler.so.0",
    "/usr/lib/aarch64-linux-gnu/libprofiler.so.0",
    "/usr/lib/libprofiler.so.0",
]
NGINX = "/usr/sbin/nginx"
CONNECTIONS = 16
WORK_MS = 5
# Where reqprof writes its reports: a tmpfs, so that what is measured is
# reqprof and not the filesystem (see report_root); "reqprof-disk" writes
# to the temporary directory instead, as a server would write to its disk.
SHM = "/dev/shm"


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- machine

class Machine:
    """What runs where. With one CPU nothing is pinned (and RESULTS.md says
    so)."""

    def __init__(self):
        self.cpus = os.cpu_count() or 1
        self.pinned = self.cpus >= 2
        self.server_cpu = "0"
        self.load_cpu = "1"

    def _pin(self, cpu):
        """Pins the child before it runs the command, the way taskset does
        but without a taskset process in between: a preloaded profiler
        (libprofiler arms its timer at load, and interval timers survive
        exec) must load into the server only."""
        if not self.pinned:
            return {}
        return {"preexec_fn": lambda: os.sched_setaffinity(0, {int(cpu)})}

    def server(self):
        """Popen arguments that run a process on the server CPU."""
        return self._pin(self.server_cpu)

    def load(self):
        """Popen arguments that run a process on the load CPU."""
        return self._pin(self.load_cpu)

    def description(self):
        model = "unknown CPU"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        model = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        memory = ""
        try:
            with open("/proc/meminfo") as f:
                kib = int(f.readline().split()[1])
                memory = "%.0f GiB" % (kib / 1024 / 1024)
        except (OSError, ValueError, IndexError):
            pass
        distribution = ""
        try:
            with open("/etc/os-release") as f:
                for line in f:
                    if line.startswith("PRETTY_NAME="):
                        distribution = line.split("=", 1)[1].strip().strip('"')
        except OSError:
            pass
        return "%s; %d × %s; %s memory; Linux %s" % (
            distribution or platform.system(), self.cpus, model, memory,
            platform.release())


def filesystem_of(path):
    """The type of the filesystem path is on, as /proc/mounts says."""
    best, kind = "", "unknown filesystem"
    path = os.path.realpath(path)
    try:
        with open("/proc/mounts") as f:
            for line in f:
                fields = line.split()
                mount = fields[1]
                if (path == mount or path.startswith(mount.rstrip("/") + "/")) \
                        and len(mount) > len(best):
                    best, kind = mount, fields[2]
    except OSError:
        pass
    return kind


def clock_ticks():
    return os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid):
    """utime + stime of a process, its exited threads included."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / clock_ticks()
    except (OSError, IndexError, ValueError):
        return 0.0


def thread_cpu_seconds(pid, name):
    """CPU time of the process's thread called name (ns-exact), or None."""
    for task in glob.glob("/proc/%d/task/*" % pid):
        try:
            with open(task + "/comm") as f:
                if f.read().strip() != name:
                    continue
            with open(task + "/schedstat") as f:
                return int(f.read().split()[0]) / 1e9
        except (OSError, ValueError, IndexError):
            continue
    return None


def resident_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# Every directory the benchmark makes, removed at exit whatever happens.
SCRATCH = []


def scratch_directory(prefix, parent=None):
    directory = tempfile.mkdtemp(prefix=prefix, dir=parent)
    SCRATCH.append(directory)
    return directory


def report_root(on_disk=False):
    """A fresh directory for one run's reports, on a tmpfs unless on_disk.
    On this VM's journal-less ext4, creating
    a file costs tens of µs more for minutes after many files were deleted
    (the inode allocator skips recently deleted inodes one by one), which
    would make each run pay for the files the previous runs removed."""
    parent = None if on_disk or not os.access(SHM, os.W_OK) else SHM
    return scratch_directory("reqprof-bench-reports-", parent)


# ---------------------------------------------------------------- servers

def clean_environment(extra):
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("REQPROF_") and not k.startswith("CPUPROFILE")
                   and k not in ("LD_PRELOAD", "FLOOR_INTERVAL_US")}
    environment.update(extra)
    return environment


class Server:
    """A server process pinned to the server CPU. With port None it must
    print "listening on PORT" first (our servers); otherwise it is taken as
    started once the port accepts connections (nginx)."""

    def __init__(self, machine, command, env, workdir, port=None,
                 stop_signal=signal.SIGTERM):
        self.workdir = workdir
        self.stop_signal = stop_signal
        self.stderr_path = os.path.join(workdir, "stderr")
        self.stderr_file = open(self.stderr_path, "ab")
        self.process = subprocess.Popen(
            command, cwd=workdir, env=env,
            stdout=subprocess.PIPE if port is None else self.stderr_file,
            stderr=self.stderr_file, start_new_session=True,
            **machine.server())
        self.pid = self.process.pid
        try:
            self.port = self._wait_listening() if port is None else port
            if port is not None:
                self._wait_accepting(port)
        except BaseException:
            self.stop()
            raise

    def _wait_listening(self):
        deadline = time.monotonic() + 20
        line = b""
        fd = self.process.stdout.fileno()
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                chunk = os.read(fd, 1)
                if not chunk:
                    break
                line += chunk
        text = line.decode(errors="replace").strip()
        if not text.startswith("listening on "):
            raise RuntimeError("%s did not start (%r): %s" % (
                self.process.args, text, self.stderr()))
        return int(text.split()[-1])

    def _wait_accepting(self, port):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.05)
        raise RuntimeError("%s did not listen on %d: %s" % (
            self.process.args, port, self.stderr()))

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stderr(self):
        if not self.stderr_file.closed:
            self.stderr_file.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, timeout=15):
        if self.process.poll() is None:
            try:
                os.kill(self.pid, self.stop_signal)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        self.stderr_file.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- wrk

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def parse_duration_ms(text):
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return float(match.group(1)) * UNITS[match.group(2)] if match else None


def wrk(machine, url, seconds, connections=CONNECTIONS):
    """Runs wrk on the load CPU; returns requests, rate, p50 and p99 (ms)."""
    output = subprocess.run(
        ["wrk", "-t1", "-c%d" % connections, "-d%ds" % max(1, round(seconds)),
         "--latency", url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=True,
        text=True, **machine.load()).stdout
    result = {"requests": 0, "rps": 0.0, "p50_ms": None, "p99_ms": None,
              "errors": 0, "output": output}
    for line in output.splitlines():
        line = line.strip()
        match = re.match(r"(\d+) requests in", line)
        if match:
            result["requests"] = int(match.group(1))
        match = re.match(r"Requests/sec:\s+([\d.]+)", line)
        if match:
            result["rps"] = float(match.group(1))
        match = re.match(r"(50|99)%\s+(\S+)", line)
        if match:
            result["p%s_ms" % match.group(1)] = parse_duration_ms(match.group(2))
        match = re.match(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", line)
        if match:
            result["errors"] += sum(int(x) for x in match.groups())
        match = re.match(r"Non-2xx or 3xx responses: (\d+)", line)
        if match:
            result["errors"] += int(match.group(1))
    return result


# ---------------------------------------------------------------- reqprof's output

def index_bytes(report_dir):
    """index.tsv as written so far, up to its last complete line."""
    try:
        with open(os.path.join(report_dir, "index.tsv"), "rb") as f:
            data = f.read()
    except OSError:
        return b""
    return data[:data.rfind(b"\n") + 1]


# A line of index.tsv whose request got no report file says why in its last
# field, with a marker that starts with "-" (docs/report-format.md); a
# report's file name starts with its date.
INDEX_LINE_WITHOUT_FILE = re.compile(rb"\t-[^\t\n]*\n")


def index_tally(report_dir):
    """Lines index.tsv has so far, and how many of them name a report file."""
    data = index_bytes(report_dir)
    lines = data.count(b"\n")
    return lines, lines - len(INDEX_LINE_WITHOUT_FILE.findall(data))


def wait_index_settled(report_dir, expected, timeout=10.0):
    """Waits until index.tsv has expected lines or stops growing (the
    writer drops what it cannot keep up with)."""
    deadline = time.monotonic() + timeout
    previous, still = -1, 0
    while time.monotonic() < deadline:
        count = index_bytes(report_dir).count(b"\n")
        if count >= expected:
            break
        still = still + 1 if count == previous else 0
        if still >= 10:  # 1 s without a new line
            break
        previous = count
        time.sleep(0.1)


def json_sample_counts(report_dir, limit=200):
    """Per request, how many samples reqprof took (timeline points, each
    one signal handled) and what they stand for (samples, weighted by the
    intervals a thread spent off the CPU before its tick)."""
    taken, weighted = [], []
    for path in sorted(glob.glob(os.path.join(report_dir, "*.json.gz")))[-limit:]:
        try:
            with gzip.open(path) as f:
                report = json.load(f)
        except (OSError, ValueError):
            continue
        timeline = report.get("timeline") or []
        taken.append(len(timeline))
        weighted.append(report.get("samples", 0))
    return taken, weighted


def gperftools_samples(path):
    """Samples in a gperftools CPU profile (legacy binary format: a header
    of 5 words, then records of count, depth and depth PCs, then 0 1 0)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    words = len(data) // 8
    values = struct.unpack("<%dQ" % words, data[:words * 8])
    if words < 5 or values[0] != 0 or values[1] != 3:
        return None
    # Header: 0, header words (3), version 0, sampling period µs, 0.
    position, total = 2 + values[1], 0
    while position + 2 <= words:
        count, depth = values[position], values[position + 1]
        if count == 0 and depth == 1:
            break
        total += count
        position += 2 + depth
    return total


# ---------------------------------------------------------------- configs

class Tools:
    def __init__(self, build):
        self.build = os.path.abspath(build)
        self.library = os.path.join(self.build, "libreqprof.so")
        self.floor = os.path.join(self.build, "bench", "libfloor.so")
        self.work_server = os.path.join(self.build, "bench", "work_server")
        self.sample_cost = os.path.join(self.build, "bench", "sample_cost")
        self.bookkeeping_cost = os.path.join(self.build, "bench", "bookkeeping_cost")
        self.fork_cost = os.path.join(self.build, "bench", "fork_cost")
        self.test_server = os.path.join(self.build, "test", "test_server")
        self.libprofiler = next((p for p in LIBPROFILER_CANDIDATES
                                 if os.path.exists(p)), None)
        self.perf_reason = self._perf_check()

    def _perf_check(self):
        """None if perf record works here, else why not."""
        if shutil.which("perf") is None:
            return "perf is not installed (Debian package linux-perf)"
        with tempfile.TemporaryDirectory() as scratch:
            data = os.path.join(scratch, "perf.data")
            run = subprocess.run(
                ["perf", "record", "-g", "-e", "cpu-clock", "-F", "1000",
                 "-o", data, "--", sys.executable, "-c",
                 "sum(range(3000000))"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            match = re.search(r"\((\d+) samples\)", run.stderr)
            if run.returncode != 0 or not match or int(match.group(1)) == 0:
                lines = [l for l in run.stderr.splitlines() if l.strip()]
                return "perf record fails here: %s" % (
                    lines[0] if lines else "exit status %d" % run.returncode)
        return None


def describe_versions(tools):
    def first_line(command):
        try:
            run = subprocess.run(command, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
            return run.stdout.strip().splitlines()[0]
        except (OSError, IndexError):
            return "not found"

    def package(name):
        run = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
        return run.stdout.strip() or "not installed"

    return {
        "wrk": first_line(["wrk", "-v"]).split(" [")[0],
        "nginx": first_line([NGINX, "-v"]),
        "perf": first_line(["perf", "--version"]),
        "gperftools": "libgoogle-perftools4 " + package("libgoogle-perftools4"),
    }


# ---------------------------------------------------------------- one run

# What each config runs the server with, and how the tables name it.
CONFIG_LABELS = {
    "baseline": "baseline (no profiler)",
    "floor": "floor: 1 ms timer signal, empty handler",
    "reqprof": "reqprof, default settings",
    "reqprof-json": "reqprof, json reports",
    "reqprof-disk": "reqprof, default settings, reports on disk",
    "gperftools": "gperftools libprofiler, 1000 Hz asked",
    "perf": "perf record -g -e cpu-clock -F 1000",
}


def config_label(config, min_duration=None):
    """How the tables name config; reqprof-min names its minimum."""
    if config == "reqprof-min":
        return "reqprof, REQPROF_MIN_DURATION=%s" % min_duration
    return CONFIG_LABELS.get(config, config)


def profiler_environment(tools, config, workdir, report_dir, min_duration=None):
    """The environment variables that put config's profiler into a server.
    reqprof runs with its default settings (1 ms, text reports, and
    whatever budget it has) but for the directory and what the row says."""
    if config == "floor":
        return {"LD_PRELOAD": tools.floor}
    if config.startswith("reqprof"):
        env = {"LD_PRELOAD": tools.library, "REQPROF_DIR": report_dir}
        if config == "reqprof-json":
            env["REQPROF_OUTPUT"] = "json"
        if config == "reqprof-min":
            env["REQPROF_MIN_DURATION"] = min_duration
        return env
    if config == "gperftools":
        return {"LD_PRELOAD": tools.libprofiler,
                "CPUPROFILE": os.path.join(workdir, "cpu.prof"),
                "CPUPROFILE_FREQUENCY": "1000"}
    return {}


class PerfRecord:
    """perf record attached to the server for the measured part of a run,
    on the server's CPU."""

    def __init__(self, machine, pid, workdir):
        self.process = subprocess.Popen(
            ["perf", "record", "-g", "-e", "cpu-clock", "-F", "1000",
             "-p", str(pid), "-o", os.path.join(workdir, "perf.data")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            **machine.server())
        time.sleep(0.5)  # attached: perf opens its events first

    def stop(self):
        """Stops it; returns the samples it wrote (or None) and the CPU
        seconds its own process used."""
        self.process.send_signal(signal.SIGINT)
        _, status, usage = os.wait4(self.process.pid, 0)
        self.process.returncode = os.waitstatus_to_exitcode(status)
        match = re.search(r"\((\d+) samples\)", self.process.stderr.read())
        return (int(match.group(1)) if match else None,
                usage.ru_utime + usage.ru_stime)

    def kill(self):
        if self.process.returncode is None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class WriterWindow:
    """reqprof's writer thread over a window of a run: its CPU time, and
    the index lines and report files it wrote meanwhile. The window ends
    once the index has settled, so that the work of the window's requests
    is in it, whenever the writer got to it."""

    def __init__(self, pid, report_dir):
        self.pid, self.report_dir = pid, report_dir
        self.cpu_start = thread_cpu_seconds(pid, "reqprof-writer")
        self.lines_start, self.files_start = index_tally(report_dir)

    def close(self, result):
        """Adds the window's writer figures to result."""
        cpu_end = thread_cpu_seconds(self.pid, "reqprof-writer")
        lines, files = index_tally(self.report_dir)
        result["index_lines"], result["report_files"] = lines, files
        if self.cpu_start is None or cpu_end is None:
            return
        cpu_us = (cpu_end - self.cpu_start) * 1e6
        window_lines = lines - self.lines_start
        window_files = files - self.files_start
        result["writer_us_per_request"] = cpu_us / window_lines if window_lines else None
        result["writer_us_per_report"] = cpu_us / window_files if window_files else None
        # Requests with only an index line: the writer's time for them,
        # when report files are too few to weigh (REQPROF_MIN_DURATION).
        if window_lines and window_files <= 0.01 * window_lines:
            result["writer_us_per_index_line"] = cpu_us / window_lines


def floor_signals(stderr):
    match = re.search(r"floor: (\d+) signals", stderr)
    return int(match.group(1)) if match else None


def run_config(machine, tools, workload, config, warmup, seconds):
    """One run of workload under config: a fresh server, a warm-up, the
    measured wrk run; returns its numbers."""
    workdir = scratch_directory("reqprof-bench-")
    reports = report_root(on_disk=config == "reqprof-disk")
    report_dir = os.path.join(reports, "reqprof")
    env = profiler_environment(tools, config, workdir, report_dir,
                               workload.get("min_duration"))
    server = workload["start"](clean_environment(env), workdir)
    url = server.url(workload["path"])
    result = {"config": config}
    perf = None
    # Samples counted over the server's whole life (the floor's, gperftools')
    # go with every request served; perf's with the measured run's.
    samples, samples_requests, samples_seconds = None, 0, 0.0
    try:
        warm = wrk(machine, url, warmup)
        if config == "perf":
            perf = PerfRecord(machine, server.pid, workdir)
        writer = WriterWindow(server.pid, report_dir) if config.startswith("reqprof") else None
        cpu_before = process_cpu_seconds(server.pid)
        measured = wrk(machine, url, seconds)
        cpu_after = process_cpu_seconds(server.pid)
        result.update({k: measured[k] for k in ("requests", "rps", "p50_ms",
                                                "p99_ms", "errors")})
        result["cpu_per_request_us"] = (
            (cpu_after - cpu_before) * 1e6 / measured["requests"]
            if measured["requests"] else None)
        served = warm["requests"] + measured["requests"]
        result["served"] = served
        samples_requests, samples_seconds = served, float(warmup + seconds)
        if perf is not None:
            samples, result["profiler_cpu_s"] = perf.stop()
            samples_requests, samples_seconds = measured["requests"], float(seconds)
        if writer is not None:
            wait_index_settled(report_dir, served, timeout=15)
            writer.close(result)
        if config == "reqprof-json":
            taken, weighted = json_sample_counts(report_dir)
            if taken:
                result["samples_per_request"] = statistics.mean(taken)
                result["weighted_per_request"] = statistics.mean(weighted)
    finally:
        if perf is not None:
            perf.kill()
        server.stop()
    if config == "floor":
        samples = floor_signals(server.stderr())
    elif config == "gperftools":
        samples = gperftools_samples(os.path.join(workdir, "cpu.prof"))
    if samples is not None and samples_requests:
        result["samples_per_request"] = samples / samples_requests
        result["samples_per_second"] = samples / samples_seconds
    result["stderr"] = [line for line in server.stderr().splitlines()
                        if "reqprof" in line]
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.rmtree(reports, ignore_errors=True)
    return result


def our_server(machine, command):
    """Starts one of our servers (it prints the port it listens on)."""
    return lambda env, workdir: Server(machine, command, env, workdir)


NGINX_CONFIG = """\
# One process that serves (no master): a worker forked by a master would
# lose a preloaded gperftools' interval timer, which fork does not inherit,
# and perf, the floor and reqprof all see the same single process.
master_process off;
pid %(dir)s/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(dir)s/client_body;
    proxy_temp_path %(dir)s/proxy;
    fastcgi_temp_path %(dir)s/fastcgi;
    uwsgi_temp_path %(dir)s/uwsgi;
    scgi_temp_path %(dir)s/scgi;
    types { text/plain txt; }
    default_type text/plain;
    sendfile on;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:%(port)d;
        root %(dir)s/html;
        location = /ok { return 200 "ok\\n"; }
    }
}
"""

# The production setting of the nginx workloads' second reqprof row: only
# requests this long get report files, the rest an index line.
NGINX_MIN_DURATION = "50ms"


def start_nginx(machine):
    """Starts nginx serving both tiny-request routes from a working
    directory of its own. One process, which keeps the user that started
    it: nothing needs to be readable by nginx's usual worker user."""
    def start(env, workdir):
        html = os.path.join(workdir, "html")
        os.makedirs(html)
        with open(os.path.join(html, "small.txt"), "w") as f:
            f.write("a small static file\n")
        port = free_port()
        config_path = os.path.join(workdir, "nginx.conf")
        with open(config_path, "w") as f:
            f.write(NGINX_CONFIG % {"dir": workdir, "port": port})
        return Server(machine, [NGINX, "-p", workdir, "-c", config_path,
                                "-e", "stderr", "-g", "daemon off;"],
                      env, workdir, port=port, stop_signal=signal.SIGQUIT)
    return start


def run_rounds(label, configs, rounds, run_one):
    """Runs every config once per round, the order rotating each round."""
    results = {config: [] for config in configs}
    started = time.monotonic()
    for round_number in range(rounds):
        order = configs[round_number % len(configs):] + configs[:round_number % len(configs)]
        for config in order:
            log("  %s round %d/%d: %s (%.0f s in)" % (
                label, round_number + 1, rounds, config, time.monotonic() - started))
            results[config].append(run_one(config))
    return results


def run_workload(machine, tools, workload, configs, rounds, warmup, seconds):
    """Every config of workload, round-robin; the workload with its
    results summarized."""
    results = run_rounds(workload["name"], configs, rounds, lambda config: run_config(
        machine, tools, workload, config, warmup, seconds))
    return dict(workload, configs=configs, summary=summarize(results))


# ---------------------------------------------------------------- summaries

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def losses_against(runs, references):
    """Per round, the throughput lost against that round's reference run."""
    return [100.0 * (1 - run["rps"] / reference["rps"])
            for run, reference in zip(runs, references)
            if run.get("rps") and reference.get("rps")]


def growths_against(runs, references, key):
    return [100.0 * (run[key] / reference[key] - 1)
            for run, reference in zip(runs, references)
            if run.get(key) and reference.get(key)]


def summarize(results, baseline="baseline"):
    """Per config: medians of its runs, and the median over rounds of its
    loss (throughput) and growth (p50, p99) against the same round's
    baseline, and its loss against the same round's floor."""
    summary = {}
    base_runs = results[baseline]
    for config, runs in results.items():
        row = {"runs": len(runs)}
        for key in ("rps", "p50_ms", "p99_ms", "cpu_per_request_us",
                    "samples_per_request", "samples_per_second",
                    "weighted_per_request", "writer_us_per_report",
                    "writer_us_per_request", "writer_us_per_index_line",
                    "profiler_cpu_s"):
            row[key] = median([run.get(key) for run in runs])
        row["errors"] = sum(run.get("errors", 0) for run in runs)
        losses = losses_against(runs, base_runs)
        row["loss_pct"] = median(losses)
        row["loss_spread"] = (min(losses), max(losses)) if losses else None
        row["loss_vs_floor_pct"] = (median(losses_against(runs, results["floor"]))
                                    if "floor" in results else None)
        row["p50_pct"] = median(growths_against(runs, base_runs, "p50_ms"))
        row["p99_pct"] = median(growths_against(runs, base_runs, "p99_ms"))
        if "index_lines" in runs[0]:
            for key in ("index_lines", "report_files", "served"):
                row[key] = sum(run.get(key, 0) for run in runs)
        row["stderr"] = sorted({line for run in runs for line in run.get("stderr", [])})
        summary[config] = row
    # Text reports sample as JSON ones do; only JSON shows the samples.
    json_samples = summary.get("reqprof-json", {}).get("samples_per_request")
    for config, row in summary.items():
        if config.startswith("reqprof") and row["samples_per_request"] is None:
            row["samples_per_request"] = json_samples
    base_rps = summary[baseline]["rps"]
    for row in summary.values():
        spr = row.get("samples_per_request")
        # What one sample costs the server, all in: the extra time per
        # request on a saturated server CPU, over the samples per request.
        if spr and base_rps and row["rps"]:
            extra_us = (1e6 / row["rps"]) - (1e6 / base_rps)
            row["us_per_sample"] = extra_us / spr
        else:
            row["us_per_sample"] = None
    return summary


def fmt(value, pattern="%.1f", none="–"):
    return none if value is None else pattern % value


def signed(value, pattern="%+.1f%%"):
    return fmt(value, pattern)


# ---------------------------------------------------------------- inside reqprof

def run_sample_cost(tools, rounds):
    """bench/sample_cost under reqprof; per depth, the median of its
    medians and p99s over rounds."""
    per_depth = {}
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="reqprof-bench-") as workdir:
            env = clean_environment({"LD_PRELOAD": tools.library,
                                     "REQPROF_DIR": os.path.join(workdir, "reqprof"),
                                     "REQPROF_INTERVAL": "100ms"})
            output = subprocess.run([tools.sample_cost], env=env, cwd=workdir,
                                    stdout=subprocess.PIPE, check=True,
                                    text=True).stdout
        for line in output.splitlines():
            fields = line.split()
            values = dict(zip(fields[::2], fields[1::2]))
            depth = int(values["frames"])
            per_depth.setdefault(depth, []).append(
                (float(values["median_us"]), float(values["p99_us"]),
                 int(values["samples"])))
    return {depth: {"median_us": median([m for m, _, _ in runs]),
                    "p99_us": median([p for _, p, _ in runs]),
                    "samples": sum(n for _, _, n in runs)}
            for depth, runs in sorted(per_depth.items())}


def key_values(text):
    """"key value key value ..." as a dict of floats."""
    fields = text.split()
    return {key: float(value) for key, value in zip(fields[::2], fields[1::2])}


# The request loop of bench/bookkeeping_cost runs under reqprof with samples
# too rare to land (an unsampled request is what it measures) and with the
# production setting that leaves most requests an index line, not a file.
BOOKKEEPING_SETTINGS = {"REQPROF_INTERVAL": "1s", "REQPROF_MIN_DURATION": "3600s"}
BOOKKEEPING_REQUESTS = 50000


def bookkeeping_environment(tools, workdir):
    return clean_environment(dict(BOOKKEEPING_SETTINGS, LD_PRELOAD=tools.library,
                                  REQPROF_DIR=os.path.join(workdir, "reqprof")))


def run_bookkeeping_cost(machine, tools, rounds):
    """bench/bookkeeping_cost: the pieces (medians over rounds, ns), and
    what reqprof adds to the whole request, on the server CPU beside its
    writer: the loop through the server's calls against the same loop
    through libc's own, in the same process under reqprof (median over
    rounds of each round's difference)."""
    values, added = {}, []
    for _ in range(rounds):
        pieces = subprocess.run([tools.bookkeeping_cost], stdout=subprocess.PIPE,
                                check=True, text=True, **machine.server()).stdout
        for key, value in key_values(pieces).items():
            values.setdefault(key, []).append(value)
        with tempfile.TemporaryDirectory(prefix="reqprof-bench-", dir=report_root()) as workdir:
            loop = key_values(subprocess.run(
                [tools.bookkeeping_cost, "--requests", str(BOOKKEEPING_REQUESTS)],
                env=bookkeeping_environment(tools, workdir), stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, check=True, text=True,
                **machine.server()).stdout)
        for key in ("request_loop_ns", "request_loop_unseen_ns"):
            values.setdefault(key, []).append(loop[key])
        added.append(loop["request_loop_ns"] - loop["request_loop_unseen_ns"])
    result = {key: median(v) for key, v in values.items()}
    result["reqprof_added_ns"] = median(added)
    result["reqprof_syscalls_per_request"] = bookkeeping_system_calls(machine, tools)
    return result


# What one try of bookkeeping_cost's loop makes itself: per request the
# client's send and recv and the server's recv and writev, and a read of
# the thread's CPU clock (a system call) before and after.
LOOP_CALLS_PER_REQUEST = 4
LOOP_CALLS_PER_TRY = 2


def bookkeeping_system_calls(machine, tools, requests=2000):
    """System calls of reqprof's per unsampled request on the server's
    thread: under strace, on the main thread, the calls in the loop's tries
    through the server's calls (each fenced by getppid) beyond the loop's
    own. A rare tick of reqprof's 1 s timer counts: it is reqprof's. None
    without strace."""
    if shutil.which("strace") is None:
        return None
    with tempfile.TemporaryDirectory(prefix="reqprof-bench-", dir=report_root()) as workdir:
        trace = os.path.join(workdir, "strace")
        run = subprocess.run(
            ["strace", "-f", "-qq", "-o", trace, tools.bookkeeping_cost,
             "--requests", str(requests)],
            env=bookkeeping_environment(tools, workdir), stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, **machine.server())
        if run.returncode != 0:
            return None
        per_try = key_values(run.stdout)["requests_per_try"]
        with open(trace) as f:
            lines = f.read().splitlines()
    main_thread = lines[0].split(None, 1)[0]
    # Region 0 is before the first fence; then seen, unseen, seen... and
    # the last one after the last fence.
    regions = [0]
    for line in lines:
        thread, call = line.split(None, 1)
        if thread != main_thread or call.startswith("<..."):
            continue  # another thread, or the end of a call already counted
        if call.startswith("getppid("):
            regions.append(0)
        else:
            regions[-1] += 1
    seen = regions[1:-1:2]
    if not seen:
        return None
    expected = LOOP_CALLS_PER_REQUEST * per_try + LOOP_CALLS_PER_TRY
    return sum(calls - expected for calls in seen) / (per_try * len(seen))


def http_request_on(sock, path):
    sock.sendall(("GET %s HTTP/1.1\r\nHost: bench\r\n\r\n" % path).encode())


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed before the response")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"Content-Length: (\d+)", head, re.I).group(1))
    while len(body) < length:
        body += sock.recv(65536)


# bench/fork_cost's configs: (name, under reqprof, the parent served a
# request first).
FORK_CONFIGS = (("baseline", False, False), ("reqprof", True, False),
                ("reqprof-served", True, True))


def run_fork_cost(machine, tools, rounds, forks):
    """bench/fork_cost per config, parent and children on the server CPU,
    the configs in a rotating order each round; per config, the median
    over rounds of each value."""
    values = {name: {} for name, _, _ in FORK_CONFIGS}
    for round_index in range(rounds):
        shift = round_index % len(FORK_CONFIGS)
        for name, preload, served in FORK_CONFIGS[shift:] + FORK_CONFIGS[:shift]:
            with tempfile.TemporaryDirectory(prefix="reqprof-bench-",
                                             dir=report_root()) as workdir:
                extra = {"LD_PRELOAD": tools.library,
                         "REQPROF_DIR": os.path.join(workdir, "reqprof")} if preload else {}
                command = [tools.fork_cost, "--forks", str(forks), "--tries", "3"]
                output = subprocess.run(
                    command + (["--served"] if served else []),
                    env=clean_environment(extra), cwd=workdir, stdout=subprocess.PIPE,
                    check=True, text=True, **machine.server()).stdout
            for key, value in key_values(output).items():
                values[name].setdefault(key, []).append(value)
    return {name: {key: median(v) for key, v in config.items()}
            for name, config in values.items()}


def run_memory(machine, tools, counts, rounds):
    """VmRSS of the test server with count keep-alive connections open, each
    having served one 2 ms request, with and without reqprof (reports all
    written first)."""
    rows = {}
    for count in counts:
        samples = {"baseline": [], "reqprof": []}
        for _ in range(rounds):
            for config in ("baseline", "reqprof"):
                workdir = scratch_directory("reqprof-bench-")
                report_dir = os.path.join(workdir, "reqprof")
                env = {}
                if config == "reqprof":
                    env = {"LD_PRELOAD": tools.library, "REQPROF_DIR": report_dir}
                server = Server(machine, [tools.test_server, "--port", "0"],
                                clean_environment(env), workdir)
                sockets = []
                try:
                    for _ in range(count):
                        sock = socket.create_connection(("127.0.0.1", server.port))
                        sockets.append(sock)
                        http_request_on(sock, "/burn?ms=2")
                    for sock in sockets:
                        read_response(sock)
                    if config == "reqprof":
                        wait_index_settled(report_dir, count)
                    time.sleep(0.3)
                    samples[config].append(resident_kib(server.pid))
                finally:
                    for sock in sockets:
                        sock.close()
                    server.stop()
                    shutil.rmtree(workdir, ignore_errors=True)
        base = median(samples["baseline"])
        with_reqprof = median(samples["reqprof"])
        rows[count] = {"baseline_kib": base, "reqprof_kib": with_reqprof,
                       "added_kib": with_reqprof - base}
    return rows


def thread_state_bytes():
    """sizeof(struct rp_thread), the most one server thread's reqprof state
    can hold resident (once its ring went round), its ring's bytes and a
    record's header."""
    with tempfile.TemporaryDirectory() as scratch:
        source = os.path.join(scratch, "size.c")
        with open(source, "w") as f:
            f.write('#include <stdio.h>\n#include "thread.h"\n'
                    'int main(void) { printf("%zu %u %zu\\n", sizeof(struct rp_thread),'
                    ' RP_RING_BYTES, sizeof(struct rp_record)); return 0; }\n')
        program = os.path.join(scratch, "size")
        built = subprocess.run(["cc", "-D_GNU_SOURCE", "-I", os.path.join(ROOT, "preload"),
                                "-o", program, source],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if built.returncode != 0:
            return None
        thread, ring, header = subprocess.run([program], stdout=subprocess.PIPE,
                                              text=True).stdout.split()
        return int(thread), int(ring), int(header)


# ---------------------------------------------------------------- report

def target_line(met, text):
    return "- %s %s" % ("**met**" if met else "**missed**", text)


def markdown_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(cells) + " |" for cells in rows]
    return out


def loss_cell(config, row, key, references):
    return "–" if config in references else signed(row[key])


# The columns every workload's table has: (title, cell of config's row).
COMMON_COLUMNS = [
    ("config", lambda w, c, r: config_label(c, w.get("min_duration"))),
    ("req/s", lambda w, c, r: fmt(r["rps"], w["rps_format"])),
    ("loss", lambda w, c, r: loss_cell(c, r, "loss_pct", ("baseline",))),
    ("loss vs floor", lambda w, c, r: loss_cell(c, r, "loss_vs_floor_pct",
                                               ("baseline", "floor"))),
    ("p50 ms", lambda w, c, r: fmt(r["p50_ms"], w["latency_format"])),
    ("p99 ms", lambda w, c, r: fmt(r["p99_ms"], w["latency_format"])),
    ("server CPU/req µs", lambda w, c, r: fmt(r["cpu_per_request_us"],
                                             w["cpu_format"])),
]
CPU_BOUND_COLUMNS = COMMON_COLUMNS + [
    ("p99 vs base", lambda w, c, r: loss_cell(c, r, "p99_pct", ("baseline",))),
    ("samples/req", lambda w, c, r: fmt(r["samples_per_request"], "%.2f")),
    ("µs per sample", lambda w, c, r: fmt(r["us_per_sample"], "%.2f")),
]
TINY_REQUEST_COLUMNS = COMMON_COLUMNS + [
    # Below 100% the server did not set the pace (the load generator did,
    # or other processes had its CPU): a profiler's cost then shows as
    # latency more than as throughput.
    ("server CPU busy", lambda w, c, r: fmt(
        r["rps"] * r["cpu_per_request_us"] / 1e4
        if r["rps"] and r["cpu_per_request_us"] else None, "%.0f%%")),
    ("samples/s", lambda w, c, r: fmt(r["samples_per_second"], "%.0f")),
    ("writer µs/req", lambda w, c, r: fmt(r.get("writer_us_per_request"), "%.2f")),
    ("index lines / report files / requests",
     lambda w, c, r: "%d / %d / %d" % (r["index_lines"], r["report_files"], r["served"])
     if r.get("index_lines") is not None else "–"),
]


def workload_table(workload, columns):
    rows = [[cell(workload, config, workload["summary"][config])
             for _, cell in columns] for config in workload["configs"]]
    rows += [["%s: unavailable (%s)" % (config_label(config), reason)] +
             [""] * (len(columns) - 1)
             for config, reason in workload.get("missing", {}).items()]
    return markdown_table([title for title, _ in columns], rows)


def profiler_said(workload):
    """What each config wrote on stderr over its rounds: one line of each
    kind (lines that differ only in their numbers are one kind), with how
    many rounds said it."""
    said = []
    for config in workload["configs"]:
        kinds = {}
        for line in workload["summary"][config]["stderr"]:
            kinds.setdefault(re.sub(r"\d+", "N", line), []).append(line)
        for lines in kinds.values():
            times = " (%d times)" % len(lines) if len(lines) > 1 else ""
            said.append("- %s said%s: `%s`" % (config, times, lines[0]))
    return said


def render_header(args, machine, versions, elapsed):
    out = []
    now = datetime.datetime.now().astimezone()
    out.append("# reqprof overhead: benchmark results\n")
    out.append("Written by `make bench%s` (bench/run.py) on %s, in %.0f s.\n" % (
        " BENCH_QUICK=1" if args.quick else "",
        now.strftime("%Y-%m-%d %H:%M %Z"), elapsed))
    out.append("- Machine: %s." % machine.description())
    if machine.pinned:
        out.append("- Pinning: each server (with everything it runs: reqprof's "
                   "writer thread, perf record) on CPU %s; wrk on CPU %s "
                   "(`sched_setaffinity`, as taskset does)." % (
                       machine.server_cpu, machine.load_cpu))
    else:
        out.append("- Pinning: none (fewer than two CPUs): "
                   "server and wrk share the CPUs.")
    out.append("- Load: `wrk -t1 -c%d`; per run a %s s warm-up on the same "
               "server, then %s s measured (%s s for nginx); %d round%s, "
               "configs in rotating order; medians over rounds. *loss* is "
               "against the same round's baseline, *loss vs floor* against "
               "the same round's floor." % (
                   CONNECTIONS, fmt(args.warmup, "%g"), fmt(args.seconds, "%g"),
                   fmt(args.nginx_seconds, "%g"), args.rounds,
                   "" if args.rounds == 1 else "s"))
    out.append("- Versions: %s." % "; ".join(versions.values()))
    on_tmpfs = os.access(SHM, os.W_OK)
    out.append("- reqprof: default settings (1 ms, text reports) unless the "
               "row says otherwise, reports into a directory on %s%s.\n" % (
                   "tmpfs (%s)" % SHM if on_tmpfs else tempfile.gettempdir(),
                   "; the *on disk* row writes them to %s (%s)" % (
                       tempfile.gettempdir(), filesystem_of(tempfile.gettempdir()))
                   if on_tmpfs else ""))
    out.append("- Why the numbers are what they are, and what it would take "
               "to meet the targets missed: bench/README.md.\n")
    return out


def render_cpu_bound(work):
    out = ["## 1. CPU-bound requests\n"]
    out.append("bench/work_server, `GET /work?n=%d` (a fixed %d ms of work, "
               "calibrated here), thread per connection.\n" % (work["rounds_n"], WORK_MS))
    out += workload_table(work, CPU_BOUND_COLUMNS)
    summary = work["summary"]
    out.append("")
    out.append("- *samples/req*: signals handled per request (reqprof: "
               "timeline points of its JSON reports, the same sampling as "
               "with text; floor: its handler's count; gperftools: samples in "
               "its profile; perf: samples it wrote). *µs per sample*: the "
               "extra time per request on the saturated server CPU, over "
               "samples/req: what one sample costs, all in.")
    spread = summary["reqprof"]["loss_spread"]
    floor_spread = summary["floor"]["loss_spread"]
    if spread:
        out.append("- reqprof's loss ranged %.1f%% to %.1f%% over the rounds; "
                   "the floor's %s." % (spread[0], spread[1],
                   "%.1f%% to %.1f%%" % floor_spread if floor_spread else "–"))
    for config in ("reqprof", "reqprof-json", "reqprof-disk"):
        row = summary.get(config)
        if row and row.get("writer_us_per_report"):
            out.append("- %s: %d report files and %d index lines for %d "
                       "requests served; writer thread %s µs of CPU per report "
                       "file, i.e. at most ~%s reports/s from one core." % (
                           config, row["report_files"], row["index_lines"],
                           row["served"], fmt(row["writer_us_per_report"]),
                           fmt(1e6 / row["writer_us_per_report"], "%.0f")))
    json_row = summary.get("reqprof-json")
    if json_row and json_row.get("weighted_per_request"):
        out.append("- A request here lasts ~%s ms of wall time (16 threads "
                   "queue for one CPU) but runs ~%d ms: reqprof handles ~%s "
                   "signals per request and weights them (1 + timer overruns) "
                   "to %s samples, its wall time." % (
                       fmt(summary["baseline"]["p50_ms"], "%.0f"), WORK_MS,
                       fmt(json_row["samples_per_request"], "%.1f"),
                       fmt(json_row["weighted_per_request"], "%.0f")))
    if summary.get("perf", {}).get("profiler_cpu_s") is not None:
        out.append("- perf record's own process used %.2f s of CPU per run "
                   "(on the server's CPU), included above." %
                   summary["perf"]["profiler_cpu_s"])
    out += profiler_said(work)
    out.append("")
    return out


def render_burn(burn):
    out = ["## 1b. The test server's /burn route hides the cost\n"]
    out.append("`test_server`, `GET /burn?ms=%d`: the route burns until the "
               "thread's CPU clock has advanced %d ms, and that clock also "
               "runs while the kernel delivers a profiler's signal to the "
               "thread and while the handler runs. Whatever the profiler "
               "costs on the request's thread is absorbed in the 5 ms, so "
               "throughput barely moves; workload 1 does fixed work "
               "instead.\n" % (WORK_MS, WORK_MS))
    out += workload_table(burn, COMMON_COLUMNS)
    out.append("")
    return out


def render_tiny_requests(nginx_workloads, versions):
    out = ["## 2. Tiny requests: nginx\n"]
    out.append("nginx %s, one process (`master_process off`), keep-alive. "
               "Most requests end long before a 1 ms sample is due: what "
               "shows is interposition, request bookkeeping, the signals "
               "while the worker is busy and the writer beside it on the same "
               "CPU. With `REQPROF_MIN_DURATION` (the production setting) a "
               "fast request costs an index line instead of a report file. "
               "*samples/s*: the floor's signals, gperftools' and perf's "
               "samples, per second of load.\n" % versions["nginx"].split("/")[-1])
    for workload in nginx_workloads:
        out.append("### %s\n" % workload["title"])
        out += workload_table(workload, TINY_REQUEST_COLUMNS)
        out.append("")
        out += profiler_said(workload)
        out.append("")
    return out


def render_inside(micro, bookkeeping, nginx_workloads):
    out = ["## 3. Inside reqprof\n"]
    if micro:
        out.append("### One sample in the signal handler\n")
        out.append("bench/sample_cost: reqprof's own handler, called from a "
                   "signal handler on a real signal frame while a request is "
                   "open, timed around the call (unwind, ring slot, clock). The "
                   "kernel's share of a signal is the floor's, above.\n")
        out += markdown_table(
            ["stack depth (frames)", "median µs", "p99 µs", "samples"],
            [["empty call (the timing itself)" if depth == 0 else str(depth),
              fmt(row["median_us"], "%.2f"), fmt(row["p99_us"], "%.2f"),
              str(row["samples"])] for depth, row in micro.items()])
        out.append("")
    if bookkeeping:
        out.append("### An unsampled request on the server's thread\n")
        out.append("bench/bookkeeping_cost. The timer stays armed from one "
                   "request to the next and the thread's CPU clock is read "
                   "only for requests a sample landed in, so a request no "
                   "sample lands in costs reqprof no system call: parsing, "
                   "look-ups, the connection's lock, two `CLOCK_MONOTONIC` "
                   "reads (vDSO) and the hand-over to the writer.\n")
        out += markdown_table(["what", "per request"], [
            ["**all of it**: a request loop through the server's calls "
             "(`recv`, `writev` on an accepted Unix socket) against the same "
             "loop through libc's own, in one process under reqprof "
             "(%s) on the server CPU beside its writer" % ", ".join(
                 "%s=%s" % item for item in BOOKKEEPING_SETTINGS.items()),
             "**%s ns** (of %s ns the loop takes without)" % (
                 fmt(bookkeeping.get("reqprof_added_ns"), "%.0f"),
                 fmt(bookkeeping.get("request_loop_unseen_ns"), "%.0f"))],
            ["of which: parse the request and the response head (wrk's "
             "50-byte request, nginx's 237-byte head)",
             "%s ns" % fmt(bookkeeping.get("parse_ns"), "%.0f")],
            ["of which: read `CLOCK_MONOTONIC` twice (vDSO)",
             "%s ns" % fmt(2 * bookkeeping["monotonic_clock_ns"], "%.0f")
             if bookkeeping.get("monotonic_clock_ns") else "–"],
            ["system calls of reqprof's on the server's thread (strace of "
             "the same loop)",
             fmt(bookkeeping.get("reqprof_syscalls_per_request"), "%.4f")],
        ])
        out.append("")
        out.append("What a request a sample landed in, or a thread that went "
                   "idle and takes up work again, pays on top (no longer "
                   "every request):\n")
        out += markdown_table(["what", "when", "cost"], [
            ["arm and disarm the thread's timer (two `timer_settime`)",
             "the thread blocks in a wait with nothing ready, or a tick finds "
             "it between requests; then its next request",
             "%s µs" % fmt(bookkeeping.get("timer_pair_ns", 0) / 1000, "%.2f")],
            ["read the thread's CPU clock twice (a system call each: the vDSO "
             "serves no thread CPU clock)", "a request a sample landed in",
             "%s µs" % fmt(2 * bookkeeping.get("cpu_clock_ns", 0) / 1000, "%.2f")],
        ])
        for workload in nginx_workloads:
            out.append("\nnginx (%s) spends %s µs of CPU on a request here "
                       "without a profiler." % (
                           workload["short"],
                           fmt(workload["summary"]["baseline"]["cpu_per_request_us"])))
        out.append("")
    return out


def writer_report_us(work):
    """The writer's CPU per report file: default settings, tmpfs."""
    return work["summary"]["reqprof"].get("writer_us_per_report") if work else None


def writer_index_line_us(nginx_workloads):
    """The writer's CPU per index-line-only request, the worst nginx row."""
    values = [w["summary"]["reqprof-min"].get("writer_us_per_index_line")
              for w in nginx_workloads]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def render_writer(work, nginx_workloads):
    out = ["### The writer\n"]
    out.append("Its thread's CPU time (`schedstat`) from the start of the "
               "measured run until the index settled, over the report files "
               "or the index lines it wrote meanwhile.\n")
    if work:
        json_row = work["summary"].get("reqprof-json") or {}
        for config, label in (("reqprof", "text"), ("reqprof-json", "json"),
                              ("reqprof-disk", "text on disk")):
            row = work["summary"].get(config)
            if row and row.get("writer_us_per_report"):
                out.append("- Workload 1, %s reports (~%s samples each): %s µs "
                           "per report, ~%s reports/s per core." % (
                               label, fmt(json_row.get("weighted_per_request"), "%.0f"),
                               fmt(row["writer_us_per_report"]),
                               fmt(1e6 / row["writer_us_per_report"], "%.0f")))
    for workload in nginx_workloads:
        row = workload["summary"]["reqprof"]
        if row.get("writer_us_per_request") is not None:
            out.append("- nginx (%s), default settings: %s µs per request "
                       "served (%d report files, %d index lines, %d requests)." % (
                           workload["short"], fmt(row["writer_us_per_request"], "%.2f"),
                           row["report_files"], row["index_lines"], row["served"]))
        row = workload["summary"]["reqprof-min"]
        out.append("- nginx (%s), REQPROF_MIN_DURATION=%s: %s µs per request "
                   "that got only an index line (%d index lines, %d report "
                   "files)." % (
                       workload["short"], workload["min_duration"],
                       fmt(row.get("writer_us_per_index_line"), "%.2f"),
                       row["index_lines"], row["report_files"]))
    out.append("")
    return out


def render_memory(memory, state_size):
    out = ["### Resident memory\n"]
    out.append("test_server, VmRSS with N keep-alive connections open (one "
               "thread each), each having served one `GET /burn?ms=2`, after "
               "reqprof wrote every report.\n")
    out += markdown_table(
        ["connections", "without reqprof", "with reqprof", "added"],
        [[str(count), "%s MiB" % fmt(row["baseline_kib"] / 1024),
          "%s MiB" % fmt(row["reqprof_kib"] / 1024),
          "%s MiB" % fmt(row["added_kib"] / 1024)] for count, row in memory.items()])
    if state_size:
        thread, ring, header = state_size
        out.append("\nA thread's reqprof state is an anonymous mapping of %d "
                   "KiB, most of it its ring of %d KiB (a sample takes %d "
                   "bytes and 8 per frame); only what a thread has used is "
                   "resident, so a long-lived thread that has gone round its "
                   "ring holds all %d KiB." % (
                       thread // 1024, ring // 1024, header, thread // 1024))
    out.append("")
    return out


# Issue 9's targets (benchmark medians, not test assertions).
UNSAMPLED_REQUEST_NS_MAX = 100
WRITER_REPORT_US_MAX = 20
WRITER_INDEX_LINE_US_MAX = 0.1
ADDED_MEMORY_256_MIB_MAX = 24


def floor_allowances(summary):
    """The floor's loss, and what reqprof may lose beside it: floor + 2
    points, and 1.2 × floor + 0.5 (a negative loss of the floor, noise,
    counts as none)."""
    floor = summary["floor"]["loss_pct"]
    counted = max(floor or 0.0, 0.0)
    return floor, counted + 2.0, 1.2 * counted + 0.5


def render_targets(work, nginx_workloads, bookkeeping, memory):
    out = ["## Targets (issue 9)\n"]
    for workload in nginx_workloads:
        summary = workload["summary"]
        loss = summary["reqprof"]["loss_pct"]
        floor, allowed, goal = floor_allowances(summary)
        if loss is None:
            continue
        out.append(target_line(loss <= allowed,
                               "nginx %s, default settings: loss ≤ the floor's "
                               "+ 2 points: reqprof %s, floor %s, allowed "
                               "%.1f%%." % (workload["short"], signed(loss),
                                            signed(floor), allowed)))
        out.append(target_line(loss <= goal,
                               "(goal) nginx %s: loss ≤ 1.2 × floor + 0.5 point: "
                               "allowed %.1f%%." % (workload["short"], goal)))
    if work:
        loss = work["summary"]["reqprof"]["loss_pct"]
        floor, _, allowed = floor_allowances(work["summary"])
        out.append(target_line(loss is not None and loss <= allowed,
                               "CPU-bound, default settings, tmpfs: loss ≤ 1.2 × "
                               "floor + 0.5 point: reqprof %s, floor %s, "
                               "allowed %.1f%% (on disk: %s)." % (
                                   signed(loss), signed(floor), allowed,
                                   signed(work["summary"].get("reqprof-disk", {})
                                          .get("loss_pct")))))
    if bookkeeping:
        added = bookkeeping.get("reqprof_added_ns")
        calls = bookkeeping.get("reqprof_syscalls_per_request")
        out.append(target_line(
            added is not None and added <= UNSAMPLED_REQUEST_NS_MAX
            and calls is not None and calls < 0.01,
            "server-thread cost of an unsampled request ≤ %d ns with parsing, "
            "no system call: %s ns, %s system calls per request." % (
                UNSAMPLED_REQUEST_NS_MAX, fmt(added, "%.0f"),
                fmt(calls, "%.4f", "not counted (no strace)"))))
    report_us = writer_report_us(work)
    if report_us is not None:
        out.append(target_line(report_us <= WRITER_REPORT_US_MAX,
                               "writer ≤ %d µs per report: %.1f µs (workload 1, "
                               "text, tmpfs)." % (WRITER_REPORT_US_MAX, report_us)))
    line_us = writer_index_line_us(nginx_workloads)
    if line_us is not None:
        out.append(target_line(line_us <= WRITER_INDEX_LINE_US_MAX,
                               "writer ≤ %g µs per index line: %.2f µs (nginx, "
                               "REQPROF_MIN_DURATION, the worse workload)." % (
                                   WRITER_INDEX_LINE_US_MAX, line_us)))
    if memory and 256 in memory:
        added = memory[256]["added_kib"] / 1024
        out.append(target_line(added <= ADDED_MEMORY_256_MIB_MAX,
                               "added memory, 256 threads ≤ %d MiB: %.1f MiB." % (
                                   ADDED_MEMORY_256_MIB_MAX, added)))
    if work:
        p99 = work["summary"]["reqprof"]["p99_pct"]
        out.append(target_line(p99 is not None and p99 <= 3.0,
                               "(earlier target) CPU-bound p99 latency within 3%% "
                               "of the baseline: %s." % signed(p99)))
    out.append("")
    return out


def render_fork(forks):
    out = ["## 4. A fork per connection\n",
           "bench/fork_cost: a parent forks a child that calls `exit(0)` at "
           "once, and waits for it, %d times a try, best of 3 tries' medians; "
           "both on the server CPU; CPU times are averages over all forks. "
           "*accepted only*: the parent accepted a "
           "connection and forked, as busybox httpd's does (reqprof starts "
           "nothing in it); *served a request*: it also served one, so "
           "reqprof's writer thread runs in it. Page faults are a child's, "
           "from its start to its exit (copy-on-write and first touches of "
           "mapped files): they do not move with the machine's load, CPU "
           "times less than wall times.\n" % forks["forks"]]
    rows = []
    for name, label in (("baseline", "no profiler"),
                        ("reqprof", "reqprof, the parent accepted only"),
                        ("reqprof-served", "reqprof, the parent served a request")):
        row = forks["configs"][name]
        rows.append([label] + [fmt(row.get(key), "%.0f") for key in (
            "fork_us", "fork_exit_us", "parent_cpu_us", "child_cpu_us",
            "child_faults")])
    out += markdown_table(["parent", "fork µs", "fork + exit + wait µs",
                           "parent's CPU µs per fork", "child's CPU µs",
                           "page faults per child"], rows)
    out.append("")
    return out


def render(args, machine, versions, elapsed, work, burn, nginx_workloads,
           micro, bookkeeping, memory, state_size, forks):
    out = render_header(args, machine, versions, elapsed)
    if work:
        out += render_cpu_bound(work)
    if burn:
        out += render_burn(burn)
    if nginx_workloads:
        out += render_tiny_requests(nginx_workloads, versions)
    out += render_inside(micro, bookkeeping, nginx_workloads)
    if work or nginx_workloads:
        out += render_writer(work, nginx_workloads)
    if memory:
        out += render_memory(memory, state_size)
    if forks:
        out += render_fork(forks)
    out += render_targets(work, nginx_workloads, bookkeeping, memory)
    return "\n".join(out)


# ---------------------------------------------------------------- main

PARTS = ("cpu", "burn", "nginx", "inside", "fork")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--quick", action="store_true",
                        help="one short round of everything")
    parser.add_argument("--results", help="where the tables go (default: "
                        "bench/RESULTS.md, but not with --only)")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--only", help="comma-separated parts to run, of: %s "
                        "(for development: RESULTS.md gets only those)" % ", ".join(PARTS))
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 5)
    args.seconds = args.seconds or (2.0 if args.quick else 5.0)
    # nginx's rows are many and its rate high: a shorter run counts plenty
    # of requests, and keeps the whole benchmark near 11 minutes.
    args.nginx_seconds = min(args.seconds, 3.0)
    args.warmup = 1  # wrk takes whole seconds
    parts = set(args.only.split(",")) if args.only else set(PARTS)
    if not parts <= set(PARTS):
        parser.error("--only takes some of: %s" % ", ".join(PARTS))

    started = time.monotonic()
    machine = Machine()
    tools = Tools(args.build)
    for path in (tools.library, tools.floor, tools.work_server,
                 tools.sample_cost, tools.bookkeeping_cost, tools.test_server,
                 tools.fork_cost):
        if not os.path.exists(path):
            sys.exit("bench: %s is missing: run make bench" % path)
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing: run bench/install-deps as root")
    versions = describe_versions(tools)
    log("bench: %s" % machine.description())

    profilers, missing = [], {}
    if tools.libprofiler:
        profilers.append("gperftools")
    else:
        missing["gperftools"] = "libprofiler.so.0 not found (libgoogle-perftools4)"
    if tools.perf_reason is None:
        profilers.append("perf")
    else:
        missing["perf"] = tools.perf_reason

    work = None
    if "cpu" in parts:
        rounds_n = int(subprocess.run(
            [tools.work_server, "--calibrate", str(WORK_MS)],
            stdout=subprocess.PIPE, check=True, text=True, **machine.server()).stdout)
        log("bench: 1. CPU-bound requests (%d ms of work is %d rounds here)"
            % (WORK_MS, rounds_n))
        workload = {"name": "work", "path": "/work?n=%d" % rounds_n,
                    "start": our_server(machine, [tools.work_server, "--port", "0"]),
                    "rps_format": "%.1f", "latency_format": "%.1f",
                    "cpu_format": "%.0f", "rounds_n": rounds_n, "missing": missing}
        work = run_workload(machine, tools, workload,
                            ["baseline", "floor", "reqprof", "reqprof-json",
                             "reqprof-disk"] + profilers,
                            args.rounds, args.warmup, args.seconds)

    burn = None
    if "burn" in parts and not args.quick:
        log("bench: 1b. the test server's /burn route")
        workload = {"name": "burn", "path": "/burn?ms=%d" % WORK_MS,
                    "start": our_server(machine, [tools.test_server, "--port", "0"]),
                    "rps_format": "%.1f", "latency_format": "%.1f",
                    "cpu_format": "%.0f"}
        # Two rounds: it shows why workload 1 exists, it has no target.
        burn = run_workload(machine, tools, workload, ["baseline", "floor", "reqprof"],
                            2, args.warmup, 4.0)

    nginx_workloads = []
    if "nginx" in parts and os.path.exists(NGINX):
        for name, path, short, title in (
                ("nginx-static", "/small.txt", "static file",
                 "2a. nginx, a 20-byte static file (`GET /small.txt`, sendfile)"),
                ("nginx-return", "/ok", "return 200",
                 "2b. nginx, `return 200 \"ok\\n\"` (`GET /ok`)")):
            log("bench: %s" % title)
            workload = {"name": name, "path": path, "short": short, "title": title,
                        "start": start_nginx(machine), "min_duration": NGINX_MIN_DURATION,
                        "rps_format": "%.0f", "latency_format": "%.3f",
                        "cpu_format": "%.1f", "missing": missing}
            nginx_workloads.append(run_workload(
                machine, tools, workload,
                ["baseline", "floor", "reqprof", "reqprof-min"] + profilers,
                args.rounds, args.warmup, args.nginx_seconds))
    elif "nginx" in parts:
        log("bench: nginx is missing: workload 2 skipped")

    micro = bookkeeping = memory = state_size = None
    if "inside" in parts:
        log("bench: 3. one sample, an unsampled request, memory")
        micro = run_sample_cost(tools, 1 if args.quick else 3)
        bookkeeping = run_bookkeeping_cost(machine, tools, 3 if args.quick else 7)
        memory = run_memory(machine, tools, (1, 16, 256), 1 if args.quick else 3)
        state_size = thread_state_bytes()

    forks = None
    if "fork" in parts:
        log("bench: 4. a fork per connection")
        fork_count = 300 if args.quick else 1000
        forks = {"forks": fork_count,
                 "configs": run_fork_cost(machine, tools, args.rounds, fork_count)}

    text = render(args, machine, versions, time.monotonic() - started, work, burn,
                  nginx_workloads, micro, bookkeeping, memory, state_size, forks)
    print(text)
    results = args.results or (None if args.only else os.path.join(HERE, "RESULTS.md"))
    if results:
        with open(results, "w") as f:
            f.write(text)
        log("bench: written to %s" % os.path.relpath(results))


if __name__ == "__main__":
    try:
        main()
    finally:
        for directory in SCRATCH:
            shutil.rmtree(directory, ignore_errors=True)
