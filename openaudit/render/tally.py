"""How many of a report's models got each verdict: the lines under an organisation's table.

A table of 80 (or 2,000) rows says how open each model is, not how open the organisation is:
"weights open for 78 of 80, data closed for 61, OSAID met by none" is the sentence a reader of
`openaudit org` is after. Counted from the same verdicts as the table, in the table's words.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from openaudit.vocab import DIMENSIONS, FRAMEWORK_ORDER, STATUS_ORDER, VERDICT_ORDER

# From this many models on, a comparison is summed up under its table (a few rows speak for themselves).
TALLY_FROM = 10

_SHORT = {"likely-meets": "meets", "likely-fails": "fails", "likely-exempt": "exempt",
          "likely-not-exempt": "not exempt", "undetermined": "undecided"}
# Framework results, best first; others (a profile given as a file) follow by count.
_RESULT_RANK = {"Class I": 0, "Class II": 1, "Class III": 2, "none": 3, "meets": 0, "exempt": 0, "fails": 1,
                "not exempt": 1, "undecided": 9}


def framework_label(fr: Any) -> str:
    """A framework result as the table shows it: "Class II", "meets", "exempt", "65%", ..."""
    if getattr(fr, "mof_class", None) is not None:
        return "none" if fr.mof_class == "none" else f"Class {fr.mof_class}"
    verdict = str(getattr(fr, "verdict", "?"))
    return _SHORT.get(verdict, verdict)


@dataclass(frozen=True)
class Tally:
    models: int
    status: list[tuple[str, int]]  # audited 183, incomplete 17 (none of a status: left out)
    dimensions: list[tuple[str, list[tuple[str, int]]]]  # ("weights", [("open", 183), ("partial", 17)])
    frameworks: list[tuple[str, str]]  # ("mof", "Class I 10 · Class II 20 · none 170"), or a percentage's median
    flagged: int  # models with at least one flag
    flags: list[tuple[str, int]]  # flag id -> models raising it, most first


def tally(rows: Sequence[Any]) -> Tally | None:
    """`rows`: subjects, or anything with their `status`, `dimensions`, `frameworks` and `flags`;
    None for fewer than TALLY_FROM of them (nothing to sum up)."""
    counts = Counts()
    for r in rows:
        counts.add(r)
    return counts.tally()


class Counts:
    """`tally` counted one row at a time, keeping counters only (never the rows): an organisation's
    page sums up its models as each is read."""

    def __init__(self) -> None:
        self.models = 0
        self.status: Counter[str] = Counter()
        self.dimensions: dict[str, Counter[str]] = {d: Counter() for d in DIMENSIONS}
        self.frameworks: dict[str, Counter[str]] = {}  # framework -> how many of each label
        self.flagged = 0
        self.flags: Counter[str] = Counter()

    def add(self, r: Any) -> None:
        self.models += 1
        self.status[r.status] += 1
        if r.dimensions:  # a skipped model has no verdict to count
            for d, got in self.dimensions.items():
                if d in r.dimensions:
                    got[r.dimensions[d].verdict] += 1
            for f, fr in r.frameworks.items():
                self.frameworks.setdefault(f, Counter())[framework_label(fr)] += 1
        self.flags.update({fl.id for fl in r.flags})
        if r.flags:
            self.flagged += 1

    def tally(self) -> Tally | None:
        """The sum so far; None for fewer than TALLY_FROM rows."""
        if self.models < TALLY_FROM:
            return None
        dims = [(d, _ordered(got, VERDICT_ORDER)) for d, got in self.dimensions.items() if got]
        present = set(self.frameworks)
        order = [f for f in FRAMEWORK_ORDER if f in present] + sorted(present - set(FRAMEWORK_ORDER))
        return Tally(models=self.models, status=_ordered(self.status, STATUS_ORDER), dimensions=dims,
                     frameworks=[(f, _summed(self.frameworks[f])) for f in order], flagged=self.flagged,
                     flags=sorted(self.flags.items(), key=lambda kv: (-kv[1], kv[0])))


def _ordered(counts: Counter[str], order: Iterable[str]) -> list[tuple[str, int]]:
    known = [(k, counts[k]) for k in order if counts.get(k)]
    return known + sorted(((k, n) for k, n in counts.items() if k not in order), key=lambda kv: (-kv[1], kv[0]))


def _summed(labels: Counter[str]) -> str:
    """Counts of each result (`labels`: how many models got each); for a percentage (the OSAI Index),
    its median and range."""
    pct: Counter[float] = Counter()
    counts: Counter[str] = Counter()
    for label, n in labels.items():
        value = _percent(label)
        if value is None:
            counts[label] += n
        else:
            pct[value] += n
    head = [f"median {_median(pct):.0f}% ({min(pct):.0f}-{max(pct):.0f}%)"] if pct else []
    ranked = sorted(counts.items(), key=lambda kv: (_RESULT_RANK.get(kv[0], 5), -kv[1], kv[0]))
    return " · ".join(head + [f"{k} {n}" for k, n in ranked])


def _median(counts: Counter[float]) -> float:
    """`statistics.median` of the values counted (each as many times as its count), without listing them."""
    ranked = sorted(counts.items())
    size = sum(counts.values())

    def nth(k: int) -> float:  # the k-th value (from 0) in sorted order
        for value, n in ranked:
            if k < n:
                return value
            k -= n
        raise IndexError(k)

    if size % 2:
        return nth(size // 2)
    return (nth(size // 2 - 1) + nth(size // 2)) / 2


def _percent(label: str) -> float | None:
    if not label.endswith("%"):
        return None
    try:
        return float(label[:-1])
    except ValueError:
        return None
