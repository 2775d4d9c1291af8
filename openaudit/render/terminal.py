"""The quick view: one table of verdicts, frameworks and flags, what a policy found, and (with
`details`, `--details`/`-v` on the command line) the evidence behind each verdict."""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable, Sequence

from rich.cells import cell_len

from openaudit.render.ci import revision_label
from openaudit.render.prose import humanize
from openaudit.render.tally import Tally, framework_label, tally
from openaudit.report import Report, Subject
from openaudit.vocab import DIMENSIONS, FRAMEWORK_ORDER

# Short column labels and values: the quick view must fit 120 columns with every framework shown.
_DIM_LABEL = {"weights": "weights", "code": "code", "data": "data", "license": "licence", "documentation": "docs"}
_FW_LABEL = {"mof": "MOF", "osaid": "OSAID", "osai-index": "OSAI", "eu-ai-act": "EU AI Act"}


def _framework_cell(fr: object) -> str:
    from openaudit.report import FrameworkResult

    return _safe(framework_label(fr)) if isinstance(fr, FrameworkResult) else "—"


TITLE = "openaudit — what was actually published"
TITLE_DETAILS = TITLE + " (details below)"
# The model column shrinks to this many cells (ids shortened with "…") before a column is dropped.
MODEL_MIN = 20

# Verdict colours (with `color`): rich styles rendered to ANSI, only ever around our own words.
_COLOURS = {"open": "green", "partial": "yellow", "closed": "red", "unknown": "dim", "likely-meets": "green",
            "likely-exempt": "green", "likely-fails": "red", "likely-not-exempt": "red", "FAILED": "bold red",
            "passed": "green"}


def terminal_width() -> int:
    """COLUMNS when set, else the width of the terminal stdout is (or 120 for a file or a pipe)."""
    cols = os.environ.get("COLUMNS", "")
    if cols.isdigit() and int(cols) > 0:
        return int(cols)
    try:
        if sys.stdout.isatty():
            return shutil.get_terminal_size((120, 24)).columns
    except (AttributeError, ValueError, OSError):
        pass
    return 120


def use_colour(stream: object = None) -> bool:
    """Colour for a terminal only, never with NO_COLOR set (https://no-color.org) or TERM=dumb;
    `--no-color` sets NO_COLOR."""
    stream = sys.stdout if stream is None else stream
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(getattr(stream, "isatty", lambda: False)())
    except (ValueError, OSError):
        return False


def _painter(color: bool) -> Callable[[str, str], str]:
    """paint(text, padded): `padded` (text plus spaces) with `text`'s verdict colour, if any."""
    if not color:
        return lambda text, padded: padded
    from rich.color import ColorSystem
    from rich.style import Style

    styles = {k: Style.parse(v) for k, v in _COLOURS.items()}

    def paint(text: str, padded: str) -> str:
        style = styles.get(text.strip())
        if style is None:
            return padded
        return padded.replace(text, style.render(text, color_system=ColorSystem.STANDARD), 1)

    return paint


def _model_cell(model: str, cells: int) -> str:
    """"owner/name (status)" in `cells`: the id is shortened, the status kept."""
    if cell_len(model) <= cells:
        return model
    repo, sep, status = model.partition(" (")
    model = shorten_id(repo, max(8, cells - cell_len(sep + status))) + sep + status
    return _cut(model, cells) if cell_len(model) > cells else model


def _distinct(models: list[str], cells: int) -> bool:
    """Whether the rows still tell their models apart once shortened to `cells`."""
    return len({_model_cell(m, cells) for m in models}) == len(set(models))


def shorten_id(repo_id: str, cells: int) -> str:
    """`repo_id` in at most `cells` terminal cells: the owner is cut first ("meta-l…/Llama-3.1-8B"),
    then the middle of the name, so that what tells models apart (the name's end) stays."""
    if cell_len(repo_id) <= cells:
        return repo_id
    owner, slash, name = repo_id.partition("/")
    if slash and cell_len(name) + 3 <= cells:
        return _cut(owner, cells - cell_len(name) - 2) + "…/" + name
    keep = max(1, cells - 1)
    head = _cut(repo_id, keep // 2)
    tail = repo_id[::-1]
    tail = _cut(tail, keep - cell_len(head))[::-1]
    return head + "…" + tail


def _cells(rows: Sequence[Subject | _Summary], frameworks: bool = True) -> tuple[list[str], list[str], list[list[str]]]:
    """The table's header, column alignment ('l'/'r') and rows of plain cells."""
    present = {k for s in rows for k in s.frameworks} if frameworks else set()
    fws = [f for f in FRAMEWORK_ORDER if f in present] + sorted(present - set(FRAMEWORK_ORDER))
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


def comparison_table(report: Report, width: int = 120, subjects: Sequence[Subject | _Summary] | None = None,
                     title: str = TITLE_DETAILS, color: bool = False) -> str:
    """The comparison table, laid out as rich's SIMPLE_HEAD table would be (columns two spaces apart,
    the model column folded when the table would be wider than `width`), but written directly: an
    organisation's table runs to thousands of rows, and rich measures and renders every cell.

    `subjects` defaults to the report's; an organisation's report decodes a subject each time it is
    read (openaudit.subjects), so `render` reads each once and passes them in."""
    rows: Sequence[Subject | _Summary] = report.subjects if subjects is None else subjects
    for frameworks in (True, False):  # the framework columns go only when ids cannot be shortened enough
        header, align, body = _cells(rows, frameworks)
        widths = [max([cell_len(header[i]), *(cell_len(r[i]) for r in body)]) for i in range(len(header))]
        widths[0] = max(widths[0], 16)
        for i in range(1, 1 + len(DIMENSIONS)):
            widths[i] = max(widths[i], 7)
        others = sum(widths[1:]) + 2 * (len(widths) - 1) + 2  # the other columns, the gaps, the edges
        model = max(16, min(widths[0], width - others))  # only the model column gives way
        if model >= min(widths[0], MODEL_MIN) and _distinct([r[0] for r in body], model):
            break
    widths[0] = model
    paint = _painter(color)

    def line(cells: list[str]) -> str:
        return " " + "  ".join(paint(c, c + " " * (w - cell_len(c))) if a == "l" else " " * (w - cell_len(c)) + c
                               for c, w, a in zip(cells, widths, align, strict=True)) + " "

    total = sum(widths) + 2 * (len(widths) - 1) + 2
    out = [title + " " * max(0, total - cell_len(title)), " " * total, line(header), " " + "─" * (total - 2) + " "]
    for r in body:
        out.append(line([_model_cell(r[0], widths[0]), *r[1:]]))
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
    (the details of an organisation run to thousands; they are wrapped here, not by rich). A sentence
    already said for the model (a rationale quoting its evidence, a flag repeating a verdict's reason)
    is not said again."""
    out = [""]
    said: set[str] = set()

    def new(text: str) -> str:
        """`text` less the sentences already said; '' when nothing is left."""
        parts = [p for p in re.split(r"(?<=[.;:])\s+", text) if p]
        fresh = [p for p in parts if _key(p) not in said]
        return " ".join(fresh)

    def say(text: str) -> None:
        for p in re.split(r"(?<=[.;:])\s+", text):
            said.add(_key(p))
        said.add(_key(text))

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
        say(_safe(humanize(dim.rationale)))
        for eid in dim.evidence[:2]:
            e = ev.get(eid)
            if e:
                summary = _safe(humanize(e.summary))
                # The pointer is kept whole (its spaces are no-break while wrapping: _safe leaves none
                # of its own), so "[README.md:L12 (license)]" moves to the next line in one piece.
                pointer = "[" + _safe(e.pointer).replace(" ", "\u00a0") + "]"
                text = new(summary) if _key(summary) not in said else ""
                say(summary)
                out += [x.replace("\u00a0", " ") for x in
                        _wrap(f"  {'':<23} ↳ ", f"{text}  {pointer}" if text else f"from {pointer}", width, 28)]
    if s.license and s.license.description and (text := new(_safe(humanize(s.license.description)))):
        out += _wrap("  licence        ", text, width, 17)
        say(text)
    for fl in s.flags:
        text = new(_safe(humanize(fl.message)))
        out += _wrap(f"  flag {fl.id}" + (": " if text else ""), text, width, 4)
        say(text)
    for name, fr in s.frameworks.items():
        line = _safe(fr.verdict)
        if fr.progress:
            line += "  (" + ", ".join(f"{k} {v:.0f}%" for k, v in fr.progress.items()) + ")"
        out += _wrap(f"  {name:<14} ", line, width, 17)
    return out


def _key(sentence: str) -> str:
    return sentence.strip().rstrip(".;:").strip().lower()


def render(report: Report, width: int | None = None, details: bool = True, color: bool = False) -> str:
    """The table, what a policy found, then (with `details`) each subject's details: every subject is
    read once (details are written as it is read; the table keeps only a summary of each). `width`:
    the terminal's (terminal_width) when not given."""
    width = width or terminal_width()
    below: list[str] = []
    summaries: list[Subject | _Summary] = []
    for s in report.subjects:
        summaries.append(_Summary(s))
        if details:
            below += _details(s, width)
    summed = tally(summaries)
    counted = _tally_lines(summed, width) if summed else []
    ruled = policy_lines(report, width)
    if ruled:
        ruled = ["", *ruled]
    if not details and report.subjects:
        below = ["", *_wrap(" ", "The evidence behind each verdict: --details (or -v).", width, 1)]
    table = comparison_table(report, width, summaries, TITLE_DETAILS if details else TITLE, color)
    paint = _painter(color)
    ruled = [paint("FAILED", x) if "FAILED" in x else x for x in ruled]
    return table + "".join(f"{line}\n" for line in counted + ruled + below)


def policy_lines(report: Report, width: int = 120, most: int = 50) -> list[str]:
    """What the policy found: passed, or failed with each violation that fails the run (model, rule,
    why); empty without a policy."""
    p = report.policy
    if not p:
        return []
    failing = [v for v in p.get("violations", []) if not v.get("waived_by") and not v.get("baselined")]
    file = _safe(p.get("file") or "policy")
    if not failing and not p.get("strict_failed"):
        extra = [f"{n} {k}" for k, n in (("waived", p.get("waived", 0)), ("baselined", p.get("baselined", 0))) if n]
        return _wrap(" ", f"Policy {file}: passed" + (f" ({', '.join(extra)})" if extra else ""), width, 3)
    out = _wrap(" ", f"Policy {file}: FAILED, {len(failing)} violation{'s' * (len(failing) != 1)}", width, 3)
    for v in failing[:most]:
        out += _wrap(f"   ✗ {_safe(v['repo_id'])} {_safe(v['rule'])}: ", _safe(v.get("detail", "")), width, 7)
    if len(failing) > most:
        out += _wrap("   ", f"and {len(failing) - most} more (all of them: --format md or json)", width, 3)
    for w in p.get("expired_waivers", []) if p.get("strict_failed") else []:
        out += _wrap("   ✗ ", f"waiver {w['index']} ({_safe(w['target'])} on {_safe(w['models'])}) expired "
                     f"{w['expires']}", width, 7)
    return out


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
