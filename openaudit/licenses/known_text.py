"""A licence file that is a standard licence's own text, told without a matcher.

Most LICENSE files on the Hub are verbatim copies of Apache-2.0 or MIT. The similarity matcher
(openaudit.licenses.similarity) identifies them too, at ~1-2 ms (pyaskalono, used before issue 23,
took ~0.2 s), but only as "nearest SPDX text at 0.99", not as that text. The knowledge base therefore ships those texts
(criteria/license-texts/, named by an entry's `texts`), and a file equal to one of them is that
licence at confidence 1.0, method `known-text`.

"Equal" is deliberately narrow, so that what it accepts is the licence and nothing more: line
breaks, indentation, case and curly quotes are layout; a copyright notice is not part of the
licence (Apache's appendix and MIT's template have a placeholder where copies put a name and a
year), nor is a title line the entry lists (copies of MIT put "MIT License", "The MIT License
(MIT)" or nothing), nor, for Apache-2.0, the appendix after "END OF TERMS AND CONDITIONS" (how to
apply the licence, which many copies leave out). Any other difference, one word added, removed or
changed, and the text goes to the similarity matcher. A notice line that says more than who holds
the copyright ("Copyright 2024 X. Not for commercial use") is not a notice here: it stays in the
text, which then differs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from openaudit.licenses.kb import KnowledgeBase

# A copyright notice: "Copyright (c) 2024 X", "Copyright 2024 X. All rights reserved.",
# "(c) 2024 X", "© X", "Copyright [yyyy] [name of copyright owner]". Bare "Copyright X" (no mark,
# no year) is left in: body lines of the licences themselves start with the word.
_NOTICE = re.compile(r"(?:copyright\s*(?:\(c\)|©)|copyright:?\s+(?=\d{4}|\[yyyy\]|<year>)|\(c\)|©)(?P<rest>.*)", re.I)
# Words that make a "notice" a term of use: such a line is part of the text, not a notice.
_TERMS = re.compile(r"\b(?:may|must|shall|not|no|only|use[sd]?|using|licen[cs]\w*|permi\w*|prohibit\w*|"
                    r"except\w*|restrict\w*|terms?|conditions?|grant\w*|subject|provided|without)\b", re.I)
_RESERVED = re.compile(r"all rights reserved\.?", re.I)
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_TITLE_MARKS = "#*_ \t"
MAX_TITLE_CHARS = 80
MAX_NOTICE_CHARS = 200


def _is_notice(line: str) -> bool:
    if len(line) > MAX_NOTICE_CHARS:
        return False
    if _RESERVED.fullmatch(line):
        return True
    m = _NOTICE.match(line)
    return m is not None and not _TERMS.search(m.group("rest"))


def _lines(text: str) -> list[str]:
    """The text's non-empty lines, stripped, copyright notices left out."""
    out = []
    for raw in text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if line and not _is_notice(line):
            out.append(line)
    return out


def _flat(lines: list[str]) -> str:
    return " ".join(" ".join(lines).translate(_QUOTES).lower().split())


def _title(line: str) -> str:
    return _flat([line.strip(_TITLE_MARKS)])


@dataclass(frozen=True)
class KnownMatch:
    key: str
    excerpt: str  # the text's first line
    note: str = ""


@dataclass(frozen=True)
class _Form:
    key: str
    titles: frozenset[str]
    note: str


@dataclass(frozen=True)
class KnownTexts:
    forms: dict[str, _Form]  # flattened text -> what it is
    longest: int  # characters of the longest text, notices and layout included, with room to spare

    def match(self, text: str) -> KnownMatch | None:
        if len(text) > self.longest:
            return None
        lines = _lines(text)
        if not lines:
            return None
        form = self.forms.get(_flat(lines))
        if form is None and len(lines) > 1 and len(lines[0]) <= MAX_TITLE_CHARS:
            # A title line first: only one the entry lists ("MIT License"), never any short line.
            form = self.forms.get(_flat(lines[1:]))
            if form is not None and _title(lines[0]) not in form.titles:
                form = None
        if form is None:
            return None
        return KnownMatch(form.key, lines[0][:160], form.note)


@cache
def known_texts(kb: KnowledgeBase) -> KnownTexts:
    """The knowledge base's licence texts, flattened once, with the shorter forms each allows."""
    forms: dict[str, _Form] = {}
    longest = 0
    for key, spec, body in kb.license_texts:
        titles = frozenset(_title(t) for t in spec.titles)
        lines = _lines(body)
        if lines and _title(lines[0]) in titles:
            lines = lines[1:]
        forms[_flat(lines)] = _Form(key, titles, "")
        for end in spec.ends:
            at = [i for i, line in enumerate(lines) if _flat([line]) == _flat([end])]
            if at:
                forms[_flat(lines[: at[0] + 1])] = _Form(key, titles, f"the text ends at '{end}'")
        longest = max(longest, len(body))
    return KnownTexts(forms, 2 * longest + 4096)
