"""The CI policy: `.openaudit.yaml` (or `[tool.openaudit]` in pyproject.toml), waivers, baselines.

A policy says what a release must meet. `apply_policy(report, policy, today)` is pure: it checks
every audited subject in scope against the thresholds, the flags that fail and the required
criteria, applies waivers, and (with a baseline report) passes what was already failing and is
not worse. It fills `report.policy`; the CLI turns `passed` into exit code 1. `audit` and `org`
share it.

    version: 1
    profiles: [openaudit, mof]
    thresholds:                       # every model in scope
      min_score: 40                   # openaudit score, 0-100
      min_verdict: {data: partial}    # per dimension: open > partial > closed
      min_mof_class: III              # III < II < I
      osaid: [likely-meets]           # accepted OSAID verdicts
      eu_ai_act: [likely-exempt]      # accepted EU AI Act verdicts
      criteria: {OA-DAT-001: partial} # minimum outcome of one criterion
    fail_on_flags: [license-mismatch, license-inherited]
    overrides:                        # stricter (or looser) bars for some models
      - models: ["my-org/flagship-*"]
        thresholds: {min_mof_class: III}
    scope: {include: ["my-org/*"], exclude: ["*-gguf"], since: 2024-01-01}
    fail_on_regression: false         # with --baseline: any downgrade fails
    fail_on_incomplete: true
    waivers:
      - models: "my-org/legacy-*"
        flag: license-file-missing    # or criterion: OA-DAT-001, or rule: min_mof_class
        reason: in-progress           # accepted-risk | upstream-licence | false-positive | data-not-ours | in-progress
        note: LICENSE lands with the next release
        expires: 2026-12-31
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from openaudit.errors import ConfigFileError
from openaudit.report import PolicyResult, Report, Subject
from openaudit.vocab import (
    MOF_RANK,
    OUTCOME_RANK,
    VERDICT_RANK,
    DecidedVerdict,
    DimensionName,
    EuVerdict,
    MofClass,
    OsaidVerdict,
)

POLICY_FILES = (".openaudit.yaml", ".openaudit.yml")
WAIVER_REASONS = ("accepted-risk", "upstream-licence", "false-positive", "data-not-ours", "in-progress")
WaiverReason = Literal["accepted-risk", "upstream-licence", "false-positive", "data-not-ours", "in-progress"]
VerdictName = DecidedVerdict
EXPIRY_WARNING_DAYS = 14


def known_flags() -> set[str]:
    from openaudit.flags import load_flags

    return {f.id for f in load_flags().flags} | {"license-changed"}


@cache
def known_criteria() -> frozenset[str]:
    from openaudit.criteria import available_profiles, load_profile

    ids: set[str] = set()
    for name in available_profiles():
        try:
            ids |= {c.id for c in load_profile(name).criteria}
        except Exception:  # a broken built-in profile is reported when it is run, not here
            continue
    return frozenset(ids)


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when a policy is read

    min_score: float | None = Field(None, ge=0, le=100, description="Minimum openaudit score, 0-100.")
    min_verdict: dict[DimensionName, VerdictName] = Field(default_factory=dict)
    min_mof_class: MofClass | None = None
    osaid: list[OsaidVerdict] | None = Field(None, description="Accepted OSAID verdicts.")
    eu_ai_act: list[EuVerdict] | None = Field(None, description="Accepted EU AI Act verdicts.")
    criteria: dict[str, VerdictName] = Field(default_factory=dict, description="criterion id -> minimum outcome")

    @field_validator("osaid", "eu_ai_act", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("criteria")
    @classmethod
    def _known_criteria(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - known_criteria())
        if unknown:
            raise ValueError(f"unknown criterion {unknown[0]!r} (see `openaudit criteria list`)")
        return v

    def merged(self, other: Thresholds) -> Thresholds:
        data = self.model_dump(exclude_none=True)
        for key, value in other.model_dump(exclude_unset=True).items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return Thresholds.model_validate(data)


def _check_flags(v: list[str]) -> list[str]:
    unknown = [f for f in v if f not in known_flags()]
    if unknown:
        raise ValueError(f"unknown flag {unknown[0]!r}; known: {', '.join(sorted(known_flags()))}")
    return v


class Override(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when a policy is read

    models: list[str] = Field(min_length=1, description="Repo id globs (owner/name).")
    thresholds: Thresholds = Field(default_factory=Thresholds)
    fail_on_flags: list[str] | None = None

    @field_validator("models", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("fail_on_flags")
    @classmethod
    def _flags(cls, v: list[str] | None) -> list[str] | None:
        return _check_flags(v) if v is not None else v


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when a policy is read

    include: list[str] = Field(default_factory=lambda: ["*"])
    exclude: list[str] = Field(default_factory=list)
    since: date | None = Field(None, description="`org` only: models modified on or after this date.")

    def covers(self, repo_id: str) -> bool:
        return _match(repo_id, self.include) and not _match(repo_id, self.exclude)


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when a policy is read

    models: str = Field(description="Repo id glob.")
    criterion: str | None = None
    flag: str | None = None
    rule: str | None = Field(None, description="A threshold rule, e.g. min_mof_class or min_verdict.data.")
    reason: WaiverReason
    note: str = ""
    expires: date

    @field_validator("flag")
    @classmethod
    def _flag(cls, v: str | None) -> str | None:
        if v is not None:
            _check_flags([v])
        return v

    @field_validator("criterion")
    @classmethod
    def _criterion(cls, v: str | None) -> str | None:
        if v is not None and v not in known_criteria():
            raise ValueError(f"unknown criterion {v!r} (see `openaudit criteria list`)")
        return v

    @model_validator(mode="after")
    def _one_target(self) -> Waiver:
        given = [k for k in ("criterion", "flag", "rule") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("a waiver names exactly one of criterion, flag or rule")
        return self

    @property
    def target(self) -> str:
        if self.flag:
            return f"flag:{self.flag}"
        if self.criterion:
            return f"criteria.{self.criterion}"
        return str(self.rule)

    def covers(self, repo_id: str, rule: str) -> bool:
        return _match(repo_id, [self.models]) and (rule == self.target or rule.startswith(self.target + "."))


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when a policy is read

    version: Literal[1]
    profiles: list[str] | None = None
    thresholds: Thresholds = Field(default_factory=Thresholds)
    fail_on_flags: list[str] = Field(default_factory=list)
    overrides: list[Override] = Field(default_factory=list)
    scope: Scope = Field(default_factory=Scope)
    waivers: list[Waiver] = Field(default_factory=list)
    fail_on_incomplete: bool = True
    fail_on_regression: bool = False
    # Filled by the loader.
    file: str = Field("", exclude=True)

    @field_validator("fail_on_flags")
    @classmethod
    def _flags(cls, v: list[str]) -> list[str]:
        return _check_flags(v)

    @field_validator("profiles")
    @classmethod
    def _profiles(cls, v: list[str] | None) -> list[str] | None:
        from openaudit.criteria import available_profiles

        for p in v or []:
            if not p.endswith((".yaml", ".yml")) and p not in available_profiles():
                raise ValueError(f"unknown profile {p!r}; available: {', '.join(available_profiles())}")
        return v

    @model_validator(mode="after")
    def _profiles_cover_thresholds(self) -> Policy:
        if self.profiles is None:
            return self
        needs = {"min_mof_class": "mof", "osaid": "osaid", "eu_ai_act": "eu-ai-act"}
        for t in [self.thresholds, *(o.thresholds for o in self.overrides)]:
            for key, prof in needs.items():
                if getattr(t, key) and prof not in self.profiles:
                    raise ValueError(f"thresholds.{key} needs profile {prof!r} in `profiles`")
        return self

    def thresholds_for(self, repo_id: str) -> tuple[Thresholds, list[str]]:
        t, flags = self.thresholds, list(self.fail_on_flags)
        for o in self.overrides:
            if _match(repo_id, o.models):
                t = t.merged(o.thresholds)
                if o.fail_on_flags is not None:
                    flags = list(o.fail_on_flags)
        return t, flags


def _match(repo_id: str, globs: list[str]) -> bool:
    """The same rule as `--include` (selection.id_matches): full id or name alone, ignoring case."""
    from openaudit.run.targets import id_matches

    return id_matches(repo_id, globs)


# ---------------------------------------------------------------------------------------------
# Loading


def _check_expiry(policy: Policy, path: Path, node: Any, today: date | None) -> None:
    from openaudit.yamlfile import line_of

    if today is None:
        return
    for i, w in enumerate(policy.waivers):
        if w.expires < today:
            raise ConfigFileError(str(path), f"waiver expired on {w.expires.isoformat()}: renew it with a new "
                                  "`expires` date or remove it", line=line_of(node, ("waivers", i, "expires")),
                                  field=f"waivers.{i}.expires")


def load_policy(path: Path, today: date | None = None) -> Policy:
    """Read a policy file (YAML, or a pyproject.toml with [tool.openaudit]); errors name file, line, field.

    With `today`, a waiver whose `expires` is already past is a config error (exit 2)."""
    path = Path(path)
    if path.name == "pyproject.toml":
        return _load_pyproject(path, today)
    from openaudit.yamlfile import load_model, read_yaml

    policy = load_model(path, Policy)
    _, node = read_yaml(path)
    _check_expiry(policy, path, node, today)
    return policy.model_copy(update={"file": _shown_path(path)})


def _toml_line(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Best effort: the line of the first key of `loc` inside [tool.openaudit] (tomllib has no positions)."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip().startswith("[tool.openaudit")), None)
    if start is None:
        return None
    keys = [str(p) for p in loc if isinstance(p, str)]
    best = start + 1
    for key in keys:
        for i in range(best - 1, len(lines)):
            s = lines[i].strip()
            if s.startswith(f"{key} ") or s.startswith(f"{key}=") or s.startswith(f"[tool.openaudit.{key}") \
                    or s.startswith(f"[[tool.openaudit.{key}"):
                best = i + 1
                break
    return best


def _load_pyproject(path: Path, today: date | None) -> Policy:
    import tomllib

    from openaudit.userfiles import read_text_capped
    from openaudit.yamlfile import MAX_CONFIG_BYTES

    text = read_text_capped(path, MAX_CONFIG_BYTES)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigFileError(str(path), f"malformed TOML: {e}") from None
    except (ValueError, RecursionError) as e:  # an integer of thousands of digits; nesting too deep
        raise ConfigFileError(str(path), f"malformed TOML: {str(e)[:200]}") from None
    section = data.get("tool", {}).get("openaudit")
    if not isinstance(section, dict):
        raise ConfigFileError(str(path), "no [tool.openaudit] table")
    try:
        policy = Policy.model_validate(section)
    except ValidationError as e:
        first = e.errors()[0]
        loc = tuple(first["loc"])
        field = "tool.openaudit." + ".".join(str(p) for p in loc) if loc else "tool.openaudit"
        raise ConfigFileError(str(path), first["msg"], line=_toml_line(text, loc), field=field) from None
    for i, w in enumerate(policy.waivers):
        if today is not None and w.expires < today:
            raise ConfigFileError(str(path), f"waiver expired on {w.expires.isoformat()}: renew it with a new "
                                  "`expires` date or remove it", line=_toml_line(text, ("waivers",)),
                                  field=f"tool.openaudit.waivers.{i}.expires")
    return policy.model_copy(update={"file": f"{_shown_path(path)} [tool.openaudit]"})


def find_policy(cwd: Path) -> Path | None:
    """The policy used when --policy is not given: .openaudit.yaml, .openaudit.yml, or a pyproject.toml
    with a [tool.openaudit] table, in the current directory."""
    for name in POLICY_FILES:
        if (cwd / name).is_file():
            return cwd / name
    py = cwd / "pyproject.toml"
    if py.is_file():
        import tomllib

        from openaudit.userfiles import read_text_capped
        from openaudit.yamlfile import MAX_CONFIG_BYTES

        try:
            text = read_text_capped(py, MAX_CONFIG_BYTES)
            # Most projects' pyproject.toml never names openaudit: not parsed then (a cold run's ~3 ms). Only
            # a \u escape in a quoted key could spell the table's name without the word.
            if "openaudit" not in text and "\\u" not in text.lower():
                return None
            if "openaudit" in tomllib.loads(text).get("tool", {}):
                return py
        except (ConfigFileError, ValueError, RecursionError):  # not ours to judge unless it names us
            return None
    return None


def _shown_path(path: Path) -> str:
    """The policy file as reports name it: relative to the working directory when inside it, so a
    report (and a SARIF upload) neither depends on nor discloses where the checkout lives."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def regression_policy(file: str = "(--baseline)") -> Policy:
    """The policy used with --baseline and no policy file: fail on any regression, nothing else."""
    return Policy(version=1, fail_on_regression=True, file=file)


# ---------------------------------------------------------------------------------------------
# Checking


class _Check:
    def __init__(self, repo_id: str):
        self.repo_id = repo_id
        self.rules: list[str] = []
        self.violations: list[dict[str, Any]] = []

    def rule(self, name: str, ok: bool, detail: str, rank: float | None = None) -> None:
        self.rules.append(name)
        if not ok:
            self.violations.append({"repo_id": self.repo_id, "rule": name, "detail": detail, "rank": rank})


def _fw(s: Subject, profile: str) -> Any:
    return s.frameworks.get(profile)


def check_subject(s: Subject, policy: Policy) -> tuple[list[str], list[dict[str, Any]]]:
    """The rules checked for one subject and the ones it fails (before waivers and baseline)."""
    c = _Check(s.repo_id)
    if s.status != "audited":
        # Verdicts of an incomplete audit rest on public metadata only: not checked against thresholds.
        if s.status == "incomplete" and policy.fail_on_incomplete:
            c.rule("incomplete", False, f"audit incomplete: {s.reason or 'unknown reason'}")
        return c.rules, c.violations
    t, flags = policy.thresholds_for(s.repo_id)
    if t.min_score is not None:
        ok = s.score is not None and s.score >= t.min_score
        c.rule("min_score", ok, f"score {s.score if s.score is not None else 'unknown'} is below {t.min_score:g}",
               s.score)
    for dim, want in t.min_verdict.items():
        got = s.dimensions.get(dim)
        verdict = str(got.verdict) if got else "unknown"
        ok = verdict in VERDICT_RANK and VERDICT_RANK[verdict] >= VERDICT_RANK[want]
        c.rule(f"min_verdict.{dim}", ok, f"{dim} is {verdict}, the policy requires {want} or better",
               VERDICT_RANK.get(verdict))
    if t.min_mof_class:
        mof = _fw(s, "mof")
        cls = (mof.mof_class if mof else None) or "none"
        ok = mof is not None and MOF_RANK.get(cls, 0) >= MOF_RANK[t.min_mof_class]
        detail = (f"MOF class {cls}, the policy requires Class {t.min_mof_class} or better" if mof
                  else "the mof profile did not run")
        c.rule("min_mof_class", ok, detail, MOF_RANK.get(cls, 0))
    for key, prof in (("osaid", "osaid"), ("eu_ai_act", "eu-ai-act")):
        accepted = getattr(t, key)
        if accepted:
            fw = _fw(s, prof)
            fv = fw.verdict if fw else None
            c.rule(key, fv in accepted, f"{prof} verdict {fv}, the policy accepts {', '.join(accepted)}"
                   if fw else f"the {prof} profile did not run")
    outcomes = {f.criterion: f.outcome for f in s.findings}
    for cid, want in t.criteria.items():
        got_o = outcomes.get(cid)
        ok = got_o is not None and OUTCOME_RANK.get(got_o, -1) >= VERDICT_RANK[want]
        c.rule(f"criteria.{cid}", ok, f"{cid} is {got_o or 'not evaluated'}, the policy requires {want} or better",
               OUTCOME_RANK.get(got_o or ""))
    fired = {f.id: f for f in s.flags}
    for fid in flags:
        f = fired.get(fid)
        c.rule(f"flag:{fid}", f is None, f"{f.title}: {f.message}" if f else "")
    return c.rules, c.violations


def apply_policy(report: Report, policy: Policy, today: date, baseline: Report | None = None) -> Report:
    """Pure: a copy of `report` with `policy` filled in. `today` decides which waivers have expired.

    With a `baseline` (an earlier report), a violation the baseline already had, for the same model and
    rule and no worse, is kept in the list with `baselined: true` and does not fail the run; with
    `fail_on_regression`, every downgrade since the baseline (see openaudit.diff) is a violation."""
    violations: list[dict[str, Any]] = []
    checked: dict[str, list[str]] = {}
    out_of_scope: list[str] = []
    for s in report.subjects:
        if not policy.scope.covers(s.repo_id):
            out_of_scope.append(s.repo_id)
            continue
        rules, vs = check_subject(s, policy)
        checked[s.repo_id] = rules
        violations += vs

    if baseline is not None:
        _mark_baselined(violations, baseline, policy)
        if policy.fail_on_regression:
            violations += _regressions(baseline, report, policy, checked)

    expired, expiring = _waivers_by_expiry(policy, today)
    used = _apply_waivers(violations, policy, today)
    for v in violations:
        v.pop("rank", None)
        v.setdefault("baselined", False)
    failing = [v for v in violations if not v["waived_by"] and not v["baselined"]]
    unused = [{"index": i, "models": w.models, "target": w.target} for i, w in enumerate(policy.waivers)
              if i not in used and w.expires >= today]
    result = {
        "file": policy.file,
        "passed": not failing,
        "strict_failed": bool(expired),
        "failed": len(failing),
        "violations": violations,
        "waived": sum(1 for v in violations if v["waived_by"]),
        "baselined": sum(1 for v in violations if v["baselined"]),
        "expired_waivers": expired,
        "expiring_waivers": expiring,
        "unused_waivers": unused,
        "checked": checked,
        "out_of_scope": out_of_scope,
        "fail_on_incomplete": policy.fail_on_incomplete,
        "baseline": baseline.generated_at.isoformat() if baseline is not None else None,
        "today": today.isoformat(),
    }
    return report.model_copy(update={"policy": PolicyResult.model_validate(result)})


def _mark_baselined(violations: list[dict[str, Any]], baseline: Report, policy: Policy) -> None:
    """Marks `baselined` each violation the baseline already had (same model and rule) and that is no
    worse, so that adopting a policy does not fail on what was failing before."""
    old: dict[tuple[str, str], dict[str, Any]] = {}
    for s in baseline.subjects:
        if policy.scope.covers(s.repo_id):
            for v in check_subject(s, policy)[1]:
                old[(v["repo_id"], v["rule"])] = v
    for v in violations:
        was = old.get((v["repo_id"], v["rule"]))
        if was is None:
            continue
        worse = v["rank"] is not None and was["rank"] is not None and v["rank"] < was["rank"]
        if not worse:
            v["baselined"] = True


def _regressions(baseline: Report, report: Report, policy: Policy,
                 checked: dict[str, list[str]]) -> list[dict[str, Any]]:
    """fail_on_regression: one violation per downgrade since the baseline, for models in scope (each
    rule is also added to `checked`, so the report says it was checked)."""
    from openaudit.diff import diff_reports

    found: list[dict[str, Any]] = []
    for m in diff_reports(baseline, report)["models"]:
        if not policy.scope.covers(m["repo_id"]):
            continue
        for ch in m["changes"]:
            if ch["direction"] == "down":
                rule = f"regression.{ch['field']}"
                checked.setdefault(m["repo_id"], []).append(rule)
                found.append({"repo_id": m["repo_id"], "rule": rule, "rank": None,
                              "detail": f"less open than the baseline: {ch['summary']}"})
    return found


def _waivers_by_expiry(policy: Policy, today: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The waivers already expired (they fail --strict) and those expiring within EXPIRY_WARNING_DAYS
    (a warning), so that a waiver never lapses unnoticed."""
    expired: list[dict[str, Any]] = []
    expiring: list[dict[str, Any]] = []
    for i, w in enumerate(policy.waivers):
        entry = {"index": i, "models": w.models, "target": w.target, "reason": w.reason,
                 "expires": w.expires.isoformat(), "note": w.note}
        if w.expires < today:
            expired.append(entry)
        elif w.expires <= today + timedelta(days=EXPIRY_WARNING_DAYS):
            expiring.append(entry)
    return expired, expiring


def _apply_waivers(violations: list[dict[str, Any]], policy: Policy, today: date) -> set[int]:
    """Sets `waived_by` on each violation (not baselined) that an unexpired waiver covers, the first that
    does; returns the indexes of the waivers used, so that unused ones can be reported."""
    used: set[int] = set()
    for v in violations:
        v["waived_by"] = None
        if v.get("baselined"):
            continue
        for i, w in enumerate(policy.waivers):
            if w.expires >= today and w.covers(v["repo_id"], v["rule"]):
                v["waived_by"] = {"index": i, "reason": w.reason, "note": w.note, "expires": w.expires.isoformat()}
                used.add(i)
                break
    return used


def strict_outcome(report: Report) -> Report:
    """--strict: expired waivers fail the run too."""
    p = report.policy
    if not p or not p.get("expired_waivers") or not p.get("passed"):
        return report
    return report.model_copy(update={"policy": p.model_copy(update={"passed": False})})


# ---------------------------------------------------------------------------------------------
# What `audit` and `org` call


def resolve(policy_path: Path | None, no_policy: bool, baseline_path: Path | None, cwd: Path,
            today: date) -> tuple[Policy | None, Report | None]:
    """Load the policy (explicit, else discovered in `cwd` unless `no_policy`) and the baseline report.

    Called before any audit so that a bad file fails fast (exit 2), naming the file and the line."""
    from openaudit.report import load_report

    path = policy_path if policy_path is not None else (None if no_policy else find_policy(cwd))
    policy = load_policy(path, today) if path is not None else None
    baseline = load_report(baseline_path) if baseline_path is not None else None
    if baseline is not None and policy is None:
        policy = regression_policy()
    return policy, baseline


def evaluate(report: Report, policy: Policy | None, today: date, baseline: Report | None = None,
             strict: bool = False) -> Report:
    """Apply the policy (if any) to an audit; with `strict`, expired waivers fail the run."""
    if policy is None:
        return report
    out = apply_policy(report, policy, today, baseline)
    return strict_outcome(out) if strict else out
