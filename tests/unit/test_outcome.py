"""The exit decision and the "not fully audited" summary are the report's (openaudit.outcome): a
library user or the GitHub Action gets the CLI's answer from a Report alone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from openaudit.errors import ExitCode
from openaudit.outcome import exit_code, incomplete_summary, states
from openaudit.report import Report, Subject
from openaudit.subjects import Packed, SubjectStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def report(*subjects: tuple[str, str | None], policy: dict[str, Any] | None = None, packed: bool = False) -> Report:
    subs = [Subject(repo_id=f"o/m-{i}", source="hub", status=status, reason=reason)
            for i, (status, reason) in enumerate(subjects)]
    store = SubjectStore(Packed.of(s) for s in subs) if packed else subs
    return Report.model_construct(profiles=[], generated_at=NOW, subjects=store, policy=policy or {})


def test_every_model_audited_and_no_policy_is_ok() -> None:
    r = report(("audited", None), ("audited", None))
    assert exit_code(r) == ExitCode.OK and incomplete_summary(r) is None


def test_an_offline_skip_fails_only_under_strict_but_any_other_skip_always_does() -> None:
    offline = report(("audited", None), ("skipped", "offline: o/m-1 is not in the cache at depth full"))
    assert exit_code(offline) == ExitCode.OK
    assert exit_code(offline, strict=True) == ExitCode.INCOMPLETE
    gone = report(("skipped", "not-found: model 'o/m-0' does not exist"))
    assert exit_code(gone) == ExitCode.INCOMPLETE


def test_incomplete_wins_over_a_failed_policy_unless_the_policy_allows_incomplete() -> None:
    subjects = (("incomplete", "budget: the request budget (10) is spent"), ("audited", None))
    assert exit_code(report(*subjects, policy={"passed": False})) == ExitCode.INCOMPLETE
    assert exit_code(report(*subjects, policy={"passed": False, "fail_on_incomplete": False})) == \
        ExitCode.POLICY_FAILED
    assert exit_code(report(("audited", None), policy={"passed": True})) == ExitCode.OK


def test_the_summary_groups_known_kinds_and_quotes_other_reasons_whole() -> None:
    r = report(("incomplete", "rate-limited: the Hub answered 429 for o/m-0"),
               ("incomplete", "rate-limited: the Hub answered 429 for o/m-1"),
               ("skipped", "something no kind names"), ("audited", None), packed=True)
    text = incomplete_summary(r)
    assert text is not None
    lines = text.splitlines()
    assert lines[0] == "3 of 4 models not fully audited:"
    assert "2 incomplete: rate-limited: the Hub answered 429 for o/m-0 (and 1 more like it)" in lines[1]
    assert lines[2].strip() == "1 skipped: something no kind names"


def test_the_decision_reads_the_reason_kind_not_the_reasons_text() -> None:
    """A 1.1 report says why in `reason_kind`; the reason is prose for people and is not parsed."""
    r = report(("skipped", "the cache has no entry for it"))
    subject = r.subjects[0]
    subject.reason_kind = "offline"
    assert exit_code(r) == ExitCode.OK and exit_code(r, strict=True) == ExitCode.INCOMPLETE
    subject.reason_kind = "not-found"
    assert exit_code(r) == ExitCode.INCOMPLETE


def test_subjects_not_audited_carry_their_reason_kind() -> None:
    from pathlib import Path

    from openaudit import api

    store = Path(__file__).parents[1] / "store"
    rep = api.audit_models(["deepseek-ai/DeepSeek-R1", "nobody/not-there"], snapshots=store, processes=0)
    kinds = {s.repo_id: (s.status, s.reason_kind) for s in rep.subjects}
    assert kinds == {"deepseek-ai/DeepSeek-R1": ("audited", None), "nobody/not-there": ("skipped", "not-recorded")}
    assert [k for _, _, k in states(rep)] == [None, "not-recorded"]
