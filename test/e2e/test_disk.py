"""The disk reports take: a full file system, REQPROF_MAX_DISK, and the 5%
of free space reqprof leaves. Each test mounts a small tmpfs of its own
(as root) and unmounts it after, so the file system's size is known.

Ground truth: the requests sent, against index.tsv's lines and the files
on disk; every report file is read whole."""

import contextlib
import gzip
import json
import os
import subprocess
import tempfile
import threading
import time

from harness import BUILD, LIBRARY, Server, TOOL, curl, wrk

FORMATS = "text,json,html"
EXTENSIONS = (".txt.gz", ".json.gz", ".html")
MAX_DISK_MARKER = "-max-disk"


@contextlib.contextmanager
def tmpfs(options):
    """A tmpfs mounted with options ("size=4m") on a fresh directory."""
    mount_point = tempfile.mkdtemp(prefix="reqprof-tmpfs-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs",
                    mount_point], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", mount_point], check=True)
        os.rmdir(mount_point)


def index_lines(directory):
    """index.tsv's lines in the order they were written, split into
    fields; the file field without its padding."""
    path = os.path.join(directory, "index.tsv")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        text = f.read()
    assert text == "" or text.endswith("\n"), "index ends in a partial line"
    lines = [line.split("\t") for line in text.splitlines()]
    for line in lines:
        assert len(line) == 11, line
        if line[8].startswith(MAX_DISK_MARKER):
            assert line[8].rstrip(" ") == MAX_DISK_MARKER, line
            line[8] = MAX_DISK_MARKER
    return lines


def check_reports_whole(directory, lines, extensions=EXTENSIONS):
    """Every line that names a report has all its files, each whole, and
    for its own request; the directory holds nothing else of reqprof's
    (no partial set, no temporary file). Returns the lines with files."""
    named = [line for line in lines if not line[8].startswith("-")]
    expected = {"index.tsv", ".reqprof-disk"}
    for line in named:
        stem = line[8]
        for extension in extensions:
            path = os.path.join(directory, stem + extension)
            expected.add(stem + extension)
            assert os.path.exists(path), "%s: no %s" % (stem, extension)
            if extension == ".json.gz":
                with gzip.open(path) as f:
                    report = json.load(f)
                assert report["request"]["path"] == line[3], (report, line)
            elif extension == ".txt.gz":
                with gzip.open(path) as f:
                    text = f.read().decode()
                assert text.startswith("reqprof ") and line[3] in text, path
            else:
                with open(path) as f:
                    page = f.read()
                assert page.rstrip().endswith("</html>"), path
    extra = sorted(set(os.listdir(directory)) - expected)
    assert not extra, "files no index line names: %s" % extra
    return named


def disk_usage(directory):
    """Bytes the directory takes, as du counts them."""
    total = os.lstat(directory).st_blocks * 512
    for name in os.listdir(directory):
        try:
            total += os.lstat(os.path.join(directory, name)).st_blocks * 512
        except FileNotFoundError:
            pass
    return total


def test_a_full_disk_leaves_whole_report_sets_or_none():
    # 22 inodes: the root and index.tsv take 2, six sets of three files
    # take 18, and the seventh finds room for two of its three files. A
    # request's files and its line go in together or not at all.
    requests = 12
    with tmpfs("size=64m,nr_inodes=22") as directory:
        with Server(env={"REQPROF_DIR": directory, "REQPROF_OUTPUT": FORMATS,
                         "REQPROF_MAX_REPORTS": "0",
                         "REQPROF_MAX_DISK": "0"}) as server:
            sent = ["/burn?ms=5&n=%d" % i for i in range(requests)]
            for path in sent:
                curl(server.url(path))
            server.stop()
            stderr = server.stderr()
            lines = index_lines(directory)
            named = check_reports_whole(directory, lines)
    assert sorted(line[3] for line in lines) == sorted(sent), lines
    full = [line for line in lines if line[8] == "-disk-full"]
    assert len(named) == 6 and len(full) == requests - 6, (
        [line[8] for line in lines], stderr)
    assert "is full or has less than 5% free" in stderr, stderr


def test_an_index_append_cut_short_is_undone_with_its_reports():
    # The disk fills half way through an append to index.tsv (a preloaded
    # fault, after 3 appends went in): the half line is cut off, the
    # reports its lines named are removed, and the index keeps only whole
    # lines whose reports exist.
    fault = os.path.abspath(os.path.join(BUILD, "test",
                                         "index_write_fault.so"))
    with tmpfs("size=64m") as directory:
        with Server(env={"REQPROF_DIR": directory, "REQPROF_OUTPUT": FORMATS,
                         "REQPROF_MAX_REPORTS": "0",
                         "LD_PRELOAD": LIBRARY + " " + fault,
                         "INDEX_WRITE_FAULT_AFTER": "3"}) as server:
            sent = ["/burn?ms=5&n=%d" % i for i in range(8)]
            for path in sent:
                curl(server.url(path))
                time.sleep(0.05)
            server.stop()
            stderr = server.stderr()
            lines = index_lines(directory)
            named = check_reports_whole(directory, lines)
    assert 3 <= len(lines) < len(sent), lines
    assert [line[3] for line in lines] == sent[:len(lines)], lines
    assert len(named) == len(lines), lines
    assert "is full or has less than 5% free" in stderr, stderr


def test_max_disk_bounds_the_directory_oldest_reports_first():
    # An earlier run left reports there; then two processes share the
    # directory under REQPROF_MAX_DISK=1M while requests keep coming. The
    # directory stays under the limit, give or take what each process
    # wrote since it last settled (a sixteenth of the limit and one set),
    # and is under it once they stop; the oldest reports go first, in the
    # index's order, and their lines say why.
    limit = 1 << 20
    earlier, each = 30, 50
    with tmpfs("size=64m") as directory:
        env = {"REQPROF_DIR": directory, "REQPROF_OUTPUT": FORMATS,
               "REQPROF_MAX_REPORTS": "0"}
        with Server(env=dict(env, REQPROF_MAX_DISK="0")) as server:
            for i in range(earlier):
                curl(server.url("/burn?ms=2&earlier=%d" % i))
        assert disk_usage(directory) > limit, disk_usage(directory)
        oldest = os.path.join(directory, index_lines(directory)[0][8] +
                              ".json.gz")
        env["REQPROF_MAX_DISK"] = "1M"
        usage = []
        sending = threading.Event()
        sending.set()

        def watch():
            while sending.is_set():
                usage.append(disk_usage(directory))
                time.sleep(0.01)

        with Server(env=env) as first, Server(env=env) as second:
            # The earlier run's excess goes at each process's first settle.
            for k, s in enumerate([first, second]):
                curl(s.url("/burn?ms=2&process=%d&n=0" % k))
            deadline = time.monotonic() + 10
            while len(index_lines(directory)) < earlier + 2 and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
            watcher = threading.Thread(target=watch)
            watcher.start()
            senders = [threading.Thread(target=lambda k=k, s=s: [
                curl(s.url("/burn?ms=2&process=%d&n=%d" % (k, i)))
                for i in range(1, each)]) for k, s in enumerate([first, second])]
            for sender in senders:
                sender.start()
            for sender in senders:
                sender.join()
            first.stop()
            second.stop()
            sending.clear()
            watcher.join()
            stderr = first.stderr() + second.stderr()
        lines = index_lines(directory)
        named = check_reports_whole(directory, lines)
        largest_set = max(sum(os.lstat(os.path.join(directory, line[8] + e))
                              .st_blocks * 512 for e in EXTENSIONS)
                          for line in named)
        final = disk_usage(directory)
        counted = None
        if os.path.exists(os.path.join(directory, ".reqprof-disk")):
            with open(os.path.join(directory, ".reqprof-disk")) as f:
                counted = int(f.read().split()[2])
        on_disk = sum(os.lstat(os.path.join(directory, line[8] + e))
                      .st_blocks * 512 for line in named for e in EXTENSIONS)
        listing = subprocess.run([TOOL, "ls", directory], capture_output=True,
                                 text=True).stdout
        merge = subprocess.run([TOOL, "merge", directory],
                               capture_output=True, text=True)
        show = subprocess.run([TOOL, "show", oldest], capture_output=True,
                              text=True)
    assert len(lines) == earlier + 2 * each, len(lines)
    assert final <= limit, "%d bytes after the servers stopped" % final
    slack = 2 * (limit // 16 + largest_set)
    assert max(usage) <= limit + slack, (max(usage), limit + slack)
    assert counted == on_disk, "the count says %d, the reports take %d" % (
        counted, on_disk)
    # Oldest first: no report removed after one that was kept.
    fields = [line[8] for line in lines]
    removed = [field == MAX_DISK_MARKER for field in fields]
    assert all(field == MAX_DISK_MARKER or not field.startswith("-")
               for field in fields), set(fields)
    first_kept = removed.index(False)
    assert not any(removed[first_kept:]), fields
    assert all(removed[:earlier]), "the earlier run's reports went first"
    assert 0 < len(named) < 2 * each, len(named)
    assert "REQPROF_MAX_DISK" not in stderr, stderr
    gone = removed.count(True)
    assert listing.count("(none: removed, over REQPROF_MAX_DISK)") == gone, \
        listing
    assert merge.returncode == 0, merge.stderr
    assert "%d requests left out: their reports were removed" % gone in \
        merge.stderr, merge.stderr
    assert show.returncode == 1 and "removed to stay under " \
        "REQPROF_MAX_DISK" in show.stderr, show.stderr


def test_an_index_that_reaches_max_disk_by_itself_stops_growing():
    # Requests too short for a report file still get index lines; once
    # index.tsv alone would pass REQPROF_MAX_DISK=1M (some 10,000 lines),
    # no more go in, which is said once, and the index ends whole.
    limit = 1 << 20
    with tmpfs("size=64m") as directory:
        with Server(env={"REQPROF_DIR": directory,
                         "REQPROF_MIN_DURATION": "1s",
                         "REQPROF_MAX_DISK": "1M"}) as server:
            deadline = time.monotonic() + 60
            answered = 0
            while time.monotonic() < deadline and "has reached " \
                    "REQPROF_MAX_DISK" not in server.stderr():
                answered += wrk(server.url("/"), 2)
            server.stop()
            stderr = server.stderr()
            lines = index_lines(directory)
            index_blocks = os.lstat(os.path.join(directory, "index.tsv")) \
                .st_blocks * 512
            usage = disk_usage(directory)
    assert stderr.count("index.tsv in %s has reached REQPROF_MAX_DISK" %
                        directory) == 1, stderr
    assert 0 < len(lines) < answered, (len(lines), answered)
    assert all(line[8] == "-" for line in lines), set(l[8] for l in lines)
    assert index_blocks > limit * 9 // 10 and usage <= limit, (
        index_blocks, usage)


def test_reports_stop_under_five_percent_free_and_start_again():
    # A 4 MiB file system with 3.2 MiB taken by someone else: reqprof
    # writes reports until less than 5% is free, says so once, and gives
    # the rest -disk-full; once there is room again it says so and writes
    # reports again.
    size = 4 << 20
    with tmpfs("size=4m") as mount_point:
        filler = os.path.join(mount_point, "filler")
        with open(filler, "wb") as f:
            f.write(b"x" * (size * 4 // 5))
        directory = os.path.join(mount_point, "reqprof")
        with Server(env={"REQPROF_DIR": directory, "REQPROF_OUTPUT": FORMATS,
                         "REQPROF_MAX_REPORTS": "0",
                         "REQPROF_MAX_DISK": "0"}) as server:
            sent = []
            for i in range(60):
                sent.append("/burn?ms=2&n=%d" % i)
                curl(server.url(sent[-1]))
            stopped = server.wait_stderr("has less than 5% free")
            lines = index_lines(directory)
            statvfs = os.statvfs(mount_point)
            free_while_stopped = statvfs.f_bavail * statvfs.f_frsize
            named_before = check_reports_whole(directory, lines)
            os.unlink(filler)
            for i in range(5):
                sent.append("/burn?ms=2&after=%d" % i)
                curl(server.url(sent[-1]))
            server.stop()
            stderr = server.stderr()
            lines = index_lines(directory)
            named = check_reports_whole(directory, lines)
    assert "has less than 5% free" in stopped, stopped
    largest_set = 64 << 10
    assert free_while_stopped >= size // 20 - largest_set, free_while_stopped
    assert sorted(line[3] for line in lines) == sorted(sent)
    full = [line for line in lines if line[8] == "-disk-full"]
    assert full and named_before, [line[8] for line in lines]
    assert stderr.count("has less than 5% free") == 1, stderr
    assert stderr.count("has room again") == 1, stderr
    after = [line for line in named if "after=" in line[3]]
    assert len(after) == 5, [line[8] for line in lines if "after=" in line[3]]
