"""The source layer, the only one that does I/O: the `Source` interface, and `make_source`.

A source gives frozen `RepoSnapshot`s (openaudit.snapshot): `hub.py` (the Hub's API; `bulk.py` adds an
owner's listing), `cache.py` (the snapshot cache in front of the Hub, and --offline), `store.py` (a
recorded snapshot store), `localdir.py` (a model folder), `external.py` (allow-listed hosts outside the
Hub that a card links to). Requests go through `gate.py`'s RequestGate.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from openaudit.snapshot import Depth, RepoSnapshot

FILE_READS_PER_REPO = 4  # a live `audit` reads one repo's README and licence files this many at a time


class Source(Protocol):
    name: str

    def model(self, repo_id: str, revision: str | None = None) -> RepoSnapshot: ...

    def dataset(self, repo_id: str, revision: str | None = None) -> RepoSnapshot: ...


def make_source(snapshots: str | os.PathLike[str] | None = None, *, token: str | None = None,
                endpoint: str | None = None, offline: bool = False, timeout: float = 10.0,
                depth: Depth = "full", jobs: int = 4, max_requests: int | None = None,
                cache_dir: str | os.PathLike[str] | None = None, refresh: bool = False,
                cached: bool = True, external: bool = True) -> Source:
    """A store source when `snapshots` is given, else the Hub through the snapshot cache.

    The cache is `cache_dir` (default: the user cache, shared with `audit_org`): a repo read before at
    the commit the Hub names costs its metadata request only; `refresh` reads its files again;
    `cached=False` uses no cache at all (`openaudit snapshot` records what the Hub serves now).
    `offline` sends no request: repos come from the cache, at their latest cached commit, and what
    is not there is an OfflineMiss (a skipped subject). `depth` (see `audit_models`) keeps the Hub
    source from reading files that will not be audited; `jobs` repos are read at once and
    `max_requests` is the run's budget of Hub requests. `external` (at depth full) follows the card's
    links to allow-listed hosts outside the Hub (sources/external.py): live, or from the store's
    recorded external folders when replaying; offline, what the cache kept (CachedExternal)."""
    if snapshots is not None:
        from openaudit.sources.store import StoreSource

        store = StoreSource(snapshots)
        if external and depth == "full":
            from openaudit.sources.external import StoreExternal

            attach_external(store, StoreExternal(snapshots))
        return store
    from openaudit.sources.cache import CachedSource, SnapshotCache, default_cache_dir

    root = Path(cache_dir) if cache_dir is not None else default_cache_dir(endpoint)
    if offline:
        from openaudit.sources.hub import token_in_use

        # A token in use (given, HF_TOKEN, the stored login) is served what a run with one cached.
        kept = CachedSource(None, SnapshotCache(root, offline=True), offline=True, depth=depth,
                            token=token_in_use(token))
        if external and depth == "full":  # the linked repositories the cache kept (their seals checked)
            from openaudit.sources.external import CachedExternal, external_enabled

            attach_external(kept, CachedExternal(root / "external") if external_enabled() else None)
        return kept
    from openaudit.sources.bulk import BulkHubSource
    from openaudit.sources.gate import RequestGate

    # `jobs` models at once, each reading its files FILE_READS_PER_REPO at a time. (BulkHubSource: a
    # HubSource that can also list an owner, which `audit_models` does for many ids of one owner.)
    hub = BulkHubSource(endpoint=endpoint, token=token, timeout=timeout, depth=depth, workers=FILE_READS_PER_REPO,
                        gate=RequestGate(jobs * FILE_READS_PER_REPO, max_requests))
    # The Hub names each repo's commit; its files come from the cache at that commit when it has them.
    src: Source = CachedSource(hub, SnapshotCache(root), depth=depth, refresh=refresh, linked=False) if cached else hub
    if external and depth == "full":
        from openaudit.sources.external import ExternalSource

        attach_external(src, ExternalSource.from_env(gate=hub.gate, cache_dir=root / "external" if cached else None,
                                                     timeout=timeout))
    return src


def attach_external(source: Any, external: Any) -> None:
    """Give a source the reader of hosts outside the Hub that `fetch_bundle` follows links with
    (None: not followed). An attribute, so that the Hub and store sources stay as they are."""
    source.external = external
