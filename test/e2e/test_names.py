"""End-to-end: reports name functions as their source does (issue 13,
item 4). Our C++ server (test/server/cpp_server.cpp, built with -O2 -g)
does its work in a class template of a nested namespace, whose symbols are
mangled, and its burn's loop calls a helper the compiler inlines: text,
JSON and HTML reports show the names demangled, no mangled name, the
inlined helper as a frame of its own under the burn, marked inlined, and
the template's long argument shortened in text and HTML, whole in JSON."""

import gzip
import json
import os
import re

import servers
from harness import Server, curl, function_total, functions, run_browser_test

MIDDLEWARE = "acme::http::Middleware<std::shared_ptr<acme::http::Context> >"
BURN = MIDDLEWARE + "::burn(unsigned int)"
INVOKE = MIDDLEWARE + "::invoke(acme::http::Request const&)"
MIX = "acme::http::mix(unsigned long)"
# As text and HTML show them: the template's argument is over 32
# characters (renderers/function_name.c).
SHOWN_BURN = "acme::http::Middleware<…>::burn(unsigned int)"
SHOWN_INVOKE = "acme::http::Middleware<…>::invoke(acme::http::Request const&)"


def nodes_of(node, name, parent=None):
    """(node, parent) for every node of function name under node."""
    found = [(node, parent)] if node["function"] == name else []
    for child in node["children"]:
        found += nodes_of(child, name, node)
    return found


def test_cpp_functions_are_demangled_in_every_format():
    """A 60 ms burn of the C++ server: at least 80% of its time is in the
    template's burn, under its invoke, by their demangled names; at least
    half of the burn is in mix, inlined into it: a child of the burn
    marked inlined (the loop is mix's six instructions and two of its
    own). No name in the tree, nor anywhere in the text, JSON and HTML
    files, is mangled; text and HTML show the template shortened, JSON
    whole."""
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

        mixes = nodes_of(root, MIX)
        assert mixes, sorted(functions(root))
        for node, parent in mixes:
            assert node.get("inlined") is True, node
            assert parent["function"] == BURN, parent["function"]
            assert parent.get("inlined") is None, parent
        mixed = sum(node["total"] for node, _ in mixes)
        assert mixed >= 0.5 * function_total(root, BURN), (
            mixed, function_total(root, BURN))

        stem = os.path.join(server.report_dir, report["stem"])
        with gzip.open(stem + ".txt.gz", "rt") as f:
            text = f.read()
        with gzip.open(stem + ".json.gz", "rt") as f:
            raw_json = f.read()
        with open(stem + ".html") as f:
            html = f.read()
        # (The page holds the JSON in a script, its "<" written \u003c.)
        for name, content in (("text", text), ("json", raw_json),
                              ("html", html)):
            assert "_ZN" not in content, name
            assert "acme::http::Middleware" in content, name
        assert SHOWN_BURN in text and SHOWN_INVOKE in text, text
        assert MIDDLEWARE not in text, text
        assert re.search(re.escape(MIX) + r" \[inlined\]  \S*cpp_server\.cpp:\d+",
                         text), text
        assert BURN in raw_json and SHOWN_BURN not in raw_json
        # The page shows each name as its view block says, the whole one
        # (in its JSON) on hover.
        view = json.loads(re.search(
            r'<script type="application/json" id="reqprof-view">(.*?)</script>',
            html, re.S).group(1))
        shown = dict(view["short_names"])
        assert shown.get(BURN) == SHOWN_BURN, shown
        assert shown.get(INVOKE) == SHOWN_INVOKE, shown
        assert MIX not in shown, shown
        # As a reader sees it, in chromium.
        run_browser_test("names.test.mjs", os.path.abspath(stem + ".html"),
                         BURN, SHOWN_BURN, MIX)
