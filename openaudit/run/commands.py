"""A run of each command on the one pipeline (openaudit.run.pipeline): `audit` (ids and folders),
`org` (an owner's listed models) and `snapshot` (record what the Hub serves). Each builds its source,
its read and link steps, and its auditors; the pipeline schedules them."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from openaudit.audit import (
    audit_packed,
    crashed_subject,
    failed_subject,
    isolated,
    license_changes,
    lost_links,
    resolve_profiles,
    unread_files,
    warm_up,
)
from openaudit.criteria import Profile
from openaudit.errors import ConfigFileError, FetchError, UsageError
from openaudit.repoid import RepoRef, parse_ref, shown
from openaudit.report import ProfileRef, Report, Subject
from openaudit.run.linker import RunMemo, fetch_bundle
from openaudit.run.listed import Listed, ListingSpool, bases_of
from openaudit.run.options import RunOptions
from openaudit.run.pipeline import Counter, Inline, Progress, RunStats, pipeline
from openaudit.run.targets import KeptInOrder, list_owners, parse_targets, select_models, select_targets
from openaudit.run.workers import Auditors, forks, os_thread_count, settle_threads
from openaudit.snapshot import RepoSnapshot, RepoType, SnapshotBundle, trim_to_depth
from openaudit.sources import Source, attach_external, make_source
from openaudit.subjects import Packed, SubjectStore

if TYPE_CHECKING:
    from openaudit.sources.bulk import BulkHubSource
    from openaudit.sources.cache import CachedSource

log = logging.getLogger(__name__)
AUDIT_PROCESSES_FROM = 16  # `audit` with this many targets audits in worker processes (fewer: in a thread)


def _auditor(opts: RunOptions) -> Callable[..., Any]:
    """What each worker runs: the audit, and the parts of the outputs asked for that it can render."""
    return partial(audit_packed, prerender=tuple(opts.prerender)) if opts.prerender else audit_packed


def _report(profs: Sequence[Profile], subjects: SubjectStore, now: datetime | None) -> Report:
    license_changes(subjects)
    return Report.model_construct(profiles=[ProfileRef(id=p.id, version=p.version, sha256=p.sha256) for p in profs],
                                  generated_at=now or datetime.now(UTC), subjects=subjects)


def _linker(source: Source, depth: str, memo: RunMemo) -> Callable[[RepoSnapshot, list[str] | None],
                                                                    tuple[SnapshotBundle, bool]]:
    """The link step: the bundle to audit, and whether the card's prose bases are in it. Below depth
    full nothing is linked; else the declared links first, and the prose ones when the audit asks
    (MoreLinks). Local folders audited alone have a source too (sources.folderlinks)."""

    def link(snap: RepoSnapshot, prose: list[str] | None) -> tuple[SnapshotBundle, bool]:
        if depth != "full":
            return SnapshotBundle(subject=snap), True
        return fetch_bundle(source, snap, memo, prose=prose or []), prose is not None

    return link


# ---- audit: ids and folders -------------------------------------------------------------------
@dataclass
class _Targets:
    """What `audit` reads: each target by its position (for --since's KeptInOrder)."""

    refs: list[RepoRef | Path]
    source: Source | None
    depth: str
    window: KeptInOrder | None
    started: Callable[[str], Any] | None

    def name(self, i: int) -> tuple[str, str | None, str]:
        ref = self.refs[i]
        if isinstance(ref, RepoRef):
            return ref.repo_id, ref.revision, self.source.name if self.source is not None else "hub"
        return str(ref), None, "local"

    def read(self, i: int) -> RepoSnapshot | Subject | None:
        """The target's snapshot; a Subject when it could not be read; None when --since leaves it out."""
        ref = self.refs[i]
        if self.started is not None and isinstance(ref, RepoRef):
            with contextlib.suppress(Exception):  # a progress line must not cost a model its audit
                self.started(ref.repo_id)
        try:
            snap = self._read(i, ref)
        except FetchError as e:
            if isinstance(ref, RepoRef) and self.source is not None:
                return failed_subject(ref, self.source.name, e)
            return crashed_subject(str(ref), "local", e, "reading")
        return trim_to_depth(snap, cast("Any", self.depth)) if snap is not None and self.depth != "full" else snap

    def _read(self, i: int, ref: RepoRef | Path) -> RepoSnapshot | None:
        if isinstance(ref, Path):  # a folder has no Hub dates: --since does not apply to it
            from openaudit.sources.localdir import LocalDirSource

            return LocalDirSource(ref).model()
        assert self.source is not None
        if self.window is None:
            return self.source.model(ref.repo_id, ref.revision)
        if not self.window.has_room(i):
            return None
        keep = partial(self.window.decide, i, ref.repo_id)
        model_if = getattr(self.source, "model_if", None)  # the Hub's: its files are read only if it is kept
        if model_if is not None:
            return cast("RepoSnapshot | None", model_if(ref.repo_id, ref.revision, keep))
        snap = self.source.model(ref.repo_id, ref.revision)
        return snap if keep(snap.info) else None

    def crashed(self, i: int, err: BaseException) -> Packed:
        name, rev, src = self.name(i)
        return Packed.of(crashed_subject(name, src, err, "reading, linking or auditing", rev))


def audit_targets(targets: Sequence[str], opts: RunOptions, *, source: Source | None = None,
                  progress: Progress | None = None,
                  started: Callable[[str], Any] | None = None) -> tuple[Report, RunStats]:
    """`openaudit audit`: the report of every target kept by the options, in the order given, and the
    run's counts. `progress(target, done, total)` as each target is finished, `started(repo_id)` as a
    Hub model is started."""
    when = opts.since_date
    given = parse_targets(targets)
    if not given:
        raise UsageError("no model given")
    # --since is decided on metadata, so --limit counts the models kept by it (as for an organisation).
    refs = select_targets(given, opts.include, opts.exclude, None if when else opts.limit)
    profs = resolve_profiles(opts.profiles)
    # A snapshot store also answers a local folder's declared datasets and base models.
    needs_source = any(isinstance(r, RepoRef) for r in refs) or opts.snapshots is not None
    # Local folders alone: what they link to is asked of the Hub (or the cache, offline) as for an id.
    src = source or (_audit_source(opts) if needs_source else _folder_links(opts))
    _list_owners_of(src, refs)
    run = _Targets(refs, src, opts.depth, KeptInOrder(when, opts.limit) if when is not None else None, started)
    # Many models are audited in worker processes, as an organisation's are; a few in one thread.
    workers = opts.processes if opts.processes is not None else (None if len(refs) >= AUDIT_PROCESSES_FROM else 0)
    count = Counter(progress, len(refs))
    subjects = SubjectStore()  # each model's result spilled as it is settled (openaudit.subjects)
    warm = partial(warm_up, profs, opts.strict)
    with Auditors(_auditor(opts), profs, opts.strict, workers, warm_up=warm) as auditors:
        got = pipeline(list(range(len(refs))), set(), run.read, _linker(src, opts.depth, RunMemo()), auditors,
                       opts.threads, lambda: None, key=str, settled=lambda i: count.step(run.name(i)[0]),
                       crashed=run.crashed, keep=subjects.spill)
    subjects.extend(run.window.trim(got) if run.window is not None else [p for p in got if p is not None])
    stats = RunStats(given=len(given), chosen=len(refs), audited=len(subjects), audit_processes=auditors.processes,
                     left_out_since=sorted(run.window.left_out) if run.window else [])
    stats.counted(getattr(src, "gate", None)).external(src, getattr(src, "gate", None))
    return _report(profs, subjects, opts.now), stats


def _audit_source(opts: RunOptions) -> Source:
    return make_source(opts.snapshots, token=opts.token, depth=opts.read_depth, jobs=opts.threads,
                       max_requests=opts.max_requests, cache_dir=opts.cache_dir, refresh=opts.refresh,
                       offline=opts.offline, external=opts.external, endpoint=opts.endpoint, timeout=opts.timeout)


def _folder_links(opts: RunOptions) -> Source:
    """The source of local folders audited alone, built on their first link (sources.folderlinks)."""
    from openaudit.sources.folderlinks import FolderLinkSource

    return FolderLinkSource(partial(_audit_source, opts))


def _list_owners_of(src: Source | None, refs: Sequence[RepoRef | Path]) -> None:
    """A live Hub source lists an owner of many ids once (run.targets.list_owners). Told apart without
    importing it: a replay never loads huggingface_hub (~0.3 s)."""
    from openaudit.sources.cache import CachedSource

    hub = src.hub if isinstance(src, CachedSource) else src
    if hasattr(hub, "take_listing") and hasattr(hub, "list_models"):
        list_owners(cast("BulkHubSource", hub), refs)


# ---- org: an owner's listed models ------------------------------------------------------------
@dataclass
class _Org:
    """Where an organisation's models come from: a snapshot store, or the cache in front of the Hub."""

    # A `Listed` record a model of a Hub listing (its row in `spool` until it is read), else a row:
    # the cached listing's (id, sha, dates) offline.
    listed: list[Any] = field(default_factory=list)
    extra: list[Subject] = field(default_factory=list)  # what is in the report but not audited: bad items
    warmed: bool = False  # the audit's code loaded before the workers fork
    store: Any = None
    cached: CachedSource | None = None
    linked: Source | None = None
    spool: ListingSpool | None = None  # the listing's rows, read back one at a time

    def read(self, depth: str, item: Any) -> RepoSnapshot | Subject:
        rid, sha = item["id"], item.get("sha")
        try:
            if self.store is not None:
                return trim_to_depth(self.store.model(rid), cast("Any", depth))
            assert self.cached is not None
            row = self.spool.row(item) if isinstance(item, Listed) and self.spool is not None else item
            return self.cached.listed(row, cast("Any", depth))  # the cache, else the Hub (never offline)
        except FetchError as e:
            return Subject(repo_id=rid, revision=sha, source="hub" if self.store is None else "store",
                           status=e.status, reason=f"{e.kind}: {e}", reason_kind=e.kind)


def _org_from_store(org: str, opts: RunOptions) -> _Org:
    from openaudit.sources.store import StoreSource

    store = StoreSource(cast("Any", opts.snapshots))
    if opts.external and opts.depth == "full":
        from openaudit.sources.external import StoreExternal

        attach_external(store, StoreExternal(cast("Any", opts.snapshots)))
    # Read by id: each model's record (id, sha, dates, the bases it names), not its whole info.
    return _Org(listed=[Listed(info) for info in store.list_models(org)], store=store, linked=store)


def _org_from_hub(org: str, opts: RunOptions, profs: Sequence[Profile]) -> _Org:
    from openaudit.sources.bulk import BulkHubSource, RequestGate
    from openaudit.sources.cache import CachedSource, OfflineMissOrg, SnapshotCache, default_cache_dir
    from openaudit.sources.hub import token_in_use

    cache = SnapshotCache(opts.cache_dir if opts.cache_dir is not None else default_cache_dir(opts.endpoint),
                          offline=opts.offline)
    if opts.offline:
        rows = cache.get_listing(org)
        if rows is None:
            raise OfflineMissOrg(org, f"offline: nothing cached for organisation '{org}' in {cache.root}; "
                                 "run once without --offline first")
        got = _Org(listed=rows)
        hub = None
    else:
        gate = RequestGate(opts.jobs, opts.max_requests)  # jobs None: in flight as the Hub's pace allows
        hub = BulkHubSource(endpoint=opts.endpoint, token=opts.token, timeout=opts.timeout, workers=gate.jobs,
                            gate=gate)
        listing = _list_org(org, opts, hub, profs)
        if not (opts.include or opts.exclude or opts.since) and opts.limit is None and not listing.stopped:
            cache.put_listing(org, listing.listed)
        got = listing
    got.cached = got.linked = CachedSource(hub, cache, offline=opts.offline, refresh=opts.refresh,
                                           token=hub.reader if hub is not None else token_in_use(opts.token))
    if opts.external and opts.depth == "full" and hub is not None:
        from openaudit.sources.external import ExternalSource

        # One reader for the whole organisation: a repository many models link is read once.
        attach_external(got.linked, ExternalSource.from_env(gate=hub.gate, cache_dir=cache.root / "external",
                                                            timeout=opts.timeout))
    elif opts.external and opts.depth == "full" and opts.offline:  # what the cache kept (seals checked)
        from openaudit.sources.external import CachedExternal, external_enabled

        attach_external(got.linked, CachedExternal(cache.root / "external") if external_enabled() else None)
    return got


@dataclass
class _Listing(_Org):
    stopped: bool = False  # the listing stopped early: not cached as the organisation's


def _list_org(org: str, opts: RunOptions, hub: BulkHubSource, profs: Sequence[Profile]) -> _Listing:
    """The owner's listing, read on a thread while the audit's code is loaded (warm_up): the thread has
    ended before the audit workers are forked (openaudit.run.workers forks single-threaded only)."""
    from openaudit.sources.bulk import INVALID_ITEM

    spool = ListingSpool()
    out = _Listing(spool=spool)
    filtered = bool(opts.include or opts.exclude or opts.since)
    failed: list[BaseException] = []
    notes: list[str] = []

    def list_all() -> None:
        try:
            for item in hub.list_models(org, None if filtered else opts.limit, notes=notes):
                if INVALID_ITEM in item:  # not a valid id: skipped, nothing requested for it
                    out.extra.append(Subject(repo_id=item["id"], source="hub", status="skipped",
                                             reason=f"refused: {item[INVALID_ITEM]}", reason_kind="refused"))
                    continue
                out.listed.append(spool.add(item))  # the row on disk, its record in memory
                if not filtered and opts.limit is not None and len(out.listed) >= opts.limit:
                    break
        except BaseException as e:  # raised below, in the calling thread
            failed.append(e)

    lister = threading.Thread(target=list_all, name="openaudit-listing", daemon=True)
    threads_before = os_thread_count()
    lister.start()
    if forks(opts.processes):
        warm_up(profs, opts.strict)
        out.warmed = True
    lister.join()
    settle_threads(threads_before)  # its OS thread gone too, or the workers would not be forked
    for note in notes:
        log.warning("%s", shown(note, 300))
    if failed:
        e = failed[0]
        if not isinstance(e, FetchError) or not out.listed:
            raise e
        out.stopped = True
        out.extra.append(Subject(repo_id=f"{org}/*", source="hub", status="incomplete", reason_kind=e.kind,
                                 reason=f"{e.kind}: the listing stopped after {len(out.listed)} models: {e}"))
    return out


def audit_organisation(org: str, opts: RunOptions, *, progress: Progress | None = None) -> tuple[Report, RunStats]:
    """`openaudit org`: every listed model chosen by the options, in listing order, plus what could not
    be listed; and the run's counts. `progress(what, done, total)` counts reads and audits (2 per model)."""
    from openaudit.repoid import validate_owner

    validate_owner(org)
    profs = resolve_profiles(opts.profiles)
    src = _org_from_store(org, opts) if opts.snapshots is not None else _org_from_hub(org, opts, profs)
    chosen = select_models(src.listed, opts.include, opts.exclude, opts.since_date, opts.limit)
    # Only org models that another one names as its base are kept in the memo, so a large org's
    # snapshots are freed as soon as each is audited.
    named, memo = bases_of(chosen), RunMemo()
    for item in chosen:
        if item["id"] in named:
            memo.reserve("model", item["id"])
    count = Counter(progress, 2 * len(chosen))
    listed = len(src.listed)
    src.listed = []  # only its count is needed now

    def read(i: int) -> RepoSnapshot | Subject:
        # A chosen model's listing row (~4 KB as objects: siblings, card data, config) is read back from
        # the spool here, and is the snapshot's: the run keeps only its record (Listed, ~0.4 KB).
        item = chosen[i]
        try:
            out = src.read(opts.depth, item)
        except BaseException:
            memo.fulfil("model", item["id"], None)
            raise
        if item["id"] in named:
            memo.fulfil("model", item["id"], out if isinstance(out, RepoSnapshot) else None)
        count.step(f"reading {org}")
        return out

    hub = src.cached.hub if src.cached is not None else None
    assert src.linked is not None  # both _org_from_store and _org_from_hub set it
    with Auditors(_auditor(opts), profs, opts.strict, opts.processes,
                  warm_up=None if src.warmed else partial(warm_up, profs, opts.strict)) as auditors:
        threads = hub.gate.jobs if hub is not None else opts.threads
        # Each model's result is spilled as it is settled: memory does not grow with the organisation.
        subjects = SubjectStore()
        spilled = pipeline(list(range(len(chosen))), named, read, _linker(src.linked, opts.depth, memo), auditors,
                           threads, lambda: count.step(f"auditing {org}"), key=lambda i: str(chosen[i]["id"]),
                           crashed=lambda i, err: Packed.of(crashed_subject(chosen[i]["id"], "hub", err,
                                                                            "reading, linking or auditing")),
                           keep=subjects.spill)
    if src.spool is not None:
        src.spool.close()  # every chosen row was read (the rest were never wanted)
    subjects.extend(spilled)
    subjects.extend(src.extra)
    stats = RunStats(listed=listed, audited=len(chosen), audit_processes=auditors.processes,
                     cache=str(src.cached.cache.root) if src.cached else None,
                     requests=0, api_requests=0, file_requests=0, rate_limited=0, deduped_reads=0, unread_duplicates=0)
    if hub is not None:
        stats.counted(hub.gate)
        stats.deduped_reads, stats.unread_duplicates = hub.deduped_reads, hub.unread_duplicates
    if src.cached is not None:
        cache = src.cached.cache
        stats.cache_refetched, stats.cache_unverified = len(cache.refetched), len(cache.unverified)
    stats.external(src.linked, hub.gate if hub is not None else None)
    return _report(profs, subjects, opts.now), stats


# ---- snapshot: record what the Hub serves ------------------------------------------------------
class _Recorder:
    """Writes each target's bundle into the store `output` (a linked repo named by several once)."""

    def __init__(self, output: str | Any, done: Callable[[RepoSnapshot, int], Any] | None) -> None:
        self.output, self.done = output, done
        self.written: set[str] = set()
        self.lock = threading.Lock()

    def guarded(self, put: Callable[[], object]) -> None:
        from openaudit.sources.store import LinkInPath

        try:
            put()
        except LinkInPath as e:  # a folder of the store is a link elsewhere: refused, nothing written there
            raise ConfigFileError(str(self.output), f"not written: {e}") from None
        except OSError as e:
            raise ConfigFileError(str(self.output), f"cannot write the store: {e.strerror or e}") from None

    def first(self, key: str) -> bool:
        with self.lock:
            if key in self.written:
                return False
            self.written.add(key)
            return True

    def __call__(self, bundle: SnapshotBundle, *_: Any) -> str:
        """Write the bundle; why it is recorded incompletely ("" when it is not)."""
        from openaudit.sources.external import write_external
        from openaudit.sources.store import write_not_found, write_snapshot

        snap = bundle.subject
        self.guarded(lambda: write_snapshot(self.output, snap))
        for key, linked in bundle.related.items():
            if self.first(key):
                self.guarded(functools.partial(write_snapshot, self.output, linked, as_id=key.split(":", 1)[1]))
        for key, reason in bundle.related_errors.items():  # the Hub's 404: a replay says "not found" too
            if reason.startswith("not-found:") and self.first(key):
                rtype, _sep, rid = key.partition(":")
                self.guarded(functools.partial(write_not_found, self.output, cast(RepoType, rtype), rid, reason,
                                               snap.taken_at))
        for key, ext in bundle.external.items():  # what the card links to outside the Hub: github/, arxiv/...
            if self.first(f"external:{key.lower()}"):
                # Under the name the card links (a renamed repository's old name), as a replay looks it up.
                self.guarded(functools.partial(write_external, self.output, ext, as_id=key.split(":", 1)[1]))
        if self.done is not None:
            with contextlib.suppress(Exception):  # a progress line must not cost a model its record
                self.done(snap, len(bundle.related) + len(bundle.external))  # the hosts outside the Hub too
        why = [f"recorded without linked repos not fetched: {lost}"] if (lost := lost_links(bundle)) else []
        if unread := unread_files(snap):
            why.insert(0, f"recorded without files it could not read: {unread}")
        return "; ".join(why)


def record_targets(targets: Sequence[str], output: str | Any, opts: RunOptions,
                   done: Callable[[RepoSnapshot, int], Any] | None = None) -> list[tuple[str, str]]:
    """`openaudit snapshot`: see api.record_snapshots. Read afresh (no cache), on the pipeline, each
    target linked with its card's prose bases and written by the reading thread."""
    refs = [parse_ref(t) for t in targets]  # InvalidRepoId before any request
    src = make_source(opts.snapshots, token=opts.token, jobs=opts.threads, max_requests=opts.max_requests,
                      cached=False, external=opts.external)
    memo = RunMemo()

    def read(ref: RepoRef) -> RepoSnapshot | Subject:
        try:
            return src.model(ref.repo_id, ref.revision)
        except FetchError as e:
            return Subject(repo_id=ref.repo_id, source=src.name, status=e.status, reason=f"{e.kind}: {e}")

    def link(snap: RepoSnapshot, _prose: list[str] | None) -> tuple[SnapshotBundle, bool]:
        return fetch_bundle(src, snap, memo), True  # the prose bases too: the card is parsed here

    def crashed(ref: RepoRef, err: BaseException) -> str:
        return crashed_subject(ref.repo_id, src.name, err, "reading or linking").reason or ""

    reasons = pipeline(refs, set(), read, link, Inline(_Recorder(output, done)), opts.threads, lambda: None,
                       key=lambda r: r.repo_id, crashed=crashed, final=lambda s: s.reason or "")
    return [(r.repo_id, why) for r, why in zip(refs, reasons, strict=True) if why]


__all__ = ["AUDIT_PROCESSES_FROM", "audit_organisation", "audit_targets", "isolated", "record_targets"]
