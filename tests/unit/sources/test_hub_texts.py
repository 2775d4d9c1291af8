"""The Hub source's memo of texts already read (identical files are not requested or decoded again) is
bounded: a census reads hundreds of thousands of cards once each, and keeping them all for the run grew
memory by ~8 KB a model (issue 23 item 3). A text shared by many models stays while it keeps being used."""

from __future__ import annotations

import sys

import pytest

from openaudit.sources import hub


def test_a_text_used_again_stays_and_a_text_read_once_is_let_go(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub._RecentTexts, "CAP", 20_000)
    texts = hub._RecentTexts()
    licence = "Apache License, Version 2.0 ... " * 50  # ~1.6 K characters, shared by every model
    assert texts.setdefault("licence-blob", licence) is licence
    for k in range(100):  # 100 cards of 1,000 characters, each read once, the licence read with each
        card = f"card {k:03d} " + "x" * 991
        assert texts.get(f"card-{k}") is None
        assert texts.setdefault(f"card-{k}", card) == card
        assert texts.get("licence-blob") is licence  # still shared: used again by every model
    assert texts.get("card-0") is None  # read once, long ago: let go
    assert texts.get("card-99") is not None  # the latest ones are kept
    assert texts._size <= hub._RecentTexts.CAP
    assert texts._size == sum(sys.getsizeof(t) for t in texts._texts.values())


def test_a_text_over_the_cap_alone_is_still_kept_until_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub._RecentTexts, "CAP", 200)
    texts = hub._RecentTexts()
    big = "y" * 500
    assert texts.setdefault("big", big) is big and texts.get("big") is big
    texts.setdefault("small", "z")
    assert texts.get("big") is None and texts.get("small") == "z"
