"""A static site: `index.html` (a sortable leaderboard) plus `models/<owner>__<name>.html` per model.

A renderer returns one string, so the CLI writes this format through `write_site(report, dir)`: the
whole tree is built in a temporary sibling directory and renamed into place, so a failure leaves
nothing half-written. `render` (the FORMATS entry) returns the index page alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from openaudit.render.html import (
    DIMENSIONS,
    SORT_SCRIPT,
    _common,
    all_framework_columns,
    csp,
    environment,
    render_single,
    subject_views,
)
from openaudit.render.tally import tally
from openaudit.report import Report

VERDICT_RANK = {"open": 3, "partial": 2, "unknown": 1, "closed": 0}


def render_index(report: Report) -> str:
    views = subject_views(report, prefixed=False)
    views.sort(key=lambda v: (-(v.score if v.score is not None else -1), v.repo_id))
    return environment().get_template("index.html").render(
        views=views, fw_cols=all_framework_columns(views), dims=DIMENSIONS, rank=VERDICT_RANK,
        script=SORT_SCRIPT, csp=csp(SORT_SCRIPT), tally=tally([v.subject for v in views]), **_common(report))


def site_files(report: Report) -> dict[str, str]:
    files = {"index.html": render_index(report)}
    for i, v in enumerate(subject_views(report, prefixed=False)):
        files[f"models/{v.file_slug}.html"] = render_single(report, i, back_href="../index.html")
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
