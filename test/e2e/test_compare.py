"""End-to-end: reqprof diff, stats and show --latest/--slowest on real
reports of the test server, against what its routes are known to do:
sleep_wait sleeps a given wall time (measured by the wrapper, exact under
load, where burns of CPU time stretch), burn_alpha and burn_beta burn a
given CPU time."""

import atexit
import html
import os
import re
import shutil
import tempfile
import time

from harness import Server, curl
from test_tool import tool

# Sleeps of every tenth of 100 ms and one of 0 (under
# REQPROF_MIN_DURATION: no report file), then burns, then the two
# sleepburn routes diff compares, then the latest request with a report,
# then the latest of all, which has none.
SLEEPS = ["/sleep?ms=%d" % ms for ms in (40, 10, 100, 70, 20, 90, 30, 60,
                                         80, 50)]
BURNS = ["/burn?ms=20"] * 3
SHORT = ["/sleepburn?sleep=20&burn=5"] * 2
LONG = ["/sleepburn?sleep=120&burn=5"]
LATEST_WITH_REPORT = "/burn?ms=5&fn=beta"
LATEST = "/sleep?ms=0"
REQUESTS = SLEEPS + BURNS + SHORT + LONG + [LATEST_WITH_REPORT, LATEST]

_recorded = None


def recorded():
    """A directory of the test server's reports of REQUESTS, in order,
    kept for the whole run."""
    global _recorded
    if _recorded is None:
        keep = tempfile.mkdtemp(prefix="reqprof-compare-")
        atexit.register(shutil.rmtree, keep, True)
        with Server(env={"REQPROF_MIN_DURATION": "3ms"}) as server:
            for path in REQUESTS:
                curl(server.url(path))
            deadline = time.monotonic() + 10
            while (time.monotonic() < deadline and
                   len(server.index()) < len(REQUESTS)):
                time.sleep(0.05)
            assert len(server.index()) == len(REQUESTS), server.index()
            shutil.copytree(server.report_dir, os.path.join(keep, "reqprof"))
        _recorded = os.path.join(keep, "reqprof")
    return _recorded


def index_lines():
    with open(os.path.join(recorded(), "index.tsv")) as index:
        return [line.rstrip("\n").split("\t") for line in index]


def report_file(path):
    [stem] = [line[8] for line in index_lines() if line[3] == path]
    return os.path.join(recorded(), stem + ".json.gz")


# A line of diff's text tree: A ms, B ms, B-A, the branches drawn (three
# characters a level), then the frame.
DIFF_LINE = re.compile(r"^ *([0-9.]+) +([0-9.]+) +([+-][0-9.]+)  ([ |`-]*)(\S+)")


def diff_rows(text):
    """The lines of a diff's text tree drawn in ASCII, in order, as
    (depth, function, A ms, B ms, B-A)."""
    rows = []
    for line in text.splitlines():
        match = DIFF_LINE.match(line)
        if match:
            rows.append((len(match.group(4)) // 3, match.group(5)) + tuple(
                float(match.group(i)) for i in (1, 2, 3)))
    return rows


def test_diff_shows_the_known_difference_per_request():
    """Two requests that sleep 20 ms against one that sleeps 120 ms: per
    request, sleep_wait takes 100 ms more in B (as totals it would be 80),
    and no frame off its path differs by half as much."""
    out, _ = tool("diff", recorded(), "--path", "/sleepburn?sleep=20&*",
                  "--vs", report_file(LONG[0]), "--ascii")
    text = out.decode()
    assert "Compared per request (averages): A sums 2 and B 1 requests" \
        in text, text
    rows = diff_rows(text)
    [at] = [i for i, row in enumerate(rows) if row[1] == "sleep_wait"]
    depth, _, a_ms, b_ms, difference = rows[at]
    # A sleep's samples are its wall time, which a loaded machine
    # stretches by the wait for a CPU after it: a little, and alike on
    # both sides.
    assert 18 <= a_ms <= 40 and 115 <= b_ms <= 150, text
    assert 90 <= difference <= 115, text
    assert abs(difference - (b_ms - a_ms)) <= 0.11, text
    # Its callees: the lines below it deeper than it; its callers: the
    # nearest line of each smaller depth above it.
    path = {at}
    for i in range(at + 1, len(rows)):
        if rows[i][0] <= depth:
            break
        path.add(i)
    for i in range(at - 1, -1, -1):
        if rows[i][0] < depth:
            path.add(i)
            depth = rows[i][0]
    # The burns of 5 ms of CPU time on either side may stretch on a
    # loaded machine, but not to half the sleep's difference.
    off_path = [row for i, row in enumerate(rows)
                if i not in path and abs(row[4]) >= 50]
    assert not off_path, text


def test_diff_of_two_reports_as_html():
    """One request against another, as totals, in the HTML page: the
    sleep_wait row says B - A is +100 ms within 10."""
    work = tempfile.mkdtemp(prefix="reqprof-diff-")
    try:
        page = os.path.join(work, "diff.html")
        short = [line for line in index_lines() if line[3] == SHORT[0]]
        tool("diff", os.path.join(recorded(), short[0][8] + ".json.gz"),
             report_file(LONG[0]), "--to", "html", "-o", page)
        with open(page, encoding="utf-8") as f:
            text = f.read()
        assert "Compared as totals of one request each" in text
        row = re.search(r'<span class="ms">([0-9.]+)</span>'
                        r'<span class="ms">([0-9.]+)</span>'
                        r'<span class="ms (?:slower|faster)">([+-][0-9.]+)'
                        r'</span>.{0,200}?title="sleep_wait ', text)
        assert row, text[:2000]
        assert 90 <= float(row.group(3)) <= 110, row.group(0)
        assert text.count("<details") == text.count("</details>")
        assert html.escape(SHORT[0]) in text
    finally:
        shutil.rmtree(work, True)


def route_block(text, route):
    """The lines of stats' summary of route."""
    match = re.search(r"^%s: .*?(?=\n\n)" % re.escape(route), text,
                      re.M | re.S)
    assert match, "no %s in:\n%s" % (route, text)
    return match.group(0)


def test_stats_counts_percentiles_and_top_functions_per_route():
    out, _ = tool("stats", recorded())
    text = out.decode()
    sleeps = route_block(text, "GET /sleep")
    # The eleven /sleep requests, whatever their query, are one route;
    # durations of about 0, 10, ..., 100 ms: the percentiles are those of
    # the index's durations by nearest rank (the 6th, 10th and 11th of 11),
    # and near 50, 90 and 100 (a loaded machine makes sleeps overshoot:
    # the thread waits for a CPU after it).
    assert sleeps.startswith("GET /sleep: 11 requests"), sleeps
    durations = sorted(float(line[5]) for line in index_lines()
                       if line[3].startswith("/sleep?"))
    assert len(durations) == 11, durations
    match = re.search(r"p50 ([0-9.]+) ms  p90 ([0-9.]+) ms  p99 ([0-9.]+) ms",
                      sleeps)
    for value, rank, known in zip(match.groups(), (6, 10, 11), (50, 90, 100)):
        assert abs(float(value) - durations[rank - 1]) <= 0.05, (sleeps,
                                                                 durations)
        assert known <= float(value) <= 1.5 * known + 10, sleeps
    # Sleeping is not CPU time.
    cpu = re.search(r"CPU +([0-9.]+)% of the duration", sleeps)
    assert cpu is None or float(cpu.group(1)) < 10, sleeps
    assert re.search(r"self time, top 5 of 10 reports", sleeps), sleeps
    # Time of its own: the sleep's, in libc's clock_nanosleep under
    # sleep_wait; 550 ms in all, of the ten requests with reports.
    top = re.search(r"sampled\):\n +([0-9.]+) ms +([0-9.]+)%  (\S+)", sleeps)
    assert top.group(3) == "clock_nanosleep" and float(top.group(2)) >= 80, \
        sleeps
    assert 550 <= float(top.group(1)) <= 800, sleeps

    burns = route_block(text, "GET /burn")
    assert burns.startswith("GET /burn: 4 requests"), burns
    top = re.search(r"sampled\):\n +([0-9.]+) ms +([0-9.]+)%  (\S+)", burns)
    assert top.group(3) == "burn_alpha", burns
    # The CPU share is the route's CPU time over its duration, as the
    # index has them (a CPU time not measured counts none).
    lines = [line for line in index_lines() if line[3].startswith("/burn")]
    share = 100 * sum(float(line[6]) for line in lines if line[6] != "-") / \
        sum(float(line[5]) for line in lines)
    cpu = re.search(r"CPU +([0-9.]+)% of the duration", burns)
    assert abs(float(cpu.group(1)) - share) <= 0.1, (burns, share)


def test_show_latest_and_slowest_open_the_right_report():
    out, stderr = tool("show", "--latest", recorded())
    # The latest request had no report file (under REQPROF_MIN_DURATION):
    # the one before it is shown, and the one passed over said.
    assert "Request: GET %s " % LATEST_WITH_REPORT in out.decode(), out
    assert "1 later request without a report file passed over" in stderr, \
        stderr
    # The slowest is the sleep of 120 ms, unless the machine is so loaded
    # that a burn took longer: the index says which.
    slowest = max(index_lines(), key=lambda line: float(line[5]))
    assert slowest[8] != "-", slowest
    out, stderr = tool("show", "--slowest", recorded())
    assert "Request: GET %s " % slowest[3] in out.decode(), out
    assert stderr == "", stderr
    # Without DIR: REQPROF_DIR.
    out, _ = tool("show", "--slowest", "--ascii",
                  env={"REQPROF_DIR": recorded()})
    assert "Request: GET %s " % slowest[3] in out.decode(), out
    _, stderr = tool("show", "--latest", "--slowest", recorded(), expect=2)
    assert "not both" in stderr, stderr
