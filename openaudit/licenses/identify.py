"""Identify a licence text: AI-licence fingerprints first, then a standard licence's own text
(openaudit.licenses.known_text), then word-bigram similarity to the SPDX texts
(openaudit.licenses.similarity, method `spdx-similarity`), then title fallbacks.

Why this order. The similarity matcher (askalono's method; pyaskalono itself until issue 23, at
0.2-0.3 s a call) is accurate on standard licences, including reflowed or prefixed copies. Its
references are SPDX only: they do not hold the Llama, Gemma, DeepSeek, Qwen or Falcon licences,
and the nearest SPDX neighbour of those scores low. Some of those licences also embed standard text (the TII
Falcon License is Apache-2.0 based), so the knowledge base's fingerprints (a title line, a
version/date line, distinctive clauses) are checked first. Titles only count on their own line,
so a MIT licence that merely mentions "the Llama 3.1 Community License" is not taken for it.
An Apache-2.0 text without its appendix scored as "Pixar" with askalono (the Pixar licence is
Apache-2.0 with a changed trademark clause and no appendix): the references include Apache-2.0
without its appendix, and a "Pixar" answer for a text that does not name Pixar is read as
Apache-2.0. A standard licence with terms added (a non-commercial clause) is not identified.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal

from openaudit.licenses import similarity
from openaudit.licenses.kb import KBEntry, KnowledgeBase, load_kb, spdx_id
from openaudit.licenses.known_text import known_texts
from openaudit.needles import fold, needles

Method = Literal["known-text", "spdx-similarity", "fingerprint"]
SIMILARITY: Method = "spdx-similarity"  # until issue 23 "askalono", the matcher then behind it

MAX_SCAN_CHARS = 200_000  # fingerprints look at the head of the text only
MAX_MATCH_CHARS = 64_000  # the longest common licence (GPL-3.0) is ~35 kB
MATCH_ACCEPT = 0.6  # Dice over word bigrams; a licence text scores 0.9-1.0, an unrelated one < 0.3
FINGERPRINT_ACCEPT = 0.5
W_TITLE, W_VERSION, W_CLAUSE, MAX_CLAUSES = 0.6, 0.35, 0.1, 3


@dataclass(frozen=True)
class Identification:
    key: str
    confidence: float  # 0..1
    method: Method
    excerpt: str  # the title / matched line, at most 160 characters
    note: str = ""


@dataclass(frozen=True)
class _Rx:
    """A fingerprint's regex with its needles (openaudit.needles): lower-case strings one of which any
    text it matches holds once case-folded. A long text that is no AI licence matches none of the ~45
    title and version regexes, and each case-blind search of it cost re a full scan (~0.17 ms on
    GPL-3.0's 35 kB); `str.find` of the needles in the text folded once costs a fraction of that."""

    rx: re.Pattern[str]
    needles: frozenset[str] | None  # None: no fixed text in every match, so always searched
    gate: str  # a string every needle holds ("licen" of "licence"/"license"): looked for first

    def search(self, text: str, folded: _Folded) -> re.Match[str] | None:
        if self.needles is not None and not folded.holds(self.needles, self.gate):
            return None
        return self.rx.search(text)


class _Folded:
    """A text case-folded once (openaudit.needles.fold), and which needles it holds, found once each."""

    __slots__ = ("found", "text")

    def __init__(self, text: str) -> None:
        self.text = fold(text)
        self.found: dict[str, bool] = {}

    def holds(self, needles: frozenset[str], gate: str = "") -> bool:
        found = self.found
        if gate:
            got = found.get(gate)
            if got is None:
                got = found[gate] = gate in self.text
            if not got:
                return False
        for n in needles:
            got = found.get(n)
            if got is None:
                got = found[n] = n in self.text
            if got:
                return True
        return False


def _rx(pattern: str, flags: int) -> _Rx:
    found = needles(pattern)
    return _Rx(re.compile(pattern, flags), found, _common(found) if found and len(found) > 1 else "")


def _common(strings: frozenset[str]) -> str:
    """The longest string that every one of `strings` holds ("" when it is shorter than 4 characters, or
    the shortest string is over 64: a knowledge base may be the user's, and this is a cubic search)."""
    first = min(strings, key=len)
    if len(first) > 64:
        return ""
    for size in range(len(first), 3, -1):
        for i in range(len(first) - size + 1):
            part = first[i: i + size]
            if all(part in s for s in strings):
                return part
    return ""


@dataclass(frozen=True)
class _Compiled:
    entry: KBEntry
    titles: tuple[_Rx, ...]
    versions: tuple[_Rx, ...]
    clauses: tuple[_Rx, ...]


@cache
def _compiled(kb: KnowledgeBase) -> tuple[tuple[_Compiled, ...], tuple[_Compiled, ...]]:
    """(AI licences, standard licences) with fingerprints, regexes compiled."""
    ai: list[_Compiled] = []
    std: list[_Compiled] = []
    for e in kb.entries:
        fp = e.fingerprints
        if fp is None or e.key is None:
            continue
        c = _Compiled(
            entry=e,
            titles=tuple(_rx(rf"^[ \t#*_>|\-]*(?:{t})[ \t*_.:|]*$", re.I | re.M) for t in fp.titles),
            versions=tuple(_rx(v, re.I) for v in fp.versions),
            clauses=tuple(_rx(c, re.I) for c in fp.clauses),
        )
        (std if spdx_id(e.key) else ai).append(c)
    return tuple(ai), tuple(std)


@dataclass(frozen=True)
class _Texts:
    """The text as the fingerprints read it: `lines` (titles are looked for on a line of their own) and
    `flat` (versions and clauses, whitespace runs as one space), each with its case-folded form."""

    lines: str
    flat: str
    folded_lines: _Folded
    folded_flat: _Folded

    @classmethod
    def of(cls, head: str) -> _Texts:
        flat = _flatten(head)
        return cls(head, flat, _Folded(head), _Folded(flat))


def _flatten(text: str) -> str:
    r"""`re.sub(r"\s+", " ", text)`, done by `str.split` (both read whitespace as str.isspace does;
    tests/unit/licenses/test_license_identify.py checks every code point): ~5x faster on a long text."""
    if not text:
        return text
    inner = " ".join(text.split())
    if not inner:
        return " "
    return (" " if text[0].isspace() else "") + inner + (" " if text[-1].isspace() else "")


def _score(c: _Compiled, t: _Texts) -> tuple[float, str]:
    score, excerpt = 0.0, ""
    for rx in c.titles:
        m = rx.search(t.lines, t.folded_lines)
        if m:
            score += W_TITLE
            excerpt = m.group(0).strip().strip("#*_>|-").strip()
            break
    for rx in c.versions:
        m = rx.search(t.flat, t.folded_flat)
        if m:
            score += W_VERSION
            excerpt = excerpt or m.group(0)
            break
    if score + W_CLAUSE * MAX_CLAUSES < FINGERPRINT_ACCEPT:
        # Neither title nor version: the clauses alone cannot reach acceptance, and a score below it is
        # never used, so they are not searched (most of the fingerprints' cost on a long text).
        return score, excerpt
    hits = 0
    for rx in c.clauses:
        if rx.search(t.flat, t.folded_flat):
            hits += 1
            if hits == MAX_CLAUSES:
                break
    score += W_CLAUSE * hits
    return min(score, 1.0), excerpt


def _best(cands: tuple[_Compiled, ...], t: _Texts) -> Identification | None:
    best: tuple[float, int, str, str] | None = None
    for c in cands:
        s, ex = _score(c, t)
        if s >= FINGERPRINT_ACCEPT and c.entry.key and (best is None or (s, len(ex)) > best[:2]):
            best = (s, len(ex), ex, c.entry.key)
    if best is None:
        return None
    return Identification(key=best[3], confidence=round(best[0], 3), method="fingerprint", excerpt=best[2][:160])


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:160]
    return ""


def _match_call(text: str) -> tuple[str, float, str] | None:
    """The nearest SPDX reference to `text` by word-bigram similarity (openaudit.licenses.similarity):
    (key, score, added terms); None when the index is absent or stale, or the text has no words."""
    m = similarity.best_match(text)
    return (m.key, m.score, m.added) if m else None


@lru_cache(maxsize=256)
def _match(text: str) -> tuple[str, float, str] | None:
    """The nearest SPDX licence, cached by text in this process: the same Apache/MIT text recurs across
    repos. (Matches were also kept on disk between runs, for askalono's ~0.3 s a text; a match now
    costs ~1-4 ms, about what reading a kept entry did, and a cache of verdict inputs is one more
    thing a stranger could poison: nothing is kept.)"""
    return _match_call(text)


def identify_with_reason(text: str | None, path: str = "", kb: KnowledgeBase | None = None
                         ) -> tuple[Identification | None, str]:
    """Identify a licence text; when nothing is identified, say why.

    Results for the built-in knowledge base are cached by (text, path): the same LICENSE text
    recurs across the repos of an organisation (DeepSeek ships one MIT file in dozens of repos).
    """
    if kb is None and isinstance(text, str):
        return _identify_cached(text, path)
    return _identify(text, path, kb)


@lru_cache(maxsize=1024)
def _identify_cached(text: str, path: str) -> tuple[Identification | None, str]:
    return _identify(text, path, None)


def _identify(text: str | None, path: str, kb: KnowledgeBase | None) -> tuple[Identification | None, str]:
    if not isinstance(text, str):
        return None, "no text"
    if "\x00" in text[:8192]:
        return None, "binary content (NUL bytes)"
    head = text[:MAX_SCAN_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    if not head.strip():
        return None, "empty file"
    note = f"only the first {MAX_SCAN_CHARS} characters were read" if len(text) > MAX_SCAN_CHARS else ""
    kb = kb or load_kb()
    ai, std = _compiled(kb)
    texts = _Texts.of(head)
    hit = _best(ai, texts)
    if hit:
        return (Identification(hit.key, hit.confidence, hit.method, hit.excerpt, note) if note else hit), ""
    known = known_texts(kb).match(head)
    if known:
        return Identification(known.key, 1.0, "known-text", known.excerpt, known.note), ""
    guess = _match(head[:MAX_MATCH_CHARS])
    if guess and guess[1] >= MATCH_ACCEPT and not guess[2]:
        key, score, _ = guess
        extra = ""
        if key == "Pixar" and "pixar" not in head.lower():
            key = "Apache-2.0"
            extra = "nearest was Pixar (Apache-2.0 with a changed clause); no Pixar text, read as Apache-2.0"
        return Identification(key=spdx_id(key) or key, confidence=round(score, 3), method=SIMILARITY,
                              excerpt=_first_line(head), note="; ".join(x for x in (extra, note) if x)), ""
    if guess and guess[1] >= MATCH_ACCEPT:
        # A standard licence with terms added ("MIT, not for commercial use"): not that licence, nor
        # (by its title line) the licence at a lower confidence.
        return None, (f"no known licence text recognised: it reads as {guess[0]} ({guess[1]:.2f}) with added "
                      f"terms of its own: '{guess[2][:120]}'")
    hit = _best(std, texts)
    if hit:
        return Identification(hit.key, min(hit.confidence, 0.7), hit.method, hit.excerpt,
                              note or "title line only; the full text did not match"), ""
    why = "no known licence text recognised"
    if guess is None and similarity.load_index() is None:
        why += " (the SPDX licence index is missing or stale: only verbatim known texts and titles were read)"
    elif guess:
        why += f" (nearest SPDX text: {guess[0]} at {guess[1]:.2f}, below {MATCH_ACCEPT})"
    return None, why


def identify_text(text: str | None, path: str = "") -> Identification | None:
    """The licence a text is, or None (empty, binary, or not recognised)."""
    return identify_with_reason(text, path)[0]
