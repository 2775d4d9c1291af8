"""Audited subjects held compactly: how an organisation's report fits in bounded memory.

A `Subject` as Python objects is ~140 KB (≈26 evidence items, ≈45 findings, their dicts and
strings); its indented JSON is ~40 KB and compresses to ~8 KB. `SubjectStore` keeps each subject
as that compressed JSON (what the JSON report will contain, byte for byte) plus the few fields the
run needs without decoding it (status, reason, licence key). Reading an item decodes it, so a
renderer that walks the report holds one subject at a time; the JSON report copies the stored
bytes without decoding anything.

It is a read-only `Sequence[Subject]`: a decoded subject is a fresh object, so changing it does
not change the store (use `replace`).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from openaudit.report import Subject

_serialise = Subject.__pydantic_serializer__.to_json
_LEVEL = 1  # fastest zlib level: ~0.3 ms a subject, 5x smaller; level 6 saves 20 % more at twice the time


@dataclass(frozen=True)
class Packed:
    """One subject as compressed indented JSON, with what a run reads without decoding it."""

    repo_id: str
    revision: str | None
    status: str
    reason: str | None
    reason_kind: str | None
    has_license: bool
    license_key: str | None
    blob: bytes
    # Parts of output formats made where the subject was audited, by format ("html": html.Pieces,
    # "md": markdown.Part, "mof-yaml": mof_yaml.Doc), or None: a renderer uses them instead of
    # decoding the subject. A subject replaced in the store loses them.
    pieces: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, subject: Subject) -> Packed:
        lic = subject.license
        return cls(repo_id=subject.repo_id, revision=subject.revision, status=subject.status, reason=subject.reason,
                   reason_kind=subject.reason_kind,
                   has_license=lic is not None, license_key=lic.key if lic else None,
                   blob=zlib.compress(_serialise(subject, indent=2, by_alias=True), _LEVEL))

    def json(self) -> bytes:
        """The subject as `model_dump_json(indent=2, by_alias=True)` gives it, as UTF-8 bytes."""
        return zlib.decompress(self.blob)

    def subject(self) -> Subject:
        return Subject.model_validate_json(self.json())


class SubjectStore(Sequence[Subject]):
    """Subjects in report order, packed (see module doc)."""

    def __init__(self, items: Iterable[Packed | Subject] = ()) -> None:
        self._items: list[Packed] = [i if isinstance(i, Packed) else Packed.of(i) for i in items]

    def append(self, item: Packed | Subject) -> None:
        self._items.append(item if isinstance(item, Packed) else Packed.of(item))

    def replace(self, index: int, subject: Subject) -> None:
        self._items[index] = Packed.of(subject)

    def packed(self) -> Sequence[Packed]:
        return tuple(self._items)

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> Subject: ...

    @overload
    def __getitem__(self, index: slice) -> list[Subject]: ...

    def __getitem__(self, index: int | slice) -> Subject | list[Subject]:
        if isinstance(index, slice):
            return [p.subject() for p in self._items[index]]
        return self._items[index].subject()

    def __iter__(self) -> Iterator[Subject]:
        for p in self._items:
            yield p.subject()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SubjectStore):
            return [p.blob for p in self._items] == [p.blob for p in other._items] or list(self) == list(other)
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"SubjectStore({len(self)} subjects)"


def subject_json(subject: Subject | Packed) -> bytes:
    """A subject's indented JSON: copied from a packed one, serialised otherwise."""
    return subject.json() if isinstance(subject, Packed) else _serialise(subject, indent=2, by_alias=True)


def summaries(subjects: Sequence[Subject]) -> list[tuple[str, str | None]]:
    """(status, reason) of every subject, without decoding a packed store."""
    if isinstance(subjects, SubjectStore):
        return [(p.status, p.reason) for p in subjects.packed()]
    return [(s.status, s.reason) for s in subjects]


def as_packed(subjects: Sequence[Subject]) -> Iterable[Subject | Packed]:
    return subjects.packed() if isinstance(subjects, SubjectStore) else subjects


def kinded_summaries(subjects: Sequence[Subject]) -> list[tuple[str, str | None, str | None]]:
    """(status, reason, reason kind) of every subject, without decoding a packed store."""
    if isinstance(subjects, SubjectStore):
        return [(p.status, p.reason, p.reason_kind) for p in subjects.packed()]
    return [(s.status, s.reason, s.reason_kind) for s in subjects]
