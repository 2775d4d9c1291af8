"""Where a local folder's declared datasets and base models are looked up when only folders are audited.

A folder is audited before it is published, so what its card links to is asked of the Hub as a Hub
model's links are: through the source `api.make_source` builds for ids (the same token handling,
timeouts, retries, request budget and snapshot cache; with --offline, the cache alone). That source
is built on the first question only, so a folder that names nothing costs no import and no request.

A lookup that cannot be done is the linked repo's reason (offline, network, rate-limited, budget,
access-denied), which the evidence reports as "not checked" for a local folder, never as "not found"
(openaudit.snapshot.not_checked_why); only the Hub's 404 is "not found". Once the Hub could not be
reached at all, the folder's other links are not asked (each would wait through the same retries):
they get that reason too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from openaudit import errors
from openaudit.snapshot import RepoSnapshot


class FolderLinkSource:
    """A source for `api.fetch_bundle`, built by `make` on the first question (thread-safe)."""

    name = "hub"

    def __init__(self, make: Callable[[], Any]):
        self._make = make
        self._source: Any = None
        self._lock = threading.Lock()
        self._unreachable: str | None = None  # why the Hub was not reached, once it was not

    def _get(self) -> Any:
        with self._lock:
            if self._source is None:
                self._source = self._make()
            return self._source

    def _ask(self, repo_type: str, repo_id: str, revision: str | None) -> RepoSnapshot:
        down = self._unreachable
        if down is not None:
            raise errors.NetworkError(repo_id, f"{repo_type} '{repo_id}' not asked: {down}")
        src = self._get()
        try:
            return src.model(repo_id, revision) if repo_type == "model" else src.dataset(repo_id, revision)
        except errors.NetworkError as e:
            self._unreachable = f"an earlier lookup could not reach the Hub ({e})"
            raise

    def model(self, repo_id: str, revision: str | None = None) -> RepoSnapshot:
        return self._ask("model", repo_id, revision)

    def dataset(self, repo_id: str, revision: str | None = None) -> RepoSnapshot:
        return self._ask("dataset", repo_id, revision)

    @property
    def external(self) -> FolderLinkSource:
        """The card's links outside the Hub are followed as a Hub model's are (`fetch_bundle`): by the
        built source's reader, if it has one (not --no-external; offline, what the cache kept)."""
        return self

    def follow(self, urls: Iterable[str]) -> tuple[dict[str, Any], dict[str, str]]:
        urls = list(urls)
        if not urls:
            return {}, {}
        ext = getattr(self._get(), "external", None)
        return ext.follow(urls) if ext is not None else ({}, {})

    @property
    def gate(self) -> Any:
        """The built source's request gate (for the run's statistics), or None if nothing was asked."""
        return getattr(self._source, "gate", None)
