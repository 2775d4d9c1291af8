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
STREAMS: dict[str, str] = {"json": "openaudit.render.jsonfmt:render_chunks"}


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
