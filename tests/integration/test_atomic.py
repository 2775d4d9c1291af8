"""Atomic outputs (DESIGN §9, issue 9): reports, snapshots and cache entries are written to a
temporary file and renamed, and an interrupted run (SIGINT or SIGTERM mid-audit against a slow fake
Hub) leaves no half-written file and says so: "interrupted; no output was written", exit 130.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

N_MODELS = 24


@pytest.fixture(scope="module")
def slow_store(tmp_path_factory: pytest.TempPathFactory, repo_writer: Any) -> Path:
    store = tmp_path_factory.mktemp("atomic-store")
    sibs = [{"rfilename": "README.md"}, {"rfilename": "LICENSE"}, {"rfilename": "model.safetensors", "size": 10}]
    for i in range(N_MODELS):
        repo_writer(store, f"slow/m{i:02d}", {"siblings": sibs, "author": "slow", "gated": False, "private": False,
                                              "tags": ["license:mit"]},
                    {"README.md": f"---\nlicense: mit\n---\n# M{i}\n\n" + "text " * 2000, "LICENSE": "MIT License\n"})
    return store


def _start(args: list[str], tmp: Path, hub_url: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_HOME=str(tmp / "hf"), XDG_CACHE_HOME=str(tmp / "cache"), HF_HUB_DISABLE_TELEMETRY="1",
               HF_ENDPOINT=hub_url)
    return subprocess.Popen([sys.executable, "-m", "openaudit.cli", *args], cwd=tmp, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _interrupt_after_first_line(proc: subprocess.Popen[str], sig: int, delay: float = 0.8) -> tuple[int, str]:
    assert proc.stderr is not None
    first = proc.stderr.readline()  # the first progress line: the run has started fetching
    assert first, "the command printed nothing"
    time.sleep(delay)
    assert proc.poll() is None, "the run finished before it could be interrupted: slow the fake Hub down"
    proc.send_signal(sig)
    _out, rest = proc.communicate(timeout=120)
    return proc.returncode, first + rest


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and (p.name.endswith(".tmp") or ".tmp" in p.suffixes
                                                           or p.name.startswith("."))]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_audit_writes_nothing(sig: int, slow_store: Path, fakehub: Any, tmp_path: Path) -> None:
    hub = fakehub(slow_store, latency_ms=250)
    out = tmp_path / "out"
    out.mkdir()
    ids = [f"slow/m{i:02d}" for i in range(N_MODELS)]
    proc = _start(["audit", *ids, "-f", "json", "-o", str(out / "r.json"), "-f", "html", "-o", str(out / "r.html")],
                  tmp_path, hub.url)
    code, err = _interrupt_after_first_line(proc, sig)
    assert code == 130, err
    assert "interrupted; no output was written" in err
    assert "Traceback" not in err
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_snapshot_leaves_only_complete_entries(sig: int, slow_store: Path, fakehub: Any,
                                                           tmp_path: Path) -> None:
    hub = fakehub(slow_store, latency_ms=250)
    store = tmp_path / "store"
    ids = [f"slow/m{i:02d}" for i in range(N_MODELS)]
    proc = _start(["snapshot", *ids, "-o", str(store)], tmp_path, hub.url)
    code, err = _interrupt_after_first_line(proc, sig, delay=0.3)
    assert code == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert not _leftovers(store) if store.exists() else True
    # Every repo folder that has an info.json is complete (info.json is written last) and readable.
    if store.exists():
        from openaudit.sources.store import StoreSource

        src = StoreSource(store)
        for info in store.glob("models/*/*/info.json"):
            json.loads(info.read_text(encoding="utf-8"))
            assert (info.parent / "snapshot.json").is_file()
            snap = src.model(f"{info.parent.parent.name}/{info.parent.name}")
            assert "README.md" in snap.files and snap.files["README.md"].text.endswith("text ")


def test_interrupted_org_run_leaves_a_consistent_cache(slow_store: Path, fakehub: Any, tmp_path: Path) -> None:
    env_hub = fakehub(slow_store, latency_ms=250)
    probe = subprocess.run([sys.executable, "-m", "openaudit.cli", "org", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("openaudit org not available")
    cache, out = tmp_path / "cache-store", tmp_path / "out"
    out.mkdir()
    mark = env_hub.mark()
    proc = _start(["org", "slow", "--cache-dir", str(cache), "-j", "2", "-f", "json", "-o", str(out / "r.json")],
                  tmp_path, env_hub.url)
    deadline = time.monotonic() + 60
    while len([r for r in env_hub.since(mark) if "/resolve/" in r["path"]]) < 6:  # mid-way through the files
        assert proc.poll() is None and time.monotonic() < deadline, "the org run ended before the interrupt"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _o, err = proc.communicate(timeout=120)
    code = proc.returncode
    assert code == 130, err
    assert "interrupted" in err and "Traceback" not in err
    assert list(out.iterdir()) == []
    if cache.exists():
        assert not _leftovers(cache)
        for p in cache.rglob("*.json"):
            json.loads(p.read_text(encoding="utf-8"))


def test_atomic_write_failure_keeps_the_old_file_and_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from openaudit.sources import store as store_mod

    target = tmp_path / "r.json"
    target.write_text("old", encoding="utf-8")

    def boom(*a: Any, **k: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store_mod.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        store_mod.atomic_write(target, b"new")
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_a_failing_renderer_writes_no_output_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from openaudit import cli, render
    from openaudit.report import Report

    monkeypatch.setitem(render.FORMATS, "boom", "builtins:nonexistent_renderer")
    report = Report(generated_at=datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(AttributeError):
        cli.emit(report, [("json", tmp_path / "a.json"), ("boom", tmp_path / "b.txt")])
    assert list(tmp_path.iterdir()) == []
