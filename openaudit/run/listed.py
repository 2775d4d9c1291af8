"""An organisation's listing held in bounded memory (issue 23, item 3).

`openaudit org` chooses its models from the whole listing (`--include`, `--exclude`, `--since`,
`--limit`), reads early the models that others name as their base, and makes each model's snapshot
from its listing row (siblings, card data, config, tags: ~4 KB a model as Python objects, more on
the Hub). Each row is written to a spool as it is listed (`ListingSpool.add`: pickled, appended to a
`tempfile.SpooledTemporaryFile`, in memory for the first 512 KB, then a file the OS has already
unlinked), and memory keeps a `Listed` record a model: its id, sha, dates (for `--since` and the
cached listing), the base ids its row names, and where its row is. The row is read back when its
model is read (`ListingSpool.row`), a fresh dict equal to the one listed: pickle gives back exactly
what it was given (key order, floats, any string), and only this process writes the file. A row the
file cannot take (a full or unwritable temporary folder) is kept in memory, as every row was before.
"""

from __future__ import annotations

import pickle
import tempfile
import threading
from typing import Any

from openaudit.run.linker import bases_named_in

_IN_MEMORY = 512 * 1024  # a listing of a few models never touches the disk
_KEYS = ("id", "sha", "createdAt", "lastModified")


class Listed:
    """What a run keeps of a listed model until it is read: what chooses it, and where its row is.
    Read like the row for those keys (`rec["id"]`, `rec.get("sha")`), so that the selection and the
    cached listing treat a record and a row alike."""

    __slots__ = ("_at", "_size", "bases", "createdAt", "id", "lastModified", "sha")

    def __init__(self, item: dict[str, Any], at: int = -1, size: int = 0) -> None:
        self.id: str = item["id"]
        self.sha, self.createdAt, self.lastModified = item.get("sha"), item.get("createdAt"), item.get("lastModified")
        named = bases_named_in([item])
        self.bases: tuple[str, ...] = tuple(sorted(named)) if named else ()
        self._at, self._size = at, size

    def __getitem__(self, key: str) -> Any:
        if key not in _KEYS:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key) if key in _KEYS else default

    def __repr__(self) -> str:
        return f"Listed({self.id!r}, sha={self.sha!r})"


class ListingSpool:
    """The listing's rows, appended as they are listed and read back by any thread."""

    def __init__(self) -> None:
        self._file = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115 - closed by close()
        self._end = 0
        self._lock = threading.Lock()
        self._held: list[dict[str, Any]] = []  # rows the file could not take (a full or unwritable disk)

    def add(self, item: dict[str, Any]) -> Listed:
        data = pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
        with self._lock:
            at = self._end
            try:
                self._file.seek(at)
                self._file.write(data)
            except OSError:  # kept in memory, as before the spool: the run goes on
                self._held.append(item)
                return Listed(item, -1 - len(self._held), 0)  # -2, -3, ...: the first, the second, ... held
            self._end = at + len(data)
        return Listed(item, at, len(data))

    def row(self, rec: Listed) -> dict[str, Any]:
        """The listed row of `rec`, as listed (a fresh dict each time, but for a row held in memory)."""
        if rec._at == -1:
            raise ValueError(f"{rec.id}: its row was not spooled")
        with self._lock:
            if rec._at < 0:
                return self._held[-rec._at - 2]
            self._file.seek(rec._at)
            data = self._file.read(rec._size)
        row = pickle.loads(data)  # bytes this process wrote to its own unnamed file
        assert isinstance(row, dict)
        return row

    def close(self) -> None:
        self._file.close()
        self._held = []

    def __enter__(self) -> ListingSpool:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def bases_of(items: list[Any]) -> set[str]:
    """Ids that the chosen models name as their base: from each record, or from a row (a store's, or
    the cached listing's, which names none)."""
    named: set[str] = set()
    rows = []
    for item in items:
        if isinstance(item, Listed):
            named.update(item.bases)
        else:
            rows.append(item)
    return named | bases_named_in(rows)


__all__ = ["Listed", "ListingSpool", "bases_of"]
