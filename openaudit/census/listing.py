"""`openaudit census --listing`: the metadata table from the Hub's API instead of a dump.

`GET /api/models?expand=...&limit=1000`, following the `Link` header (BulkHubSource.list_models,
through the run's request gate and budget): about 2,000 requests for the whole Hub. The items are
written as `OUTDIR/inputs/listing.parquet`, one row group per page, in the columns of hub-stats plus
`sha` and `gated`, which no dump has. A resumed census reads the listing it wrote, never a new one:
its parts must come from the same table.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openaudit.errors import FetchError, UsageError

EXPAND = ("author", "cardData", "config", "createdAt", "downloads", "downloadsAllTime", "gated", "gguf",
          "lastModified", "library_name", "likes", "pipeline_tag", "safetensors", "sha", "siblings", "tags",
          "trendingScore")
LISTING = "listing.parquet"


def _schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        ("id", pa.string()), ("author", pa.string()), ("sha", pa.string()), ("gated", pa.string()),
        ("createdAt", pa.string()), ("lastModified", pa.string()), ("downloads", pa.int64()),
        ("downloadsAllTime", pa.int64()), ("likes", pa.int64()), ("trendingScore", pa.float64()),
        ("pipeline_tag", pa.string()), ("library_name", pa.string()), ("tags", pa.list_(pa.string())),
        ("cardData", pa.string()), ("siblings", pa.list_(pa.struct([("rfilename", pa.string())]))),
        ("safetensors", pa.string()), ("config", pa.string()), ("gguf", pa.string()),
    ])


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _json(v: Any) -> str | None:
    return json.dumps(v) if isinstance(v, dict) else None


def row_of(item: dict[str, Any]) -> dict[str, Any]:
    """A list item as a row in the listing's columns (untrusted: anything of another type is dropped)."""
    gated = item.get("gated")
    sibs = [{"rfilename": s["rfilename"]} for s in item.get("siblings") or []
            if isinstance(s, dict) and isinstance(s.get("rfilename"), str)]
    score = item.get("trendingScore")
    return {
        "id": item["id"], "author": _str(item.get("author")), "sha": _str(item.get("sha")),
        "gated": str(gated).lower() if isinstance(gated, (bool, str)) else None,
        "createdAt": _str(item.get("createdAt")), "lastModified": _str(item.get("lastModified")),
        "downloads": _int(item.get("downloads")), "downloadsAllTime": _int(item.get("downloadsAllTime")),
        "likes": _int(item.get("likes")), "trendingScore": float(score) if isinstance(score, (int, float)) else None,
        "pipeline_tag": _str(item.get("pipeline_tag")), "library_name": _str(item.get("library_name")),
        "tags": [t for t in item.get("tags") or [] if isinstance(t, str)],
        "cardData": _json(item.get("cardData")), "siblings": sibs,
        "safetensors": _json(item.get("safetensors")), "config": _json(item.get("config")),
        "gguf": _json(item.get("gguf")),
    }


def build_listing(outdir: Path, max_requests: int | None, quiet: bool = True) -> tuple[Path, int]:
    """The listing file (written now, or the one an earlier run of this census wrote) and the requests sent."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from openaudit.sources.bulk import PAGE_SIZE, BulkHubSource
    from openaudit.sources.gate import RequestGate
    from openaudit.sources.store import _temp_beside

    target = outdir / "inputs" / LISTING
    if target.is_file():
        return target, 0
    target.parent.mkdir(parents=True, exist_ok=True)
    hub = BulkHubSource(gate=RequestGate(1, max_requests))
    schema = _schema()
    tmp = _temp_beside(target)
    n = 0
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            page: list[dict[str, Any]] = []
            for item in hub.list_models(None, expand=EXPAND):
                page.append(row_of(item))
                if len(page) >= PAGE_SIZE:
                    writer.write_table(pa.Table.from_pylist(page, schema=schema))
                    n += len(page)
                    page = []
            if page or n == 0:
                writer.write_table(pa.Table.from_pylist(page, schema=schema))
                n += len(page)
        tmp.replace(target)
    except FetchError as e:
        Path(tmp).unlink(missing_ok=True)
        raise FetchError(e.repo_id, f"--listing: the listing stopped after {n} models ({e.kind}: {e}); "
                                    "run again to list anew") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if n == 0:
        raise UsageError("--listing: the Hub listed no model")
    return target, hub.gate.sent
