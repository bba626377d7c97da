"""What libreqprof.so shows the server, and what it carries: exactly the
interposed functions of preload/interposed.def as its dynamic symbols, and
none of the tool's own code (the Makefile's TOOL_RENDERER_OBJECTS: the
readers of untrusted reports, merge), which has no business inside every
profiled server."""

import glob
import os
import re
import subprocess

from harness import BUILD, LIBRARY

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def interposed_names():
    """The names listed in preload/interposed.def."""
    with open(os.path.join(SOURCE, "preload", "interposed.def")) as f:
        text = f.read()
    return set(re.findall(r"^RP_INTERPOSED(?:_VERSION)?\((\w+),", text,
                          re.MULTILINE))


def dynamic_symbols():
    """The library's defined dynamic symbols: (name, flags, version) each,
    as objdump -T prints them."""
    table = subprocess.run(["objdump", "-T", LIBRARY], capture_output=True,
                           text=True, check=True).stdout
    symbols = []
    for line in table.splitlines():
        # address, flags (up to 7 columns of one letter), section, size,
        # version, name
        match = re.match(r"^[0-9a-f]{16} (.{7}) (\S+)\s+[0-9a-f]{16}\s+"
                         r"(\S+)\s+(\S+)$", line)
        if match and match.group(2) != "*UND*":
            flags, _, version, name = match.groups()
            symbols.append((name, flags, version))
    return symbols


def wrapper_names():
    """The functions the library's objects define with default visibility
    (RP_EXPORT): its wrappers, everything else being hidden."""
    objects = glob.glob(os.path.join(BUILD, "obj", "preload", "*.o"))
    assert objects, "no objects in %s/obj/preload" % BUILD
    table = subprocess.run(["readelf", "-sW"] + objects, capture_output=True,
                           text=True, check=True).stdout
    names = set()
    for line in table.splitlines():
        fields = line.split()
        if (len(fields) == 8 and fields[3] == "FUNC" and
                fields[4] == "GLOBAL" and fields[5] == "DEFAULT" and
                fields[6] != "UND"):
            names.add(fields[7])
    return names


def test_the_library_exports_the_interposed_functions_and_nothing_else():
    listed = interposed_names()
    assert {"read", "accept4", "pthread_cond_wait", "_exit"} <= listed, listed
    # A wrapper left out of the list would be made local by the exports
    # map, and never called.
    wrappers = wrapper_names()
    assert wrappers == listed, (
        "wrappers not in interposed.def: %s; listed without a wrapper: %s" %
        (sorted(wrappers - listed), sorted(listed - wrappers)))
    symbols = dynamic_symbols()
    exported = {name for name, _, _ in symbols}
    assert exported == listed, (
        "exported but not in interposed.def: %s; listed but not exported: "
        "%s" % (sorted(exported - listed), sorted(listed - exported)))
    # Global functions without a version of their own, so that a server's
    # read@GLIBC_2.2.5 binds to the wrapper as its read does.
    odd = [(name, flags, version) for name, flags, version in symbols
           if flags != "g    DF" or version != "Base"]
    assert not odd, odd


def tool_only_objects():
    """The objects the Makefile links into the tool and not into the
    library (TOOL_RENDERER_OBJECTS), as make itself names them."""
    build = os.path.abspath(BUILD)
    printed = subprocess.run(
        ["make", "--no-print-directory", "-s", "-C", SOURCE, "BUILD=" + build,
         "--eval", "print-tool-objects: ; @echo $(TOOL_RENDERER_OBJECTS)",
         "print-tool-objects"],
        capture_output=True, text=True, check=True).stdout.split()
    assert printed, "the Makefile names no tool-only objects"
    return printed


def defined_functions(path, external_only):
    """The functions path (an object or the library) defines, by nm: its
    external ones, or all of them, local ones included."""
    table = subprocess.run(["nm", "--defined-only"] +
                           (["--extern-only"] if external_only else []) +
                           [path], capture_output=True, text=True,
                           check=True).stdout
    return {fields[2] for fields in (line.split() for line in
                                     table.splitlines())
            if len(fields) == 3 and fields[1] in "Tt"}


def test_no_reader_or_other_tool_only_code_is_inside_the_library():
    tool_only = set()
    for path in tool_only_objects():
        tool_only |= defined_functions(path, external_only=True)
    assert {"rp_report_from_json", "rp_report_from_html",
            "rp_calltree_merge"} <= tool_only, sorted(tool_only)
    # Local symbols too: hidden functions of ours are local in the library.
    inside = defined_functions(LIBRARY, external_only=False)
    assert "rp_render_json" in inside, "the library has no symbol table"
    assert not tool_only & inside, sorted(tool_only & inside)
