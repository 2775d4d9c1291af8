"""SARIF 2.1.0 for code scanning (GitHub, GitLab, Azure DevOps).

One rule per criterion of every profile that ran and per flag (also the ones that passed, so that
fixed alerts close); rule help from the criterion's YAML (question, remediation, references).
Results: findings whose outcome is closed, partial or unknown, and flags that fired. Each result
has `partialFingerprints` from repo id + rule id (never a line number), a logical location
`hf://ORG/NAME@SHA`, and a physical location README.md (the model card, where a publisher fixes
nearly every finding) with the line when the evidence points into it. A finding waived by the
policy carries a SARIF suppression with the waiver's reason.
"""

from __future__ import annotations

import hashlib
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic_core import to_json

from openaudit import __version__
from openaudit.render.ci import (
    ReadmeLines,
    Waivers,
    criterion_rules,
    flag_rules,
    hf_uri,
    is_local,
    profile_criterion_rules,
    revision_label,
)
from openaudit.report import Report, Subject, WaiverRef

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"error": "error", "warning": "warning", "note": "note"}


def _help(meta: dict[str, Any]) -> dict[str, str]:
    md = [f"**{meta['title']}**", "", meta["question"]]
    text = [meta["title"], meta["question"]]
    if meta.get("remediation"):
        md += ["", "**Remediation.** " + meta["remediation"]]
        text.append("Remediation: " + meta["remediation"])
    if meta.get("references"):
        md += ["", "**References**", *[f"- {r}" for r in meta["references"]]]
        text.append("References: " + "; ".join(meta["references"]))
    return {"text": "\n".join(text), "markdown": "\n".join(md)}


def _rule(meta: dict[str, Any], kind: str) -> dict[str, Any]:
    tags = [kind] + ([meta["profile"], meta["dimension"]] if kind == "criterion" else [])
    return {"id": meta["id"], "name": meta["name"], "shortDescription": {"text": meta["title"]},
            "fullDescription": {"text": meta["question"]}, "help": _help(meta),
            "defaultConfiguration": {"level": LEVEL.get(meta["severity"], "warning")},
            "properties": {"tags": tags}}


def _fingerprint(repo_id: str, rule_id: str) -> str:
    return hashlib.sha256(f"{repo_id}\x00{rule_id}".encode()).hexdigest()[:32]


def _location(s: Subject, line: int | None) -> dict[str, Any]:
    artifact: dict[str, Any] = {"uri": "README.md"}
    if not is_local(s):
        artifact["uriBaseId"] = s.repo_id
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if line:
        physical["region"] = {"startLine": line}
    return {"physicalLocation": physical,
            "logicalLocations": [{"name": s.repo_id, "fullyQualifiedName": hf_uri(s), "kind": "module"}]}


def _result(s: Subject, lines: ReadmeLines, rule_id: str, index: int, level: str, text: str,
            evidence: list[str], waived: WaiverRef | None) -> dict[str, Any]:
    res: dict[str, Any] = {"ruleId": rule_id, "ruleIndex": index, "level": level, "message": {"text": text},
                           "locations": [_location(s, lines.of(evidence))],
                           "partialFingerprints": {"openauditRepoRule/v1": _fingerprint(s.repo_id, rule_id)},
                           "properties": {"repo_id": s.repo_id, "revision": s.revision, "evidence": evidence}}
    if waived:
        res["suppressions"] = [{"kind": "external", "status": "accepted",
                                "justification": f"{waived['reason']}: {waived.get('note') or ''} "
                                                 f"(expires {waived['expires']})".replace(":  (", " (")}]
    return res


def _category(report: Report) -> str:
    from openaudit.subjects import as_packed

    owners = sorted({s.repo_id.split("/")[0] for s in as_packed(report.subjects)})  # nothing decoded
    return owners[0] if len(owners) == 1 else "models"


def _rules(report: Report) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    crit = criterion_rules(report)
    flags = flag_rules()
    return crit, [_rule(m, "criterion") for m in crit.values()] + [_rule(m, "flag") for m in flags.values()
                                                                  if m["id"] not in crit]


def _subject_results(s: Subject, index: dict[str, int], waivers: Waivers | None
                     ) -> tuple[list[dict[str, Any]], set[str]]:
    """One subject's results (none for a skipped one), the policy's waivers applied when given, and the
    policy rules they answer to (`criteria.ID`, `flag:ID`)."""
    results: list[dict[str, Any]] = []
    rules: set[str] = set()
    if s.status == "skipped":
        return results, rules
    at = f"{s.repo_id}@{revision_label(s)}"
    lines = ReadmeLines(s)
    for f in s.findings:
        if f.outcome in ("open", "not-applicable") or f.criterion not in index:
            continue
        level = "note" if f.outcome == "unknown" else LEVEL.get(f.severity, "warning")
        rule = f"criteria.{f.criterion}"
        rules.add(rule)
        results.append(_result(s, lines, f.criterion, index[f.criterion], level,
                               f"{at}: {f.title}: {f.outcome}. {f.rationale}", list(f.evidence),
                               waivers.get(s.repo_id, rule) if waivers else None))
    for fl in s.flags:
        if fl.id not in index:
            continue
        rule = f"flag:{fl.id}"
        rules.add(rule)
        results.append(_result(s, lines, fl.id, index[fl.id], LEVEL.get(fl.severity, "warning"),
                               f"{at}: {fl.title}. {fl.message}", list(fl.evidence),
                               waivers.get(s.repo_id, rule) if waivers else None))
    return results, rules


def _base(s: Subject) -> dict[str, str] | None:
    if s.status == "skipped" or is_local(s) or not s.revision:
        return None
    return {"uri": f"https://huggingface.co/{s.repo_id}/blob/{s.revision}/"}


def _document(report: Report, rules: list[dict[str, Any]], results: list[Any],
              bases: dict[str, Any]) -> dict[str, Any]:
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "openaudit", "version": __version__, "semanticVersion": __version__,
                            "rules": rules}},
        "automationDetails": {"id": f"openaudit/{_category(report)}/"},
        "invocations": [{"executionSuccessful": True, "endTimeUtc": report.generated_at.isoformat()}],
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if bases:
        run["originalUriBaseIds"] = dict(sorted(bases.items()))
    if report.policy is not None:
        run["properties"] = {"policy": {"file": report.policy.get("file"), "passed": report.policy.get("passed"),
                                        "failed": report.policy.get("failed")}}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def sarif(report: Report) -> dict[str, Any]:
    _, rules = _rules(report)
    index = {r["id"]: i for i, r in enumerate(rules)}
    results: list[dict[str, Any]] = []
    bases: dict[str, Any] = {}
    waivers = Waivers(report)
    for s in report.subjects:
        results += _subject_results(s, index, waivers)[0]
        if (base := _base(s)) is not None:
            bases[s.repo_id] = base
    return _document(report, rules, results, bases)


def render(report: Report) -> str:
    # pydantic_core writes the json module's indented layout byte for byte (keys in order, UTF-8 as is),
    # 6x faster than its pure-Python indenting encoder: an organisation's log runs to megabytes.
    return to_json(sarif(report), indent=2).decode("utf-8") + "\n"


# Stands for the results in the document's layout while they wait in a temporary file (a line no
# value of the document can make: a whole line holding only this string, at the results' depth).
_HOLE = "\x00openaudit sarif results\x00"
_DEPTH = b" " * 8  # "runs" -> run -> "results" -> each result


def _serialised(results: list[dict[str, Any]]) -> bytes:
    """Results as the whole document lays them out: each indented to the results' depth, separated by ",\n"."""
    return b",\n".join(b"\n".join(_DEPTH + line for line in to_json(res, indent=2).split(b"\n")) for res in results)


@dataclass(frozen=True)
class _Table:
    """The rules a log holds when the profiles' own files give every criterion (`render_chunks`)."""

    criteria: frozenset[str]
    rules: list[dict[str, Any]]
    index: dict[str, int]
    key: str  # what the results' `ruleIndex` numbers rest on: the rule ids in order


@cache
def _table(profile_ids: tuple[str, ...]) -> _Table:
    crit = profile_criterion_rules(profile_ids)
    flags = flag_rules()
    rules = [_rule(m, "criterion") for m in crit.values()] + [_rule(m, "flag") for m in flags.values()
                                                             if m["id"] not in crit]
    ids = [r["id"] for r in rules]
    return _Table(frozenset(crit), rules, {rid: i for i, rid in enumerate(ids)},
                  hashlib.sha256("\x00".join(ids).encode()).hexdigest())


@dataclass(frozen=True)
class Results:
    """One subject's SARIF results made where it was audited (an audit worker, `audit.audit_packed`):
    serialised as the log lays them out, compressed, with no waiver applied (the policy is applied
    after the last audit), the policy rules they answer to (a waiver on any of them has the subject
    rendered again after the run), its `originalUriBaseIds` entry, and the key of the rule table their
    `ruleIndex` numbers rest on. Picklable plain values."""

    rules: str
    data: bytes
    count: int
    base: dict[str, str] | None
    policy_rules: str  # one a line (one string, not ~30: it waits in the run's store for every model)

    @classmethod
    def of(cls, s: Subject, profile_ids: Sequence[str]) -> Results | None:
        """None when a finding's criterion is not in the profiles' files (a profile given as a file: the
        rules then depend on the findings, and the log is rendered whole)."""
        table = _table(tuple(profile_ids))
        if any(f.criterion not in table.criteria for f in s.findings):
            return None
        results, rules = _subject_results(s, table.index, None)
        return cls(table.key, zlib.compress(_serialised(results), 1), len(results), _base(s), "\n".join(sorted(rules)))

    def chunk(self) -> bytes:
        return zlib.decompress(self.data)

    def waived(self, repo_id: str, waivers: Waivers) -> bool:
        """Whether the policy waives any of these results (they are then rendered again, with it)."""
        return bool(waivers) and bool(self.policy_rules) and waivers.touches(repo_id, self.policy_rules.split("\n"))


def render_chunks(report: Report) -> Iterator[bytes]:
    """`render` as UTF-8 chunks, one subject at a time (what the CLI writes): each subject's results
    are serialised as it is decoded, or copied from the part its audit worker made (`Results`) unless
    the policy waives one of them, and go to a temporary file; the document around them is written
    once every subject is seen. Falls back to `render` when the rules depend on the subjects (a profile
    given as a file, whose criteria only the findings name)."""
    from openaudit.subjects import as_packed

    table = _table(tuple(ref.id for ref in report.profiles))
    waivers = Waivers(report)
    bases: dict[str, Any] = {}
    count = 0
    with tempfile.TemporaryFile() as spool:
        for item in as_packed(report.subjects):
            made = (getattr(item, "pieces", None) or {}).get("sarif")
            if (isinstance(made, Results) and made.rules == table.key
                    and not made.waived(item.repo_id, waivers)):
                # Made where the model was audited, and no waiver of the policy's changes it: copied.
                repo_id, base, n, data = item.repo_id, made.base, made.count, made.chunk() if made.count else b""
            else:
                s = item if isinstance(item, Subject) else item.subject()
                if any(f.criterion not in table.criteria for f in s.findings):
                    yield render(report).encode("utf-8")
                    return
                results = _subject_results(s, table.index, waivers)[0]
                repo_id, base, n, data = s.repo_id, _base(s), len(results), _serialised(results)
                del s, results
            if n:
                spool.write((b",\n" if count else b"") + data)
                count += n
            if base is not None:
                bases[repo_id] = base
            del item, data
        if not count:
            yield to_json(_document(report, table.rules, [], bases), indent=2) + b"\n"
            return
        hole = b"\n" + _DEPTH + to_json(_HOLE) + b"\n"
        text = to_json(_document(report, table.rules, [_HOLE], bases), indent=2) + b"\n"
        if text.count(hole) != 1:
            yield render(report).encode("utf-8")
            return
        head, tail = text.split(hole)
        yield head + b"\n"
        spool.seek(0)
        while chunk := spool.read(1 << 16):
            yield chunk
        yield b"\n" + tail
