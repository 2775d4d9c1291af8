"""Markdown for PR comments and GitHub step summaries: the HTML report's content, compact.

Every card-derived string is escaped (Markdown punctuation, HTML, table pipes, newlines, @mentions);
only http(s) URLs become links.
"""

from __future__ import annotations

from openaudit.render.html import (
    DIM_LABEL,
    DIMENSIONS,
    FRAMEWORK_SHORT,
    VERDICT_LABEL,
    SubjectView,
    all_framework_columns,
    safe_url,
    subject_views,
)
from openaudit.render.tally import Tally, tally
from openaudit.report import Report
from openaudit.textsafe import markdown

ICON = {"open": "🟢", "partial": "🟡", "closed": "🔴", "unknown": "⚪", "not-applicable": "⚪"}
TONE_ICON = {"good": "🟢", "bad": "🔴", "neutral": "⚪"}
esc = markdown  # plain text that renders as itself in GitHub Markdown (openaudit.textsafe)


def link(text: str, url: str | None) -> str:
    u = safe_url(url)
    if not u:
        return text
    u = u.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
    return f"[{text}]({u})"


def verdict(v: str) -> str:
    return f"{ICON.get(v, '')} {VERDICT_LABEL.get(v, v)}".strip()


def _comparison(views: list[SubjectView]) -> list[str]:
    fws = all_framework_columns(views)
    head = ["model", "score", *[DIM_LABEL[d] for d in DIMENSIONS], "licence terms", *[t for _, t in fws], "flags"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for v in views:
        row = [f"**{esc(v.repo_id)}**" + ("" if v.status == "audited" else f" ({v.status})"),
               "—" if v.score is None else f"{v.score:.0f}"]
        for d in DIMENSIONS:
            dv = v.dim_by_name.get(d)
            row.append(verdict(dv.verdict) if dv else "—")
        lic = v.license
        row.append(esc(lic["name"] or "?", 60) + (f" ({esc(lic['category'])})" if lic["name"] else "")
                   + (" · gated" if v.gated else ""))
        for fid, _ in fws:
            f = v.fw_by_id.get(fid)
            row.append(f"{TONE_ICON[f.tone]} {esc(f.display)}" if f else "—")
        row.append(", ".join(esc(f["id"]) for f in v.flags) or "—")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _tally(t: Tally) -> list[str]:
    """The comparison summed up: how many models got each verdict, and each framework result."""
    status = ", ".join(f"{n} {k}" for k, n in t.status)
    out = [f"**In numbers:** {t.models} models ({status}).", ""]
    for d, counts in t.dimensions:
        out.append(f"- **{DIM_LABEL[d]}:** " + " · ".join(f"{verdict(k)} {n}" for k, n in counts))
    for f, summed in t.frameworks:
        out.append(f"- **{esc(FRAMEWORK_SHORT.get(f, f))}:** {esc(summed)}")
    if t.flagged:
        out.append(f"- **Flags:** {t.flagged} of {t.models} models: " + " · ".join(f"{esc(k)} {n}" for k, n in t.flags))
    return out


def _subject(v: SubjectView, level: str) -> list[str]:
    out = [f"{level} {esc(v.repo_id)}", ""]
    meta = link(f"`{v.short_rev}`", v.repo_url) if v.short_rev else ""
    score = "—" if v.score is None else f"{v.score:.0f}/100"
    out.append(f"Openness score **{score}** · {v.status}" + (f" · at {meta}" if meta else ""))
    out.append("")
    if v.reason:
        out += [f"> **{'Not audited' if v.status == 'skipped' else 'Incomplete'}:** {esc(v.reason)}", ""]
    for f in v.flags:
        mark = "⛔" if f["severity"] == "error" else "⚠️"
        out.append(f"- {mark} **{esc(f['title'])}**: {esc(f['message'], 400)}")
    if v.flags:
        out.append("")
    if v.in_short:
        parts = [f"**{label.capitalize()}:** {', '.join(names)}" for label, names in v.in_short]
        lic = v.license
        if lic["name"]:
            parts.append(f"**Licence:** {esc(lic['name'], 80)} ({esc(lic['category'])}"
                         + (", with use restrictions" if lic["restrictions"] else "") + ")")
        if v.access:
            parts.append(f"**Download:** {esc(v.access)}")
        out += ["; ".join(parts) + ".", ""]
    if v.dims:
        out += ["| dimension | verdict | why | evidence |", "|---|---|---|---|"]
        for d in v.dims:
            evs = ", ".join(link(esc(e.pointer, 60), e.url) for e in d.evidence[:4]) or "—"
            if len(d.evidence) > 4:
                evs += f" (+{len(d.evidence) - 4})"
            out.append(f"| {d.label} | {verdict(d.verdict)} | {esc(d.rationale, 300)} | {evs} |")
        out.append("")
    if v.frameworks:
        out += ["| framework | result | notes |", "|---|---|---|"]
        for fw in v.frameworks:
            notes = "; ".join(esc(r, 160) for r in fw.reasons[:2])
            if fw.progress:
                notes = (notes + "; " if notes else "") + ", ".join(f"{esc(k)} {p:.0f}%" for k, p in fw.progress)
            out.append(f"| {esc(fw.title)} | {TONE_ICON[fw.tone]} {esc(fw.display)} | {notes or '—'} |")
        out.append("")
    if v.lineage:
        chain = "; ".join(f"{esc(e['child'])} ← {esc(e['relation'] or 'derived', 30)} ← "
                          f"{esc(e['canonical_id'] or e['id'])}" + ("" if e["found"] else " (not found)")
                          for e in v.lineage.entries)
        out += [f"**Lineage:** {chain}", ""]
    if v.not_published:
        out += ["<details><summary>What was not published (or could not be found)</summary>", ""]
        for f in v.not_published:
            out.append(f"- {verdict(f['outcome'])} **{esc(f['title'])}** ({esc(f['profile'])} "
                       f"{esc(f['criterion'])}): {esc(f['rationale'], 300)}")
        out += ["", "</details>", ""]
    return out


def render(report: Report) -> str:
    views = subject_views(report, prefixed=False)
    gen = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = ["## openaudit: what was actually published", ""]
    if len(views) > 1:
        lines += [*_comparison(views), ""]
    summed = tally([v.subject for v in views])
    if summed:
        lines += [*_tally(summed), ""]
    for v in views:
        lines += _subject(v, "###")
    lines.append(f"<sub>Generated {gen} by openaudit {esc(report.tool.version)}; each verdict rests on the "
                 "evidence linked at the pinned commit. An assessment, not legal advice.</sub>")
    return "\n".join(lines).rstrip("\n") + "\n"
