"""What the CLI and library users call: audit models, build reports, load profiles.

The flow is source -> snapshot bundle -> evidence -> findings -> scores. Only `fetch_bundle` does
I/O (through a source); `audit_bundle` is a pure function of a bundle and the profiles.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from openaudit.criteria import BUILTIN_PROFILES, Profile, available_profiles, load_profile
from openaudit.errors import FetchError, OpenAuditError, UsageError
from openaudit.evaluate import Finding, evaluate_profile
from openaudit.evidence import collect_evidence, context_for
from openaudit.evidence.data import declared_datasets, valid_dataset_id
from openaudit.evidence.lineage import MAX_DEPTH, declared_bases, prose_bases
from openaudit.evidence.model import Evidence
from openaudit.flags import Flag, evaluate_flags
from openaudit.repoid import RepoRef, parse_ref, validate_repo_id
from openaudit.report import LicenseSummary, LineageEntry, ProfileRef, Report, Subject
from openaudit.scoring import score_dimensions, score_framework
from openaudit.snapshot import RepoSnapshot, RepoType, SnapshotBundle

__all__ = ["audit_bundle", "audit_models", "default_profiles", "fetch_bundle", "load_profile", "make_source"]

LINEAGE_FETCH_DEPTH = 3  # bases fetched per subject; deeper ancestors are named, not audited


class Source(Protocol):
    name: str

    def model(self, repo_id: str, revision: str | None = None) -> RepoSnapshot: ...

    def dataset(self, repo_id: str, revision: str | None = None) -> RepoSnapshot: ...


def make_source(snapshots: str | os.PathLike[str] | None = None, *, token: str | None = None,
                endpoint: str | None = None, offline: bool = False, timeout: float = 10.0) -> Source:
    """A store source when `snapshots` is given, else the Hub (offline: refused)."""
    if snapshots is not None:
        from openaudit.sources.store import StoreSource

        return StoreSource(snapshots)
    if offline:
        raise UsageError("--offline needs --snapshots STORE (or a cache, see `openaudit org --offline`)")
    from openaudit.sources.hub import HubSource

    return HubSource(endpoint=endpoint, token=token, timeout=timeout)


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
    """Linked repos fetched once per run, however many subjects name them."""

    snapshots: dict[str, RepoSnapshot] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, source: Source, repo_type: RepoType, repo_id: str) -> RepoSnapshot | None:
        key = f"{repo_type}:{repo_id}"
        if key in self.snapshots:
            return self.snapshots[key]
        if key in self.errors:
            return None
        try:
            if repo_type == "model":
                validate_repo_id(repo_id)
            snap = source.model(repo_id) if repo_type == "model" else source.dataset(repo_id)
        except FetchError as e:
            self.errors[key] = f"{e.kind}: {e}"
            return None
        except OpenAuditError as e:
            self.errors[key] = f"invalid: {e}"
            return None
        self.snapshots[key] = snap
        return snap


def fetch_bundle(source: Source, snap: RepoSnapshot, memo: RunMemo | None = None) -> SnapshotBundle:
    """Fetch what a subject links to: declared datasets, and base models up to a depth."""
    memo = memo or RunMemo()
    related: dict[str, RepoSnapshot] = {}
    errors: dict[str, str] = {}

    def take(repo_type: RepoType, repo_id: str) -> RepoSnapshot | None:
        key = f"{repo_type}:{repo_id}"
        got = memo.get(source, repo_type, repo_id)
        if got is not None:
            related[key] = got
        else:
            errors[key] = memo.errors.get(key, "not resolved")
        return got

    ctx = context_for(SnapshotBundle(subject=snap))
    for did, _via in declared_datasets(ctx.metadata, snap.tags()):
        if valid_dataset_id(did):
            take("dataset", did)
    frontier = [b[0] for b in declared_bases(ctx.metadata, snap.tags())]
    frontier += [p[0] for p in prose_bases(ctx.card)]
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
    return SnapshotBundle(subject=snap, related=related, related_errors=errors)


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
                      source=snap.source, status="audited", taken_at=snap.taken_at)
    for prof in profiles:
        fs = evaluate_profile(prof, evidence, outcomes)
        for f in fs:
            outcomes[f"{prof.id}:{f.criterion}"] = f.outcome
        findings += fs
        if prof.scoring.method == "dimensions" and not subject.dimensions:
            subject.dimensions, subject.score, subject.coverage = score_dimensions(prof, fs)
        else:
            subject.frameworks[prof.id] = score_framework(prof, fs, strict=strict)
    reason = _incomplete_reason(snap)
    if reason:
        subject.status, subject.reason = "incomplete", reason
    subject.findings = findings
    subject.evidence = evidence
    subject.flags = evaluate_flags(evidence)
    subject.license = _license_summary(evidence)
    subject.lineage = _lineage(evidence)
    return subject


def failed_subject(ref: RepoRef, source_name: str, err: FetchError) -> Subject:
    return Subject(repo_id=ref.repo_id, requested_revision=ref.revision, source=source_name,
                   status=err.status, reason=f"{err.kind}: {err}")


def _license_changes(subjects: list[Subject]) -> None:
    """Flag `license-changed` when two revisions of one repo in the same run disagree on the weights licence."""
    by_repo: dict[str, list[Subject]] = {}
    for s in subjects:
        if s.license is not None:
            by_repo.setdefault(s.repo_id, []).append(s)
    for group in by_repo.values():
        keys = {s.license.key for s in group if s.license}
        if len(group) < 2 or len(keys) < 2:
            continue
        detail = "; ".join(f"{(s.revision or '?')[:12]}: {s.license.key if s.license else '?'}" for s in group)
        for s in group:
            s.flags.append(Flag(id="license-changed", title="Licence changed between revisions", severity="warning",
                                message=f"The weights licence differs between revisions ({detail})."))


def parse_targets(targets: Iterable[str]) -> list[RepoRef | Path]:
    """Validate every target before any fetch: a bad id is a usage error naming it (exit 2)."""
    out: list[RepoRef | Path] = []
    for t in targets:
        if not t.strip():
            raise UsageError("invalid repo id '': expected 'owner/name[@revision]' or a model folder")
        p = Path(t)
        if t.startswith((".", "/", "~")) or (os.sep in t and p.is_dir()) or (p.is_dir() and "/" not in t):
            if not p.expanduser().is_dir():
                shown = t.encode("unicode_escape").decode("ascii")[:120]
                raise UsageError(f"'{shown}' is neither a model folder nor a valid repo id (owner/name[@revision])")
            out.append(p.expanduser())
        else:
            out.append(parse_ref(t))
    return out


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
) -> Report:
    """Audit Hub ids (`owner/name[@rev]`) or local folders. Every requested model is in the report."""
    refs = parse_targets(targets)
    if not refs:
        raise UsageError("no model given")
    profs = resolve_profiles(profiles)
    needs_source = any(isinstance(r, RepoRef) for r in refs)
    src = source or (make_source(snapshots, token=token) if needs_source else None)
    memo = RunMemo()

    def one(ref: RepoRef | Path) -> Subject:
        if isinstance(ref, Path):
            from openaudit.sources.localdir import LocalDirSource

            local = LocalDirSource(ref)
            snap = local.model()
            bundle = fetch_bundle(src, snap, memo) if src else SnapshotBundle(subject=snap)
            return audit_bundle(bundle, profs, strict)
        assert src is not None
        if progress:
            progress(ref.repo_id)
        try:
            snap = src.model(ref.repo_id, ref.revision)
            bundle = fetch_bundle(src, snap, memo)
        except FetchError as e:
            return failed_subject(ref, src.name, e)
        return audit_bundle(bundle, profs, strict)

    if len(refs) > 1 and jobs > 1:
        pool = ThreadPoolExecutor(max_workers=min(jobs, len(refs)))
        try:
            subjects = list(pool.map(one, refs))
        finally:
            # On Ctrl-C/SIGTERM, drop the queued models instead of auditing them all before exiting.
            pool.shutdown(wait=False, cancel_futures=True)
    else:
        subjects = [one(r) for r in refs]
    _license_changes(subjects)
    return Report(profiles=[ProfileRef(id=p.id, version=p.version, sha256=p.sha256) for p in profs],
                  generated_at=now or datetime.now(UTC), subjects=subjects)
