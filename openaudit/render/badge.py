"""SVG badges: "openness 62 · MOF none", one per model, computed from the report.

`--format badge` with one subject writes that badge (stdout or `-o FILE.svg`). With several subjects,
`-o DIR` (any path not ending in .svg) writes one `DIR/<owner>__<name>.svg` per model; the CLI
refuses stdout then (several SVG documents in one stream are no badge). `render` still returns one
badge a line for a caller that asks.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from openaudit.render.html import FILL, subject_views
from openaudit.render.tally import framework_label
from openaudit.report import Report, Subject

LABEL = "openness"
# Approximate advance widths of Verdana 11px (shields.io's font), enough for a stable layout.
_NARROW = set("fijlrt.,:;!|' ()·")
_WIDE = set("mwMW%@")


def text_width(s: str) -> int:
    w = 0.0
    for c in s:
        w += 3.8 if c in _NARROW else 9.6 if c in _WIDE else 8.0 if c.isupper() or c.isdigit() else 6.8
    return round(w)


def tone(score: float | None) -> str:
    """The verdict colour a score is shown in: open from 75, partly open from 25, closed below."""
    if score is None:
        return "unknown"
    if score >= 75:
        return "open"
    if score >= 25:
        return "partial"
    return "closed"


def color(score: float | None) -> str:
    """The badge's colour: the reports' verdict colours (html.FILL), so a badge and a page agree."""
    return FILL[tone(score)]


def message(s: Subject) -> str:
    if s.status == "skipped" or s.score is None:
        return s.status if s.status != "audited" else "unknown"
    msg = f"{s.score:.0f}"
    mof = s.frameworks.get("mof")
    if mof is not None:
        msg += f" · MOF {framework_label(mof)}"  # as the table says it: "Class III", "none"
    if s.status == "incomplete":
        msg += " (incomplete)"
    return msg


def badge_svg(s: Subject) -> str:
    msg = message(s)
    lw, mw = text_width(LABEL) + 12, text_width(msg) + 12
    total = lw + mw
    title = f"{LABEL}: {msg} — {s.repo_id}" + (f"@{s.revision[:12]}" if s.revision else "")
    fill = color(s.score if s.status != "skipped" else None)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" '
        f'aria-label={quoteattr(f"{LABEL}: {msg}")}><title>{escape(title)}</title>'
        f'<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        f'<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{mw}" height="20" fill="{fill}"/>'
        f'<rect width="{total}" height="20" fill="url(#s)"/></g>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        f'font-size="11">'
        f'<text x="{lw / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{LABEL}</text>'
        f'<text x="{lw / 2:.1f}" y="14">{LABEL}</text>'
        f'<text x="{lw + mw / 2:.1f}" y="15" fill="#010101" fill-opacity=".3">{escape(msg)}</text>'
        f'<text x="{lw + mw / 2:.1f}" y="14">{escape(msg)}</text></g></svg>'
    )


def badge_files(report: Report) -> dict[str, str]:
    """One `<owner>__<name>.svg` per subject (a repeated repo gets its revision in the name)."""
    views = subject_views(report, prefixed=False)
    return {f"{v.file_slug}.svg": badge_svg(v.subject) + "\n" for v in views}


def render(report: Report) -> str:
    return "".join(badge_svg(s) + "\n" for s in report.subjects)
