"""End-to-end: reports name functions as their source does (issue 13,
item 4). Our C++ server (test/server/cpp_server.cpp) does its work in a
class template of a nested namespace, whose symbols are mangled: text,
JSON and HTML reports show them demangled, and no mangled name."""

import gzip
import os

import servers
from harness import Server, curl, function_total, functions

BURN = "acme::http::Middleware<std::shared_ptr<int> >::burn(unsigned int)"
INVOKE = ("acme::http::Middleware<std::shared_ptr<int> >::invoke("
          "acme::http::Request const&)")


def test_cpp_functions_are_demangled_in_every_format():
    """A 60 ms burn of the C++ server: at least 80% of its time is in the
    template's burn, under its invoke, by their demangled names; no name
    in the tree, nor anywhere in the text and HTML files, is mangled."""
    ms = 60
    with Server(command=[servers.built_program("cpp_server")],
                env={"REQPROF_OUTPUT": "text,json,html"}) as server:
        assert curl(server.url("/burn?ms=%d" % ms)).startswith("burned")
        [report] = server.wait_reports(1)
        root = report["root"]
        burned = function_total(root, BURN) * report["interval_ms"]
        assert burned >= 0.8 * ms, "%.0f ms in %s; functions: %s" % (
            burned, BURN, sorted(functions(root)))
        assert function_total(root, INVOKE) >= function_total(root, BURN)
        mangled = [f for f in functions(root) if f.startswith("_Z")]
        assert not mangled, mangled
        stem = os.path.join(server.report_dir, report["stem"])
        with gzip.open(stem + ".txt.gz", "rt") as f:
            text = f.read()
        with open(stem + ".html") as f:
            html = f.read()
        # (The page holds the JSON in a script, its "<" written \u003c.)
        for name, content in (("text", text), ("html", html)):
            assert "_ZN4acme" not in content, name
            assert "acme::http::Middleware" in content, name
