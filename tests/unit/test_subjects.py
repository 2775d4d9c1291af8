"""The run's subject store spills to a temporary file (issue 23 item 3): what a report says is the same
whether its subjects wait in memory or in the spool, and the spool leaves nothing behind.

Memory figures (peak RSS by N) are in benchmarks/README.md, not here."""

from __future__ import annotations

import copy
import gc
import os
import pickle
import random
import threading
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from openaudit import api, subjects
from openaudit.render import html, markdown, mof_yaml, stream
from openaudit.report import Report, Subject
from openaudit.subjects import Head, Packed, SubjectStore, kinded_summaries, summaries

STORE = Path(__file__).parents[1] / "store"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
IDS = ["EleutherAI/pythia-1b", "allenai/OLMo-2-1124-7B", "Qwen/Qwen2.5-7B", "meta-llama/Llama-3.1-8B",
       "mistralai/Mistral-7B-v0.1", "deepseek-ai/DeepSeek-R1"]


@pytest.fixture(scope="module")
def audited() -> Report:
    return api.audit_models(IDS, snapshots=STORE, jobs=1, now=NOW)


@pytest.fixture(params=["in memory", "in a file"])
def spill_after(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both homes of the spool: memory (a library caller's few subjects) and a temporary file."""
    monkeypatch.setattr(subjects, "_SPILL_AFTER", 1 << 30 if request.param == "in memory" else 1)
    return str(request.param)


def _with_parts(p: Packed) -> Packed:
    s = p.subject()
    return replace(p, pieces={"html": html.Pieces.of(s), "md": markdown.Part.of(s), "mof-yaml": mof_yaml.Doc.of(s),
                              "another-format": [b"\x00any picklable part", {"n": 1}]})


def _on_disk(store: SubjectStore) -> bool:
    spool = store._spool
    return spool is not None and getattr(spool, "_rolled", False)


def test_subjects_and_their_parts_read_back_exactly(audited: Report, spill_after: str) -> None:
    originals = [Packed.of(s) for s in audited.subjects]
    items = [_with_parts(p) if k % 2 else p for k, p in enumerate(originals)]
    store = SubjectStore(items)
    assert _on_disk(store) == (spill_after == "in a file")
    assert len(store) == len(items)
    assert list(store) == list(audited.subjects) and store == list(audited.subjects)
    for got, want in zip(store.packed(), items, strict=True):
        assert got == want and got.blob == want.blob  # every field, the compressed JSON byte for byte
        if want.pieces is None:
            assert got.pieces is None
        else:
            assert got.pieces is not None and set(got.pieces) == set(want.pieces)
            assert got.pieces["html"] == want.pieces["html"] and got.pieces["md"] == want.pieces["md"]
            assert got.pieces["mof-yaml"] == want.pieces["mof-yaml"]
            assert got.pieces["another-format"] == want.pieces["another-format"]
    # Slices and negative indices, of the subjects and of the packed view.
    assert [s.repo_id for s in store[1:5:2]] == [IDS[1], IDS[3]]
    assert store[-1] == audited.subjects[-1]
    assert [p.repo_id for p in store.packed()[-2:]] == IDS[-2:]
    assert summaries(store) == [(s.status, s.reason) for s in audited.subjects]
    assert kinded_summaries(store) == [(s.status, s.reason, s.reason_kind) for s in audited.subjects]
    assert [(h.repo_id, h.license_key) for h in store.heads()] == [
        (s.repo_id, s.license.key if s.license else None) for s in audited.subjects]


def test_replace_appends_a_new_record_and_leaves_the_others_as_they_were(audited: Report, spill_after: str) -> None:
    items = [_with_parts(Packed.of(s)) for s in audited.subjects]
    store = SubjectStore(items)
    changed = store[2]
    changed.flags.clear()
    changed.reason = "changed after its audit"
    store.replace(2, changed)
    assert store[2] == changed and store[2] != audited.subjects[2]
    assert store.packed()[2].pieces is None  # a replaced subject loses its pre-rendered parts
    for k in (0, 1, 3, 4, 5):
        assert store.packed()[k] == items[k] and store.packed()[k].pieces is not None
    assert store.heads()[2].reason == "changed after its audit"


def test_a_report_from_a_spilled_store_is_byte_identical_to_one_from_a_list(
        audited: Report, spill_after: str) -> None:
    spilled = audited.model_copy(update={"subjects": SubjectStore(audited.subjects)})
    with_parts = audited.model_copy(update={"subjects": SubjectStore(_with_parts(Packed.of(s))
                                                                     for s in audited.subjects)})
    for fmt in ("json", "html", "md", "mof-yaml", "sarif", "junit", "github", "terminal"):
        want = _written(fmt, audited)
        assert _written(fmt, spilled) == want, fmt
        assert _written(fmt, with_parts) == want, fmt
    assert b"".join(spilled.iter_json_bytes()) == audited.to_json_bytes()


def _written(fmt: str, report: Report) -> bytes:
    data = stream(fmt)(report)
    if isinstance(data, str):
        return data.encode("utf-8")
    return data if isinstance(data, bytes) else b"".join(data)


def test_spilled_from_many_threads_out_of_order_and_read_while_spilling(audited: Report) -> None:
    """As a run's pipeline does: each model spilled on whichever thread settled it, in any order,
    while other threads read what is already placed; placed in order at the end."""
    packed = [_with_parts(Packed.of(s)) if k % 2 else Packed.of(s) for k, s in enumerate(audited.subjects)]
    work = [(k, packed[k % len(packed)]) for k in range(120)]
    random.Random(7).shuffle(work)
    store = SubjectStore(packed[:2])  # already placed: read by the reader thread while others spill
    heads: dict[int, Head] = {}
    lock = threading.Lock()
    bad: list[str] = []
    stop = threading.Event()

    def spill(part: list[tuple[int, Packed]]) -> None:
        for k, p in part:
            h = store.spill(p)
            with lock:
                heads[k] = h

    def read() -> None:
        while not stop.is_set():
            if list(store.packed()) != packed[:2]:
                bad.append("a placed subject changed while others were spilled")

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=spill, args=(work[i::4],)) for i in range(4)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    reader.join()
    assert not bad
    store.extend(heads[k] for k in range(120))
    assert len(store) == 122
    for k, got in enumerate(store.packed()[2:]):
        want = packed[k % len(packed)]
        assert got == want and (got.pieces is None) == (want.pieces is None)


def test_a_head_is_placed_only_in_the_store_that_spilled_it(audited: Report) -> None:
    one, other = SubjectStore(), SubjectStore()
    h = one.spill(audited.subjects[0])
    with pytest.raises(ValueError, match="only in the store that spilled it"):
        other.append(h)
    one.append(h)
    assert one[0] == audited.subjects[0]


def test_a_store_pickles_and_copies_as_its_subjects(audited: Report, spill_after: str) -> None:
    store = SubjectStore([_with_parts(Packed.of(audited.subjects[0])), *audited.subjects[1:]])
    for again in (pickle.loads(pickle.dumps(store)), copy.deepcopy(store)):
        assert isinstance(again, SubjectStore) and again == store
        assert list(again.packed()) == list(store.packed())
        assert again.packed()[0].pieces is not None


def _fds_on(dev: int, ino: int) -> int:
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            st = os.stat(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        n += (st.st_dev, st.st_ino) == (dev, ino)
    return n


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads /proc/self/fd (Linux)")
def test_the_spool_file_has_no_name_and_is_gone_once_the_store_is_closed_or_collected(
        audited: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A killed run leaves nothing in the temporary folder: the file is unlinked from the start."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(subjects, "_SPILL_AFTER", 1)
    for how in ("closed", "collected"):
        store = SubjectStore(audited.subjects)
        assert _on_disk(store) and list(tmp_path.iterdir()) == []
        spool: Any = store._spool
        st = os.fstat(spool.fileno())
        assert _fds_on(st.st_dev, st.st_ino) == 1
        if how == "closed":
            store.close()
            with pytest.raises(ValueError, match="closed"):
                store[0]
        del store, spool
        gc.collect()
        assert _fds_on(st.st_dev, st.st_ino) == 0, how
        assert list(tmp_path.iterdir()) == []


def test_a_few_subjects_never_touch_the_disk(audited: Report) -> None:
    store = SubjectStore(audited.subjects)
    assert not _on_disk(store)
    assert SubjectStore()._spool is None  # nothing opened for an empty store


def test_an_org_run_spilled_to_a_file_reports_what_audit_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """`org` spills each model as the pipeline settles it (out of order) and places them in listing order."""
    monkeypatch.setattr(subjects, "_SPILL_AFTER", 1)
    ids = sorted(f"allenai/{p.name}" for p in (STORE / "models" / "allenai").iterdir() if (p / "info.json").is_file())
    org = api.audit_org("allenai", snapshots=STORE, jobs=4, processes=0, now=NOW)
    assert isinstance(org.subjects, SubjectStore) and _on_disk(org.subjects)
    one_by_one = api.audit_models(ids, snapshots=STORE, jobs=1, now=NOW)
    by_id = {s.repo_id: s for s in one_by_one.subjects}
    assert sorted(s.repo_id for s in org.subjects) == sorted(by_id)
    for s in org.subjects:
        assert s == by_id[s.repo_id], s.repo_id
    audit = api.audit_models(ids, snapshots=STORE, jobs=4, now=NOW)
    assert isinstance(audit.subjects, SubjectStore) and _on_disk(audit.subjects)
    assert audit.to_json_bytes() == one_by_one.to_json_bytes()


def test_a_result_the_store_cannot_keep_is_that_models_failure_not_a_hung_run() -> None:
    from concurrent.futures import Future

    from openaudit.run.pipeline import pipeline
    from openaudit.snapshot import RepoSnapshot, SnapshotBundle

    items = [{"id": f"o/m-{i}"} for i in range(5)]

    class Auditor:
        def submit(self, bundle: SnapshotBundle, *args: Any) -> Future[Any]:
            done: Future[Any] = Future()
            done.set_result(Packed.of(Subject(repo_id=bundle.subject.repo_id, source="store", status="audited")))
            return done

    store = SubjectStore()

    def keep(p: Packed) -> Head:
        if p.repo_id == "o/m-3":
            raise OSError(28, "No space left on device")
        return store.spill(p)

    def read(item: dict[str, Any]) -> RepoSnapshot:
        return RepoSnapshot(repo_id=item["id"], repo_type="model", source="store", taken_at=NOW,
                            info={"id": item["id"], "siblings": []}, files={})

    got = pipeline(items, set(), read, lambda snap, prose: (SnapshotBundle(subject=snap), True), Auditor(), 2,
                   lambda: None, keep=keep)  # type: ignore[arg-type]
    store.extend(got)
    assert [s.repo_id for s in store] == [i["id"] for i in items]
    assert [s.status for s in store] == ["audited"] * 3 + ["incomplete", "audited"]
    assert "OSError" in (store[3].reason or "")
