"""Helpers for end-to-end tests: real servers under LD_PRELOAD, real clients.

Every server is started by a test, listens on 127.0.0.1 only, writes its
reports into a fresh temporary directory and is stopped when the test ends,
whatever happens. Every wait is bounded.
"""

import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

# Taken out of the environment the tests' programs inherit: reqprof and
# its tool say of a REQPROF_* variable that is no setting that it is
# misspelt.
BUILD = os.environ.pop("REQPROF_BUILD", "build")
LIBRARY = os.path.abspath(os.path.join(BUILD, "libreqprof.so"))
TOOL = os.path.abspath(os.path.join(BUILD, "reqprof"))
TEST_SERVER = os.path.abspath(os.path.join(BUILD, "test", "test_server"))
WORK_SERVER = os.path.abspath(os.path.join(BUILD, "bench", "work_server"))


class Server:
    """The test server (or another program) running under reqprof.

    By default the program prints "listening on PORT" on stdout once it
    serves. A program that prints nothing of the kind (nginx, apache2...)
    is given port, the port its configuration listens on, and is taken as
    started once that port accepts connections; its stdout then goes to the
    stderr file too.

    workdir, when given, is a directory the caller made (to write the
    program's configuration into first); it becomes the program's working
    directory and is removed by cleanup() like a directory of our own.

    The program runs in a process group of its own, so that stop() also ends
    the processes it forked (workers, helpers) if they outlive it.
    stop_signal is what asks it to stop (nginx finishes gracefully on
    SIGQUIT, for example).
    """

    def __init__(self, env=None, command=None, preload=True, port=None,
                 workdir=None, stop_signal=signal.SIGTERM, start_timeout=10):
        self.workdir = workdir or tempfile.mkdtemp(prefix="reqprof-e2e-")
        self.report_dir = os.path.join(self.workdir, "reqprof")
        self.stop_signal = stop_signal
        environment = {k: v for k, v in os.environ.items()
                       if not k.startswith("REQPROF_")}
        if preload:
            environment["LD_PRELOAD"] = LIBRARY
        # Tests read the JSON report: it is the source of truth.
        environment["REQPROF_OUTPUT"] = "json"
        # Tests count reqprof's lines on stderr to check its warnings; the
        # line said when profiling starts has tests of its own
        # (test_install.py), which set REQPROF_QUIET=0.
        environment["REQPROF_QUIET"] = "1"
        environment.update(env or {})
        self.stderr_path = os.path.join(self.workdir, "stderr")
        self.stderr_file = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(
            command or [TEST_SERVER, "--port", "0"], cwd=self.workdir,
            env=environment,
            stdout=subprocess.PIPE if port is None else self.stderr_file,
            stderr=self.stderr_file, start_new_session=True)
        if port is None:
            line = self._read_line(timeout=start_timeout)
            if not line.startswith("listening on "):
                self.stop()
                raise AssertionError("server did not start: %r, stderr: %s"
                                     % (line, self.stderr()))
            self.port = int(line.split()[-1])
        else:
            self.port = port
            self.wait_accepting(start_timeout)

    def wait_accepting(self, timeout, port=None):
        """Waits until port (by default the server's) accepts connections."""
        port = port or self.port
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port),
                                         timeout=1).close()
                return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                status = self.process.poll()
                self.stop()
                raise AssertionError(
                    "%s did not start listening on 127.0.0.1:%d within %d s "
                    "(%s); its output:\n%s" % (
                        os.path.basename(self.process.args[0]), port,
                        timeout, "still running" if status is None else
                        "exit status %d" % status, self.stderr()))
            time.sleep(0.05)

    def _read_line(self, timeout):
        deadline = time.monotonic() + timeout
        line = b""
        fd = self.process.stdout.fileno()
        os.set_blocking(fd, False)
        while time.monotonic() < deadline and not line.endswith(b"\n"):
            try:
                chunk = os.read(fd, 1)
            except BlockingIOError:
                time.sleep(0.01)
                continue
            if not chunk:
                break
            line += chunk
        return line.decode(errors="replace").strip()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def stderr(self):
        if not self.stderr_file.closed:
            self.stderr_file.flush()
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_stderr(self, text, timeout=5):
        """Waits until stderr holds text; returns all of stderr."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and text not in self.stderr():
            time.sleep(0.05)
        return self.stderr()

    def index(self):
        """Lines of index.tsv, each split into its fields, in the order the
        requests began. The writer appends a line once the request's
        reports are written, and REQPROF_MAX_REPORTS holds reports until
        the end of their second, so readers sort the lines, as reqprof ls
        does (the sort is stable: a tie keeps the order written)."""
        path = os.path.join(self.report_dir, "index.tsv")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            lines = [line.rstrip("\n").split("\t") for line in f
                     if line.strip()]
        return sorted(lines, key=lambda line: int(line[0]))

    def wait_reports(self, count, timeout=10):
        """Waits until count requests are indexed, then a little more to
        catch any extra report that should not be there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.index()) < count:
            time.sleep(0.05)
        time.sleep(0.3)
        lines = self.index()
        assert len(lines) == count, "expected %d reports, got %d: %s" % (
            count, len(lines), [line[3] for line in lines])
        return [self.report(line[8]) for line in lines]

    def report(self, stem):
        """The JSON report of stem. No frame of reqprof's own may be in a
        server's stack, whichever test reads it."""
        with gzip.open(os.path.join(self.report_dir, stem + ".json.gz")) as f:
            report = json.load(f)
        own = own_frames(report["root"])
        assert not own, "reqprof's frames in %s: %s" % (stem, own)
        report["stem"] = stem
        return report

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        # Forked workers or helpers still there once their parent is gone.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr_file.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.cleanup()


def curl(*arguments, timeout=30):
    """Runs curl; returns its stdout. Fails the test if curl fails."""
    result = subprocess.run(["curl", "-sS", "--max-time", str(timeout)]
                            + list(arguments), capture_output=True,
                            timeout=timeout + 5)
    assert result.returncode == 0, "curl %s failed: %s" % (
        " ".join(arguments), result.stderr.decode(errors="replace"))
    return result.stdout.decode(errors="replace")


def keep_alive_requests(port, path, count, timeout=30):
    """Sends count GET requests for path one after the other on one
    keep-alive connection; returns how many responses came back whole."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    answered = 0
    try:
        for _ in range(count):
            connection.request("GET", path)
            connection.getresponse().read()
            answered += 1
    finally:
        connection.close()
    return answered


def wrk(url, seconds, connections=8, threads=1):
    """Runs wrk against url; returns the responses it counted ("N requests
    in ..."). Requests still in flight when it stops are not among them."""
    result = subprocess.run(
        ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, url],
        capture_output=True, text=True, timeout=seconds + 30)
    assert result.returncode == 0, "wrk failed: %s" % result.stderr
    match = re.search(r"(\d+) requests in", result.stdout)
    assert match, "no request count in wrk's output: %s" % result.stdout
    return int(match.group(1))


def raw_exchange(port, payload, expect_responses, timeout=10):
    """Sends payload in one write and reads until expect_responses complete
    HTTP responses (Content-Length bodies) arrived or the peer closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if count_responses(data) >= expect_responses:
                break
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def count_responses(data):
    count = 0
    while True:
        head_end = data.find(b"\r\n\r\n")
        if head_end < 0:
            return count
        length = 0
        for line in data[:head_end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(data) < head_end + 4 + length:
            return count
        data = data[head_end + 4 + length:]
        count += 1


def response_statuses(data):
    """Status codes of the complete responses (Content-Length bodies) in
    data, in order; interim 1xx responses are left out."""
    statuses = []
    while True:
        head_end = data.find(b"\r\n\r\n")
        if head_end < 0:
            return statuses
        lines = data[:head_end].split(b"\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(data) < head_end + 4 + length:
            return statuses
        status = int(lines[0].split()[1])
        if status >= 200:
            statuses.append(status)
        data = data[head_end + 4 + length:]


def own_frames(node):
    """The functions of libreqprof.so in a report's tree."""
    own = [node["function"]] if node.get("object") == "libreqprof.so" else []
    for child in node["children"]:
        own += own_frames(child)
    return own


def function_total(node, name):
    """Samples under frames of function name, each sample counted once even
    when the function recurses."""
    if node["function"] == name:
        return node["total"]
    return sum(function_total(child, name) for child in node["children"])


def shared_nodes(node):
    """The "[shared: N requests]" nodes at the top of a report's tree."""
    return [child for child in node["children"]
            if child["function"].startswith("[shared: ")]


def burn_in(report, function):
    """Samples of function in report: its own (outside the shared nodes),
    and its share of work shared among requests open together."""
    share = sum(function_total(node, function)
                for node in shared_nodes(report["root"]))
    return function_total(report["root"], function) - share, share


def share(report, name):
    return function_total(report["root"], name) / max(report["root"]["total"], 1)


def functions(node):
    """Every function name in the tree."""
    names = {node["function"]}
    for child in node["children"]:
        names |= functions(child)
    return names


BROWSER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "..", "browser")


def run_browser_test(script, *arguments):
    """Runs test/browser/SCRIPT under node with arguments: headless
    chromium through a report page. Fails unless all its checks passed."""
    assert shutil.which("node") and os.path.exists("/usr/bin/chromium"), \
        "node and chromium are needed: run test/install-deps"
    assert os.path.isdir(os.path.join(BROWSER_DIR, "node_modules",
                                      "playwright-core")), \
        "playwright-core is missing: run test/install-deps"
    result = subprocess.run(["node", script] + list(arguments),
                            capture_output=True, timeout=110, cwd=BROWSER_DIR)
    output = result.stdout.decode(errors="replace")
    summary = [l for l in output.splitlines() if l.endswith(" failed")]
    assert summary and summary[-1].endswith(" 0 failed") and \
        result.returncode == 0, "browser test %s:\n%s%s" % (
            script, output, result.stderr.decode(errors="replace"))
