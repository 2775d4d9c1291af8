"""Evidence: one observed fact with its provenance."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

EvidenceSource = Literal["api", "card.metadata", "card.body", "file", "linked-repo"]
Confidence = Literal["declared", "detected", "inferred"]


class Evidence(BaseModel):
    """A fact the verdicts rest on.

    `kind` is a dotted name (`weights.file`, `license.tag`, `data.dataset`, ...); `value` is JSON
    (a scalar or a small mapping whose fields criteria can test); `pointer` says where it was
    read: a YAML key (`cardData.license`), `path@sha`, or a card heading and line
    (`README.md#Training Data:L42`). `url` links to the exact file at the pinned commit.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(description="Stable within a subject: '<kind>#<n>'.")
    kind: str
    value: Any = None
    summary: str = Field("", description="One line a person can read.")
    source: EvidenceSource
    pointer: str
    confidence: Confidence = "declared"
    url: str | None = None


class EvidenceList:
    """Builder that assigns stable ids in order of extraction."""

    def __init__(self) -> None:
        self.items: list[Evidence] = []
        self._counts: dict[str, int] = {}

    def add(
        self,
        kind: str,
        value: Any,
        *,
        source: EvidenceSource,
        pointer: str,
        summary: str = "",
        confidence: Confidence = "declared",
        url: str | None = None,
    ) -> Evidence:
        n = self._counts.get(kind, 0) + 1
        self._counts[kind] = n
        ev = Evidence(
            id=f"{kind}#{n}",
            kind=kind,
            value=value,
            summary=summary,
            source=source,
            pointer=pointer,
            confidence=confidence,
            url=url,
        )
        self.items.append(ev)
        return ev
