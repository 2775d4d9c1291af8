"""`openaudit census`: the whole Hub's openness from its public dumps (DESIGN §8, "Hub-wide census").

    openaudit census DUMP [--cards CARDS] [--where SQL] [--read licences|cards|none]
                     [--engine local|dask] [--scheduler ADDRESS] [--max-requests N] -o OUTDIR

The flow: inputs (local parquet or a pinned hf:// copy) -> preparation (DuckDB: the cards of each
part, the table of base models) -> one task per input row group (openaudit.census.partition: the
rows as RepoSnapshots, audited by `openaudit.api.audit_bundle`) on worker processes or Dask ->
`results/part-NNNNN.parquet` -> summary (DuckDB) -> summary.json, census.md, census.html, manifest.json.

DuckDB, pyarrow and Dask are the optional extra `openaudit[census]`; they are imported only here.
"""

from __future__ import annotations

from typing import Any

EXTRA = "census"


def require(*modules: str) -> None:
    """Import check for the census extra: a clear usage error naming it, never a traceback."""
    from importlib import import_module

    from openaudit.errors import UsageError

    missing = []
    for m in modules:
        try:
            import_module(m)
        except ImportError:
            missing.append(m)
    if missing:
        raise UsageError(f"openaudit census needs {', '.join(missing)}: install the extra with "
                         f"pip install 'openaudit[{EXTRA}]'")


def run(*args: Any, **kwargs: Any) -> Any:
    """See openaudit.census.driver.run."""
    from openaudit.census.driver import run as _run

    return _run(*args, **kwargs)


__all__ = ["EXTRA", "require", "run"]
