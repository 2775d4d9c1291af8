"""Shared helpers of the CI renderers (sarif, junit, github): rule metadata and card line lookup."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from openaudit.report import Report, Subject, WaiverRef

_README_LINE = re.compile(r"^README\.md(?:#.*)?:L(\d+)")


@cache
def _profile_rules(profile_id: str) -> dict[str, dict[str, Any]]:
    from openaudit.criteria import load_profile

    try:
        prof = load_profile(profile_id)
    except Exception:  # a profile that no longer loads still renders, with what the findings carry
        return {}
    return {c.id: {"id": c.id, "name": c.slug, "title": c.title, "question": c.question,
                   "remediation": c.remediation.strip(), "references": list(c.references), "severity": c.severity,
                   "profile": prof.id, "dimension": c.dimension} for c in prof.criteria}


def profile_criterion_rules(profile_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Every criterion of the profiles named, by id, in profile order (what the profiles' files say alone)."""
    out: dict[str, dict[str, Any]] = {}
    for pid in profile_ids:
        for cid, meta in _profile_rules(pid).items():
            out.setdefault(cid, meta)
    return out


def criterion_rules(report: Report) -> dict[str, dict[str, Any]]:
    """Every criterion of every profile that ran, by id, in profile order."""
    out = profile_criterion_rules(ref.id for ref in report.profiles)
    for s in report.subjects:  # profiles given as files: fall back to what the findings say
        for f in s.findings:
            out.setdefault(f.criterion, {"id": f.criterion, "name": f.slug, "title": f.title, "question": f.title,
                                         "remediation": "", "references": [], "severity": f.severity,
                                         "profile": f.profile, "dimension": f.dimension})
    return out


def flag_rules() -> dict[str, dict[str, Any]]:
    from openaudit.flags import load_flags

    out = {f.id: {"id": f.id, "name": f.id, "title": f.title, "question": f.title,
                  "remediation": f.remediation, "references": [], "severity": f.severity} for f in load_flags().flags}
    out.setdefault("license-changed", {"id": "license-changed", "name": "license-changed",
                                       "title": "Licence changed between revisions", "question":
                                       "Did the weights licence change between two audited revisions?",
                                       "remediation": "Announce licence changes and keep old revisions' terms "
                                       "documented.", "references": [], "severity": "warning"})
    return out


class ReadmeLines:
    """Which README.md line an item's evidence points at, for one subject's items (an audit has ~30
    findings and flags, each asking; the subject's evidence is indexed once, not once per item)."""

    def __init__(self, s: Subject) -> None:
        self._kind: dict[str, str] = {}
        self._line: dict[str, tuple[int, int]] = {}  # id -> (0: the card itself, 1: an anchor of it; line)
        self._family_line: dict[str, tuple[int, int]] = {}  # family -> (first position, line) of a card pointer
        for i, e in enumerate(s.evidence):  # ids are unique; were one repeated, its last item would count
            self._kind[e.id] = e.kind
            m = _README_LINE.match(e.pointer)
            self._line.pop(e.id, None)
            if m:
                on_card = e.pointer.startswith("README.md:L")
                self._line[e.id] = (0 if on_card else 1, int(m.group(1)))
                if on_card:
                    self._family_line.setdefault(e.kind.split(".")[0], (i, int(m.group(1))))

    def of(self, evidence_ids: list[str]) -> int | None:
        """The line, preferring the YAML front matter; else, for evidence read from a file (LICENSE@sha)
        about metadata the card declares, the card's first key of that family (a licence mismatch is
        fixed at the `license:` line), e.g. license.mismatch -> README.md:L2 (license)."""
        lines = [self._line[eid] for eid in evidence_ids if eid in self._line]
        if lines:
            return min(lines)[1]
        families = {self._kind[eid].split(".")[0] for eid in evidence_ids if eid in self._kind}
        hits = [self._family_line[f] for f in families if f in self._family_line]
        return min(hits)[1] if hits else None


def readme_line(s: Subject, evidence_ids: list[str]) -> int | None:
    """The README.md line an item's evidence points at (ReadmeLines, for one item)."""
    return ReadmeLines(s).of(evidence_ids)


def hf_uri(s: Subject) -> str:
    return f"hf://{s.repo_id}@{s.revision}" if s.revision else f"hf://{s.repo_id}"


class Waivers:
    """The waived violations of a report's policy, indexed by (repo id, rule): looked up once per SARIF
    result, where a scan of every violation per result was quadratic in an organisation's size. The
    first waived violation of a (repo id, rule) answers, as a scan in order would."""

    def __init__(self, report: Report) -> None:
        self._by: dict[tuple[str, str], WaiverRef] = {}
        for v in report.policy.violations if report.policy else []:
            if v.waived_by:
                self._by.setdefault((v.repo_id, v.rule), v.waived_by)
        self._repos = {repo_id for repo_id, _ in self._by}

    def __bool__(self) -> bool:
        return bool(self._by)

    def get(self, repo_id: str, rule: str) -> WaiverRef | None:
        return self._by.get((repo_id, rule))

    def touches(self, repo_id: str, rules: Iterable[str]) -> bool:
        """Whether any of `rules` is waived for `repo_id`."""
        return repo_id in self._repos and any((repo_id, r) in self._by for r in rules)


def waiver_for(report: Report, repo_id: str, rule: str) -> WaiverRef | None:
    """The waiver of one violation (for one look-up; `Waivers` for many)."""
    return Waivers(report).get(repo_id, rule)


def is_local(s: Subject) -> bool:
    return s.source == "localdir"


def revision_label(s: Subject, full: bool = False) -> str:
    """The commit a subject was read at (12 characters unless `full`), "local" for a folder, "—" for a
    model never read (a Hub model that was not found is not "local")."""
    if s.revision:
        return s.revision if full else s.revision[:12]
    return "local" if is_local(s) else "—"
