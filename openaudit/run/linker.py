"""What a subject links to (declared datasets, base models up to a depth, pages outside the Hub),
fetched once per run however many subjects name them."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openaudit.audit import prose_ids
from openaudit.errors import FetchError, OpenAuditError
from openaudit.evidence import context_for
from openaudit.evidence.data import declared_datasets, valid_dataset_id
from openaudit.evidence.lineage import MAX_DEPTH, declared_bases
from openaudit.linkcap import LinkCap
from openaudit.repoid import shown, validate_repo_id
from openaudit.snapshot import RepoSnapshot, RepoType, SnapshotBundle
from openaudit.sources import Source

LINEAGE_FETCH_DEPTH = 3  # bases fetched per subject; deeper ancestors are named, not audited


@dataclass
class RunMemo:
    """Linked repos fetched once per run, however many subjects name them. Thread-safe: when several
    threads ask for the same repo at once, one fetches it and the others wait for its result."""

    snapshots: dict[str, RepoSnapshot] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _inflight: dict[str, threading.Event] = field(default_factory=dict, repr=False, compare=False)

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
    frontier += list(prose) if prose is not None else prose_ids(ctx.card, snap)
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


def bases_named_in(items: Sequence[dict[str, Any]]) -> set[str]:
    """Ids that listed models declare as their base (card metadata or `base_model:` tags)."""
    named: set[str] = set()
    for item in items:
        raw = item.get("cardData")
        card: dict[str, Any] = raw if isinstance(raw, dict) else {}
        named.update(b[0] for b in declared_bases(card, [t for t in item.get("tags") or [] if isinstance(t, str)]))
    return named
