"""openaudit.predicates: the predicate vocabulary, compiled once per tree, and rationale templates."""

from __future__ import annotations

import pytest

from openaudit.evidence.model import Evidence
from openaudit.predicates import _FORMATTER, Env, compiled, holds, index_evidence, kinds_referenced, rationale


def _ev(kind: str, value: object, summary: str, i: int = 0) -> Evidence:
    return Evidence(id=f"e{i}", kind=kind, value=value, source="card.body", pointer="README.md", summary=summary,
                    confidence="detected")


def _formatter_says(template: str, used: list[Evidence]) -> str:
    """What the rationale was before templates were parsed once: string.Formatter on every finding."""
    first = used[0] if used else None
    values = {"summary": first.summary if first else "", "value": first.value if first else "",
              "count": len(used), "summaries": "; ".join(e.summary for e in used[:4])}
    try:
        return _FORMATTER.format(template, **values).strip()
    except (ValueError, IndexError, KeyError):
        return template


@pytest.mark.parametrize("template", [
    "Weights are published. ", "Licence {summary}.", "{value.spdx} ({value.name}); {count} files",
    "{summaries}", "{value}", "{nothing} here", "braces {{kept}} {summary}", "unmatched { brace",
    "single } brace", "{summary!r}", "{summary:>10}", "{}", "{0}", "{value.a.b}", "{summary:{count}}",
    "{value[0]}", "",
])
@pytest.mark.parametrize("used", [
    [], [_ev("license.declared", {"spdx": "MIT", "name": None, "a": {"b": [1, 2]}}, "MIT in the card")],
    [_ev("x.y", ["a", "b"], "two", 1), _ev("x.y", "plain", "three", 2)],
])
def test_rationale_is_what_the_formatter_gave(template: str, used: list[Evidence]) -> None:
    assert rationale(template, used) == _formatter_says(template, used)


def test_a_tree_is_compiled_once_and_evaluated_as_written() -> None:
    pred = {"all": [{"has": {"kind": "weights.file", "where": {"format": "safetensors"}}},
                    {"not": {"outcome": {"criterion": "C-1", "in": ["closed"]}}}]}
    assert compiled(pred) is compiled(pred)
    evs = [_ev("weights.file", {"format": "safetensors"}, "a", 1), _ev("weights.file", {"format": "bin"}, "b", 2)]
    env = Env(by_kind=index_evidence(evs), outcomes={"C-1": "open"})
    ok, used = holds(pred, env)
    assert ok and [e.id for e in used] == ["e1"]
    assert holds(pred, Env(by_kind=env.by_kind, outcomes={"C-1": "closed"})) == (False, [])
    assert kinds_referenced(pred) == {"weights.file"}
