"""JUnit XML for CI systems without SARIF (GitLab, Jenkins, Azure): one <testsuite> per model.

With a policy: one <testcase> per model x policy rule that was checked (threshold, required
criterion, flag that fails, regression, incomplete); a violation is a <failure>, a waived or
baselined one is <skipped> with the reason. Without a policy nothing fails the job (its exit code is
0), so nothing is a <failure> either: one <testcase> per criterion that ran and one per flag, the
finding in its <system-out> (a closed criterion, a flag that fired: "closed: ..." / "fired: ..."),
an undecidable criterion <skipped>. A job that passes shows no red test. A model that could not be
audited is one <testcase name="audit"> with an <error>, as its exit code says.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass
from typing import Any, cast

from openaudit.render.ci import flag_rules, revision_label
from openaudit.report import PolicyResult, Report, Subject


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", {"classname": classname, "name": name, "time": "0"})


def _policy_cases(suite: ET.Element, s: Subject | _Head, policy: PolicyResult,
                  by_rule: dict[str, Any] | None = None) -> None:
    """`by_rule`: the model's violations by rule (looked for in the policy unless given)."""
    if by_rule is None:
        by_rule = {v["rule"]: v for v in policy.get("violations", []) if v["repo_id"] == s.repo_id}
    rules = policy.get("checked", {}).get(s.repo_id)
    if rules is None:
        ET.SubElement(_case(suite, s.repo_id, "policy scope"), "skipped", {"message": "out of the policy's scope"})
        return
    if not rules:
        _case(suite, s.repo_id, "policy")
    for rule in rules:
        case = _case(suite, s.repo_id, rule)
        v = by_rule.get(rule)
        if v is None:
            continue
        if v.get("waived_by"):
            w = v["waived_by"]
            ET.SubElement(case, "skipped", {"message": f"waived ({w['reason']}, expires {w['expires']}): "
                                                       f"{v['detail']}"})
        elif v.get("baselined"):
            ET.SubElement(case, "skipped", {"message": f"already in the baseline: {v['detail']}"})
        else:
            fail = ET.SubElement(case, "failure", {"message": v["detail"], "type": rule})
            fail.text = f"{s.repo_id}@{revision_label(cast(Subject, s), full=True)}: {v['detail']}"  # revision, source


def _criteria_cases(suite: ET.Element, s: Subject, flag_ids: list[str]) -> None:
    """No policy: findings as information (passed cases with the outcome in system-out), no failure."""
    for f in s.findings:
        case = _case(suite, f"{s.repo_id}.{f.profile}", f"{f.criterion} {f.slug}")
        if f.outcome in ("unknown", "not-applicable"):
            ET.SubElement(case, "skipped", {"message": f"{f.outcome}: {f.rationale}"})
        else:
            ET.SubElement(case, "system-out").text = f"{f.outcome}: {f.rationale}"
    fired = {fl.id: fl for fl in s.flags}
    for fid in flag_ids:
        case = _case(suite, f"{s.repo_id}.flags", fid)
        if fid in fired:
            ET.SubElement(case, "system-out").text = (f"fired ({fired[fid].severity}): {fired[fid].title}: "
                                                       f"{fired[fid].message}")


_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
_COUNTS = ("tests", "failures", "errors", "skipped")


def _props(suite: ET.Element, s: Subject | _Head) -> None:
    props = ET.SubElement(suite, "properties")
    for key, value in (("revision", s.revision or ""), ("status", s.status), ("source", s.source),
                       ("score", "" if s.score is None else f"{s.score:g}")):
        ET.SubElement(props, "property", {"name": key, "value": value})


def _suite(s: Subject | _Head, stamp: str, policy: PolicyResult | None, flag_ids: list[str],
           by_rule: dict[str, Any] | None = None) -> ET.Element:
    """One model's <testsuite>, indented as it sits in the whole document."""
    suite = ET.Element("testsuite", {"name": s.repo_id, "timestamp": stamp})
    _props(suite, s)
    if s.status == "skipped" or (s.status == "incomplete" and policy is None):
        err = ET.SubElement(_case(suite, s.repo_id, "audit"), "error", {"message": s.reason or s.status,
                                                                       "type": s.status})
        err.text = s.reason or s.status
    elif policy is not None:
        _policy_cases(suite, s, policy, by_rule)
    else:
        assert isinstance(s, Subject)
        _criteria_cases(suite, s, flag_ids)
    cases = suite.findall("testcase")
    counts = {"tests": len(cases), "failures": sum(1 for c in cases if c.find("failure") is not None),
              "errors": sum(1 for c in cases if c.find("error") is not None),
              "skipped": sum(1 for c in cases if c.find("skipped") is not None)}
    for k, v in counts.items():
        suite.set(k, str(v))
    suite.set("time", "0")
    ET.indent(suite, level=1)
    return suite


@dataclass(frozen=True)
class _Head:
    """What a suite reads of a subject when a policy is given (its cases are the policy's)."""

    repo_id: str
    revision: str | None
    status: str
    source: str
    score: float | None
    reason: str | None


@dataclass(frozen=True)
class Suite:
    """One model's <testsuite> made where it was audited (an audit worker, `audit.audit_packed`): as
    written when no policy is given (with `marker` standing for the report's time stamp, unknown
    there), compressed, with its counts; and the few fields the policy's suite reads of the subject.
    After the run it is copied (no policy) or its policy cases added: nothing decoded."""

    plain: bytes
    marker: str
    counts: tuple[int, int, int, int]
    head: _Head

    @classmethod
    def of(cls, s: Subject) -> Suite:
        import secrets

        marker = f"t{secrets.token_hex(16)}"
        suite = _suite(s, marker, None, list(flag_rules()))
        counts = tuple(int(suite.get(k, "0")) for k in _COUNTS)
        return cls(zlib.compress(ET.tostring(suite, encoding="unicode").encode("utf-8"), 1), marker,
                   (counts[0], counts[1], counts[2], counts[3]),
                   _Head(s.repo_id, s.revision, s.status, s.source, s.score, s.reason))

    def text(self, stamp: str) -> str:
        return zlib.decompress(self.plain).decode("utf-8").replace(self.marker, stamp)


def render(report: Report) -> str:
    """The document, each model's suite serialised as it is reached (a packed store decodes one subject
    at a time, or none where an audit worker made its suite) and kept as text, not as a tree."""
    from openaudit.subjects import as_packed

    stamp = report.generated_at.replace(microsecond=0).isoformat()
    flag_ids = list(flag_rules())  # once, not once a model
    policy = report.policy
    by_repo: dict[str, dict[str, Any]] = {}  # a model's violations by rule (the last of a rule, as before)
    for v in policy.get("violations", []) if policy is not None else []:
        by_repo.setdefault(v["repo_id"], {})[v["rule"]] = v
    totals = [0, 0, 0, 0]
    parts: list[str] = []
    for item in as_packed(report.subjects):
        made = (getattr(item, "pieces", None) or {}).get("junit")
        if isinstance(made, Suite) and policy is None:
            text, counts = made.text(stamp), made.counts
        else:
            s: Subject | _Head = made.head if isinstance(made, Suite) else (
                item if isinstance(item, Subject) else item.subject())
            suite = _suite(s, stamp, policy, flag_ids, by_repo.get(s.repo_id, {}))
            text = ET.tostring(suite, encoding="unicode")
            c = [int(suite.get(k, "0")) for k in _COUNTS]
            counts = (c[0], c[1], c[2], c[3])
            del s, suite
        for i, n in enumerate(counts):
            totals[i] += n
        parts.append(text)
        del item
    root = ET.Element("testsuites", {"name": "openaudit"})
    for k, n in zip(_COUNTS, totals, strict=True):
        root.set(k, str(n))
    root.set("time", "0")
    if not parts:
        return _HEAD + ET.tostring(root, encoding="unicode") + "\n"
    head = ET.tostring(root, encoding="unicode")
    assert head.endswith(" />")  # <testsuites ... /> opened as the whole tree writes it
    # As ET.indent lays the whole tree out: each suite on its own line at level 1.
    return _HEAD + head[:-3] + ">\n  " + "\n  ".join(parts) + "\n</testsuites>\n"
