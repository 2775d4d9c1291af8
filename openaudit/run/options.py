"""What a run is asked to do: one frozen `RunOptions`, checked once, shared by `audit` and `org`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

from openaudit.errors import UsageError

if TYPE_CHECKING:
    from openaudit.snapshot import Depth

DEPTHS = ("metadata", "card", "full")


@dataclass(frozen=True)
class RunOptions:
    """The options of an `audit` or `org` run. Invalid values are a UsageError naming the value (exit 2)
    when the options are made, before anything is read.

    Args:
        profiles: profile ids (None: the default profiles); a `dimensions` profile is always added.
        strict: framework criteria left `unknown` count as failed.
        jobs: requests in flight, fixed (None: adapted to the Hub's RateLimit headers and latency,
            openaudit.sources.gate.Concurrency; the default of `org`).
        depth: metadata (the repository's metadata only), card (+ README), full (+ licence files,
            datasets, base models, pages outside the Hub the card links to).
        include, exclude: globs on the full id or the name alone.
        since: an ISO date: only models created or modified after it.
        limit: at most this many models, in the order given or listed.
        max_requests: the run's budget of Hub requests; what it leaves unread is `incomplete`.
        cache_dir: the snapshot cache (default: the user cache, per endpoint).
        refresh: read every repo from the Hub again, whatever the cache holds.
        offline: no request at all: every repo from the cache, or `skipped` with the reason.
        processes: audit worker processes (None: one per core for many models; 0: one thread).
        token: the Hub token (None: HF_TOKEN or the stored login).
        endpoint: another Hub (a mirror, the tests' fake hub; default HF_ENDPOINT, else the Hub).
        timeout: seconds per request.
        snapshots: replay a recorded snapshot store instead of reading the Hub.
        external: follow the card's links to allow-listed hosts outside the Hub (at depth full).
        now: the report's `generated_at` (default: the time the run ends).
        prerender: output formats whose per-model parts the audit workers render as they audit
            (`html`, `md`, `mof-yaml`, `sarif`, `junit`, `github`, `site`), so that writing them after the last
            audit only copies them in order.
    """

    profiles: Sequence[str] | None = None
    strict: bool = False
    jobs: int | None = 4
    depth: str = "full"
    include: Sequence[str] = ()
    exclude: Sequence[str] = ()
    since: str | None = None
    limit: int | None = None
    max_requests: int | None = None
    cache_dir: str | os.PathLike[str] | None = None
    refresh: bool = False
    offline: bool = False
    processes: int | None = None
    token: str | None = None
    endpoint: str | None = None
    timeout: float = 10.0
    snapshots: str | os.PathLike[str] | None = None
    external: bool = True
    now: datetime | None = None
    prerender: Sequence[str] = ()

    def __post_init__(self) -> None:
        for name in ("profiles", "include", "exclude", "prerender"):  # any sequence given is kept as a tuple: frozen
            value = getattr(self, name)
            if value is not None and not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        if self.jobs is not None and self.jobs < 1:
            raise UsageError(f"--jobs must be at least 1; got {self.jobs}")
        if self.limit is not None and self.limit < 1:
            raise UsageError(f"--limit must be at least 1; got {self.limit}")
        if self.max_requests is not None and self.max_requests < 0:
            raise UsageError(f"--max-requests must be at least 0; got {self.max_requests}")
        if self.depth not in DEPTHS:
            raise UsageError(f"--depth must be one of {', '.join(DEPTHS)}; got '{self.depth}'")
        if self.processes is not None and self.processes < 0:
            raise UsageError(f"--processes must be at least 0; got {self.processes}")
        self.since_date  # noqa: B018 - an invalid date is a usage error now, before anything is read

    @property
    def since_date(self) -> datetime | None:
        """`since`, parsed (UTC when no zone is given)."""
        from openaudit.run.targets import parse_since

        return parse_since(self.since)

    @property
    def threads(self) -> int:
        """Threads for reads: `jobs`, or the adaptive gate's starting point when it is None."""
        from openaudit.sources.pace import ADAPTIVE_START

        return self.jobs if self.jobs is not None else ADAPTIVE_START

    @property
    def read_depth(self) -> Depth:
        """`depth`, typed (checked when the options were made)."""
        return cast("Depth", self.depth)
