"""Run the firmware's tests on the MicroPython VM (the unix port) and report each result.

    micropython tests/hardware/upy/run.py [MODULE ...]

MicroPython code. Every ``test_*`` function of each module (default: logic_tests, vector_tests,
build_tests) and every (name, function) pair in its ``CASES`` runs once, in name order, and
prints one line ``UPY-RESULT {"test": ..., "ok": ..., "ms": ..., "error": traceback}``; a last
line ``UPY-DONE {"run": n, "failed": m}`` says the run finished. Exit status 1 if any failed.
tests/hardware/conftest.py runs this once per session and the pytest tests assert on the lines.
"""

import io
import json
import sys
import time

HERE = sys.path[0] or "."
sys.path.insert(1, HERE + "/../../../hardware/firmware/sim")
sys.path.insert(2, HERE + "/../../../hardware/firmware")

DEFAULT_MODULES = ("logic_tests", "vector_tests", "build_tests")


def collect(module_names):
    cases = []
    for module_name in module_names:
        module = __import__(module_name)
        for name in dir(module):
            if name.startswith("test_"):
                cases.append((name, getattr(module, name)))
        cases.extend(getattr(module, "CASES", ()))
    cases.sort(key=lambda case: case[0])
    return cases


def report(tag, fields):
    print(tag, json.dumps(fields))


def main(argv):
    cases = collect(argv or DEFAULT_MODULES)
    failed = 0
    for name, function in cases:
        started = time.ticks_ms()
        result = {"test": name, "ok": True}
        try:
            function()
        except BaseException as exc:  # a test's failure is its result
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            trace = io.StringIO()
            sys.print_exception(exc, trace)
            result["ok"] = False
            result["error"] = trace.getvalue()
            failed += 1
        result["ms"] = time.ticks_diff(time.ticks_ms(), started)
        report("UPY-RESULT", result)
    report("UPY-DONE", {"run": len(cases), "failed": failed,
                        "implementation": sys.implementation.name})
    return 1 if failed else 0


sys.exit(main(sys.argv[1:]))
