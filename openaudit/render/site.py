"""A static site: `index.html` (a sortable, filterable leaderboard), `methodology.html` (how every
number is made) and `models/<owner>__<name>.html` per model.

A renderer returns one string, so the CLI writes this format through `write_site(report, dir)`: the
whole tree is built in a temporary sibling directory and renamed into place, so a failure leaves
nothing half-written. `render` (the FORMATS entry) returns the index page alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from openaudit.render.explain import methodology
from openaudit.render.html import (
    DIM_LABEL,
    DIMENSIONS,
    FILL,
    SORT_SCRIPT,
    VERDICT_LABEL,
    SubjectView,
    _common,
    all_framework_columns,
    csp,
    environment,
    render_single,
    subject_views,
)
from openaudit.render.tally import tally
from openaudit.report import Report
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


def spread(views: list[SubjectView]) -> list[Bar]:
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
    cats = Counter(v.license["category"] if v.license["name"] else "unknown" for v in judged)
    if cats:
        order = [c for c in CATEGORY_ORDER if cats.get(c)] + sorted(set(cats) - set(CATEGORY_ORDER))
        bars.append(Bar("Licence category", [(c, c.replace("-", " "), cats[c], FILL[CATEGORY_TONE.get(c, "unknown")])
                                            for c in order], sum(cats.values())))
    return bars


def flag_words(flag_id: str) -> str:
    return flag_id.replace("-", " ")


def render_index(report: Report) -> str:
    views = subject_views(report, prefixed=False)
    views.sort(key=lambda v: (-(v.score if v.score is not None else -1), v.repo_id))
    categories = sorted({v.license["category"] for v in views if v.license["name"]},
                        key=lambda c: (CATEGORY_ORDER.index(c) if c in CATEGORY_ORDER else 99, c))
    flags = sorted({f["id"] for v in views for f in v.flags})
    return environment().get_template("index.html").render(
        views=views, fw_cols=all_framework_columns(views), dims=DIMENSIONS, table_dims=TABLE_DIMS,
        dim_short=DIM_SHORT, verdict_short=VERDICT_SHORT, rank=VERDICT_SORT_RANK, categories=categories, flags=flags,
        flag_words=flag_words, category_tone=CATEGORY_TONE, bars=spread(views), fill=FILL,
        script=SORT_SCRIPT, csp=csp(SORT_SCRIPT), tally=tally([v.subject for v in views]), **_common(report))


def render_methodology(report: Report) -> str:
    return environment().get_template("methodology.html").render(
        method=methodology(), csp=csp(None), back_href="index.html", **_common(report))


def site_files(report: Report) -> dict[str, str]:
    files = {"index.html": render_index(report), "methodology.html": render_methodology(report)}
    for i, v in enumerate(subject_views(report, prefixed=False)):
        files[f"models/{v.file_slug}.html"] = render_single(report, i, back_href="../index.html",
                                                            method_href="../methodology.html")
    return files


def write_tree(directory: Path, files: dict[str, str]) -> None:
    """Write `files` (relative path -> text) as `directory`, replacing it whole, never half-written."""
    directory = Path(directory)
    parent = directory.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=parent))
    try:
        for rel, text in files.items():
            target = (tmp / rel).resolve()
            if not target.is_relative_to(tmp.resolve()):
                raise ValueError(f"refusing to write outside the site: {rel}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o755)
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


def write_site(report: Report, directory: Path) -> None:
    write_tree(directory, site_files(report))


def render(report: Report) -> str:
    return render_index(report)
