"""How many of a report's models got each verdict: the lines under an organisation's table.

A table of 80 (or 2,000) rows says how open each model is, not how open the organisation is:
"weights open for 78 of 80, data closed for 61, OSAID met by none" is the sentence a reader of
`openaudit org` is after. Counted from the same verdicts as the table, in the table's words.
"""

from __future__ import annotations

import statistics
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
    if len(rows) < TALLY_FROM:
        return None
    status = Counter(r.status for r in rows)
    judged = [r for r in rows if r.dimensions]  # a skipped model has no verdict to count
    dims = []
    for d in DIMENSIONS:
        got = Counter(r.dimensions[d].verdict for r in judged if d in r.dimensions)
        if got:
            dims.append((d, _ordered(got, VERDICT_ORDER)))
    present = {k for r in judged for k in r.frameworks}
    fws = []
    for f in [f for f in FRAMEWORK_ORDER if f in present] + sorted(present - set(FRAMEWORK_ORDER)):
        labels = [framework_label(r.frameworks[f]) for r in judged if f in r.frameworks]
        fws.append((f, _summed(labels)))
    flags = Counter(fid for r in rows for fid in {fl.id for fl in r.flags})
    return Tally(models=len(rows), status=_ordered(status, STATUS_ORDER), dimensions=dims, frameworks=fws,
                 flagged=sum(1 for r in rows if r.flags),
                 flags=sorted(flags.items(), key=lambda kv: (-kv[1], kv[0])))


def _ordered(counts: Counter[str], order: Iterable[str]) -> list[tuple[str, int]]:
    known = [(k, counts[k]) for k in order if counts.get(k)]
    return known + sorted(((k, n) for k, n in counts.items() if k not in order), key=lambda kv: (-kv[1], kv[0]))


def _summed(labels: list[str]) -> str:
    """Counts of each result; for a percentage (the OSAI Index), its median and range."""
    pct: list[float] = []
    counts: Counter[str] = Counter()
    for label in labels:
        value = _percent(label)
        if value is None:
            counts[label] += 1
        else:
            pct.append(value)
    head = [f"median {statistics.median(pct):.0f}% ({min(pct):.0f}-{max(pct):.0f}%)"] if pct else []
    ranked = sorted(counts.items(), key=lambda kv: (_RESULT_RANK.get(kv[0], 5), -kv[1], kv[0]))
    return " · ".join(head + [f"{k} {n}" for k, n in ranked])


def _percent(label: str) -> float | None:
    if not label.endswith("%"):
        return None
    try:
        return float(label[:-1])
    except ValueError:
        return None
