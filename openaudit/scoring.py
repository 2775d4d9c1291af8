"""Findings -> dimension verdicts, scores and framework results. Pure; all numbers live in the profiles."""

from __future__ import annotations

from openaudit.criteria import Profile
from openaudit.evaluate import Finding
from openaudit.predicates import Env, holds
from openaudit.report import DimensionResult, FrameworkResult
from openaudit.vocab import DECIDED, Verdict

_DECIDED = DECIDED
UNREADABLE = "unreadable"  # the mark of a rule that is undetermined because an input could not be read


def _verdict(score: float | None) -> Verdict:
    if score is None:
        return "unknown"
    if score >= 0.999:
        return "open"
    if score <= 0.001:
        return "closed"
    return "partial"


def unreadable(f: Finding) -> bool:
    """Undetermined because an input could not be read (a gated card or licence file, no token)."""
    return f.outcome == "unknown" and UNREADABLE in f.marks


def _weighted(profile: Profile, findings: list[Finding], floor: bool = False) -> tuple[float | None, float]:
    """(weighted mean value over decided findings, coverage). With `floor`, a finding left undetermined
    because something could not be read counts as closed: a score never rises for want of access."""
    values = profile.scoring.values
    total = weight = 0.0
    decided = applicable = 0
    for f in findings:
        c = profile.criterion(f.criterion)
        w = c.weight if c else 1.0
        if f.outcome == "not-applicable":
            continue
        applicable += 1
        if f.outcome == "open" or f.outcome == "partial" or f.outcome == "closed":
            decided += 1
            total += w * values[f.outcome]
            weight += w
        elif floor and unreadable(f):
            weight += w
    score = total / weight if weight else None
    return score, (decided / applicable if applicable else 1.0)


def score_dimensions(profile: Profile, findings: list[Finding]) -> tuple[dict[str, DimensionResult],
                                                                         float | None, float]:
    """Dimension verdicts, the 0-100 score and coverage for a `dimensions` profile."""
    dims: dict[str, DimensionResult] = {}
    total = weight = 0.0
    weighs = {c.id: c.weight for c in profile.criteria}
    for name, dim in profile.dimensions.items():
        fs = [f for f in findings if f.dimension == name]
        score, _ = _weighted(profile, fs)
        floored, _ = _weighted(profile, fs, floor=True)
        decided = [f for f in fs if f.outcome in _DECIDED]
        verdict = _verdict(score)
        blind = [f for f in fs if unreadable(f)]
        if blind:
            # Missing access is not evidence: what remains readable does not decide the dimension.
            verdict, score = "unknown", None
        # The rationale says what decided the verdict. Open: a finding that is open, not a gap that
        # weighs nothing (OA-DOC-003, no evaluation results, is reported but weight 0: "open: No
        # evaluation results" read as a contradiction). Otherwise: what holds the dimension back,
        # a criterion that counts first.
        held = sorted((f for f in decided if f.outcome != "open"), key=lambda f: weighs.get(f.criterion, 1.0) <= 0)
        opened = [f for f in decided if f.outcome == "open"] if verdict == "open" else []
        lead = next(iter([*blind, *opened, *held, *decided, *fs]), None)
        dims[name] = DimensionResult(
            verdict=verdict,
            score=round(score, 4) if score is not None else None,
            rationale=lead.rationale if lead else "No criterion applies.",
            evidence=list(dict.fromkeys(e for f in fs for e in f.evidence)),
            criteria=[f.criterion for f in fs],
        )
        if floored is not None:  # the lower bound: an unreadable input counts as closed
            total += dim.weight * floored
            weight += dim.weight
    _, coverage = _weighted(profile, findings)
    overall = round(100 * total / weight, 1) if weight else None
    return dims, overall, round(coverage, 4)


def _label(profile: Profile, cid: str) -> str:
    c = profile.criterion(cid)
    return c.title if c else cid


def score_framework(profile: Profile, findings: list[Finding], strict: bool = False,
                    where: str = "on the Hub") -> FrameworkResult:
    """`where` is where a component that is absent was looked for ("in the folder" for a local one)."""
    method = profile.scoring.method
    base = FrameworkResult(profile=profile.id, title=profile.title, version=profile.version, verdict="",
                           components={f.criterion: f.outcome for f in findings})
    if method == "mean":
        score, _ = _weighted(profile, findings, floor=True)
        _, coverage = _weighted(profile, findings)
        base.score = round(100 * score, 1) if score is not None else None
        base.coverage = round(coverage, 4)
        base.verdict = f"{base.score:.0f}%" if base.score is not None else "undetermined"
        base.reasons = [f"{f.title}: {f.outcome} — {f.rationale}" for f in findings if f.outcome == "unknown"]
        return base
    if method == "mof-classes":
        return _mof(profile, findings, base, strict or profile.scoring.strict, where)
    if method == "verdict-rules":
        env = Env(by_kind={}, outcomes={f.criterion: f.outcome for f in findings})
        for rule in profile.scoring.verdicts:
            ok, _ = holds(rule.when, env)
            if ok:
                base.verdict = rule.verdict
                if rule.because:
                    base.reasons.append(rule.because)
                break
        else:
            base.verdict = "undetermined"
        base.reasons += [f"{f.title}: {f.rationale}" for f in findings if f.outcome != "open"]
        base.missing = {base.verdict: [f.title for f in findings if f.outcome in ("closed", "partial")]}
        undecided = [f.title for f in findings if f.outcome == "unknown"]
        if undecided:
            # Added to, not replacing, what an "undetermined" verdict already lists as not met.
            base.missing["undetermined"] = list(dict.fromkeys([*base.missing.get("undetermined", []), *undecided]))
        return base
    if method == "dimensions":
        _, overall, coverage = score_dimensions(profile, findings)
        base.score, base.coverage = overall, coverage
        base.verdict = f"{overall:.0f}" if overall is not None else "undetermined"
        return base
    raise ValueError(f"unknown scoring method {method}")


def _mof(profile: Profile, findings: list[Finding], base: FrameworkResult, strict: bool,
         where: str = "on the Hub") -> FrameworkResult:
    """MOF classes with MOT semantics (frameworks.md §2.4).

    A component counts when its outcome is `open` (included, open licence); in strict mode it must
    also not carry the `type-inappropriate` mark. The paper stands in for a missing tech report.
    Progress walks down from the first class: a class below one that is not met shows 0.
    """
    by_id = {f.criterion: f for f in findings}

    def counts(cid: str) -> bool:
        f = by_id.get(cid)
        if f is None or f.outcome != "open":
            return False
        return not (strict and "type-inappropriate" in f.marks)

    substitute = profile.scoring.stands_in
    met_so_far = True
    cumulative: list[str] = []
    best: str | None = None
    for cls in profile.scoring.classes:
        cumulative += cls.requires
        required = list(cumulative)
        for comp, sub in substitute.items():
            if comp in required and not counts(comp) and sub in by_id and by_id[sub].outcome != "closed":
                required = [sub if r == comp else r for r in required]
        required = list(dict.fromkeys(required))
        included = [r for r in required if counts(r)]
        missing = [r for r in required if not counts(r)]
        pct = 100.0 * len(included) / len(required) if required else 100.0
        base.progress[cls.id] = round(min(pct, 100.0), 1) if met_so_far else 0.0
        if missing:
            base.missing[cls.id] = [
                f"{_label(profile, r)} ({_why(by_id.get(r), strict, where)})" for r in missing]
        if met_so_far and not missing:
            best = cls.id
        else:
            met_so_far = False
        for r in required:
            f = by_id.get(r)
            if f and f.outcome == "open" and "type-inappropriate" in f.marks:
                warning = f"{_label(profile, r)}: open licence, but not the type MOF recommends"
                if warning not in base.warnings:
                    base.warnings.append(warning)
    label = next((c.label for c in profile.scoring.classes if c.id == best), None)
    if not strict and base.warnings:
        # Both readings side by side: MOT's lenient one decides, the strict one is stated.
        strict_res = _mof(profile, findings, FrameworkResult(profile=profile.id, title=profile.title,
                                                             version=profile.version, verdict=""), True, where)
        base.reasons.append(f"Strict reading (type-appropriate licences required): {strict_res.verdict}.")
    base.mof_class = best or "none"
    base.verdict = label or "none"
    base.score = round(sum(base.progress.values()) / max(len(base.progress), 1), 1)
    return base


def _why(f: Finding | None, strict: bool, where: str = "on the Hub") -> str:
    if f is None:
        return "not evaluated"
    if f.outcome == "open" and strict:
        return "licence not type-appropriate (strict)"
    return {"partial": "included, licence not open", "closed": f"not found {where}",
            "unknown": "undetermined"}.get(f.outcome, f.outcome)
