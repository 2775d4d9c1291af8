"""Licence changes between two revisions of one repo (for the `license-changed` flag)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openaudit.licenses.kb import CATEGORY_RANK


def _effective(items: Iterable[Any]) -> dict[str, Any] | None:
    for ev in items:
        kind = ev.get("kind") if isinstance(ev, dict) else getattr(ev, "kind", None)
        if kind == "license.effective":
            value = ev.get("value") if isinstance(ev, dict) else getattr(ev, "value", None)
            return value if isinstance(value, dict) else None
    return None


def license_changes(old_evidence: Iterable[Any], new_evidence: Iterable[Any]) -> list[dict[str, Any]]:
    """Compare the `license.effective` items of an older and a newer revision.

    Accepts Evidence objects or their JSON dicts. Returns [] when nothing changed or either side
    has no effective-licence item; otherwise one dict:
    {from, to, from_category, to_category, direction, restrictions_added, restrictions_removed,
    summary}; direction is "more-open", "more-restrictive" or "changed".
    """
    old, new = _effective(old_evidence), _effective(new_evidence)
    if old is None or new is None:
        return []
    ok, nk = old.get("key"), new.get("key")
    oc, nc = old.get("category"), new.get("category")
    orr, nr = list(old.get("restrictions") or []), list(new.get("restrictions") or [])
    if ok == nk and oc == nc and sorted(orr) == sorted(nr):
        return []
    added = [r for r in nr if r not in orr]
    removed = [r for r in orr if r not in nr]
    ro, rn = CATEGORY_RANK.get(str(oc)), CATEGORY_RANK.get(str(nc))
    if ro is not None and rn is not None and rn != ro:
        direction = "more-open" if rn < ro else "more-restrictive"
    elif added and not removed:
        direction = "more-restrictive"
    elif removed and not added:
        direction = "more-open"
    else:
        direction = "changed"
    return [{
        "from": ok,
        "to": nk,
        "from_category": oc,
        "to_category": nc,
        "direction": direction,
        "restrictions_added": added,
        "restrictions_removed": removed,
        "summary": f"licence changed from {ok or 'none'} ({oc}) to {nk or 'none'} ({nc}): {direction}",
    }]
