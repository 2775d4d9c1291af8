"""Renderers: Report -> text. Each format is one function; machine formats go to stdout or --output."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import import_module

from openaudit.report import Report

# A renderer returns text, or UTF-8 bytes when the output can be large (json).
Renderer = Callable[[Report], str | bytes]

# format name -> "module:function"; modules are imported on first use so `--format json` stays light.
FORMATS: dict[str, str] = {
    "terminal": "openaudit.render.terminal:render",
    "json": "openaudit.render.jsonfmt:render",
    "mof-yaml": "openaudit.render.mof_yaml:render",
    "sarif": "openaudit.render.sarif:render",
    "junit": "openaudit.render.junit:render",
    "github": "openaudit.render.github:render",
    "html": "openaudit.render.html:render",
    "md": "openaudit.render.markdown:render",
    "badge": "openaudit.render.badge:render",
    "site": "openaudit.render.site:render",
}


# Formats that can also be written in chunks, as they are rendered: an organisation's JSON report is
# never held whole in memory (see `stream`).
STREAMS: dict[str, str] = {"json": "openaudit.render.jsonfmt:render_chunks",
                           "html": "openaudit.render.html:render_chunks",
                           "sarif": "openaudit.render.sarif:render_chunks",
                           "mof-yaml": "openaudit.render.mof_yaml:render_chunks"}


def register(name: str, target: str) -> None:
    FORMATS[name] = target


def renderer(name: str) -> Renderer:
    try:
        mod, _, fn = FORMATS[name].partition(":")
    except KeyError:
        from openaudit.errors import UsageError

        raise UsageError(f"unknown format '{name}'; available: {', '.join(sorted(FORMATS))}") from None
    func: Renderer = getattr(import_module(mod), fn)
    return func


def stream(name: str) -> Callable[[Report], str | bytes | Iterable[bytes]]:
    """The chunked renderer of a format when it has one, else its renderer (the same output)."""
    if name in STREAMS:
        mod, _, fn = STREAMS[name].partition(":")
        func: Callable[[Report], Iterable[bytes]] = getattr(import_module(mod), fn)
        return func
    return renderer(name)


def without_render_failures(report: Report, formats: Iterable[str]) -> Report | None:
    """After a renderer failed on the whole report: the report with each subject that fails a format
    on its own replaced by an `incomplete` subject saying so (one model never takes the run down,
    issue 26), or None when no single subject fails (the failure is not one model's)."""
    from openaudit.report import Subject
    from openaudit.subjects import Packed, SubjectStore, as_packed
    from openaudit.textsafe import line

    # A run's store gives a store (each subject decoded one at a time, the rest kept packed): the
    # report of an organisation is never held as every subject's objects at once.
    subjects: list[Subject | Packed] | SubjectStore = (
        SubjectStore() if isinstance(report.subjects, SubjectStore) else [])
    changed = False
    for item in as_packed(report.subjects):
        s = item.subject() if isinstance(item, Packed) else item
        kept: Subject | Packed = item
        for f in formats:
            if f == "site":
                continue
            try:
                _consume(stream(f)(report.model_copy(update={"subjects": [s]})))
            except Exception as e:  # one model's failure, whatever it is: that model's reason
                if getattr(e, "exit_code", None) == 2:  # a usage error is the run's
                    raise
                detail = line(str(e), 200)
                kept = Subject(repo_id=s.repo_id, revision=s.revision,
                               requested_revision=s.requested_revision, source=s.source,
                               status="incomplete", taken_at=s.taken_at, reason_kind="error",
                               reason=f"error: {type(e).__name__} while rendering {f}"
                               + (f": {detail}" if detail else ""))
                changed = True
                break
        subjects.append(kept)
        del s, item
    return report.model_copy(update={"subjects": subjects}) if changed else None


def _consume(data: str | bytes | Iterable[bytes]) -> None:
    if isinstance(data, str):
        data.encode("utf-8")  # what writing it would do
    elif not isinstance(data, bytes):
        for _chunk in data:
            pass
