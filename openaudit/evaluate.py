"""Evidence x profile -> findings. Pure; never raises for a single criterion."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from openaudit.criteria import MAX_MATCHED_CHARS, Criterion, Outcome, Profile
from openaudit.evidence.model import Evidence


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    profile: str
    criterion: str
    slug: str
    title: str
    dimension: str
    outcome: Outcome
    rationale: str
    evidence: list[str] = Field(default_factory=list)
    severity: str = "warning"
    marks: list[str] = Field(default_factory=list)


def _cond(actual: Any, cond: Any) -> bool:
    if not isinstance(cond, dict):
        return bool(actual == cond)
    for op, want in cond.items():
        if op == "eq" and actual != want:
            return False
        if op == "ne" and actual == want:
            return False
        if op == "in" and actual not in (want or []):
            return False
        if op == "not_in" and actual in (want or []):
            return False
        if op == "contains" and not (isinstance(actual, (list, str, dict)) and want in actual):
            return False
        if op in ("gte", "gt", "lte", "lt"):
            if not isinstance(actual, (int, float)) or isinstance(actual, bool):
                return False
            if (op == "gte" and not actual >= want) or (op == "gt" and not actual > want):
                return False
            if (op == "lte" and not actual <= want) or (op == "lt" and not actual < want):
                return False
        if op == "matches" and not (isinstance(actual, str)
                                    and re.search(str(want), actual[:MAX_MATCHED_CHARS], re.IGNORECASE)):
            return False
        if op == "exists" and (actual is not None) != bool(want):
            return False
        if op == "truthy" and bool(actual) != bool(want):
            return False
    return True


def _field(value: Any, path: str) -> Any:
    cur = value
    for part in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part)
        else:
            return None
    return cur


@dataclass
class _Env:
    by_kind: Mapping[str, list[Evidence]]
    outcomes: Mapping[str, str]


def _matching(env: _Env, arg: Any) -> list[Evidence]:
    if isinstance(arg, str):
        return list(env.by_kind.get(arg, []))
    items = env.by_kind.get(arg["kind"], [])
    out = []
    for ev in items:
        if "value" in arg and not _cond(ev.value, arg["value"]):
            continue
        if any(not _cond(_field(ev.value, f), c) for f, c in (arg.get("where") or {}).items()):
            continue
        out.append(ev)
    return out


def holds(pred: dict[str, Any] | None, env: _Env) -> tuple[bool, list[Evidence]]:
    """Evaluate a predicate; returns (truth, the evidence that made it true)."""
    if pred is None:
        return True, []
    (name, arg), = pred.items()
    if name == "has":
        m = _matching(env, arg)
        need = arg.get("min", 1) if isinstance(arg, dict) else 1
        return len(m) >= need, m
    if name == "lacks":
        return not _matching(env, arg), []
    if name == "every":
        kind = arg if isinstance(arg, str) else arg["kind"]
        items = env.by_kind.get(kind, [])
        m = _matching(env, arg)
        return bool(items) and len(m) == len(items), m
    if name == "outcome":
        return env.outcomes.get(arg["criterion"]) in arg.get("in", []), []
    if name == "all":
        used: list[Evidence] = []
        for p in arg:
            ok, ev = holds(p, env)
            if not ok:
                return False, []
            used += ev
        return True, used
    if name == "any":
        for p in arg:
            ok, ev = holds(p, env)
            if ok:
                return True, ev
        return False, []
    if name == "not":
        ok, _ = holds(arg, env)
        return not ok, []
    raise ValueError(f"unknown predicate {name!r}")


class _SafeFormatter(string.Formatter):
    """Formats `{summary}`, `{value}`, `{value.field}` from the first matching evidence; never raises."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        head, _, rest = field_name.partition(".")
        obj = kwargs.get(head, "")
        return (_field(obj, rest) if rest else obj), field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, list):
            return ", ".join(map(str, value))
        return "" if value is None else str(value)


def _rationale(template: str, used: list[Evidence]) -> str:
    first = used[0] if used else None
    values = {
        "summary": first.summary if first else "",
        "value": first.value if first else "",
        "count": len(used),
        "summaries": "; ".join(e.summary for e in used[:4]),
    }
    try:
        return _SafeFormatter().format(template, **values).strip()
    except (ValueError, IndexError, KeyError):
        return template


def evaluate_criterion(c: Criterion, profile_id: str, env: _Env) -> Finding:
    try:
        for rule in c.rules:
            ok, used = holds(rule.when, env)
            if ok:
                ids = list(dict.fromkeys(e.id for e in used))
                return Finding(profile=profile_id, criterion=c.id, slug=c.slug, title=c.title,
                               dimension=c.dimension, outcome=rule.then, rationale=_rationale(rule.because, used),
                               evidence=ids, severity=c.severity, marks=rule.marks)
        return Finding(profile=profile_id, criterion=c.id, slug=c.slug, title=c.title, dimension=c.dimension,
                       outcome="unknown", rationale="No rule of this criterion applied to the evidence.",
                       severity=c.severity)
    except Exception as e:  # a broken criterion is that criterion's unknown, never a crashed audit
        return Finding(profile=profile_id, criterion=c.id, slug=c.slug, title=c.title, dimension=c.dimension,
                       outcome="unknown", rationale=f"Criterion could not be evaluated: {type(e).__name__}: {e}",
                       severity=c.severity)


def index_evidence(evidence: Iterable[Evidence]) -> dict[str, list[Evidence]]:
    by_kind: dict[str, list[Evidence]] = {}
    for ev in evidence:
        by_kind.setdefault(ev.kind, []).append(ev)
    return by_kind


def evaluate_profile(profile: Profile, evidence: list[Evidence],
                     earlier: Mapping[str, str] | None = None) -> list[Finding]:
    """Evaluate criteria in file order; `outcome:` may refer to earlier criteria of this profile,
    or to any criterion of an earlier profile as `profile:ID` (passed in `earlier`)."""
    outcomes: dict[str, str] = dict(earlier or {})
    env = _Env(by_kind=index_evidence(evidence), outcomes=outcomes)
    findings = []
    for c in profile.criteria:
        f = evaluate_criterion(c, profile.id, env)
        outcomes[c.id] = f.outcome
        outcomes[f"{profile.id}:{c.id}"] = f.outcome
        findings.append(f)
    return findings
