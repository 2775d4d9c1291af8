"""CPU of one `openaudit audit` from a snapshot store: the cold start that CI and pre-commit pay.

    python benchmarks/cold_start.py [--repeat N] [--against DIR] [--model ID] [--format F]

Runs `python -m openaudit audit MODEL --snapshots tests/store -f json -o TMP` as a child process
`--repeat` times (default 15) and reports the median CPU seconds (user + system, from the child's
own rusage: os.wait4) beside the median wall time. With `--against DIR` (another checkout, e.g.
`git archive bb42e0f | tar -x -C /tmp/base`), that checkout's runs are interleaved with this
tree's, each from its own PYTHONPATH, so that a host whose speed drifts (a shared VM) affects both
alike. Both trees' `openaudit/` are byte-compiled first, as an installed wheel is.

`--importtime` also prints the ten slowest imports of this tree (python -X importtime, self time).
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(tree: Path, model: str, fmt: str, out: Path) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, exit code) of one audit in a child process."""
    env = {**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-m", "openaudit", "audit", model, "--snapshots", str(ROOT / "tests" / "store"),
           "--format", fmt, "-o", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, wall, proc.returncode


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--against", type=Path, help="a baseline checkout to run side by side")
    ap.add_argument("--model", default="deepseek-ai/DeepSeek-R1")
    ap.add_argument("--format", default="json")
    ap.add_argument("--importtime", action="store_true")
    args = ap.parse_args(argv[1:])
    trees = [("this tree", ROOT)] + ([("baseline", args.against.resolve())] if args.against else [])
    for _, tree in trees:
        compileall.compile_dir(str(tree / "openaudit"), quiet=1)
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name, _ in trees}
    with tempfile.TemporaryDirectory(prefix="oa-cold-") as tmp:
        for _name, tree in trees:  # one warm-up each: the page cache, not this benchmark's subject
            one_run(tree, args.model, args.format, Path(tmp) / "warm")
        for _ in range(args.repeat):
            for name, tree in trees:
                runs[name].append(one_run(tree, args.model, args.format, Path(tmp) / f"{name}.out"))
    print(f"`openaudit audit {args.model} --snapshots tests/store -f {args.format}`, "
          f"median of {args.repeat} interleaved runs")
    print("| tree | CPU s (median) | CPU s (min) | wall s (median) | exit codes |")
    print("|---|---|---|---|---|")
    for name, tree in trees:
        rs = runs[name]
        cpu = [r[0] for r in rs]
        print(f"| {name} ({tree}) | {statistics.median(cpu):.3f} | {min(cpu):.3f} | "
              f"{statistics.median(r[1] for r in rs):.3f} | {sorted({r[2] for r in rs})} |")
    if args.importtime:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with tempfile.TemporaryDirectory(prefix="oa-imp-") as tmp:
            res = subprocess.run([sys.executable, "-X", "importtime", "-m", "openaudit", "audit", args.model,
                                  "--snapshots", str(ROOT / "tests" / "store"), "--format", args.format,
                                  "-o", str(Path(tmp) / "out")], env=env, capture_output=True, text=True)
        rows = []
        for line in res.stderr.splitlines():
            parts = line.split("|")
            if line.startswith("import time:") and len(parts) == 3 and parts[0].split(":")[1].strip().isdigit():
                rows.append((int(parts[0].split(":")[1]), parts[2].strip()))
        print("slowest imports (self, µs):")
        for us, mod in sorted(rows, reverse=True)[:10]:
            print(f"  {us:7d} {mod}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
