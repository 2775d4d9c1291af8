"""The quick view: one rich table of verdicts, frameworks and flags, plus the evidence behind each verdict."""

from __future__ import annotations

import io
import os

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


def comparison_table(report: Report) -> Table:
    table = Table(title="openaudit — what was actually published", title_justify="left", show_lines=False)
    table.add_column("model", overflow="fold")
    for d in DIMENSIONS:
        table.add_column(d[:4] if d != "documentation" else "docs")
    table.add_column("score", justify="right")
    fws = [f for f in FRAMEWORK_ORDER if any(f in s.frameworks for s in report.subjects)]
    extra = sorted({k for s in report.subjects for k in s.frameworks} - set(FRAMEWORK_ORDER))
    for f in (*fws, *extra):
        table.add_column(f)
    table.add_column("licence", overflow="fold")
    table.add_column("flags", overflow="fold")
    for s in report.subjects:
        if s.status == "skipped" or not s.dimensions:
            blanks = [Text("—", style="dim")] * (len(DIMENSIONS) + 1 + len(fws) + len(extra))
            table.add_row(Text(_safe(s.repo_id)), *blanks, Text(s.status, style="red"),
                          Text(_safe(s.reason or "")[:80]))
            continue
        row = [Text(_safe(s.repo_id) + ("" if s.status == "audited" else f" ({s.status})"))]
        row += [_verdict(s.dimensions[d].verdict) if d in s.dimensions else Text("—") for d in DIMENSIONS]
        row.append(Text(f"{s.score:.0f}" if s.score is not None else "—"))
        for f in (*fws, *extra):
            fr = s.frameworks.get(f)
            row.append(Text(_safe(fr.verdict) if fr else "—"))
        lic = s.license
        row.append(Text(_safe(f"{lic.key or '?'} ({lic.category})") if lic else "?"))
        row.append(Text(", ".join(fl.id for fl in s.flags) or "—"))
        table.add_row(*row)
    return table


def _safe(text: object) -> str:
    """Card-derived text as a terminal may show it: control characters (escape sequences, bidi
    overrides) escaped. It is always printed with markup off, so `[bold]` in a card stays literal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))


def _line(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False, emoji=False)


def _details(console: Console, s: Subject) -> None:
    console.print()
    console.print(Text(_safe(s.repo_id), style="bold"),
                  Text(f"@ {_safe(s.revision or 'local')[:12]}  ({s.source}, {s.status})"))
    if s.reason:
        _line(console, f"  note: {_safe(s.reason)}")
    ev = {e.id: e for e in s.evidence}
    for d in DIMENSIONS:
        dim = s.dimensions.get(d)
        if not dim:
            continue
        _line(console, f"  {d:<14} {dim.verdict:<8} {_safe(dim.rationale)}")
        for eid in dim.evidence[:2]:
            e = ev.get(eid)
            if e:
                _line(console, f"  {'':<23} ↳ {_safe(e.summary)}  [{_safe(e.pointer)}]")
    if s.license and s.license.description:
        _line(console, f"  licence        {_safe(s.license.description)}")
    for fl in s.flags:
        _line(console, f"  flag {fl.id}: {_safe(fl.message)}")
    for name, fr in s.frameworks.items():
        line = f"  {name:<14} {_safe(fr.verdict)}"
        if fr.progress:
            line += "  (" + ", ".join(f"{k} {v:.0f}%" for k, v in fr.progress.items()) + ")"
        _line(console, line)


def render(report: Report, width: int | None = None, details: bool = True) -> str:
    buf = io.StringIO()
    console = _console(buf, width)
    console.print(comparison_table(report))
    if details:
        for s in report.subjects:
            _details(console, s)
    return buf.getvalue()
