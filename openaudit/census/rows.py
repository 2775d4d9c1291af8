"""A dump row as a RepoSnapshot, so that a census audits it with the same code as `openaudit audit`.

A metadata dump (cfahlgren1/hub-stats `models.parquet`, or a `--listing` of the API) has one row
per model with the Hub's own fields: the row becomes the snapshot's `info` (the model JSON the
audit reads), with `cardData` parsed from its JSON string and `siblings` as file names. A card
dump (librarian-bots/model_cards_with_metadata) gives the README, front matter included. Neither
holds licence files, gating (hub-stats) or a commit sha (hub-stats): what was not read is recorded
as such, never as absent (see `unread`).

Columns may be structs or JSON strings (hub-stats has used both for `config`, `gguf` and
`safetensors`); a map read by pyarrow arrives as a list of pairs. Every value is untrusted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from openaudit.snapshot import MAX_TEXT_FILE_BYTES, RepoSnapshot, TextFile, Unreadable, UnreadableFile

# The epoch every census snapshot is "taken" at: the audit does not read it, and a fixed value keeps
# two runs (local and Dask) equal byte for byte.
TAKEN_AT = datetime(1970, 1, 1, tzinfo=UTC)
NOT_IN_CARD_DUMP = "not read: the card dump has no card for this model"
MAX_JSON_CHARS = 4 * 1024 * 1024  # a cardData/config string longer than this is not parsed
_INFO_KEYS = ("author", "downloads", "downloadsAllTime", "likes", "trendingScore", "pipeline_tag", "library_name",
              "private", "disabled", "baseModels")


def _iso(value: Any) -> str | None:
    """A timestamp column (datetime, or the Hub's ISO string) as the Hub's ISO string."""
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    if isinstance(value, str) and value:
        return value[:64]
    return None


def _plain(value: Any) -> Any:
    """A pyarrow value as JSON-like data: maps (lists of pairs) become dicts, None struct fields are dropped."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        if value and all(isinstance(x, tuple) and len(x) == 2 for x in value):
            return {str(k): _plain(v) for k, v in value}
        return [_plain(x) for x in value]
    return value


def _json_or_struct(value: Any) -> Any:
    """A column that is a JSON string in one dump and a struct in another."""
    if isinstance(value, str):
        if len(value) > MAX_JSON_CHARS:
            return None
        try:
            return json.loads(value)
        except ValueError:
            return None
    return _plain(value) if value is not None else None


def _siblings(value: Any) -> list[dict[str, str]]:
    out = []
    for s in value or []:
        name = s.get("rfilename") if isinstance(s, dict) else s
        if isinstance(name, str) and name:
            out.append({"rfilename": name})
    return out


def info_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """The model JSON an audit reads, from a metadata dump row (hub-stats or a listing)."""
    info: dict[str, Any] = {"id": row["id"]}
    if isinstance(row.get("sha"), str):
        info["sha"] = row["sha"]
    for key in _INFO_KEYS:
        if row.get(key) is not None:
            info[key] = _plain(row[key])
    for key in ("createdAt", "lastModified"):
        when = _iso(row.get(key))
        if when:
            info[key] = when
    tags = row.get("tags")
    info["tags"] = [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []
    card = _json_or_struct(row.get("cardData"))
    if isinstance(card, dict):
        info["cardData"] = card
    info["siblings"] = _siblings(row.get("siblings"))
    for key in ("safetensors", "config", "gguf"):
        got = _json_or_struct(row.get(key))
        if isinstance(got, dict):
            info[key] = got
    gated = row.get("gated")
    if isinstance(gated, bool) or gated in ("auto", "manual"):
        info["gated"] = gated
    elif isinstance(gated, str) and gated.lower() in ("true", "false"):
        info["gated"] = gated.lower() == "true"
    return info


def snapshot_from_row(row: dict[str, Any], card: str | None) -> RepoSnapshot:
    """A model's snapshot from its metadata row and its card (None: not in the card dump)."""
    info = info_from_row(row)
    files: dict[str, TextFile] = {}
    unreadable: dict[str, UnreadableFile] = {}
    readme = next((n["rfilename"] for n in info["siblings"] if n["rfilename"].lower() == "readme.md"), "README.md")
    if isinstance(card, str):
        size = len(card.encode("utf-8", "surrogatepass"))
        if size > MAX_TEXT_FILE_BYTES:
            unreadable[readme] = UnreadableFile(path=readme, reason=Unreadable.TOO_LARGE,
                                                detail=f"{size} bytes in the card dump")
        else:
            files[readme] = TextFile(path=readme, text=card, size=size)
            if not any(n["rfilename"] == readme for n in info["siblings"]):
                info["siblings"] = [{"rfilename": readme}, *info["siblings"]]
    elif any(n["rfilename"] == readme for n in info["siblings"]):
        unreadable[readme] = UnreadableFile(path=readme, reason=Unreadable.MISSING, detail=NOT_IN_CARD_DUMP)
    revision = info.get("sha") if isinstance(info.get("sha"), str) else None
    return RepoSnapshot(repo_id=info["id"], repo_type="model", revision=revision, source="hub", taken_at=TAKEN_AT,
                        info=info, files=files, unreadable=unreadable)
