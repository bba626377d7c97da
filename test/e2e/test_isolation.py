"""End-to-end: reqprof's own libraries (zlib, libelf, libdw) and a server
that defines their names itself (test/server/clash_server.c), as varnishd
exports its own zlib. Neither side may bind to the other's functions."""

import gzip
import os
import re
import subprocess
import tempfile
import time

from harness import BUILD, LIBRARY, Server, curl, function_total, functions

CLASH_SERVER = os.path.abspath(os.path.join(BUILD, "test", "clash_server"))


def frames_named(node, name):
    """Every frame of the tree with function name."""
    found = [node] if node["function"] == name else []
    for child in node["children"]:
        found += frames_named(child, name)
    return found


def calls(text):
    """The server's /calls answer as {name: count}."""
    return {name: int(count) for name, count in
            (line.split() for line in text.splitlines())}


def test_a_server_with_its_own_zlib_and_libdw_names_gets_whole_reports():
    with Server(command=[CLASH_SERVER],
                env={"REQPROF_OUTPUT": "text,json"}) as server:
        body = curl(server.url("/burn?ms=200"))
        assert body == "burnt 200 ms\n", body
        [report] = server.wait_reports(1)
        # Valid gzip (wait_reports read the JSON through gzip), with the
        # server's own function named and placed in its source.
        burns = frames_named(report["root"], "clash_burn")
        assert burns, "no clash_burn frame in the report; stderr: %s" % (
            server.stderr())
        assert all(frame["file"].endswith("clash_server.c") and
                   frame["line"] > 0 for frame in burns), burns
        burnt = function_total(report["root"], "clash_burn")
        assert burnt >= 0.5 * report["samples"], (burnt, report["samples"])
        with gzip.open(os.path.join(server.report_dir,
                                    report["stem"] + ".txt.gz"), "rt") as f:
            assert "clash_burn  test/server/clash_server.c:" in f.read()
        assert "reqprof:" not in server.stderr(), server.stderr()
        # reqprof never called the server's functions of those names...
        before = calls(curl(server.url("/calls")))
        assert set(before.values()) == {0}, before
        # ...and the server's own calls of them still reach its own.
        after = calls(curl(server.url("/own")))
        assert set(after.values()) == {1}, after


def test_reqprofs_libraries_stay_out_of_the_servers_sight():
    """Names reqprof's libraries define and the server does not are found
    by the server neither through weak references nor dlsym: the same
    answer as without reqprof."""
    answers = []
    for preload in (False, True):
        with Server(command=[CLASH_SERVER], preload=preload) as server:
            answers.append(curl(server.url("/probe")))
    assert "found" not in answers[0], answers[0]
    assert answers[1] == answers[0], "under reqprof:\n%s\nwithout:\n%s" % (
        answers[1], answers[0])


def test_the_library_needs_nothing_but_libc():
    """No libz, libelf or libdw among the library's DT_NEEDED: linked
    normally, they would join the server's global scope."""
    dynamic = subprocess.run(["readelf", "-d", LIBRARY], capture_output=True,
                             text=True, check=True).stdout
    needed = {line.split("[")[1].rstrip("]") for line in dynamic.splitlines()
              if "(NEEDED)" in line}
    assert needed <= {"libc.so.6", "ld-linux-x86-64.so.2"}, needed


def wait_index(server, count, timeout=10):
    """The server's index lines once there are count of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(server.index()) < count:
        time.sleep(0.05)
    return server.index()


def library_file(soname):
    """The file the loader opens for soname (ldconfig's cache)."""
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True,
                           check=True).stdout
    match = re.search(r"^\s*%s \(libc6,x86-64\) => (\S+)$" % re.escape(soname),
                      cache, re.MULTILINE)
    assert match, "%s is not in ldconfig's cache" % soname
    return os.path.realpath(match.group(1))


def server_without(soname, outputs):
    """The clash server under reqprof, in a mount namespace of its own
    where soname's file is empty: dlmopen fails on it as on a machine
    without the package."""
    return Server(command=["unshare", "--mount", "sh", "-c",
                           'mount --bind /dev/null "$0" && exec "$@"',
                           library_file(soname), CLASH_SERVER],
                  env={"REQPROF_OUTPUT": outputs})


def test_without_its_libraries_reqprof_says_why_and_does_what_it_can():
    if os.geteuid() != 0:
        print("needs root, for a mount namespace: not run")
        return
    # Without libdw: reports, their frames named by address.
    with server_without("libdw.so.1", "json") as server:
        curl(server.url("/burn?ms=100"))
        curl(server.url("/burn?ms=100"))
        reports = server.wait_reports(2)
        names = set().union(*(functions(r["root"]) for r in reports))
        assert "clash_burn" not in names and \
            any(name.startswith("0x") for name in names), names
        said = server.stderr()
        assert said.count("reqprof: cannot load libdw.so.1") == 1 and \
            "install libdw1" in said and said.count("reqprof:") == 1, said
    # Without zlib: the HTML page, and index lines for the rest.
    with server_without("libz.so.1", "text,html") as server:
        curl(server.url("/burn?ms=50"))
        [line] = wait_index(server, 1)
        with open(os.path.join(server.report_dir, line[8] + ".html")) as f:
            assert "burn?ms=50" in f.read()
        assert sorted(os.listdir(server.report_dir)) == [
            ".reqprof-disk", line[8] + ".html", "index.tsv"], \
            os.listdir(server.report_dir)
        said = server.stderr()
        assert said.count("reqprof: cannot load libz.so.1") == 1 and \
            "install zlib1g" in said, said
    with server_without("libz.so.1", "json") as server:
        curl(server.url("/burn?ms=50"))
        [line] = wait_index(server, 1)
        assert line[8] == "-no-zlib", line
        assert os.listdir(server.report_dir) == ["index.tsv"]


def test_a_fork_inside_the_servers_dlopen_while_the_writer_loads_ends():
    """A module's constructor forks inside the server's dlopen, which holds
    the loader's lock, while the writer, started by the first request,
    waits for that lock to load its libraries (test/fault/fork_constructor.c
    times it so). The fork waits for the writer's load at most a second:
    both threads go on, and the request gets its line."""
    program = os.path.join(BUILD, "test", "fork_in_constructor")
    library = os.path.abspath(os.path.join(BUILD, "test",
                                           "fork_constructor.so"))
    with tempfile.TemporaryDirectory() as workdir:
        environment = dict(os.environ, LD_PRELOAD=LIBRARY,
                           REQPROF_OUTPUT="json")
        try:
            result = subprocess.run([os.path.abspath(program), library],
                                    cwd=workdir, env=environment,
                                    capture_output=True, text=True,
                                    timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError("the fork and the writer's load deadlocked")
        assert result.returncode == 0, result.stderr
        index = os.path.join(workdir, "reqprof", "index.tsv")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not os.path.exists(index):
            time.sleep(0.05)
        with open(index) as f:
            fields = [line.split("\t")[2:5] for line in f.read().splitlines()]
        assert fields == [["GET", "/first", "200"]], fields
