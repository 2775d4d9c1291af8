"""A report's outcome: the exit code (DESIGN §7) and what was not fully audited, for the CLI, the
GitHub Action and library users alike. Pure functions of a `Report`.

    report = api.audit_models(["org/model"])
    code = exit_code(report)            # 0 ok, 1 policy failed, 3 incomplete
    print(incomplete_summary(report) or "every model audited")
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openaudit.errors import ExitCode
from openaudit.report import Report


def fetch_error_kinds() -> set[str]:
    """Every reason kind a skipped or incomplete subject can have (`budget`, `offline`, ...): the
    FetchError kinds loaded (a kind whose module this run never imported, as the request gate's in a
    replay, was never raised either; importing it would load huggingface_hub)."""
    from openaudit.errors import FetchError

    kinds, todo = set(), [FetchError]
    while todo:
        cls = todo.pop()
        kinds.add(cls.kind)
        todo += cls.__subclasses__()
    return kinds


def _policy(report: Report, key: str, default: Any) -> Any:
    """A value of the report's policy result (a dict, or a model with that attribute)."""
    p = report.policy
    if not p:
        return default
    return p.get(key, default) if isinstance(p, dict) else getattr(p, key, default)


def states(report: Report) -> Iterator[tuple[str, str | None, str | None]]:
    """(status, reason, reason kind) of every subject, without decoding a packed store. A report
    written before subjects had a `reason_kind` has its kind read from the reason's `kind: ` prefix."""
    from openaudit.subjects import kinded_summaries

    known: set[str] | None = None
    for status, reason, kind in kinded_summaries(report.subjects):
        if kind is None and reason and status != "audited":
            known = known if known is not None else fetch_error_kinds()
            prefix = reason.split(":", 1)[0]
            kind = prefix if prefix in known else None
        yield status, reason, kind


def exit_code(report: Report, strict: bool = False) -> ExitCode:
    """3 when a model is incomplete (unless the policy says not to fail on it) or skipped (offline
    skips only with `strict`), else 1 when the policy failed, else 0."""
    rows = list(states(report))
    if any(status == "incomplete" for status, _, _ in rows) and _policy(report, "fail_on_incomplete", True):
        return ExitCode.INCOMPLETE
    skipped = [kind for status, _, kind in rows if status == "skipped"]
    if skipped and (strict or any(kind != "offline" for kind in skipped)):
        return ExitCode.INCOMPLETE
    if report.policy and not _policy(report, "passed", True):
        return ExitCode.POLICY_FAILED
    return ExitCode.OK


def incomplete_summary(report: Report, most: int = 5) -> str | None:
    """What was not fully audited, grouped by why, with a count (a CI log's explanation of exit 3):
    None when every model was audited. A reason of a known kind groups by kind, with the first such
    reason as the example; any other by its text."""
    from openaudit.textsafe import line

    rows = list(states(report))
    if all(status == "audited" for status, _, _ in rows):
        return None
    groups: dict[tuple[str, str], list[str]] = {}
    kinded: set[tuple[str, str]] = set()
    for status, reason, kind in rows:
        if status == "audited":
            continue
        text = reason or "no reason given"
        key = (status, kind if kind is not None else text)
        if kind is not None:
            kinded.add(key)
        groups.setdefault(key, []).append(text)
    shown = sorted(groups.items(), key=lambda g: -len(g[1]))
    lines = [f"{sum(len(v) for v in groups.values())} of {len(rows)} models not fully audited:"]
    for key, reasons in shown[:most]:
        grouped = key in kinded
        example = line(reasons[0] if grouped else key[1], 500)  # one line, whatever a repository put in it
        lines.append(f"  {len(reasons)} {key[0]}: " + (f"{example} (and {len(reasons) - 1} more like it)"
                                                        if grouped and len(reasons) > 1 else example))
    if len(shown) > most:
        lines.append(f"  {sum(len(v) for _, v in shown[most:])} more, for {len(shown) - most} other reasons "
                     "(see the report)")
    return "\n".join(lines)
