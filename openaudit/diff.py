"""What changed between two reports, per model: pure, over the JSON envelope.

Every change has a `direction`: `up` (more open), `down` (less open: a regression) or `changed`
(neither, e.g. a new revision, or a verdict that became undetermined). `openaudit diff
--fail-on-regression` and a policy's `fail_on_regression` fail on any `down`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from openaudit.report import Report, Subject
from openaudit.vocab import EU_RANK, LICENSE_RANK, MOF_RANK, OSAID_RANK, VERDICT_RANK


def _direction(old: Any, new: Any, rank: Mapping[str, int] | None = None) -> str:
    if rank is not None:
        old, new = rank.get(str(old)), rank.get(str(new))
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return "up" if new > old else "down" if new < old else "changed"
    return "changed"


def _change(field: str, old: Any, new: Any, direction: str, summary: str) -> dict[str, Any]:
    return {"field": field, "old": old, "new": new, "direction": direction, "summary": summary}


def _access(s: Subject) -> dict[str, str]:
    """The files this audit could not read, with why (gated: no token or no access): path -> reason;
    and the linked base models and datasets it could not look up ("base ID"/"dataset ID" -> "not
    checked": offline, the network, a rate limit, the budget, access denied). A file left unread on
    purpose (a shallower --depth) is not an access problem."""
    out: dict[str, str] = {}
    for e in s.evidence:
        v = e.value if isinstance(e.value, dict) else {}
        if e.kind == "docs.card-unreadable":
            out["README.md"] = str(v.get("reason", "unreadable"))
        elif e.kind == "license.file-unreadable" and v.get("reason") != "not-read":
            out[str(v.get("path", "?"))] = str(v.get("reason", "unreadable"))
        elif e.kind == "lineage.base_model" and v.get("checked") is False:
            out[f"base {str(v.get('id', '?'))[:200]}"] = "not checked"
        elif e.kind == "data.dataset" and v.get("checked") is False:
            out[f"dataset {str(v.get('id', '?'))[:200]}"] = "not checked"
    return out


def _access_summary(a: dict[str, str], b: dict[str, str]) -> str:
    def side(m: dict[str, str], paths: list[str]) -> str:
        return ", ".join(f"{p} {m[p]}" if p in m else f"{p} read" for p in paths)

    paths = sorted(set(a) | set(b), key=lambda p: (p != "README.md", p))[:6]
    return f"access changed ({side(a, paths)} → {side(b, paths)}): verdicts below follow what could be read"


def diff_subject(old: Subject, new: Subject) -> list[dict[str, Any]]:
    ch = _diff_subject(old, new)
    acc_a, acc_b = _access(old), _access(new)
    if acc_a == acc_b:
        return ch
    # A change of access (a token, or none; a file readable or not) is not a change of the model:
    # what it moves is reported as changed, never as a regression or an improvement.
    for c in ch:
        if c["field"] != "revision" and c["direction"] in ("up", "down"):
            c["direction"] = "changed"
            c["summary"] += " (access changed)"
    return [_change("access", acc_a, acc_b, "changed", _access_summary(acc_a, acc_b)), *ch]


def _diff_subject(old: Subject, new: Subject) -> list[dict[str, Any]]:
    ch: list[dict[str, Any]] = []
    if old.revision != new.revision:
        ch.append(_change("revision", old.revision, new.revision, "changed",
                          f"revision {(old.revision or '?')[:12]} → {(new.revision or '?')[:12]}"))
    if old.status != new.status:
        ch.append(_change("status", old.status, new.status, "changed", f"status {old.status} → {new.status}"))
    if old.score != new.score and old.score is not None and new.score is not None:
        ch.append(_change("score", old.score, new.score, _direction(old.score, new.score),
                          f"score {old.score:g} → {new.score:g}"))
    for dim in sorted(set(old.dimensions) | set(new.dimensions)):
        va: str | None = old.dimensions[dim].verdict if dim in old.dimensions else None
        vb: str | None = new.dimensions[dim].verdict if dim in new.dimensions else None
        if va != vb and va is not None and vb is not None:
            ch.append(_change(f"dimensions.{dim}", va, vb, _direction(va, vb, VERDICT_RANK), f"{dim} {va} → {vb}"))
    for prof, rank, attr in (("mof", MOF_RANK, "mof_class"), ("osaid", OSAID_RANK, "verdict"),
                             ("eu-ai-act", EU_RANK, "verdict")):
        fa, fb = old.frameworks.get(prof), new.frameworks.get(prof)
        if fa is None or fb is None:
            continue
        a, b = getattr(fa, attr) or "none", getattr(fb, attr) or "none"
        if a != b:
            label = "MOF class" if prof == "mof" else prof
            ch.append(_change(f"frameworks.{prof}", a, b, _direction(a, b, rank), f"{label} {a} → {b}"))
    oi_a, oi_b = old.frameworks.get("osai-index"), new.frameworks.get("osai-index")
    if oi_a and oi_b and oi_a.score != oi_b.score and oi_a.score is not None and oi_b.score is not None:
        ch.append(_change("frameworks.osai-index", oi_a.score, oi_b.score, _direction(oi_a.score, oi_b.score),
                          f"OSAI index {oi_a.score:g} → {oi_b.score:g}"))
    fa_ids = {f.id: f for f in old.flags}
    fb_ids = {f.id: f for f in new.flags}
    for fid in sorted(set(fb_ids) - set(fa_ids)):
        ch.append(_change(f"flags.{fid}", None, fid, "down", f"new flag {fid}: {fb_ids[fid].title}"))
    for fid in sorted(set(fa_ids) - set(fb_ids)):
        ch.append(_change(f"flags.{fid}", fid, None, "up", f"flag {fid} cleared"))
    la = old.license.key if old.license else None
    lb = new.license.key if new.license else None
    if la != lb:
        ca = old.license.category if old.license else None
        cb = new.license.category if new.license else None
        ch.append(_change("license", la, lb, _direction(ca, cb, LICENSE_RANK),
                          f"licence {la or 'none'} ({ca or '?'}) → {lb or 'none'} ({cb or '?'})"))
    return ch


def diff_reports(old: Report, new: Report) -> dict[str, Any]:
    """Per model (by repo id): added, removed, changed or unchanged, with the changes."""
    a = {s.repo_id: s for s in old.subjects}
    b = {s.repo_id: s for s in new.subjects}
    models: list[dict[str, Any]] = []
    for rid in sorted(set(a) | set(b), key=str.lower):
        if rid not in a:
            models.append({"repo_id": rid, "state": "added", "changes": [], "revision": b[rid].revision})
        elif rid not in b:
            models.append({"repo_id": rid, "state": "removed", "changes": [], "revision": a[rid].revision})
        else:
            changes = diff_subject(a[rid], b[rid])
            models.append({"repo_id": rid, "state": "changed" if changes else "unchanged", "changes": changes,
                           "revision": b[rid].revision})
    downs = sum(1 for m in models for c in m["changes"] if c["direction"] == "down")
    ups = sum(1 for m in models for c in m["changes"] if c["direction"] == "up")
    return {"old": old.generated_at.isoformat(), "new": new.generated_at.isoformat(), "models": models,
            "regressions": downs, "improvements": ups,
            "added": sum(m["state"] == "added" for m in models),
            "removed": sum(m["state"] == "removed" for m in models)}


_ARROW = {"up": "▲", "down": "▼", "changed": "•"}


def render_terminal(d: dict[str, Any]) -> str:
    lines = [f"openaudit diff: {d['old']} → {d['new']}",
             f"{d['regressions']} regression(s), {d['improvements']} improvement(s), "
             f"{d['added']} new model(s), {d['removed']} removed"]
    for m in d["models"]:
        if m["state"] == "unchanged":
            continue
        lines.append(f"\n{m['repo_id']}  [{m['state']}]")
        for c in m["changes"]:
            lines.append(f"  {_ARROW[c['direction']]} {c['summary']}")
    if not any(m["state"] != "unchanged" for m in d["models"]):
        lines.append("no changes")
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(d: dict[str, Any]) -> str:
    out = [f"# openaudit diff\n\n{d['old']} → {d['new']}: **{d['regressions']} regression(s)**, "
           f"{d['improvements']} improvement(s), {d['added']} new model(s), {d['removed']} removed.\n"]
    changed = [m for m in d["models"] if m["state"] != "unchanged"]
    if not changed:
        out.append("No changes.\n")
        return "\n".join(out)
    out.append("| Model | State | Change | Direction |\n|---|---|---|---|")
    for m in changed:
        if not m["changes"]:
            out.append(f"| `{_md(m['repo_id'])}` | {m['state']} | | |")
        for c in m["changes"]:
            out.append(f"| `{_md(m['repo_id'])}` | {m['state']} | {_md(c['summary'])} | "
                       f"{ {'up': 'more open', 'down': '**less open**', 'changed': 'changed'}[c['direction']]} |")
    return "\n".join(out) + "\n"


def render_json(d: dict[str, Any]) -> str:
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


DIFF_FORMATS = {"terminal": render_terminal, "md": render_markdown, "json": render_json}
