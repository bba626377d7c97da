"""Runs the end-to-end tests: every test_* function of every test_*.py here,
each under a time limit, and ends with "N passed, N failed".

Usage: python3 test/e2e/run.py [NAME_SUBSTRING...]
"""

import glob
import importlib
import os
import signal
import sys
import time
import traceback

TEST_TIME_LIMIT = 120


def on_alarm(signum, frame):
    raise TimeoutError("test took longer than %d s" % TEST_TIME_LIMIT)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    selected = sys.argv[1:]
    signal.signal(signal.SIGALRM, on_alarm)
    passed = failed = 0
    for path in sorted(glob.glob(os.path.join(here, "test_*.py"))):
        module = importlib.import_module(os.path.basename(path)[:-3])
        for name in sorted(vars(module)):
            test = getattr(module, name)
            if not name.startswith("test_") or not callable(test):
                continue
            if selected and not any(s in name for s in selected):
                continue
            started = time.monotonic()
            signal.alarm(TEST_TIME_LIMIT)
            try:
                test()
                passed += 1
                verdict = "ok  "
            except Exception:
                failed += 1
                verdict = "FAIL"
                traceback.print_exc()
            finally:
                signal.alarm(0)
            print("%s %s.%s (%.1f s)" % (verdict, module.__name__, name,
                                         time.monotonic() - started),
                  flush=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
