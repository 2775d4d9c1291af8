"""Run the openaudit CLI in this process and record what it did, for the hostile-input tests.

    python tests/hostile/runner.py RESULT.json -- audit hostile/x --snapshots STORE ...

Writes RESULT.json with the exit code, the peak RSS (resource.getrusage, bytes) and every path the
process opened or listed (Python audit events `open`, `os.listdir`, `os.scandir`), so the test can
check that nothing outside the store or the model folder was touched. An exception escaping the
CLI is recorded as `traceback` (and exit code 99): it must never happen.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback


def _peak_rss() -> int:
    """This process's own peak RSS in bytes: VmHWM, which exec resets. getrusage's ru_maxrss is not this
    process's alone on Linux: a child started by fork and exec keeps its parent's peak, so the figure
    was pytest's whenever pytest had grown larger than the audit (after the census tests, 535 MB)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def main() -> None:
    result_path = sys.argv[1]
    assert sys.argv[2] == "--"
    args = sys.argv[3:]
    touched: list[list[str]] = []

    def hook(event: str, hook_args: tuple[object, ...]) -> None:
        if event in ("open", "os.listdir", "os.scandir", "os.readlink") and hook_args:
            p = hook_args[0]
            if isinstance(p, bytes):
                p = os.fsdecode(p)
            if isinstance(p, str):
                touched.append([event, os.path.abspath(p)])

    sys.addaudithook(hook)
    sys.argv = ["openaudit", *args]
    code: int = 0
    tb = None
    try:
        from openaudit.cli import main as cli_main

        cli_main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        code = 99
        tb = traceback.format_exc()
    peak = _peak_rss()
    sys.stdout.flush()
    with open(result_path, "w", encoding="utf-8") as fh:
        json.dump({"code": code, "peak_rss": peak, "touched": touched, "traceback": tb}, fh)
    os._exit(0)


if __name__ == "__main__":
    main()
