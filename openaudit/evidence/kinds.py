"""Which evidence kinds exist: each extractor declares the kinds it emits, `@emits("license.tag")`.

Kinds are strings shared between code (the extractors) and data (criteria/*.yaml, flags.yaml, a
user's profile). A kind named in YAML that no extractor declares is a typo or a kind that was
renamed: `has: weights.publishd` would silently read as absent. So the profile and flag loaders
refuse such a file, naming it, the field and the kind (`check_kinds`), and a test checks that every
literal kind an extractor module passes to `out.add` is one it declares.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from openaudit.errors import ConfigFileError

F = TypeVar("F", bound=Callable[..., Any])

# kind -> the function that declared it first (module.qualname)
_DECLARED: dict[str, str] = {}
# Kinds the pipeline itself records (collect_evidence), not an extractor.
PIPELINE_KINDS = {"extractor.error": "openaudit.evidence.collect_evidence"}


def emits(*kinds: str) -> Callable[[F], F]:
    """Declare the evidence kinds a function adds to `out` (every kind, including ones built at run
    time such as `access.private`)."""

    def mark(fn: F) -> F:
        fn.emits = tuple(kinds)  # type: ignore[attr-defined]
        for kind in kinds:
            _DECLARED.setdefault(kind, f"{fn.__module__}.{fn.__qualname__}")
        return fn

    return mark


def declared_kinds() -> dict[str, str]:
    """Every kind some extractor declares, with where it is declared (importing every extractor)."""
    from openaudit.evidence import _extractors

    _extractors()
    return {**PIPELINE_KINDS, **_DECLARED}


def check_kinds(path: str | Path, named: Iterable[tuple[tuple[int | str, ...], str]], text: str | None = None) -> None:
    """Raise ConfigFileError for the first kind in `named` ((field location, kind) pairs, in file
    order) that no extractor declares, with the file, the line when it can be found, and the field.
    `text` is the file's text as loaded (read again from `path` for the line only when not given)."""
    known = declared_kinds()
    for loc, kind in named:
        if kind in known:
            continue
        close = difflib.get_close_matches(kind, list(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        line = None
        try:
            from openaudit.yamlfile import line_of, read_yaml

            _, node = read_yaml(Path(path), text)
            line = line_of(node, loc)
        except (ConfigFileError, OSError):
            line = None  # the message still names the file and the field
        field = ".".join(str(p) for p in loc) or None
        raise ConfigFileError(str(path), f"unknown evidence kind {kind!r}: no extractor emits it{hint}",
                              line=line, field=field)
