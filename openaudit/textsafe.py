"""Repository-derived text made safe for the channel it goes to (issue 26). One small module, no
dependencies, for every output that carries a string a repository chose (an id, a file name, a sha, a
card's words, a server's message):

* :func:`line` — one line of a line-oriented output (the terminal, stderr, progress lines, logs, a
  comment in a YAML file): control characters, newlines, bidi overrides, line separators and lone
  surrogates are shown as escapes (``\\n``, ``\\x1b``, ``\\u202e``), so nothing starts a new line
  (where GitHub Actions would read ``::error::`` or ``::stop-commands::`` as a command) and nothing
  moves the cursor or reorders the text.
* :func:`workflow_data` / :func:`workflow_property` — GitHub Actions workflow-command escaping of a
  message and of a property (``title=``), after :func:`line`'s other escapes.
* :func:`markdown` / :func:`code` — text and inline code in GitHub-flavoured Markdown (a step
  summary, a PR comment): every ASCII punctuation character backslash-escaped, so card Markdown
  shows as text (no link to another site, no remote image, no HTML), and a code span whose fence is
  longer than any run of backticks inside it.
* :func:`scrub` — lone surrogates (``"\\ud800"`` in JSON or YAML decodes to one, and no UTF-8 writer
  can encode it) replaced by U+FFFD in a parsed document, on the way in.

YAML is never built by string formatting: it is emitted by a serializer (openaudit.render.mof_yaml).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["code", "has_surrogate_escape", "line", "markdown", "scrub", "workflow_data", "workflow_property"]

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")  # how JSON spells one
# Each Markdown-special character gets a backslash (str.translate: one pass).
_MD_ESCAPES = {ord(c): "\\" + c for c in "\\`*_{}[]()#!|~"}
_MENTION = re.compile(r"@(?=\w)")


def line(text: object, limit: int | None = None) -> str:
    """`text` as one safe line: what is not printable (controls, newlines, format characters such as
    bidi overrides, separators, surrogates) escaped; cut to `limit` characters of the original."""
    s = str(text)
    if limit is not None and len(s) > limit:
        s = s[:limit] + "…"
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for c in s)


def workflow_data(text: object) -> str:
    """A GitHub Actions workflow-command message: '%', CR and LF escaped as the runner decodes them."""
    return line(str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def workflow_property(text: object) -> str:
    """A workflow-command property value (``title=``): also ':' and ','."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


def markdown(text: object, limit: int | None = None) -> str:
    """Plain text that renders as itself in GitHub Markdown, inside or outside a table cell: one line
    (whitespace runs, newlines included, become one space), HTML's `&<>` as entities, Markdown's
    specials backslash-escaped (no link to another site, no remote image, no emphasis, no cell
    break), no @mention, and what is left unprintable escaped as by `line`."""
    s = " ".join(str(text).split())
    if limit and len(s) > limit:
        s = s[: limit - 1] + "…"
    s = line(s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").translate(_MD_ESCAPES))
    return _MENTION.sub("@\u200b", s)


def code(text: object, limit: int | None = None) -> str:
    """An inline code span holding `text` verbatim on one line (a pipe escaped for a table cell)."""
    s = line(text, limit).replace("|", "\\|")
    runs = [len(m) for m in re.findall(r"`+", s)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def has_surrogate_escape(raw: bytes) -> bool:
    """Whether a JSON body may decode to a lone surrogate (a `\\uD800`-`\\uDFFF` escape in it)."""
    return _SURROGATE_ESCAPE.search(raw) is not None


def scrub(value: Any) -> Any:
    """`value` (parsed JSON or YAML) with every lone surrogate, in keys and values, replaced by U+FFFD.
    Pairs that JSON spells as two escapes were joined by the parser; what is left is lone."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {scrub(k): scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value
