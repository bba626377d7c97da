#!/usr/bin/env python3
"""What reqprof costs, measured side by side with a run without it and with
the profilers one would otherwise use, all in one run on this machine.

    bench/run.py [--build DIR] [--quick] [--results FILE]

`make bench` runs it after building (and `make bench BENCH_QUICK=1` with
--quick: one short round of everything, for iterating). It prints a table
and writes it, with the date and the machine, to bench/RESULTS.md.

The workloads (each a ratio to the same workload without any profiler):

1. CPU-bound requests: bench/work_server, GET /work doing a fixed amount of
   work calibrated to about 5 ms here, wrk with 16 connections. Configs:
   baseline (no profiler); floor (bench/libfloor.so: only reqprof's per-
   thread 1 ms timer with an empty handler); reqprof at 1 ms with text
   reports (the default) and with JSON; gperftools' libprofiler
   (CPUPROFILE_FREQUENCY=1000); perf record -g -e cpu-clock -F 1000.
   Why not the test server's /burn route: its work stops at a deadline on
   the thread's CPU clock, which also counts the time spent delivering and
   handling a profiler's signal on that thread, so the cost hides (workload
   1b shows it).
2. Tiny requests: nginx serving a 20-byte static file, baseline and
   reqprof, same wrk.
3. Inside reqprof: one sample in the handler by stack depth
   (bench/sample_cost), the per-request bookkeeping on a server thread
   (bench/bookkeeping_cost), the writer's CPU per report (from workloads 1
   and 2), and resident memory with 1, 16 and 256 open keep-alive
   connections to the test server.

The server and everything it runs (reqprof's writer thread, perf record)
are pinned to CPU 0, wrk to CPU 1, when there are two CPUs or more. Each
workload's configs run round-robin, the order rotating each round, so that
noise from the rest of the machine hits all alike; the tables show the
median over rounds, and losses are the median of each round's loss against
that round's baseline. Nothing here asserts a speed: the benchmark reports,
it does not pass or fail (the targets are shown met or missed).
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


def children_of(pid):
    found = []
    for task in glob.glob("/proc/%d/task/*/children" % pid):
        try:
            with open(task) as f:
                found += [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            pass
    return found


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
    """A fresh directory, enterable by every user (nginx's workers run as
    nobody), for one run's reports. On this VM's journal-less ext4, creating
    a file costs tens of µs more for minutes after many files were deleted
    (the inode allocator skips recently deleted inodes one by one), which
    would make each run pay for the files the previous runs removed."""
    parent = None if on_disk or not os.access(SHM, os.W_OK) else SHM
    directory = scratch_directory("reqprof-bench-reports-", parent)
    os.chmod(directory, 0o755)
    return directory


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

def index_lines(report_dir):
    try:
        with open(os.path.join(report_dir, "index.tsv")) as f:
            return [line.rstrip("\n").split("\t") for line in f if line.strip()]
    except OSError:
        return []


def wait_index_settled(report_dir, expected, timeout=10.0):
    """Waits until index.tsv has expected lines or stops growing; returns
    its lines."""
    deadline = time.monotonic() + timeout
    previous, still = -1, 0
    while time.monotonic() < deadline:
        count = len(index_lines(report_dir))
        if count >= expected:
            break
        still = still + 1 if count == previous else 0
        if still >= 10:  # 1 s without a new line
            break
        previous = count
        time.sleep(0.1)
    return index_lines(report_dir)


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
        "libunwind": "libunwind8 " + package("libunwind8"),
    }


# ---------------------------------------------------------------- one run

def run_cpu_bound(machine, tools, config, server_command, path, warmup, seconds):
    """One run of a CPU-bound workload under config; returns its numbers."""
    workdir = scratch_directory("reqprof-bench-")
    reports = report_root(on_disk=config == "reqprof-disk")
    report_dir = os.path.join(reports, "reqprof")
    env = {}
    name = config
    if config == "floor":
        env["LD_PRELOAD"] = tools.floor
    elif config.startswith("reqprof"):
        env.update({"LD_PRELOAD": tools.library, "REQPROF_DIR": report_dir,
                    "REQPROF_INTERVAL": "1ms",
                    "REQPROF_OUTPUT": "json" if config == "reqprof-json" else "text"})
    elif config == "gperftools":
        env.update({"LD_PRELOAD": tools.libprofiler,
                    "CPUPROFILE": os.path.join(workdir, "cpu.prof"),
                    "CPUPROFILE_FREQUENCY": "1000"})
    result = {"config": name}
    served = 0
    server = Server(machine, server_command, clean_environment(env), workdir)
    perf = None
    try:
        warm = wrk(machine, server.url(path), warmup)
        if config == "perf":
            perf = subprocess.Popen(
                ["perf", "record", "-g", "-e", "cpu-clock", "-F", "1000",
                 "-p", str(server.pid), "-o", os.path.join(workdir, "perf.data")],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                **machine.server())
            time.sleep(0.5)  # attached: perf opens its events first
        cpu_before = process_cpu_seconds(server.pid)
        writer_before = thread_cpu_seconds(server.pid, "reqprof-writer")
        measured = wrk(machine, server.url(path), seconds)
        cpu_after = process_cpu_seconds(server.pid)
        writer_after = thread_cpu_seconds(server.pid, "reqprof-writer")
        result.update({k: measured[k] for k in ("requests", "rps", "p50_ms",
                                                "p99_ms", "errors")})
        result["cpu_per_request_us"] = (
            (cpu_after - cpu_before) * 1e6 / measured["requests"]
            if measured["requests"] else None)
        served = warm["requests"] + measured["requests"]
        if perf is not None:
            perf.send_signal(signal.SIGINT)
            _, status, usage = os.wait4(perf.pid, 0)
            perf.returncode = os.waitstatus_to_exitcode(status)
            error = perf.stderr.read()
            match = re.search(r"\((\d+) samples\)", error)
            result["samples_per_request"] = (
                int(match.group(1)) / measured["requests"]
                if match and measured["requests"] else None)
            result["profiler_cpu_s"] = usage.ru_utime + usage.ru_stime
        if config.startswith("reqprof"):
            lines = wait_index_settled(report_dir, served)
            result["reports"] = len(lines)
            result["served"] = served
            if writer_before is not None and writer_after is not None and lines:
                # The writer's time over the measured run, per report it
                # wrote for that run's requests (≈ requests of the run).
                result["writer_us_per_report"] = (
                    (writer_after - writer_before) * 1e6 / measured["requests"])
            if config == "reqprof-json":
                taken, weighted = json_sample_counts(report_dir)
                if taken:
                    result["samples_per_request"] = statistics.mean(taken)
                    result["weighted_per_request"] = statistics.mean(weighted)
    finally:
        if perf is not None and perf.poll() is None:
            perf.kill()
            perf.wait()
        server.stop()
    if config == "floor":
        match = re.search(r"floor: (\d+) signals", server.stderr())
        if match and served:
            result["samples_per_request"] = int(match.group(1)) / served
    if config == "gperftools":
        samples = gperftools_samples(os.path.join(workdir, "cpu.prof"))
        if samples is not None and served:
            result["samples_per_request"] = samples / served
    result["stderr"] = [line for line in server.stderr().splitlines()
                        if "reqprof" in line]
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.rmtree(reports, ignore_errors=True)
    return result


NGINX_CONFIG = """\
worker_processes 1;
%(user)s
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
    default_type application/octet-stream;
    sendfile on;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:%(port)d;
        root %(dir)s/html;
    }
}
"""


# The production setting of workload 2's second reqprof row: only requests
# this long get report files, the rest an index line.
NGINX_MIN_DURATION = "50ms"


def run_nginx(machine, tools, config, warmup, seconds):
    """One run of nginx serving the small file; as in test/e2e/servers.py, a
    working directory every user may enter, so that the worker (nobody,
    when started as root) can write reqprof's reports."""
    workdir = scratch_directory("reqprof-bench-nginx-")
    os.chmod(workdir, 0o755)
    os.makedirs(os.path.join(workdir, "html"))
    os.chmod(os.path.join(workdir, "html"), 0o755)
    with open(os.path.join(workdir, "html", "small.txt"), "w") as f:
        f.write("a small static file\n")
    os.chmod(os.path.join(workdir, "html", "small.txt"), 0o644)
    port = free_port()
    config_path = os.path.join(workdir, "nginx.conf")
    with open(config_path, "w") as f:
        f.write(NGINX_CONFIG % {
            "dir": workdir, "port": port,
            "user": "user nobody nogroup;" if os.geteuid() == 0 else ""})
    reports = report_root()
    report_dir = os.path.join(reports, "reqprof")
    env = {}
    if config.startswith("reqprof"):
        env.update({"LD_PRELOAD": tools.library, "REQPROF_DIR": report_dir,
                    "REQPROF_INTERVAL": "1ms", "REQPROF_OUTPUT": "text"})
    if config == "reqprof-min":
        env["REQPROF_MIN_DURATION"] = NGINX_MIN_DURATION
    server = Server(machine, [NGINX, "-p", workdir, "-c", config_path,
                              "-e", "stderr", "-g", "daemon off;"],
                    clean_environment(env), workdir, port=port,
                    stop_signal=signal.SIGQUIT)
    result = {"config": config}
    try:
        url = server.url("/small.txt")
        warm = wrk(machine, url, warmup)
        workers = children_of(server.pid)
        cpu_before = sum(process_cpu_seconds(p) for p in workers)
        writer_before = sum(thread_cpu_seconds(p, "reqprof-writer") or 0 for p in workers)
        measured = wrk(machine, url, seconds)
        cpu_after = sum(process_cpu_seconds(p) for p in workers)
        writer_after = sum(thread_cpu_seconds(p, "reqprof-writer") or 0 for p in workers)
        result.update({k: measured[k] for k in ("requests", "rps", "p50_ms",
                                                "p99_ms", "errors")})
        result["cpu_per_request_us"] = (cpu_after - cpu_before) * 1e6 / max(1, measured["requests"])
        served = warm["requests"] + measured["requests"]
        if config.startswith("reqprof"):
            lines = wait_index_settled(report_dir, served, timeout=15)
            result["reports"] = len(lines)
            result["served"] = served
            result["writer_us_per_request"] = (writer_after - writer_before) * 1e6 / max(1, measured["requests"])
    finally:
        server.stop()
    result["stderr"] = [line for line in server.stderr().splitlines()
                        if "reqprof" in line]
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.rmtree(reports, ignore_errors=True)
    return result


def run_rounds(label, configs, rounds, run_one):
    """Runs every config once per round, the order rotating each round."""
    results = {config: [] for config in configs}
    for round_number in range(rounds):
        order = configs[round_number % len(configs):] + configs[:round_number % len(configs)]
        for config in order:
            log("  %s round %d/%d: %s" % (label, round_number + 1, rounds, config))
            results[config].append(run_one(config))
    return results


# ---------------------------------------------------------------- summaries

def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(results, baseline="baseline"):
    """Per config: medians of its runs, and the median over rounds of its
    loss (throughput) and growth (p50, p99) against the same round's
    baseline."""
    summary = {}
    base_runs = results[baseline]
    for config, runs in results.items():
        row = {"runs": len(runs)}
        for key in ("rps", "p50_ms", "p99_ms", "cpu_per_request_us",
                    "samples_per_request", "weighted_per_request",
                    "writer_us_per_report", "writer_us_per_request",
                    "profiler_cpu_s"):
            row[key] = median([run.get(key) for run in runs])
        row["errors"] = sum(run.get("errors", 0) for run in runs)
        losses, p50s, p99s = [], [], []
        for run, base in zip(runs, base_runs):
            if base["rps"] and run["rps"]:
                losses.append(100.0 * (1 - run["rps"] / base["rps"]))
            if base.get("p50_ms") and run.get("p50_ms"):
                p50s.append(100.0 * (run["p50_ms"] / base["p50_ms"] - 1))
            if base.get("p99_ms") and run.get("p99_ms"):
                p99s.append(100.0 * (run["p99_ms"] / base["p99_ms"] - 1))
        row["loss_pct"] = median(losses)
        row["loss_spread"] = (min(losses), max(losses)) if losses else None
        row["p50_pct"] = median(p50s)
        row["p99_pct"] = median(p99s)
        if "reports" in runs[0]:
            row["reports"] = sum(run["reports"] for run in runs)
            row["served"] = sum(run["served"] for run in runs)
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


# ---------------------------------------------------------------- micro and memory

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


def run_bookkeeping_cost(tools, rounds):
    """bench/bookkeeping_cost: ns per request of the parser, of the timer's
    arming and disarming, and of one thread CPU clock read (medians)."""
    values = {}
    for _ in range(rounds):
        fields = subprocess.run([tools.bookkeeping_cost], stdout=subprocess.PIPE,
                                check=True, text=True).stdout.split()
        for key, value in zip(fields[::2], fields[1::2]):
            values.setdefault(key, []).append(float(value))
    return {key: median(v) for key, v in values.items()}


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
    """sizeof(struct rp_thread): the most one server thread's reqprof state
    can hold resident (its ring, once every slot was used)."""
    with tempfile.TemporaryDirectory() as scratch:
        source = os.path.join(scratch, "size.c")
        with open(source, "w") as f:
            f.write('#include <stdio.h>\n#include "thread.h"\n'
                    'int main(void) { printf("%zu %zu\\n", sizeof(struct rp_thread),'
                    ' sizeof(struct rp_record)); return 0; }\n')
        program = os.path.join(scratch, "size")
        built = subprocess.run(["cc", "-D_GNU_SOURCE", "-I", os.path.join(ROOT, "preload"),
                                "-o", program, source],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if built.returncode != 0:
            return None
        thread, record = subprocess.run([program], stdout=subprocess.PIPE,
                                        text=True).stdout.split()
        return int(thread), int(record)


# ---------------------------------------------------------------- report

def target_line(met, text):
    return "- %s %s" % ("**met**" if met else "**missed**", text)


def render(args, machine, tools, versions, started, elapsed, work_rounds, work,
           burn, nginx, micro, bookkeeping, memory, state_size):
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
    out.append("- Load: `wrk -t1 -c%d`, %s s per run after a %s s warm-up on "
               "the same server; %d rounds, configs in rotating order; "
               "medians over rounds." % (CONNECTIONS, fmt(args.seconds, "%g"),
                                         fmt(args.warmup, "%g"), work_rounds))
    out.append("- Versions: %s." % "; ".join("%s" % v for v in versions.values()))
    out.append("- reqprof: `REQPROF_INTERVAL=1ms`, reports written as text "
               "(the default) unless the row says json, into a directory on "
               "%s%s.\n" % (
                   "tmpfs (%s)" % SHM if os.access(SHM, os.W_OK) else tempfile.gettempdir(),
                   "; the *on disk* row writes them to %s (%s)" % (
                       tempfile.gettempdir(), filesystem_of(tempfile.gettempdir()))
                   if os.access(SHM, os.W_OK) else ""))
    out.append("- Why the numbers are what they are, and what it would take "
               "to meet the targets missed: bench/README.md.\n")

    # Workload 1.
    base = work["summary"]["baseline"]
    out.append("## 1. CPU-bound requests\n")
    out.append("bench/work_server, `GET /work?n=%d` (a fixed %d ms of work, "
               "calibrated here), thread per connection. Loss and growth "
               "are against the same round's baseline.\n" % (work["rounds_n"], WORK_MS))
    out.append("| config | req/s | loss | p50 ms | p99 ms | p99 vs base | "
               "server CPU/req µs | samples/req | µs per sample |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    labels = {
        "baseline": "baseline (no profiler)",
        "floor": "floor: empty 1 ms timer signal",
        "reqprof": "reqprof 1 ms, text reports",
        "reqprof-json": "reqprof 1 ms, json reports",
        "reqprof-disk": "reqprof 1 ms, text reports on disk",
        "reqprof-min": "reqprof 1 ms, REQPROF_MIN_DURATION=%s" % NGINX_MIN_DURATION,
        "gperftools": "gperftools libprofiler, 1000 Hz asked",
        "perf": "perf record -g -e cpu-clock -F 1000",
    }
    for config in work["configs"]:
        row = work["summary"][config]
        is_base = config == "baseline"
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            labels.get(config, config), fmt(row["rps"]),
            "–" if is_base else signed(row["loss_pct"]),
            fmt(row["p50_ms"]), fmt(row["p99_ms"]),
            "–" if is_base else signed(row["p99_pct"]),
            fmt(row["cpu_per_request_us"], "%.0f"),
            fmt(row["samples_per_request"], "%.2f"),
            fmt(row["us_per_sample"], "%.2f")))
    for config in work["missing"]:
        out.append("| %s | unavailable: %s |||||||| " % (labels.get(config, config),
                                                       work["missing"][config]))
    out.append("")
    out.append("- *samples/req*: signals handled per request (reqprof: "
               "timeline points of its JSON reports, the same sampling as "
               "with text; floor: its handler's count; gperftools: samples in "
               "its profile; perf: samples it wrote). *µs per sample*: the "
               "extra time per request on the saturated server CPU, over "
               "samples/req: what one sample costs, all in.")
    spread = work["summary"]["reqprof"]["loss_spread"]
    if spread:
        out.append("- reqprof's loss ranged %.1f%% to %.1f%% over the rounds; "
                   "the floor's %s." % (spread[0], spread[1],
                   "%.1f%% to %.1f%%" % work["summary"]["floor"]["loss_spread"]
                   if work["summary"]["floor"]["loss_spread"] else "–"))
    for config in ("reqprof", "reqprof-json", "reqprof-disk"):
        row = work["summary"].get(config)
        if row and row.get("reports") is not None:
            out.append("- %s: %d reports for %d requests served; writer "
                       "thread %s µs of CPU per request, i.e. at most ~%s "
                       "reports/s from one core." % (
                           config, row["reports"], row["served"],
                           fmt(row["writer_us_per_report"]),
                           fmt(1e6 / row["writer_us_per_report"], "%.0f")
                           if row["writer_us_per_report"] else "–"))
    json_row = work["summary"].get("reqprof-json")
    if json_row and json_row.get("weighted_per_request"):
        out.append("- A request here lasts ~%s ms of wall time (16 threads "
                   "queue for one CPU) but runs ~%d ms: reqprof handles ~%s "
                   "signals per request and weights them (1 + timer overruns) "
                   "to %s samples, its wall time." % (
                       fmt(base["p50_ms"], "%.0f"), WORK_MS,
                       fmt(json_row["samples_per_request"], "%.1f"),
                       fmt(json_row["weighted_per_request"], "%.0f")))
    if work["summary"].get("perf", {}).get("profiler_cpu_s") is not None:
        out.append("- perf record's own process used %.2f s of CPU per run "
                   "(on the server's CPU), included above." %
                   work["summary"]["perf"]["profiler_cpu_s"])
    for config in work["configs"]:
        for line in work["summary"][config]["stderr"]:
            out.append("- %s said: `%s`" % (config, line))
    out.append("")

    # Targets.
    floor_loss = work["summary"]["floor"]["loss_pct"]
    reqprof_loss = work["summary"]["reqprof"]["loss_pct"]
    allowed = 1.2 * max(floor_loss, 0.0) + 0.5
    out.append("### Targets\n")
    out.append(target_line(reqprof_loss <= allowed,
                           "throughput loss ≤ 1.2 × the floor's + 0.5 point: "
                           "reqprof %.1f%%, floor %.1f%%, allowed %.1f%%." % (
                               reqprof_loss, floor_loss, allowed)))
    p99 = work["summary"]["reqprof"]["p99_pct"]
    out.append(target_line(p99 is not None and p99 <= 3.0,
                           "p99 latency within 3%% of the baseline: %s." % signed(p99)))
    if nginx:
        loss = nginx["summary"]["reqprof"]["loss_pct"]
        loss_min = nginx["summary"]["reqprof-min"]["loss_pct"]
        out.append(target_line(loss <= 1.0,
                               "tiny requests (nginx) lose ≤ 1%% of throughput: %.1f%% "
                               "(%.1f%% with REQPROF_MIN_DURATION=%s)."
                               % (loss, loss_min, NGINX_MIN_DURATION)))
    out.append("")

    if burn:
        out.append("## 1b. The test server's /burn route hides the cost\n")
        out.append("`test_server`, `GET /burn?ms=%d`: the route burns until the "
                   "thread's CPU clock has advanced %d ms, and that clock also "
                   "runs while the kernel delivers a profiler's signal to the "
                   "thread and while the handler runs. Whatever the profiler "
                   "costs on the request's thread is absorbed in the 5 ms, so "
                   "throughput barely moves; workload 1 does fixed work "
                   "instead.\n" % (WORK_MS, WORK_MS))
        out.append("| config | req/s | loss | p99 ms |")
        out.append("|---|---|---|---|")
        for config in burn["configs"]:
            row = burn["summary"][config]
            out.append("| %s | %s | %s | %s |" % (
                labels.get(config, config), fmt(row["rps"]),
                "–" if config == "baseline" else signed(row["loss_pct"]),
                fmt(row["p99_ms"])))
        out.append("")

    if nginx:
        out.append("## 2. Tiny requests: nginx and a 20-byte file\n")
        out.append("nginx %s, one worker, `GET /small.txt` (sendfile), "
                   "keep-alive. Most requests end long before a 1 ms sample "
                   "is due: what shows is interposition, request "
                   "bookkeeping, and a report per request. With "
                   "`REQPROF_MIN_DURATION` (the production setting) a fast "
                   "request costs an index line instead of a report file: "
                   "*reports written* then counts the index lines.\n" % versions["nginx"].split("/")[-1])
        out.append("| config | req/s | loss | p50 ms | p99 ms | worker CPU/req µs | "
                   "of which the writer | reports written / requests served |")
        out.append("|---|---|---|---|---|---|---|---|")
        for config in nginx["configs"]:
            row = nginx["summary"][config]
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                labels.get(config, config), fmt(row["rps"], "%.0f"),
                "–" if config == "baseline" else signed(row["loss_pct"]),
                fmt(row["p50_ms"], "%.3f"), fmt(row["p99_ms"], "%.3f"),
                fmt(row["cpu_per_request_us"]),
                fmt(row.get("writer_us_per_request")),
                "%d / %d" % (row["reports"], row["served"])
                if row.get("reports") is not None else "–"))
        for line in nginx["summary"]["reqprof"]["stderr"]:
            out.append("\n- reqprof said: `%s`" % line)
        out.append("")

    out.append("## 3. Inside reqprof\n")
    out.append("### One sample in the signal handler\n")
    out.append("bench/sample_cost: reqprof's own handler, called from a "
               "signal handler on a real signal frame while a request is "
               "open, timed around the call (unwind, ring slot, clock). The "
               "kernel's share of a signal is the floor's, above.\n")
    out.append("| stack depth (frames) | median µs | p99 µs | samples |")
    out.append("|---|---|---|---|")
    for depth, row in micro.items():
        out.append("| %s | %s | %s | %d |" % (
            "empty call (the timing itself)" if depth == 0 else depth,
            fmt(row["median_us"], "%.2f"), fmt(row["p99_us"], "%.2f"),
            row["samples"]))
    out.append("")
    out.append("### Request bookkeeping on the server's thread\n")
    out.append("bench/bookkeeping_cost, the pieces reqprof adds to every "
               "request, however short:\n")
    out.append("| what | per request |")
    out.append("|---|---|")
    out.append("| parse the request and the response head (wrk's 50-byte "
               "request, nginx's 237-byte head) | %s µs |" % fmt(
                   bookkeeping.get("parse_ns", 0) / 1000, "%.2f"))
    out.append("| arm and disarm the thread's timer (two `timer_settime`) "
               "| %s µs |" % fmt(bookkeeping.get("timer_pair_ns", 0) / 1000, "%.2f"))
    out.append("| read the thread's CPU clock twice (a system call each: the "
               "vDSO serves no thread CPU clock) | %s µs |" % fmt(
                   2 * bookkeeping.get("cpu_clock_ns", 0) / 1000, "%.2f"))
    if nginx:
        out.append("\nnginx spends %s µs of CPU on a request here without a "
                   "profiler." % fmt(nginx["summary"]["baseline"]["cpu_per_request_us"]))
    out.append("")
    out.append("### The writer\n")
    for config, label in (("reqprof", "text"), ("reqprof-json", "json"),
                          ("reqprof-disk", "text on disk")):
        row = work["summary"].get(config)
        if row and row.get("writer_us_per_report"):
            out.append("- Workload 1, %s reports (~%s samples each): %s µs "
                       "of writer CPU per report, ~%s reports/s per core." % (
                           label, fmt(json_row["weighted_per_request"] if json_row else None, "%.0f"),
                           fmt(row["writer_us_per_report"]),
                           fmt(1e6 / row["writer_us_per_report"], "%.0f")))
    if nginx and nginx["summary"]["reqprof"].get("writer_us_per_request"):
        row = nginx["summary"]["reqprof"]
        out.append("- nginx, text reports with no samples: %s µs of writer CPU "
                   "per request served; it wrote %d reports for %d requests." % (
                       fmt(row["writer_us_per_request"]), row["reports"], row["served"]))
    out.append("- Compression reuses zlib streams (`deflateReset`), not a "
               "`compress2` per report; reports under 4 KiB are stored in "
               "their gzip uncompressed (they take one file system block "
               "either way).\n")
    out.append("### Resident memory\n")
    out.append("test_server, VmRSS with N keep-alive connections open (one "
               "thread each), each having served one `GET /burn?ms=2`, after "
               "reqprof wrote every report.\n")
    out.append("| connections | without reqprof | with reqprof | added |")
    out.append("|---|---|---|---|")
    for count, row in memory.items():
        out.append("| %d | %s MiB | %s MiB | %s MiB |" % (
            count, fmt(row["baseline_kib"] / 1024, "%.1f"),
            fmt(row["reqprof_kib"] / 1024, "%.1f"),
            fmt(row["added_kib"] / 1024, "%.1f")))
    if state_size:
        thread, record = state_size
        out.append("\nA thread's reqprof state is an anonymous mapping of %d "
                   "KiB (its ring: %d slots of %d bytes); only the slots a "
                   "thread has used are resident, so a long-lived thread "
                   "that has filled its ring once holds all %d KiB." % (
                       thread // 1024, 128, record, thread // 1024))
    out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------- main

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--quick", action="store_true",
                        help="one short round of everything")
    parser.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seconds", type=float)
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 5)
    args.seconds = args.seconds or (2.0 if args.quick else 5.0)
    args.warmup = 1  # wrk takes whole seconds

    started = time.monotonic()
    machine = Machine()
    tools = Tools(args.build)
    for path in (tools.library, tools.floor, tools.work_server,
                 tools.sample_cost, tools.bookkeeping_cost, tools.test_server):
        if not os.path.exists(path):
            sys.exit("bench: %s is missing: run make bench" % path)
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is missing: run bench/install-deps as root")
    versions = describe_versions(tools)
    log("bench: %s" % machine.description())

    rounds_n = int(subprocess.run(
        [tools.work_server, "--calibrate", str(WORK_MS)],
        stdout=subprocess.PIPE, check=True, text=True, **machine.server()).stdout)
    log("bench: %d ms of work is %d rounds here" % (WORK_MS, rounds_n))

    configs = ["baseline", "floor", "reqprof", "reqprof-json", "reqprof-disk"]
    missing = {}
    if tools.libprofiler:
        configs.append("gperftools")
    else:
        missing["gperftools"] = "libprofiler.so.0 not found (libgoogle-perftools4)"
    if tools.perf_reason is None:
        configs.append("perf")
    else:
        missing["perf"] = tools.perf_reason

    log("bench: 1. CPU-bound requests")
    work_path = "/work?n=%d" % rounds_n
    work_results = run_rounds("work", configs, args.rounds, lambda config: run_cpu_bound(
        machine, tools, config, [tools.work_server, "--port", "0"], work_path,
        args.warmup, args.seconds))
    work = {"configs": configs, "missing": missing, "rounds_n": rounds_n,
            "summary": summarize(work_results)}

    burn = None
    if not args.quick:
        log("bench: 1b. the test server's /burn route")
        burn_configs = ["baseline", "floor", "reqprof"]
        burn_results = run_rounds("burn", burn_configs, 3, lambda config: run_cpu_bound(
            machine, tools, config, [tools.test_server, "--port", "0"],
            "/burn?ms=%d" % WORK_MS, args.warmup, 4.0))
        burn = {"configs": burn_configs, "summary": summarize(burn_results)}

    nginx = None
    if os.path.exists(NGINX):
        log("bench: 2. tiny requests (nginx)")
        nginx_configs = ["baseline", "reqprof", "reqprof-min"]
        nginx_results = run_rounds("nginx", nginx_configs, args.rounds,
                                   lambda config: run_nginx(machine, tools, config,
                                                            args.warmup, args.seconds))
        nginx = {"configs": nginx_configs, "summary": summarize(nginx_results)}
    else:
        log("bench: nginx is missing: workload 2 skipped")

    log("bench: 3. one sample, memory")
    micro = run_sample_cost(tools, 1 if args.quick else 3)
    bookkeeping = run_bookkeeping_cost(tools, 3 if args.quick else 7)
    memory = run_memory(machine, tools, (1, 16, 256), 1 if args.quick else 3)
    state_size = thread_state_bytes()

    text = render(args, machine, tools, versions, started,
                  time.monotonic() - started, args.rounds, work, burn, nginx,
                  micro, bookkeeping, memory, state_size)
    print(text)
    with open(args.results, "w") as f:
        f.write(text)
    log("bench: written to %s" % os.path.relpath(args.results))


if __name__ == "__main__":
    try:
        main()
    finally:
        for directory in SCRATCH:
            shutil.rmtree(directory, ignore_errors=True)
