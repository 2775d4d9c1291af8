"""Profiles and criteria as data, and the small vocabulary of predicates they may use.

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
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from openaudit.errors import ConfigFileError
from openaudit.vocab import OUTCOMES as OUTCOMES
from openaudit.vocab import Outcome as Outcome
from openaudit.yamlfile import load_model

Severity = Literal["error", "warning", "note"]
PREDICATES = ("has", "lacks", "every", "outcome", "all", "any", "not")
CONDITIONS = ("eq", "ne", "in", "not_in", "contains", "gte", "gt", "lte", "lt", "matches", "exists", "truthy")
_ID_RE = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$"  # pydantic's (Rust) regex: `$` is the end of the text only


def _check_cond(cond: Any, where: str) -> None:
    if isinstance(cond, dict):
        unknown = set(cond) - set(CONDITIONS)
        if unknown:
            raise ValueError(f"unknown condition {sorted(unknown)[0]!r} in {where}; use one of {', '.join(CONDITIONS)}")
        if "matches" in cond:
            check_regex(cond["matches"])


MAX_PATTERN_CHARS = 500
MAX_MATCHED_CHARS = 10_000  # evaluate.py: a value is matched on its first this many characters
MAX_WEIGHT = 1_000_000.0


def check_regex(pattern: Any) -> None:
    """A user's `matches` pattern, or ValueError: it must compile and run in time polynomial in the
    input, so no quantifier over something that is itself quantified or holds alternatives (`(a+)+`,
    `(a|aa)*`: catastrophic backtracking), no backreference, at most MAX_PATTERN_CHARS long. The value
    matched is cut to MAX_MATCHED_CHARS, so what remains is bounded too."""
    if not isinstance(pattern, str):
        raise ValueError(f"matches: expected a regular expression (a string), got {type(pattern).__name__}")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"matches: pattern longer than {MAX_PATTERN_CHARS} characters")
    try:
        from re import _parser as sre_parse  # type: ignore[attr-defined]

        tree = sre_parse.parse(pattern)
    except re.error as e:
        raise ValueError(f"matches: invalid regular expression: {e}") from None
    except RecursionError:
        raise ValueError("matches: pattern nested too deeply") from None
    _check_regex_tree(tree, inside_repeat=False)


def _check_regex_tree(tree: Any, inside_repeat: bool) -> None:
    import re._constants as c

    for op, av in tree:
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            _lo, hi, sub = av
            repeats = hi is c.MAXREPEAT or hi > 1
            if inside_repeat and repeats:
                raise ValueError("matches: nested quantifiers (like (a+)+) can take exponential time; rewrite "
                                 "the pattern without a quantifier inside a quantified group")
            _check_regex_tree(sub, inside_repeat or repeats)
        elif op is c.BRANCH:
            if inside_repeat:
                raise ValueError("matches: alternatives inside a quantified group (like (a|aa)*) can take "
                                 "exponential time; rewrite the pattern")
            for branch in av[1]:
                _check_regex_tree(branch, inside_repeat)
        elif op is c.SUBPATTERN:
            _check_regex_tree(av[-1], inside_repeat)
        elif op in (c.ASSERT, c.ASSERT_NOT):
            _check_regex_tree(av[1], inside_repeat)
        elif op is c.GROUPREF or op is c.GROUPREF_EXISTS:
            raise ValueError("matches: backreferences are not supported")
        elif op is getattr(c, "ATOMIC_GROUP", None):
            _check_regex_tree(av, inside_repeat)


def check_predicate(pred: Any, path: str = "if") -> None:
    """Validate a predicate tree; raises ValueError naming the offending part."""
    if not isinstance(pred, dict) or len(pred) != 1:
        raise ValueError(f"{path}: a predicate is a mapping with exactly one of {', '.join(PREDICATES)}")
    (name, arg), = pred.items()
    if name not in PREDICATES:
        raise ValueError(f"{path}: unknown predicate {name!r}; use one of {', '.join(PREDICATES)}")
    if name in ("all", "any"):
        if not isinstance(arg, list) or not arg:
            raise ValueError(f"{path}.{name}: expected a non-empty list of predicates")
        for i, p in enumerate(arg):
            check_predicate(p, f"{path}.{name}[{i}]")
    elif name == "not":
        check_predicate(arg, f"{path}.not")
    elif name == "outcome":
        if not isinstance(arg, dict) or not isinstance(arg.get("criterion"), str):
            raise ValueError(f"{path}.outcome: expected {{criterion: ID, in: [outcomes]}}")
        bad = [o for o in arg.get("in", []) if o not in OUTCOMES]
        if bad:
            raise ValueError(f"{path}.outcome: unknown outcome {bad[0]!r}")
    else:
        if isinstance(arg, str):
            return
        if not isinstance(arg, dict) or not isinstance(arg.get("kind"), str):
            raise ValueError(f"{path}.{name}: expected an evidence kind or {{kind, where, value, min}}")
        extra = set(arg) - {"kind", "where", "value", "min"}
        if extra:
            raise ValueError(f"{path}.{name}: unknown key {sorted(extra)[0]!r}")
        for field, cond in (arg.get("where") or {}).items():
            _check_cond(cond, f"{path}.{name}.where.{field}")
        if "value" in arg:
            _check_cond(arg["value"], f"{path}.{name}.value")


def criteria_referenced(pred: Any) -> set[str]:
    if not isinstance(pred, dict):
        return set()
    out: set[str] = set()
    for name, arg in pred.items():
        if name == "outcome" and isinstance(arg, dict):
            out.add(str(arg.get("criterion")))
        elif name in ("all", "any") and isinstance(arg, list):
            for p in arg:
                out |= criteria_referenced(p)
        elif name == "not":
            out |= criteria_referenced(arg)
    return out


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
        return next((c for c in self.criteria if c.id == cid), None)


def criteria_dir() -> Path:
    """The built-in criteria: packaged as openaudit/_criteria in a wheel, criteria/ in a checkout."""
    packaged = resources.files("openaudit").joinpath("_criteria")
    if packaged.is_dir():
        return Path(str(packaged))
    here = Path(__file__).resolve().parent.parent / "criteria"
    if here.is_dir():
        return here
    raise ConfigFileError("criteria/", "built-in criteria not found: the installation is incomplete")


BUILTIN_PROFILES = ("openaudit", "mof", "osaid", "osai-index", "eu-ai-act")


def available_profiles() -> list[str]:
    d = criteria_dir()
    return sorted(p.stem for p in d.glob("*.yaml") if p.stem not in ("licenses", "flags", "weight-formats"))


def load_profile_file(path: Path) -> Profile:
    from openaudit.userfiles import read_capped
    from openaudit.yamlfile import MAX_CONFIG_BYTES

    raw = read_capped(path, MAX_CONFIG_BYTES, what="profile file")  # a regular file, capped by bytes read
    prof = load_model(path, Profile, raw.decode("utf-8", errors="replace"))
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
