"""Plain-words descriptions of licence facts, for people reading a report."""

from __future__ import annotations

from openaudit.licenses.kb import LicenseFacts


def _users(n: int) -> str:
    if n >= 1_000_000_000 and n % 1_000_000_000 == 0:
        return f"{n // 1_000_000_000}B"
    if n >= 1_000_000:
        return f"{n / 1_000_000:g}M"
    return f"{n:,}"


def restriction_phrase(restriction: str, facts: LicenseFacts | None = None) -> str:
    """One restriction in plain words."""
    if restriction == "user-cap":
        cap = facts.user_cap if facts else None
        if cap:
            return f"separate licence above {_users(cap)} monthly users"
        return "separate licence above a user threshold"
    if restriction == "naming-attribution":
        prefix = facts.naming_prefix if facts else None
        return (f"derived models must be named '{prefix}…'" if prefix
                else "derived works must carry the licensor's name or a 'Built with' notice")
    return {
        "acceptable-use-policy": "acceptable-use policy",
        "field-of-use": "use-based restrictions passed on to derivatives",
        "non-commercial": "no commercial use",
        "no-derivatives": "no derivatives may be shared",
        "output-use-limit": "outputs may not be used to improve other models",
        "remote-restriction": "the licensor may restrict use remotely",
        "research-only": "research use only",
    }.get(restriction, restriction)


def describe(facts: LicenseFacts | None) -> str:
    """E.g. "Llama 3.1 Community License Agreement: custom-community licence, not OSI-approved,
    use-restricted: acceptable-use policy; separate licence above 700M monthly users; derived
    models must be named 'Llama…'"."""
    if facts is None or facts.key is None:
        return "no licence identified"
    head = f"{facts.name}: {facts.category} licence"
    flags = []
    if facts.osi_approved:
        flags.append("OSI-approved")
    elif facts.spdx or facts.members:
        flags.append("not OSI-approved")
    else:
        flags.append("not an OSI licence")
    if facts.open_data:
        flags.append("an open-data licence")
    out = ", ".join([head, *flags])
    if facts.restrictions:
        out += ", use-restricted: " + "; ".join(restriction_phrase(r, facts) for r in facts.restrictions)
    if facts.category == "unknown" and facts.notes:
        out += f" ({facts.notes})"
    return out
