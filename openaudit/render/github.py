"""GitHub Actions workflow commands (`::error`/`::warning`/`::notice` lines) and the step summary.

With a policy: an `::error` per violation that fails the run, a `::notice` per waived one, a
`::warning` per expired or soon-expiring waiver. Without a policy: one line per flag that fired,
at the flag's severity. `file=`/`line=` are given only for a local model folder (the card is then
a file of the checked-out repository); Hub models are named in the title.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openaudit.render.ci import is_local, readme_line, revision_label
from openaudit.render.prose import humanize
from openaudit.report import Report, Subject
from openaudit.textsafe import code, markdown, workflow_data, workflow_property

if TYPE_CHECKING:
    from openaudit.subjects import Packed

CMD = {"error": "error", "warning": "warning", "note": "notice"}


_data = workflow_data  # every repository-derived string is escaped for its channel (openaudit.textsafe)
_prop = workflow_property


def _line(level: str, title: str, message: str, s: Subject | None = None, evidence: list[str] | None = None) -> str:
    props = []
    if s is not None and is_local(s):
        props.append("file=README.md")
        line = readme_line(s, evidence or [])
        if line:
            props.append(f"line={line}")
    props.append(f"title={_prop(title)}")
    return f"::{CMD.get(level, level)} {','.join(props)}::{_data(message)}"


def _flag_evidence(s: Subject, rule: str) -> list[str]:
    if rule.startswith("flag:"):
        return next((list(f.evidence) for f in s.flags if f.id == rule[5:]), [])
    if rule.startswith("criteria."):
        return next((list(f.evidence) for f in s.findings if f.criterion == rule[9:]), [])
    return []


@dataclass(frozen=True)
class Lines:
    """One subject's lines when no policy is given (a line per flag that fired), made where it was
    audited (an audit worker, `audit.audit_packed`), with its flag count and whether it is a local
    folder (with a policy, only a folder's violations point into its card): after the run they are
    copied, nothing decoded."""

    text: str
    flags: int
    local: bool

    @classmethod
    def of(cls, s: Subject) -> Lines:
        return cls("".join(line + "\n" for line in _flag_lines(s)), len(s.flags), is_local(s))


def _flag_lines(s: Subject) -> list[str]:
    return [_line(f.severity, f"openaudit {f.id} ({s.repo_id})", f"{f.title}. {humanize(f.message)}", s,
                  list(f.evidence)) for f in s.flags]


def _made(item: Subject | Packed) -> Lines | None:
    made = (getattr(item, "pieces", None) or {}).get("github")
    return made if isinstance(made, Lines) else None


def _decoded(item: Subject | Packed) -> Subject:
    return item if isinstance(item, Subject) else item.subject()


def render(report: Report) -> str:
    """The lines. The subjects are read one at a time (a packed store decodes each as it is reached), or
    not at all where an audit worker made their lines (`Lines`)."""
    from openaudit.subjects import as_packed

    items = list(as_packed(report.subjects))  # packed: nothing decoded
    out: list[str] = []
    policy = report.policy
    flags = 0
    if policy is not None:
        by_id = {it.repo_id: it for it in items}  # the last of a repo id, as before
        local: dict[str, Subject | None] = {}  # a repo id -> its subject when it is a local folder, else None
        for v in policy.get("violations", []):
            repo_id = v["repo_id"]
            if repo_id not in local:
                it = by_id.get(repo_id)
                made = None if it is None else _made(it)
                s = None if it is None or (made is not None and not made.local) else _decoded(it)
                local[repo_id] = s if s is not None and is_local(s) else None
            s = local[repo_id]  # only a local folder's line names a file and line (see `_line`)
            ev = _flag_evidence(s, v["rule"]) if s else []
            title = f"openaudit {v['rule']} ({repo_id})"
            if v.get("waived_by"):
                w = v["waived_by"]
                out.append(_line("note", title, f"waived ({w['reason']}, expires {w['expires']}): {v['detail']}",
                                 s, ev))
            elif not v.get("baselined"):
                out.append(_line("error", title, v["detail"], s, ev))
        del local
        for w in policy.get("expired_waivers", []):
            out.append(_line("error" if not policy.get("passed") and policy.get("strict_failed") else "warning",
                             f"openaudit waiver {w['index']} expired",
                             f"waiver for {w['target']} on {w['models']} expired on {w['expires']}"))
        for w in policy.get("expiring_waivers", []):
            out.append(_line("warning", f"openaudit waiver {w['index']} expires soon",
                             f"waiver for {w['target']} on {w['models']} expires on {w['expires']}"))
    else:
        for it in items:
            made = _made(it)
            if made is None:
                made = Lines.of(_decoded(it))
            if made.text:
                out.append(made.text[:-1])
            flags += made.flags
    for it in items:
        if it.status != "audited":
            out.append(_line("warning", f"openaudit {it.status} ({it.repo_id})", it.reason or it.status))
    out.append(summary_line(report, flags))
    return "\n".join(out) + "\n"


def summary_line(report: Report, flags: int | None = None) -> str:
    """The last line; `flags`: how many flags fired over the report (counted here unless given)."""
    n = len(report.subjects)
    p = report.policy
    if p is None:
        if flags is None:
            flags = sum(len(s.flags) for s in report.subjects)
        return f"openaudit: {n} model(s) audited, {flags} flag(s), no policy"
    verdict = "passed" if p.get("passed") else "FAILED"
    return (f"openaudit: {n} model(s), policy {verdict}: {p.get('failed', 0)} violation(s), "
            f"{p.get('waived', 0)} waived, {p.get('baselined', 0)} in the baseline, "
            f"{len(p.get('expired_waivers', []))} expired waiver(s)")


def _cell(text: Any) -> str:
    """Text from a report in a summary: Markdown-escaped, one line (no link, image or HTML of a card's)."""
    return markdown(text)


def step_summary(report: Report) -> str:
    p = report.policy
    head = "## openaudit"
    if p is not None:
        head += f": policy {'passed ✅' if p.get('passed') else 'failed ❌'}"
    lines = [head, "", summary_line(report), "",
             "| Model | Revision | Status | Score | MOF | Flags | Policy |", "|---|---|---|---|---|---|---|"]
    fails: dict[str, int] = {}
    for v in (p.violations if p else []):
        if not v.get("waived_by") and not v.get("baselined"):
            fails[v["repo_id"]] = fails.get(v["repo_id"], 0) + 1
    for s in report.subjects:
        mof = s.frameworks.get("mof")
        if p is None:
            pol = "—"
        elif s.repo_id not in p.get("checked", {}):
            pol = "out of scope"
        else:
            pol = f"❌ {fails[s.repo_id]}" if s.repo_id in fails else "✅"
        lines.append(f"| {code(s.repo_id)} | {code(revision_label(s))} | {_cell(s.status)} | "
                     f"{'' if s.score is None else f'{s.score:g}'} | {_cell(mof.verdict) if mof else ''} | "
                     f"{_cell(', '.join(f.id for f in s.flags)) or '—'} | {pol} |")
    failing = [v for v in (p.violations if p else []) if not v.get("waived_by") and not v.get("baselined")]
    if failing:
        lines += ["", "### Violations", ""]
        lines += [f"- {code(v['repo_id'])} **{_cell(v['rule'])}**: {_cell(v['detail'])}" for v in failing]
    waived = [v for v in (p.violations if p else []) if v.get("waived_by")]
    if waived:
        lines += ["", "### Waived", ""]
        lines += [f"- {code(v['repo_id'])} {_cell(v['rule'])}: {_cell(v['waived_by']['reason'])}, expires "
                  f"{v['waived_by']['expires']}" for v in waived]
    expired = (p.expired_waivers if p else [])
    if expired:
        lines += ["", "### Expired waivers", ""]
        lines += [f"- waiver {w['index']} ({_cell(w['target'])} on {code(w['models'])}) expired {w['expires']}"
                  for w in expired]
    if p is not None and p.get("passed") and not failing:
        lines += ["", f"All {len(p.get('checked', {}))} model(s) in scope pass the policy."]
    return "\n".join(lines) + "\n\n"


def append_step_summary(path: Path, report: Report) -> None:
    """Append in one write with O_APPEND, so concurrent steps never interleave half summaries."""
    data = step_summary(report).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
