"""End-to-end: real servers under reqprof (servers.py starts them).

Each server gets the same kinds of request, one phase after the other:
keep-alive requests on one connection, pipelined requests in one write, a
POST with a body, and concurrent requests. After each phase the reports
must be exactly the requests of that phase, each with its method, path and
status. Requests that keep the server busy (a text it compresses on the
fly, CPU burnt in a named function) must show frames of the server's own
code.

Then the event-loop test: our one-thread epoll server interleaves requests
that wait on an upstream, and each request's report must hold its own
work, before and after the wait, and not the other requests'.
"""

import concurrent.futures
import os
import time

import servers
from harness import (curl, function_total, functions, raw_exchange, wrk,
                     response_statuses, share)

# Every phase's reports must be written within this many seconds.
REPORT_TIMEOUT = 20
# The POST body.
POST_BYTES = 200000
# curl's requests ask for compressed answers, as browsers do; the web
# servers compress text (servers.TEXT_FILE) for them.
ACCEPT_GZIP = ["-H", "Accept-Encoding: gzip"]


class Plan:
    """The requests one server gets, as (path, status) pairs, and what a
    busy request's report must show.

    busy: paths (the part before '?') whose reports must all pass
    own_frames, a function of a report's set of function names that says
    whether the server's own code is there; own_frames_wanted says what it
    looks for, for the failure message.
    """

    def __init__(self, keep_alive, pipelined, post, concurrent, busy,
                 own_frames, own_frames_wanted):
        self.keep_alive = keep_alive
        self.pipelined = pipelined
        self.post = post            # (path, text the answer must hold)
        self.concurrent = concurrent
        self.busy = busy
        self.own_frames = own_frames
        self.own_frames_wanted = own_frames_wanted


class Reports:
    """The reports a server has written so far, checked phase by phase."""

    def __init__(self, server, name):
        self.server = server
        self.name = name
        self.seen = set()
        self.all = []

    def context(self):
        text = "\n%s's output (last 3000 bytes):\n%s" % (
            self.name, self.server.stderr()[-3000:])
        # apache2 sends its stderr, reqprof's messages too, to its log.
        log = os.path.join(self.server.workdir, "error.log")
        if os.path.exists(log):
            with open(log, errors="replace") as f:
                text += "\nerror.log (last 3000 bytes):\n%s" % f.read()[-3000:]
        return text

    def expect(self, phase, expected):
        """Waits for the reports of a phase: expected holds (method, path,
        status) for each of its requests, in any order."""
        count = len(self.seen) + len(expected)
        deadline = time.monotonic() + REPORT_TIMEOUT
        while time.monotonic() < deadline and \
                len(self.server.index()) < count:
            time.sleep(0.05)
        time.sleep(0.3)  # room for a report that should not be there
        lines = self.server.index()
        new = [line for line in lines if line[8] not in self.seen]
        got = sorted((line[2], line[3], int(line[4])) for line in new)
        assert len(lines) == count and got == sorted(expected), (
            "%s, %s: expected %d reports %s, got %d: %s%s" % (
                self.name, phase, len(expected), sorted(expected), len(new),
                got, self.context()))
        reports = [self.server.report(line[8]) for line in new]
        self.seen |= {line[8] for line in new}
        self.all += reports
        return reports


def get(paths):
    return [("GET", path, status) for path, status in paths]


def run_plan(server, name, plan):
    """Sends the plan's requests phase by phase and checks the reports of
    each; returns all the reports.

    The busy requests' frames are checked in every phase but the pipelined
    one: a server may parse every pipelined request out of one read and
    run all their handlers before it answers the first (node does), and
    then no bytes read or written tell which request the work is for.
    """
    reports = Reports(server, name)
    checked = []

    # Keep-alive: curl sends the requests one after the other on one
    # connection.
    arguments = ACCEPT_GZIP + ["-w", "%{http_code} %{num_connects}\n"]
    for path, _ in plan.keep_alive:
        arguments += ["-o", "/dev/null", server.url(path)]
    answers = [line.split() for line in curl(*arguments).splitlines()]
    assert answers == [[str(status), "1" if i == 0 else "0"] for i, (_, status)
                       in enumerate(plan.keep_alive)], (
        "%s, keep-alive: statuses and new connections %s" % (name, answers))
    checked += reports.expect("keep-alive", get(plan.keep_alive))

    # Pipelined: every request in one write, before any answer.
    payload = b"".join(b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                       % path.encode() for path, _ in plan.pipelined)
    data = raw_exchange(server.port, payload,
                        expect_responses=len(plan.pipelined))
    statuses = response_statuses(data)
    assert statuses == [status for _, status in plan.pipelined], (
        "%s, pipelined: answers %s, expected %s" % (
            name, statuses, [status for _, status in plan.pipelined]))
    reports.expect("pipelined", get(plan.pipelined))

    # A POST with a body (curl asks for 100 Continue first).
    path, text = plan.post
    body = os.path.join(server.workdir, "post-body")
    with open(body, "wb") as f:
        f.write(b"p" * POST_BYTES)
    answer = curl("--data-binary", "@" + body, server.url(path))
    assert text in answer, "%s, POST: answer %r lacks %r" % (name, answer,
                                                              text)
    [post] = reports.expect("POST", [("POST", path, 200)])
    checked.append(post)
    assert post["request"]["request_bytes"] > POST_BYTES, (
        "%s, POST: %d request bytes for a body of %d" % (
            name, post["request"]["request_bytes"], POST_BYTES))

    # Concurrent: each request on its own connection, all at once.
    def fetch(path):
        return int(curl(*ACCEPT_GZIP, "-o", "/dev/null", "-w", "%{http_code}",
                        server.url(path)))
    with concurrent.futures.ThreadPoolExecutor(len(plan.concurrent)) as pool:
        statuses = list(pool.map(fetch, [p for p, _ in plan.concurrent]))
    assert statuses == [status for _, status in plan.concurrent], (
        "%s, concurrent: statuses %s" % (name, statuses))
    checked += reports.expect("concurrent", get(plan.concurrent))

    busy = [r for r in checked
            if r["request"]["path"].split("?")[0] in plan.busy]
    assert busy, "%s: no report of %s" % (name, plan.busy)
    for report in busy:
        names = functions(report["root"])
        assert plan.own_frames(names), (
            "%s: the report of %s %s (%d samples) has no %s; its functions: "
            "%s%s" % (name, report["request"]["method"],
                      report["request"]["path"], report["samples"],
                      plan.own_frames_wanted, sorted(names)[:80],
                      reports.context()))
    return reports.all


def any_prefix(*prefixes):
    return lambda names: any(n.startswith(prefixes) for n in names)


def web_server_plan(prefixes, return_path="/static/small.txt"):
    """The plan for nginx, lighttpd, h2o and apache2: static files (the
    text, compressed, keeps the server busy), return_path, and /upstream/
    passed to our test server."""
    big = "/static/" + servers.BIG_FILE
    text = "/static/" + servers.TEXT_FILE
    return Plan(
        keep_alive=[(text, 200), (big, 200), (return_path, 200),
                    ("/upstream/burn?ms=30", 200)],
        pipelined=[(return_path, 200), ("/static/" + servers.SMALL_FILE, 200),
                   ("/missing", 404), ("/upstream/burn?ms=20", 200)],
        post=("/upstream/echo", "received %d bytes" % POST_BYTES),
        concurrent=[(text + "?n=%d" % i, 200) for i in range(2)] +
                   [(big + "?n=%d" % i, 200) for i in range(2)] +
                   [("/upstream/burn?ms=50&n=%d" % i, 200) for i in range(2)] +
                   [(return_path + "?n=%d" % i, 200) for i in range(2)],
        busy=[text], own_frames=any_prefix(*prefixes),
        own_frames_wanted="function named %s*" % "* or ".join(prefixes))


def burn_plan(own_frames, wanted):
    """The plan for servers with /, /burn?ms=N and POST /echo."""
    return Plan(
        keep_alive=[("/burn?ms=50", 200), ("/", 200), ("/missing", 404)],
        pipelined=[("/burn?ms=30", 200), ("/", 200), ("/missing", 404),
                   ("/burn?ms=20", 200)],
        post=("/echo", "received %d bytes" % POST_BYTES),
        concurrent=[("/burn?ms=30&n=%d" % i, 200) for i in range(8)],
        busy=["/burn"], own_frames=own_frames, own_frames_wanted=wanted)


def test_nginx_master_and_workers_switching_to_nobody():
    # nginx sends static files with sendfile (compresses the text with its
    # gzip filter) and answers /return itself.
    with servers.upstream() as upstream, \
            servers.nginx(upstream.port) as server:
        run_plan(server, "nginx", web_server_plan(["ngx_http_"],
                                                  return_path="/return"))


def test_nginx_index_has_a_line_for_every_response_under_wrk():
    # wrk keeps 8 connections busy with `return 200` for 20,000 requests
    # or more, many thousands a second, with default settings: the index
    # must hold a line for each request nginx answered, as many as its
    # access log. That is what wrk counted, and at most one request per
    # connection more: the ones in flight when each run of wrk stopped,
    # which nginx still answered.
    connections, runs, counted = 8, 0, 0
    with servers.upstream() as upstream, \
            servers.nginx(upstream.port, access_log=True) as server:
        while counted < 20000 and runs < 8:
            counted += wrk(server.url("/return"), 2, connections)
            runs += 1
        server.stop()
        answered = len(servers.nginx_access_log(server))
        lines = server.index()
        stderr = server.stderr()
    assert counted >= 20000, "wrk got %d responses in %d s" % (counted,
                                                               2 * runs)
    assert counted <= answered <= counted + connections * runs, (
        "nginx logged %d requests, wrk counted %d" % (answered, counted))
    assert len(lines) == answered, (
        "index.tsv has %d lines for %d requests answered; nginx's stderr:\n%s"
        % (len(lines), answered, stderr[-3000:]))
    assert all(line[3] == "/return" for line in lines), set(
        line[3] for line in lines)


def test_lighttpd():
    # lighttpd's own functions: connection_state_machine and the like.
    with servers.upstream() as upstream, \
            servers.lighttpd(upstream.port) as server:
        run_plan(server, "lighttpd", web_server_plan(
            ["connection_", "network_", "http_response_"]))


def test_h2o_threads_with_their_own_event_loops():
    with servers.upstream() as upstream, \
            servers.h2o(upstream.port) as server:
        run_plan(server, "h2o", web_server_plan(["h2o_"]))


def test_apache2_event_mpm():
    # The listener thread accepts; the requests of one keep-alive
    # connection run on different worker threads.
    with servers.upstream() as upstream, \
            servers.apache2(upstream.port, "event") as server:
        run_plan(server, "apache2 (event)", web_server_plan(["ap_"]))


def test_apache2_prefork_mpm():
    with servers.upstream() as upstream, \
            servers.apache2(upstream.port, "prefork") as server:
        run_plan(server, "apache2 (prefork)",
                 web_server_plan(["ap_"]))


def test_python_threading_http_server():
    def interpreter_runs_it(names):
        return "_PyEval_EvalFrameDefault" in names
    with servers.python_server() as server:
        reports = run_plan(server, "python3", burn_plan(
            interpreter_runs_it, "_PyEval_EvalFrameDefault"))
        for report in reports:
            if report["request"]["path"].startswith("/burn"):
                total = function_total(report["root"],
                                       "_PyEval_EvalFrameDefault")
                assert total >= 0.5 * report["samples"], (
                    "%s: %d of %d samples in _PyEval_EvalFrameDefault" % (
                        report["request"]["path"], total, report["samples"]))


def test_node_http_server():
    # JIT-compiled JavaScript has no symbols; around it are libuv's event
    # loop, node's C++ and V8's builtins.
    def libuv_or_v8(names):
        return any(n.startswith(("uv_", "uv__", "Builtins_", "_ZN4node",
                                  "_ZN2v8", "node::", "v8::"))
                   for n in names)
    with servers.node_server() as server:
        run_plan(server, "node", burn_plan(
            libuv_or_v8, "libuv (uv_*), node or V8 frame"))


def check_mhd(mode):
    def ours(names):
        return {"mhd_burn", "route_burn", "mhd_answer"} <= names
    with servers.mhd_server(mode) as server:
        reports = run_plan(server, "mhd_server --mode " + mode, burn_plan(
            ours, "mhd_burn called from route_burn and mhd_answer"))
        # Ground truth: each /burn?ms=N request spent N ms of CPU in
        # mhd_burn: its samples there cover the N ms, and its CPU time,
        # which samples do not make, tells whether another request's burn
        # was counted too. Pipelined requests too: libmicrohttpd runs each
        # handler only once it has answered the request before, so every
        # request's work lies between its predecessor's answer and its
        # own. The rest of its samples are its waits (the thread's poll
        # while it was pending, a blocking send of its answer), more of
        # them the busier the machine.
        for report in reports:
            path = report["request"]["path"]
            if not path.startswith("/burn"):
                continue
            ms = int(path.split("ms=")[1].split("&")[0])
            request = report["request"]
            burned = function_total(report["root"], "mhd_burn") * report["interval_ms"]
            assert burned >= 0.85 * ms and \
                0.8 * ms <= request["cpu_ms"] <= 1.3 * ms + 5, (
                    "%s: %.0f ms of samples in mhd_burn (%.0f%% of %d), %.1f "
                    "ms of CPU; expected about %d ms of both" % (
                        path, burned, 100 * share(report, "mhd_burn"),
                        report["samples"], request["cpu_ms"], ms))


def test_libmicrohttpd_internal_polling_thread():
    check_mhd("internal")


def test_libmicrohttpd_thread_per_connection():
    check_mhd("per-connection")


def test_event_loop_requests_waiting_on_an_upstream_keep_their_own_samples():
    """Ten clients of kind a and ten of kind b at once, two keep-alive
    requests each. Every request burns ms in kind_X_before, waits for the
    upstream (20 ms) while the one event-loop thread serves the others, then
    burns ms in kind_X_after.

    The server pools its upstream connections: a client's first request
    mostly connects a new one without blocking and sends the upstream
    request on a later turn of the loop, once the connect has completed (as
    nginx does); its second request mostly reuses a pooled connection and
    sends at once."""
    ms = 30
    with servers.upstream() as upstream, \
            servers.event_server(upstream.port) as server:
        def client(number):
            kind = "ab"[number % 2]
            paths = ["/%s?ms=%d&client=%d&request=%d" % (kind, ms, number, i)
                     for i in range(2)]
            arguments = []
            for path in paths:
                arguments += ["-o", "/dev/null", server.url(path)]
            statuses = curl("-w", "%{http_code}\n", *arguments).split()
            assert statuses == ["200", "200"], "%s: %s" % (paths, statuses)
            return paths
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            paths = sum(pool.map(client, range(20)), [])
        reports = Reports(server, "event_server").expect(
            "interleaved", get([(path, 200) for path in paths]))

        for kind, other in (("a", "b"), ("b", "a")):
            mine = [r for r in reports if r["request"]["path"][1] == kind]
            foreign = {r["request"]["path"]: sum(
                function_total(r["root"], "kind_%s_%s" % (other, when))
                for when in ("before", "after")) for r in mine}
            samples = sum(r["samples"] for r in mine)
            assert sum(foreign.values()) <= 0.01 * samples, (
                "reports of kind %s: %d of %d samples in kind_%s_*: %s" % (
                    kind, sum(foreign.values()), samples, other,
                    {path: n for path, n in foreign.items() if n}))
            for when in ("before", "after"):
                function = "kind_%s_%s" % (kind, when)
                short = {r["request"]["path"]: "%.0f ms of %d samples, %d dropped" % (
                    function_total(r["root"], function) * r["interval_ms"],
                    r["samples"], r["samples_dropped"]) for r in mine
                    if function_total(r["root"], function) *
                    r["interval_ms"] < 0.5 * ms}
                assert not short, (
                    "%d of %d reports of kind %s lack the %d ms burnt in %s: "
                    "%s" % (len(short), len(mine), kind, ms, function, short))


def test_varnish_pool_thread_that_read_a_post_body_adds_nothing_after_the_end():
    """varnish passes a POST to its backend: a pool thread reads the body
    from the client's socket while the client's thread waits for it, and
    after the client's thread delivered the response the pool thread waits
    for work (Lck_CondWaitUntil) with that request still current, its timer
    running. None of that wait is the request's: no sample is later than
    the request's end (plus one interval), and the two threads' samples
    add up to at most twice its duration (there were 28 samples in a
    3.4 ms request, up to 50 ms after its end)."""
    with servers.upstream() as upstream, \
            servers.varnish(upstream.port) as server:
        body = os.path.join(server.workdir, "post-body")
        with open(body, "wb") as f:
            f.write(b"p" * POST_BYTES)
        posts = 8
        for _ in range(posts):
            answer = curl("--data-binary", "@" + body, server.url("/echo"))
            assert "%d" % POST_BYTES in answer, answer
        reports = server.wait_reports(posts, timeout=REPORT_TIMEOUT)
        for report in reports:
            duration = report["request"]["duration_ms"]
            interval = report["interval_ms"]
            timeline = report["timeline"] or []
            last_ms = max((point[0] / 1000 for point in timeline), default=0)
            assert last_ms <= duration + interval, \
                "a sample at %.1f ms in a %.1f ms request: %s" % (
                    last_ms, duration, timeline)
            assert report["samples"] <= 2 * (duration / interval + 1), \
                "%d samples in %.1f ms: %s" % (report["samples"], duration,
                                               timeline)


def test_busybox_httpd_child_per_connection_with_a_cgi():
    """busybox httpd forks a child per connection, which serves on fds 0
    and 1 (dup2 of the accepted socket) and ends with _exit: each request
    is reported by its child. The parent only accepts and forks, so it
    runs no writer thread of reqprof's: one thread, as without reqprof.

    The CGI burns 150 ms of CPU in cgi_burn, in its own process, which
    busybox's child runs and reads through a pipe. reqprof in the CGI sees
    no connection (its stdin and stdout are pipes), so cgi_burn is in no
    report; but the child's poll on the CGI's pipe is a wait of its
    request (no listener nor other request's connection in its set): the
    report shows the CGI's time as that wait, and its samples cover the
    request's duration while its CPU time stays the child's own."""
    with servers.busybox() as server:
        paths = [("/" + servers.SMALL_FILE, 200), ("/missing", 404)]
        for path, status in paths:
            assert curl("-o", "/dev/null", "-w", "%{http_code}",
                        server.url(path)) == str(status)
        concurrent_paths = [("/%s?n=%d" % (servers.SMALL_FILE, i), 200)
                            for i in range(4)]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            assert list(pool.map(lambda p: curl(server.url(p[0])),
                                 concurrent_paths)) == \
                [servers.SMALL_FILE_TEXT] * 4
        cgi = "/cgi-bin/burn?ms=150"
        assert curl(server.url(cgi)) == "burned 150 ms\n"
        expected = get(paths + concurrent_paths + [(cgi, 200)])
        reports = server.wait_reports(len(expected), timeout=REPORT_TIMEOUT)
        got = sorted((r["request"]["method"], r["request"]["path"],
                      r["request"]["status"]) for r in reports)
        assert got == sorted(expected), (got, server.stderr())
        parent = server.process.pid
        pids = [r["process"]["pid"] for r in reports]
        assert parent not in pids and len(set(pids)) == len(pids), (
            "parent %d, reports' pids %s" % (parent, pids))
        with open("/proc/%d/status" % parent) as f:
            threads = [l.split()[1] for l in f if l.startswith("Threads:")]
        assert threads == ["1"], "the parent runs %s threads" % threads
        [report] = [r for r in reports if r["request"]["path"] == cgi]
        request = report["request"]
        interval = report["interval_ms"]
        # glibc names its poll __poll, poll an alias of it.
        in_poll = sum(function_total(report["root"], name) for name in ("poll", "__poll"))
        assert request["duration_ms"] >= 150 and \
            function_total(report["root"], "cgi_burn") == 0 and \
            in_poll * interval >= 0.85 * 150 and \
            abs(report["samples"] * interval - request["duration_ms"]) <= \
            0.1 * request["duration_ms"] and \
            (request["cpu_ms"] or 0) < 0.5 * request["duration_ms"], (
                "the CGI's request: %.1f ms, %d samples (%d in poll), %s ms of CPU" % (
                    request["duration_ms"], report["samples"], in_poll,
                    request["cpu_ms"]))
        assert "reqprof:" not in server.stderr(), server.stderr()
