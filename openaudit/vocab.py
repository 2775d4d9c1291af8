"""The words of the audit and their orders, in one place.

Outcomes (a criterion's answer), verdicts (a dimension's), statuses (a subject's), the five
dimensions, the order frameworks are shown in, and the ranks that say which of two values is more
open: verdicts, MOF classes and licence categories. Policy thresholds, `diff`, the census and the
renderers all compare with these, so a model that `diff` calls "up" is one a policy also passes.

The MOF classes and their order are data: `criteria/mof.yaml`'s `scoring.classes`, lowest class
first (III, II, I). `MOF_RANK` reads them when it is first used, so importing this module stays
cheap. Everything else here is fixed vocabulary (the report schema names the same words).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from typing import Literal

Outcome = Literal["open", "partial", "closed", "unknown", "not-applicable"]
OUTCOMES: tuple[str, ...] = ("open", "partial", "closed", "unknown", "not-applicable")
Verdict = Literal["open", "partial", "closed", "unknown"]
VERDICTS: tuple[str, ...] = ("open", "partial", "closed", "unknown")
DecidedVerdict = Literal["open", "partial", "closed"]
DECIDED: tuple[str, ...] = ("open", "partial", "closed")
Status = Literal["audited", "incomplete", "skipped"]
STATUSES: tuple[str, ...] = ("audited", "incomplete", "skipped")
DimensionName = Literal["weights", "code", "data", "license", "documentation"]
DIMENSIONS: tuple[str, ...] = ("weights", "code", "data", "license", "documentation")
# The built-in frameworks in the order tables and pages show them; a profile given as a file follows.
FRAMEWORK_ORDER: tuple[str, ...] = ("mof", "osaid", "osai-index", "eu-ai-act")
# Outcomes and verdicts as tables and tallies list them: most open first, undecided last.
VERDICT_ORDER: tuple[str, ...] = OUTCOMES
STATUS_ORDER: tuple[str, ...] = STATUSES

# How open a verdict is, for "at least" comparisons; unknown is not ranked (never meets a bar).
VERDICT_RANK: dict[str, int] = {"closed": 0, "partial": 1, "open": 2}
# A criterion's outcome against a minimum: not-applicable meets any bar.
OUTCOME_RANK: dict[str, int] = {**VERDICT_RANK, "not-applicable": 2}
# The leaderboard's sort key for a verdict column: unknown sorts between partial and closed.
VERDICT_SORT_RANK: dict[str, int] = {"open": 3, "partial": 2, "unknown": 1, "closed": 0}
OsaidVerdict = Literal["likely-meets", "likely-fails", "undetermined"]
OSAID_RANK: dict[str, int] = {"likely-fails": 0, "likely-meets": 1}
EuVerdict = Literal["likely-exempt", "likely-not-exempt", "undetermined"]
EU_RANK: dict[str, int] = {"likely-not-exempt": 0, "likely-exempt": 1}

# MOF classes, lowest first, as criteria/mof.yaml lists them; a policy's `min_mof_class` takes one.
MofClass = Literal["III", "II", "I"]


@cache
def mof_classes() -> tuple[str, ...]:
    """The MOF class ids, lowest first, from the built-in MOF profile's `scoring.classes`."""
    # Read from the file, not through criteria.load_profile: the profile loader checks evidence kinds
    # against the extractors, which use this vocabulary (an import cycle). load_profile validates it.
    from openaudit.locate import criteria_dir
    from openaudit.yamlfile import read_yaml

    data, _ = read_yaml(criteria_dir() / "mof.yaml", nodes=False)
    return tuple(str(c["id"]) for c in data["scoring"]["classes"])


class _MofRank(Mapping[str, int]):
    """`none` 0, then each MOF class by its place in mof.yaml (III 1, II 2, I 3); read when first used."""

    def _table(self) -> dict[str, int]:
        return _mof_rank_table()

    def __getitem__(self, key: str) -> int:
        return self._table()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._table())

    def __len__(self) -> int:
        return len(self._table())

    def __repr__(self) -> str:
        return f"MOF_RANK({self._table()!r})"


@cache
def _mof_rank_table() -> dict[str, int]:
    return {"none": 0, **{cid: i + 1 for i, cid in enumerate(mof_classes())}}


MOF_RANK: Mapping[str, int] = _MofRank()

# Licence categories (the knowledge base's, criteria/licenses.yaml), by how *closed* each is, for
# "more restrictive than" comparisons; unknown is not ranked.
CATEGORY_RANK: dict[str, int] = {
    "public-domain": 0,
    "permissive": 0,
    "open-data": 0,
    "copyleft": 1,
    "custom-community": 3,
    "use-restricted": 3,
    "non-commercial": 4,
    "no-derivatives": 5,
    "proprietary": 6,
}
# The same categories on the verdict scale (how the site colours them), in the order it lists them.
CATEGORY_TONE: dict[str, str] = {
    "public-domain": "open", "permissive": "open", "open-data": "open", "copyleft": "open",
    "custom-community": "partial", "use-restricted": "partial",
    "non-commercial": "closed", "no-derivatives": "closed", "proprietary": "closed",
}
# How open a licence category is for `diff` (higher is more open): the tone's verdict rank. Proprietary
# is left unranked, as `diff` always had it: a change to or from it reads "changed", not up or down.
LICENSE_RANK: dict[str, int] = {c: VERDICT_RANK[t] for c, t in CATEGORY_TONE.items() if c != "proprietary"}
