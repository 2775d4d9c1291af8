"""MOF class semantics of scoring._mof on hand-built findings (reference/frameworks.md §2.4); no store needed."""

from __future__ import annotations

import pytest

from openaudit.criteria import load_profile
from openaudit.evaluate import Finding
from openaudit.scoring import score_framework

CLASS_III = ["MOF-C09", "MOF-C10", "MOF-C11", "MOF-C12", "MOF-C13", "MOF-C14"]
CLASS_II = ["MOF-C07", "MOF-C08", "MOF-C18", "MOF-C19"]
CLASS_I = ["MOF-C16", "MOF-C15", "MOF-C24", "MOF-C21"]


def _findings(outcomes: dict[str, str], marks: dict[str, list[str]] | None = None) -> list[Finding]:
    prof = load_profile("mof")
    out = []
    for c in prof.criteria:
        out.append(Finding(profile="mof", criterion=c.id, slug=c.slug, title=c.title, dimension=c.dimension,
                           outcome=outcomes.get(c.id, "closed"), rationale="test",  # type: ignore[arg-type]
                           marks=(marks or {}).get(c.id, [])))
    return out


def _score(outcomes: dict[str, str], marks: dict[str, list[str]] | None = None, strict: bool = False):
    return score_framework(load_profile("mof"), _findings(outcomes, marks), strict=strict)


def _all_open(except_: dict[str, str] | None = None) -> dict[str, str]:
    o = {c: "open" for c in CLASS_III + CLASS_II + CLASS_I}
    o.update(except_ or {})
    return o


def test_everything_open_is_class_i() -> None:
    r = _score(_all_open())
    assert r.mof_class == "I" and r.progress == {"III": 100.0, "II": 100.0, "I": 100.0}
    assert r.score == 100.0 and not r.missing


def test_paper_stands_in_for_missing_tech_report_and_class_i_needs_13() -> None:
    # MOT: the tech report is dropped when the paper is listed; Class I then needs 13, not 14.
    r = _score(_all_open({"MOF-C11": "closed"}))
    assert r.mof_class == "I"
    assert r.progress["I"] == 100.0
    # One Class I component missing out of 13 required -> 12/13.
    r = _score(_all_open({"MOF-C11": "closed", "MOF-C24": "closed"}))
    assert r.mof_class == "II"
    assert r.progress["I"] == pytest.approx(round(100 * 12 / 13, 1))


def test_without_paper_or_report_class_iii_fails() -> None:
    r = _score(_all_open({"MOF-C11": "closed", "MOF-C21": "closed"}))
    assert r.mof_class == "none"
    assert r.progress["III"] == pytest.approx(round(100 * 5 / 6, 1))
    assert any("Technical report" in m for m in r.missing["III"])


def test_progress_below_an_unmet_class_is_zero() -> None:
    # PR #107 / issue #81: a model failing III shows 0 for II and I even with all tooling open.
    r = _score(_all_open({"MOF-C14": "closed"}))
    assert r.mof_class == "none"
    assert r.progress == {"III": pytest.approx(round(100 * 5 / 6, 1)), "II": 0.0, "I": 0.0}
    assert r.score == pytest.approx(round(r.progress["III"] / 3, 1))


def test_partial_licence_does_not_count() -> None:
    # "invalid" (custom licence) is treated like missing for the class, but named differently.
    r = _score(_all_open({"MOF-C10": "partial"}))
    assert r.mof_class == "none"
    assert "Model parameters (Final) (included, licence not open)" in r.missing["III"]


def test_unknown_blocks_and_is_named() -> None:
    r = _score(_all_open({"MOF-C15": "unknown"}))
    assert r.mof_class == "II"
    assert "Datasets (undetermined)" in r.missing["I"]


def test_optional_components_do_not_matter() -> None:
    r = _score(_all_open({"MOF-C20": "closed", "MOF-C22": "closed", "MOF-C17": "closed"}))
    assert r.mof_class == "I"


def test_type_inappropriate_is_a_warning_and_blocks_only_in_strict_mode() -> None:
    marks = {"MOF-C10": ["type-inappropriate"], "MOF-C24": ["type-inappropriate"]}
    lenient = _score(_all_open(), marks)
    assert lenient.mof_class == "I"
    assert any("Model parameters (Final)" in w for w in lenient.warnings)
    assert any(r.startswith("Strict reading") and r.endswith("none.") for r in lenient.reasons)
    strict = _score(_all_open(), marks, strict=True)
    assert strict.mof_class == "none"
    assert any("type-appropriate" in m for m in strict.missing["III"])


def test_intermediate_only_inappropriate_strict_reaches_ii() -> None:
    r = _score(_all_open(), {"MOF-C24": ["type-inappropriate"]}, strict=True)
    assert r.mof_class == "II"


def _doc(outcomes: dict[str, str]) -> tuple[str, str]:
    """The openaudit profile's documentation dimension on hand-built findings: (verdict, rationale)."""
    from openaudit.scoring import score_dimensions

    prof = load_profile("openaudit")
    fs = [Finding(profile="openaudit", criterion=c.id, slug=c.slug, title=c.title, dimension=c.dimension,
                  outcome=outcomes[c.id], rationale=f"{c.id} is {outcomes[c.id]}")  # type: ignore[arg-type]
          for c in prof.criteria if c.id in outcomes]
    dims, _, _ = score_dimensions(prof, fs)
    return dims["documentation"].verdict, dims["documentation"].rationale


def test_a_dimension_rationale_never_contradicts_its_verdict() -> None:
    """OA-DOC-003 (evaluation results) is reported but weighs nothing: with the other two open, the
    dimension is open, and its rationale is an open finding, not "no evaluation results"."""
    assert load_profile("openaudit").criterion("OA-DOC-003").weight == 0  # type: ignore[union-attr]
    assert _doc({"OA-DOC-001": "open", "OA-DOC-002": "open", "OA-DOC-003": "closed"}) == (
        "open", "OA-DOC-001 is open")
    # Held back: the rationale is what holds it back, a criterion that counts before one that does not.
    assert _doc({"OA-DOC-001": "open", "OA-DOC-002": "partial", "OA-DOC-003": "closed"}) == (
        "partial", "OA-DOC-002 is partial")
    assert _doc({"OA-DOC-001": "closed", "OA-DOC-002": "closed", "OA-DOC-003": "closed"}) == (
        "closed", "OA-DOC-001 is closed")
