"""Prose a reader understands: licence names instead of keys, lists joined as lists.

Shared by every human renderer (terminal, Markdown, HTML, site). Evidence ids (`access.gated#1`)
and licence keys (`llama-3.1-license-2024`) are the machine formats' words; a sentence shows the
licence's name, and a list of sentences reads as one list ("a; b; c."), never "a.; b.; c.".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache, lru_cache

# A sentence ended, then joined to the next with "; " (evaluate's `{summaries}`): one separator.
_DOT_JOIN = re.compile(r"(?<=[^.])\.(\s*);(?=\s)")
# Key-shaped tokens the knowledge base does not list but still are keys (our own LicenseRef-*).
_OWN_KEY = re.compile(r"\bLicenseRef-openaudit-[A-Za-z0-9.+-]*[A-Za-z0-9+]")


@cache
def _kb_names() -> tuple[dict[str, str], re.Pattern[str] | None]:
    """Non-SPDX keys of the licence knowledge base -> their names (SPDX ids read as names already)."""
    try:
        from openaudit.licenses.kb import library_knows, load_kb

        kb = load_kb()
    except Exception:  # a broken KB is the audit's error, not the renderer's
        return {}, None
    names = {k: e.name for k, e in kb.by_key.items() if e.name and library_knows(k) != "spdx"}
    if not names:
        return {}, None
    alt = "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True))
    return names, re.compile(rf"(?<![\w.-])(?:{alt})(?![\w-]|\.\w)")


def license_name(key: str | None, name: str | None = None) -> str:
    """The name a reader knows a licence by: the report's name, else the knowledge base's, else the key."""
    if name and name != key:
        return name
    if not key:
        return name or "unknown"
    names, _ = _kb_names()
    if key in names:
        return names[key]
    if key.startswith("LicenseRef-openaudit-"):
        return key.removeprefix("LicenseRef-openaudit-").replace("-", " ")
    return key


# Starts only where a run of white space starts: linear on any text (a run is not retried from each of its spaces).
_LICENSE_WORD = re.compile(r"(?<!\s)\s+Licen[cs]e(?:\s+Agreement|\s+Terms)?\b")


def short_license_name(key: str | None, name: str | None = None, limit: int = 26) -> str:
    """A table cell's licence: the SPDX id where there is one ("Apache-2.0", "MIT"), else the name
    without "License Agreement" ("Llama 3.1 Community"), cut to `limit` characters."""
    from openaudit.licenses.kb import library_knows

    if key and library_knows(key) == "spdx":
        text = key
    else:
        text = license_name(key, name)
        shorter = _LICENSE_WORD.sub("", text, count=1).strip()
        text = shorter if len(shorter) > 2 else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def join_list(items: Iterable[object], sep: str = "; ", end: str = "") -> str:
    """Items as one list: each item's own closing full stop dropped, `sep` between, `end` after."""
    parts = [str(i).strip().rstrip(".").strip() for i in items]
    parts = [p for p in parts if p]
    return sep.join(parts) + (end if parts else "")


def humanize(text: object, names: Mapping[str, str] | None = None) -> str:
    """Prose with licence keys shown as names and ".;" joins as one "; ". `names`: more key -> name
    pairs (a report's own licence, which may be a ScanCode key the knowledge base does not list)."""
    s = "" if text is None else str(text)
    if not s:
        return s
    # An organisation's models repeat the same sentences: each is rewritten once.
    return _humanize(s, tuple(names.items()) if names else ())


@lru_cache(maxsize=16384)
def _humanize(s: str, names: tuple[tuple[str, str], ...]) -> str:
    if ".;" in s or ". ;" in s:
        s = _DOT_JOIN.sub(r"\1;", s)
    if s.endswith(":"):  # a template's list came out empty: "No training code is published:"
        s = s[:-1].rstrip() + "."
    if "-" not in s:
        return s  # every key has a hyphen: most sentences stop here
    kb, pattern = _kb_names()
    for key, name in names:
        if key and name and key != name and key in s:
            s = re.sub(rf"(?<![\w.-]){re.escape(key)}(?![\w-]|\.\w)", _literal(name), s)
    if pattern is not None:
        s = pattern.sub(lambda m: kb[m.group(0)], s)
    if "LicenseRef-openaudit-" in s:
        s = _OWN_KEY.sub(lambda m: license_name(m.group(0)), s)
    return _fold_prefix(s)


def _literal(text: str) -> Callable[[re.Match[str]], str]:
    """A replacement that is the text itself (a licence name with a backslash is no group reference)."""
    return lambda _m: text


def _fold_prefix(s: str) -> str:
    """"X: a; X: b; X: c" -> "X: a; b; c" (one licence's restrictions, listed once under its name)."""
    parts = s.split("; ")
    if len(parts) < 2:
        return s
    head, colon, _ = parts[0].partition(": ")
    if not colon or len(head) > 80 or not all(p.startswith(head + ": ") for p in parts[1:]):
        return s
    return parts[0] + "; " + "; ".join(p[len(head) + 2:] for p in parts[1:])
