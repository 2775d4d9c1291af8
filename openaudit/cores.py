"""How many cores this process may use: the CPUs it may run on, within its cgroup's CPU quota.

`os.cpu_count()` is the host's count: a container given 2 CPUs of a 64-core host, or a process
pinned with `taskset`, would fork 64 workers that then share 2 cores. What is used instead:

* the CPUs this process may run on (`os.process_cpu_count()` on Python 3.13+, else
  `os.sched_getaffinity(0)`, else `os.cpu_count()`);
* at most the CPU quota of its cgroup, rounded up, when one is set (cgroup v2 `cpu.max`,
  cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`), the most restrictive on the path from
  its cgroup to the root. A few small files read once; anything unreadable is no quota.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_MAX_DEPTH = 32  # cgroup path components walked at most


def available_cores(cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> int:
    """Cores this process may use (at least 1)."""
    cpus = _cpus()
    quota = cgroup_cpu_quota(cgroup_root, proc_cgroup)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def _cpus() -> int:
    count = getattr(os, "process_cpu_count", None)  # Python 3.13+: affinity-aware
    if count is not None:
        n = count()
        if n:
            return int(n)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def cgroup_cpu_quota(cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup in cores (2.5: 250 ms of CPU per 100 ms), the smallest
    on its path to the root; None when none is set or it cannot be read (not Linux, no cgroupfs)."""
    try:
        lines = proc_cgroup.read_text(encoding="ascii", errors="replace").splitlines()[:64]
    except OSError:
        return None
    best: float | None = None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hier, controllers, path = parts
        if hier == "0" and controllers == "":  # cgroup v2, the unified hierarchy
            found = _walk(cgroup_root, path, _v2_quota)
            if found is None and (cgroup_root / "unified").is_dir():  # hybrid mounts
                found = _walk(cgroup_root / "unified", path, _v2_quota)
        elif "cpu" in controllers.split(","):
            found = _walk(cgroup_root / "cpu", path, _v1_quota)
            if found is None:
                found = _walk(cgroup_root / "cpu,cpuacct", path, _v1_quota)
        else:
            continue
        if found is not None:
            best = found if best is None else min(best, found)
    return best


def _walk(mount: Path, path: str, read: Callable[[Path], float | None]) -> float | None:
    """The smallest quota `read(dir)` gives from the cgroup's folder up to the mount's root. Inside a
    container the mount is usually the cgroup itself (its path in /proc is then not under the mount):
    the mount's root is read in any case."""
    parts = [p for p in path.strip().split("/") if p and p not in (".", "..")][:_MAX_DEPTH]
    best: float | None = None
    for depth in range(len(parts), -1, -1):
        d = mount.joinpath(*parts[:depth])
        q = read(d)
        if q is not None:
            best = q if best is None else min(best, q)
    return best


def _v2_quota(d: Path) -> float | None:
    text = _small(d / "cpu.max")
    if text is None:
        return None
    fields = text.split()
    if len(fields) != 2 or fields[0] == "max":
        return None
    return _ratio(fields[0], fields[1])


def _v1_quota(d: Path) -> float | None:
    quota, period = _small(d / "cpu.cfs_quota_us"), _small(d / "cpu.cfs_period_us")
    if quota is None or period is None:
        return None
    return _ratio(quota.strip(), period.strip())


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None  # -1: no quota


def _small(path: Path) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read(256)
    except OSError:
        return None
