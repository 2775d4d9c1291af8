"""Audited subjects held compactly: how an organisation's report fits in bounded memory.

A `Subject` as Python objects is ~140 KB (≈26 evidence items, ≈45 findings, their dicts and
strings); its indented JSON is ~40 KB and compresses to ~8 KB. `SubjectStore` keeps each subject
as that compressed JSON (what the JSON report will contain, byte for byte), and the parts of the
output formats an audit worker rendered beside it (`Packed.pieces`), in an append-only spool: in
memory for the first few hundred KB (a library caller's few subjects never touch the disk), then
a temporary file that the OS deletes even if the process is killed (`tempfile.TemporaryFile`). In
memory each subject keeps only the few fields a run reads without decoding it (`Head`: id,
revision, status, reason, licence key) and where its bytes are: ~300 bytes a model, so that a run
of 100,000 models holds ~30 MB of them and not ~1.5 GB of packed subjects. Reading an item reads
its bytes back and decodes it, so a renderer that walks the report holds one subject at a time;
the JSON report copies the stored bytes without decoding anything.

It is a read-only `Sequence[Subject]`: a decoded subject is a fresh object, so changing it does
not change the store (use `replace`).
"""

from __future__ import annotations

import pickle
import sys
import tempfile
import threading
import weakref
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, overload

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
    # decoding the subject. A subject replaced in the store loses them. Any picklable parts: a store
    # spills them with the blob (pickled), whatever the format.
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


_SPILL_AFTER = 512 * 1024  # bytes of packed subjects and parts kept in memory before the spool is a file


@dataclass(frozen=True, slots=True, eq=False)
class Head:
    """Where one stored subject's bytes are in its store's spool, and what a run reads without
    decoding it (the same names as `Packed`'s)."""

    repo_id: str
    revision: str | None
    status: str
    reason: str | None
    reason_kind: str | None
    has_license: bool
    license_key: str | None
    offset: int
    blob_len: int
    pieces_len: int  # 0: no parts (`Packed.pieces` None)
    owner: object  # the store's token: a Head is read back only by the store that wrote it


def _interned(s: str | None) -> str | None:
    return None if s is None else sys.intern(s)


class SubjectStore(Sequence[Subject]):
    """Subjects in report order, packed and spooled (see module doc). Thread-safe: `spill` may be
    called from several threads (a run's pipeline settles its models on whichever thread finished
    them) while others read."""

    def __init__(self, items: Iterable[Packed | Subject | Head] = ()) -> None:
        self._heads: list[Head] = []
        self._lock = threading.Lock()
        self._spool: IO[bytes] | None = None  # opened on the first subject
        self._end = 0
        self._token = object()
        self.extend(items)

    # ---- writing ------------------------------------------------------------------------------
    def spill(self, item: Packed | Subject) -> Head:
        """Write a subject to the spool without placing it in the report: its `Head`, for `append`
        or `extend` later (a run settles its models out of order and places them in order at the end)."""
        p = item if isinstance(item, Packed) else Packed.of(item)
        parts = b"" if p.pieces is None else pickle.dumps(p.pieces, pickle.HIGHEST_PROTOCOL)
        with self._lock:
            if self._spool is None:
                self._spool = tempfile.SpooledTemporaryFile(max_size=_SPILL_AFTER)  # noqa: SIM115 - closed below
                weakref.finalize(self, self._spool.close)  # once the store is collected (or at exit)
            offset = self._end
            self._spool.seek(offset)
            self._spool.write(p.blob)
            if parts:
                self._spool.write(parts)
            self._end = offset + len(p.blob) + len(parts)
        return Head(repo_id=p.repo_id, revision=p.revision, status=sys.intern(p.status), reason=p.reason,
                    reason_kind=_interned(p.reason_kind), has_license=p.has_license,
                    license_key=_interned(p.license_key), offset=offset, blob_len=len(p.blob),
                    pieces_len=len(parts), owner=self._token)

    def _placed(self, item: Packed | Subject | Head) -> Head:
        if isinstance(item, Head):
            if item.owner is not self._token:
                raise ValueError("a Head is placed only in the store that spilled it")
            return item
        return self.spill(item)

    def append(self, item: Packed | Subject | Head) -> None:
        self._heads.append(self._placed(item))

    def extend(self, items: Iterable[Packed | Subject | Head]) -> None:
        for item in items:
            self.append(item)

    def replace(self, index: int, subject: Subject) -> None:
        """Put `subject` in place of the one at `index` (appended to the spool; the old bytes stay
        there, unread, until the store is closed). It has no pre-rendered parts."""
        self._heads[index] = self.spill(subject)

    def close(self) -> None:
        """Delete the spool now (else when the store is collected). Reading a subject after this fails."""
        with self._lock:
            if self._spool is not None:
                self._spool.close()

    # ---- reading ------------------------------------------------------------------------------
    def _read(self, h: Head) -> Packed:
        with self._lock:
            if self._spool is None or self._spool.closed:
                raise ValueError("the subject store is closed")
            self._spool.seek(h.offset)
            data = self._spool.read(h.blob_len + h.pieces_len)
        if len(data) != h.blob_len + h.pieces_len:  # pragma: no cover - our own file, written above
            raise OSError("the subject store's spool was cut short")
        pieces = pickle.loads(data[h.blob_len:]) if h.pieces_len else None  # written by this store
        return Packed(repo_id=h.repo_id, revision=h.revision, status=h.status, reason=h.reason,
                      reason_kind=h.reason_kind, has_license=h.has_license, license_key=h.license_key,
                      blob=data[: h.blob_len], pieces=pieces)

    def heads(self) -> Sequence[Head]:
        """Each subject's `Head`, in report order: nothing read from the spool."""
        return tuple(self._heads)

    def packed(self) -> Sequence[Packed]:
        """Each subject packed, read from the spool as it is reached (one at a time)."""
        return _PackedView(self, tuple(self._heads))

    def __len__(self) -> int:
        return len(self._heads)

    @overload
    def __getitem__(self, index: int) -> Subject: ...

    @overload
    def __getitem__(self, index: slice) -> list[Subject]: ...

    def __getitem__(self, index: int | slice) -> Subject | list[Subject]:
        if isinstance(index, slice):
            return [self._read(h).subject() for h in self._heads[index]]
        return self._read(self._heads[index]).subject()

    def __iter__(self) -> Iterator[Subject]:
        for h in self._heads:
            yield self._read(h).subject()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SubjectStore):
            if len(self) != len(other):
                return False
            mine, theirs = self.packed(), other.packed()
            return all(a.blob == b.blob for a, b in zip(mine, theirs, strict=True)) or list(self) == list(other)
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled (or deep-copied) as its packed subjects: the spool is this process's own file.
        return (SubjectStore, (list(self.packed()),))

    def __repr__(self) -> str:
        return f"SubjectStore({len(self)} subjects)"


class _PackedView(Sequence[Packed]):
    """A store's subjects as `Packed`, each read from the spool when it is reached."""

    def __init__(self, store: SubjectStore, heads: tuple[Head, ...]) -> None:
        self._store, self._heads = store, heads

    def __len__(self) -> int:
        return len(self._heads)

    @overload
    def __getitem__(self, index: int) -> Packed: ...

    @overload
    def __getitem__(self, index: slice) -> list[Packed]: ...

    def __getitem__(self, index: int | slice) -> Packed | list[Packed]:
        if isinstance(index, slice):
            return [self._store._read(h) for h in self._heads[index]]
        return self._store._read(self._heads[index])

    def __iter__(self) -> Iterator[Packed]:
        for h in self._heads:
            yield self._store._read(h)



def subject_json(subject: Subject | Packed) -> bytes:
    """A subject's indented JSON: copied from a packed one, serialised otherwise."""
    return subject.json() if isinstance(subject, Packed) else _serialise(subject, indent=2, by_alias=True)


def summaries(subjects: Sequence[Subject]) -> list[tuple[str, str | None]]:
    """(status, reason) of every subject, without decoding a packed store."""
    if isinstance(subjects, SubjectStore):
        return [(h.status, h.reason) for h in subjects.heads()]
    return [(s.status, s.reason) for s in subjects]


def as_packed(subjects: Sequence[Subject]) -> Iterable[Subject | Packed]:
    return subjects.packed() if isinstance(subjects, SubjectStore) else subjects


def kinded_summaries(subjects: Sequence[Subject]) -> list[tuple[str, str | None, str | None]]:
    """(status, reason, reason kind) of every subject, without decoding a packed store."""
    if isinstance(subjects, SubjectStore):
        return [(h.status, h.reason, h.reason_kind) for h in subjects.heads()]
    return [(s.status, s.reason, s.reason_kind) for s in subjects]
