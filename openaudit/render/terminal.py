"""The quick view: one rich table of verdicts, frameworks and flags, plus the evidence behind each verdict."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from openaudit.report import Report, Subject

STYLE = {"open": "green", "partial": "yellow", "closed": "red", "unknown": "dim", "not-applicable": "dim"}
DIMENSIONS = ("weights", "code", "data", "license", "documentation")
FRAMEWORK_ORDER = ("mof", "osaid", "osai-index", "eu-ai-act")


def _verdict(v: str) -> Text:
    return Text(v, style=STYLE.get(v, ""))


def _console(buf: io.StringIO, width: int | None = None) -> Console:
    return Console(file=buf, width=width or int(os.environ.get("COLUMNS", "120")), force_terminal=False,
                   no_color=True, highlight=False, soft_wrap=False)


# Short column labels and values: the quick view must fit 120 columns with every framework shown.
_DIM_LABEL = {"weights": "weights", "code": "code", "data": "data", "license": "licence", "documentation": "docs"}
_FW_LABEL = {"mof": "MOF", "osaid": "OSAID", "osai-index": "OSAI", "eu-ai-act": "EU AI Act"}
_SHORT = {"likely-meets": "meets", "likely-fails": "fails", "likely-exempt": "exempt",
          "likely-not-exempt": "not exempt", "undetermined": "?"}


def _framework_cell(fr: object) -> str:
    from openaudit.report import FrameworkResult

    if not isinstance(fr, FrameworkResult):
        return "—"
    if fr.mof_class is not None:
        return "none" if fr.mof_class == "none" else f"Class {fr.mof_class}"
    return _SHORT.get(fr.verdict, _safe(fr.verdict))


def comparison_table(report: Report, width: int = 120, subjects: Sequence[Subject | _Summary] | None = None) -> Table:
    """The comparison table; below 120 columns the framework results are left to the details.

    `subjects` defaults to the report's; an organisation's report decodes a subject each time it is
    read (openaudit.subjects), so `render` reads each once and passes them in."""
    rows: Sequence[Subject | _Summary] = report.subjects if subjects is None else subjects
    table = Table(title="openaudit — what was actually published (details below)", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("model", overflow="fold", min_width=16)
    for d in DIMENSIONS:
        table.add_column(_DIM_LABEL[d], no_wrap=True, min_width=7)
    table.add_column("score", justify="right", no_wrap=True)
    present = {k for s in rows for k in s.frameworks}
    fws = [f for f in FRAMEWORK_ORDER if f in present]
    extra = sorted(present - set(FRAMEWORK_ORDER))
    if width < 118:
        fws, extra = [], []
    for f in (*fws, *extra):
        table.add_column(_FW_LABEL.get(f, f), no_wrap=True)
    table.add_column("flags", justify="right", no_wrap=True)  # listed in plain words in the details
    for s in rows:
        if s.status == "skipped" or not s.dimensions:
            blanks = [Text("—", style="dim")] * (len(DIMENSIONS) + 1 + len(fws) + len(extra))
            table.add_row(Text(f"{_safe(s.repo_id)} ({s.status})"), *blanks, Text("—", style="dim"))
            continue
        row = [Text(_safe(s.repo_id) + ("" if s.status == "audited" else f" ({s.status})"))]
        row += [_verdict(s.dimensions[d].verdict) if d in s.dimensions else Text("—") for d in DIMENSIONS]
        row.append(Text(f"{s.score:.0f}" if s.score is not None else "—"))
        row += [Text(_framework_cell(s.frameworks.get(f))) for f in (*fws, *extra)]
        row.append(Text(str(len(s.flags)) if s.flags else "—", style="red" if s.flags else "dim"))
        table.add_row(*row)
    return table


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
    out += _wrap("", f"{_safe(s.repo_id)} @ {_safe(s.revision or 'local')[:12]}  ({s.source}, {s.status})", width, 2)
    if s.reason:
        out += _wrap("  note: ", _safe(s.reason), width, 8)
    ev = {e.id: e for e in s.evidence}
    for d in DIMENSIONS:
        dim = s.dimensions.get(d)
        if not dim:
            continue
        out += _wrap(f"  {d:<14} {dim.verdict:<8} ", _safe(dim.rationale), width, 26)
        for eid in dim.evidence[:2]:
            e = ev.get(eid)
            if e:
                out += _wrap(f"  {'':<23} ↳ ", f"{_safe(e.summary)}  [{_safe(e.pointer)}]", width, 28)
    if s.license and s.license.description:
        out += _wrap("  licence        ", _safe(s.license.description), width, 17)
    for fl in s.flags:
        out += _wrap(f"  flag {fl.id}: ", _safe(fl.message), width, 4)
    for name, fr in s.frameworks.items():
        line = _safe(fr.verdict)
        if fr.progress:
            line += "  (" + ", ".join(f"{k} {v:.0f}%" for k, v in fr.progress.items()) + ")"
        out += _wrap(f"  {name:<14} ", line, width, 17)
    return out


def render(report: Report, width: int | None = None, details: bool = True) -> str:
    """The table, then each subject's details: every subject is read once (details are written as it
    is read; the table keeps only a summary of each)."""
    buf = io.StringIO()
    console = _console(buf, width)
    below: list[str] = []
    summaries: list[Subject | _Summary] = []
    for s in report.subjects:
        summaries.append(_Summary(s))
        if details:
            below += _details(s, console.width)
    console.print(comparison_table(report, console.width, summaries))
    return buf.getvalue() + "".join(f"{line}\n" for line in below)
