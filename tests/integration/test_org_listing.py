"""`openaudit org` with its listing spooled (openaudit.run.listed): the rows read back from the spool
make the same run as rows held in memory (the way before): the same models chosen, the bases read
early, the same requests, the same report byte for byte (but the times each snapshot was taken).

The real huggingface_hub session runs against tests/fakehub.py; nothing is mocked.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from openaudit import api
from openaudit.render import jsonfmt
from openaudit.run import commands, listed
from openaudit.run.listed import Listed, ListingSpool
from tests.integration.test_org import ORG, build_org

NOW = datetime(2026, 1, 1, tzinfo=UTC)
_TIMES = re.compile(rb'"(taken_at|cached_at)": "[^"]*"')
_CACHE = re.compile(rb'"cache": [^,\n]*')  # how each model was read: "null" cold, "verified" warm


class _Held(ListingSpool):
    """Rows kept in memory as they were listed, the record's row the very dict listed: the run before
    the spool."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, Any]] = {}

    def add(self, item: dict[str, Any]) -> Listed:
        self.rows[item["id"]] = item
        return Listed(item, 0, 0)

    def row(self, rec: Listed) -> dict[str, Any]:
        return self.rows[rec.id]


@pytest.fixture(scope="module")
def small_org(tmp_path_factory: pytest.TempPathFactory, repo_writer: Any) -> Path:
    store = tmp_path_factory.mktemp("org-listing-store")
    build_org(store, repo_writer)
    return store


def _run(hub: Any, cache: Path, **options: Any) -> tuple[bytes, Counter[tuple[str, str, str]]]:
    mark = hub.mark()
    report = api.audit_org(ORG, endpoint=hub.url, cache_dir=cache, now=NOW, processes=0, external=False, **options)
    reqs = Counter((r["method"], r["path"], r.get("query") or "") for r in hub.since(mark)
                   if r["path"] != "/api/agent-harnesses")
    return _TIMES.sub(b'"\\1": "T"', jsonfmt.render(report)), reqs


@pytest.mark.parametrize("options", [
    {"depth": "full"},
    {"depth": "card", "include": ["model-1*", "model-0*"], "exclude": ["model-1[5-9]"]},
    {"depth": "full", "since": "2024-02-05", "limit": 6},
    {"depth": "metadata", "limit": 7},
])
def test_a_spooled_listing_makes_the_run_rows_held_in_memory_made(
    options: dict[str, Any], small_org: Path, fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    hub = fakehub(small_org, page_size=8)  # four pages: rows spooled across pages
    with monkeypatch.context() as m:
        m.setattr(commands, "ListingSpool", _Held)
        held, held_reqs = _run(hub, tmp_path / "held", **options)
    monkeypatch.setattr(listed, "_IN_MEMORY", 1)  # every row written to the file and read back from it
    spooled, spooled_reqs = _run(hub, tmp_path / "spooled", **options)
    assert spooled == held
    assert spooled_reqs == held_reqs
    ids = [s["repo_id"] for s in json.loads(spooled)["subjects"]]
    assert ids and len(ids) == len(set(ids))
    # Warm: from the cache, the listing page alone; the same report again.
    warm, warm_reqs = _run(hub, tmp_path / "spooled", **options)
    assert {p for _m, p, _q in warm_reqs} == {"/api/models"}
    assert _CACHE.sub(b"", warm) == _CACHE.sub(b"", spooled)


def test_the_models_others_name_as_their_base_are_read_from_the_listing_not_asked_for_again(
    small_org: Path, fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(listed, "_IN_MEMORY", 1)
    hub = fakehub(small_org, page_size=8)
    report, reqs = _run(hub, tmp_path / "c", depth="full")
    subjects = {s["repo_id"]: s for s in json.loads(report)["subjects"]}
    # model-04, -09, ... name model-00 as their base: it is an organisation model, read once from its
    # listing row (its README once), and never asked for as a linked repo.
    assert not any(p == f"/api/models/{ORG}/model-00" or p.startswith(f"/api/models/{ORG}/model-00/")
                   for _m, p, _q in reqs)
    assert sum(n for (_m, p, _q), n in reqs.items() if p.startswith(f"/{ORG}/model-00/") and
               p.endswith("/README.md")) == 1
    assert len(subjects) == 30 and subjects[f"{ORG}/model-04"]["status"] != "error"
