"""What a user of reqprof meets before any report: make install, reqprof
run, reqprof --version (and the version every report says), the line said
when profiling starts, the man page.

The installed tree is made by make install into a temporary DESTDIR, as a
package build makes it, and used from there: reqprof run must find the
library installed beside it, not the one in the build directory.
"""

import gzip
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import servers
from harness import BUILD, LIBRARY, TEST_SERVER, TOOL, Server, curl, function_total

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PREFIX = "/usr/local"

with open(os.path.join(SOURCE, "VERSION")) as version_file:
    VERSION = version_file.read().strip()


def install(destdir):
    """make install DESTDIR=destdir PREFIX=/usr/local from this build;
    returns the installed tree's root."""
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", SOURCE, "install",
         "BUILD=" + os.path.abspath(BUILD), "DESTDIR=" + destdir,
         "PREFIX=" + PREFIX],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return destdir + PREFIX


def start_lines(text):
    """reqprof's lines that say profiling started, each as (program, pid,
    interval, directory)."""
    return re.findall(r"^reqprof: %s profiling (\S+) \(pid (\d+)\) every "
                      r"(\S+); reports go to (.+)$" % re.escape(VERSION),
                      text, re.MULTILINE)


def test_make_install_gives_a_working_reqprof_run():
    with tempfile.TemporaryDirectory() as destdir:
        root = install(destdir)
        tool = os.path.join(root, "bin", "reqprof")
        library = os.path.join(root, "lib", "reqprof", "libreqprof.so")
        for path in (tool, library,
                     os.path.join(root, "share", "man", "man1", "reqprof.1"),
                     os.path.join(root, "share", "bash-completion",
                                  "completions", "reqprof")):
            assert os.path.isfile(path), sorted(
                os.path.join(d, f) for d, _, fs in os.walk(destdir)
                for f in fs)
        version = subprocess.run([tool, "--version"], capture_output=True,
                                 text=True, timeout=10)
        assert (version.returncode, version.stdout) == (
            0, "reqprof %s\n" % VERSION), version
        # The completion loads in bash and completes the commands.
        completion = subprocess.run(
            ["bash", "-c", 'source "$0"; COMP_WORDS=(reqprof co); '
             'COMP_CWORD=1; _reqprof; echo "${COMPREPLY[*]}"',
             os.path.join(root, "share", "bash-completion", "completions",
                          "reqprof")],
            capture_output=True, text=True, timeout=10)
        assert completion.stdout == "convert\n", completion

        reports = os.path.join(destdir, "reports")
        command = [tool, "run", "-o", reports, "--output", "text,json",
                   "--", TEST_SERVER, "--port", "0"]
        with Server(command=command, preload=False,
                    env={"REQPROF_QUIET": "0"}) as server:
            server.report_dir = reports
            assert curl(server.url("/burn?ms=200")).startswith("burned 200 ms")
            [report] = server.wait_reports(1)
            # The installed library, not the built one, is in the server.
            with open("/proc/%d/maps" % server.process.pid) as maps:
                mapped = maps.read()
            assert os.path.realpath(library) in mapped and \
                os.path.realpath(os.path.join(BUILD, "libreqprof.so")) \
                not in mapped
            said = server.stderr()
        assert report["request"]["path"] == "/burn?ms=200", report["request"]
        assert (report["version"], report["reqprof"]) == (5, VERSION), report
        burnt = function_total(report["root"], "burn_alpha")
        assert burnt >= 0.8 * report["samples"] > 0, (burnt, report["samples"])
        with gzip.open(os.path.join(reports, report["stem"] + ".txt.gz"),
                       "rt") as f:
            text = f.read()
        assert "Program: %s (pid %d) under reqprof %s\n" % (
            TEST_SERVER, server.process.pid, VERSION) in text, text
        assert start_lines(said) == [
            ("test_server", str(server.process.pid), "1ms", reports)], said


def test_run_exits_as_its_command_does():
    def run(*arguments, tool=TOOL, env=None):
        return subprocess.run([tool, "run"] + list(arguments),
                              capture_output=True, text=True, timeout=30,
                              env=env)

    exited = run("--", "sh", "-c", "exit 7")
    assert (exited.returncode, exited.stderr) == (7, ""), exited
    # It becomes the command: killed, it is seen killed, and a shell
    # says 128+N.
    killed = run("sh", "-c", "kill -TERM $$")
    assert killed.returncode == -signal.SIGTERM, killed
    shell = subprocess.run(["sh", "-c", '"$0" run sh -c "kill -TERM \\$\\$"; '
                            'echo $?', TOOL], capture_output=True, text=True,
                           timeout=30)
    assert shell.stdout == "143\n", shell
    # Its environment is the command's, with the library preloaded.
    environment = run("-o", "/tmp/reports here", "sh", "-c",
                      'echo "$LD_PRELOAD|$REQPROF_DIR"')
    library = os.path.realpath(os.path.join(BUILD, "libreqprof.so"))
    assert environment.stdout == "%s|/tmp/reports here\n" % library, \
        environment
    # A relative directory goes as the one it names here: the command's
    # processes may change directory before they load reqprof.
    with tempfile.TemporaryDirectory() as here:
        relative = subprocess.run(
            [TOOL, "run", "-o", "reports", "sh", "-c", 'cd /; echo "$REQPROF_DIR"'],
            capture_output=True, text=True, timeout=30, cwd=here)
        assert relative.stdout == os.path.join(os.path.realpath(here),
                                               "reports") + "\n", relative
    # A library preloaded already is not preloaded twice.
    twice = run("sh", "-c", 'echo "$LD_PRELOAD"',
                env=dict(os.environ, LD_PRELOAD="/opt/x/libreqprof.so"))
    assert twice.stdout == "/opt/x/libreqprof.so\n", twice

    # Its own failures: one line, and a status of their own.
    missing = run("no-such-command-reqprof")
    assert (missing.returncode, missing.stderr) == (
        127, "reqprof run: no-such-command-reqprof: command not found\n"), \
        missing
    setting = run("--output", "txt", "true")
    assert setting.returncode == 125 and setting.stderr.count("\n") == 1 and \
        'REQPROF_OUTPUT="txt" is not valid' in setting.stderr, setting
    with tempfile.TemporaryDirectory() as alone:
        # A reqprof with no library beside it, installed or built.
        shutil.copy(TOOL, alone)
        lost = run("true", tool=os.path.join(alone, "reqprof"))
        assert lost.returncode == 125 and lost.stderr.count("\n") == 1 and \
            "no libreqprof.so in %s/../lib/reqprof/libreqprof.so" % alone \
            in lost.stderr, lost


def test_one_start_line_for_a_server_and_its_children():
    """busybox httpd forks a child per connection, which runs the CGI (an
    exec: reqprof loads again there). Only the server, at its listen, says
    that profiling started: neither its children nor the CGI, which never
    listen, nor the shell that started it. REQPROF_QUIET=1 leaves it out."""
    with servers.busybox() as server:
        assert curl(server.url("/" + servers.SMALL_FILE)) == \
            servers.SMALL_FILE_TEXT
        assert curl(server.url("/cgi-bin/burn?ms=20")) == "burned 20 ms\n"
        assert start_lines(server.stderr()) == [], server.stderr()
    # A misspelt setting is said once too, with the start line: said at
    # load, every CGI would say it (into its output, were its stderr its
    # client's, as an inetd child's is).
    with servers.busybox(env={"REQPROF_QUIET": "0",
                              "REQPROF_INTERVAL": "500us",
                              "REQPROF_INTERVALL": "2ms"}) as server:
        assert curl(server.url("/" + servers.SMALL_FILE)) == \
            servers.SMALL_FILE_TEXT
        for _ in range(3):
            assert curl(server.url("/cgi-bin/burn?ms=20")) == "burned 20 ms\n"
        said = server.stderr()
        assert start_lines(said) == [
            ("busybox", str(server.process.pid), "500us",
             server.report_dir)], said
        assert said.count("unknown setting REQPROF_INTERVALL") == 1, said
    # A shell that starts the server says nothing either.
    command = ["sh", "-c", '"$0" --port 0; exit 0', TEST_SERVER]
    with Server(command=command, env={"REQPROF_QUIET": "0"}) as server:
        assert curl(server.url("/burn?ms=5")).startswith("burned 5 ms")
        said = server.stderr()
    [(program, pid, interval, directory)] = start_lines(said)
    assert (program, interval, directory) == (
        "test_server", "1ms", server.report_dir), said
    assert int(pid) != server.process.pid, said


def test_a_start_line_into_a_dead_pipe_does_not_kill_the_server():
    """busybox httpd has not ignored SIGPIPE when it listens (nor has
    nginx): with its stderr a pipe whose reader is gone (a logger that
    died), the start line's write must fail quietly, not kill it."""
    binary = servers.require(servers.BUSYBOX)
    workdir = servers.make_workdir("dead-pipe")
    root = os.path.join(workdir, "html")
    os.makedirs(root)
    servers.write(root, servers.SMALL_FILE, servers.SMALL_FILE_TEXT)
    port = servers.free_port()
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = dict(os.environ, LD_PRELOAD=LIBRARY, REQPROF_QUIET="0",
               REQPROF_DIR=os.path.join(workdir, "reports"))
    process = subprocess.Popen(
        [binary, "httpd", "-f", "-p", "127.0.0.1:%d" % port, "-h", root],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=write_end,
        env=env)
    os.close(write_end)
    text = None
    try:
        url = "http://127.0.0.1:%d/%s" % (port, servers.SMALL_FILE)
        for _ in range(100):
            if process.poll() is not None:
                break
            try:
                text = curl(url, timeout=5)
                break
            except Exception:
                time.sleep(0.05)
        assert process.poll() is None, \
            "the server died: status %s" % process.returncode
        assert text == servers.SMALL_FILE_TEXT, text
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)


def test_the_man_page_lists_every_setting_with_its_default():
    """docs/reqprof.1 has an entry KEY=DEFAULT for each KEY=DEFAULT line of
    profiler.conf.example, and for REQPROF_CONFIG, which that file cannot
    hold."""
    with open(os.path.join(SOURCE, "profiler.conf.example")) as f:
        example = dict(re.findall(r"^(REQPROF_\w+)=(.*)$", f.read(),
                                  re.MULTILINE))
    with open(os.path.join(SOURCE, "docs", "reqprof.1")) as f:
        page = f.read()
    entries = re.findall(r"^\.TP\n\\fB(REQPROF_\w+)\\fR(?:=\\fI(.*)\\fR)?$",
                         page, re.MULTILINE)
    assert dict(entries) == dict(example, REQPROF_CONFIG=""), (
        sorted(entries), sorted(example.items()))
    rendered = subprocess.run(["man", "--warnings", "-l", "-"], input=page,
                              capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, MANWIDTH="80"))
    assert rendered.returncode == 0 and rendered.stderr == "" and \
        "REQPROF_QUIET=0" in rendered.stdout, rendered.stderr


def test_the_readmes_example_report_names_the_test_servers_lines():
    """The README's text report is the test server's: each frame it places
    in test/server/test_server.c is at the line where that function is
    defined (or made, by a macro), as reports place it."""
    with open(os.path.join(SOURCE, "README.md")) as f:
        frames = re.findall(r" (\w+)  test/server/test_server\.c:(\d+)$",
                            f.read(), re.MULTILINE)
    with open(os.path.join(SOURCE, "test", "server", "test_server.c")) as f:
        lines = f.read().splitlines()
    assert len(frames) >= 5, frames
    wrong = [(name, number, lines[int(number) - 1]) for name, number in frames
             if not re.search(r"\b%s\b" % name, lines[int(number) - 1])]
    assert not wrong, wrong
