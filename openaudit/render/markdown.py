"""Markdown for PR comments and GitHub step summaries: the HTML report's content, compact.

Every card-derived string is escaped (Markdown punctuation, HTML, table pipes, newlines, @mentions);
only http(s) URLs become links.
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from openaudit.render.explain import methodology
from openaudit.render.html import (
    DIM_LABEL,
    DIMENSIONS,
    FRAMEWORK_SHORT,
    VERDICT_LABEL,
    SubjectView,
    TallyRow,
    framework_columns,
    safe_url,
    subject_view,
)
from openaudit.render.tally import Counts, Tally
from openaudit.report import Report, Subject
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


def _row(v: SubjectView) -> tuple[list[str], dict[str, str], str]:
    """One model's row of the comparison table: the cells before the framework columns, its framework
    cells (by id; the columns are known once every model is seen) and its flags cell."""
    row = [f"**{esc(v.repo_id)}**" + ("" if v.status == "audited" else f" ({v.status})"),
           "—" if v.score is None else f"{v.score:.0f}"]
    for d in DIMENSIONS:
        dv = v.dim_by_name.get(d)
        cell = verdict(dv.verdict) if dv else "—"
        if d == "license":  # one licence column: the verdict, then the licence's short name and category
            lic = v.license
            cell += ": " + (esc(lic["short"], 60) + f" ({esc(lic['category'])})" if lic["name"] else "?")
            cell += " · gated" if v.gated else ""
        row.append(cell)
    fws = {fid: f"{TONE_ICON[f.tone]} {esc(f.display)}" for fid, f in v.fw_by_id.items()}
    return row, fws, ", ".join(esc(f["id"].replace("-", " ")) for f in v.flags) or "—"


def _comparison(rows: list[tuple[list[str], dict[str, str], str]], fws: list[tuple[str, str]]) -> list[str]:
    head = ["model", "score", *[DIM_LABEL[d] for d in DIMENSIONS], *[t for _, t in fws], "flags"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for cells, fw_cells, flags in rows:
        row = [*cells, *(fw_cells.get(fid, "—") for fid, _ in fws), flags]
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
        mark = {"error": "⛔", "note": "ℹ️"}.get(f["severity"], "⚠️")
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
            # The reason first (what blocks the class, which parameters drove the percentage), then
            # the first point under it.
            notes = esc(fw.lead, 300)
            if fw.points:
                notes += " " + esc(fw.points[0], 200)
            out.append(f"| {esc(fw.title)} | {TONE_ICON[fw.tone]} {esc(fw.display)} | {notes or '—'} |")
        out.append("")
    if v.lineage:
        chain = "; ".join(f"{esc(e['child'])} ← {esc(e['relation'] or 'derived', 30)} ← "
                          f"{esc(e['canonical_id'] or e['id'])}"
                          + ("" if e["found"] else f" ({e.get('missing', 'not found')})")
                          for e in v.lineage.entries)
        out += [f"**Lineage:** {chain}", ""]
    if v.not_published:
        out += ["<details><summary>What was not published (or could not be found)</summary>", ""]
        for f in v.not_published:
            out.append(f"- {verdict(f['outcome'])} **{esc(f['title'])}** ({esc(f['profile'])} "
                       f"{esc(f['criterion'])}): {esc(f['rationale'], 300)}")
        out += ["", "</details>", ""]
    return out


# GitHub refuses a comment (and a step summary) over 65,536 characters: the report stays under it,
# with room for the note that says what was left out.
LIMIT = 65_536
_BUDGET = LIMIT - 2_000


def _how_scored() -> list[str]:
    """"How this is scored", folded: the weights and verdict meanings from the profiles."""
    m = methodology()
    if m is None:
        return []
    v = m.values
    out = ["<details><summary>How this is scored</summary>", "",
           f"The **openness score** (0-100) is the weighted mean of five dimensions; each dimension is the weighted "
           f"mean of its criteria (open {v['open']:g}, partly open {v['partial']:g}, closed {v['closed']:g}; an "
           "undetermined criterion is left out and lowers the share of criteria decidable). The **MOF class** is "
           "the highest Model Openness Framework class whose components are all published under open licences; the "
           "**OSAI Index** percentage is the mean of its parameters; OSAID and the EU AI Act are pre-checks of the "
           "conditions those texts set.", ""]
    out.append("Weights: " + "; ".join(
        f"{esc(title)} {w:g} ({', '.join(f'{esc(cid)} {cw:g}' for cid, _, cw in crit)})"
        for _, title, w, crit in m.dimensions) + ".")
    out += ["", "Verdicts: " + "; ".join(f"**{VERDICT_LABEL.get(k, k)}**: {esc(t)}" for k, t in m.verdicts) + ".", "",
            "Not checked: " + "; ".join(esc(t.rstrip(".")) for t in m.not_checked) + ".", "",
            "Profiles: " + ", ".join(f"{esc(pid)} {esc(ver)}" for pid, ver, _ in m.profiles) + ".", "",
            "</details>", ""]
    return out


def _size(lines: list[str]) -> int:
    return sum(len(x) + 1 for x in lines)


@dataclass(frozen=True)
class _ModelParts:
    """What the Markdown report says of one model, wherever it goes: its table row, its framework
    columns' titles, its verdict counts, the summary line it is folded under, and its section."""

    repo_id: str
    row: tuple[list[str], dict[str, str], str]
    shorts: dict[str, str]
    counted: TallyRow
    summary: str
    section: list[str]

    @classmethod
    def of(cls, s: Subject) -> _ModelParts:
        v = subject_view(s, 0, "")  # the Markdown uses no anchor: the model's place does not show
        score = "—" if v.score is None else f"{v.score:.0f}/100"
        return cls(repo_id=v.repo_id, row=_row(v), shorts={fid: f.short for fid, f in v.fw_by_id.items()},
                   counted=TallyRow.of(s), summary=f"<details><summary><b>{esc(v.repo_id)}</b>: {score}</summary>",
                   section=_subject(v, "###"))


@dataclass(frozen=True)
class Part:
    """`_ModelParts` made where the model was audited (an audit worker, `audit.audit_packed`), pickled
    and compressed (~1-2 KB) until the report is written."""

    data: bytes

    @classmethod
    def of(cls, s: Subject) -> Part:
        return cls(zlib.compress(pickle.dumps(_ModelParts.of(s), pickle.HIGHEST_PROTOCOL), 1))

    def load(self) -> _ModelParts:
        parts: _ModelParts = pickle.loads(zlib.decompress(self.data))  # made by this run's own worker
        return parts


_Row = tuple[list[str], dict[str, str], str]


def _least_size(row: _Row) -> int:
    """The fewest characters `row`'s line can take in the table: its own cells, and at least " | " and a
    character ("—") for each framework column it lacks (counted apart, see `_read_models`)."""
    cells, fws, flags = row
    return _size(["| " + " | ".join([*cells, *fws.values(), flags]) + " |"])


@dataclass
class _Models:
    """What the report keeps of its models, read one at a time: bounded by GitHub's limit, not by their number."""

    read: int  # how many models were read
    rows: list[_Row]  # the first models' table rows, while they could fit in the table (see `cut`)
    cut: bool  # a row was let go: it could not fit in the table, nor any after it
    shorts: dict[str, str]  # each framework's short title, from the first model naming it
    counts: Counts
    ids: list[str]  # the ids of the models whose sections were kept and of the 20 after them
    sections: list[list[str]]  # the first models' sections, while they could fit


def _read_models(subjects: Iterable[Subject], many: bool) -> _Models:
    """Each model read once, one at a time (a packed store decodes each as it is reached), keeping only
    what can reach the report: its table row while the table could hold it, its framework short names,
    its verdict counts (counters), its section while it could fit and its id while it could be named:
    so that an organisation's report never holds every model, nor a row or id for each."""
    out = _Models(read=0, rows=[], cut=False, shorts={}, counts=Counts(), ids=[], sections=[])
    table = 0  # the least size of the rows kept, without the framework columns they lack
    own = 0  # how many framework cells the rows kept have
    kept = 0
    from openaudit.subjects import as_packed

    for i, item in enumerate(as_packed(subjects) if isinstance(subjects, Sequence) else subjects):
        made = (getattr(item, "pieces", None) or {}).get("md")
        if isinstance(made, Part):  # made where the model was audited: nothing decoded
            m = made.load()
        else:
            m = _ModelParts.of(item if isinstance(item, Subject) else item.subject())
        out.read += 1
        out.counts.add(m.counted)
        if many:
            for fid, short in m.shorts.items():
                out.shorts.setdefault(fid, short)
            # A row whose least size passes half the limit with the ones before it (each with a "—" at
            # least in every framework column it lacks, of the columns known so far) would be cut from
            # the table (`_table_block`), and so would every one after it.
            least = table + _least_size(m.row)
            lacking = (len(out.rows) + 1) * len(out.shorts) - own - len(m.row[1])
            if not out.cut and least + 4 * lacking <= _BUDGET // 2:
                out.rows.append(m.row)
                table, own = least, own + len(m.row[1])
            else:
                out.cut = True
        sections = out.sections
        if len(sections) == i:  # every section before this one was kept
            section = m.section
            if many:  # many models: each model's details folded under its row's summary
                section = [m.summary, "", *section, "</details>", ""]
            # A section that would not fit after the ones kept alone is left out below, and so is every one after it.
            if kept + _size(section) <= _BUDGET:
                sections.append(section)
                kept += _size(section)
        if i < len(sections) + 20:  # a model left out is named only among the first 20 left out
            out.ids.append(m.repo_id)
        del m, item
    return out


def _table_block(head: list[str], rows: list[_Row], cut: bool, shorts: dict[str, str], count: int) -> list[str]:
    """The comparison table and its blank line; an organisation's is cut to half of GitHub's limit so
    that some details still fit, with a note saying how many rows are shown. `cut`: rows past `rows`
    were let go (they could not fit)."""
    table = _comparison(rows, framework_columns(shorts))
    if cut or _size(head + table) > _BUDGET // 2:  # an organisation: the table alone would not fit
        keep = 2
        while keep < len(table) and _size(table[: keep + 1]) <= _BUDGET // 2:
            keep += 1
        table = [*table[:keep], "", f"*The table shows the first {keep - 2} of {count} models: the "
                 "rest would pass GitHub's 65,536-character limit; see the JSON or HTML report for all.*"]
    return [*table, ""]


def _details_block(lines: list[str], models: _Models, tail: int, count: int) -> list[str]:
    """The models' sections, in order, while they fit before the `tail` characters still to come; from
    the first that does not, every one is left out and named, so the comment never passes GitHub's limit."""
    out: list[str] = []
    first_left: int | None = None
    sections = models.sections
    used = _size(lines)  # what is already written, with the sections added below
    for i in range(models.read):
        done = sections[i] if i < len(sections) else None
        if done is None or used + _size(done) + tail > _BUDGET:
            first_left = i
            break
        out += done
        used += _size(done)
    if first_left is not None:
        left = models.read - first_left
        named = models.ids[first_left:first_left + 20]
        names = ", ".join(esc(r) for r in named) + (f" and {left - 20} more" if left > 20 else "")
        out += [f"*Details of {left} of {count} models left out to stay under GitHub's 65,536-"
                f"character limit: {names}. The JSON or HTML report has them all.*", ""]
    return out


def render(report: Report, subjects: Iterable[Subject] | None = None, count: int | None = None) -> str:
    """The Markdown report. Its subjects are read once, one at a time (a packed store decodes each as it
    is reached): of each model only its table row, its verdict counts and, while they fit in GitHub's
    limit, its section are kept. `subjects` (any iterable, read once) and `count` (how many it holds):
    the report's, unless given."""
    if subjects is None:
        subjects, count = report.subjects, len(report.subjects)
    if count is None:
        subjects = list(subjects)
        count = len(subjects)
    many = count > 1
    gen = report.generated_at.strftime("%Y-%m-%d %H:%M UTC")
    foot = (f"<sub>Generated {gen} by openaudit {esc(report.tool.version)}; each verdict rests on the "
            "evidence linked at the pinned commit. An assessment, not legal advice.</sub>")
    how = _how_scored()
    models = _read_models(subjects, many)
    lines = ["## openaudit: what was actually published", ""]
    if many:
        lines += _table_block(lines, models.rows, models.cut, models.shorts, count)
    summed = models.counts.tally()
    if summed:
        lines += [*_tally(summed), ""]
    lines += _details_block(lines, models, _size(how) + len(foot), count)
    lines += how
    lines.append(foot)
    return "\n".join(lines).rstrip("\n") + "\n"
