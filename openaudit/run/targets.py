"""Which models a run audits: `--include/--exclude GLOB`, `--since DATE`, `--limit N`.

The same rules for `openaudit org` (listed models) and `openaudit audit` (the ids given): a glob
matches the full id or the name alone (`*-Instruct*`, `org/Llama-3*`), `--since` keeps models created
or modified after the date, and `--limit` keeps the first N in order. Pure: nothing here reads.
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from openaudit.errors import UsageError
from openaudit.repoid import RepoRef
from openaudit.snapshot import parse_hub_time

T = TypeVar("T")


def parse_since(text: str | None) -> datetime | None:
    """`--since DATE`: an ISO date or date-time (UTC when no zone is given)."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since: '{text[:40]}' is not an ISO date (YYYY-MM-DD[THH:MM[:SS]])") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def id_matches(repo_id: str, patterns: Sequence[str]) -> bool:
    name = repo_id.split("/", 1)[-1]
    return any(fnmatch.fnmatchcase(repo_id, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def chosen_by_globs(repo_id: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    return (not include or id_matches(repo_id, include)) and not (exclude and id_matches(repo_id, exclude))


def modified_since(info: dict[str, Any], since: datetime) -> bool:
    """Created or last modified after `since` (a repo with neither date is not)."""
    dates = [d for d in (parse_hub_time(info.get("createdAt")), parse_hub_time(info.get("lastModified"))) if d]
    return bool(dates) and max(dates) > since


def select_models(items: list[dict[str, Any]], include: Sequence[str] = (),
                  exclude: Sequence[str] = (), since: datetime | None = None,
                  limit: int | None = None) -> list[dict[str, Any]]:
    """Listed models (Hub list items) kept by the globs, `since` and `limit`, in listing order."""
    out = []
    for item in items:
        if not chosen_by_globs(item["id"], include, exclude):
            continue
        if since is not None and not modified_since(item, since):
            continue
        out.append(item)
        if limit is not None and len(out) >= limit:
            break
    return out


def select_targets(targets: Sequence[RepoRef | Path], include: Sequence[str] = (), exclude: Sequence[str] = (),
                   limit: int | None = None) -> list[RepoRef | Path]:
    """The targets of `openaudit audit` kept by the globs (a folder is matched by its name) and `limit`."""
    out = [t for t in targets if chosen_by_globs(t.repo_id if isinstance(t, RepoRef) else t.name, include, exclude)]
    return out[:limit] if limit is not None else out


class KeptInOrder:
    """`openaudit audit --since` (with `--limit N`) over targets read concurrently, in the order given.

    Each Hub target is decided on its metadata (`decide`). Once N targets before it are kept, a
    later one has no room (`has_room`) and is not read at all; targets read at the same time may
    all be kept, and `trim` keeps the first N of them. A target that failed is never counted.
    Thread-safe; the targets are numbered by their position.
    """

    def __init__(self, since: datetime, limit: int | None = None) -> None:
        self.since, self.limit = since, limit
        self.left_out: list[str] = []  # ids not created or modified since
        self._recent: dict[int, bool] = {}
        self._lock = threading.Lock()

    def has_room(self, i: int) -> bool:
        if self.limit is None:
            return True
        with self._lock:
            return sum(1 for j, ok in self._recent.items() if ok and j < i) < self.limit

    def decide(self, i: int, repo_id: str, info: dict[str, Any]) -> bool:
        """Whether target `i` (`repo_id`, whose metadata is `info`) is read and audited."""
        ok = modified_since(info, self.since)
        with self._lock:
            self._recent[i] = ok
            if not ok:
                self.left_out.append(repo_id)
        return ok and self.has_room(i)

    def trim(self, results: Sequence[T | None]) -> list[T]:
        """The results by position, without the targets left out and those past the first N kept."""
        out: list[T] = []
        taken = 0
        for i, r in enumerate(results):
            if r is None:
                continue
            if self._recent.get(i) and self.limit is not None:
                taken += 1
                if taken > self.limit:
                    continue
            out.append(r)
        return out
