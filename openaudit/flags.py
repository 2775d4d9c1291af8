"""Flags as data (criteria/flags.yaml), evaluated with the criteria predicate vocabulary."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openaudit.criteria import Severity, check_predicate, criteria_dir
from openaudit.evaluate import _Env, _rationale, holds, index_evidence
from openaudit.evidence.model import Evidence
from openaudit.yamlfile import load_model


class FlagRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str
    severity: Severity
    when: dict[str, Any]
    message: str
    remediation: str = ""

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
    return load_model(criteria_dir() / "flags.yaml", FlagSet)


def evaluate_flags(evidence: list[Evidence], extra: list[Flag] | None = None) -> list[Flag]:
    env = _Env(by_kind=index_evidence(evidence), outcomes={})
    out = []
    for rule in load_flags().flags:
        ok, used = holds(rule.when, env)
        if ok:
            out.append(Flag(id=rule.id, title=rule.title, severity=rule.severity,
                            message=_rationale(rule.message, used) or rule.title,
                            evidence=list(dict.fromkeys(e.id for e in used))))
    return out + list(extra or [])
