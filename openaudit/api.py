"""What the CLI and library users call: audit models, build reports, load profiles.

The flow is source -> snapshot bundle -> evidence -> findings -> scores. Only `fetch_bundle` does
I/O (through a source); `audit_bundle` is a pure function of a bundle and the profiles.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from openaudit.card import ParsedCard
from openaudit.criteria import BUILTIN_PROFILES, Profile, available_profiles, load_profile
from openaudit.errors import ConfigFileError, FetchError, InvalidRepoId, LimitReached, OpenAuditError, UsageError
from openaudit.evaluate import Finding, evaluate_profile
from openaudit.evidence import collect_evidence, context_for
from openaudit.evidence.data import declared_datasets, valid_dataset_id
from openaudit.evidence.lineage import MAX_DEPTH, declared_bases, prose_bases
from openaudit.evidence.model import Evidence
from openaudit.flags import Flag, evaluate_flags
from openaudit.linkcap import LinkCap
from openaudit.repoid import RepoRef, parse_ref, shown, validate_repo_id
from openaudit.report import LicenseSummary, LineageEntry, ProfileRef, Report, Subject
from openaudit.scoring import score_dimensions, score_framework
from openaudit.snapshot import NOT_CHECKED, RepoSnapshot, RepoType, SnapshotBundle, TextFile
from openaudit.subjects import Packed, SubjectStore
from openaudit.workers import Auditors, forks, os_thread_count, settle_threads

if TYPE_CHECKING:
    from openaudit.cache import Depth
    from openaudit.sources.bulk import BulkHubSource

__all__ = ["audit_bundle", "audit_models", "audit_org", "default_profiles", "fetch_bundle", "load_profile",
           "make_source", "record_snapshots"]

T = TypeVar("T")
log = logging.getLogger(__name__)
LINEAGE_FETCH_DEPTH = 3  # bases fetched per subject; deeper ancestors are named, not audited
FILE_READS_PER_REPO = 4  # a live `audit` reads one repo's README and licence files this many at a time
AUDIT_PROCESSES_FROM = 16  # `audit` with this many targets audits in worker processes (fewer: in a thread)
LIST_OWNER_FROM = 4  # `audit` with this many ids of one owner reads its listing instead of their metadata


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
    from openaudit.cache import default_cache_dir

    root = Path(cache_dir) if cache_dir is not None else default_cache_dir(endpoint)
    if offline:
        from openaudit.cache import SnapshotCache
        from openaudit.sources.bulk import CachedSource
        from openaudit.sources.hub import token_in_use

        # A token in use (given, HF_TOKEN, the stored login) is served what a run with one cached.
        src = CachedSource(None, SnapshotCache(root, offline=True), offline=True, depth=depth,
                           token=token_in_use(token))
        if external and depth == "full":  # the linked repositories the cache kept (their seals checked)
            from openaudit.sources.external import CachedExternal, external_enabled

            attach_external(src, CachedExternal(root / "external") if external_enabled() else None)
        return src
    from openaudit.sources.bulk import BulkHubSource
    from openaudit.sources.gate import RequestGate

    # `jobs` models at once, each reading its files FILE_READS_PER_REPO at a time. (BulkHubSource: a
    # HubSource that can also list an owner, which `audit_models` does for many ids of one owner.)
    hub = BulkHubSource(endpoint=endpoint, token=token, timeout=timeout, depth=depth, workers=FILE_READS_PER_REPO,
                        gate=RequestGate(jobs * FILE_READS_PER_REPO, max_requests),
                        cache_dir=root if cached else None, refresh=refresh)
    if external and depth == "full":
        from openaudit.sources.external import ExternalSource

        attach_external(hub, ExternalSource.from_env(gate=hub.gate, cache_dir=root / "external" if cached else None,
                                                     timeout=timeout))
    return hub


def attach_external(source: Any, external: Any) -> None:
    """Give a source the reader of hosts outside the Hub that `fetch_bundle` follows links with
    (None: not followed). An attribute, so that the Hub and store sources stay as they are."""
    source.external = external


def default_profiles() -> list[Profile]:
    names = [n for n in BUILTIN_PROFILES if n in available_profiles()]
    return [load_profile(n) for n in names]


def resolve_profiles(names: Sequence[str] | None) -> list[Profile]:
    """The requested profiles, always with a `dimensions` profile first (openaudit by default)."""
    profiles = [load_profile(n) for n in names] if names else default_profiles()
    if not any(p.scoring.method == "dimensions" for p in profiles):
        profiles.insert(0, load_profile("openaudit"))
    # Dimension profiles first: framework criteria may refer to their outcomes.
    profiles.sort(key=lambda p: p.scoring.method != "dimensions")
    seen: set[str] = set()
    unique = []
    for p in profiles:
        if p.id not in seen:
            seen.add(p.id)
            unique.append(p)
    return unique


@dataclass
class RunMemo:
    """Linked repos fetched once per run, however many subjects name them. Thread-safe: when several
    threads ask for the same repo at once, one fetches it and the others wait for its result."""

    snapshots: dict[str, RepoSnapshot] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _inflight: dict[str, threading.Event] = field(default_factory=dict, repr=False, compare=False)

    def seed(self, snap: RepoSnapshot) -> None:
        """Make an already-fetched snapshot (e.g. a model of the audited organisation) the answer for its id."""
        with self._lock:
            self.snapshots.setdefault(f"{snap.repo_type}:{snap.repo_id}", snap)

    def reserve(self, repo_type: RepoType, repo_id: str) -> None:
        """Announce that this repo is being fetched elsewhere (an org model): askers wait, not fetch."""
        with self._lock:
            self._inflight.setdefault(f"{repo_type}:{repo_id}", threading.Event())

    def fulfil(self, repo_type: RepoType, repo_id: str, snap: RepoSnapshot | None) -> None:
        """End a reservation: the snapshot (or None, and askers fetch it themselves)."""
        key = f"{repo_type}:{repo_id}"
        with self._lock:
            if snap is not None:
                self.snapshots.setdefault(key, snap)
                self.snapshots.setdefault(f"{snap.repo_type}:{snap.repo_id}", snap)
            event = self._inflight.pop(key, None)
        if event is not None:
            event.set()

    def get(self, source: Source, repo_type: RepoType, repo_id: str) -> RepoSnapshot | None:
        key = f"{repo_type}:{repo_id}"
        while True:
            with self._lock:
                if key in self.snapshots:
                    return self.snapshots[key]
                if key in self.errors:
                    return None
                event = self._inflight.get(key)
                mine = event is None
                if event is None:
                    event = self._inflight[key] = threading.Event()
            if mine:
                break
            event.wait()
        snap: RepoSnapshot | None = None
        error: str | None = None
        try:
            if repo_type == "model":
                validate_repo_id(repo_id)
            snap = source.model(repo_id) if repo_type == "model" else source.dataset(repo_id)
        except FetchError as e:
            error = f"{e.kind}: {e}"
        except OpenAuditError as e:
            error = f"invalid: {e}"
        except Exception as e:  # a linked repo that found a bug costs the subject that link, not its audit
            error = f"failed: {type(e).__name__}: {shown(str(e), 200)}"
        finally:
            with self._lock:
                if snap is not None:
                    self.snapshots[key] = snap
                elif error is not None:
                    self.errors[key] = error
                self._inflight.pop(key, None)
            event.set()
        return snap


def fetch_bundle(source: Source, snap: RepoSnapshot, memo: RunMemo | None = None,
                 prose: Sequence[str] | None = None) -> SnapshotBundle:
    """Fetch what a subject links to: declared datasets, and base models up to a depth.

    Base models named in the card's prose ("fine-tuned from X") are found by parsing the card's
    body, unless `prose` gives them (see `prose_base_ids`; `[]`: fetch the declared ones only).
    """
    memo = memo or RunMemo()
    related: dict[str, RepoSnapshot] = {}
    errors: dict[str, str] = {}

    def take(repo_type: RepoType, repo_id: str) -> RepoSnapshot | None:
        key = f"{repo_type}:{repo_id}"
        if (capped := cap.refuse(key)) is not None:  # more Hub links than one card may cost
            errors[key] = capped
            return None
        got = memo.get(source, repo_type, repo_id)
        if got is not None:
            related[key] = got
        else:
            errors[key] = memo.errors.get(key, "not resolved")
        return got

    ctx = context_for(SnapshotBundle(subject=snap))
    frontier = [b[0] for b in declared_bases(ctx.metadata, snap.tags())]
    frontier += list(prose) if prose is not None else _prose_ids(ctx.card, snap)
    dids = [d for d, _via in declared_datasets(ctx.metadata, snap.tags()) if valid_dataset_id(d)]
    cap = LinkCap([b for b in frontier if b != snap.repo_id], dids)
    for did in dids:
        take("dataset", did)
    seen = {snap.repo_id}
    depth = 1
    while frontier and depth <= min(LINEAGE_FETCH_DEPTH, MAX_DEPTH):
        nxt: list[str] = []
        for bid in frontier:
            if bid in seen:
                continue
            seen.add(bid)
            base = take("model", bid)
            if base is not None:
                seen.add(base.repo_id)
                bctx = context_for(SnapshotBundle(subject=base))
                nxt += [b[0] for b in declared_bases(bctx.metadata, base.tags())]
        frontier, depth = nxt, depth + 1
    ext = getattr(source, "external", None)
    if ext is not None:
        urls = [link.url for link in ctx.card.links]
        urls += [f"https://arxiv.org/abs/{t[6:]}" for t in snap.tags() if t.startswith("arxiv:")]
        external, ext_errors = ext.follow(urls)
        return SnapshotBundle(subject=snap, related=related, related_errors=errors, external=external,
                              external_errors=ext_errors)
    return SnapshotBundle(subject=snap, related=related, related_errors=errors)


def unchecked_bundle(snap: RepoSnapshot) -> SnapshotBundle:
    """A bundle whose declared datasets and base models were not looked up (a local folder audited
    with no Hub source): each is reported as not checked, never as not found."""
    ctx = context_for(SnapshotBundle(subject=snap))
    keys = [f"dataset:{d}" for d, _ in declared_datasets(ctx.metadata, snap.tags()) if valid_dataset_id(d)]
    keys += [f"model:{b[0]}" for b in declared_bases(ctx.metadata, snap.tags())]
    keys += [f"model:{b}" for b in _prose_ids(ctx.card, snap)]
    return SnapshotBundle(subject=snap, related_errors=dict.fromkeys(keys, NOT_CHECKED))


def prose_base_ids(snap: RepoSnapshot) -> list[str]:
    """Ids of the base models the card names in prose (this parses the card's Markdown body)."""
    return _prose_ids(context_for(SnapshotBundle(subject=snap)).card, snap)


def _prose_ids(card: ParsedCard, snap: RepoSnapshot) -> list[str]:
    return [p[0] for p in prose_bases(card, snap.repo_id.split("/")[-1])]


def _license_summary(evidence: list[Evidence]) -> LicenseSummary | None:
    eff = next((e for e in evidence if e.kind == "license.effective"), None)
    if eff is None or not isinstance(eff.value, dict):
        return None
    v = eff.value
    return LicenseSummary(key=v.get("key"), name=v.get("name"), category=v.get("category") or "unknown",
                          restrictions=list(v.get("restrictions") or []), description=eff.summary,
                          source=str(v.get("from") or "none"))


def _lineage(evidence: list[Evidence]) -> list[LineageEntry]:
    out = []
    for e in evidence:
        if e.kind == "lineage.base_model" and isinstance(e.value, dict):
            v = e.value
            out.append(LineageEntry(id=v["id"], canonical_id=v.get("canonical_id"), relation=v.get("relation"),
                                    via=v.get("via", "metadata"), depth=int(v.get("depth", 1)),
                                    found=bool(v.get("found")), child=v.get("child")))
    return out


def _incomplete_reason(snap: RepoSnapshot) -> str | None:
    """A snapshot whose card or licence files could not be read is audited, but incomplete."""
    key_files = [u for u in snap.unreadable.values()
                 if u.reason.value in ("gated", "error") and (u.path.lower() == "readme.md"
                                                             or u.path.lower().startswith(("license", "licence")))]
    if not key_files:
        return None
    reasons = sorted({u.reason.value for u in key_files})
    names = ", ".join(u.path for u in key_files[:5])
    hint = "; pass a token with access (HF_TOKEN or --token)" if "gated" in reasons else ""
    return f"{names} could not be read ({', '.join(reasons)}){hint}; verdicts rest on public metadata"


def audit_bundle(bundle: SnapshotBundle, profiles: Sequence[Profile], strict: bool = False) -> Subject:
    """Pure: evidence, findings, dimension verdicts, framework results and flags for one subject."""
    snap = bundle.subject
    evidence, _ctx = collect_evidence(bundle)
    findings: list[Finding] = []
    outcomes: dict[str, str] = {}
    subject = Subject(repo_id=snap.repo_id, revision=snap.revision, requested_revision=snap.requested_revision,
                      source=snap.source, status="audited", taken_at=snap.taken_at, cache=_cache_state(bundle))
    for prof in profiles:
        fs = evaluate_profile(prof, evidence, outcomes)
        for f in fs:
            outcomes[f"{prof.id}:{f.criterion}"] = f.outcome
        findings += fs
        if prof.scoring.method == "dimensions" and not subject.dimensions:
            subject.dimensions, subject.score, subject.coverage = score_dimensions(prof, fs)
        else:
            subject.frameworks[prof.id] = score_framework(
                prof, fs, strict=strict, where="in the folder" if snap.source == "localdir" else "on the Hub")
    reason = _incomplete_reason(snap)
    if reason:
        subject.status, subject.reason = "incomplete", reason
    subject.findings = findings
    subject.evidence = evidence
    subject.flags = evaluate_flags(evidence, outcomes=outcomes)
    subject.license = _license_summary(evidence)
    subject.lineage = _lineage(evidence)
    return subject


def _cache_state(bundle: SnapshotBundle) -> str | None:
    """How the snapshots a subject's verdicts rest on (its own and its linked repos') came from the
    cache: any unverified one makes it unverified (offline, an entry not sealed with this user's key),
    else any read again after a mismatch makes it refetched, else verified, else None."""
    states = {s.cache for s in (bundle.subject, *bundle.related.values()) if s is not None}
    states |= {e.cache for e in bundle.external.values()}  # the linked code repositories (sources/external.py)
    for state in ("unverified", "refetched", "verified"):
        if state in states:
            return state
    return None


def failed_subject(ref: RepoRef, source_name: str, err: FetchError) -> Subject:
    return Subject(repo_id=ref.repo_id, requested_revision=ref.revision, source=source_name,
                   status=err.status, reason=f"{err.kind}: {err}")


def crashed_subject(repo_id: str, source_name: str, err: BaseException, stage: str,
                    revision: str | None = None) -> Subject:
    """One model whose reading, linking or audit raised something unforeseen (a hostile card or answer
    that found a bug): that model is `incomplete` with the reason, and the run goes on (issue 26)."""
    log.debug("%s failed while %s", repo_id, stage, exc_info=err)
    detail = shown(str(err), 200)
    return Subject(repo_id=repo_id, requested_revision=revision, source=source_name, status="incomplete",
                   reason=f"error: {type(err).__name__} while {stage}" + (f": {detail}" if detail else ""))


def isolated(err: BaseException) -> bool:
    """Whether an exception raised for one model stays that model's: anything but a usage error (an
    invalid store or config file: exit 2 for the run) and what ends a process (Ctrl-C, exit)."""
    return isinstance(err, Exception) and not isinstance(err, UsageError)


def _license_changes(subjects: list[Subject] | SubjectStore) -> None:
    """Flag `license-changed` when two revisions of one repo in the same run disagree on the weights licence."""
    rows = ([(p.repo_id, p.revision, p.has_license, p.license_key) for p in subjects.packed()]
            if isinstance(subjects, SubjectStore) else
            [(s.repo_id, s.revision, s.license is not None, s.license.key if s.license else None) for s in subjects])
    by_repo: dict[str, list[int]] = {}
    for i, (repo_id, _rev, has_license, _key) in enumerate(rows):
        if has_license:
            by_repo.setdefault(repo_id, []).append(i)
    for group in by_repo.values():
        keys = {rows[i][3] for i in group}
        if len(group) < 2 or len(keys) < 2:
            continue
        detail = "; ".join(f"{(rows[i][1] or '?')[:12]}: {rows[i][3] or '?'}" for i in group)
        flag = Flag(id="license-changed", title="Licence changed between revisions", severity="warning",
                    message=f"The weights licence differs between revisions ({detail}).")
        for i in group:
            s = subjects[i]
            s.flags.append(flag)
            if isinstance(subjects, SubjectStore):
                subjects.replace(i, s)


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
            out.append(_model_folder(p))
            continue
        try:
            out.append(parse_ref(t))
        except InvalidRepoId:
            if not p.is_dir():
                raise
            out.append(_model_folder(p))
    return out


def _model_folder(path: Path) -> Path:
    from openaudit.sources.localdir import model_folder

    return model_folder(path)


def audit_models(
    targets: Sequence[str],
    *,
    source: Source | None = None,
    snapshots: str | os.PathLike[str] | None = None,
    profiles: Sequence[str] | None = None,
    token: str | None = None,
    strict: bool = False,
    jobs: int = 4,
    progress: Callable[[str], Any] | None = None,
    now: datetime | None = None,
    depth: str = "full",
    done: Callable[[str, int, int], Any] | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    since: str | None = None,
    limit: int | None = None,
    max_requests: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    offline: bool = False,
    processes: int | None = None,
    stats: dict[str, Any] | None = None,
    external: bool = True,
) -> Report:
    """Audit Hub ids (`owner/name[@rev]`) or local folders. Every requested model is in the report.

    `depth`, as for `audit_org`: metadata (the repository's metadata only, no file read), card
    (+ README), full (+ licence files, datasets, base models). `include`/`exclude` (globs on the id
    or the name, a folder's name), `since` and `limit` choose among the targets, as `audit_org` does
    among listed models: what they leave out is not requested, and not in the report. `since` needs
    each Hub model's metadata (one API request); its files are read only when it is kept. A local
    folder has no such dates and is always kept. `max_requests` is the run's Hub request budget:
    the models it leaves unread are `incomplete`. Live from the Hub, the snapshots read and the
    licence matches made are kept in the snapshot cache `cache_dir` (default: the user cache, the one
    `audit_org` keeps): a model read before at the commit the Hub names costs its metadata request
    only, unless `refresh`. `offline` (no `snapshots`): no request at all, every model from the cache
    at its latest cached commit; one not cached is `skipped` with the reason. The audits run in
    `processes` worker processes, as for `audit_org` (default: one per core from AUDIT_PROCESSES_FROM
    targets on, else one thread; 0: one thread), and the report's `subjects` is a packed `SubjectStore`.
    `stats`, if given, is filled with the counts (chosen, left out by `since`, requests by bucket).
    `progress(repo_id)` is called as a Hub model is started; `done(target, n, total)` as each
    chosen target is finished, whatever became of it (audited, failed, left out).
    """
    from openaudit.cache import trim_to_depth
    from openaudit.selection import KeptInOrder, parse_since, select_targets

    dep = _check_run_options(jobs, limit, max_requests, depth)
    when = parse_since(since)
    given = parse_targets(targets)
    if not given:
        raise UsageError("no model given")
    # --since is decided on metadata, so --limit counts the models kept by it (as for an organisation).
    refs = select_targets(given, include, exclude, None if when else limit)
    profs = resolve_profiles(profiles)
    # A snapshot store also answers a local folder's declared datasets and base models.
    needs_source = any(isinstance(r, RepoRef) for r in refs) or snapshots is not None
    make = partial(make_source, snapshots, token=token, depth=dep, jobs=jobs, max_requests=max_requests,
                   cache_dir=cache_dir, refresh=refresh, offline=offline, external=external)
    # Local folders alone: what they link to is asked of the Hub (or the cache, offline) as for an id.
    src = source or (make() if needs_source else _folder_links(make))
    # A live Hub source, told apart without importing it (a replay never loads huggingface_hub: ~0.3 s).
    if hasattr(src, "take_listing") and hasattr(src, "list_models"):
        _list_owners(cast("BulkHubSource", src), refs)
    memo = RunMemo()
    # With --since, --limit counts the models whose dates keep them (see KeptInOrder).
    window = KeptInOrder(when, limit) if when is not None else None

    def audit_snapshot(snap: RepoSnapshot, auditors: Auditors) -> Packed:
        """Link (at depth full) and audit one snapshot. Its card's prose is read by the audit, not
        here: the audit answers MoreLinks when it names bases in prose, and those are linked too."""
        if depth != "full":  # nothing linked below full, as in an organisation's audit
            return auditors.submit(SnapshotBundle(subject=trim_to_depth(snap, dep)), True).result()
        if src is None:  # no source at all: what a folder declares is named, not looked up
            return auditors.submit(unchecked_bundle(snap), True).result()
        got = auditors.submit(fetch_bundle(src, snap, memo, prose=[]), False).result()
        if isinstance(got, MoreLinks):
            got = auditors.submit(fetch_bundle(src, snap, memo, prose=got.prose), True).result()
        return got

    def read(i: int, ref: RepoRef | Path) -> RepoSnapshot | None:
        """The target's snapshot, or None when --since (or --limit after it) leaves it out."""
        if isinstance(ref, Path):  # a folder has no Hub dates: --since does not apply to it
            from openaudit.sources.localdir import LocalDirSource

            return LocalDirSource(ref).model()
        assert src is not None
        if window is None:
            return src.model(ref.repo_id, ref.revision)
        if not window.has_room(i):
            return None
        from openaudit.sources.bulk import CachedSource
        from openaudit.sources.hub import HubSource

        keep = partial(window.decide, i, ref.repo_id)
        if isinstance(src, (HubSource, CachedSource)):  # its files are read only if it is kept
            return src.model_if(ref.repo_id, ref.revision, keep)
        snap = src.model(ref.repo_id, ref.revision)
        return snap if keep(snap.info) else None

    finished = [0]  # targets done, for `done`
    guard = threading.Lock()

    def audit_one(i: int, auditors: Auditors) -> Packed | None:
        ref = refs[i]
        if progress and isinstance(ref, RepoRef):
            progress(ref.repo_id)
        stage = "reading"
        try:
            snap = read(i, ref)
            if snap is None:
                return None
            stage = "linking and auditing"
            return audit_snapshot(snap, auditors)
        except FetchError as e:
            if isinstance(ref, RepoRef) and src is not None:
                return Packed.of(failed_subject(ref, src.name, e))
            return Packed.of(crashed_subject(str(ref), "local", e, stage))
        except Exception as e:
            if not isolated(e):
                raise
            name, rev = (ref.repo_id, ref.revision) if isinstance(ref, RepoRef) else (str(ref), None)
            return Packed.of(crashed_subject(name, src.name if isinstance(ref, RepoRef) and src else "local",
                                             e, stage, rev))

    def one(i: int, auditors: Auditors) -> Packed | None:
        try:
            return audit_one(i, auditors)
        finally:
            if done:
                with guard:
                    finished[0] += 1
                    n = finished[0]
                ref = refs[i]
                with contextlib.suppress(Exception):  # a progress display must not cost a model its audit
                    done(ref.repo_id if isinstance(ref, RepoRef) else str(ref), n, len(refs))

    # Live from the Hub, licence matches are kept beside the snapshots, in the cache's identify/ (as for
    # an organisation; askalono takes ~0.3 s a text, and a release pipeline audits the same LICENSE on
    # every run); a replay from a snapshot store or a folder alone writes nothing outside what it was given.
    cache = getattr(src, "cache", None) if source is None and snapshots is None else None
    # Many models are audited in worker processes, as an organisation's are (the audits are CPU-bound
    # and hold the GIL); a few in one thread, where forking would cost more than it saves.
    workers = processes if processes is not None else (None if len(refs) >= AUDIT_PROCESSES_FROM else 0)
    with Auditors(audit_packed, profs, strict, workers, warm_up=lambda: _warm_up(profs, strict),
                  memo_dir=cache.root / "identify" if cache is not None else None) as auditors:
        audited = _in_threads(partial(one, auditors=auditors), range(len(refs)), jobs)
    subjects = SubjectStore(window.trim(audited) if window is not None else [s for s in audited if s is not None])
    _license_changes(subjects)
    if stats is not None:
        gate = getattr(src, "gate", None)
        stats.update(given=len(given), chosen=len(refs), audited=len(subjects), audit_processes=auditors.processes,
                     left_out_since=sorted(window.left_out) if window else [],
                     requests=gate.sent if gate else None,
                     api_requests=gate.by_bucket.get("api", 0) if gate else None,
                     file_requests=gate.by_bucket.get("resolvers", 0) if gate else None,
                     rate_limited=gate.rate_limited if gate else None,
                     **_external_stats(src, gate))
    return Report.model_construct(profiles=[ProfileRef(id=p.id, version=p.version, sha256=p.sha256) for p in profs],
                                  generated_at=now or datetime.now(UTC), subjects=subjects)


def _folder_links(make: Callable[[], Source]) -> Source:
    from openaudit.sources.folderlinks import FolderLinkSource

    return FolderLinkSource(make)


def _list_owners(src: BulkHubSource, refs: Sequence[RepoRef | Path]) -> None:
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


def record_snapshots(
    targets: Sequence[str],
    output: str | os.PathLike[str],
    *,
    snapshots: str | os.PathLike[str] | None = None,
    token: str | None = None,
    jobs: int = 4,
    max_requests: int | None = None,
    done: Callable[[RepoSnapshot, int], Any] | None = None,
    external: bool = True,
) -> list[tuple[str, str]]:
    """Record what the source serves of each target (`owner/name[@rev]`), and the datasets and base
    models it links to, into the snapshot store `output` (DESIGN §2): `openaudit snapshot`.

    Live from the Hub, read afresh (no cache), `jobs` models at once, within the request budget
    `max_requests`. A linked repo named by several targets is written once. Every entry is written
    whole or not at all (info.json last), so an interrupted run leaves complete entries only.
    `done(snapshot, linked)` is called as each target is written (linked: Hub repos and records outside
    the Hub). Returns, in the order given, the
    targets not recorded, or recorded without a linked repo lost to the budget, a rate limit or the
    network (a replay would lack it), each with the reason."""
    from openaudit.sources.external import write_external
    from openaudit.sources.store import LinkInPath, write_snapshot

    _check_run_options(jobs, None, max_requests, "full")
    refs = [parse_ref(t) for t in targets]  # InvalidRepoId before any request
    src = make_source(snapshots, token=token, jobs=jobs, max_requests=max_requests, cached=False, external=external)
    memo = RunMemo()
    written: set[str] = set()
    lock = threading.Lock()

    def guarded(put: Callable[[], object]) -> None:
        try:
            put()
        except LinkInPath as e:  # a folder of the store is a link elsewhere: refused, nothing written there
            raise ConfigFileError(str(output), f"not written: {e}") from None
        except OSError as e:
            raise ConfigFileError(str(output), f"cannot write the store: {e.strerror or e}") from None

    def write(snap: RepoSnapshot, as_id: str | None = None) -> None:
        guarded(lambda: write_snapshot(output, snap, as_id=as_id))

    def one(ref: RepoRef) -> str | None:
        try:
            snap = src.model(ref.repo_id, ref.revision)
            bundle = fetch_bundle(src, snap, memo)
        except FetchError as e:
            return f"{e.kind}: {e}"
        except Exception as e:
            if not isolated(e):
                raise
            return crashed_subject(ref.repo_id, src.name, e, "reading or linking").reason
        write(snap)
        for key, linked in bundle.related.items():
            with lock:
                if key in written:
                    continue
                written.add(key)
            write(linked, key.split(":", 1)[1])
        for key, ext in bundle.external.items():  # what the card links to outside the Hub: github/, arxiv/...
            with lock:
                if f"external:{key.lower()}" in written:
                    continue
                written.add(f"external:{key.lower()}")
            # Under the name the card links (a renamed repository's old name), as a replay looks it up.
            guarded(functools.partial(write_external, output, ext, as_id=key.split(":", 1)[1]))
        if done:
            with contextlib.suppress(Exception):  # a progress line must not cost a model its record
                done(snap, len(bundle.related) + len(bundle.external))  # the hosts outside the Hub too
        why = [f"recorded without linked repos not fetched: {lost}"] if (lost := _lost_links(bundle)) else []
        if unread := _unread_files(snap):
            why.insert(0, f"recorded without files it could not read: {unread}")
        return "; ".join(why) or None

    reasons = _in_threads(one, refs, jobs)
    return [(r.repo_id, why) for r, why in zip(refs, reasons, strict=True) if why is not None]


def _unread_files(snap: RepoSnapshot, most: int = 10) -> str:
    """The listed text files a source failed to serve (gated, gone, an error), named with why: a
    replay of the record would lack them. Files left unread by design (too large, binary) are not."""
    from openaudit.snapshot import Unreadable

    failed = [u for u in snap.unreadable.values()
              if u.reason in (Unreadable.GATED, Unreadable.MISSING, Unreadable.ERROR)]
    named = [f"{shown(u.path, 200)} ({u.reason.value}{': ' + shown(u.detail, 120) if u.detail else ''})"
             for u in failed[:most]]
    return ", ".join(named) + (f" and {len(failed) - most} more" if len(failed) > most else "")


def _in_threads(fn: Callable[[Any], T], items: Sequence[Any], jobs: int) -> list[T]:
    """`fn` over `items` on `jobs` threads (in this one for a single item or job), results in order."""
    if len(items) <= 1 or jobs <= 1:
        return [fn(x) for x in items]
    pool = ThreadPoolExecutor(max_workers=min(jobs, len(items)))
    try:
        return list(pool.map(fn, items))
    finally:
        # On Ctrl-C/SIGTERM, drop the queued items instead of working through them all before exiting.
        pool.shutdown(wait=False, cancel_futures=True)


ORG_DEPTHS = ("metadata", "card", "full")


def _check_run_options(jobs: int | None, limit: int | None, max_requests: int | None, depth: str) -> Depth:
    """The options `audit` and `org` share, checked before anything is read: a usage error naming the value."""
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs must be at least 1; got {jobs}")
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1; got {limit}")
    if max_requests is not None and max_requests < 0:
        raise UsageError(f"--max-requests must be at least 0; got {max_requests}")
    if depth not in ORG_DEPTHS:
        raise UsageError(f"--depth must be one of {', '.join(ORG_DEPTHS)}; got '{depth}'")
    return cast("Depth", depth)


_TRANSIENT = ("budget:", "rate-limited:", "network:", "limit:", "refused:", "failed:")


def _bases_named_in(items: Sequence[dict[str, Any]]) -> set[str]:
    """Ids that listed models declare as their base (card metadata or `base_model:` tags)."""
    named: set[str] = set()
    for item in items:
        raw = item.get("cardData")
        card: dict[str, Any] = raw if isinstance(raw, dict) else {}
        named.update(b[0] for b in declared_bases(card, [t for t in item.get("tags") or [] if isinstance(t, str)]))
    return named


def audit_org(
    org: str,
    *,
    snapshots: str | os.PathLike[str] | None = None,
    profiles: Sequence[str] | None = None,
    token: str | None = None,
    strict: bool = False,
    jobs: int | None = None,
    depth: str = "full",
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    since: str | None = None,
    limit: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    refresh: bool = False,
    offline: bool = False,
    max_requests: int | None = None,
    endpoint: str | None = None,
    timeout: float = 10.0,
    progress: Callable[[str, int, int], Any] | None = None,
    stats: dict[str, Any] | None = None,
    now: datetime | None = None,
    processes: int | None = None,
    external: bool = True,
) -> Report:
    """Audit every model of an organisation (DESIGN §8): one listing, pinned parallel reads, a cache.

    `depth`: metadata (the listing only), card (+ README), full (+ licence files, datasets, base models).
    With `snapshots`, the organisation is the store's owner folder. Every listed model is in the
    report: what could not be fetched (budget spent, rate limited, offline and not cached) is an
    `incomplete` or `skipped` subject with its reason. `jobs`: at most that many requests in flight;
    None: adapted to the Hub's RateLimit headers and latency (openaudit.sources.gate.Concurrency).

    Audits run in `processes` worker processes (default: one per core, see openaudit.workers; 0: one
    thread). The report's `subjects` is a packed, read-only `SubjectStore` (openaudit.subjects): an
    organisation's report is held at ~8 KB a model and each subject is decoded when it is read.
    """
    from openaudit.cache import (
        WITHHELD_FROM_ANONYMOUS,
        WITHHELD_FROM_OTHER_TOKEN,
        SnapshotCache,
        default_cache_dir,
        trim_to_depth,
    )
    from openaudit.repoid import validate_owner
    from openaudit.selection import parse_since, select_models
    from openaudit.sources.bulk import INVALID_ITEM, BulkHubSource, CachedSource, RequestGate
    from openaudit.sources.gate import Concurrency
    from openaudit.sources.hub import token_in_use
    from openaudit.sources.store import StoreSource

    validate_owner(org)
    dep = _check_run_options(jobs, limit, max_requests, depth)
    if processes is not None and processes < 0:
        raise UsageError(f"--processes must be at least 0; got {processes}")
    when = parse_since(since)
    profs = resolve_profiles(profiles)
    filtered = bool(include or exclude or when)
    extra: list[Subject] = []
    warmed = False
    hub: BulkHubSource | None = None
    cache: SnapshotCache | None = None
    store: StoreSource | None = None
    linked: Source

    if snapshots is not None:
        store = StoreSource(snapshots)
        listed = store.list_models(org)
        linked = store
        if external and dep == "full":
            from openaudit.sources.external import StoreExternal

            attach_external(store, StoreExternal(snapshots))
    else:
        cache = SnapshotCache(cache_dir if cache_dir is not None else default_cache_dir(endpoint), offline=offline)
        if offline:
            rows = cache.get_listing(org)
            if rows is None:
                raise OfflineMissOrg(org, f"offline: nothing cached for organisation '{org}' in {cache.root}; "
                                     "run once without --offline first")
            listed = rows
        else:
            gate = RequestGate(jobs, max_requests)  # jobs None: in flight as the Hub's pace allows
            hub = BulkHubSource(endpoint=endpoint, token=token, timeout=timeout, workers=gate.jobs, gate=gate)
            listed = []
            failed: list[BaseException] = []
            notes: list[str] = []

            def list_all() -> None:
                assert hub is not None
                try:
                    for item in hub.list_models(org, None if filtered else limit, notes=notes):
                        if INVALID_ITEM in item:  # not a valid id: skipped, nothing requested for it
                            extra.append(Subject(repo_id=item["id"], source="hub", status="skipped",
                                                 reason=f"refused: {item[INVALID_ITEM]}"))
                            continue
                        listed.append(item)
                        if not filtered and limit is not None and len(listed) >= limit:
                            break
                except BaseException as e:  # raised below, in the calling thread
                    failed.append(e)

            # The listing is network waits; what the audit workers inherit is loaded meanwhile. The
            # thread has ended before they are forked (openaudit.workers forks single-threaded only).
            lister = threading.Thread(target=list_all, name="openaudit-listing", daemon=True)
            threads_before = os_thread_count()
            lister.start()
            if forks(processes):
                _warm_up(profs, strict)
                warmed = True
            lister.join()
            settle_threads(threads_before)  # its OS thread gone too, or the workers would not be forked
            for note in notes:
                log.warning("%s", shown(note, 300))
            if failed:
                e = failed[0]
                if not isinstance(e, FetchError) or not listed:
                    raise e
                extra.append(Subject(repo_id=f"{org}/*", source="hub", status="incomplete",
                                     reason=f"{e.kind}: the listing stopped after {len(listed)} models: {e}"))
            if not filtered and limit is None and not failed:
                cache.put_listing(org, listed)
        reader_token = hub.reader if hub is not None else token_in_use(token)
        linked = CachedSource(hub, cache, offline=offline, refresh=refresh, token=reader_token)
        if external and dep == "full" and hub is not None and not offline:
            from openaudit.sources.external import ExternalSource

            # One reader for the whole organisation: a repository many models link is read once.
            attach_external(linked, ExternalSource.from_env(gate=hub.gate, cache_dir=cache.root / "external",
                                                            timeout=timeout))
        elif external and dep == "full" and offline:  # the repositories the cache kept (their seals checked)
            from openaudit.sources.external import CachedExternal, external_enabled

            attach_external(linked, CachedExternal(cache.root / "external") if external_enabled() else None)
    chosen = select_models(listed, include, exclude, when, limit)
    total = len(chosen)

    def fetch(item: dict[str, Any]) -> RepoSnapshot | Subject:
        rid, sha = item["id"], item.get("sha")
        try:
            if store is not None:
                return trim_to_depth(store.model(rid), dep)
            assert cache is not None
            if not refresh or offline:
                got = cache.get("model", rid, sha, dep, token=reader_token)
                if got is not None:
                    return got if hub is None else got.model_copy(update={"info": _listed_over(got.info, item)})
            if offline or hub is None:
                withheld = cache.read_with_token("model", rid, sha)
                why = (f"is not in the cache at depth {depth}" if not withheld
                       else WITHHELD_FROM_OTHER_TOKEN if reader_token else WITHHELD_FROM_ANONYMOUS)
                return Subject(repo_id=rid, revision=sha, source="hub", status="skipped",
                               reason=f"offline: {rid}@{str(sha)[:12]} {why} ({cache.root})")
            snap, paths = hub.snapshot_from_listing(item, dep)
            cache.put(snap, dep, paths, token=hub.reader)
            return cache.stamp(snap)  # "refetched" when its cached entry was not believed
        except FetchError as e:
            return Subject(repo_id=rid, revision=sha, source="hub" if store is None else "store",
                           status=e.status, reason=f"{e.kind}: {e}")

    memo = RunMemo()
    done = [0]
    done_lock = threading.Lock()

    def tick(what: str) -> None:
        if progress:
            with done_lock:
                done[0] += 1
                progress(what, done[0], 2 * total)

    def fetch_one(item: dict[str, Any]) -> RepoSnapshot | Subject:
        try:
            out = fetch(item)
        except BaseException:
            memo.fulfil("model", item["id"], None)
            raise
        if item["id"] in named:
            memo.fulfil("model", item["id"], out if isinstance(out, RepoSnapshot) else None)
        tick(f"reading {org}")
        return out

    def link(got: RepoSnapshot, prose: list[str] | None) -> tuple[SnapshotBundle, bool]:
        """The bundle to audit, and whether the card's prose bases are linked (see audit_packed)."""
        if depth != "full":
            return SnapshotBundle(subject=got), True
        return fetch_bundle(linked, got, memo, prose=prose or []), prose is not None

    # Only org models that another one names as its base are kept in the memo, so a large org's
    # snapshots are freed as soon as each is audited.
    named = _bases_named_in(chosen)
    for item in chosen:
        if item["id"] in named:
            memo.reserve("model", item["id"])
    warm_up = None if warmed else (lambda: _warm_up(profs, strict))
    # Licence matches are kept in the cache (cache/identify): the next run does not match them again.
    memo_dir = cache.root / "identify" if cache is not None else None
    with Auditors(audit_packed, profs, strict, processes, warm_up=warm_up, memo_dir=memo_dir) as auditors:
        threads = hub.gate.jobs if hub is not None else jobs or Concurrency.START
        packed = _pipeline(chosen, named, fetch_one, link, auditors, threads, lambda: tick(f"auditing {org}"))
    subjects = SubjectStore(packed)
    for s in extra:
        subjects.append(s)
    _license_changes(subjects)
    if stats is not None:
        stats.update(listed=len(listed), audited=total,
                     requests=hub.gate.sent if hub else 0,
                     api_requests=hub.gate.by_bucket.get("api", 0) if hub else 0,
                     file_requests=hub.gate.by_bucket.get("resolvers", 0) if hub else 0,
                     rate_limited=hub.gate.rate_limited if hub else 0,
                     deduped_reads=hub.deduped_reads if hub else 0,
                     unread_duplicates=hub.unread_duplicates if hub else 0,
                     audit_processes=auditors.processes,
                     cache=str(cache.root) if cache else None,
                     cache_refetched=len(cache.refetched) if cache else 0,
                     cache_unverified=len(cache.unverified) if cache else 0,
                     **_external_stats(linked, hub.gate if hub else None))
    return Report.model_construct(profiles=[ProfileRef(id=p.id, version=p.version, sha256=p.sha256) for p in profs],
                                  generated_at=now or datetime.now(UTC), subjects=subjects)


def _external_stats(source: Any, gate: Any) -> dict[str, Any]:
    """What a run asked of hosts outside the Hub (issue 25), for its provenance: requests sent (they
    share the Hub's budget, bucket "external") and the hosts whose rate limit ran out."""
    ext = getattr(source, "external", None)
    sent = gate.by_bucket.get("external", 0) if gate is not None else getattr(ext, "sent", 0)
    notes = getattr(ext, "notes", None)  # its cache's entries not believed (not sealed with this user's key)
    return {"external_requests": sent, "external_rate_limited": sorted(getattr(ext, "rate_limited_hosts", ())),
            "external_cache_refetched": len(notes.refetched) if notes else 0,
            "external_cache_unverified": len(notes.unverified) if notes else 0}


def _listed_over(cached: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """A cached model's metadata brought up to date by its list item at the same commit: gating and
    privacy are settings, not files, and change without a commit. Its siblings stay the cached
    ones, which may have sizes and blob ids (a list item has neither)."""
    return {**cached, **{k: v for k, v in item.items() if k != "siblings"}}


_WARM_UP_CARD = """---
license: apache-2.0
datasets:
- openaudit/warm-up-data
base_model: openaudit/warm-up-base
---
# Warm-up

Fine-tuned from openaudit/warm-up-base. See [the paper](https://arxiv.org/abs/2401.00001) and
[the code](https://github.com/openaudit/warm-up).

## Training data

Trained on 1T tokens of public web text.

## Evaluation

| task | score |
|------|-------|
| mmlu | 50.0 |

## Limitations

It makes mistakes.
"""


def _warm_up(profiles: Sequence[Profile], strict: bool) -> None:
    """Audit a small made-up card: loads and compiles what every audit needs (see openaudit.workers)."""
    readme = TextFile(path="README.md", text=_WARM_UP_CARD, size=len(_WARM_UP_CARD))
    snap = RepoSnapshot(repo_id="openaudit/warm-up", repo_type="model", source="store", taken_at=datetime.now(UTC),
                        info={"id": "openaudit/warm-up", "cardData": {"license": "apache-2.0"}, "tags": [],
                              "siblings": [{"rfilename": "README.md"}, {"rfilename": "model.safetensors"}]},
                        files={"README.md": readme})
    audit_packed(SnapshotBundle(subject=snap), profiles, strict)


@dataclass(frozen=True)
class MoreLinks:
    """An audit's answer when the card names base models in prose that the bundle was linked without."""

    prose: list[str]


def audit_packed(bundle: SnapshotBundle, profiles: Sequence[Profile], strict: bool = False,
                 prose_linked: bool = True) -> Packed | MoreLinks:
    """`audit_bundle`, with linked repos lost to the network making it incomplete, packed (openaudit.subjects).

    An organisation's models are linked (`fetch_bundle(prose=[])`) from their metadata alone, so
    that the reading process never parses a card's Markdown: the audit parses it anyway. With
    `prose_linked=False`, a card that names bases in prose gets `MoreLinks` back instead of an
    audit: the caller links those too and asks again (8 % of cards in the benchmark organisation).
    """
    if not prose_linked:
        ids = prose_base_ids(bundle.subject)
        if ids:
            return MoreLinks(ids)
    try:
        subject = audit_bundle(bundle, profiles, strict)
    except LimitReached as e:  # the per-model CPU budget: that model incomplete, the run goes on
        snap = bundle.subject
        return Packed.of(Subject(repo_id=snap.repo_id, revision=snap.revision,
                                 requested_revision=snap.requested_revision, source=snap.source,
                                 status="incomplete", taken_at=snap.taken_at, reason=f"{e.kind}: {e}"))
    return Packed.of(_with_lost_links(subject, bundle))


def _with_lost_links(subject: Subject, bundle: SnapshotBundle) -> Subject:
    """An audit whose linked datasets or bases were lost to the budget, a rate limit or the network
    is incomplete: run again, it may say more."""
    lost = _lost_links(bundle)
    if lost and subject.status == "audited":
        subject.status = "incomplete"
        subject.reason = f"linked repos not fetched: {lost}"
    return subject


def _lost_links(bundle: SnapshotBundle) -> str:
    """The linked repos lost to the budget, a rate limit or the network (not: not found, gated), or ""."""
    lost = [f"{k} ({v})" for k, v in bundle.related_errors.items() if v.startswith(_TRANSIENT)]
    # Outside the Hub: every link not read (a rate limit, the budget, the network) is lost, never an answer.
    lost += [f"{k} ({v})" for k, v in bundle.external_errors.items()]
    return "; ".join(sorted(lost))[:500]


def _pipeline(chosen: Sequence[dict[str, Any]], named: set[str],
              read: Callable[[dict[str, Any]], RepoSnapshot | Subject],
              link: Callable[[RepoSnapshot, list[str] | None], tuple[SnapshotBundle, bool]],
              auditors: Auditors, jobs: int, audited: Callable[[], None]) -> list[Packed]:
    """Read, link and audit every listed model, pipelined; the results in listing order.

    Reads and links (datasets, base models) run on `jobs` threads; audits go to `auditors` as
    soon as their bundle is ready, so CPU-bound audits overlap the network waits of the reads.
    At most `window` models (4 x jobs, at least 32) are between their read and their packed result
    at once: memory is bounded whatever the organisation's size. Models that others name as their base are read
    first, outside the window: a link waits on the memo only for a read already under way, never
    for one the window has not let in yet (that would deadlock once the window is full of waiters).
    """
    n = len(chosen)
    if n == 0:
        return []
    results: list[Packed | BaseException | None] = [None] * n
    slots = threading.BoundedSemaphore(max(32, 4 * jobs))
    lock = threading.Lock()
    left = [n]
    finished = threading.Event()

    def settle(i: int, value: Packed | BaseException) -> None:
        """Each model is settled exactly once: its slot is freed, and progress told of an audit."""
        results[i] = value
        slots.release()
        with lock:
            left[0] -= 1
            if left[0] == 0:
                finished.set()
        if isinstance(value, Packed):
            audited()

    def after_audit(i: int, snap: RepoSnapshot, fut: Future[Packed | MoreLinks]) -> None:
        try:
            got = fut.result()
            if isinstance(got, MoreLinks):
                io.submit(link_and_audit, i, snap, got.prose)
                return
            value: Packed | BaseException = got
        except BaseException as e:
            value = e
        settle(i, value)

    def link_and_audit(i: int, snap: RepoSnapshot, prose: list[str] | None = None) -> None:
        try:
            bundle, prose_linked = link(snap, prose)
            auditors.submit(bundle, prose_linked).add_done_callback(partial(after_audit, i, snap))
        except BaseException as e:
            settle(i, e)

    def then_link(i: int, got: RepoSnapshot | Subject) -> None:
        if isinstance(got, Subject):
            settle(i, Packed.of(got))
        else:
            link_and_audit(i, got)

    def read_and_link(i: int) -> None:
        """On one reading thread: a model read is linked and handed to the auditors at once, not
        queued behind the window's other reads (the workers would wait ~0.3 s for a first audit)."""
        try:
            got = read(chosen[i])
        except BaseException as e:
            settle(i, e)
            return
        then_link(i, got)

    def after_early_read(i: int, fut: Future[RepoSnapshot | Subject]) -> None:
        try:
            got = fut.result()
        except BaseException as e:
            settle(i, e)
            return
        io.submit(then_link, i, got)  # not in this callback: it may run on the submitting thread

    io = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="openaudit-org")
    try:
        early = {i: io.submit(read, chosen[i]) for i in range(n) if chosen[i]["id"] in named}
        for i in range(n):
            slots.acquire()  # released when model i is settled: never before this
            if i in early:
                early.pop(i).add_done_callback(partial(after_early_read, i))
            else:
                io.submit(read_and_link, i)
        while not finished.wait(0.25):
            pass
    finally:
        # On Ctrl-C/SIGTERM, drop the queued models instead of reading them all before exiting.
        io.shutdown(wait=False, cancel_futures=True)
    out: list[Packed] = []
    for item, r in zip(chosen, results, strict=True):
        if isinstance(r, BaseException):
            if not isolated(r):
                raise r
            # One model's failure (reading, linking or auditing it) is that model's, not the run's.
            r = Packed.of(crashed_subject(item["id"], "hub", r, "reading, linking or auditing"))
        assert r is not None
        out.append(r)
    return out


class OfflineMissOrg(FetchError):
    """--offline and the cache knows nothing of the organisation (exit 3)."""

    kind = "offline"
    status = "skipped"
