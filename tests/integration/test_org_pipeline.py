"""Organisation audits at scale: packed subjects, audits in worker processes, the bounded pipeline.

What a user would notice: the same report whether audits run in processes or in a thread, and as
`openaudit audit` gives model by model; no model lost when a worker process dies; an organisation
whose fine-tunes all name a base listed last still completes; a JSON report written in chunks
equals the one serialised whole.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from openaudit import api
from openaudit.report import Report
from openaudit.run.commands import AUDIT_PROCESSES_FROM
from openaudit.run.pipeline import pipeline
from openaudit.run.workers import Auditors, can_fork
from openaudit.subjects import SubjectStore, summaries

STORE = Path(__file__).parents[1] / "store"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _flagships() -> Report:
    return api.audit_models(["deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
                             "meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1"], snapshots=STORE, jobs=1, now=NOW)


def test_a_packed_subject_decodes_to_the_same_subject_and_the_same_json() -> None:
    report = _flagships()
    store = SubjectStore(report.subjects)
    assert len(store) == 4 and list(store) == list(report.subjects) and store == list(report.subjects)
    assert [s.repo_id for s in store[1:3]] == [s.repo_id for s in report.subjects[1:3]]
    packed = Report.model_construct(profiles=report.profiles, generated_at=NOW, subjects=store)
    assert packed.to_json_bytes() == report.to_json_bytes()
    assert packed.model_dump_json(indent=2, by_alias=True) == report.model_dump_json(indent=2, by_alias=True)
    assert b"".join(packed.iter_json_bytes()) == report.to_json_bytes()
    assert summaries(store) == [(s.status, s.reason) for s in report.subjects]
    # Smaller than its JSON (what a 2,000-model report is held as).
    assert all(len(p.blob) * 3 < len(p.json()) for p in store.packed())


def test_a_packed_store_is_read_only_and_replace_is_explicit() -> None:
    store = SubjectStore(_flagships().subjects)
    first = store[0]
    first.flags.clear()
    assert store[0].flags == _flagships().subjects[0].flags  # changing a decoded subject changes nothing
    store.replace(0, first)
    assert store[0].flags == []
    with pytest.raises(TypeError):
        store[0] = first  # type: ignore[index]


def _org_owner_models(owner: str) -> list[str]:
    return sorted(f"{owner}/{p.name}" for p in (STORE / "models" / owner).iterdir() if (p / "info.json").is_file())


def _in_a_fresh_process(code: str) -> str:
    """Run `code` in a new interpreter, as the CLI runs: worker processes are forked only from a
    process with no other thread, and this test process may have started pyaskalono's native threads."""
    root = Path(__file__).parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=root, env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


@pytest.mark.parametrize("owner", ["deepseek-ai", "meta-llama", "allenai"])
def test_org_audit_equals_model_by_model_audit_in_processes_and_in_a_thread(owner: str, tmp_path: Path) -> None:
    """Linked from metadata first, with prose bases asked for by the audit (MoreLinks): the same bundles,
    so the same subjects, as `audit` gives; and worker processes change nothing in the report."""
    ids = _org_owner_models(owner)
    one_by_one = api.audit_models(ids, snapshots=STORE, jobs=1, now=NOW)
    in_thread = api.audit_org(owner, snapshots=STORE, jobs=4, processes=0, now=NOW)
    assert isinstance(in_thread.subjects, SubjectStore)
    by_id = {s.repo_id: s for s in one_by_one.subjects}
    assert sorted(s.repo_id for s in in_thread.subjects) == sorted(by_id)
    for s in in_thread.subjects:
        assert s == by_id[s.repo_id], s.repo_id
    if sys.platform.startswith("linux"):
        out = tmp_path / "report.json"
        used = _in_a_fresh_process(f"""
            from datetime import datetime, UTC
            from pathlib import Path
            from openaudit import api
            stats = {{}}
            r = api.audit_org({owner!r}, snapshots={str(STORE)!r}, jobs=4, processes=2, stats=stats,
                              now=datetime(2026, 1, 1, tzinfo=UTC))
            Path({str(out)!r}).write_bytes(r.to_json_bytes())
            print(stats["audit_processes"])
        """)
        assert used.strip() == "2"
        assert out.read_bytes() == in_thread.to_json_bytes()


def test_prose_lineage_is_linked_in_org_audits() -> None:
    """DeepSeek-R1-Distill-Llama-8B names its base in prose only: the org audit still follows it."""
    report = api.audit_org("deepseek-ai", snapshots=STORE, jobs=2, processes=0, now=NOW)
    distill = next(s for s in report.subjects if s.repo_id.endswith("Distill-Llama-8B"))
    direct = api.audit_models([distill.repo_id], snapshots=STORE, now=NOW).subjects[0]
    assert [(e.id, e.via, e.found) for e in distill.lineage] == [("meta-llama/Llama-3.1-8B", "prose", True)]
    assert distill == direct


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are forked on Linux only")
def test_a_dead_worker_loses_no_model() -> None:
    """A worker killed mid-audit (as the kernel's out-of-memory killer would): its audits are redone in
    the parent's thread, and every model is in the result, audited as it would have been."""
    out = _in_a_fresh_process(f"""
        import os
        from openaudit import api
        from openaudit.run.workers import Auditors

        PARENT = os.getpid()

        def suicidal(bundle, profiles, strict, *args):
            if bundle.subject.repo_id.endswith("Mistral-7B-v0.1") and os.getpid() != PARENT:
                os._exit(9)
            return api.audit_packed(bundle, profiles, strict)

        ids = ["meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1", "deepseek-ai/DeepSeek-R1"]
        src = api.make_source({str(STORE)!r})
        profiles = api.resolve_profiles(None)
        bundles = [api.fetch_bundle(src, src.model(i)) for i in ids]
        with Auditors(suicidal, profiles, False, processes=2) as auditors:
            print(auditors.processes)
            got = [f.result(timeout=120) for f in [auditors.submit(b) for b in bundles]]
        print([p.repo_id for p in got] == ids)
        print(got[1].subject() == api.audit_bundle(bundles[1], profiles))
    """)
    assert out.split() == ["2", "True", "True"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are forked on Linux only")
def test_an_interrupted_pool_has_stopped_its_workers_and_threads_when_it_returns() -> None:
    """Ctrl-C mid-audit: the workers are stopped at once, not after the audits they hold, and no pool
    thread outlives the run (one left running raced CPython 3.11's exit hook, which then printed
    "OSError: Bad file descriptor" after "interrupted": seen in CI)."""
    out = _in_a_fresh_process("""
        import threading, time
        from openaudit import api
        from openaudit.run.workers import Auditors

        def slow(bundle, profiles, strict, *args):
            time.sleep(60)

        start = time.monotonic()
        try:
            with Auditors(slow, api.resolve_profiles(None), False, processes=2) as auditors:
                held = [auditors.submit(None) for _ in range(4)]
                time.sleep(0.3)
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            pass
        print(auditors.processes, time.monotonic() - start < 20)
        print([t.name for t in threading.enumerate() if t is not threading.main_thread()])
        print(all(f.done() for f in held))
    """)
    assert out.splitlines() == ["2 True", "[]", "True"]


def test_processes_are_not_forked_once_a_native_thread_exists() -> None:
    """A native library's thread pool (pyaskalono's Rust one, which openaudit ran until issue 23) would
    hang a child forked after it started. Once this process has one, audits here run in a thread."""
    askalono = pytest.importorskip("askalono")
    bsd = (STORE.parent / "license_corpus" / "bsd-3-clause.txt").read_text()
    assert str(askalono.identify(bsd)).startswith("BSD-3-Clause")  # its thread pool now runs
    assert not can_fork()
    with Auditors(api.audit_packed, api.resolve_profiles(None), False, processes=2) as auditors:
        assert auditors.processes == 0


def test_an_org_whose_models_all_name_a_base_listed_last_completes(tmp_path: Path, repo_writer: Any) -> None:
    """More waiting fine-tunes than the pipeline's window (32 at --jobs 1) must not deadlock it."""
    owner, n = "window-org", 40
    base = f"{owner}/zz-base"
    for i in range(n):
        rid = f"{owner}/ft-{i:02d}" if i < n - 1 else base
        meta = f"license: apache-2.0\nbase_model: {base}\n" if rid != base else "license: apache-2.0\n"
        info = {"sha": f"{i:040x}", "gated": False, "private": False, "tags": ["license:apache-2.0"],
                "cardData": {"license": "apache-2.0", **({"base_model": base} if rid != base else {})},
                "siblings": [{"rfilename": "README.md"}, {"rfilename": "model.safetensors"}],
                "safetensors": {"parameters": {"BF16": 1000}, "total": 1000}}
        repo_writer(tmp_path, rid, info, {"README.md": f"---\n{meta}---\n# {rid}\n\nTrained on web text.\n"})
    report = api.audit_org(owner, snapshots=tmp_path, jobs=1, processes=0, now=NOW)
    assert len(report.subjects) == n
    fine_tunes = [s for s in report.subjects if s.repo_id != base]
    assert all(any(e.id == base and e.found for e in s.lineage) for s in fine_tunes)


def test_cli_org_json_to_stdout_and_to_a_file_are_the_same_bytes(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from openaudit.cli import app

    out = tmp_path / "r.json"
    res_file = CliRunner().invoke(app, ["org", "allenai", "--snapshots", str(STORE), "-q", "-f", "json", "-o",
                                        str(out)])
    res_stdout = CliRunner().invoke(app, ["org", "allenai", "--snapshots", str(STORE), "-q", "-f", "json"])
    assert res_file.exit_code == res_stdout.exit_code
    a, b = json.loads(out.read_bytes()), json.loads(res_stdout.stdout_bytes)
    a.pop("generated_at"), b.pop("generated_at")
    assert a == b and a["subjects"]
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no staged temporary file left behind


def test_cli_processes_option(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from openaudit.cli import app

    bad = CliRunner().invoke(app, ["org", "allenai", "--snapshots", str(STORE), "--processes", "-1"])
    assert bad.exit_code == 2 and "--processes must be at least 0" in bad.output
    out = tmp_path / "r.json"
    ok = CliRunner().invoke(app, ["org", "allenai", "--snapshots", str(STORE), "--processes", "0", "-q",
                                  "-f", "json", "-o", str(out)])
    assert ok.exit_code in (0, 3) and json.loads(out.read_text())["subjects"]


def test_cache_entries_keep_their_metadata_in_the_sidecar_and_old_entries_still_read(tmp_path: Path) -> None:
    from openaudit.sources.cache import SnapshotCache, paths_for_depth

    src = api.make_source(STORE)
    snap = src.model("meta-llama/Llama-3.1-8B")
    assert len(snap.files) >= 2  # README, LICENSE, USE_POLICY
    cache = SnapshotCache(tmp_path)
    cache.put(snap, "full", paths_for_depth(snap.info, "full"))
    entry = tmp_path / "models" / "meta-llama" / "Llama-3.1-8B"
    assert not (entry / "cache.json").exists()
    assert json.loads((entry / "snapshot.json").read_text())["cache"]["sha"] == snap.revision
    got = cache.get("model", snap.repo_id, snap.revision, "full")
    assert got is not None and got.files == snap.files
    # An entry written by openaudit 0.1.0: metadata in cache.json (no digest), a sidecar without it.
    sidecar = json.loads((entry / "snapshot.json").read_text())
    meta = sidecar.pop("cache")
    meta.pop("digest")
    (entry / "cache.json").write_text(json.dumps(meta))
    (entry / "snapshot.json").write_text(json.dumps(sidecar))
    # It carries no seal of this user's key: offline it is still read, said unverified; online it
    # is read again (openaudit.sources.cache: no entry is believed that cannot be verified).
    old = SnapshotCache(tmp_path, offline=True).get("model", snap.repo_id, snap.revision, "full")
    assert old is not None and old.files == snap.files and old.cache == "unverified"
    online = SnapshotCache(tmp_path)
    assert online.get("model", snap.repo_id, snap.revision, "full") is None
    assert online.was_refetched("model", snap.repo_id)
    assert cache.get("model", snap.repo_id, "0" * 40, "full") is None  # another commit: a miss


def test_a_cached_organisation_writes_a_shared_licence_once_and_links_the_rest(tmp_path: Path) -> None:
    from openaudit.sources.cache import SnapshotCache, paths_for_depth

    snap = api.make_source(STORE).model("meta-llama/Llama-3.1-8B")
    cache = SnapshotCache(tmp_path)
    ids = [f"meta-llama/twin-{i}" for i in range(3)]
    twins = [snap.model_copy(update={"repo_id": rid, "info": {**snap.info, "id": rid}}) for rid in ids]
    for twin in twins:
        cache.put(twin, "full", paths_for_depth(twin.info, "full"))
    licences = [tmp_path / "models" / "meta-llama" / f"twin-{i}" / "files" / "LICENSE" for i in range(3)]
    assert len({p.stat().st_ino for p in licences}) == 1 and licences[0].stat().st_nlink == 3
    for twin in twins:
        got = cache.get("model", twin.repo_id, twin.revision, "full")
        assert got is not None and got.files == snap.files


def test_the_terminal_view_of_an_org_decodes_each_subject_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """An organisation's subjects are decoded on every read (~1 ms each): the quick view reads each once."""
    from openaudit.render.terminal import render
    from openaudit.subjects import Packed

    report = api.audit_org("deepseek-ai", snapshots=STORE, jobs=2, processes=0, now=NOW)
    plain = Report.model_construct(profiles=report.profiles, generated_at=NOW, subjects=list(report.subjects))
    decoded: list[str] = []
    original = Packed.subject

    def counting(self: Packed) -> Any:
        decoded.append(self.repo_id)
        return original(self)

    monkeypatch.setattr(Packed, "subject", counting)
    assert render(report, width=120) == render(plain, width=120)
    assert sorted(decoded) == sorted(s.repo_id for s in plain.subjects)


def test_a_progress_callback_that_raises_loses_no_model() -> None:
    """Each model is settled once in the pipeline, whatever the progress callback does."""
    def progress(what: str, done: int, total: int) -> None:
        if what.startswith("auditing"):
            raise RuntimeError("a broken progress bar")

    ids = _org_owner_models("deepseek-ai")
    report = api.audit_org("deepseek-ai", snapshots=STORE, jobs=1, processes=0, progress=progress, now=NOW)
    assert sorted(s.repo_id for s in report.subjects) == ids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are forked on Linux only")
def test_a_thread_just_joined_does_not_stop_the_fork() -> None:
    """`org` lists on a thread and forks once it has ended; the kernel can still count a joined
    thread for a moment, and can_fork() then said no (it happened in CI): settle_threads waits it out.
    It waits for that thread only: a process with native threads (askalono's) is not held a second."""
    out = _in_a_fresh_process("""
        import threading, time
        from openaudit.run.workers import can_fork, os_thread_count, settle_threads
        refused = 0
        for _ in range(2000):
            before = os_thread_count()
            t = threading.Thread(target=lambda: None)
            t.start()
            t.join()
            settle_threads(before)
            refused += not can_fork()
        # A thread Python's threading does not know of (as askalono's native ones) is not waited for.
        import _thread
        _thread.start_new_thread(time.sleep, (30,))
        time.sleep(0.05)
        before = os_thread_count()
        t = threading.Thread(target=lambda: None)
        t.start()
        t.join()
        start = time.monotonic()
        settle_threads(before)
        print(refused, round(time.monotonic() - start, 1))
    """)
    assert out.split() == ["0", "0.0"]


def test_audit_of_many_models_in_worker_processes_equals_the_audit_in_a_thread(tmp_path: Path) -> None:
    """`openaudit audit` with AUDIT_PROCESSES_FROM targets or more audits in worker processes, as an
    organisation's audit does: the same report, byte for byte, as one thread gives (prose bases
    linked on the audit's request, as `org` links them)."""
    ids = sorted(f"{o.name}/{m.name}" for o in (STORE / "models").iterdir() if o.is_dir()
                 for m in o.iterdir() if (m / "info.json").is_file())
    assert len(ids) >= AUDIT_PROCESSES_FROM
    if not sys.platform.startswith("linux"):
        pytest.skip("worker processes are forked on Linux only")
    out = {}
    for processes in (0, None):
        path = tmp_path / f"report-{processes}.json"
        used = _in_a_fresh_process(f"""
            from datetime import datetime, UTC
            from pathlib import Path
            from openaudit import api
            stats = {{}}
            r = api.audit_models({ids!r}, snapshots={str(STORE)!r}, jobs=4, processes={processes!r}, stats=stats,
                                 now=datetime(2026, 1, 1, tzinfo=UTC))
            Path({str(path)!r}).write_bytes(r.to_json_bytes())
            print(stats["audit_processes"])
        """)
        out[processes] = (int(used.strip()), path.read_bytes())
    from openaudit.run.workers import default_processes

    assert out[0][0] == 0 and out[None][0] == default_processes()  # 2 here: one a core
    assert out[None][1] == out[0][1]


def test_a_model_read_is_audited_while_other_reads_still_wait_on_the_network() -> None:
    """A read model goes to the auditors at once, not behind the reads queued after it: in a cold
    run the audit workers otherwise sat idle for the first ~0.3 s. Here every read but the first
    waits until an audit has started; queued behind them, the first model's audit never would."""
    from concurrent.futures import Future

    from openaudit.report import Subject
    from openaudit.snapshot import SnapshotBundle
    from openaudit.subjects import Packed

    first_audit = threading.Event()
    items = [{"id": f"o/m-{i:02d}"} for i in range(12)]

    def read(item: dict[str, Any]) -> Any:
        if item["id"] == "o/m-00":
            time.sleep(0.2)  # a network read: by its end, every other read is queued
        elif not first_audit.wait(5):
            raise TimeoutError(f"{item['id']}: read, but no model was audited meanwhile")
        return _snapshot(item["id"])

    class Recorder:
        def submit(self, bundle: SnapshotBundle, *args: Any) -> Future[Any]:
            first_audit.set()
            done: Future[Any] = Future()
            done.set_result(Packed.of(Subject(repo_id=bundle.subject.repo_id, source="store", status="audited")))
            return done

    packed = pipeline(items, set(), read, lambda snap, prose: (SnapshotBundle(subject=snap), True),
                           Recorder(), 2, lambda: None)  # type: ignore[arg-type]
    assert [p.repo_id for p in packed] == [i["id"] for i in items]


def _snapshot(repo_id: str) -> Any:
    from openaudit.snapshot import RepoSnapshot

    return RepoSnapshot(repo_id=repo_id, repo_type="model", source="store", taken_at=NOW,
                        info={"id": repo_id, "siblings": []}, files={})
