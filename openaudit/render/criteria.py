"""`openaudit criteria list|explain`, rendered from the YAML so the docs cannot drift from the rules."""

from __future__ import annotations

import json

from openaudit.criteria import Criterion, Profile, available_profiles, load_profile
from openaudit.errors import UsageError
from openaudit.flags import load_flags


def render_list(names: list[str] | None = None) -> str:
    lines = []
    for name in names or available_profiles():
        p = load_profile(name)
        lines.append(f"{p.id} {p.version} — {p.title} ({len(p.criteria)} criteria, sha256 {p.sha256[:12]})")
        for c in p.criteria:
            lines.append(f"  {c.id:<14} {c.slug:<34} [{c.dimension}] {c.title}")
        lines.append("")
    flags = load_flags()
    lines.append(f"flags {flags.version}")
    for f in flags.flags:
        lines.append(f"  {f.id:<24} {f.severity:<8} {f.title}")
    return "\n".join(lines)


def _pred(pred: object) -> str:
    return json.dumps(pred, separators=(", ", ": ")) if pred is not None else "otherwise"


def _explain_criterion(p: Profile, c: Criterion) -> str:
    out = [f"{c.id} {c.slug} — {c.title}",
           f"profile: {p.id} {p.version}   dimension: {c.dimension}   severity: {c.severity}   weight: {c.weight}",
           "", f"Question: {c.question}", "", "Outcomes (first rule that holds):"]
    for r in c.rules:
        out.append(f"  {r.then:<14} if {_pred(r.when)}")
        out.append(f"  {'':<14} because: {r.because}")
    out.append("  unknown        when no rule holds, or the evidence could not be read")
    if c.evidence:
        out += ["", f"Evidence used: {', '.join(c.evidence)}"]
    if c.remediation:
        out += ["", f"Remediation: {c.remediation}"]
    if c.references:
        out += ["", "References:", *[f"  {r}" for r in c.references]]
    return "\n".join(out)


def render_explain(cid: str) -> str:
    """One criterion (by id or slug, in any case) or flag explained; an unknown name gets the
    nearest ones as "did you mean"."""
    want = cid.strip().casefold()
    names: list[str] = []
    for name in available_profiles():
        p = load_profile(name)
        for c in p.criteria:
            if want in (c.id.casefold(), c.slug.casefold()):
                return _explain_criterion(p, c)
            names += [c.id, c.slug]
    for f in load_flags().flags:
        if f.id.casefold() == want:
            out = [f"flag {f.id} — {f.title}", f"severity: {f.severity}"]
            if f.lower is not None:
                out.append(f"  ({f.lower.severity} instead when: {_pred(f.lower.when)})")
            if f.description:
                out += ["", f.description.strip()]
            out += ["", f"Fires when: {_pred(f.when)}"]
            if f.because:
                out.append("  and at least one of these holds (each named in the message):")
                out += [f"  - {_pred(b.when)}: “{b.text}”" for b in f.because]
            out += [f"Message: {f.message}", "", f"Remediation: {f.remediation}"]
            return "\n".join(out)
        names.append(f.id)
    import difflib

    from openaudit.repoid import shown

    near = difflib.get_close_matches(want, list(dict.fromkeys(n.casefold() for n in names)), n=3, cutoff=0.6)
    spelt = {n.casefold(): n for n in names}
    hint = f"; did you mean {' or '.join(spelt[n] for n in near)}?" if near else ""
    raise UsageError(f"no criterion or flag '{shown(cid, 80)}'{hint} (all of them: openaudit criteria list)")
