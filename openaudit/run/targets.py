"""Which models a run audits: `--include/--exclude GLOB`, `--since DATE`, `--limit N`.

The same rules for `openaudit org` (listed models) and `openaudit audit` (the ids given): a glob
matches the full id or the name alone, ignoring case (`*-Instruct*`, `org/Llama-3*`), `--since` keeps models created
or modified after the date, and `--limit` keeps the first N in order. Also: the targets of `audit`
parsed and checked before any request, and the owner-listing shortcut for many ids of one owner.
Nothing here reads but `list_owners`, through the source it is given.
"""

from __future__ import annotations

import fnmatch
import logging
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from openaudit.errors import FetchError, InvalidRepoId, UsageError
from openaudit.repoid import RepoRef, parse_ref, shown
from openaudit.snapshot import parse_hub_time

if TYPE_CHECKING:
    from openaudit.sources.bulk import BulkHubSource

log = logging.getLogger(__name__)

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
    """The one glob rule for model ids (`--include/--exclude` and a policy's scope, overrides and
    waivers): a pattern matches the full id or the name alone, ignoring case (the Hub treats
    `Org/Model` and `org/model` as one repo)."""
    rid = repo_id.lower()
    name = rid.split("/", 1)[-1]
    return any(fnmatch.fnmatchcase(rid, p.lower()) or fnmatch.fnmatchcase(name, p.lower()) for p in patterns)


def chosen_by_globs(repo_id: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    return (not include or id_matches(repo_id, include)) and not (exclude and id_matches(repo_id, exclude))


def modified_since(info: dict[str, Any], since: datetime) -> bool:
    """Created or last modified after `since` (a repo with neither date is not)."""
    dates = [d for d in (parse_hub_time(info.get("createdAt")), parse_hub_time(info.get("lastModified"))) if d]
    return bool(dates) and max(dates) > since


def select_models(items: Sequence[Any], include: Sequence[str] = (),
                  exclude: Sequence[str] = (), since: datetime | None = None,
                  limit: int | None = None) -> list[Any]:
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


LIST_OWNER_FROM = 4  # `audit` with this many ids of one owner reads its listing instead of their metadata


def parse_targets(targets: Iterable[str]) -> list[RepoRef | Path]:
    """Validate every target before any fetch: a bad id is a usage error naming it (exit 2).

    An explicit path (`./x`, `/x`, `~/x`) is a local folder; a valid `owner/name[@rev]` is a Hub
    repo even when a folder of that name exists here; anything else must be an existing folder.
    """
    out: list[RepoRef | Path] = []
    for t in targets:
        if not t.strip():
            raise UsageError("invalid repo id '': expected 'owner/name[@revision]' or a model folder")
        p = Path(t).expanduser()
        if t.startswith((".", "/", "~")):
            if not p.is_dir():
                raise UsageError(f"'{shown(t)}' is neither a model folder nor a valid repo id (owner/name[@revision])")
            out.append(model_folder_of(p))
            continue
        try:
            out.append(parse_ref(t))
        except InvalidRepoId:
            if not p.is_dir():
                raise
            out.append(model_folder_of(p))
    return out


def model_folder_of(path: Path) -> Path:
    from openaudit.sources.localdir import model_folder

    return model_folder(path)


def list_owners(src: BulkHubSource, refs: Sequence[RepoRef | Path]) -> None:
    """LIST_OWNER_FROM ids or more of one owner, each at its current commit: the owner's listing (one
    request per 1,000 of its models, as `audit_org` reads it) gives their metadata instead of one
    model_info request each. It is read until every id is found, for a quarter as many pages as
    there are ids at most (an owner of tens of thousands of models is cheaper asked id by id). An
    id it does not give (an old name the Hub redirects, a disabled repo, one whose weights need file
    sizes) is asked for on its own, as every id is when the listing fails."""
    by_owner: dict[str, set[str]] = {}
    for ref in refs:
        if isinstance(ref, RepoRef) and ref.revision is None:
            by_owner.setdefault(ref.repo_id.split("/", 1)[0], set()).add(ref.repo_id)
    for owner, wanted in by_owner.items():
        if len(wanted) < LIST_OWNER_FROM:
            continue
        found: list[dict[str, Any]] = []
        try:
            for item in src.list_models(owner, max_pages=max(1, len(wanted) // 4)):
                if item["id"] in wanted:
                    found.append(item)
                    if len(found) == len(wanted):
                        break  # no further page is asked for
        except FetchError as e:  # each id is then asked for on its own, and fails or not by itself
            log.info("the listing of %s stopped (%s); its models are read one by one", owner, e)
        src.take_listing(found)
