"""Evidence x profile -> findings. Pure; never raises for a single criterion. The predicates and
rationale templates a rule uses are evaluated by predicates.py."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from openaudit.criteria import Criterion, Outcome, Profile
from openaudit.evidence.model import Evidence
from openaudit.predicates import Env, holds, index_evidence, rationale


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


def evaluate_criterion(c: Criterion, profile_id: str, env: Env) -> Finding:
    try:
        for rule in c.rules:
            ok, used = holds(rule.when, env)
            if ok:
                ids = list(dict.fromkeys(e.id for e in used))
                return Finding(profile=profile_id, criterion=c.id, slug=c.slug, title=c.title,
                               dimension=c.dimension, outcome=rule.then, rationale=rationale(rule.because, used),
                               evidence=ids, severity=c.severity, marks=rule.marks)
        return Finding(profile=profile_id, criterion=c.id, slug=c.slug, title=c.title, dimension=c.dimension,
                       outcome="unknown", rationale="No rule of this criterion applied to the evidence.",
                       severity=c.severity)
    except Exception as e:  # a broken criterion is that criterion's unknown, never a crashed audit
        return Finding(profile=profile_id, criterion=c.id, slug=c.slug, title=c.title, dimension=c.dimension,
                       outcome="unknown", rationale=f"Criterion could not be evaluated: {type(e).__name__}: {e}",
                       severity=c.severity)


def evaluate_profile(profile: Profile, evidence: list[Evidence],
                     earlier: Mapping[str, str] | None = None) -> list[Finding]:
    """Evaluate criteria in file order; `outcome:` may refer to earlier criteria of this profile,
    or to any criterion of an earlier profile as `profile:ID` (passed in `earlier`)."""
    outcomes: dict[str, str] = dict(earlier or {})
    env = Env(by_kind=index_evidence(evidence), outcomes=outcomes)
    findings = []
    for c in profile.criteria:
        f = evaluate_criterion(c, profile.id, env)
        outcomes[c.id] = f.outcome
        outcomes[f"{profile.id}:{c.id}"] = f.outcome
        findings.append(f)
    return findings
