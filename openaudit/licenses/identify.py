"""Identify a licence text: AI-licence fingerprints first, then a standard licence's own text
(openaudit.licenses.known_text), then askalono, then title fallbacks.

Why this order. askalono (pyaskalono, the Rust matcher behind `askalono`) is accurate on
standard licences, including reflowed or prefixed copies; pyaskalono 0.2 reloads its store on
every call (0.15-0.5 s), hence the cache by text below. Its corpus is SPDX only: it has never
seen the Llama, Gemma, DeepSeek, Qwen or Falcon licences, and gives its nearest SPDX neighbour
for them. Some of those licences also embed standard text (the TII
Falcon License is Apache-2.0 based), so the knowledge base's fingerprints (a title line, a
version/date line, distinctive clauses) are checked first. Titles only count on their own line,
so a MIT licence that merely mentions "the Llama 3.1 Community License" is not taken for it.
One known askalono confusion is corrected: an Apache-2.0 text without its appendix scores as
"Pixar" (the Pixar licence is Apache-2.0 with a changed trademark clause).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Literal

from openaudit.licenses.kb import KBEntry, KnowledgeBase, load_kb, spdx_id
from openaudit.licenses.known_text import known_texts

Method = Literal["known-text", "askalono", "fingerprint"]

MAX_SCAN_CHARS = 200_000  # fingerprints look at the head of the text only
MAX_ASKALONO_CHARS = 64_000  # the longest common licence (GPL-3.0) is ~35 kB
ASKALONO_ACCEPT = 0.6
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
class _Compiled:
    entry: KBEntry
    titles: tuple[re.Pattern[str], ...]
    versions: tuple[re.Pattern[str], ...]
    clauses: tuple[re.Pattern[str], ...]


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
            titles=tuple(re.compile(rf"^[ \t#*_>|\-]*(?:{t})[ \t*_.:|]*$", re.I | re.M) for t in fp.titles),
            versions=tuple(re.compile(v, re.I) for v in fp.versions),
            clauses=tuple(re.compile(c, re.I) for c in fp.clauses),
        )
        (std if spdx_id(e.key) else ai).append(c)
    return tuple(ai), tuple(std)


def _score(c: _Compiled, lines_text: str, flat: str) -> tuple[float, str]:
    score, excerpt = 0.0, ""
    for rx in c.titles:
        m = rx.search(lines_text)
        if m:
            score += W_TITLE
            excerpt = m.group(0).strip().strip("#*_>|-").strip()
            break
    for rx in c.versions:
        m = rx.search(flat)
        if m:
            score += W_VERSION
            excerpt = excerpt or m.group(0)
            break
    hits = sum(1 for rx in c.clauses if rx.search(flat))
    score += W_CLAUSE * min(hits, MAX_CLAUSES)
    return min(score, 1.0), excerpt


def _best(cands: tuple[_Compiled, ...], lines_text: str, flat: str) -> Identification | None:
    best: tuple[float, int, str, str] | None = None
    for c in cands:
        s, ex = _score(c, lines_text, flat)
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


# pyaskalono 0.2 loads its store (tens of MB, native) on every call. Called from N audit threads,
# glibc keeps that memory in N per-thread arenas (measured: 598 MB with 16 threads vs 73 MB with
# one). All calls therefore run on one dedicated thread, whatever the caller's concurrency.
_ASKALONO_THREAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="askalono")


def _askalono_call(text: str) -> tuple[str, float] | None:
    try:
        import askalono
    except ImportError:  # pragma: no cover - a declared dependency; keep the fingerprints usable
        return None
    try:
        r = askalono.identify(text)
    except Exception:  # the Rust side should not raise, but a licence file must never stop an audit
        return None
    return str(r.name), float(r.score)


# A memo (key, compute, valid) -> value, kept on disk between runs (openaudit.run.workers.SharedMemo):
# set in the audit worker processes, and for the run by `memo_in_use` when the audits run in a thread
# (openaudit.run.workers.Auditors), so the same Apache/MIT text is matched once, not by each process and
# again on every run.
SHARED_MEMO: Callable[[str, Callable[[], Any], Callable[[Any], bool]], Any] | None = None


@contextmanager
def memo_in_use(memo: Callable[[str, Callable[[], Any], Callable[[Any], bool]], Any] | None) -> Iterator[None]:
    """askalono's matches go through `memo` (see SHARED_MEMO) inside the block; as before after it."""
    global SHARED_MEMO
    before, SHARED_MEMO = SHARED_MEMO, memo
    try:
        yield
    finally:
        SHARED_MEMO = before


@cache
def _askalono_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pyaskalono")
    except PackageNotFoundError:  # pragma: no cover - a declared dependency
        return "unknown"


def _as_match(got: Any) -> tuple[str, float] | None:
    """A memo's value as askalono's (name, score); None for anything else (a damaged cache file)."""
    if (isinstance(got, (list, tuple)) and len(got) == 2 and isinstance(got[0], str)
            and isinstance(got[1], (int, float)) and not isinstance(got[1], bool) and 0 <= got[1] <= 1):
        return str(got[0]), float(got[1])
    return None


@lru_cache(maxsize=256)
def _askalono(text: str) -> tuple[str, float] | None:
    """askalono's best SPDX match (~0.15-0.5 s a call), cached by text: the same Apache/MIT text
    recurs across repos."""
    def call() -> tuple[str, float] | None:
        return _ASKALONO_THREAD.submit(_askalono_call, text).result()

    if SHARED_MEMO is None:
        return call()
    # The match depends on the text and on askalono's corpus, i.e. its version: both are in the key.
    key = f"askalono {_askalono_version()}:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return _as_match(SHARED_MEMO(key, call, lambda v: _as_match(v) is not None))


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
    flat = re.sub(r"\s+", " ", head)
    hit = _best(ai, head, flat)
    if hit:
        return (Identification(hit.key, hit.confidence, hit.method, hit.excerpt, note) if note else hit), ""
    known = known_texts(kb).match(head)
    if known:
        return Identification(known.key, 1.0, "known-text", known.excerpt, known.note), ""
    guess = _askalono(head[:MAX_ASKALONO_CHARS])
    if guess and guess[1] >= ASKALONO_ACCEPT:
        key, score = guess
        extra = ""
        if key == "Pixar" and "pixar" not in head.lower():
            key = "Apache-2.0"
            extra = "askalono said Pixar (Apache-2.0 with a changed clause); no Pixar text, read as Apache-2.0"
        return Identification(key=spdx_id(key) or key, confidence=round(score, 3), method="askalono",
                              excerpt=_first_line(head), note="; ".join(x for x in (extra, note) if x)), ""
    hit = _best(std, head, flat)
    if hit:
        return Identification(hit.key, min(hit.confidence, 0.7), hit.method, hit.excerpt,
                              note or "title line only; the full text did not match"), ""
    why = "no known licence text recognised"
    if guess:
        why += f" (askalono's nearest: {guess[0]} at {guess[1]:.2f}, below {ASKALONO_ACCEPT})"
    return None, why


def identify_text(text: str | None, path: str = "") -> Identification | None:
    """The licence a text is, or None (empty, binary, or not recognised)."""
    return identify_with_reason(text, path)[0]
