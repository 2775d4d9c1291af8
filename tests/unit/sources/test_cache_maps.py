"""The snapshot cache's per-run memory (issue 23 item 3d): what it keeps of each entry it wrote is
bounded or compact, and answers as the full maps did."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from openaudit import api
from openaudit.sources.cache import SnapshotCache, paths_for_depth
from openaudit.sources.store import BlobIndex

STORE = Path(__file__).parents[2] / "store"


def _files(tmp_path: Path, *texts: bytes) -> list[Path]:
    out = []
    for n, data in enumerate(texts):
        p = tmp_path / f"src-{n}"
        p.write_bytes(data)
        out.append(p)
    return out


def test_the_blob_index_links_the_texts_it_remembers_and_keeps_those_it_links_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(BlobIndex, "LIMIT", 2)
    a, b, c = b"Apache License 2.0 text", b"MIT License text", b"a README of one model"
    pa, pb, pc = _files(tmp_path, a, b, c)
    blobs = BlobIndex()
    blobs.add(pa, a)
    blobs.add(pb, b)
    assert blobs.link(tmp_path / "t1", a)  # a shared text, linked again: the most recently used now
    blobs.add(pc, c)  # over the limit: b, the least recently used, is forgotten
    assert not blobs.link(tmp_path / "t2", b) and not (tmp_path / "t2").exists()  # written, not linked
    assert blobs.link(tmp_path / "t3", a) and blobs.link(tmp_path / "t4", c)
    assert (tmp_path / "t3").read_bytes() == a and (tmp_path / "t3").stat().st_ino == pa.stat().st_ino
    assert not blobs.link(tmp_path / "t5", b"never written")


def test_entry_locks_are_let_go_and_an_entry_this_run_wrote_is_known_by_its_sha_and_digest(tmp_path: Path) -> None:
    snap = api.make_source(STORE).model("meta-llama/Llama-3.1-8B")
    cache = SnapshotCache(tmp_path)
    ids = [f"meta-llama/twin-{i}" for i in range(24)]
    twins = [snap.model_copy(update={"repo_id": rid, "info": {**snap.info, "id": rid}}) for rid in ids]
    paths = paths_for_depth(snap.info, "full")

    def put(k: int) -> None:
        for twin in twins[k::4]:
            for _ in range(2):  # each entry written twice, by threads that may meet on its lock
                cache.put(twin, "full", paths)

    threads = [threading.Thread(target=put, args=(k % 4,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert cache._locks == {}  # no lock kept for an entry no thread is writing
    # Its seal broken but its sha and digest as written: this run wrote it (and holds its digest),
    # so it is used; another run does not believe it.
    entry = tmp_path / "models" / "meta-llama" / "twin-3" / "snapshot.json"
    side = json.loads(entry.read_text())
    side["cache"]["seal"] = "0" * 64
    entry.write_text(json.dumps(side))
    got = cache.get("model", ids[3], snap.revision, "full")
    assert got is not None and got.files == snap.files
    assert SnapshotCache(tmp_path).get("model", ids[3], snap.revision, "full") is None
    # Its digest changed as well: no longer what this run wrote, and not believed.
    side["cache"]["digest"] = "f" * 64
    entry.write_text(json.dumps(side))
    assert cache.get("model", ids[3], snap.revision, "full") is None
    assert cache.was_refetched("model", ids[3])
