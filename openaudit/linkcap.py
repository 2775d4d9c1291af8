"""How many linked repos on the Hub one card can make the tool request (issue 19, class 8).

A card names base models (metadata, tags, prose; and their own bases, up to three levels) and
datasets. Each is a lookup of a few requests; a card that lists hundreds would cost as many, and
answers from a hostile card are not worth a run's budget. At most MAX_CARD_LINKS are looked up per
card: the declared and prose-named bases first (they decide the lineage and the licence a model
inherits), then the datasets in the card's order, then the bases' own bases while slots remain.
The rest are "not checked" with the reason below (never "not found", never a broken lineage) and
do not make the audit incomplete: running again would not look them up either.

Links outside the Hub (GitHub, GitLab, arXiv, Zenodo) have their own per-host caps
(openaudit.sources.external.MAX_LINKS_PER_HOST).
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_CARD_LINKS = 16
CAPPED = "capped:"


class LinkCap:
    """Decides, link by link, which of one card's Hub links are looked up (deterministic per card)."""

    def __init__(self, bases: Iterable[str], datasets: Iterable[str], limit: int = MAX_CARD_LINKS):
        self.limit = limit
        b = list(dict.fromkeys(bases))[:limit]
        d = list(dict.fromkeys(datasets))[: limit - len(b)]
        self._allowed = {f"model:{x}" for x in b} | {f"dataset:{x}" for x in d}
        self._used = len(self._allowed)

    def refuse(self, key: str) -> str | None:
        """None when the link `key` ("model:ID" / "dataset:ID") may be looked up, else why not."""
        if key in self._allowed:
            return None
        if not key.startswith("dataset:") and self._used < self.limit:
            self._allowed.add(key)
            self._used += 1
            return None
        return (f"{CAPPED} the card links more than {self.limit} repos on the Hub (base models and datasets); "
                f"the first {self.limit} are looked up")
