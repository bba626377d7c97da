"""End-to-end: pipelining past any fixed depth, and requests a server
refuses, against nginx from Debian.

nginx is the ground truth: the statuses it sent back on the wire, and the
requests its access log lists (one line for every request it answered,
refused ones included). reqprof's index must have a line for each, in the
same order, with the status nginx sent and the method and path it was
asked for (the first 511 bytes of a longer target).
"""

import os
import re
import socket
import subprocess
import tempfile
import time

import servers
from harness import BUILD, LIBRARY, Server, raw_exchange, response_statuses

# Requests pipelined in one write: nginx reads 1 KiB at a time, so ~30 of
# them are read ahead of their answers at any moment; the test server
# reads all it can.
PIPELINED = 1000
# What reqprof keeps of a target (RP_HTTP_TARGET_MAX - 1).
TARGET_KEPT = 511


def exchange(port, payload, timeout=10):
    """Sends payload, as much of it as the server takes before it answers
    and closes, and returns all it sent back until it closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and closed before taking it all
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    return data


def statuses_on_the_wire(data):
    """The status of every response in data, found by their status lines
    (bodies here are nginx's short pages, which hold none)."""
    return [int(line.split()[1]) for line in data.split(b"\r\n")
            if line.startswith(b"HTTP/1.")]


def access_log_statuses(server):
    """The status of each request in nginx's access log (combined format:
    the field after the quoted request line)."""
    return [int(line.split('"')[2].split()[0])
            for line in servers.nginx_access_log(server)]


def unescape(path):
    """An index path with its %XX escapes undone (docs/report-format.md)."""
    out, i = bytearray(), 0
    raw = path.encode("latin-1")
    while i < len(raw):
        if raw[i:i + 1] == b"%" and i + 3 <= len(raw):
            out.append(int(raw[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return bytes(out)


def indexed(server, count, timeout=20):
    """The index's lines once there are count of them (or the time is up),
    and a little later, for any line that should not be there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(server.index()) < count:
        time.sleep(0.05)
    time.sleep(0.3)
    return server.index()


def pipelined_lines(server, path):
    """Sends PIPELINED requests for path?n=0, 1... in one write; returns
    the statuses on the wire and the index's lines for them."""
    payload = b"".join(b"GET %s?n=%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                       % (path.encode(), n) for n in range(PIPELINED))
    wire = response_statuses(raw_exchange(server.port, payload,
                                          expect_responses=PIPELINED))
    return wire, indexed(server, PIPELINED)


def check_pipelined(path, wire, lines, stderr):
    assert wire == [200] * PIPELINED, "answered %d: %s" % (
        len(wire), sorted(set(wire)))
    # Requests read in one read may begin in the same microsecond, and
    # then the index's order is the writer's: the lines are compared as a
    # set, and their starts must follow the requests' order.
    got = sorted((line[2], line[3], int(line[4])) for line in lines)
    expected = sorted(("GET", "%s?n=%d" % (path, n), 200)
                      for n in range(PIPELINED))
    assert got == expected, (
        "index: %d lines, first wrong %s; stderr:\n%s" % (
            len(got), next((g for g, e in zip(got, expected) if g != e), None),
            stderr[-2000:]))
    start = {line[3]: int(line[0]) for line in lines}
    starts = [start["%s?n=%d" % (path, n)] for n in range(PIPELINED)]
    assert starts == sorted(starts), "starts out of the requests' order"


def indexed_all(server, timeout=20):
    """The index's lines once no more came for a second."""
    deadline = time.monotonic() + timeout
    lines = server.index()
    while time.monotonic() < deadline:
        time.sleep(1)
        more = server.index()
        if len(more) == len(lines):
            break
        lines = more
    return lines


def test_nginx_pipelined_requests_each_get_their_line():
    with servers.upstream() as upstream, \
            servers.nginx(upstream.port, access_log=True) as server:
        wire, lines = pipelined_lines(server, "/return")
        server.stop()
        logged = access_log_statuses(server)
        stderr = server.stderr()
    assert len(logged) == PIPELINED, "access log: %d lines" % len(logged)
    check_pipelined("/return", wire, lines, stderr)


def test_pipelined_requests_read_ahead_by_the_hundred_each_get_their_line():
    # The test server reads 32 KiB at a time: ~800 of these at once.
    with Server() as server:
        wire, lines = pipelined_lines(server, "/")
        check_pipelined("/", wire, lines, server.stderr())


def test_requests_read_ahead_past_the_room_are_counted_and_said_once():
    # 10,000 requests of ~50 bytes, all read before any is answered: past
    # the 256 KiB reqprof keeps for one connection. The first ones get
    # their lines, the rest are counted, and said, once; none gets a line
    # that is not its own.
    count = 10000
    payload = b"".join(b"GET /r?n=%d HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % n
                       for n in range(count))
    with servers.read_ahead_server() as server:
        wire = response_statuses(exchange(server.port, payload, timeout=30))
        lines = indexed_all(server)
        # At exit reqprof says how many it did not follow.
        server.stop()
        stderr = server.stderr()
    assert wire == [200] * count, "answered %d" % len(wire)
    followed = len(lines)
    assert 1000 < followed < count, "%d lines" % followed
    paths = sorted(int(line[3].split("=")[1]) for line in lines)
    assert paths == list(range(followed)), "lines for other requests"
    assert all(int(line[4]) == 200 for line in lines)
    assert stderr.count("pipelined more requests than reqprof keeps") == 1, \
        stderr[-2000:]
    unfollowed = re.search(r"(\d+) pipelined requests in all got no index",
                           stderr)
    assert unfollowed and int(unfollowed.group(1)) + followed == count, (
        "%d lines; stderr:\n%s" % (followed, stderr[-2000:]))


# Requests nginx refuses, each alone on its connection, with the method and
# the beginning of the target its index line must show.
BAD_REQUESTS = [
    ("bad chunk size", "POST", b"/return",
     b"POST /return HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\nbody\r\n0\r\n\r\n"),
    ("chunk data longer than its size", "POST", b"/return",
     b"POST /return HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"2\r\nbody\r\n0\r\n\r\n"),
    ("chunked, then gzip", "POST", b"/return",
     b"POST /return HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n"),
    ("binary header line", "GET", b"/return",
     b"GET /return HTTP/1.1\r\nHost: x\r\n\x01\x02\xff\x00: \x80\r\n\r\n"),
    ("control bytes in the target", "GET", b"/ret\x01urn",
     b"GET /ret\x01urn HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("10 MB header", "GET", b"/return",
     b"GET /return HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (10 << 20) +
     b"\r\n\r\n"),
    ("1 MB request line", "GET", b"/" + b"a" * (TARGET_KEPT - 1),
     b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
]


def test_nginx_refused_requests_get_the_status_nginx_sent():
    with servers.upstream() as upstream, \
            servers.nginx(upstream.port, access_log=True) as server:
        wire = []
        for name, _, _, payload in BAD_REQUESTS:
            # One at a time: their index lines are told apart by order.
            count = len(server.index())
            statuses = statuses_on_the_wire(exchange(server.port, payload))
            assert len(statuses) == 1, "%s: nginx answered %s" % (name,
                                                                 statuses)
            wire.append(statuses[0])
            indexed(server, count + 1, timeout=5)
        lines = indexed(server, len(BAD_REQUESTS))
        server.stop()
        logged = access_log_statuses(server)
        stderr = server.stderr()
    assert logged == wire, "access log %s, wire %s" % (logged, wire)
    got = [(line[2], unescape(line[3]), int(line[4])) for line in lines]
    expected = [(method, target, status) for (_, method, target, _), status
                in zip(BAD_REQUESTS, wire)]
    def short(line):
        return line and (line[0], line[1][:40], line[2])
    wrong = ["  %s: got %r, expected %r" % (case[0], short(g), short(e))
             for case, g, e in zip(BAD_REQUESTS, got + [None] * len(expected),
                                   expected) if g != e]
    assert len(got) == len(expected) and not wrong, (
        "index (%d lines) against what nginx was sent and answered:\n%s\n"
        "stderr:\n%s" % (len(got), "\n".join(wrong), stderr[-2000:]))


def test_a_fork_child_does_not_repeat_its_parents_count_of_unfollowed():
    # test/server/fork_after_read_ahead.c reads 20,000 pipelined requests
    # unanswered, then forks a child that exits with exit: the count of
    # requests not followed is the parent's, said at its own exit only.
    program = os.path.join(BUILD, "test", "fork_after_read_ahead")
    with tempfile.TemporaryDirectory() as workdir:
        result = subprocess.run([os.path.abspath(program)], cwd=workdir,
                                env=dict(os.environ, LD_PRELOAD=LIBRARY),
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    said = re.findall(r"(\d+) pipelined requests in all got no index",
                      result.stderr)
    assert len(said) == 1 and int(said[0]) > 0, result.stderr
