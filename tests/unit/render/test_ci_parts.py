"""The CI formats' parts made where each model was audited (issue 23). SARIF: the log copies each
model's results in order and renders again, after the run, only the models one of whose results the
policy waives; the log says byte for byte what the whole renderer says, with the waivers where a scan
of the policy's violations puts them. JUnit and GitHub annotations: the same bytes as the renderers
that built the whole document at once (kept here as the reference), with and without the parts."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from openaudit import api
from openaudit.render import sarif
from openaudit.render.ci import Waivers, waiver_for
from openaudit.report import PolicyResult, Report, Subject, Violation, WaiverRef
from openaudit.subjects import Packed, SubjectStore

STORE = Path(__file__).parents[2] / "store"


@pytest.fixture(scope="module")
def plain() -> Report:
    """Every fixture model twice (two owners' copies), packed as `org` keeps them, each with the SARIF part
    an audit worker makes."""
    ids = sorted(f"{o.name}/{m.name}" for o in (STORE / "models").iterdir() for m in o.iterdir() if m.is_dir())
    report = api.audit_models(ids, snapshots=STORE, processes=0)
    subjects = [s.model_copy(update={"repo_id": f"{s.repo_id}-copy{k}" if k else s.repo_id})
                for k in range(2) for s in report.subjects]
    return report.model_copy(update={"subjects": SubjectStore(subjects)})


def _profile_ids(report: Report) -> tuple[str, ...]:
    return tuple(p.id for p in report.profiles)


def _with_parts(report: Report) -> Report:
    packed = report.subjects.packed()  # type: ignore[attr-defined]
    made = [replace(p, pieces={"sarif": sarif.Results.of(p.subject(), _profile_ids(report))}) for p in packed]
    return report.model_copy(update={"subjects": SubjectStore(made)})


def _without_parts(report: Report) -> Report:
    plain = [replace(p, pieces=None) for p in report.subjects.packed()]  # type: ignore[attr-defined]
    return report.model_copy(update={"subjects": SubjectStore(plain)})


def _results_rules(s: Subject) -> list[str]:
    """The policy rules of a subject's SARIF results (what a waiver must name to suppress one)."""
    return ([f"criteria.{f.criterion}" for f in s.findings if f.outcome in ("closed", "partial", "unknown")]
            + [f"flag:{fl.id}" for fl in s.flags])


def _policy(violations: list[Violation], checked: dict[str, list[str]]) -> PolicyResult:
    waived = sum(1 for v in violations if v.waived_by)
    return PolicyResult(file=".openaudit.yaml", passed=False, strict_failed=False, failed=len(violations) - waived,
                        violations=violations, waived=waived, baselined=0, expired_waivers=[], expiring_waivers=[],
                        unused_waivers=[], checked=checked, out_of_scope=[], fail_on_incomplete=False,
                        today="2026-12-03")


def _waiver(index: int, reason: str) -> WaiverRef:
    return WaiverRef(index=index, reason=reason, note=f"note {index}", expires="2027-06-30")


@pytest.fixture(scope="module")
def waived(plain: Report) -> tuple[Report, set[str]]:
    """A policy waiving a result of two models (one of them twice over for the same rule, with two
    waivers: the first in the policy's order counts), failing one unwaived, and waiving a rule no
    result of a fourth model answers to. Returns the report and the ids of the models waived."""
    subjects = list(plain.subjects)
    audited = [s for s in subjects if s.status != "skipped" and _results_rules(s)]
    a, b, c, d = audited[1], audited[5], audited[8], audited[11]
    rule_a, rule_b, rule_c = _results_rules(a)[0], _results_rules(b)[-1], _results_rules(c)[0]
    violations = [
        Violation(repo_id=c.repo_id, rule=rule_c, detail="fails, not waived"),
        Violation(repo_id=a.repo_id, rule=rule_a, detail="waived", waived_by=_waiver(0, "accepted-risk")),
        Violation(repo_id=a.repo_id, rule=rule_a, detail="waived again", waived_by=_waiver(3, "second-waiver-of-a")),
        Violation(repo_id=b.repo_id, rule=rule_b, detail="waived", waived_by=_waiver(1, "upstream")),
        Violation(repo_id=d.repo_id, rule="min_score", detail="waived", waived_by=_waiver(2, "waiver-on-no-result")),
    ]
    checked = {s.repo_id: ["min_score", *_results_rules(s)[:2]] for s in subjects[::3]}
    for v in violations:
        checked.setdefault(v.repo_id, ["min_score"]).append(v.rule)
    return plain.model_copy(update={"policy": _policy(violations, checked)}), {a.repo_id, b.repo_id}


def _chunks(report: Report) -> str:
    return b"".join(sarif.render_chunks(report)).decode("utf-8")


def _suppressions(log: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(r["properties"]["repo_id"], r["ruleId"]): r["suppressions"][0]["justification"]
            for r in log["runs"][0]["results"] if "suppressions" in r}


def test_the_log_from_the_workers_parts_is_the_whole_log(plain: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    made = _with_parts(plain)
    assert all(isinstance(p.pieces["sarif"], sarif.Results) for p in made.subjects.packed())  # type: ignore[attr-defined]
    decoded: list[str] = []
    real = Packed.subject

    def counting(self: Packed) -> Subject:
        decoded.append(self.repo_id)
        return real(self)

    monkeypatch.setattr(Packed, "subject", counting)
    text = _chunks(made)
    assert decoded == []  # no policy: every model's results copied, nothing decoded
    monkeypatch.undo()
    assert text == sarif.render(plain) == _chunks(_without_parts(made))
    assert json.loads(text)["runs"][0]["results"]


def test_only_the_waived_models_are_rendered_again(waived: tuple[Report, set[str]],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    report, ids = waived
    made = _with_parts(report)
    decoded: list[str] = []
    real = Packed.subject

    def counting(self: Packed) -> Subject:
        decoded.append(self.repo_id)
        return real(self)

    monkeypatch.setattr(Packed, "subject", counting)
    text = _chunks(made)
    assert sorted(decoded) == sorted(ids)  # the unwaived failure and the waiver on no result change nothing
    monkeypatch.undo()
    whole = sarif.render(report)
    assert text == whole == _chunks(_without_parts(made))
    # Where a scan of the violations in order puts the waivers: the first one of a (model, rule) counts.
    expected = {}
    for v in report.policy.violations:  # type: ignore[union-attr]
        if v.waived_by and v.rule.startswith(("criteria.", "flag:")):
            rule_id = v.rule.removeprefix("criteria.").removeprefix("flag:")
            expected.setdefault((v.repo_id, rule_id), v.waived_by)
    got = _suppressions(json.loads(text))
    assert set(got) == set(expected) and len(got) == 2
    for key, w in expected.items():
        assert got[key] == f"{w.reason}: {w.note} (expires {w.expires})"
    assert "second-waiver-of-a" not in text and "waiver-on-no-result" not in text


def test_parts_of_other_profiles_or_a_profile_given_as_a_file_are_not_copied(plain: Report) -> None:
    """A part numbered against other rules (another profile list) is rendered again; a subject whose
    criteria the profiles' files do not name has no part, and the log is rendered whole."""
    other = plain.model_copy(update={"profiles": plain.profiles[:1]})
    packed = plain.subjects.packed()  # type: ignore[attr-defined]
    made = [replace(p, pieces={"sarif": sarif.Results.of(p.subject(), _profile_ids(other))}) for p in packed[:6]]
    assert all(m.pieces["sarif"] is None for m in made if m.subject().findings)
    mixed = [replace(p, pieces={"sarif": sarif.Results.of(p.subject(), _profile_ids(plain))}) for p in packed[:6]]
    report = other.model_copy(update={"subjects": SubjectStore(mixed)})
    assert _chunks(report) == sarif.render(report)
    same = plain.model_copy(update={"subjects": SubjectStore(mixed)})
    assert _chunks(same) == sarif.render(same)


def test_the_waiver_index_answers_as_a_scan_in_order(waived: tuple[Report, set[str]]) -> None:
    report, _ = waived
    index = Waivers(report)
    assert index
    for v in report.policy.violations:  # type: ignore[union-attr]
        first = next((w.waived_by for w in report.policy.violations  # type: ignore[union-attr]
                      if w.repo_id == v.repo_id and w.rule == v.rule and w.waived_by), None)
        assert index.get(v.repo_id, v.rule) == first == waiver_for(report, v.repo_id, v.rule)
    a = report.policy.violations[1]  # type: ignore[union-attr]
    assert index.get(a.repo_id, a.rule).reason == "accepted-risk"  # type: ignore[union-attr]
    assert index.touches(a.repo_id, {"flag:nothing", a.rule}) and not index.touches(a.repo_id, {"flag:nothing"})
    assert index.get("nobody/none", a.rule) is None
    assert not Waivers(report.model_copy(update={"policy": None}))


@pytest.mark.parametrize("processes", [0, 2], ids=["thread", "forked workers"])
def test_a_run_asked_for_sarif_has_its_workers_make_the_results(processes: int) -> None:
    from openaudit.render import github, junit
    from openaudit.run.options import RunOptions

    ids = ["EleutherAI/pythia-1b", "allenai/OLMo-2-1124-7B", "Qwen/Qwen2.5-7B"]
    report, _ = api.run_audit(ids, RunOptions(snapshots=STORE, processes=processes,
                                              prerender=("sarif", "junit", "github")))
    packed = report.subjects.packed()  # type: ignore[attr-defined]
    assert all(isinstance(p.pieces["sarif"], sarif.Results) for p in packed)
    assert all(isinstance(p.pieces["junit"], junit.Suite) and isinstance(p.pieces["github"], github.Lines)
               for p in packed)
    assert _chunks(report) == sarif.render(report) == _chunks(_without_parts(report))
    assert junit.render(report) == _old_junit(_without_parts(report))
    assert github.render(report) == _old_github(_without_parts(report))


def _old_junit(report: Report) -> str:
    """The JUnit renderer before it wrote one suite at a time: the whole tree, indented at once."""
    import xml.etree.ElementTree as ET

    from openaudit.render import junit

    stamp = report.generated_at.replace(microsecond=0).isoformat()
    root = ET.Element("testsuites", {"name": "openaudit"})
    flag_ids = list(junit.flag_rules())
    for s in report.subjects:
        suite = ET.SubElement(root, "testsuite", {"name": s.repo_id, "timestamp": stamp})
        props = ET.SubElement(suite, "properties")
        for key, value in (("revision", s.revision or ""), ("status", s.status), ("source", s.source),
                           ("score", "" if s.score is None else f"{s.score:g}")):
            ET.SubElement(props, "property", {"name": key, "value": value})
        if s.status == "skipped" or (s.status == "incomplete" and report.policy is None):
            err = ET.SubElement(junit._case(suite, s.repo_id, "audit"), "error", {"message": s.reason or s.status,
                                                                                 "type": s.status})
            err.text = s.reason or s.status
        elif report.policy is not None:
            junit._policy_cases(suite, s, report.policy)
        else:
            junit._criteria_cases(suite, s, flag_ids)
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


def _old_github(report: Report) -> str:
    """The annotations before the subjects were read once: every subject decoded into a dict first."""
    from openaudit.render import github

    subjects = {s.repo_id: s for s in report.subjects}
    out: list[str] = []
    policy = report.policy
    if policy is not None:
        for v in policy.get("violations", []):
            s = subjects.get(v["repo_id"])
            ev = github._flag_evidence(s, v["rule"]) if s else []
            title = f"openaudit {v['rule']} ({v['repo_id']})"
            if v.get("waived_by"):
                w = v["waived_by"]
                out.append(github._line("note", title, f"waived ({w['reason']}, expires {w['expires']}): "
                                        f"{v['detail']}", s, ev))
            elif not v.get("baselined"):
                out.append(github._line("error", title, v["detail"], s, ev))
    else:
        for s in report.subjects:
            for f in s.flags:
                out.append(github._line(f.severity, f"openaudit {f.id} ({s.repo_id})",
                                        f"{f.title}. {github.humanize(f.message)}", s, list(f.evidence)))
    for s in report.subjects:
        if s.status != "audited":
            out.append(github._line("warning", f"openaudit {s.status} ({s.repo_id})", s.reason or s.status))
    out.append(github.summary_line(report))
    return "\n".join(out) + "\n"


def _ci_parts(report: Report) -> Report:
    from openaudit.render import github, junit

    packed = report.subjects.packed()  # type: ignore[attr-defined]
    made = [replace(p, pieces={"junit": junit.Suite.of(p.subject()), "github": github.Lines.of(p.subject())})
            for p in packed]
    return report.model_copy(update={"subjects": SubjectStore(made)})


@pytest.mark.parametrize("which", ["plain", "policy"])
def test_junit_and_github_from_the_workers_parts_are_the_whole_documents(
        which: str, plain: Report, waived: tuple[Report, set[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    from openaudit.render import github, junit

    report = plain if which == "plain" else waived[0]
    made = _ci_parts(report)
    expected = {"junit": _old_junit(report), "github": _old_github(report)}
    assert "<failure" in expected["junit"] if which == "policy" else "<system-out>" in expected["junit"]
    assert junit.render(report) == expected["junit"] and github.render(report) == expected["github"]
    decoded: list[str] = []
    real = Packed.subject

    def counting(self: Packed) -> Subject:
        decoded.append(self.repo_id)
        return real(self)

    monkeypatch.setattr(Packed, "subject", counting)
    got = {"junit": junit.render(made), "github": github.render(made)}
    assert decoded == []  # every suite and line from the parts (with a policy: from their few fields)
    assert got == expected
    empty = report.model_copy(update={"subjects": SubjectStore([])})
    assert junit.render(empty) == _old_junit(empty)
