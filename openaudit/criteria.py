"""Profiles and criteria as data; the predicates their rules use are in predicates.py.

A profile (criteria/*.yaml) lists criteria. A criterion asks one question and answers it with
ordered rules: the first rule whose `if` holds gives the outcome and the rationale. A rule's
`if` is built from these predicates only:

    has:     KIND | {kind, where: {field: COND}, value: COND, min: N}   some evidence matches
    lacks:   same forms as has                                          no evidence matches
    every:   {kind, where, value}                                       at least one, and all match
    outcome: {criterion: ID, in: [OUTCOMES]}                            another criterion's outcome
    all: [PRED...]   any: [PRED...]   not: PRED

COND is a literal (equality) or one of {eq, ne, in, not_in, contains, gte, gt, lte, lt, matches,
exists, truthy}. Adding a criterion needs no code change; adding a predicate does, on purpose.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from openaudit.locate import criteria_dir as criteria_dir
from openaudit.predicates import MAX_MATCHED_CHARS as MAX_MATCHED_CHARS
from openaudit.predicates import MAX_PATTERN_CHARS as MAX_PATTERN_CHARS
from openaudit.predicates import check_predicate as check_predicate
from openaudit.predicates import check_regex as check_regex
from openaudit.predicates import criteria_referenced, kinds_referenced
from openaudit.vocab import OUTCOMES as OUTCOMES
from openaudit.vocab import Outcome as Outcome
from openaudit.yamlfile import load_model

Severity = Literal["error", "warning", "note"]
_ID_RE = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"  # pydantic's (Rust) regex: `$` is the end of the text only
MAX_WEIGHT = 1_000_000.0


def _predicate(v: dict[str, Any] | None) -> dict[str, Any] | None:
    if v is not None:
        check_predicate(v)
    return v


# A rule's `if:`, validated against the predicate vocabulary when the file is loaded.
Predicate = Annotated[dict[str, Any] | None, AfterValidator(_predicate)]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    when: Predicate = Field(None, alias="if")
    then: Outcome
    because: str
    marks: list[str] = Field(default_factory=list)


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ID_RE)
    slug: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    title: str
    question: str
    dimension: str
    weight: float = Field(1.0, ge=0, le=MAX_WEIGHT, allow_inf_nan=False)
    severity: Severity = "warning"
    evidence: list[str] = Field(default_factory=list, description="Evidence kinds this criterion reads.")
    rules: list[Rule] = Field(min_length=1)
    remediation: str = ""
    references: list[str] = Field(default_factory=list)
    content_type: Literal["code", "data", "document"] | None = None  # MOF component type


class Dimension(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str
    weight: float = Field(1.0, ge=0, le=MAX_WEIGHT, allow_inf_nan=False)
    description: str = ""


class MofClass(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    label: str
    requires: list[str]
    optional: list[str] = Field(default_factory=list)


class VerdictRule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    when: Predicate = Field(None, alias="if")
    verdict: str
    because: str = ""


def _default_values() -> dict[Literal["open", "partial", "closed"], float]:
    return {"open": 1.0, "partial": 0.5, "closed": 0.0}


class Scoring(BaseModel):
    """How findings become a result. `method` names one of a few aggregations in scoring.py."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["dimensions", "mean", "mof-classes", "verdict-rules"]
    values: dict[Literal["open", "partial", "closed"], float] = Field(default_factory=_default_values)
    classes: list[MofClass] = Field(default_factory=list)
    stands_in: dict[str, str] = Field(default_factory=dict, description="MOF: component -> substitute component")
    strict: bool = False
    verdicts: list[VerdictRule] = Field(default_factory=list)

    @field_validator("values")
    @classmethod
    def _in_range(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if not 0 <= x <= 1:
                raise ValueError(f"value of {k!r} must be between 0 and 1")
        return v


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    version: str
    title: str
    description: str = ""
    references: list[str] = Field(default_factory=list)
    dimensions: dict[str, Dimension] = Field(default_factory=dict)
    scoring: Scoring
    criteria: list[Criterion] = Field(min_length=1)
    # Filled by the loader, not by the file.
    path: str = ""
    sha256: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        ids = [c.id for c in self.criteria]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate criterion id {dupes[0]}")
        known = set(ids)
        for c in self.criteria:
            if self.dimensions and c.dimension not in self.dimensions:
                raise ValueError(f"criterion {c.id} names undefined dimension {c.dimension!r}")
            for r in c.rules:
                for ref in criteria_referenced(r.when):
                    if ":" not in ref and ref not in known:
                        raise ValueError(f"criterion {c.id} refers to undefined criterion {ref}")
        for cls in self.scoring.classes:
            for comp in (*cls.requires, *cls.optional):
                if comp not in known:
                    raise ValueError(f"class {cls.id} requires undefined component {comp}")
        for a, b in self.scoring.stands_in.items():
            if a not in known or b not in known:
                raise ValueError(f"stands_in {a} -> {b} names an undefined component")
        for v in self.scoring.verdicts:
            for ref in criteria_referenced(v.when):
                if ":" not in ref and ref not in known:
                    raise ValueError(f"verdict {v.verdict!r} refers to undefined criterion {ref}")
        return self

    def criterion(self, cid: str) -> Criterion | None:
        return _criteria_by_id(self.criteria).get(cid)


# Scoring looks up every finding's criterion: an index per list of criteria, kept with the list (so
# its id is not reused while the entry lives), and made again for a list it has not seen.
_BY_ID: dict[int, tuple[list[Criterion], dict[str, Criterion]]] = {}


def _criteria_by_id(criteria: list[Criterion]) -> dict[str, Criterion]:
    hit = _BY_ID.get(id(criteria))
    if hit is not None and hit[0] is criteria:
        return hit[1]
    index: dict[str, Criterion] = {}
    for c in criteria:
        index.setdefault(c.id, c)  # the first of a repeated id, as a scan would find it
    if len(_BY_ID) >= 1000:
        _BY_ID.clear()
    _BY_ID[id(criteria)] = (criteria, index)
    return index


def kinds_named(prof: Profile) -> list[tuple[tuple[int | str, ...], str]]:
    """Every evidence kind the profile names, with the field it is named in, in file order."""
    named: list[tuple[tuple[int | str, ...], str]] = []
    for i, c in enumerate(prof.criteria):
        named += [(("criteria", i, "evidence", j), k) for j, k in enumerate(c.evidence)]
        for j, r in enumerate(c.rules):
            named += [(("criteria", i, "rules", j, "if"), k) for k in sorted(kinds_referenced(r.when))]
    for i, v in enumerate(prof.scoring.verdicts):
        named += [(("scoring", "verdicts", i, "if"), k) for k in sorted(kinds_referenced(v.when))]
    return named


BUILTIN_PROFILES = ("openaudit", "mof", "osaid", "osai-index", "eu-ai-act")


def available_profiles() -> list[str]:
    d = criteria_dir()
    return sorted(p.stem for p in d.glob("*.yaml") if p.stem not in ("licenses", "flags", "weight-formats"))


def load_profile_file(path: Path) -> Profile:
    from openaudit.userfiles import read_capped
    from openaudit.yamlfile import MAX_CONFIG_BYTES

    raw = read_capped(path, MAX_CONFIG_BYTES, what="profile file")  # a regular file, capped by bytes read
    text = raw.decode("utf-8", errors="replace")
    prof = load_model(path, Profile, text)
    from openaudit.evidence.kinds import check_kinds

    check_kinds(path, kinds_named(prof), text)  # a kind no extractor emits is a typo, not "absent"
    return prof.model_copy(update={"path": str(path), "sha256": hashlib.sha256(raw).hexdigest()})


@cache
def _builtin(name: str) -> Profile:
    return load_profile_file(criteria_dir() / f"{name}.yaml")


def load_profile(name_or_path: str) -> Profile:
    """A built-in profile by id (`mof`), or a user profile file by path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or (os.sep in name_or_path and p.is_file()):
        return load_profile_file(p)
    if name_or_path not in available_profiles():
        from openaudit.errors import UsageError

        raise UsageError(f"unknown profile '{name_or_path}'; available: {', '.join(available_profiles())}")
    return _builtin(name_or_path)
