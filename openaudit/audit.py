"""The audit of one subject: pure functions of a snapshot bundle and the profiles.

evidence (openaudit.evidence) -> findings (evaluate) -> dimension and framework scores (scoring) ->
flags, assembled into a `Subject` of the report. Nothing here reads the network or the disk, except
the profiles, which are packaged data. What a run reads and in which order is openaudit.run's.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from openaudit.card import ParsedCard
from openaudit.criteria import BUILTIN_PROFILES, Profile, available_profiles, load_profile
from openaudit.errors import FetchError, LimitReached, UsageError
from openaudit.evaluate import Finding, evaluate_profile
from openaudit.evidence import collect_evidence, context_for
from openaudit.evidence.lineage import prose_bases
from openaudit.evidence.model import Evidence
from openaudit.flags import Flag, evaluate_flags
from openaudit.repoid import RepoRef, shown
from openaudit.report import LicenseSummary, LineageEntry, Subject
from openaudit.scoring import score_dimensions, score_framework
from openaudit.snapshot import RepoSnapshot, SnapshotBundle, TextFile
from openaudit.subjects import Packed, SubjectStore

log = logging.getLogger(__name__)


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
        subject.status, subject.reason, subject.reason_kind = "incomplete", reason, "unreadable"
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


def failed_subject(ref: RepoRef, source_name: str, err: FetchError) -> Subject:
    return Subject(repo_id=ref.repo_id, requested_revision=ref.revision, source=source_name,
                   status=err.status, reason=f"{err.kind}: {err}", reason_kind=err.kind)


def crashed_subject(repo_id: str, source_name: str, err: BaseException, stage: str,
                    revision: str | None = None) -> Subject:
    """One model whose reading, linking or audit raised something unforeseen (a hostile card or answer
    that found a bug): that model is `incomplete` with the reason, and the run goes on (issue 26)."""
    log.debug("%s failed while %s", repo_id, stage, exc_info=err)
    detail = shown(str(err), 200)
    return Subject(repo_id=repo_id, requested_revision=revision, source=source_name, status="incomplete",
                   reason_kind="error",
                   reason=f"error: {type(err).__name__} while {stage}" + (f": {detail}" if detail else ""))


def isolated(err: BaseException) -> bool:
    """Whether an exception raised for one model stays that model's: anything but a usage error (an
    invalid store or config file: exit 2 for the run) and what ends a process (Ctrl-C, exit)."""
    return isinstance(err, Exception) and not isinstance(err, UsageError)


def license_changes(subjects: list[Subject] | SubjectStore) -> None:
    """Flag `license-changed` when two revisions of one repo in the same run disagree on the weights licence."""
    rows = ([(h.repo_id, h.revision, h.has_license, h.license_key) for h in subjects.heads()]
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


@dataclass(frozen=True)
class MoreLinks:
    """An audit's answer when the card names base models in prose that the bundle was linked without."""

    prose: list[str]


def audit_packed(bundle: SnapshotBundle, profiles: Sequence[Profile], strict: bool = False,
                 prose_linked: bool = True, prerender: Sequence[str] = ()) -> Packed | MoreLinks:
    """`audit_bundle`, with linked repos lost to the network making it incomplete, packed (openaudit.subjects).

    An organisation's models are linked (`fetch_bundle(prose=[])`) from their metadata alone, so
    that the reading process never parses a card's Markdown: the audit parses it anyway. With
    `prose_linked=False`, a card that names bases in prose gets `MoreLinks` back instead of an
    audit: the caller links those too and asks again (8 % of cards in the benchmark organisation).
    `prerender`: output formats whose part of this subject is rendered here (`html`: its part of the
    comparison page), in the worker, rather than in the parent after the last audit.
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
                                 status="incomplete", taken_at=snap.taken_at, reason=f"{e.kind}: {e}",
                                 reason_kind=e.kind))
    packed = Packed.of(_withlost_links(subject, bundle))
    return _prerendered(packed, prerender, [(p.id, p.version) for p in profiles]) if prerender else packed


def _prerendered(packed: Packed, formats: Sequence[str], profiles: Sequence[tuple[str, str]] = ()) -> Packed:
    """The subject's parts of `formats` (html, md, mof-yaml, sarif, junit, github, site) made now, from the
    subject as the report holds it (decoded from its JSON, as a renderer reads it); a failure, or no
    part (sarif's when the rules depend on the findings), leaves that format's part to the renderer
    (which says whose it is).
    `profiles`: (id, version) of the profiles that ran, in order (SARIF numbers its rules by them; a
    site's page names them)."""
    from dataclasses import replace
    from functools import partial

    makers: dict[str, Any] = {}
    if "html" in formats:
        from openaudit.render.html import Pieces

        makers["html"] = Pieces.of
    if "md" in formats:
        from openaudit.render.markdown import Part

        makers["md"] = Part.of
    if "mof-yaml" in formats:
        from openaudit.render.mof_yaml import Doc

        makers["mof-yaml"] = Doc.of
    if "sarif" in formats:
        from openaudit.render.sarif import Results

        makers["sarif"] = partial(Results.of, profile_ids=tuple(pid for pid, _version in profiles))
    if "junit" in formats:
        from openaudit.render.junit import Suite

        makers["junit"] = Suite.of
    if "github" in formats:
        from openaudit.render.github import Lines

        makers["github"] = Lines.of
    if "site" in formats:
        from openaudit.render.site import Page

        makers["site"] = partial(Page.of, profiles=tuple(profiles))
    if not makers:
        return packed
    subject = packed.subject()
    pieces: dict[str, Any] = {}
    for fmt, make in makers.items():
        try:
            part = make(subject)
        except Exception:
            continue
        if part is not None:
            pieces[fmt] = part
    return replace(packed, pieces=pieces) if pieces else packed


def _withlost_links(subject: Subject, bundle: SnapshotBundle) -> Subject:
    """An audit whose linked datasets or bases were lost to the budget, a rate limit or the network
    is incomplete: run again, it may say more."""
    lost = lost_links(bundle)
    if lost and subject.status == "audited":
        subject.status = "incomplete"
        subject.reason, subject.reason_kind = f"linked repos not fetched: {lost}", "links-lost"
    return subject


_TRANSIENT = ("budget:", "rate-limited:", "network:", "limit:", "refused:", "failed:")


def lost_links(bundle: SnapshotBundle) -> str:
    """The linked repos lost to the budget, a rate limit or the network (not: not found, gated), or ""."""
    lost = [f"{k} ({v})" for k, v in bundle.related_errors.items() if v.startswith(_TRANSIENT)]
    # Outside the Hub: every link not read (a rate limit, the budget, the network) is lost, never an answer;
    # one over its host's cap was not checked by design (a run again would not read it either).
    lost += [f"{k} ({v})" for k, v in bundle.external_errors.items() if not v.startswith("capped:")]
    return "; ".join(sorted(lost))[:500]


def prose_base_ids(snap: RepoSnapshot) -> list[str]:
    """Ids of the base models the card names in prose (this parses the card's Markdown body)."""
    return prose_ids(context_for(SnapshotBundle(subject=snap)).card, snap)


def prose_ids(card: ParsedCard, snap: RepoSnapshot) -> list[str]:
    return [p[0] for p in prose_bases(card, snap.repo_id.split("/")[-1])]


def unread_files(snap: RepoSnapshot, most: int = 10) -> str:
    """The listed text files a source failed to serve (gated, gone, an error), named with why: a
    replay of the record would lack them. Files left unread by design (too large, binary) are not."""
    from openaudit.snapshot import Unreadable

    failed = [u for u in snap.unreadable.values()
              if u.reason in (Unreadable.GATED, Unreadable.MISSING, Unreadable.ERROR)]
    named = [f"{shown(u.path, 200)} ({u.reason.value}{': ' + shown(u.detail, 120) if u.detail else ''})"
             for u in failed[:most]]
    return ", ".join(named) + (f" and {len(failed) - most} more" if len(failed) > most else "")


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


def warm_up(profiles: Sequence[Profile], strict: bool) -> None:
    """Audit a small made-up card: loads and compiles what every audit needs (see openaudit.run.workers)."""
    readme = TextFile(path="README.md", text=_WARM_UP_CARD, size=len(_WARM_UP_CARD))
    snap = RepoSnapshot(repo_id="openaudit/warm-up", repo_type="model", source="store", taken_at=datetime.now(UTC),
                        info={"id": "openaudit/warm-up", "cardData": {"license": "apache-2.0"}, "tags": [],
                              "siblings": [{"rfilename": "README.md"}, {"rfilename": "model.safetensors"}]},
                        files={"README.md": readme})
    audit_packed(SnapshotBundle(subject=snap), profiles, strict)
