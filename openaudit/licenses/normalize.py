"""Resolve a card's `license` / `license_name` / `license_link` to knowledge-base facts.

Every input gets a reasoned outcome; nothing here raises on bad data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Literal

from license_expression import ExpressionError, Licensing, get_spdx_licensing

from openaudit.licenses.kb import (
    CATEGORY_RANK,
    KnowledgeBase,
    LicenseFacts,
    load_kb,
)

Status = Literal[
    "resolved",  # a Hub id, a known key or a spelling variant
    "other-named",  # license: other + a license_name openaudit knows
    "expression",  # an SPDX expression (AND / OR / WITH)
    "list",  # several licences listed
    "other-unnamed",  # license: other without license_name
    "other-unrecognised",  # license: other + a license_name openaudit does not know
    "unknown",  # license: unknown
    "unrecognised",  # a string that is no Hub id, key, name or expression
    "invalid",  # not a string/list, or an expression that does not parse
    "absent",  # nothing declared
]
MAX_TAG_CHARS = 300


@dataclass(frozen=True)
class TagResolution:
    raw: Any
    license_name: str | None
    license_link: str | None
    status: Status
    key: str | None  # a key, or an expression of keys; None when undecided
    keys: tuple[str, ...]  # every licence key involved
    facts: LicenseFacts | None  # what governs, combined for expressions/lists; None when undecided
    reason: str

    @property
    def known(self) -> bool:
        return self.facts is not None and self.facts.category != "unknown"


@cache
def _licensing() -> Licensing:
    return get_spdx_licensing()


def _resolve_symbol(kb: KnowledgeBase, text: str) -> LicenseFacts | None:
    e = kb.entry_for(text)
    if e is not None and e.key is not None:
        return kb.facts(e)
    return kb.facts_for_key(text)


def combine(parts: list[LicenseFacts], op: Literal["AND", "OR"], key: str) -> LicenseFacts:
    """AND: all apply, so the most restrictive category and every restriction.
    OR: the licensee may choose, so the least restrictive option governs."""

    def r(f: LicenseFacts) -> int:
        return CATEGORY_RANK.get(f.category, 99)

    if op == "OR":
        best = min(parts, key=lambda f: (r(f), len(f.restrictions)))
        return replace(best, key=key, name=" OR ".join(p.name for p in parts),
                       osi_approved=any(p.osi_approved for p in parts),
                       fsf_libre=any(p.fsf_libre for p in parts), spdx=all(p.spdx for p in parts))
    worst = max(parts, key=r)
    restr: list[str] = []
    for p in parts:
        restr.extend(x for x in p.restrictions if x not in restr)
    caps = [p.user_cap for p in parts if p.user_cap]
    unknown = any(p.category == "unknown" for p in parts)
    return LicenseFacts(
        key=key,
        name=" AND ".join(p.name for p in parts),
        category="unknown" if unknown else worst.category,
        osi_approved=all(p.osi_approved for p in parts),
        fsf_libre=all(p.fsf_libre for p in parts),
        open_data=all(p.open_data for p in parts),
        restrictions=tuple(restr),
        user_cap=min(caps) if caps else None,
        spdx=all(p.spdx for p in parts),
        url=None,
        in_kb=all(p.in_kb for p in parts),
        naming_prefix=next((p.naming_prefix for p in parts if p.naming_prefix), None),
    )


def _walk(kb: KnowledgeBase, node: Any, unknown: list[str]) -> LicenseFacts | None:
    lic = _licensing()
    if isinstance(node, (lic.AND, lic.OR)):
        parts = [_walk(kb, a, unknown) for a in node.args]
        good = [p for p in parts if p is not None]
        if len(good) != len(parts):
            return None
        return combine(good, "AND" if isinstance(node, lic.AND) else "OR", str(node))
    if hasattr(node, "license_symbol"):  # A WITH exception: the exception only adds permissions
        base = _walk(kb, node.license_symbol, unknown)
        return replace(base, key=str(node), name=f"{base.name} WITH {node.exception_symbol.key}") if base else None
    key = str(getattr(node, "key", node))
    f = _resolve_symbol(kb, key)
    if f is None:
        unknown.append(key)
    return f


def _expression(kb: KnowledgeBase, s: str, raw: Any, name: str | None, link: str | None) -> TagResolution:
    try:
        parsed = _licensing().parse(s, validate=False, simple=False)
    except (ExpressionError, Exception) as e:  # the parser raises a few unrelated types on garbage
        return TagResolution(raw, name, link, "invalid", None, (), None,
                             f"'{s}' is not a valid SPDX expression ({type(e).__name__}: {str(e)[:120]})")
    if parsed is None:
        return TagResolution(raw, name, link, "invalid", None, (), None, f"'{s}' is an empty expression")
    unknown: list[str] = []
    facts = _walk(kb, parsed, unknown)
    keys = tuple(str(k) for k in _licensing().license_keys(parsed))
    if facts is None:
        return TagResolution(raw, name, link, "unrecognised", None, keys, None,
                             f"expression '{s}' names licence(s) openaudit does not know: {', '.join(unknown)}")
    how = {"AND": "all of them apply, so the most restrictive governs",
           "OR": "the licensee may choose, so the least restrictive option governs"}
    text = str(parsed)
    op = "OR" if " OR " in text and " AND " not in text else "AND"
    reason = (f"SPDX expression {parsed}: {how[op]}" if (" OR " in text or " AND " in text)
              else f"SPDX expression {parsed} (an exception only adds permissions)")
    return TagResolution(raw, name, link, "expression", str(parsed), keys, facts, reason)


def _resolve_list(license: list[Any] | tuple[Any, ...], name: str | None, link: str | None,
                  kb: KnowledgeBase) -> TagResolution:
    """A list of licence ids: the Hub allows one, and a card listing several rarely says which part each
    covers, so all are taken to apply."""
    if len(license) == 1:
        return resolve_tag(license[0], name, link, kb)
    subs = [resolve_tag(x, name, link, kb) for x in license[:20]]
    keys = tuple(k for s in subs for k in s.keys)
    bad = [str(s.raw) for s in subs if s.facts is None]
    if bad:
        return TagResolution(license, name, link, "list", None, keys, None,
                             f"several licences listed; openaudit cannot decide {', '.join(bad)}")
    facts = combine([s.facts for s in subs if s.facts], "AND", " AND ".join(str(s.key) for s in subs))
    return TagResolution(license, name, link, "list", facts.key, keys, facts,
                         "several licences listed without saying which part each covers; "
                         "openaudit assumes all apply, so the most restrictive governs")


def _resolve_other(raw: Any, name: str | None, link: str | None, kb: KnowledgeBase) -> TagResolution:
    """`license: other`: the Hub's way of saying "see license_name / license_link", so the name decides."""
    if name:
        e = kb.entry_for(name)
        if e is not None and e.key is not None:
            f = kb.facts(e)
            return TagResolution(raw, name, link, "other-named", f.key, (f.key or "",), f,
                                 f"license: other with license_name '{name}' → {f.name}")
        f2 = kb.facts_for_key(name)
        if f2 is not None:
            return TagResolution(raw, name, link, "other-named", f2.key, (f2.key or "",), f2,
                                 f"license: other with license_name '{name}' (a known licence key)")
        where = f" (see {link})" if link else ""
        return TagResolution(raw, name, link, "other-unrecognised", None, (), None,
                             f"license: other with license_name '{name}', which openaudit does not know{where}")
    if link:
        return TagResolution(raw, name, link, "other-unnamed", None, (), None,
                             f"license: other without license_name; only license_link {link} says which")
    return TagResolution(raw, name, link, "other-unnamed", None, (), None,
                         "license: other without license_name or license_link: the licence is not named")


def resolve_tag(license: Any, license_name: Any = None, license_link: Any = None,
                kb: KnowledgeBase | None = None) -> TagResolution:
    """Resolve the card's licence fields. Never raises."""
    kb = kb or load_kb()
    name = license_name.strip() if isinstance(license_name, str) and license_name.strip() else None
    link = license_link.strip() if isinstance(license_link, str) and license_link.strip() else None
    raw = license
    if license is None or (isinstance(license, str) and not license.strip()) or license == []:
        return TagResolution(raw, name, link, "absent", None, (), None, "no license declared in the card metadata")
    if isinstance(license, (list, tuple)):
        return _resolve_list(license, name, link, kb)
    if not isinstance(license, str):
        return TagResolution(raw, name, link, "invalid", None, (), None,
                             f"license is a {type(license).__name__}, expected an id or a list of ids")
    s = license.strip()
    if len(s) > MAX_TAG_CHARS:
        return TagResolution(raw, name, link, "invalid", None, (), None,
                             f"license value is {len(s)} characters long; not a licence id")
    low = s.lower()
    if low == "unknown":
        return TagResolution(raw, name, link, "unknown", None, (), None, "the card declares the licence as 'unknown'")
    if low == "other":
        return _resolve_other(raw, name, link, kb)
    e = kb.entry_for(s)
    if e is not None and e.key is not None:
        f = kb.facts(e)
        exact = s in kb.by_hub or s == e.key
        why = f"Hub licence id '{s}'" if s in kb.by_hub else (
            f"licence key '{s}'" if exact else f"spelling variant '{s}' read as {f.key}")
        return TagResolution(raw, name, link, "resolved", f.key, (f.key or "",), f, f"{why} → {f.name}")
    if re.search(r"\s(?:and|or|with)\s|[()]", s, re.IGNORECASE):
        return _expression(kb, s, raw, name, link)
    f3 = kb.facts_for_key(s)
    if f3 is not None:
        return TagResolution(raw, name, link, "resolved", f3.key, (f3.key or "",), f3,
                             f"'{s}' is a licence key the SPDX/ScanCode lists know (not in openaudit's table)")
    return TagResolution(raw, name, link, "unrecognised", None, (), None,
                         f"'{s}' is not a Hub licence id, a known licence name or an SPDX expression")
