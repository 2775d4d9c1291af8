"""Flags as data (criteria/flags.yaml), evaluated with the criteria predicate vocabulary."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openaudit.criteria import Severity, criteria_dir
from openaudit.evidence.model import Evidence
from openaudit.predicates import Env, check_predicate, holds, index_evidence, kinds_referenced, rationale
from openaudit.yamlfile import load_model


class FlagLower(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: Severity
    when: dict[str, Any]

    @field_validator("when")
    @classmethod
    def _valid(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_predicate(v, "lower.when")
        return v


class FlagBecause(BaseModel):
    """One contradiction a flag names: the flag fires only when at least one of its `because` holds."""

    model_config = ConfigDict(extra="forbid")

    when: dict[str, Any]
    text: str

    @field_validator("when")
    @classmethod
    def _valid(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_predicate(v, "because.when")
        return v


class FlagRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str
    severity: Severity
    when: dict[str, Any]
    message: str
    remediation: str = ""
    # What the flag means, in words a reader (or a journalist) can reuse as they are.
    description: str = ""
    # The same flag at a lower severity when this predicate also holds (e.g. a note, not a warning,
    # for a missing LICENSE file whose licence is a standard SPDX one).
    lower: FlagLower | None = None
    # What contradicts the observation, each phrase formatted from its own evidence and joined into
    # the message's `{because}`; when given, at least one must hold.
    because: list[FlagBecause] = Field(default_factory=list)

    @field_validator("when")
    @classmethod
    def _valid(cls, v: dict[str, Any]) -> dict[str, Any]:
        check_predicate(v, "when")
        return v


class FlagSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    flags: list[FlagRule]


class Flag(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    title: str
    severity: Severity
    message: str
    evidence: list[str] = Field(default_factory=list)


@cache
def load_flags() -> FlagSet:
    from openaudit.evidence.kinds import check_kinds

    path = criteria_dir() / "flags.yaml"
    flags = load_model(path, FlagSet)
    named: list[tuple[tuple[int | str, ...], str]] = []
    for i, f in enumerate(flags.flags):
        preds = [(("flags", i, "when"), f.when), *((("flags", i, "because", j, "when"), b.when)
                                                   for j, b in enumerate(f.because))]
        if f.lower is not None:
            preds.append((("flags", i, "lower", "when"), f.lower.when))
        named += [(loc, k) for loc, pred in preds for k in sorted(kinds_referenced(pred))]
    check_kinds(path, named)
    return flags


def evaluate_flags(evidence: list[Evidence], extra: list[Flag] | None = None,
                   outcomes: Mapping[str, str] | None = None) -> list[Flag]:
    """Flags over the evidence; `outcomes` ("profile:CRITERION" -> outcome) for rules that read verdicts."""
    env = Env(by_kind=index_evidence(evidence), outcomes=dict(outcomes or {}))
    out = []
    for rule in load_flags().flags:
        ok, used = holds(rule.when, env)
        if not ok:
            continue
        reasons: list[str] = []
        for b in rule.because:
            held, bused = holds(b.when, env)
            if held:
                reasons.append(rationale(b.text, bused).replace(".)", ")"))
                used = [*used, *bused]
        if rule.because and not reasons:
            continue
        severity = rule.severity
        if rule.lower is not None and holds(rule.lower.when, env)[0]:
            severity = rule.lower.severity
        # `{because}` is put in after formatting: evidence text is never read as a template.
        message = rationale(rule.message.replace("{because}", "\x00"), used).replace("\x00", "; ".join(reasons))
        out.append(Flag(id=rule.id, title=rule.title, severity=severity, message=message or rule.title,
                        evidence=list(dict.fromkeys(e.id for e in used))))
    return out + list(extra or [])
