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

from openaudit.render.ci import flag_rules, revision_label
from openaudit.report import PolicyResult, Report, Subject


def _case(suite: ET.Element, classname: str, name: str) -> ET.Element:
    return ET.SubElement(suite, "testcase", {"classname": classname, "name": name, "time": "0"})


def _policy_cases(suite: ET.Element, s: Subject, policy: PolicyResult) -> None:
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
            fail.text = f"{s.repo_id}@{revision_label(s, full=True)}: {v['detail']}"


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


def render(report: Report) -> str:
    stamp = report.generated_at.replace(microsecond=0).isoformat()
    root = ET.Element("testsuites", {"name": "openaudit"})
    flag_ids = list(flag_rules())  # once, not once a model
    for s in report.subjects:
        suite = ET.SubElement(root, "testsuite", {"name": s.repo_id, "timestamp": stamp})
        props = ET.SubElement(suite, "properties")
        for key, value in (("revision", s.revision or ""), ("status", s.status), ("source", s.source),
                           ("score", "" if s.score is None else f"{s.score:g}")):
            ET.SubElement(props, "property", {"name": key, "value": value})
        if s.status == "skipped" or (s.status == "incomplete" and report.policy is None):
            err = ET.SubElement(_case(suite, s.repo_id, "audit"), "error", {"message": s.reason or s.status,
                                                                           "type": s.status})
            err.text = s.reason or s.status
        elif report.policy is not None:
            _policy_cases(suite, s, report.policy)
        else:
            _criteria_cases(suite, s, flag_ids)
        cases = suite.findall("testcase")
        counts = {"tests": len(cases), "failures": sum(1 for c in cases if c.find("failure") is not None),
                  "errors": sum(1 for c in cases if c.find("error") is not None),
                  "skipped": sum(1 for c in cases if c.find("skipped") is not None)}
        for k, v in counts.items():
            suite.set(k, str(v))
        suite.set("time", "0")
    for k in ("tests", "failures", "errors", "skipped"):
        root.set(k, str(sum(int(su.get(k, "0")) for su in root.findall("testsuite"))))
    root.set("time", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
