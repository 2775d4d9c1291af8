"""The predicate vocabulary of criteria and flags: how a rule's `if:` is checked when a file is
loaded, and how it is evaluated against a subject's evidence.

    has:     KIND | {kind, where: {field: COND}, value: COND, min: N}   some evidence matches
    lacks:   same forms as has                                          no evidence matches
    every:   {kind, where, value}                                       at least one, and all match
    outcome: {criterion: ID, in: [OUTCOMES]}                            another criterion's outcome
    all: [PRED...]   any: [PRED...]   not: PRED

COND is a literal (equality) or one of {eq, ne, in, not_in, contains, gte, gt, lte, lt, matches,
exists, truthy}. Adding a criterion needs no code change; adding a predicate does, on purpose, here
(both `check_predicate` and `_compile` name every predicate).

Evaluation compiles each predicate tree once into nested closures (`holds` looks the tree up by
identity: a profile's trees live as long as the profile), so an audit of N models walks no YAML
mapping N times. A compiled tree does exactly what the tree says, in the same order, and raises
what the walk raised (a broken criterion is that criterion's unknown, in evaluate.py). Trees are
never mutated after loading; a caller that builds one and changes it must pass a new mapping.

Rationales are templates with `{summary}`, `{value}`, `{value.field}`, `{count}` and `{summaries}`
filled from the evidence that made the rule true; most have no field at all and cost nothing.
"""

from __future__ import annotations

import re
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from openaudit.evidence.model import Evidence
from openaudit.vocab import OUTCOMES

PREDICATES = ("has", "lacks", "every", "outcome", "all", "any", "not")
CONDITIONS = ("eq", "ne", "in", "not_in", "contains", "gte", "gt", "lte", "lt", "matches", "exists", "truthy")
MAX_PATTERN_CHARS = 500
MAX_MATCHED_CHARS = 10_000  # a value is matched on its first this many characters


# ---------------------------------------------------------------------------------------------
# Checking a tree when a file is loaded


def _check_cond(cond: Any, where: str) -> None:
    if isinstance(cond, dict):
        unknown = set(cond) - set(CONDITIONS)
        if unknown:
            raise ValueError(f"unknown condition {sorted(unknown)[0]!r} in {where}; use one of {', '.join(CONDITIONS)}")
        if "matches" in cond:
            check_regex(cond["matches"])


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
    """The criterion ids an `outcome:` anywhere in the tree names."""
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


def kinds_referenced(pred: Any) -> set[str]:
    """The evidence kinds a `has`, `lacks` or `every` anywhere in the tree reads."""
    if not isinstance(pred, dict):
        return set()
    out: set[str] = set()
    for name, arg in pred.items():
        if name in ("has", "lacks", "every"):
            kind = arg if isinstance(arg, str) else arg.get("kind") if isinstance(arg, dict) else None
            if isinstance(kind, str):
                out.add(kind)
        elif name in ("all", "any") and isinstance(arg, list):
            for p in arg:
                out |= kinds_referenced(p)
        elif name == "not":
            out |= kinds_referenced(arg)
    return out


# ---------------------------------------------------------------------------------------------
# Evaluating


@dataclass
class Env:
    """What a predicate is evaluated against: a subject's evidence by kind, and the outcomes so far."""

    by_kind: Mapping[str, list[Evidence]]
    outcomes: Mapping[str, str]


def index_evidence(evidence: list[Evidence] | Any) -> dict[str, list[Evidence]]:
    by_kind: dict[str, list[Evidence]] = {}
    for ev in evidence:
        by_kind.setdefault(ev.kind, []).append(ev)
    return by_kind


def cond(actual: Any, cond: Any) -> bool:
    """Whether `actual` meets a COND (a literal, or a mapping of conditions, all of which must hold)."""
    if not isinstance(cond, dict):
        return bool(actual == cond)
    for op, want in cond.items():
        if op == "eq" and actual != want:
            return False
        if op == "ne" and actual == want:
            return False
        if op == "in" and actual not in (want or []):
            return False
        if op == "not_in" and actual in (want or []):
            return False
        if op == "contains" and not (isinstance(actual, (list, str, dict)) and want in actual):
            return False
        if op in ("gte", "gt", "lte", "lt"):
            if not isinstance(actual, (int, float)) or isinstance(actual, bool):
                return False
            if (op == "gte" and not actual >= want) or (op == "gt" and not actual > want):
                return False
            if (op == "lte" and not actual <= want) or (op == "lt" and not actual < want):
                return False
        if op == "matches" and not (isinstance(actual, str)
                                    and re.search(str(want), actual[:MAX_MATCHED_CHARS], re.IGNORECASE)):
            return False
        if op == "exists" and (actual is not None) != bool(want):
            return False
        if op == "truthy" and bool(actual) != bool(want):
            return False
    return True


def field(value: Any, path: str) -> Any:
    """`value.a.b` of a `where` or a rationale's `{value.a.b}`: None where a step is not a mapping."""
    cur = value
    for part in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part)
        else:
            return None
    return cur


Check = Callable[[Env], "tuple[bool, list[Evidence]]"]
Match = Callable[[Env], "list[Evidence]"]


def _compile_matching(arg: Any) -> Match:
    """The evidence of one kind that meets a `has`/`lacks`/`every` argument."""
    if isinstance(arg, str):
        kind = arg
        return lambda env: list(env.by_kind.get(kind, []))
    kind = arg["kind"]
    has_value = "value" in arg
    value_cond = arg.get("value")
    where = list((arg.get("where") or {}).items())
    if not has_value and not where:
        return lambda env: list(env.by_kind.get(kind, []))

    def matching(env: Env) -> list[Evidence]:
        out = []
        for ev in env.by_kind.get(kind, []):
            if has_value and not cond(ev.value, value_cond):
                continue
            if any(not cond(field(ev.value, f), c) for f, c in where):
                continue
            out.append(ev)
        return out

    return matching


def _compile(pred: dict[str, Any] | None) -> Check:
    if pred is None:
        return lambda env: (True, [])
    (name, arg), = pred.items()
    if name == "has":
        match = _compile_matching(arg)
        need = arg.get("min", 1) if isinstance(arg, dict) else 1

        def has(env: Env) -> tuple[bool, list[Evidence]]:
            m = match(env)
            return len(m) >= need, m
        return has
    if name == "lacks":
        match = _compile_matching(arg)
        return lambda env: (not match(env), [])
    if name == "every":
        kind = arg if isinstance(arg, str) else arg["kind"]
        match = _compile_matching(arg)

        def every(env: Env) -> tuple[bool, list[Evidence]]:
            items = env.by_kind.get(kind, [])
            m = match(env)
            return bool(items) and len(m) == len(items), m
        return every
    if name == "outcome":
        criterion, allowed = arg["criterion"], arg.get("in", [])
        return lambda env: (env.outcomes.get(criterion) in allowed, [])
    if name == "all":
        parts = [_compile(p) for p in arg]

        def all_(env: Env) -> tuple[bool, list[Evidence]]:
            used: list[Evidence] = []
            for part in parts:
                ok, ev = part(env)
                if not ok:
                    return False, []
                used += ev
            return True, used
        return all_
    if name == "any":
        parts = [_compile(p) for p in arg]

        def any_(env: Env) -> tuple[bool, list[Evidence]]:
            for part in parts:
                ok, ev = part(env)
                if ok:
                    return True, ev
            return False, []
        return any_
    if name == "not":
        inner = _compile(arg)
        return lambda env: (not inner(env)[0], [])
    raise ValueError(f"unknown predicate {name!r}")


_COMPILED: dict[int, tuple[Any, Check]] = {}
_COMPILED_MAX = 20_000  # distinct trees; loaded profiles hold a few hundred
_LOCK = threading.Lock()


def compiled(pred: dict[str, Any] | None) -> Check:
    """The compiled form of a tree, made on its first evaluation and kept while the tree is."""
    hit = _COMPILED.get(id(pred))
    if hit is not None and hit[0] is pred:
        return hit[1]
    check = _compile(pred)  # raises as an evaluation of a broken tree would
    with _LOCK:
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.clear()
        _COMPILED[id(pred)] = (pred, check)  # the tree is kept, so its id is not reused meanwhile
    return check


def holds(pred: dict[str, Any] | None, env: Env) -> tuple[bool, list[Evidence]]:
    """Evaluate a predicate; returns (truth, the evidence that made it true)."""
    return compiled(pred)(env)


class _SafeFormatter(string.Formatter):
    """Formats `{summary}`, `{value}`, `{value.field}` from the first matching evidence; never raises."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        head, _, rest = field_name.partition(".")
        obj = kwargs.get(head, "")
        return (field(obj, rest) if rest else obj), field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, list):
            return ", ".join(map(str, value))
        return "" if value is None else str(value)


_FORMATTER = _SafeFormatter()


# A parsed template: its text when it names no field, else its parts, each a literal or a field
# name (None: a part the fast path does not handle, so the whole template goes through the Formatter).
_Parsed = tuple[str | None, tuple[tuple[str, str], ...] | None]


@lru_cache(maxsize=4096)
def _parse(template: str) -> _Parsed:
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError:
        return template, None  # formatting would fail the same way, and give the template as it is
    if all(name is None for _, name, _, _ in parts):
        return "".join(literal for literal, _, _, _ in parts).strip(), None
    plain: list[tuple[str, str]] = []
    for literal, name, spec, conversion in parts:
        if name is not None and (name == "" or name.isdigit() or spec or conversion is not None):
            return None, None  # numbered fields, conversions and specs: string.Formatter's own rules
        plain.append((literal, name or ""))
    return None, tuple(plain)


def rationale(template: str, used: list[Evidence]) -> str:
    """A rule's `because` (or a flag's message) filled from the evidence that made it true: what
    `_SafeFormatter().format(template, ...)` gives, without its work for the common templates."""
    const, parts = _parse(template)
    if const is not None:
        return const
    first = used[0] if used else None
    values = {
        "summary": first.summary if first else "",
        "value": first.value if first else "",
        "count": len(used),
        "summaries": "; ".join(e.summary for e in used[:4]),
    }
    if parts is None:
        try:
            return _FORMATTER.format(template, **values).strip()
        except (ValueError, IndexError, KeyError):
            return template
    out: list[str] = []
    for literal, name in parts:
        out.append(literal)
        if name:
            head, _, rest = name.partition(".")
            obj = values.get(head, "")
            out.append(_FORMATTER.format_field(field(obj, rest) if rest else obj, ""))
    return "".join(out).strip()
