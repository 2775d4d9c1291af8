"""The predicate vocabulary, rule order, rationale templates, and failure containment."""

from __future__ import annotations

from pathlib import Path

import pytest

from openaudit.criteria import Criterion, Profile, load_profile, load_profile_file
from openaudit.errors import ConfigFileError
from openaudit.evaluate import evaluate_profile
from openaudit.evidence.model import EvidenceList


def _evidence():
    out = EvidenceList()
    out.add("access.gated", "manual", source="api", pointer="gated", summary="Download is gated.")
    out.add("data.dataset", {"id": "a/b", "found": True, "gated": False, "private": False}, source="linked-repo",
            pointer="datasets", summary="a/b is public.")
    out.add("data.dataset", {"id": "c/d", "found": False}, source="card.metadata", pointer="datasets",
            summary="c/d not found.")
    return out.items


def _profile(rules: list[dict], extra: list[dict] | None = None) -> Profile:
    crit = {"id": "T-001", "slug": "t", "title": "T", "question": "?", "dimension": "x", "rules": rules}
    return Profile.model_validate({"id": "t", "version": "1", "title": "t", "scoring": {"method": "mean"},
                                   "criteria": [crit, *(extra or [])]})


def test_first_matching_rule_wins_and_names_its_evidence() -> None:
    prof = _profile([
        {"if": {"has": {"kind": "access.gated", "value": {"in": ["auto", "manual"]}}}, "then": "partial",
         "because": "Gated ({value}): {summary}"},
        {"then": "open", "because": "fine"},
    ])
    (f,) = evaluate_profile(prof, _evidence())
    assert f.outcome == "partial"
    assert f.rationale == "Gated (manual): Download is gated."
    assert f.evidence == ["access.gated#1"]


def test_every_requires_all_items_to_match() -> None:
    prof = _profile([
        {"if": {"every": {"kind": "data.dataset", "where": {"found": True}}}, "then": "open", "because": "all"},
        {"if": {"has": {"kind": "data.dataset", "where": {"found": True}}}, "then": "partial",
         "because": "{count} of them: {summaries}"},
    ])
    (f,) = evaluate_profile(prof, _evidence())
    assert f.outcome == "partial" and f.rationale == "1 of them: a/b is public."


def test_every_is_false_without_evidence_and_lacks_is_true() -> None:
    prof = _profile([
        {"if": {"every": "weights.published"}, "then": "open", "because": "x"},
        {"if": {"all": [{"lacks": "weights.published"}, {"not": {"has": "weights.none"}}]}, "then": "unknown",
         "because": "nothing known"},
    ])
    (f,) = evaluate_profile(prof, _evidence())
    assert f.outcome == "unknown" and f.rationale == "nothing known"


def test_outcome_predicate_refers_to_earlier_criteria() -> None:
    second = {"id": "T-002", "slug": "t2", "title": "T2", "question": "?", "dimension": "x",
              "rules": [{"if": {"outcome": {"criterion": "T-001", "in": ["closed"]}}, "then": "closed",
                         "because": "follows T-001"}, {"then": "open", "because": "ok"}]}
    prof = _profile([{"then": "closed", "because": "no"}], [second])
    assert [f.outcome for f in evaluate_profile(prof, [])] == ["closed", "closed"]


def test_numeric_conditions_ignore_non_numbers() -> None:
    out = EvidenceList()
    out.add("compute.estimate", {"flops": 3e25}, source="api", pointer="x")
    out.add("compute.estimate", {"flops": "a lot"}, source="api", pointer="x")
    prof = _profile([{"if": {"has": {"kind": "compute.estimate", "where": {"flops": {"gte": 1e25}}}},
                      "then": "closed", "because": "{value.flops}"}])
    (f,) = evaluate_profile(prof, out.items)
    assert f.outcome == "closed" and f.rationale == "3e+25"


def test_no_rule_applies_gives_unknown_not_closed() -> None:
    prof = _profile([{"if": {"has": "weights.none"}, "then": "closed", "because": "x"}])
    (f,) = evaluate_profile(prof, [])
    assert f.outcome == "unknown"


def test_a_broken_criterion_is_its_own_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    import openaudit.evaluate as ev

    other = {"id": "T-002", "slug": "t2", "title": "T2", "question": "?", "dimension": "x",
             "rules": [{"then": "open", "because": "fine"}]}
    prof = _profile([{"if": {"has": "x.y"}, "then": "open", "because": "x"}], [other])
    real = ev.holds

    def flaky(pred, env):  # type: ignore[no-untyped-def]
        if pred and "has" in pred:
            raise RuntimeError("boom")
        return real(pred, env)

    monkeypatch.setattr(ev, "holds", flaky)
    f1, f2 = evaluate_profile(prof, [])
    assert f1.outcome == "unknown" and "boom" in f1.rationale
    assert f2.outcome == "open"


@pytest.mark.parametrize(("mutation", "message"), [
    ({"rules": [{"if": {"hass": "x"}, "then": "open", "because": "x"}]}, "unknown predicate 'hass'"),
    ({"rules": [{"if": {"has": {"kind": "x", "where": {"f": {"approx": 1}}}}, "then": "open", "because": "x"}]},
     "unknown condition 'approx'"),
    ({"rules": [{"then": "great", "because": "x"}]}, "Input should be"),
    ({"weight": -1}, "greater than or equal to 0"),
])
def test_invalid_criteria_are_rejected_with_the_reason(mutation: dict, message: str) -> None:
    base = {"id": "T-001", "slug": "t", "title": "T", "question": "?", "dimension": "x",
            "rules": [{"then": "open", "because": "x"}]}
    with pytest.raises(Exception, match=message):
        Criterion.model_validate({**base, **mutation})


def test_profile_file_errors_name_file_line_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: mine\nversion: '1'\ntitle: Mine\nscoring: {method: mean}\ncriteria:\n"
        "  - id: X-001\n    slug: x\n    title: X\n    question: q\n    dimension: d\n"
        "    rules:\n      - if: {has: a.b}\n        then: open\n        because: ok\n"
        "  - id: X-001\n    slug: y\n    title: Y\n    question: q\n    dimension: d\n"
        "    weight: -2\n    rules:\n      - then: open\n        because: ok\n"
    )
    with pytest.raises(ConfigFileError) as e:
        load_profile_file(bad)
    msg = str(e.value)
    assert str(bad) in msg and ":20:" in msg and "criteria.1.weight" in msg


def test_duplicate_ids_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "dup.yaml"
    rule = "    rules:\n      - then: open\n        because: ok\n"
    bad.write_text("id: mine\nversion: '1'\ntitle: Mine\nscoring: {method: mean}\ncriteria:\n"
                   + "".join(f"  - id: X-001\n    slug: x\n    title: X\n    question: q\n    dimension: d\n{rule}"
                             for _ in range(2)))
    with pytest.raises(ConfigFileError, match="duplicate criterion id X-001"):
        load_profile_file(bad)


def test_builtin_default_profile_loads_with_digest() -> None:
    prof = load_profile("openaudit")
    assert set(prof.dimensions) == {"weights", "code", "data", "license", "documentation"}
    assert len(prof.sha256) == 64
