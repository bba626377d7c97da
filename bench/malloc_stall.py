#!/usr/bin/env python3
"""How long the server's own mallocs wait while reqprof's writer gives its
memory back (bench/malloc_stall.c), with each library given and without
reqprof ("none"). For each: the probe server builds its heap, serves
`wrk -c4` for 3 s (reports for the writer to write), is told to forget
its times, and is asked for them again once the writer went idle (and
trimmed its heap) 8 s later. Prints one line per library: the longest
malloc or free of the server's main thread meanwhile, and its RSS before
and after. Run by hand; nothing passes or fails.

Usage: bench/malloc_stall.py [--build DIR] [--heap-mb N] LIBRARY|none...
"""

import argparse
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request


def resident_mb(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def measure(probe, library, heap_mb):
    report_dir = tempfile.mkdtemp(prefix="reqprof-stall-",
                                  dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REQPROF_")}
    env.update(REQPROF_DIR=report_dir, REQPROF_OUTPUT="json,text",
               REQPROF_MAX_REPORTS="0")
    if library != "none":
        env["LD_PRELOAD"] = os.path.abspath(library)
    server = subprocess.Popen([probe, str(heap_mb)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, env=env)
    try:
        port = int(server.stdout.readline().split()[-1])
        url = "http://127.0.0.1:%d" % port

        def get(path):
            with urllib.request.urlopen(url + path, timeout=10) as response:
                return response.read().decode().strip()

        subprocess.run(["wrk", "-t1", "-c4", "-d3s", url + "/"], check=True,
                       capture_output=True, timeout=60)
        before = resident_mb(server.pid)
        get("/reset")
        time.sleep(8)
        return "%s: %s; RSS %d -> %d MB" % (library, get("/stats"), before,
                                            resident_mb(server.pid))
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(report_dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="build")
    parser.add_argument("--heap-mb", type=int, default=256)
    parser.add_argument("libraries", nargs="+")
    options = parser.parse_args()
    probe = os.path.join(options.build, "bench", "malloc_stall")
    for library in options.libraries:
        print(measure(probe, library, options.heap_mb), flush=True)


if __name__ == "__main__":
    main()
