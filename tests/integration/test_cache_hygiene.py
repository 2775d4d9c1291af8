"""No temporary file outlives a run, and no audit worker outlives its parent (issue 27, item 4)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_org import ORG, _tmp_out, build_org, run  # noqa: F401 (_tmp_out: autouse)

ROOT = Path(__file__).resolve().parents[2]


def _dead_pid() -> int:
    pid = 4_000_000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except OSError:
            pass
        pid -= 1


def test_temporary_files_left_by_a_killed_run_are_removed_by_the_next(
    fakehub: Any, tmp_path: Path, repo_writer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    build_org(store, repo_writer, n=3)
    hub = fakehub(store, fresh=True)
    cache = tmp_path / "cache"
    code, _, out = run(monkeypatch, hub.url, "audit", f"{ORG}/model-01", "--cache-dir", str(cache))
    assert code == 0, out
    entry = cache / "models" / ORG / "model-02"  # a repo this run does not write again
    entry.mkdir(parents=True)
    stale = [entry / f".info.json.{_dead_pid()}.1.0.tmp", cache / "identify" / f".ab.json.{_dead_pid()}.7.3.tmp"]
    live = entry / f".snapshot.json.{os.getpid()}.1.0.tmp"  # a writer still running: left alone
    for f in [*stale, live]:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("half", encoding="utf-8")
    (cache / ".swept").unlink(missing_ok=True)  # as if the last sweep was long ago
    code, _, out = run(monkeypatch, hub.url, "audit", f"{ORG}/model-01", "--cache-dir", str(cache))
    assert code == 0, out
    assert not any(f.exists() for f in stale)
    assert live.exists()


@pytest.mark.slow
def test_concurrent_runs_on_one_cache_leave_no_temporary_files(
    fakehub: Any, tmp_path: Path, repo_writer: Any
) -> None:
    store = tmp_path / "store"
    build_org(store, repo_writer, n=8)
    hub = fakehub(store, fresh=True)
    cache = tmp_path / "cache"
    env = {**os.environ, "HF_ENDPOINT": hub.url}
    ids = [f"{ORG}/model-{i:02d}" for i in range(8)]
    procs = [subprocess.Popen([sys.executable, "-m", "openaudit", cmd, *args, "--cache-dir", str(cache), "-q",
                               "-f", "json", "-o", str(tmp_path / f"r{i}.json")],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for i, (cmd, args) in enumerate([("audit", ids), ("audit", ids[::-1]), ("org", [ORG]),
                                              ("audit", [*ids, "--refresh"])])]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode in (0, 3), err
    left = [p for p in cache.rglob("*") if p.name.endswith(".tmp")]
    assert left == []


def _children(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(d.name))
    return kids


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are forked on Linux only")
def test_audit_workers_die_with_their_parent(fakehub: Any, tmp_path: Path, repo_writer: Any) -> None:
    store = tmp_path / "store"
    build_org(store, repo_writer, n=30)
    hub = fakehub(store, fresh=True, latency_ms=150)  # slow reads: the run is mid-way when it is killed
    env = {**os.environ, "HF_ENDPOINT": hub.url}
    parent = subprocess.Popen([sys.executable, "-m", "openaudit", "org", ORG, "--processes", "2", "--jobs", "1",
                               "--cache-dir", str(tmp_path / "cache"), "-q", "-f", "json", "-o",
                               str(tmp_path / "r.json")], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(workers) < 2:
            workers = [p for p in _children(parent.pid) if _running(p)]
            time.sleep(0.1)
        assert len(workers) >= 2, "the workers were not forked"
        assert parent.poll() is None
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_running(p) for p in workers):
            time.sleep(0.1)
        assert not any(_running(p) for p in workers), "orphaned workers live on"
    finally:
        if parent.poll() is None:
            parent.kill()
        for p in workers:  # the test's own leftovers, were the workers to outlive it
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
