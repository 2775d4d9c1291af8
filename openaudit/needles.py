"""Needles: exact lower-case strings one of which any match of a case-blind regex contains.

A case-blind search (`re.IGNORECASE`) of a long text for a pattern that matches rarely costs a scan
of the whole text by re's engine, which no literal prefix speeds up. Drawn from re's own parse of the
pattern, the needles let a caller case-fold the text once (`fold`) and look for them with `str.find`
(memchr-fast): a text holding none of them cannot match, and the pattern itself is searched only when
one is found. Used by the card's sentence questions (openaudit.card) and the licence fingerprints
(openaudit.licenses.identify).
"""

from __future__ import annotations

import re
from typing import Any

# The parsed pattern gives a set of "needles": lower-case ASCII strings, one of which lies in any text the
# pattern matches. A pattern with no needle (one that can match without any fixed text) gives None: it
# is searched as it is.
#
# Case-folding: under re.IGNORECASE a character matches an ASCII pattern character when both have the
# same simple lower case, or are one of re's extra equivalences (ı ~ i, ſ ~ s); str.lower() gives the
# simple lower case of every character except İ (to i + a combining dot, so it is mapped to i first,
# which also keeps the text's length, so that offsets in the folded text are offsets in the text).
# tests/unit/test_card.py checks both claims over every code point.
# (Until issue 23's licence item this lived in openaudit/card.py, which imports it from here.)
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})
_MAX_NEEDLES = 64


def fold(text: str) -> str:
    """`text` case-folded as re's case-blind matching of ASCII pattern characters folds it, same length."""
    return text.lower() if text.isascii() else text.translate(_FOLD).lower()


_NeedleInfo = tuple[frozenset[str] | None, frozenset[str] | None]  # (every exact match, or one is within any)
_needle_cache: dict[str, frozenset[str] | None] = {}
try:  # re's own parser (private, stable since 3.11); without it, no prefilter
    from re import _constants as _rc  # type: ignore[attr-defined,unused-ignore]
    from re import _parser as _re_parser  # type: ignore[attr-defined,unused-ignore]

    _CAN_PREFILTER = True
except ImportError:
    _CAN_PREFILTER = False


def needles(pattern: str) -> frozenset[str] | None:
    """Lower-case ASCII strings one of which any match of `pattern` (case-blind) contains; None if unknown."""
    try:
        return _needle_cache[pattern]
    except KeyError:
        pass
    if not _CAN_PREFILTER:
        _needle_cache[pattern] = None
        return None
    try:
        parsed = _re_parser.parse(pattern, re.IGNORECASE)
        exact, req = _seq_needles(parsed)
        found = _best(exact, req)
        if found is not None:  # a needle that holds another is never needed
            found = frozenset(n for n in found if not any(m != n and m in n for m in found))
    except (re.error, RecursionError, AttributeError, TypeError, ValueError):
        found = None
    if len(_needle_cache) < 4096:
        _needle_cache[pattern] = found
    return found


def _best(*options: frozenset[str] | None) -> frozenset[str] | None:
    """The option to scan for: long enough needles first (a 6-letter one is rarely found by chance), then
    the fewest; an option holding "" (a match may have no fixed text) is no option."""
    useful = [o for o in options if o and "" not in o]
    return max(useful, key=lambda o: (min(min(map(len, o)), 6), -len(o), min(map(len, o))), default=None)


def _seq_needles(items: Any) -> _NeedleInfo:
    """A sequence of nodes: the exact strings of its runs of fixed-size nodes, joined while they stay
    few (_MAX_NEEDLES); the best of every run's and every node's needles is required of any match."""
    options: list[frozenset[str] | None] = []
    cur: frozenset[str] | None = frozenset({""})  # the exact strings of the current run of nodes
    broken = False
    text = ""  # plain ASCII characters not yet appended to the run (the common case, done cheaply)

    def extend(ex: frozenset[str] | None) -> None:
        nonlocal cur, broken
        if ex is not None and cur is not None and len(cur) * len(ex) <= _MAX_NEEDLES:
            cur = frozenset(a + b for a in cur for b in ex)
        else:
            options.append(cur)
            cur, broken = ex, True

    for op, av in items:
        if op is _rc.LITERAL and av < 128:
            text += chr(av).lower()
            continue
        if op is _rc.AT:  # ^, $, \b: zero width
            continue
        if text:
            extend(frozenset({text}))
            text = ""
        ex, req = _node_needles(op, av)
        if op is not _rc.IN:  # any one node's needles are the sequence's too (a character class's
            options.append(_best(ex, req))  # are never better than its run's)
        extend(ex)
    if text:
        extend(frozenset({text}))
    options.append(cur)
    return (None if broken else cur), _best(*options)


def _node_needles(op: Any, av: Any) -> _NeedleInfo:
    """One parsed node: (its exact strings, if few; needles one of which any match of it holds)."""
    if op is _rc.LITERAL:
        ch = chr(av)
        return (frozenset({ch.lower()}), None) if ch.isascii() else (None, None)
    if op is _rc.AT:  # ^, $, \b: zero width
        return frozenset({""}), None
    if op is _rc.SUBPATTERN:
        return _seq_needles(av[-1])
    if op is _rc.ATOMIC_GROUP:
        return _seq_needles(av)
    if op is _rc.BRANCH:
        return _branch_needles(av[1])
    if op is _rc.IN:
        return _class_needles(av), None
    if op in (_rc.MAX_REPEAT, _rc.MIN_REPEAT, _rc.POSSESSIVE_REPEAT):
        return _repeat_needles(*av)
    return None, None  # any character, a category, a negation, a lookaround, a back-reference


def _branch_needles(arms_items: Any) -> _NeedleInfo:
    """An alternation: exact strings if every arm has them; required needles if every arm has some."""
    arms = [_seq_needles(arm) for arm in arms_items]
    exacts = [e for e, _ in arms if e is not None]
    exact = frozenset().union(*exacts) if len(exacts) == len(arms) else None
    if exact is not None and len(exact) > _MAX_NEEDLES:
        exact = None
    each = [_best(e, r) for e, r in arms]
    req = frozenset().union(*each) if all(each) and sum(map(len, each)) <= _MAX_NEEDLES else None  # type: ignore[arg-type]
    return exact, req


def _class_needles(items: Any) -> frozenset[str] | None:
    """A character class of at most 16 ASCII characters, lower-cased; any other class gives none."""
    chars: set[str] = set()
    for iop, iav in items:
        if iop is _rc.LITERAL:
            chars.add(chr(iav))
        elif iop is _rc.RANGE and iav[1] - iav[0] < 16:
            chars.update(map(chr, range(iav[0], iav[1] + 1)))
        else:
            return None
    if not all(ch.isascii() for ch in chars) or len(chars) > 16:
        return None
    return frozenset(ch.lower() for ch in chars)


def _repeat_needles(lo: int, hi: int, sub: Any) -> _NeedleInfo:
    """A repeat: optional (x?) keeps the exact strings plus ""; once is the node itself; more keeps
    only the needles required of each repetition; zero-or-more gives none."""
    ex, req = _seq_needles(sub)
    if lo == 0:
        if hi == 1 and ex is not None:
            return ex | {""}, None
        return None, None
    if lo == hi == 1:
        return ex, req
    return None, _best(ex, req)
