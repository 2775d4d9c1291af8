"""openaudit.run.listed: an organisation's listing spooled, a record a model kept in memory."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from openaudit.run import listed
from openaudit.run.linker import bases_named_in
from openaudit.run.listed import Listed, ListingSpool, bases_of
from openaudit.run.targets import select_models


def _row(i: int) -> dict[str, Any]:
    """A listing row as the Hub gives it, with what JSON can hold that a careless spool would change."""
    base = {"base_model": f"org/model-{i - 1:03d}"} if i % 7 == 3 else {}
    return {
        "_id": f"{i:024x}", "id": f"org/model-{i:03d}", "sha": f"{i:040x}", "private": False,
        "gated": "auto" if i % 5 == 1 else False, "createdAt": f"2024-{1 + i % 12:02d}-01T00:00:00.000Z",
        "lastModified": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00.000Z",
        "tags": ["transformers", f"license:mit-{i}",
                 *([f"base_model:quantized:org/model-{i - 2:03d}"] if i % 11 == 5 else [])],
        "cardData": {"license": "other", "zeta": 1, "alpha": [1.5, 1e300, -0.0, 2**70],
                     "name": "Ünïcødé \u202e\U0001f600",
                     "odd": "\udc80 a lone surrogate, as json.loads gives one", **base},
        "config": {"architectures": ["LlamaForCausalLM"], "nan": math.inf},
        "siblings": [{"rfilename": f"shard-{k:05d}.safetensors"} for k in range(i % 40)],
        "safetensors": None,
    }


def _same(a: Any, b: Any) -> bool:
    """Equal, with key order and the sign of -0.0 (== alone would not tell them apart)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return isinstance(b, float) and (a == b or (math.isnan(a) and math.isnan(b))) and \
            math.copysign(1, a) == math.copysign(1, b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("in_memory", [512 * 1024, 1])
def test_rows_read_back_exactly_from_memory_and_from_the_file(in_memory: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listed, "_IN_MEMORY", in_memory)
    rows = [_row(i) for i in range(300)]
    with ListingSpool() as spool:
        recs = [spool.add(r) for r in rows]
        assert spool._file._rolled is (in_memory == 1)  # type: ignore[attr-defined]
        for rec, row in zip(reversed(recs), reversed(rows), strict=True):  # any order
            back = spool.row(rec)
            assert _same(back, row) and back is not row
        back = spool.row(recs[0])
        back["siblings"].clear()  # a fresh dict: changing it changes nothing in the spool
        assert _same(spool.row(recs[0]), rows[0])


def test_a_record_answers_for_its_row_the_keys_a_run_chooses_by() -> None:
    row = _row(3)
    rec = ListingSpool().add(row)
    assert (rec["id"], rec.get("sha"), rec.get("createdAt"), rec.get("lastModified")) == \
        (row["id"], row["sha"], row["createdAt"], row["lastModified"])
    assert rec.get("cardData") is None and rec.get("siblings", "absent") == "absent"
    with pytest.raises(KeyError):
        rec["cardData"]
    assert set(rec.bases) == bases_named_in([row]) == {"org/model-002"}
    assert Listed({"id": "org/x"}).bases == ()  # a row with no card data names none


def test_selection_and_bases_of_records_are_those_of_the_rows() -> None:
    rows = [_row(i) for i in range(120)]
    spool = ListingSpool()
    recs = [spool.add(r) for r in rows]
    since = datetime(2024, 6, 15, tzinfo=UTC)
    for args in [((), (), None, None), (("model-01*",), (), None, None), (("org/model-0*",), ("*[13]",), None, 9),
                 ((), (), since, None), ((), ("model-1*",), since, 7), ((), (), None, 5)]:
        by_rows = [r["id"] for r in select_models(rows, *args)]
        by_recs = select_models(recs, *args)
        assert [r["id"] for r in by_recs] == by_rows and by_rows
        assert bases_of(by_recs) == bases_named_in([r for r in rows if r["id"] in by_rows])
    assert bases_of(recs) and bases_of(recs) == bases_named_in(rows)
    # The cached listing's rows (offline) and a store's infos are rows, not records: read as before.
    assert bases_of([*recs[:10], rows[10], rows[12]]) == bases_named_in([*rows[:11], rows[12]])


def test_threads_read_rows_while_the_listing_is_still_spooled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listed, "_IN_MEMORY", 64 * 1024)  # rolls over to the file midway
    spool = ListingSpool()
    recs: list[Listed] = []
    wrong: list[str] = []
    done = threading.Event()

    def reader() -> None:
        k = 0
        while not done.is_set() or k < len(recs):
            if k < len(recs):
                if not _same(spool.row(recs[k]), _row(k)):
                    wrong.append(recs[k].id)
                k += 1

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(400):
        recs.append(spool.add(_row(i)))
    done.set()
    for t in threads:
        t.join(timeout=60)
    assert not wrong and not any(t.is_alive() for t in threads)
    spool.close()


def test_rows_the_file_cannot_take_are_kept_in_memory_and_the_rest_still_read_back(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listed, "_IN_MEMORY", 1)
    spool = ListingSpool()
    rows = [_row(i) for i in range(6)]
    recs = [spool.add(r) for r in rows[:2]]
    real_write = spool._file.write

    def full(data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool._file, "write", full)
    recs += [spool.add(r) for r in rows[2:4]]
    monkeypatch.setattr(spool._file, "write", real_write)
    recs += [spool.add(r) for r in rows[4:]]
    assert all(_same(spool.row(rec), row) for rec, row in zip(recs, rows, strict=True))
    assert [rec.id for rec in recs] == [r["id"] for r in rows]
    with pytest.raises(ValueError, match="not spooled"):
        spool.row(Listed(rows[0]))
