"""End-to-end: the reqprof tool and the report formats, on real reports of
the test server (ls, show, convert, open, merge; text, JSON, HTML, pprof,
collapsed), real readers where Debian has them (go tool pprof, headless
chromium), and clear errors for missing, corrupt and foreign files."""

import atexit
import glob
import gzip
import json
import os
import shutil
import subprocess
import tempfile

from harness import (BUILD, TEST_SERVER, TOOL, Server, curl, function_total,
                     run_browser_test)

HERE = os.path.dirname(os.path.abspath(__file__))

# The requests every test reads, recorded once (see recorded()).
REQUESTS = ["/burn?ms=60", "/burn?ms=60", "/burn?ms=60",
            "/mix?ms=200&pct=70", "/sleep?ms=40"]

_recorded = None


def recorded():
    """A directory of reports of REQUESTS, written by libreqprof.so in
    every format, kept for the whole run: the server runs once."""
    global _recorded
    if _recorded is None:
        keep = tempfile.mkdtemp(prefix="reqprof-tool-")
        atexit.register(shutil.rmtree, keep, True)
        with Server(env={"REQPROF_OUTPUT": "json,html,text"}) as server:
            for path in REQUESTS:
                curl(server.url(path))
            server.wait_reports(len(REQUESTS))
            shutil.copytree(server.report_dir, os.path.join(keep, "reqprof"))
        _recorded = os.path.join(keep, "reqprof")
    return _recorded


def report_of(path, extension="json.gz"):
    """The report file of the first recorded request for path."""
    with open(os.path.join(recorded(), "index.tsv")) as index:
        for line in index:
            fields = line.rstrip("\n").split("\t")
            if fields[3] == path:
                return os.path.join(recorded(), fields[8] + "." + extension)
    raise AssertionError("no report of %s" % path)


def load_json(path):
    with gzip.open(path) as f:
        return json.load(f)


def tool(*arguments, env=None, expect=0):
    """Runs build/reqprof; returns (stdout bytes, stderr text), failing the
    test if the exit status is not expect."""
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("REQPROF_") and k != "NO_COLOR"}
    environment.update(env or {})
    result = subprocess.run([TOOL] + list(arguments), capture_output=True,
                            env=environment, timeout=60)
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == expect, "reqprof %s exited %d, not %d: %s" % (
        " ".join(arguments), result.returncode, expect, stderr)
    return result.stdout, stderr


def test_ls_lists_every_request_in_order():
    out, _ = tool("ls", recorded())
    lines = out.decode().splitlines()
    assert lines[0].split() == ["TIME", "METHOD", "PATH", "STATUS",
                                "DURATION", "CPU", "WAIT", "SAMPLES",
                                "SHARED", "REPORT"], lines[0]
    assert [line.split()[3] for line in lines[1:]] == REQUESTS, lines
    for line in lines[1:]:
        assert line.split()[-1].endswith(".json.gz"), line
        assert os.path.exists(line.split()[-1]), line


def test_ls_slowest_and_path_filter():
    out, _ = tool("ls", recorded(), "--slowest", "1")
    rows = out.decode().splitlines()[1:]
    assert len(rows) == 1 and rows[0].split()[3] == "/mix?ms=200&pct=70", rows
    out, _ = tool("ls", recorded(), "--path", "/burn")
    rows = out.decode().splitlines()[1:]
    assert [r.split()[3] for r in rows] == ["/burn?ms=60"] * 3, rows
    out, _ = tool("ls", "--path", "/s*", env={"REQPROF_DIR": recorded()})
    rows = out.decode().splitlines()[1:]
    assert [r.split()[3] for r in rows] == ["/sleep?ms=40"], rows


def test_the_tool_reads_settings_as_the_library_does():
    """REQPROF_DIR and the text settings come from REQPROF_CONFIG's file
    as well as the environment (the library's code, not a copy), a bad
    value is refused with the library's words, and a misspelt REQPROF_*
    variable gets the library's one-line warning."""
    report = report_of("/mix?ms=200&pct=70")
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as config:
        config.write("export REQPROF_DIR='%s'  # the recorded run\n"
                     "REQPROF_UNICODE=0\n" % recorded())
        config.flush()
        out, stderr = tool("ls", "--path", "/s*",
                           env={"REQPROF_CONFIG": config.name})
        assert stderr == "", stderr
        rows = out.decode().splitlines()[1:]
        assert [r.split()[3] for r in rows] == ["/sleep?ms=40"], rows
        out, _ = tool("show", report, env={"REQPROF_CONFIG": config.name})
        assert "`- " in out.decode() and "└" not in out.decode()
    _, stderr = tool("ls", expect=2, env={"REQPROF_MAX_DISK": "lots"})
    assert stderr.startswith('reqprof: REQPROF_MAX_DISK="lots" is not valid: '
                             "expected 0 (no limit)"), stderr
    # --help lists every setting with its default, from the same table
    # (test_config checks the README's against it).
    out, _ = tool("--help")
    listed = [line.split()[0] for line in out.decode().splitlines()
              if line.startswith("  REQPROF_")]
    with open("README.md") as readme:
        rows = [line.split("|")[1:3] for line in readme
                if line.startswith("| `REQPROF_")]
    assert listed == [key.strip(" `") + ("=" + default.strip(" `")
                                         if "`" in default else "")
                      for key, default in rows], (listed, rows)
    # A misspelt variable is said with the settings of that table.
    out, stderr = tool("ls", env={"REQPROF_DIR": recorded(),
                                  "REQPROF_SHOWALL": "1"})
    known = ", ".join(setting.split("=")[0] for setting in listed)
    assert stderr.splitlines() == [
        "reqprof: unknown setting REQPROF_SHOWALL (known: %s) in the "
        "environment: ignored, check the spelling" % known], stderr
    assert len(out.decode().splitlines()) == len(REQUESTS) + 1, out


def test_show_folds_library_frames_and_keeps_the_server():
    out, _ = tool("show", report_of("/mix?ms=200&pct=70"))
    text = out.decode()
    assert text.startswith("reqprof "), text
    assert "burn_alpha  test/server/test_server.c" in text, text
    assert "burn_beta" in text, text
    assert "frames hidden] libc.so.6" in text, text
    assert "start_thread" not in text and "__clone3" not in text, text
    assert "\033[" not in text, "colour when not on a terminal"


def test_show_all_and_ascii():
    report = report_of("/mix?ms=200&pct=70")
    for arguments, env in ((["--all"], None), ([], {"REQPROF_SHOW_ALL": "1"})):
        out, _ = tool("show", *arguments, report, env=env)
        text = out.decode()
        assert "start_thread" in text and "frames hidden" not in text, text
        assert "not shown" not in text, text
    out, _ = tool("show", "--ascii", report)
    assert "`- " in out.decode() and "└" not in out.decode(), out.decode()
    out, _ = tool("show", report, env={"REQPROF_UNICODE": "0"})
    assert "`- " in out.decode(), out.decode()


def test_show_threshold_leaves_out_small_frames_and_counts_them():
    report = report_of("/mix?ms=200&pct=70")
    # burn_beta has 30% of the request.
    out, _ = tool("show", "--all", "--threshold", "50", report)
    text = out.decode()
    assert "burn_beta" not in text, text
    assert "under 50% of the request not shown" in text, text
    out, _ = tool("show", "--threshold", "abc", report, expect=2)


def test_json_to_html_to_json_is_identical():
    report = report_of("/mix?ms=200&pct=70")
    with gzip.open(report) as f:
        original = f.read()
    work = tempfile.mkdtemp(prefix="reqprof-convert-")
    try:
        page = os.path.join(work, "page.html")
        tool("convert", report, "--to", "html", "-o", page)
        with open(page, "rb") as f:
            assert f.read(15) == b"<!DOCTYPE html>"
        back, _ = tool("convert", page, "--to", "json")
        assert back == original, "JSON changed on its way through HTML"
        # A compressed copy reads back the same.
        tool("convert", page, "--to", "json", "-o", os.path.join(work, "x.json.gz"))
        with gzip.open(os.path.join(work, "x.json.gz")) as f:
            assert f.read() == original
    finally:
        shutil.rmtree(work)


def test_library_html_report_holds_the_same_data_as_its_json():
    json_report = report_of("/mix?ms=200&pct=70")
    html_report = report_of("/mix?ms=200&pct=70", "html")
    with open(html_report, "rb") as f:
        assert f.read(15) == b"<!DOCTYPE html>", "the page is not plain HTML"
    with gzip.open(json_report) as f:
        original = f.read()
    back, _ = tool("convert", html_report, "--to", "json")
    assert back == original
    out, _ = tool("show", html_report)
    assert "burn_alpha" in out.decode()


def test_collapsed_stacks_add_up_to_the_samples():
    report = report_of("/mix?ms=200&pct=70")
    data = load_json(report)
    out, _ = tool("convert", report, "--to", "collapsed")
    lines = out.decode().splitlines()
    total = 0
    alpha = 0
    for line in lines:
        stack, count = line.rsplit(" ", 1)
        total += int(count)
        if "burn_alpha" in stack.split(";"):
            alpha += int(count)
        assert stack.split(";")[0] in ("__clone3", "start_thread", "[request]",
                                       "clone", "clone3"), line
    assert total == data["samples"], (total, data["samples"])
    assert alpha == function_total(data["root"], "burn_alpha"), alpha
    assert len(set(l.rsplit(" ", 1)[0] for l in lines)) == len(lines)


def read_varint(data, at):
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7f) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def read_fields(data):
    """The fields of a protobuf message: (number, int or bytes)."""
    at = 0
    while at < len(data):
        key, at = read_varint(data, at)
        if key & 7 == 0:
            value, at = read_varint(data, at)
        elif key & 7 == 2:
            length, at = read_varint(data, at)
            value, at = data[at:at + length], at + length
        else:
            raise AssertionError("wire type %d" % (key & 7))
        yield key >> 3, value


def read_packed(data):
    values, at = [], 0
    while at < len(data):
        value, at = read_varint(data, at)
        values.append(value)
    return values


def test_pprof_totals_and_labels_match_the_json():
    report = report_of("/mix?ms=200&pct=70")
    data = load_json(report)
    work = tempfile.mkdtemp(prefix="reqprof-pprof-")
    try:
        profile = os.path.join(work, "mix.pb.gz")
        tool("convert", report, "--to", "pprof", "-o", profile)
        with gzip.open(profile) as f:
            message = f.read()
        strings, samples = [], []
        for number, value in read_fields(message):
            if number == 6:
                strings.append(value.decode())
            elif number == 2:
                samples.append(list(read_fields(value)))
        counts = walls = cpus = 0
        labels = set()
        for sample in samples:
            for number, value in sample:
                if number == 2:
                    count, wall, cpu = read_packed(value)
                    counts += count
                    walls += wall
                    cpus += cpu
                elif number == 3:
                    label = dict(read_fields(value))
                    labels.add((label[1], label[2]))
        assert counts == data["samples"], (counts, data["samples"])
        assert walls == data["samples"] * round(data["interval_ms"] * 1e6)
        assert cpus == data["cpu_samples"] * round(data["interval_ms"] * 1e6)
        assert 0 < data["cpu_samples"] <= data["samples"], data["cpu_samples"]
        named = {(strings[k], strings[v]) for k, v in labels}
        request_id = "%d@%d" % (data["process"]["pid"],
                                data["request"]["start_unix_us"])
        assert named == {("method", "GET"), ("path", "/mix?ms=200&pct=70"),
                         ("route", "GET /mix"), ("status", "200"),
                         ("request", request_id)}, named
        assert "burn_alpha" in strings

        # pprof itself (Debian's golang-go).
        text = go_pprof("-top", "-sample_index=samples", profile)
        assert "burn_alpha" in text and "burn_beta" in text, text
        assert "of %d total" % data["samples"] in text, text
        # Wall time is what pprof shows unless asked for another type.
        text = go_pprof("-top", profile)
        assert "Type: wall" in text, text
        text = go_pprof("-tags", profile)
        assert "/mix?ms=200&pct=70" in text and "GET /mix" in text, text
    finally:
        shutil.rmtree(work)


def go_pprof(*arguments):
    """Runs go tool pprof (Debian's golang-go: test/install-deps installs
    it); returns its output."""
    work = tempfile.mkdtemp(prefix="reqprof-go-")
    try:
        env = dict(os.environ, HOME=work, GOCACHE=os.path.join(work, "go"))
        result = subprocess.run(["go", "tool", "pprof"] + list(arguments),
                                capture_output=True, env=env, timeout=120)
    finally:
        shutil.rmtree(work)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


def raw_samples(raw):
    """The samples of go tool pprof -raw's output: (count, labels text)."""
    samples = []
    lines = raw.split("Samples:\n", 1)[1].split("Locations\n", 1)[0]
    for line in lines.splitlines()[1:]:
        if ":" in line and line.split(":")[0].strip().split()[0].isdigit():
            samples.append([int(line.split()[0]), ""])
        elif samples and line.strip():
            samples[-1][1] += line.strip()
    return samples


def elf_facts(path):
    """An ELF file's GNU build ID and executable segment (start, end, file
    offset), as readelf tells them."""
    notes = subprocess.run(["readelf", "-n", path], capture_output=True,
                           check=True).stdout.decode()
    build_id = notes.split("Build ID: ", 1)[1].split()[0]
    segments = subprocess.run(["readelf", "-lW", path], capture_output=True,
                              check=True).stdout.decode()
    for line in segments.splitlines():
        fields = line.split()
        if fields[:1] == ["LOAD"] and "E" in fields[6:-1]:
            start = int(fields[2], 16)
            return build_id, (start, start + int(fields[5], 16),
                              int(fields[1], 16))
    raise AssertionError("no executable segment in %s" % path)


def test_pprof_has_real_addresses_and_build_ids():
    """pprof's locations are at the functions' entries in their object, as
    nm lists them, and its mappings carry the objects' build IDs and code
    segments, as readelf reads them from the files."""
    data = load_json(report_of("/mix?ms=200&pct=70"))
    work = tempfile.mkdtemp(prefix="reqprof-pprof-")
    try:
        profile = os.path.join(work, "mix.pb.gz")
        tool("convert", report_of("/mix?ms=200&pct=70"), "--to", "pprof",
             "-o", profile)
        raw = go_pprof("-raw", profile)
    finally:
        shutil.rmtree(work)
    symbols = {}
    for line in subprocess.run(["nm", TEST_SERVER], capture_output=True,
                               check=True).stdout.decode().splitlines():
        fields = line.split()
        if len(fields) == 3:
            symbols[fields[2]] = int(fields[0], 16)
    locations = {}
    for line in raw.split("Locations\n", 1)[1].split("Mappings\n")[0].splitlines():
        fields = line.split()
        locations[fields[3]] = (int(fields[1], 16), fields[2])
    for function in ("burn_alpha", "burn_beta", "route_mix"):
        assert locations[function][0] == symbols[function] != 0, (
            function, locations[function], symbols[function])
    mappings = {}
    for line in raw.split("Mappings\n", 1)[1].splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[1].startswith("0x"):
            mappings[fields[2]] = (fields[0].rstrip(":"), fields[1],
                                   fields[3] if fields[3][0] != "[" else "")
    build_id, (start, end, offset) = elf_facts(TEST_SERVER)
    number, span, found_id = mappings["test_server"]
    assert number == "1", mappings  # the program's, first
    assert found_id == build_id, (found_id, build_id)
    assert span == "%#x/%#x/%#x" % (start, end, offset), (span, start, end)
    assert locations["burn_alpha"][1] == "M=1", locations["burn_alpha"]
    # libc, from the path the server loaded it from.
    libc = [line.split()[-1] for line in open("/proc/self/maps")
            if "/libc.so.6" in line][0]
    assert mappings["libc.so.6"][2] == elf_facts(libc)[0], mappings
    assert data["objects"], data


def test_merged_pprof_keeps_each_requests_labels():
    """merge --to pprof labels each sample with its own request's route,
    status and id, so go tool pprof -tagfocus splits the merge again."""
    reports = [load_json(os.path.join(recorded(), line.split("\t")[8].strip()
                                      + ".json.gz"))
               for line in open(os.path.join(recorded(), "index.tsv"))]
    work = tempfile.mkdtemp(prefix="reqprof-merge-")
    try:
        profile = os.path.join(work, "all.pb.gz")
        tool("merge", recorded(), "--to", "pprof", "-o", profile)
        everything = raw_samples(go_pprof("-raw", profile))
        assert sum(count for count, _ in everything) == sum(
            r["samples"] for r in reports)
        for route in ("GET /burn", "GET /mix", "GET /sleep"):
            kept = raw_samples(go_pprof("-raw", "-tagfocus",
                                        "route=^%s$" % route, profile))
            wanted = [r for r in reports
                      if "%s %s" % (r["request"]["method"],
                                    r["request"]["path"].split("?")[0]) == route]
            assert wanted, route
            assert sum(count for count, _ in kept) == sum(
                r["samples"] for r in wanted), (route, kept)
            ids = {"%d@%d" % (r["process"]["pid"], r["request"]["start_unix_us"])
                   for r in wanted}
            for _, labels in kept:
                assert "route:[%s]" % route in labels, labels
                assert "status:[200]" in labels, labels
                assert any("request:[%s]" % i in labels for i in ids), labels
    finally:
        shutil.rmtree(work)


SPEEDSCOPE = os.path.join(BUILD, "test", "speedscope", "package", "dist",
                          "release")
SPEEDSCOPE_IMPORT = os.path.join(HERE, "speedscope_import.js")


def speedscope_reads(path):
    """What speedscope's own import code (the npm package, in node) makes
    of the file at path."""
    assert os.path.isdir(SPEEDSCOPE), (
        "no speedscope in %s: test/install-deps test %s installs it"
        % (SPEEDSCOPE, BUILD))
    result = subprocess.run(["node", SPEEDSCOPE_IMPORT, SPEEDSCOPE, path],
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def test_speedscope_export_is_read_by_speedscope():
    """speedscope reads the export with each function's time, and its Time
    Order is the request's: /mix burns burn_alpha, then burn_beta."""
    data = load_json(report_of("/mix?ms=200&pct=70"))
    interval = data["interval_ms"]
    work = tempfile.mkdtemp(prefix="reqprof-speedscope-")
    try:
        exported = os.path.join(work, "mix.speedscope.json")
        tool("convert", report_of("/mix?ms=200&pct=70"), "--to", "speedscope",
             "-o", exported)
        with open(exported) as f:
            assert json.load(f)["profiles"][0]["type"] == "evented"
        read = speedscope_reads(exported)
        profile = read["profiles"][0]
        assert profile["unit"] == "milliseconds", profile["unit"]
        # The request spans its duration; its samples, laid end to end
        # where they overlap, end within what samples x interval may differ
        # from the duration (an interval and 2%: timer overruns are
        # counted in whole intervals).
        duration = data["request"]["duration_ms"]
        assert duration - 0.001 <= profile["total"] <= (
            duration + interval + 0.02 * duration), (
                profile["total"], duration, data["samples"])
        for name in ("burn_alpha", "burn_beta", "route_mix"):
            assert abs(profile["frames"][name]["total"] -
                       function_total(data["root"], name) * interval) < 0.01, (
                name, profile["frames"][name], function_total(data["root"], name))
        assert function_total(data["root"], "burn_beta") * interval > 40
        spans = profile["spans"]
        assert spans["burn_alpha"][1] <= spans["burn_beta"][0], spans
        assert profile["order"].index("burn_alpha") < profile["order"].index(
            "burn_beta"), profile["order"]

        # A merge has no timeline: a sampled profile of the summed tree.
        merged = os.path.join(work, "burn.speedscope.json")
        tool("merge", recorded(), "--path", "/burn", "--to", "speedscope",
             "-o", merged)
        out, _ = tool("merge", recorded(), "--path", "/burn", "--to", "json")
        summed = json.loads(out)
        profile = speedscope_reads(merged)["profiles"][0]
        assert abs(profile["frames"]["burn_alpha"]["total"] - function_total(
            summed["root"], "burn_alpha") * interval) < 0.01, profile["frames"]
        assert abs(profile["total"] - summed["samples"] * interval) < 0.01
    finally:
        shutil.rmtree(work)


def test_convert_refuses_unknown_formats_and_a_missing_to():
    report = report_of("/mix?ms=200&pct=70")
    _, stderr = tool("convert", report, "--to", "svg", expect=2)
    assert ("expected one of: text, json, html, pprof, collapsed, speedscope"
            in stderr), stderr
    _, stderr = tool("convert", report, expect=2)
    assert "--to" in stderr, stderr


def test_merge_of_three_burns_sums_them():
    burns = [load_json(os.path.join(recorded(), line.split("\t")[8].strip()
                                    + ".json.gz"))
             for line in open(os.path.join(recorded(), "index.tsv"))
             if line.split("\t")[3] == "/burn?ms=60"]
    assert len(burns) == 3
    out, _ = tool("merge", recorded(), "--path", "/burn", "--to", "json")
    merged = json.loads(out)
    assert merged["requests"] == 3, merged["requests"]
    assert merged["samples"] == sum(b["samples"] for b in burns)
    assert merged["root"]["total"] == merged["samples"]
    assert function_total(merged["root"], "burn_alpha") == sum(
        function_total(b["root"], "burn_alpha") for b in burns)
    assert abs(merged["request"]["duration_ms"] - sum(
        b["request"]["duration_ms"] for b in burns)) < 0.01
    assert merged["request"]["path"] == "/burn?ms=60"
    out, _ = tool("merge", recorded(), "--path", "/burn")
    assert "Requests: 3 merged, GET /burn?ms=60" in out.decode(), out.decode()
    # Different paths: the pattern stands for them.
    out, _ = tool("merge", recorded(), "--to", "json")
    merged = json.loads(out)
    assert merged["requests"] == len(REQUESTS)
    assert merged["request"]["path"] == ""
    _, stderr = tool("merge", recorded(), "--path", "/nothing*", expect=1)
    assert "no report" in stderr, stderr


def test_open_writes_a_page_to_open():
    work = tempfile.mkdtemp(prefix="reqprof-open-")
    try:
        report = report_of("/mix?ms=200&pct=70")
        out, stderr = tool("open", report, env={"TMPDIR": work})
        page = out.decode().strip()
        assert page.startswith("file://" + work) and page.endswith(".html"), page
        assert "open the page above" in stderr, stderr  # no display here
        with open(page[len("file://"):], "rb") as f:
            assert b'id="reqprof-report"' in f.read()
        # A page on disk is opened where it is.
        html_report = report_of("/mix?ms=200&pct=70", "html")
        out, _ = tool("open", "--print", html_report, env={"TMPDIR": work})
        assert out.decode().strip() == "file://" + os.path.realpath(html_report)
    finally:
        shutil.rmtree(work)


def test_missing_corrupt_and_foreign_files_are_refused_clearly():
    work = tempfile.mkdtemp(prefix="reqprof-bad-")
    try:
        def write(name, data):
            with open(os.path.join(work, name), "wb") as f:
                f.write(data)
            return os.path.join(work, name)

        good = open(report_of("/mix?ms=200&pct=70"), "rb").read()
        cases = [
            (os.path.join(work, "missing.json.gz"), "No such file"),
            (write("cut.json.gz", good[:len(good) // 2]), "corrupt gzip"),
            (write("foreign.json", b'{"name": "x"}'), "not a reqprof report"),
            (write("page.html", b"<!DOCTYPE html><p>hi</p>"),
             "not a reqprof report"),
            (write("empty", b""), "empty file"),
            (write("binary", b"\x7fELF\x02\x01"), "not a reqprof report"),
        ]
        for path, reason in cases:
            for command in (["show"], ["convert", "--to", "json"]):
                _, stderr = tool(*command, path, expect=1)
                line = stderr.strip()
                assert line.startswith("reqprof: " + path + ": "), line
                assert reason in line, (reason, line)
                assert "\n" not in line, line
        text = report_of("/mix?ms=200&pct=70", "txt.gz")
        out, _ = tool("show", text)
        assert out.startswith(b"reqprof ")
        _, stderr = tool("convert", text, "--to", "html", expect=1)
        assert "text report cannot be read back" in stderr, stderr
        _, stderr = tool("ls", work, expect=1)
        assert "index.tsv" in stderr, stderr
        write("index.tsv", b"not an index\n")
        _, stderr = tool("ls", work, expect=1)
        assert "not a reqprof index" in stderr, stderr
    finally:
        shutil.rmtree(work)


def test_help_and_usage_errors():
    out, _ = tool("--help")
    assert b"usage: reqprof COMMAND" in out
    for command in ("ls", "show", "open", "convert", "merge", "diff",
                    "stats"):
        out, _ = tool(command, "--help")
        assert out.startswith(b"usage: reqprof " + command.encode()), out
    _, stderr = tool(expect=2)
    assert "usage:" in stderr
    _, stderr = tool("frobnicate", expect=2)
    assert 'unknown command "frobnicate"' in stderr, stderr
    _, stderr = tool("show", "--bogus", "x", expect=2)
    assert "unknown option" in stderr and "--bogus" in stderr, stderr
    _, stderr = tool("show", expect=2)
    assert "expected one REPORT" in stderr, stderr
    _, stderr = tool("ls", "--slowest", "0", expect=2)
    assert "--slowest" in stderr, stderr
    _, stderr = tool("diff", "a", expect=2)
    assert "expected A and B" in stderr, stderr
    _, stderr = tool("diff", "a", "b", "--to", "pprof", expect=2)
    assert "expected text or html" in stderr, stderr


def with_timeline(report, destination):
    """Writes a copy of a JSON report with a timeline made from its own
    tree: each node's samples one after another, 1 interval apart, in the
    tree's order, as a request that ran its calls in turn would have; a
    node's samples that ran come first."""
    data = load_json(report)
    knows_cpu = data.get("cpu_samples") is not None
    nodes = []

    def walk(node):
        nodes.append(node)
        for child in node["children"]:
            walk(child)
    walk(data["root"])
    step = round(data["interval_ms"] * 1000)
    points, time = [], 0
    for number, node in enumerate(nodes):
        for sample in range(node["self"]):
            time += step
            ran = [int(sample < node["cpu_self"])] if knows_cpu else []
            points.append([time, number, 1] + ran)
    data["timeline"] = points
    with open(destination, "w") as f:
        json.dump(data, f)


def with_shared(report, destination):
    """Writes a copy of a JSON report in which half the samples are shared
    with another request: as many again, in a function of the server's
    under "[shared: 2 requests]", where the writer puts work a thread did
    for two requests at once, and the attribution that says so. report
    is uncompressed (with_timeline's)."""
    with open(report) as f:
        data = json.load(f)
    root = data["root"]
    samples = data["samples"]
    knows_cpu = data.get("cpu_samples") is not None
    ran = {"cpu_total": samples, "cpu_self": samples} if knows_cpu else {}
    work = dict({"function": "other_work", "object": "test_server", "file": None,
                 "line": None, "address": None, "total": samples, "self": samples},
                **ran, children=[])
    root["children"].append(dict(
        {"function": "[shared: 2 requests]", "object": None, "file": None,
         "line": None, "address": None, "total": samples, "self": 0},
        **dict(ran, cpu_self=0) if knows_cpu else {}, children=[work]))
    root["total"] += samples
    if knows_cpu:
        root["cpu_total"] += samples
        data["cpu_samples"] += samples
    ordered = {}
    for key, value in data.items():
        ordered[key] = value
        if key == "requests":
            ordered["attribution"] = {"shared_samples": samples,
                                      "shared_fraction": 0.5}
    ordered["samples"] = 2 * samples
    with open(destination, "w") as f:
        json.dump(ordered, f)


def with_waited(report, destination):
    """Writes a copy of a JSON report (with_timeline's) in which every
    sample of burn_beta waited and every other one ran, as though
    burn_beta had been a blocking call."""
    with open(report) as f:
        data = json.load(f)
    numbers = []

    def mark(node, waits):
        waits = waits or node["function"] == "burn_beta"
        numbers.append(waits)
        node["cpu_self"] = 0 if waits else node["self"]
        node["cpu_total"] = node["cpu_self"]
        for child in node["children"]:
            node["cpu_total"] += mark(child, waits)
        # The reader wants the counts in the order the writer puts them.
        node["children"] = node.pop("children")
        return node["cpu_total"]
    data["cpu_samples"] = mark(data["root"], False)
    data["timeline"] = [[time, node, weight, 0 if numbers[node] else weight]
                        for time, node, weight, *_ in data["timeline"]]
    with open(destination, "w") as f:
        json.dump(data, f)


def with_waits(source, destination):
    """Writes the report at source (JSON) to destination with what the
    browser test's --waits expects: 81 ms of 3 reads of 1200 bytes from
    127.0.0.1:5432, before "objects", as the library writes them."""
    with open(source) as f:
        data = json.load(f)
    ordered = {}
    for key, value in data.items():
        if key == "objects":
            ordered["waits"] = [{"peer": "127.0.0.1:5432", "kind": "read",
                                 "calls": 3, "ms": 81.0, "bytes": 1200}]
        ordered[key] = value
    with open(destination, "w") as f:
        json.dump(ordered, f)


def with_shared_and_waits(source, destination):
    """with_shared's report, which also waited on an upstream (with_waits)."""
    with_shared(source, destination)
    with_waits(destination, destination)


def run_report_browser_test(page, screenshot, timeline, shared=False,
                            waited=False, waits=False):
    arguments = [page, screenshot]
    if timeline:
        arguments.append("--timeline")
    if shared:
        arguments.append("--shared")
    if waited:
        arguments.append("--waited")
    if waits:
        arguments.append("--waits")
    run_browser_test("report.test.mjs", *arguments)
    assert os.path.getsize(screenshot) > 10000, "screenshot is too small"


def browser_screenshots():
    """The folder for the browser test's screenshots."""
    out_dir = os.path.abspath(os.path.join(BUILD, "test"))
    os.makedirs(out_dir, exist_ok=True)
    return out_dir


def browse_made(work, name, made_from, make, **expected):
    """Makes work/NAME.json from made_from, converts it to HTML with the
    tool and runs the browser test on it (with a timeline); returns the
    JSON made."""
    made = os.path.join(work, name + ".json")
    make(made_from, made)
    converted = os.path.join(work, name + ".html")
    tool("convert", made, "--to", "html", "-o", converted)
    run_report_browser_test(
        converted, os.path.join(browser_screenshots(), "browser-%s.png" % name),
        True, **expected)
    return made


def test_html_report_in_a_real_browser():
    """Headless chromium expands, searches and draws a report: the page the
    library wrote, one with a timeline (the tool's rendering), and one half
    of whose samples are shared with another request and that waited on
    an upstream."""
    page = report_of("/mix?ms=200&pct=70", "html")
    has_timeline = bool(load_json(report_of("/mix?ms=200&pct=70"))["timeline"])
    run_report_browser_test(
        page, os.path.join(browser_screenshots(), "browser-library.png"),
        has_timeline)
    work = tempfile.mkdtemp(prefix="reqprof-browser-")
    try:
        source = browse_made(work, "timeline", report_of("/mix?ms=200&pct=70"),
                             with_timeline)
        browse_made(work, "shared", source, with_shared_and_waits, shared=True,
                    waits=True)
    finally:
        shutil.rmtree(work)


def test_html_report_of_waiting_in_a_real_browser():
    """Headless chromium draws a report in which burn_beta waited: hatched
    in the views, and counted out when only the CPU counts (a test of its
    own: four pages take the browser longer than one test may run)."""
    work = tempfile.mkdtemp(prefix="reqprof-browser-")
    try:
        source = os.path.join(work, "timeline.json")
        with_timeline(report_of("/mix?ms=200&pct=70"), source)
        browse_made(work, "waited", source, with_waited, waited=True)
    finally:
        shutil.rmtree(work)
