"""What the CLI and library users call: options in, a `Report` out.

The work is elsewhere: `openaudit.audit` audits one snapshot bundle (pure), `openaudit.run` runs the
read -> link -> audit pipeline for `audit`, `org` and `snapshot` (options, targets, linking, worker
processes), and `openaudit.sources` is the only I/O (the Hub, the snapshot cache, a store, a folder).
These functions keep their keyword arguments for library users; `run_audit` and `run_org` take a
`RunOptions` and return the run's counts as a `RunStats` too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any

from openaudit.audit import audit_bundle, audit_packed, default_profiles, resolve_profiles
from openaudit.criteria import load_profile
from openaudit.outcome import exit_code, incomplete_summary
from openaudit.report import Report
from openaudit.run.linker import RunMemo, fetch_bundle
from openaudit.run.options import RunOptions
from openaudit.run.pipeline import Progress, RunStats
from openaudit.run.targets import parse_targets
from openaudit.snapshot import RepoSnapshot
from openaudit.sources import Source, make_source

__all__ = ["RunMemo", "RunOptions", "RunStats", "audit_bundle", "audit_models", "audit_org", "audit_packed",
           "default_profiles", "exit_code", "fetch_bundle", "incomplete_summary", "load_profile", "make_source",
           "parse_targets", "record_snapshots", "resolve_profiles", "run_audit", "run_org"]

_OPTION_NAMES = {f.name for f in fields(RunOptions)}


def _options(kwargs: dict[str, Any]) -> RunOptions:
    """RunOptions from the keyword arguments of `audit_models`/`audit_org` (a usage error when invalid)."""
    return RunOptions(**{k: v for k, v in kwargs.items() if k in _OPTION_NAMES})


def run_audit(targets: Sequence[str], options: RunOptions, *, source: Source | None = None,
              progress: Progress | None = None,
              started: Callable[[str], Any] | None = None) -> tuple[Report, RunStats]:
    """Audit Hub ids (`owner/name[@rev]`) or local folders; every requested model is in the report.

    Args:
        targets: ids and folders; `options.include/exclude/since/limit` choose among them (what they
            leave out is not requested, and not in the report).
        options: the run (see RunOptions).
        source: read through this source instead of the one the options describe.
        progress: `progress(target, done, total)` as each target is finished, whatever became of it.
        started: `started(repo_id)` as a Hub model is started.
    """
    from openaudit.run.commands import audit_targets

    return audit_targets(targets, options, source=source, progress=progress, started=started)


def run_org(org: str, options: RunOptions, *, progress: Progress | None = None) -> tuple[Report, RunStats]:
    """Audit every model of an organisation (DESIGN §8): one listing, pinned parallel reads, the cache.

    Every listed model is in the report: what could not be fetched (budget spent, rate limited,
    offline and not cached) is an `incomplete` or `skipped` subject with its reason. With
    `options.snapshots` the organisation is the store's owner folder. `progress(what, done, total)`
    counts the reads and the audits (two steps a model). The report's `subjects` is a packed,
    read-only `SubjectStore` (openaudit.subjects), decoded as each subject is read.
    """
    from openaudit.run.commands import audit_organisation

    return audit_organisation(org, options, progress=progress)


def audit_models(targets: Sequence[str], *, source: Source | None = None,
                 progress: Callable[[str], Any] | None = None, done: Callable[[str, int, int], Any] | None = None,
                 stats: dict[str, Any] | None = None, **options: Any) -> Report:
    """`run_audit` with the options as keyword arguments (those of RunOptions: snapshots, profiles,
    token, strict, jobs, depth, include, exclude, since, limit, max_requests, cache_dir, refresh,
    offline, processes, external, now, ...). `progress(repo_id)` as a Hub model is started,
    `done(target, n, total)` as each target is finished; `stats`, if given, is filled with the
    run's counts (RunStats.AUDIT_KEYS)."""
    _no_unknown(options)
    report, run = run_audit(targets, _options(options), source=source, progress=done, started=progress)
    if stats is not None:
        stats.update(run.as_dict(RunStats.AUDIT_KEYS))
    return report


def audit_org(org: str, *, progress: Progress | None = None, stats: dict[str, Any] | None = None,
              **options: Any) -> Report:
    """`run_org` with the options as keyword arguments (see `audit_models`); `stats`, if given, is
    filled with the run's counts (RunStats.ORG_KEYS)."""
    _no_unknown(options)
    from openaudit.repoid import validate_owner

    validate_owner(org)  # before the options: a bad organisation is named first
    report, run = run_org(org, _options({"jobs": None, **options}), progress=progress)
    if stats is not None:
        stats.update(run.as_dict(RunStats.ORG_KEYS))
    return report


def record_snapshots(targets: Sequence[str], output: str | os.PathLike[str], *,
                     snapshots: str | os.PathLike[str] | None = None, token: str | None = None, jobs: int = 4,
                     max_requests: int | None = None, done: Callable[[RepoSnapshot, int], Any] | None = None,
                     external: bool = True) -> list[tuple[str, str]]:
    """Record what the source serves of each target (`owner/name[@rev]`), and the datasets and base
    models it links to, into the snapshot store `output` (DESIGN §2): `openaudit snapshot`.

    Live from the Hub, read afresh (no cache), `jobs` models at once, within the request budget
    `max_requests`. A linked repo named by several targets is written once. Every entry is written
    whole or not at all (info.json last), so an interrupted run leaves complete entries only.
    `done(snapshot, linked)` is called as each target is written (linked: Hub repos and records
    outside the Hub). Returns, in the order given, the targets not recorded, or recorded without a
    linked repo lost to the budget, a rate limit or the network (a replay would lack it), each with
    the reason."""
    from openaudit.run.commands import record_targets

    opts = RunOptions(jobs=jobs, max_requests=max_requests, snapshots=snapshots, token=token, external=external)
    return record_targets(targets, output, opts, done)


def _no_unknown(options: dict[str, Any]) -> None:
    unknown = sorted(set(options) - _OPTION_NAMES)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")

