"""Evidence extraction: pure functions from a SnapshotBundle to Evidence items.

One small module per dimension registers an extractor `extract(ctx, out)`; `collect_evidence`
runs them in order. Extractors never do I/O: what a subject links to (datasets, base models) is
already in the bundle, fetched by the source layer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from openaudit.card import ParsedCard, parse_card
from openaudit.evidence.model import Evidence, EvidenceList, EvidenceSource
from openaudit.snapshot import RepoSnapshot, SnapshotBundle, Unreadable

__all__ = ["Evidence", "EvidenceContext", "EvidenceList", "collect_evidence"]


@dataclass(frozen=True)
class EvidenceContext:
    bundle: SnapshotBundle
    card: ParsedCard

    @property
    def snap(self) -> RepoSnapshot:
        return self.bundle.subject

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """Card metadata: README front matter when it was read and parsed, else the Hub's cardData."""
        if self.card.present and self.card.metadata_error is None and self.card.metadata:
            return self.card.metadata
        return self.snap.card_data()

    @property
    def metadata_from_readme(self) -> bool:
        return self.card.present and self.card.metadata_error is None and bool(self.card.metadata)

    def meta_pointer(self, key: str) -> str:
        """Where a metadata key was read: a README line, or the API's cardData."""
        if self.metadata_from_readme and key in self.card.key_lines:
            return f"README.md:L{self.card.key_lines[key]} ({key})"
        return f"cardData.{key}"

    def meta_source(self) -> EvidenceSource:
        return "card.metadata" if self.metadata_from_readme else "api"

    def meta_url(self, key: str) -> str | None:
        if self.metadata_from_readme and key in self.card.key_lines:
            url = self.snap.file_url("README.md")
            return f"{url}#L{self.card.key_lines[key]}" if url else None
        return self.snap.repo_url()

    def file_pointer(self, path: str) -> str:
        rev = self.snap.revision
        return f"{path}@{rev[:12]}" if rev else path

    def line_url(self, line: int, path: str = "README.md") -> str | None:
        url = self.snap.file_url(path)
        return f"{url}#L{line}" if url and line else url

    def body_pointer(self, heading: str, line: int) -> str:
        where = f"#{heading}" if heading else ""
        return f"README.md{where}:L{line}"

    def unreadable_reason(self, path: str) -> Unreadable | None:
        u = self.snap.unreadable.get(path)
        return u.reason if u else None


Extractor = Callable[[EvidenceContext, EvidenceList], None]


def _extractors() -> list[Extractor]:
    # Imported here so that each dimension module can import this package's helpers.
    from openaudit.evidence import (
        access,
        claims,
        code,
        compute,
        data,
        docs,
        external,
        frameworks,
        license,
        lineage,
        weights,
    )

    return [access.extract, weights.extract, code.extract, lineage.extract, data.extract, docs.extract,
            external.extract, license.extract, compute.extract, frameworks.extract, claims.extract]


def context_for(bundle: SnapshotBundle) -> EvidenceContext:
    readme = bundle.subject.readme()
    return EvidenceContext(bundle=bundle, card=parse_card(readme.text if readme else None))


# CPU seconds one model's evidence may take (the benchmark's largest card takes ~0.2 s): past it, the
# model is `incomplete` with the reason instead of holding a worker (issue 26). Every pattern on card
# text is linear (tests/integration/test_hostile_content.py), so this is the backstop, checked between extractors.
MAX_AUDIT_CPU_SECONDS = 60.0


def collect_evidence(bundle: SnapshotBundle) -> tuple[list[Evidence], EvidenceContext]:
    """Run every extractor. An extractor that fails records an `extractor.error` item instead. Past
    MAX_AUDIT_CPU_SECONDS of this thread's CPU, errors.LimitReached."""
    from openaudit.errors import LimitReached

    start = time.thread_time()
    ctx = context_for(bundle)
    out = EvidenceList()
    for extract in _extractors():
        used = time.thread_time() - start
        if used > MAX_AUDIT_CPU_SECONDS:
            raise LimitReached(bundle.subject.repo_id, f"the audit took more than {MAX_AUDIT_CPU_SECONDS:g} s of CPU "
                               f"({used:.1f} s before {extract.__module__}); not finished")
        try:
            extract(ctx, out)
        except Exception as e:  # never lose the audit to one extractor's bug
            out.add(
                "extractor.error",
                {"extractor": extract.__module__, "error": f"{type(e).__name__}: {e}"[:300]},
                source="api",
                pointer=extract.__module__,
                summary=f"{extract.__module__} failed: {type(e).__name__}",
                confidence="inferred",
            )
    return out.items, ctx
