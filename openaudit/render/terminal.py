"""The quick view: one table of verdicts, frameworks and flags, plus the evidence behind each verdict."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from rich.cells import cell_len

from openaudit.render.ci import revision_label
from openaudit.render.prose import humanize
from openaudit.render.tally import DIMENSIONS, FRAMEWORK_ORDER, Tally, framework_label, tally
from openaudit.report import Report, Subject

# Short column labels and values: the quick view must fit 120 columns with every framework shown.
_DIM_LABEL = {"weights": "weights", "code": "code", "data": "data", "license": "licence", "documentation": "docs"}
_FW_LABEL = {"mof": "MOF", "osaid": "OSAID", "osai-index": "OSAI", "eu-ai-act": "EU AI Act"}


def _framework_cell(fr: object) -> str:
    from openaudit.report import FrameworkResult

    return _safe(framework_label(fr)) if isinstance(fr, FrameworkResult) else "—"


TITLE = "openaudit — what was actually published (details below)"


def _cells(rows: Sequence[Subject | _Summary], width: int) -> tuple[list[str], list[str], list[list[str]]]:
    """The table's header, column alignment ('l'/'r') and rows of plain cells; below 118 columns
    the framework results are left to the details."""
    present = {k for s in rows for k in s.frameworks}
    fws = [f for f in FRAMEWORK_ORDER if f in present] + sorted(present - set(FRAMEWORK_ORDER))
    if width < 118:
        fws = []
    header = ["model", *(_DIM_LABEL[d] for d in DIMENSIONS), "score", *(_FW_LABEL.get(f, f) for f in fws), "flags"]
    align = ["l"] * (1 + len(DIMENSIONS)) + ["r"] + ["l"] * len(fws) + ["r"]
    body: list[list[str]] = []
    for s in rows:
        if s.status == "skipped" or not s.dimensions:
            body.append([f"{_safe(s.repo_id)} ({s.status})", *["—"] * (len(header) - 1)])
            continue
        row = [_safe(s.repo_id) + ("" if s.status == "audited" else f" ({s.status})")]
        row += [s.dimensions[d].verdict if d in s.dimensions else "—" for d in DIMENSIONS]
        row.append(f"{s.score:.0f}" if s.score is not None else "—")
        row += [_framework_cell(s.frameworks.get(f)) for f in fws]
        row.append(str(len(s.flags)) if s.flags else "—")
        body.append(row)
    return header, align, body


def comparison_table(report: Report, width: int = 120, subjects: Sequence[Subject | _Summary] | None = None) -> str:
    """The comparison table, laid out as rich's SIMPLE_HEAD table would be (columns two spaces apart,
    the model column folded when the table would be wider than `width`), but written directly: an
    organisation's table runs to thousands of rows, and rich measures and renders every cell.

    `subjects` defaults to the report's; an organisation's report decodes a subject each time it is
    read (openaudit.subjects), so `render` reads each once and passes them in."""
    rows: Sequence[Subject | _Summary] = report.subjects if subjects is None else subjects
    header, align, body = _cells(rows, width)
    widths = [max([cell_len(header[i]), *(cell_len(r[i]) for r in body)]) for i in range(len(header))]
    widths[0] = max(widths[0], 16)
    for i in range(1, 1 + len(DIMENSIONS)):
        widths[i] = max(widths[i], 7)
    others = sum(widths[1:]) + 2 * (len(widths) - 1) + 2  # the other columns, the gaps, the edges
    widths[0] = max(16, min(widths[0], width - others))  # only the model column gives way

    def line(cells: list[str]) -> str:
        return " " + "  ".join(c + " " * (w - cell_len(c)) if a == "l" else " " * (w - cell_len(c)) + c
                               for c, w, a in zip(cells, widths, align, strict=True)) + " "

    total = sum(widths) + 2 * (len(widths) - 1) + 2
    out = [TITLE + " " * max(0, total - cell_len(TITLE)), " " * total, line(header), " " + "─" * (total - 2) + " "]
    blank = [""] * (len(header) - 1)
    for r in body:
        model = _wrap("", r[0], widths[0], 0)
        out.append(line([model[0], *r[1:]]))
        out += [line([m, *blank]) for m in model[1:]]
    out.append(" " * total)
    return "".join(f"{x}\n" for x in out)


class _Summary:
    """What the table needs of a subject, without its evidence and findings (a few hundred bytes)."""

    def __init__(self, s: Subject) -> None:
        self.repo_id, self.status, self.score = s.repo_id, s.status, s.score
        self.dimensions, self.frameworks, self.flags = s.dimensions, s.frameworks, s.flags


def _safe(text: object) -> str:
    """Card-derived text as a terminal may show it: control characters (escape sequences, bidi
    overrides) escaped. It is always printed with markup off, so `[bold]` in a card stays literal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))


_WORDS = re.compile(r" +|[^ ]+")


def _cut(word: str, cells: int) -> str:
    """The longest head of `word` that fits in `cells` terminal cells (one character at least)."""
    head = ""
    for ch in word:
        if head and cell_len(head + ch) > cells:
            break
        head += ch
    return head


def _wrap(prefix: str, text: str, width: int, hang: int) -> list[str]:
    """`prefix` + `text` as lines of at most `width` terminal cells (wide characters count two),
    broken between words; the lines after the first start `hang` spaces in, under the text."""
    hang = hang if width - hang >= 30 else min(hang, 4)
    lines: list[str] = []
    line, used, fresh, gap = prefix, cell_len(prefix), True, ""
    for word in _WORDS.findall(text):
        if word[0] == " ":
            gap = word
            continue
        while word:
            sep = "" if fresh else gap
            w = cell_len(word)
            if used + len(sep) + w <= width:
                line, used, fresh, word = line + sep + word, used + len(sep) + w, False, ""
            elif not fresh:  # the word starts the next line
                lines.append(line)
                line, used, fresh = " " * hang, hang, True
            else:  # longer than a whole line (a URL): cut
                head = _cut(word, width - used)
                lines.append(line + head)
                line, used, word = " " * hang, hang, word[len(head):]
        gap = ""
    lines.append(line)
    return lines


def _details(s: Subject, width: int) -> list[str]:
    """A subject's verdicts, the evidence behind each, its licence, flags and frameworks: plain lines
    (the details of an organisation run to thousands; they are wrapped here, not by rich)."""
    out = [""]
    rev = revision_label(s)  # a model never read has no commit, and is not "local" either
    at = "" if rev == "—" else f" @ {_safe(rev)}"
    out += _wrap("", f"{_safe(s.repo_id)}{at}  ({s.source}, {s.status})", width, 2)
    if s.reason:
        out += _wrap("  note: ", _safe(s.reason), width, 8)
    ev = {e.id: e for e in s.evidence}
    for d in DIMENSIONS:
        dim = s.dimensions.get(d)
        if not dim:
            continue
        out += _wrap(f"  {d:<14} {dim.verdict:<8} ", _safe(humanize(dim.rationale)), width, 26)
        for eid in dim.evidence[:2]:
            e = ev.get(eid)
            if e:
                # The pointer is kept whole (its spaces are no-break while wrapping: _safe leaves none
                # of its own), so "[README.md:L12 (license)]" moves to the next line in one piece.
                pointer = "[" + _safe(e.pointer).replace(" ", "\u00a0") + "]"
                out += [x.replace("\u00a0", " ") for x in
                        _wrap(f"  {'':<23} ↳ ", f"{_safe(humanize(e.summary))}  {pointer}", width, 28)]
    if s.license and s.license.description:
        out += _wrap("  licence        ", _safe(humanize(s.license.description)), width, 17)
    for fl in s.flags:
        out += _wrap(f"  flag {fl.id}: ", _safe(humanize(fl.message)), width, 4)
    for name, fr in s.frameworks.items():
        line = _safe(fr.verdict)
        if fr.progress:
            line += "  (" + ", ".join(f"{k} {v:.0f}%" for k, v in fr.progress.items()) + ")"
        out += _wrap(f"  {name:<14} ", line, width, 17)
    return out


def render(report: Report, width: int | None = None, details: bool = True) -> str:
    """The table, then each subject's details: every subject is read once (details are written as it
    is read; the table keeps only a summary of each)."""
    width = width or int(os.environ.get("COLUMNS", "120"))
    below: list[str] = []
    summaries: list[Subject | _Summary] = []
    for s in report.subjects:
        summaries.append(_Summary(s))
        if details:
            below += _details(s, width)
    summed = tally(summaries)
    counted = _tally_lines(summed, width) if summed else []
    return comparison_table(report, width, summaries) + "".join(f"{line}\n" for line in counted + below)


def _tally_lines(t: Tally, width: int) -> list[str]:
    """The table summed up: how many models got each verdict, and each framework result."""
    status = ", ".join(f"{n} {k}" for k, n in t.status)
    out = _wrap(" ", f"In numbers: {t.models} models ({status})", width, 3)
    for d, counts in t.dimensions:
        out += _wrap(f"   {_DIM_LABEL[d]:<10} ", " · ".join(f"{k} {n}" for k, n in counts), width, 14)
    for f, summed in t.frameworks:
        out += _wrap(f"   {_safe(_FW_LABEL.get(f, f)):<10} ", _safe(summed), width, 14)
    if t.flagged:
        named = " · ".join(f"{_safe(k)} {n}" for k, n in t.flags)
        out += _wrap(f"   {'flags':<10} ", f"{t.flagged} of {t.models} models: {named}", width, 14)
    return out
