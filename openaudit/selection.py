"""Which models a run audits: `--include/--exclude GLOB`, `--since DATE`, `--limit N`.

The same rules for `openaudit org` (listed models) and `openaudit audit` (the ids given): a glob
matches the full id or the name alone (`*-Instruct*`, `org/Llama-3*`), `--since` keeps models created
or modified after the date, and `--limit` keeps the first N in order. Pure: nothing here reads.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openaudit.errors import UsageError
from openaudit.repoid import RepoRef
from openaudit.snapshot import parse_hub_time


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
