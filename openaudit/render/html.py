"""Self-contained HTML reports (DESIGN §6, §9): one model, or several side by side.

Every page is one file: inline CSS and inline SVG, no external scripts, fonts or images, a strict
Content-Security-Policy, jinja2 autoescape on. Card-derived strings (summaries, pointers,
rationales, flag messages) are untrusted: they are only ever escaped text, and only http(s) URLs
become links. The view model built here (`subject_view`) is shared by the Markdown, site and badge
renderers so every format says the same thing.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

from openaudit.evidence.model import Evidence
from openaudit.render.explain import framework_story, methodology
from openaudit.render.prose import humanize, license_name, short_license_name
from openaudit.report import DimensionResult, FrameworkResult, Report, Subject
from openaudit.vocab import DIMENSIONS, FRAMEWORK_ORDER, VERDICTS

DIM_LABEL = {"weights": "Weights", "code": "Code", "data": "Training data", "license": "Licence",
             "documentation": "Documentation"}
FRAMEWORK_SHORT = {"mof": "MOF", "osaid": "OSAID", "osai-index": "OSAI Index", "eu-ai-act": "EU AI Act"}
VERDICT_LABEL = {"open": "open", "partial": "partly open", "closed": "closed", "unknown": "unknown",
                 "not-applicable": "n/a"}
# The colours of the verdicts (the CSS's --open, --partial, ...): charts, strips and badges use the same four.
FILL = {"open": "#1a7f37", "partial": "#8a5a00", "closed": "#b42318", "unknown": "#57606a", "not-applicable": "#57606a"}
# How a framework verdict reads: good, bad or neutral (colour only; the words are always shown).
_GOOD = ("likely-meets", "likely-exempt", "meets", "exempt")
_BAD = ("likely-fails", "likely-not-exempt", "fails", "not-exempt", "none")

# The leaderboard's only script (inline, its hash in the page's CSP): sorts the table by the clicked
# column (or the "Sort by" choice) on its data-sort values, and filters its rows by a dimension's
# verdict, the licence category and a flag (data-* attributes of each row). Without it the table is
# whole and in score order, and the filter bar stays hidden.
SORT_SCRIPT = (
    "(function(){var t=document.getElementById('leaderboard');if(!t)return;"
    "var tb=t.tBodies[0],ths=t.tHead.rows[0].cells,A=Array.prototype;"
    "function sortBy(col,asc){A.forEach.call(ths,function(h){h.removeAttribute('aria-sort')});"
    "ths[col].setAttribute('aria-sort',asc?'ascending':'descending');"
    "var rows=A.slice.call(tb.rows);rows.sort(function(x,y){var a=x.cells[col].getAttribute('data-sort')||'',"
    "c=y.cells[col].getAttribute('data-sort')||'',na=parseFloat(a),nc=parseFloat(c),"
    "d=(!isNaN(na)&&!isNaN(nc))?na-nc:a.localeCompare(c);return asc?d:-d});"
    "rows.forEach(function(r){tb.appendChild(r)})}"
    "A.forEach.call(ths,function(th,i){var b=th.querySelector('button');if(b)b.addEventListener('click',"
    "function(){sortBy(i,th.getAttribute('aria-sort')!=='ascending')})});"
    "var f=document.getElementById('filters');if(!f)return;f.hidden=false;"
    "function v(n){return f.elements[n].value}"
    "function has(list,x){return (' '+(list||'')+' ').indexOf(' '+x+' ')>=0}"
    "function apply(){var dim=v('dim'),ver=v('verdict'),lic=v('licence'),fl=v('flag'),n=0;"
    "A.forEach.call(tb.rows,function(r){var ok=true;"
    "if(ver)ok=dim?r.getAttribute('data-d-'+dim)===ver:has(r.getAttribute('data-verdicts'),ver);"
    "if(ok&&lic)ok=r.getAttribute('data-licence')===lic;"
    "if(ok&&fl)ok=fl==='none'?!r.getAttribute('data-flags'):has(r.getAttribute('data-flags'),fl);"
    "r.hidden=!ok;if(ok)n++});"
    "document.getElementById('shown').textContent=n+' of '+tb.rows.length+' models shown'}"
    "f.addEventListener('change',function(e){if(e.target.name==='sort'){var p=e.target.value.split(':');"
    "if(p.length===2)sortBy(+p[0],p[1]==='asc')}else apply()});"
    "f.addEventListener('reset',function(){setTimeout(apply,0)})})();"
)


def script_hash(script: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")


def csp(script: str | None = None) -> str:
    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
    if script:
        policy += f"; script-src '{script_hash(script)}'"
    return policy


_URL_UNSAFE = re.compile(r"[\x00-\x20\"'<>\\`]")  # controls, space, quotes, angle brackets, \, `


def safe_url(url: object) -> str | None:
    """The URL if it is a plain http(s) URL, else None (shown as text, never a link). Any value
    may come here (a card's metadata is what its author wrote): only a string can be a link."""
    if type(url) is str:
        return _safe_url(url)
    # A str subclass (a Markup, say) is checked as itself, never answered from the cache as an equal str.
    return _safe_url.__wrapped__(url) if isinstance(url, str) else None


@lru_cache(maxsize=4096)  # the same dataset, paper and licence URLs recur across an organisation's models
def _safe_url(url: str) -> str | None:
    if not url or len(url) > 2048:
        return None
    if _URL_UNSAFE.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "x"


def file_slug(repo_id: str) -> str:
    """owner/name -> owner__name (the store's naming), safe as a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", repo_id.replace("/", "__")).strip(".-") or "model"


def fw_tone(verdict: str) -> str:
    v = verdict.lower()
    if v in _GOOD:
        return "good"
    if v in _BAD:
        return "bad"
    return "neutral"


def words(verdict: str) -> str:
    return verdict.replace("-", " ")


@dataclass
class DimView:
    name: str
    label: str
    verdict: str
    score: float | None
    rationale: str
    anchor: str
    evidence: list[EvidenceView]


@dataclass
class EvidenceView:
    id: str
    anchor: str
    kind: str
    summary: str
    pointer: str
    source: str
    confidence: str
    url: str | None
    raw_url: str | None


@dataclass
class FrameworkView:
    id: str
    short: str
    title: str
    version: str
    verdict: str
    display: str
    tone: str
    score: float | None
    coverage: float | None
    progress: list[tuple[str, float]]
    missing: list[tuple[str, list[str]]]
    reasons: list[str]
    warnings: list[str]
    lead: str = ""  # the first line: why the result is what it is (openaudit.render.explain)
    points: list[str] = field(default_factory=list)


@dataclass
class LineageView:
    svg_width: int
    svg_height: int
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    entries: list[dict[str, Any]]


@dataclass
class SubjectView:
    subject: Subject
    index: int
    prefix: str
    repo_id: str
    revision: str | None
    short_rev: str
    repo_url: str | None
    status: str
    reason: str | None
    score: float | None
    coverage: float | None
    dims: list[DimView]
    dim_by_name: dict[str, DimView]
    frameworks: list[FrameworkView]
    fw_by_id: dict[str, FrameworkView]
    flags: list[dict[str, Any]]
    license: dict[str, Any]
    access: str | None
    gated: bool
    in_short: list[tuple[str, list[str]]]
    not_published: list[dict[str, Any]]
    other_evidence: list[EvidenceView]
    lineage: LineageView | None
    file_slug: str = ""
    evidence_anchor: dict[str, str] = field(default_factory=dict)


def _framework_view(fid: str, fr: FrameworkResult, names: dict[str, str] | None = None) -> FrameworkView:
    display = fr.verdict
    if fid == "mof":
        label = fr.mof_class or ""
        display = (label if label.lower().startswith("class") else f"Class {label}") if label and label != "none" else (
            words(fr.verdict) if fr.verdict != "none" else "no class")
    elif fr.score is not None and fid == "osai-index":
        display = f"{fr.score:.0f}%"
    else:
        display = words(fr.verdict)
    story = framework_story(fid, fr, names)
    tone = fw_tone(fr.mof_class or fr.verdict) if fid == "mof" else fw_tone(fr.verdict)
    if fid == "mof" and fr.mof_class and fr.mof_class != "none":
        tone = "good"
    return FrameworkView(id=fid, short=FRAMEWORK_SHORT.get(fid, fr.title or fid), title=fr.title or fid,
                         version=fr.version, verdict=fr.verdict, display=display, tone=tone, score=fr.score,
                         coverage=fr.coverage,
                         progress=[(k, max(0.0, min(100.0, float(v)))) for k, v in fr.progress.items()],
                         missing=[(k, [humanize(m, names) for m in v]) for k, v in fr.missing.items() if v],
                         reasons=[humanize(r, names) for r in fr.reasons],
                         warnings=[humanize(w, names) for w in fr.warnings], lead=story.lead, points=story.points)


def _ev_view(e: Evidence, anchor: str, names: dict[str, str] | None = None) -> EvidenceView:
    return EvidenceView(id=e.id, anchor=anchor, kind=e.kind, summary=humanize(e.summary, names) or e.kind,
                        pointer=e.pointer, source=e.source, confidence=e.confidence, url=safe_url(e.url), raw_url=e.url)


def _lineage_view(s: Subject) -> LineageView | None:
    if not s.lineage:
        return None
    node_w, node_h, gap_x, gap_y = 230, 40, 24, 46
    levels: dict[int, list[str]] = {0: [s.repo_id]}
    info: dict[str, dict[str, Any]] = {s.repo_id: {"found": True, "subject": True}}
    # A base that was not looked up (a local folder's, offline or the Hub unreachable) is "not checked".
    unchecked = {e.value.get("id") for e in s.evidence if e.kind == "lineage.base_model"
                 and isinstance(e.value, dict) and e.value.get("checked") is False}
    alias: dict[str, str] = {s.repo_id: s.repo_id}
    for entry in sorted(s.lineage, key=lambda x: x.depth):
        name = entry.canonical_id or entry.id
        alias[entry.id] = name
        if name not in info:
            info[name] = {"found": entry.found, "subject": False,
                          "missing": "not checked" if entry.id in unchecked else "not found"}
            levels.setdefault(max(1, entry.depth), []).append(name)
    edges_raw = []
    for entry in s.lineage:
        child = alias.get(entry.child or "", entry.child) if entry.child else s.repo_id
        if child not in info:
            child = s.repo_id
        edges_raw.append((alias[entry.id], child, entry.relation or "base", entry.via))
    depth_max = max(levels)
    cols = max(len(v) for v in levels.values())
    width = cols * node_w + (cols - 1) * gap_x + 2
    height = (depth_max + 1) * node_h + depth_max * gap_y + 2
    pos: dict[str, tuple[int, int]] = {}
    nodes = []
    for depth, names in levels.items():
        row_w = len(names) * node_w + (len(names) - 1) * gap_x
        x0 = (width - row_w) // 2
        y = (depth_max - depth) * (node_h + gap_y) + 1
        for i, name in enumerate(names):
            x = x0 + i * (node_w + gap_x)
            pos[name] = (x, y)
            label = name if len(name) <= 32 else name[:31] + "…"
            nodes.append({"x": x, "y": y, "w": node_w, "h": node_h, "label": label, "name": name,
                          "found": info[name]["found"], "subject": info[name]["subject"],
                          "missing": info[name].get("missing", "not found")})
    edges = []
    for base, child, relation, via in edges_raw:
        if base not in pos or child not in pos or base == child:
            continue
        bx, by = pos[base]
        cx, cy = pos[child]
        x1, y1, x2, y2 = bx + node_w // 2, by + node_h, cx + node_w // 2, cy
        edges.append({"x1": x1, "y1": y1, "x2": x2, "y2": y2 - 2, "lx": (x1 + x2) // 2 + 6,
                      "ly": (y1 + y2) // 2 + 4, "label": relation, "via": via})
    entries = [{"id": e.id, "canonical_id": e.canonical_id, "relation": e.relation, "via": e.via,
                "depth": e.depth, "found": e.found, "child": e.child or s.repo_id,
                "missing": "not checked" if e.id in unchecked else "not found"} for e in s.lineage]
    return LineageView(svg_width=width, svg_height=height, nodes=nodes, edges=edges, entries=entries)


def _is_spdx(key: str) -> bool:
    from openaudit.licenses.kb import library_knows

    return library_knows(key) == "spdx"


def _facts(key: str | None) -> Any:
    try:
        from openaudit.licenses.kb import facts_for

        return facts_for(key)
    except Exception:
        return None


def restriction_words(restriction: str, facts: Any = None) -> str:
    """A licence restriction id ("user-cap") as the words a reader knows it by."""
    from openaudit.licenses.describe import restriction_phrase

    return restriction_phrase(restriction, facts)


def _ev_label(e: Evidence, names: dict[str, str] | None = None) -> str:
    """A link's text for a piece of evidence: where it is (a file and line, a metadata key), else what it says."""
    text = e.pointer if e.pointer and len(e.pointer) <= 60 else humanize(e.summary, names)
    return text if len(text) <= 70 else text[:69] + "…"


def _license_names(s: Subject) -> dict[str, str]:
    """The subject's own licence key -> its name, for humanize (it may be a ScanCode key the knowledge
    base lacks); only a key that reads as one ("other-permissive"), never a word that prose uses
    ("other"), and never an SPDX id ("Apache-2.0"), which reads as a name already."""
    key = s.license.key if s.license is not None else None
    return ({key: s.license.name} if s.license is not None and key and s.license.name and "-" in key
            and len(key) >= 8 and not _is_spdx(key) else {})


def _dims_and_other(s: Subject, ev_by_id: dict[str, Evidence], lic_names: dict[str, str], prefix: str
                    ) -> tuple[list[DimView], list[EvidenceView], dict[str, str]]:
    """The dimensions with their evidence, the evidence no dimension cites, and every evidence's anchor:
    a piece gets its anchor where it is first shown, so that a link always lands on it."""
    anchors: dict[str, str] = {}
    dims: list[DimView] = []
    placed: set[str] = set()
    names = [d for d in DIMENSIONS if d in s.dimensions] + sorted(set(s.dimensions) - set(DIMENSIONS))
    for d in names:
        res: DimensionResult = s.dimensions[d]
        evs = []
        for eid in res.evidence:
            e = ev_by_id.get(eid)
            if e is None or eid in placed:
                if e is not None:
                    evs.append(_ev_view(e, anchors[eid], lic_names))
                continue
            placed.add(eid)
            anchors[eid] = f"{prefix}ev-{slug(eid)}"
            evs.append(_ev_view(e, anchors[eid], lic_names))
        dims.append(DimView(name=d, label=DIM_LABEL.get(d, d.replace("_", " ").capitalize()), verdict=res.verdict,
                            score=res.score, rationale=humanize(res.rationale, lic_names),
                            anchor=f"{prefix}dim-{slug(d)}", evidence=evs))
    other = []
    for e in s.evidence:
        if e.id not in placed:
            placed.add(e.id)
            anchors[e.id] = f"{prefix}ev-{slug(e.id)}"
            other.append(_ev_view(e, anchors[e.id], lic_names))
    return dims, other, anchors


def _ev_links(ids: list[str], anchors: dict[str, str], ev_by_id: dict[str, Evidence],
              lic_names: dict[str, str]) -> list[tuple[str, str]]:
    """(what the evidence is, its anchor): a reader follows a pointer, not an id."""
    out: dict[str, str] = {}
    for eid in ids:
        if eid in anchors and eid in ev_by_id:
            out.setdefault(_ev_label(ev_by_id[eid], lic_names), anchors[eid])
    return list(out.items())


def _license_view(s: Subject, lic_names: dict[str, str]) -> dict[str, Any]:
    """The licence as a page shows it: its name, a short name for tight places, and its restrictions in words."""
    lic = s.license
    if lic is None:
        return {"name": None, "key": None, "category": "unknown", "restrictions": [], "description": "",
                "short": "?"}
    facts = _facts(lic.key)
    return {"name": license_name(lic.key, lic.name), "key": lic.key, "category": lic.category,
            "short": short_license_name(lic.key, lic.name),
            "restrictions": [restriction_words(r, facts) for r in lic.restrictions],
            "description": humanize(lic.description, lic_names), "source": lic.source}


def _access_view(s: Subject) -> tuple[bool, str | None]:
    """(gated, a sentence on who can download): None when the Hub was not asked."""
    gated_ev = next((e for e in s.evidence if e.kind == "access.gated"), None)
    gated = bool(gated_ev is not None and gated_ev.value not in (False, None, "", "false"))
    access = None
    if gated_ev is not None:
        access = (f"gated ({gated_ev.value}): users must accept terms before downloading" if gated
                  else "no gate: anyone can download")
    return gated, access


def _in_short(dims: list[DimView]) -> list[tuple[str, list[str]]]:
    """The dimensions grouped by verdict, in verdict order: the one-line summary a reader sees first."""
    groups: dict[str, list[str]] = {}
    for dv in dims:
        groups.setdefault(dv.verdict, []).append(dv.label.lower())
    return [(VERDICT_LABEL.get(v, v), groups[v]) for v in VERDICTS if v in groups]


def _not_published(s: Subject, anchors: dict[str, str], ev_by_id: dict[str, Evidence],
                   lic_names: dict[str, str]) -> list[dict[str, Any]]:
    """The criteria found closed or unknown, each once, openaudit's own and closed ones first: what is missing."""
    out = []
    seen: set[tuple[str, str]] = set()
    for f in s.findings:
        if f.outcome not in ("closed", "unknown") or (f.profile, f.criterion) in seen:
            continue
        seen.add((f.profile, f.criterion))
        out.append({"profile": f.profile, "criterion": f.criterion, "title": f.title,
                    "outcome": f.outcome, "rationale": humanize(f.rationale, lic_names),
                    "dimension": f.dimension, "evidence": _ev_links(f.evidence, anchors, ev_by_id, lic_names)})
    out.sort(key=lambda x: (x["profile"] != "openaudit", x["outcome"] != "closed"))
    return out


def subject_view(s: Subject, index: int = 0, prefix: str = "") -> SubjectView:
    """Everything a page shows about one subject, in display order, computed from the report only."""
    ev_by_id = {e.id: e for e in s.evidence}
    lic_names = _license_names(s)
    dims, other, anchors = _dims_and_other(s, ev_by_id, lic_names, prefix)
    fids = [f for f in FRAMEWORK_ORDER if f in s.frameworks] + sorted(set(s.frameworks) - set(FRAMEWORK_ORDER))
    frameworks = [_framework_view(f, s.frameworks[f], lic_names) for f in fids]
    flags = [{"id": f.id, "title": f.title, "severity": f.severity, "message": humanize(f.message, lic_names),
              "evidence": _ev_links(f.evidence, anchors, ev_by_id, lic_names)} for f in s.flags]
    gated, access = _access_view(s)
    rev = s.revision
    repo_url = None
    if s.source != "localdir" and "/" in s.repo_id:  # a folder's "local/<name>" is no Hub repo
        repo_url = safe_url(f"https://huggingface.co/{s.repo_id}" + (f"/tree/{rev}" if rev else ""))
    return SubjectView(subject=s, index=index, prefix=prefix, repo_id=s.repo_id, revision=rev,
                       short_rev=(rev or "")[:12], repo_url=repo_url, status=s.status, reason=s.reason,
                       score=s.score, coverage=s.coverage, dims=dims, dim_by_name={d.name: d for d in dims},
                       frameworks=frameworks, fw_by_id={f.id: f for f in frameworks}, flags=flags,
                       license=_license_view(s, lic_names), access=access, gated=gated, in_short=_in_short(dims),
                       not_published=_not_published(s, anchors, ev_by_id, lic_names), other_evidence=other,
                       lineage=_lineage_view(s), file_slug=file_slug(s.repo_id), evidence_anchor=anchors)


def subject_views(report: Report, prefixed: bool) -> list[SubjectView]:
    views = []
    used: set[str] = set()
    for i, s in enumerate(report.subjects):
        p = f"m{i + 1}-{slug(s.repo_id)}-" if prefixed else ""
        views.append(subject_view(s, i, p))
        fs = views[-1].file_slug
        if fs in used:  # the same repo at two revisions
            fs = f"{fs}@{(s.revision or str(i))[:12]}"
            views[-1].file_slug = file_slug(fs)
        used.add(views[-1].file_slug)
    return views


def all_framework_columns(views: Sequence[SubjectView] | Sequence[ColumnView]) -> list[tuple[str, str]]:
    shorts: dict[str, str] = {}
    for v in views:
        for fid, f in v.fw_by_id.items():
            shorts.setdefault(fid, f.short)
    return framework_columns(shorts)


def framework_columns(shorts: dict[str, str]) -> list[tuple[str, str]]:
    """(id, short title) of every framework a report's models name, in the usual order; `shorts`: each
    id and its title in the first model naming it."""
    ids = [fid for fid in FRAMEWORK_ORDER if fid in shorts]
    extra = sorted(set(shorts) - set(FRAMEWORK_ORDER))
    return [(fid, shorts[fid]) for fid in (*ids, *extra)]


# Bidi overrides/isolates (Trojan-Source style spoofing) and C0 controls other than tab/newline are
# shown as visible code points instead of being passed to the browser.
_INVISIBLE = {c: f"<U+{c:04X}>" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F,
                                          *(i for i in range(0x20) if i not in (9, 10, 13)), 0x7F)}


_INVISIBLE_RE = re.compile("[" + "".join(re.escape(chr(c)) for c in _INVISIBLE) + "]")


def _visible(value: Any) -> Any:
    # Every value a template prints passes here (~500 a model): most have no such character, and a
    # search finds that several times faster than translate() copies the string.
    if type(value) is str and _INVISIBLE_RE.search(value):
        return value.translate(_INVISIBLE)
    return value


@cache
def environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("openaudit.render", "templates"),
                      autoescape=select_autoescape(enabled_extensions=("html", "svg", "xml"), default=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      finalize=_visible)
    env.globals.update(DIM_LABEL=DIM_LABEL, VERDICT_LABEL=VERDICT_LABEL, FRAMEWORK_SHORT=FRAMEWORK_SHORT, words=words,
                       FILL=FILL)
    env.filters["pct"] = lambda v: "—" if v is None else f"{float(v):.0f}"
    env.filters["score100"] = lambda v: "—" if v is None else f"{float(v) * 100:.0f}"
    return env


def _common(report: Report) -> dict[str, Any]:
    return {"report": report, "generated": report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
            "tool": report.tool, "profiles": report.profiles}


def render_single(report: Report, subject_index: int = 0, back_href: str | None = None,
                  method_href: str | None = None) -> str:
    """One model's page; `method_href`: link to a methodology page instead of embedding "How this is scored"."""
    view = subject_view(report.subjects[subject_index])
    return environment().get_template("single.html").render(
        v=view, csp=csp(None), back_href=back_href, method_href=method_href, method=methodology(),
        **_common(report))


@dataclass(frozen=True, slots=True)
class _DimCell:
    """A dimension's cell in the comparison's table (what it reads of a `DimView`)."""

    verdict: str
    rationale: str
    anchor: str


@dataclass(frozen=True, slots=True)
class _FrameworkCell:
    """A framework's cell in the comparison's table (what it reads of a `FrameworkView`)."""

    short: str
    tone: str
    display: str
    lead: str
    score: float | None = None


@dataclass(frozen=True, slots=True)
class _FlagCell:
    id: str
    title: str
    severity: str


@dataclass(frozen=True, slots=True)
class _LicenseCell:
    name: str | None
    category: str | None
    restrictions: tuple[str, ...]
    short: str | None = None


def _i(s: str) -> str:
    """Interned: the same words in many models' cells (verdicts, tones, common rationales) held once."""
    return sys.intern(s) if isinstance(s, str) else s


@dataclass(frozen=True, slots=True)
class ColumnView:
    """What the comparison's table reads of one model (~5 KB, with slots, and words shared between
    models interned): its cells are rendered from it (`Column.of`), and the site's index keeps one for
    each model (`site.IndexRow`) until every model is seen."""

    prefix: str
    repo_id: str
    short_rev: str
    status: str
    reason: str | None
    score: float | None
    flags: tuple[_FlagCell, ...]
    dim_by_name: dict[str, _DimCell]
    license: _LicenseCell
    access: str | None
    gated: bool
    fw_by_id: dict[str, _FrameworkCell]

    @classmethod
    def of(cls, v: SubjectView) -> ColumnView:
        lic = v.license
        return cls(prefix=v.prefix, repo_id=v.repo_id, short_rev=v.short_rev, status=_i(v.status), reason=v.reason,
                   score=v.score,
                   flags=tuple(_FlagCell(_i(f["id"]), _i(f["title"]), _i(f["severity"])) for f in v.flags),
                   dim_by_name={_i(k): _DimCell(_i(d.verdict), _i(d.rationale), d.anchor)
                                for k, d in v.dim_by_name.items()},
                   license=_LicenseCell(lic.get("name"), lic.get("category"),
                                        tuple(lic.get("restrictions") or ()), lic.get("short")),
                   access=v.access, gated=v.gated,
                   fw_by_id={_i(k): _FrameworkCell(_i(f.short), _i(f.tone), _i(f.display), _i(f.lead), f.score)
                             for k, f in v.fw_by_id.items()})

    def prefixed(self, prefix: str, cut: int) -> ColumnView:
        """The same cells with another prefix: the first `cut` characters of each anchor (the old prefix) dropped."""
        return replace(self, prefix=prefix,
                       dim_by_name={k: replace(d, anchor=prefix + d.anchor[cut:]) for k, d in self.dim_by_name.items()})


@dataclass(frozen=True, slots=True)
class _Verdict:
    verdict: str
    mof_class: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (_verdict, (self.verdict, self.mof_class))  # unpickled as the one shared instance


@dataclass(frozen=True, slots=True)
class _Id:
    id: str

    def __reduce__(self) -> tuple[Any, ...]:
        return (_flag_id, (self.id,))


# A few distinct values, one instance each: every model's `TallyRow` waits for the table until the last
# model is seen, and shares them (a verdict object for each of ~10 results of each model cost ~2 KB a model).
@lru_cache(maxsize=4096)
def _verdict(verdict: str, mof_class: str | None = None) -> _Verdict:
    return _Verdict(verdict, mof_class)


@lru_cache(maxsize=4096)
def _flag_id(fid: str) -> _Id:
    return _Id(fid)


@dataclass(frozen=True, slots=True)
class TallyRow:
    """What `tally` counts of one subject, without its evidence and findings."""

    status: str
    dimensions: dict[str, _Verdict]
    frameworks: dict[str, _Verdict]
    flags: tuple[_Id, ...]

    @classmethod
    def of(cls, s: Subject) -> TallyRow:
        return cls(status=_i(s.status), dimensions={_i(d): _verdict(r.verdict) for d, r in s.dimensions.items()},
                   frameworks={_i(f): _verdict(r.verdict, r.mof_class) for f, r in s.frameworks.items()},
                   flags=tuple(_flag_id(f.id) for f in s.flags))


_CHUNK = 1 << 16


def _encoded(parts: Iterable[str]) -> Iterator[bytes]:
    """Jinja's many small strings as UTF-8 chunks of about 64 KB."""
    buf: list[str] = []
    size = 0
    for part in parts:
        buf.append(part)
        size += len(part)
        if size >= _CHUNK:
            yield "".join(buf).encode("utf-8")
            buf, size = [], 0
    if buf:
        yield "".join(buf).encode("utf-8")


# The comparison table's rows, in the page's order, by key (comparison_cells.html has a macro for each);
# a row for each framework ("fw:" + its id) follows them.
_TABLE_ROWS = ("title", "head", "score", "flags", *(f"dim:{d}" for d in DIMENSIONS), "licence", "download")


@cache
def _cell_macros() -> Any:
    return environment().get_template("comparison_cells.html").module


@dataclass(frozen=True, slots=True)
class Column:
    """One model's column of the comparison's table, rendered: its cell in each row (by row key; "title"
    is its name in the page's title, "fw:<id>" its cell in a framework's row, only for the frameworks it
    has), each framework's short title, and what the page's counts read of it."""

    cells: dict[str, str]
    shorts: dict[str, str]
    counted: TallyRow

    @classmethod
    def of(cls, v: SubjectView) -> Column:
        col = ColumnView.of(v)  # what the table read of each model, so each cell says what it said
        m = _cell_macros()
        cells = {"title": str(m.title(col)), "head": str(m.head(col)), "score": str(m.score(col)),
                 "flags": str(m.flags(col))}
        for d in DIMENSIONS:
            cells[f"dim:{d}"] = str(m.dim(col, d))
        cells["licence"] = str(m.licence(col))
        cells["download"] = str(m.download(col))
        for fid in col.fw_by_id:
            cells[f"fw:{fid}"] = str(m.framework(col, fid))
        return cls(cells=cells, shorts={fid: f.short for fid, f in col.fw_by_id.items()},
                   counted=TallyRow.of(v.subject))


@cache
def _no_framework_cell() -> str:
    """A framework's cell for a model without it."""
    return str(_cell_macros().framework({"fw_by_id": {}}, ""))


# Each row's spool stays in memory up to this size, then goes to a temporary file (a library caller's few
# models never touch the disk; an organisation's table costs this much memory a row at most).
_ROW_IN_MEMORY = 1 << 16


class _Table:
    """The comparison's table, one model's column at a time: each row's cells appended to that row's
    spool as each model is read, and only counters kept (how many models, how many flagged, each
    framework's short title, the verdict counts), so memory stays flat in the number of models. The
    rows are read back, in chunks, when the page is written."""

    def __init__(self, files: ExitStack) -> None:
        from openaudit.render.tally import Counts

        self.files = files  # closes the spools
        self.count = 0
        self.flagged = 0
        self.shorts: dict[str, str] = {}
        self.counts = Counts()
        self.rows: dict[str, tempfile.SpooledTemporaryFile[bytes]] = {}
        for key in _TABLE_ROWS:
            self.rows[key] = self._spool()

    def _spool(self) -> tempfile.SpooledTemporaryFile[bytes]:
        return self.files.enter_context(tempfile.SpooledTemporaryFile(_ROW_IN_MEMORY))

    def add(self, col: Column) -> None:
        cells = col.cells
        for fid, short in col.shorts.items():
            if fid not in self.shorts:  # a framework first seen now: the models before it lack it
                self.shorts[fid] = short
                spool = self.rows[f"fw:{fid}"] = self._spool()
                if self.count:
                    missing = _no_framework_cell().encode("utf-8")
                    for _ in range(self.count):
                        spool.write(missing)
        for key, spool in self.rows.items():
            cell = cells.get(key)
            if cell is None:  # a framework this model lacks
                cell = _no_framework_cell()
            elif key == "title" and self.count:
                cell = " vs " + cell
            spool.write(cell.encode("utf-8"))
        self.count += 1
        self.flagged += bool(col.counted.flags)
        self.counts.add(col.counted)

    def read(self, key: str) -> Iterator[Any]:
        """A row's text as it was appended, in chunks (markup: rendered with autoescape)."""
        return _read_back(self.rows[key])


def _read_back(spool: Any) -> Iterator[Any]:
    """A spool's UTF-8 text from its start, in chunks of about 64 KB (a character split between two
    reads is held for the next), as markup: it was rendered with autoescape."""
    import codecs

    from markupsafe import Markup

    spool.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    while data := spool.read(_CHUNK):
        text = decoder.decode(data)
        if text:
            yield Markup(text)
    text = decoder.decode(b"", final=True)
    if text:
        yield Markup(text)


@dataclass(frozen=True)
class Pieces:
    """One model's part of the comparison page, made where it was audited (an audit worker,
    `audit.audit_packed`): its section and its column of the table (`Column`), rendered with `marker`
    standing for the model's number in the report (unknown there; a random token no card can hold), each
    compressed. The page is then these copied in order: the sections one after another, each cell
    appended to its row."""

    section: bytes
    marker: str
    # The `Column` pickled and compressed: its cells are text, and wait in the run's store until the
    # model's turn comes after the last audit.
    table: bytes

    @classmethod
    def of(cls, s: Subject) -> Pieces:
        import pickle
        import secrets
        import zlib

        marker = f"n{secrets.token_hex(16)}"
        v = subject_view(s, 0, _prefix(marker, s.repo_id))
        section = environment().get_template("comparison_section.html").render(v=v)
        return cls(section=zlib.compress(section.encode("utf-8"), 1), marker=marker,
                   table=zlib.compress(pickle.dumps(Column.of(v), pickle.HIGHEST_PROTOCOL), 1))

    def section_for(self, number: int) -> bytes:
        import zlib

        return zlib.decompress(self.section).replace(self.marker.encode("ascii"), str(number).encode("ascii"))

    def column_for(self, number: int) -> Column:
        """The model's column of the table, its anchors carrying its number."""
        import pickle
        import zlib

        col: Column = pickle.loads(zlib.decompress(self.table))  # made by this run's own worker
        number_text = str(number)
        return replace(col, cells={k: c.replace(self.marker, number_text) for k, c in col.cells.items()})


def _prefix(number: str, repo_id: str) -> str:
    return f"m{number}-{slug(repo_id)}-"


def comparison_chunks(report: Report, subjects: Iterable[Subject] | None = None) -> Iterator[bytes]:
    """The comparison page as UTF-8 chunks, one model at a time: each subject (decoded from a packed
    store as it is reached) is rendered into its section, which goes to a temporary file, and its
    column of the table, whose cells go to their rows' spools (`_Table`); only counters are kept. The
    page (title, counts, the table's rows, then the sections copied back in order) is written once every
    model has been seen. Memory stays flat in the number of models. `subjects`: the report's, unless
    given (any iterable, read once)."""
    env = environment()
    section = env.get_template("comparison_section.html")
    with ExitStack() as files:
        table = _Table(files)
        spool = files.enter_context(tempfile.TemporaryFile())
        from openaudit.subjects import as_packed

        for i, item in enumerate(as_packed(report.subjects) if subjects is None else subjects):
            made = (getattr(item, "pieces", None) or {}).get("html")
            if isinstance(made, Pieces):  # rendered where it was audited: copied, nothing decoded
                data = made.section_for(i + 1)
                table.add(made.column_for(i + 1))
            else:
                s = item if isinstance(item, Subject) else item.subject()
                v = subject_view(s, i, _prefix(str(i + 1), s.repo_id))
                data = section.render(v=v).encode("utf-8")
                table.add(Column.of(v))
                del v, s  # the next subject is decoded with this one already freed
            spool.write(data)
            del item, data
        rows = {key: table.read(key) for key in table.rows}
        page = env.get_template("comparison.html").generate(
            rows=rows, count=table.count, flagged=table.flagged, sections=_read_back(spool),
            fw_cols=framework_columns(table.shorts), dims=DIMENSIONS, csp=csp(None),
            tally=table.counts.tally(), method_href=None, method=methodology(), **_common(report))
        yield from _encoded(page)


def render_comparison(report: Report) -> str:
    return b"".join(comparison_chunks(report)).decode("utf-8")


def render(report: Report) -> str:
    """One subject: the single-model page; several: the side-by-side comparison."""
    if len(report.subjects) == 1:
        return render_single(report)
    return render_comparison(report)


def render_chunks(report: Report) -> Iterator[bytes]:
    """`render` as UTF-8 chunks, written as they come (what the CLI writes): an organisation's page is
    never held whole in memory, nor more than one of its subjects decoded."""
    if len(report.subjects) == 1:
        yield render_single(report).encode("utf-8")
        return
    yield from comparison_chunks(report)
