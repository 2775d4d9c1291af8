"""How many audit workers a host gets (openaudit/cores.py, openaudit/workers.py): the cores this
process may use, within its cgroup's CPU quota, read from cgroupfs files laid out here as Linux lays
them out (v2 `cpu.max`; v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from openaudit import cores
from openaudit.run import workers


def _v2(tmp_path: Path, own: str | None, parent: str | None = None) -> tuple[Path, Path]:
    root = tmp_path / "cg"
    (root / "user.slice" / "job").mkdir(parents=True)
    if parent is not None:
        (root / "user.slice" / "cpu.max").write_text(parent)
    if own is not None:
        (root / "user.slice" / "job" / "cpu.max").write_text(own)
    proc = tmp_path / "cgroup"
    proc.write_text("0::/user.slice/job\n")
    return root, proc


def test_a_cgroup_v2_quota_of_two_and_a_half_cpus_is_three_cores(tmp_path: Path) -> None:
    root, proc = _v2(tmp_path, "250000 100000\n")
    assert cores.cgroup_cpu_quota(root, proc) == 2.5
    assert cores.available_cores(root, proc) == min(3, cores._cpus())


def test_the_smallest_quota_on_the_path_to_the_root_holds(tmp_path: Path) -> None:
    root, proc = _v2(tmp_path, "max 100000\n", parent="100000 100000\n")
    assert cores.cgroup_cpu_quota(root, proc) == 1.0
    assert cores.available_cores(root, proc) == 1


def test_no_quota_set_or_nothing_readable_leaves_the_cpus_this_process_may_run_on(tmp_path: Path) -> None:
    root, proc = _v2(tmp_path, "max 100000\n")
    assert cores.cgroup_cpu_quota(root, proc) is None
    assert cores.available_cores(root, proc) == cores._cpus()
    assert cores.cgroup_cpu_quota(tmp_path / "absent", tmp_path / "absent-proc") is None
    (tmp_path / "garbage").write_bytes(b"\xff\xfe:::\n0::/../../etc\n")
    assert cores.cgroup_cpu_quota(root, tmp_path / "garbage") is None


def test_a_cgroup_v1_cfs_quota(tmp_path: Path) -> None:
    root = tmp_path / "cg"
    d = root / "cpu" / "docker" / "abc"
    d.mkdir(parents=True)
    (d / "cpu.cfs_quota_us").write_text("400000\n")
    (d / "cpu.cfs_period_us").write_text("100000\n")
    (root / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")  # the root: no quota
    (root / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    proc = tmp_path / "cgroup"
    proc.write_text("5:cpuacct,cpu:/docker/abc\n4:memory:/docker/abc\n")
    assert cores.cgroup_cpu_quota(root, proc) == 4.0


@pytest.mark.parametrize(("cpus", "processes"), [(1, 0), (2, 2), (4, 4), (8, 7), (16, 15), (64, 16)])
def test_audit_workers_follow_the_cores(cpus: int, processes: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """One worker per core on small hosts; beyond four, one core is left to the parent's reads (a
    16-core host gets 15, not 4), at most MAX_PROCESSES."""
    monkeypatch.setattr(cores, "available_cores", lambda *a, **k: cpus)
    assert workers.available_cpus() == cpus
    assert workers.default_processes() == processes
