"""The one bounded read -> link -> audit pipeline, which `audit`, `org` and `snapshot` run on.

Reads and links (datasets, base models) run on `jobs` threads; audits go to the auditors
(openaudit.run.workers: worker processes, or one thread) as soon as their bundle is ready, so that
CPU-bound audits overlap the network waits of the reads. At most `window` models (4 x jobs, at least
32) are between their read and their result at once: memory is bounded whatever the number of
models. Models that others name as their base are read first, outside the window: a link waits on
the memo only for a read already under way, never for one the window has not let in yet (that would
deadlock once the window is full of waiters). Results come back in the order of the items.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

from openaudit.audit import MoreLinks, crashed_subject, isolated
from openaudit.report import Subject
from openaudit.snapshot import RepoSnapshot, SnapshotBundle
from openaudit.subjects import Packed

I = TypeVar("I")  # noqa: E741 - an item of the run: a listed model, a target
R = TypeVar("R")

# What a run tells as it goes: `what` it is doing (a model or an organisation), and how far along it
# is, `done` of `total` steps. One signature for `audit`, `org` and `snapshot`.
Progress = Callable[[str, int, int], Any]

Read = Callable[[I], "RepoSnapshot | Subject | None"]  # a snapshot, a subject (failed), None (left out)
Link = Callable[[RepoSnapshot, "list[str] | None"], "tuple[SnapshotBundle, bool]"]


class Auditor(Protocol):
    def submit(self, bundle: SnapshotBundle, *args: Any) -> Future[Any]: ...


def _listed_id(item: Any) -> str:
    return str(item["id"])


def _crashed_packed(item: Any, err: BaseException) -> Packed:
    # One model's failure (reading, linking or auditing it) is that model's, not the run's.
    return Packed.of(crashed_subject(item["id"], "hub", err, "reading, linking or auditing"))


@dataclass
class RunStats:
    """What a run did and what it cost. `None`: not known for this run (no Hub was asked)."""

    given: int = 0  # targets given (`audit`)
    chosen: int = 0  # targets chosen by --include/--exclude/--limit (`audit`)
    listed: int = 0  # models listed (`org`)
    audited: int = 0  # subjects in the report
    left_out_since: list[str] = field(default_factory=list)  # not created or modified since --since
    requests: int | None = None
    api_requests: int | None = None
    file_requests: int | None = None
    rate_limited: int | None = None
    deduped_reads: int | None = None
    unread_duplicates: int | None = None
    audit_processes: int = 0
    cache: str | None = None
    cache_refetched: int = 0  # cache entries not believed (not sealed with this user's key), read again
    cache_unverified: int = 0  # cache entries used unverified (offline)
    external_requests: int = 0  # requests to hosts outside the Hub (issue 25; they share the Hub's budget)
    external_rate_limited: list[str] = field(default_factory=list)  # hosts whose rate limit ran out
    external_cache_refetched: int = 0  # linked repositories whose cache entry was not believed, read again
    external_cache_unverified: int = 0  # linked repositories used from the cache unverified (offline)

    AUDIT_KEYS = ("given", "chosen", "audited", "audit_processes", "left_out_since", "requests", "api_requests",
                  "file_requests", "rate_limited", "external_requests", "external_rate_limited",
                  "external_cache_refetched", "external_cache_unverified")
    ORG_KEYS = ("listed", "audited", "requests", "api_requests", "file_requests", "rate_limited", "deduped_reads",
                "unread_duplicates", "audit_processes", "cache", "cache_refetched", "cache_unverified",
                "external_requests", "external_rate_limited", "external_cache_refetched", "external_cache_unverified")

    def counted(self, gate: Any) -> RunStats:
        """The request counts of a run's gate (None: no Hub asked)."""
        if gate is not None:
            self.requests, self.rate_limited = gate.sent, gate.rate_limited
            self.api_requests = gate.by_bucket.get("api", 0)
            self.file_requests = gate.by_bucket.get("resolvers", 0)
        return self

    def external(self, source: Any, gate: Any) -> RunStats:
        """What the run asked of hosts outside the Hub: requests sent (bucket "external" of the Hub's
        gate, or the external reader's own count) and the hosts whose rate limit ran out."""
        ext = getattr(source, "external", None)
        self.external_requests = gate.by_bucket.get("external", 0) if gate is not None else getattr(ext, "sent", 0)
        self.external_rate_limited = sorted(getattr(ext, "rate_limited_hosts", ()))
        notes = getattr(ext, "notes", None)  # its cache's entries not believed (not sealed with this user's key)
        self.external_cache_refetched = len(notes.refetched) if notes else 0
        self.external_cache_unverified = len(notes.unverified) if notes else 0
        return self

    def as_dict(self, keys: Sequence[str]) -> dict[str, Any]:
        """The counts by name: the `stats` dict `audit_models` and `audit_org` fill (keys: AUDIT_KEYS, ORG_KEYS)."""
        every = asdict(self)
        return {k: every[k] for k in keys}


def tell(progress: Progress | None, what: str, done: int, total: int) -> None:
    """Call a progress callback: a display that fails must not cost a model its result."""
    if progress is not None:
        with contextlib.suppress(Exception):
            progress(what, done, total)


class Counter:
    """A thread-safe count of steps done, told to a progress callback."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.n = progress, total, 0
        self._lock = threading.Lock()

    def step(self, what: str) -> None:
        with self._lock:
            self.n += 1
            n = self.n
        tell(self.progress, what, n, self.total)


class _Run(Generic[I]):
    """One pipeline run over `items`: each item settled exactly once (its slot freed, callbacks told)."""

    def __init__(self, items: Sequence[I], read: Callable[[I], RepoSnapshot | Subject | None],
                 link: Link, auditors: Auditor, jobs: int, audited: Callable[[], None],
                 settled: Callable[[int], None] | None, crashed: Callable[[I, BaseException], Any],
                 final: Callable[[Subject], Any], keep: Callable[[Any], Any] | None = None) -> None:
        self.items, self.read, self.link, self.auditors = items, read, link, auditors
        self.audited, self.settled, self.crashed, self.final = audited, settled, crashed, final
        self.keep = keep
        self.results: list[Any] = [None] * len(items)
        self.slots = threading.BoundedSemaphore(max(32, 4 * jobs))
        self.lock = threading.Lock()
        self.left = len(items)
        self.finished = threading.Event()
        self.io = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="openaudit-read")

    def settle(self, i: int, value: Any) -> None:
        if self.keep is not None and value is not None and not isinstance(value, BaseException):
            try:
                value = self.keep(value)
            except BaseException as e:  # the item's, as any other failure of its own (isolated() decides)
                value = e
        self.results[i] = value
        self.slots.release()
        with self.lock:
            self.left -= 1
            if self.left == 0:
                self.finished.set()
        if not isinstance(value, BaseException) and value is not None:
            with contextlib.suppress(Exception):
                self.audited()
        if self.settled is not None:
            with contextlib.suppress(Exception):
                self.settled(i)

    def after_audit(self, i: int, snap: RepoSnapshot, fut: Future[Any]) -> None:
        try:
            got = fut.result()
            if isinstance(got, MoreLinks):
                self.io.submit(self.link_and_audit, i, snap, got.prose)
                return
            value: Any = got
        except BaseException as e:
            value = e
        self.settle(i, value)

    def link_and_audit(self, i: int, snap: RepoSnapshot, prose: list[str] | None = None) -> None:
        try:
            bundle, prose_linked = self.link(snap, prose)
            self.auditors.submit(bundle, prose_linked).add_done_callback(partial(self.after_audit, i, snap))
        except BaseException as e:
            self.settle(i, e)

    def then_link(self, i: int, got: RepoSnapshot | Subject | None) -> None:
        if got is None:
            self.settle(i, None)  # left out (--since): no result
        elif isinstance(got, Subject):
            self.settle(i, self.final(got))
        else:
            self.link_and_audit(i, got)

    def read_and_link(self, i: int) -> None:
        """On one reading thread: a model read is linked and handed to the auditors at once, not
        queued behind the window's other reads (the workers would wait ~0.3 s for a first audit)."""
        try:
            got = self.read(self.items[i])
        except BaseException as e:
            self.settle(i, e)
            return
        self.then_link(i, got)

    def after_early_read(self, i: int, fut: Future[Any]) -> None:
        try:
            got = fut.result()
        except BaseException as e:
            self.settle(i, e)
            return
        self.io.submit(self.then_link, i, got)  # not in this callback: it may run on the submitting thread

    def run(self, early: set[int]) -> list[Any]:
        try:
            first = {i: self.io.submit(self.read, self.items[i]) for i in sorted(early)}
            for i in range(len(self.items)):
                self.slots.acquire()  # released when item i is settled: never before this
                if i in first:
                    first.pop(i).add_done_callback(partial(self.after_early_read, i))
                else:
                    self.io.submit(self.read_and_link, i)
            while not self.finished.wait(0.25):
                pass
        finally:
            # On Ctrl-C/SIGTERM, drop the queued models instead of reading them all before exiting.
            self.io.shutdown(wait=False, cancel_futures=True)
        out = []
        for item, r in zip(self.items, self.results, strict=True):
            if isinstance(r, BaseException):
                if not isolated(r):
                    raise r
                r = self.crashed(item, r)
            out.append(r)
        return out


def pipeline(items: Sequence[I], named: set[str], read: Callable[[I], RepoSnapshot | Subject | None],
             link: Link, auditors: Auditor, jobs: int, audited: Callable[[], None], *,
             key: Callable[[I], str] = _listed_id, settled: Callable[[int], None] | None = None,
             crashed: Callable[[I, BaseException], Any] = _crashed_packed,
             final: Callable[[Subject], Any] = Packed.of,
             keep: Callable[[Any], Any] | None = None) -> list[Any]:
    """Read, link and audit every item, pipelined; the results in the items' order.

    `read(item)` gives the snapshot, or a Subject (a model that could not be read: `final(subject)` is
    its result), or None (left out: its result is None). `link(snapshot, prose)` gives the bundle to
    audit and whether the card's prose bases are in it (see audit.audit_packed; an audit answering
    MoreLinks is linked again with them). Items whose `key` is in `named` are read first. `audited()`
    is called as each item has a result, `settled(i)` as item i is done whatever became of it. An
    exception of one item's is `crashed(item, err)`, its result; what ends the run is raised at the end.
    `keep(result)` is what is kept of each result as it is settled, on the thread that settled it (a
    run's `SubjectStore.spill`: results wait in the store's spool, not in memory, until the last one).
    """
    if not items:
        return []
    early = {i for i, item in enumerate(items) if key(item) in named}
    return _Run(items, read, link, auditors, jobs, audited, settled, crashed, final, keep).run(early)


class Inline:
    """An `Auditor` that runs its function in the calling thread (the `snapshot` command's writer)."""

    def __init__(self, fn: Callable[..., R]) -> None:
        self.fn = fn

    def submit(self, bundle: SnapshotBundle, *args: Any) -> Future[Any]:
        out: Future[Any] = Future()
        try:
            out.set_result(self.fn(bundle, *args))
        except BaseException as e:
            out.set_exception(e)
        return out
