"""openaudit.run.targets: which models a run audits (pure rules, shared by `audit` and `org`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from openaudit.repoid import parse_ref
from openaudit.run.targets import KeptInOrder, parse_since, select_targets

SINCE = datetime(2024, 2, 1, tzinfo=UTC)
OLD = {"createdAt": "2024-01-05T00:00:00.000Z", "lastModified": "2024-01-06T00:00:00.000Z"}
NEW = {"createdAt": "2024-01-05T00:00:00.000Z", "lastModified": "2024-02-06T00:00:00.000Z"}  # modified since


def test_globs_match_the_id_or_the_name_and_a_folder_by_its_name() -> None:
    targets = [parse_ref("org/Llama-3-8B"), parse_ref("org/Llama-3-8B-GGUF"), parse_ref("other/tiny"),
               Path("/work/my-model")]
    got = select_targets(targets, include=["Llama-*", "my-*"], exclude=["*-GGUF"])
    assert got == [targets[0], targets[3]]
    assert select_targets(targets, include=["org/*"], limit=1) == [targets[0]]


def test_since_with_a_limit_keeps_the_first_n_kept_in_the_order_given() -> None:
    window = KeptInOrder(SINCE, limit=2)
    # Read concurrently, out of order: 3 and 1 are decided first, then 0 (left out), then 2.
    assert window.decide(3, "o/d", NEW) is True  # nothing before it is kept yet
    assert window.decide(1, "o/b", NEW) is True
    assert window.decide(0, "o/a", OLD) is False
    assert window.decide(2, "o/c", NEW) is True  # only 1 kept before it
    assert window.has_room(4) is False  # 1, 2 and 3 are kept: 4 is not read at all
    failed = "o/e failed"  # a target that failed: in the report, never counted
    assert window.trim([None, "b", "c", "d", failed]) == ["b", "c", failed]  # 3 was the third kept
    assert window.left_out == ["o/a"]


def test_since_is_after_the_date_and_a_repo_without_dates_is_left_out() -> None:
    assert parse_since("2024-02-01") == SINCE
    window = KeptInOrder(SINCE)
    assert window.decide(0, "o/x", {"lastModified": "2024-02-01T00:00:00.000Z"}) is False  # not after
    assert window.decide(1, "o/y", {}) is False
    assert window.left_out == ["o/x", "o/y"]
