"""A static site: `index.html` (a sortable, filterable leaderboard), `methodology.html` (how every
number is made) and `models/<owner>__<name>.html` per model.

A renderer returns one string, so the CLI writes this format through `write_site(report, dir)`: the
whole tree is built in a temporary sibling directory and renamed into place, so a failure leaves
nothing half-written. Each model's page is written as its subject is read (a packed store decodes one
at a time), and only its leaderboard row (`IndexRow`, a few hundred bytes) is kept for the index and
the spread chart, written last: an organisation's site never holds every model at once. `render` (the
FORMATS entry) returns the index page alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from dataclasses import replace as _replace
from pathlib import Path
from typing import Any

from markupsafe import Markup

from openaudit.render.explain import methodology
from openaudit.render.html import (
    DIM_LABEL,
    DIMENSIONS,
    FILL,
    SORT_SCRIPT,
    VERDICT_LABEL,
    ColumnView,
    SubjectView,
    TallyRow,
    _common,
    _DimCell,
    all_framework_columns,
    csp,
    environment,
    file_slug,
    subject_view,
)
from openaudit.render.tally import tally
from openaudit.report import Report, Subject
from openaudit.vocab import CATEGORY_TONE, VERDICT_SORT_RANK

# The leaderboard's dimension columns; the licence dimension's verdict colours the one "Licence" column.
TABLE_DIMS = ("weights", "code", "data", "documentation")
DIM_SHORT = {"weights": "Weights", "code": "Code", "data": "Data", "license": "Licence", "documentation": "Docs"}
VERDICT_SHORT = {"open": "open", "partial": "partial", "closed": "closed", "unknown": "unknown",
                 "not-applicable": "n/a"}
CATEGORY_ORDER = tuple(CATEGORY_TONE)


@dataclass
class Bar:
    """One bar of the spread chart: a label and its segments (key, words, count, colour)."""

    label: str
    segments: list[tuple[str, str, int, str]]
    total: int


@dataclass(frozen=True)
class IndexRow(ColumnView):
    """What the index reads of one model (its leaderboard row, the spread chart's verdicts, its verdict
    counts): kept for every model while the pages are written, the full view only while its page is."""

    file_slug: str = ""
    counted: TallyRow | None = None

    @property
    def dims(self) -> list[_DimCell]:
        return list(self.dim_by_name.values())  # the view's dimensions, in its order

    @classmethod
    def row(cls, v: SubjectView, slug: str) -> IndexRow:
        col = ColumnView.of(v)
        return cls(**{f.name: getattr(col, f.name) for f in fields(ColumnView)}, file_slug=slug,
                   counted=TallyRow.of(v.subject))


def spread(views: Sequence[IndexRow]) -> list[Bar]:
    """How the models spread over each dimension's verdicts, and over licence categories."""
    judged = [v for v in views if v.dims]
    bars = []
    for d in DIMENSIONS:
        counts = Counter(v.dim_by_name[d].verdict for v in judged if d in v.dim_by_name)
        if counts:
            segs = [(k, VERDICT_LABEL.get(k, k), counts[k], FILL.get(k, FILL["unknown"]))
                    for k in (*VERDICT_SORT_RANK, *sorted(set(counts) - set(VERDICT_SORT_RANK))) if counts.get(k)]
            segs.sort(key=lambda x: -VERDICT_SORT_RANK.get(x[0], -1))
            bars.append(Bar(DIM_LABEL[d], segs, sum(counts.values())))
    cats = Counter((v.license.category or "unknown") if v.license.name else "unknown" for v in judged)
    if cats:
        order = [c for c in CATEGORY_ORDER if cats.get(c)] + sorted(set(cats) - set(CATEGORY_ORDER))
        bars.append(Bar("Licence category", [(c, c.replace("-", " "), cats[c], FILL[CATEGORY_TONE.get(c, "unknown")])
                                            for c in order], sum(cats.values())))
    return bars


def flag_words(flag_id: str) -> str:
    return flag_id.replace("-", " ")


_FW = tuple[tuple[str, str], ...]  # framework columns: (id, short title), in order


def _row_html(v: IndexRow, fw_cols: Sequence[tuple[str, str]]) -> str:
    """A model's row of the leaderboard, under these framework columns."""
    row = environment().get_template("index_row.html").module.row
    return str(row(v, fw_cols, DIMENSIONS, TABLE_DIMS, DIM_SHORT, VERDICT_SHORT, VERDICT_SORT_RANK, flag_words))


def render_index(report: Report, rows: Sequence[IndexRow] | None = None,
                 made: Sequence[tuple[str, _FW] | None] | None = None) -> str:
    """The leaderboard; `rows`: the models' rows in report order (read from the report's subjects unless
    given); `made`: beside each, its row's HTML made where it was audited and the framework columns it
    was made under (used when they are the index's), or None."""
    if rows is None:
        made = []
        got = []
        for _page, row, row_made in _pages(report, pages=False):
            got.append(row)
            made.append(row_made)
        rows = got
    listed = rows

    def key(i: int) -> tuple[float, str]:
        score = listed[i].score
        return -(score if score is not None else -1), listed[i].repo_id

    order = sorted(range(len(rows)), key=key)  # stable: as the rows were sorted by the same key
    views = [rows[i] for i in order]
    fw_cols = all_framework_columns(views)
    columns = tuple(fw_cols)

    def html_rows() -> Iterator[Markup]:
        for i in order:
            ready = made[i] if made is not None else None
            yield Markup(ready[0] if ready is not None and ready[1] == columns else _row_html(rows[i], fw_cols))

    categories = sorted({v.license.category or "unknown" for v in views if v.license.name},
                        key=lambda c: (CATEGORY_ORDER.index(c) if c in CATEGORY_ORDER else 99, c))
    flags = sorted({f.id for v in views for f in v.flags})
    return environment().get_template("index.html").render(
        rows=html_rows(), count=len(views), fw_cols=fw_cols, dims=DIMENSIONS, table_dims=TABLE_DIMS,
        dim_short=DIM_SHORT, verdict_short=VERDICT_SHORT, rank=VERDICT_SORT_RANK, categories=categories, flags=flags,
        flag_words=flag_words, category_tone=CATEGORY_TONE, bars=spread(views), fill=FILL,
        script=SORT_SCRIPT, csp=csp(SORT_SCRIPT), tally=tally([v.counted for v in views if v.counted]),
        **_common(report))


def render_methodology(report: Report) -> str:
    return environment().get_template("methodology.html").render(
        method=methodology(), csp=csp(None), back_href="index.html", **_common(report))


def _context(report: Report) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    """What a model's page says of the report besides its time stamp: tool version, schema, profiles."""
    return report.tool.version, report.schema_version, tuple((p.id, p.version) for p in report.profiles)


def _page(v: SubjectView, common: dict[str, Any]) -> Iterator[str]:
    return environment().get_template("single.html").generate(
        v=v, csp=csp(None), back_href="../index.html", method_href="../methodology.html", method=methodology(),
        **common)


@dataclass(frozen=True)
class Page:
    """One model's page and index row made where it was audited (an audit worker, `audit.audit_packed`):
    the page compressed, rendered with `marker` standing for the report's time stamp (unknown there)
    and `context` for the rest of what it says of the report (used only when the report says the
    same), and its `IndexRow` (without its file name, which depends on the models before it) pickled
    and compressed."""

    page: bytes
    marker: str
    context: tuple[str, str, tuple[tuple[str, str], ...]]
    row: bytes
    # The row's HTML (`index_row.html`) under the model's own framework columns, `slug` standing for its
    # page's file name; used when the index's columns are the same (every model audited with the same profiles).
    row_html: bytes = b""
    slug: str = ""
    columns: _FW = ()

    @classmethod
    def of(cls, s: Subject, profiles: Sequence[tuple[str, str]]) -> Page:
        import pickle
        import secrets
        import zlib
        from types import SimpleNamespace

        from openaudit.report import SCHEMA_VERSION, ToolInfo

        marker = f"g{secrets.token_hex(16)}"
        tool = ToolInfo()
        refs = [SimpleNamespace(id=pid, version=version) for pid, version in profiles]
        # What the page reads of the report (base.html's footer); anything else it read would fail here, and the
        # page would be rendered after the run instead.
        common = {"report": SimpleNamespace(schema_version=SCHEMA_VERSION), "generated": marker, "tool": tool,
                  "profiles": refs}
        v = subject_view(s)
        text = "".join(_page(v, common))
        row = IndexRow.row(v, "")
        slug = f"s{secrets.token_hex(16)}"
        columns = tuple(all_framework_columns([row]))
        row_html = _row_html(_replace(row, file_slug=slug), columns)
        return cls(zlib.compress(text.encode("utf-8"), 1), marker,
                   (tool.version, SCHEMA_VERSION, tuple((pid, version) for pid, version in profiles)),
                   zlib.compress(pickle.dumps(row, pickle.HIGHEST_PROTOCOL), 1),
                   zlib.compress(row_html.encode("utf-8"), 1), slug, columns)

    def text(self, generated: str) -> str:
        import zlib

        return zlib.decompress(self.page).decode("utf-8").replace(self.marker, generated)

    def index_row(self) -> IndexRow:
        import pickle
        import zlib

        row: IndexRow = pickle.loads(zlib.decompress(self.row))  # made by this run's own worker
        return row

    def row_for(self, file_slug: str) -> tuple[str, _FW] | None:
        """The row's HTML with its page's file name, and the framework columns it was made under."""
        import zlib

        if not self.slug:
            return None
        return zlib.decompress(self.row_html).decode("utf-8").replace(self.slug, file_slug), self.columns


def _pages(report: Report, pages: bool = True) -> Iterator[tuple[str, IndexRow, tuple[str, _FW] | None]]:
    """Each model's page ("" unless `pages`), its index row and that row's HTML (where an audit worker
    made it, else None), one subject decoded at a time, or none where an audit worker made them (`Page`).
    A repo met twice (two revisions) gets its revision in its page's name."""
    from openaudit.subjects import as_packed

    common = _common(report)
    context = _context(report)
    used: set[str] = set()
    for i, item in enumerate(as_packed(report.subjects)):
        made = (getattr(item, "pieces", None) or {}).get("site")
        if isinstance(made, Page) and made.context == context:  # copied: nothing decoded
            page = made.text(common["generated"]) if pages else ""
            row, revision, ready = made.index_row(), item.revision, made
        else:
            s = item if isinstance(item, Subject) else item.subject()
            v = subject_view(s)
            page = "".join(_page(v, common)) if pages else ""
            row, revision, ready = IndexRow.row(v, ""), s.revision, None
            del v, s
        fs = file_slug(row.repo_id)
        if fs in used:
            fs = file_slug(f"{fs}@{(revision or str(i))[:12]}")
        used.add(fs)
        yield page, _replace(row, file_slug=fs), ready.row_for(fs) if ready is not None else None
        del item, page, ready


def site_pages(report: Report) -> Iterator[tuple[str, str]]:
    """The site's files (relative path, text), one model's page at a time, the index and methodology last."""
    rows: list[IndexRow] = []
    made: list[tuple[str, _FW] | None] = []
    for page, row, row_made in _pages(report):
        yield f"models/{row.file_slug}.html", page
        rows.append(row)
        made.append(row_made)
    yield "index.html", render_index(report, rows, made)
    yield "methodology.html", render_methodology(report)


def site_files(report: Report) -> dict[str, str]:
    """Every file of the site at once (`site_pages` writes them one at a time)."""
    files = dict(site_pages(report))
    return {"index.html": files.pop("index.html"), "methodology.html": files.pop("methodology.html"), **files}


def _write_files(root: Path, files: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
    real = root.resolve()
    for rel, text in files.items() if isinstance(files, Mapping) else files:
        target = (real / rel).resolve()
        if not target.is_relative_to(real):
            raise ValueError(f"refusing to write outside the site: {rel}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    os.chmod(root, 0o755)


def stage_tree(directory: Path, files: Mapping[str, str] | Iterable[tuple[str, str]]) -> Path:
    """`files` (relative path -> text, or such pairs, written as they come) in a new hidden folder beside
    `directory`, returned for `swap_in`; removed if writing fails."""
    directory = Path(directory)
    parent = directory.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=parent))
    try:
        _write_files(tmp, files)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp


def swap_in(tmp: Path, directory: Path) -> None:
    """The folder `stage_tree` wrote renamed to `directory`, what was there moved aside and removed."""
    directory = Path(directory)
    parent = directory.resolve().parent
    try:
        old = None
        if directory.exists():
            if not directory.is_dir():
                raise NotADirectoryError(str(directory))
            old = parent / f".{directory.name}.old-{os.getpid()}"
            directory.rename(old)
        tmp.rename(directory)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_tree(directory: Path, files: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
    """Write `files` (relative path -> text, or such pairs) as `directory`, replacing it whole, never half-written."""
    swap_in(stage_tree(directory, files), directory)


def write_site(report: Report, directory: Path) -> None:
    write_tree(directory, site_pages(report))


def render(report: Report) -> str:
    return render_index(report)
