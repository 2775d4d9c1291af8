"""A model folder on disk (a publisher about to upload): README front matter is the card, files are siblings.

Nothing outside the folder is read: symlinks are listed as files only when they resolve inside it.
One exception, so that a downloaded model can be audited where it lies: a huggingface_hub cache
snapshot (`models--OWNER--NAME/snapshots/<commit>`) is all symlinks into its repo's `blobs/`, so
there links may also lead into that one `blobs/` folder, and nowhere else; its commit (the folder's
name) is the snapshot's revision. Given the repo's cache folder itself, the snapshot that refs/main
names is audited.
"""

from __future__ import annotations

import json
import os
import re
import stat
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openaudit.card import parse_card
from openaudit.errors import UsageError
from openaudit.evidence._util import as_list
from openaudit.snapshot import RepoSnapshot, TextFile, UnreadableFile, is_text_file_of_interest
from openaudit.sources.store import read_text_file, within

MAX_FILES = 100_000
_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")
_COMMIT_RE = re.compile(r"[0-9a-f]{40}")


def _is_cache_repo(folder: Path) -> bool:
    """A huggingface_hub cache's folder of one model (file_download's layout:
    models--OWNER--NAME/{blobs,refs,snapshots/<commit>})."""
    return folder.name.startswith("models--") and (folder / "blobs").is_dir() and (folder / "snapshots").is_dir()


def _hf_cache_repo(folder: Path) -> Path | None:
    """The repo's cache folder when `folder` (resolved) is a snapshot in it; else None."""
    repo = folder.parent.parent
    if folder.parent.name == "snapshots" and _COMMIT_RE.fullmatch(folder.name) and _is_cache_repo(repo):
        return repo
    return None


def model_folder(folder: Path) -> Path:
    """The folder to audit for a folder given: itself, or for a huggingface_hub cache's repo folder
    (models--OWNER--NAME) the snapshot of refs/main. UsageError when that is ambiguous;
    api.parse_targets calls this before any fetch, so such a target stops nothing half-done."""
    base = folder.resolve()
    return _cached_commit(base) if _is_cache_repo(base) else folder


def _cached_commit(repo: Path) -> Path:
    """The snapshot folder to audit when a huggingface_hub cache's repo folder itself is given:
    the commit refs/main names, else the only snapshot; anything else asks for a snapshot."""
    snapshots = repo / "snapshots"
    try:
        commits = sorted(p.name for p in snapshots.iterdir() if p.is_dir() and _COMMIT_RE.fullmatch(p.name))
    except OSError:
        commits = []
    main = read_text_file(repo, "refs/main")
    pinned = main.text.strip() if isinstance(main, TextFile) else ""
    if pinned in commits:
        return snapshots / pinned
    if len(commits) == 1:
        return snapshots / commits[0]
    held = ", ".join(c[:12] for c in commits[:5]) + (", ..." if len(commits) > 5 else "") or "none"
    raise UsageError(f"'{repo}' is a Hugging Face cache folder with no refs/main snapshot; "
                     f"name one of its snapshots/<commit> folders (held: {held})")


def _hub_tags(meta: dict[str, Any]) -> list[str]:
    """The computed tags the Hub would add from card metadata, so evidence reads a folder like a repo."""
    tags = [t for t in as_list(meta.get("tags")) if isinstance(t, str)]
    for lic in as_list(meta.get("license")):
        if isinstance(lic, str):
            tags.append(f"license:{lic}")
    for d in as_list(meta.get("datasets")):
        if isinstance(d, str):
            tags.append(f"dataset:{d}")
    return tags


def _safetensors_params(path: Path) -> dict[str, int]:
    """Parameter counts per dtype from a safetensors header (8-byte length + JSON), without reading tensors."""
    counts: dict[str, int] = {}
    try:
        with path.open("rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            if n > 100_000_000:
                return {}
            header = json.loads(fh.read(n))
    except (OSError, struct.error, ValueError):
        return {}
    for name, t in header.items():
        if name == "__metadata__" or not isinstance(t, dict):
            continue
        size = 1
        for dim in t.get("shape", []):
            size *= int(dim)
        dtype = str(t.get("dtype", "?"))
        counts[dtype] = counts.get(dtype, 0) + size
    return counts


class LocalDirSource:
    name = "localdir"

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def model(self, repo_id: str | None = None, revision: str | None = None) -> RepoSnapshot:
        root = self.root
        if not root.is_dir():
            raise UsageError(f"'{root}' is not a folder")
        base = model_folder(root).resolve()
        cache_repo = _hf_cache_repo(base)
        name = cache_repo.name.removeprefix("models--") if cache_repo else base.name
        blobs = cache_repo / "blobs" if cache_repo else None
        # A cache snapshot is a Hub commit, and its folder name says which: evidence is pinned to it.
        commit = base.name if cache_repo else None
        siblings: list[dict[str, Any]] = []
        files: dict[str, TextFile] = {}
        unreadable: dict[str, UnreadableFile] = {}
        params: dict[str, int] = {}
        for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames
                                 if not d.startswith(".git") and not (Path(dirpath) / d).is_symlink())
            for fn in sorted(filenames):
                full = Path(dirpath) / fn
                rel = full.relative_to(base).as_posix()
                real, st = within(base, rel, blobs) or (full, None)
                if st is None or not stat.S_ISREG(st.st_mode):
                    continue  # a symlink out of the folder (or a loop) is neither listed nor read
                siblings.append({"rfilename": rel, "size": st.st_size})
                if len(siblings) > MAX_FILES:
                    raise UsageError(f"'{root}' holds more than {MAX_FILES} files; point at the model folder itself")
                if is_text_file_of_interest(rel):
                    read = read_text_file(base, rel, also=blobs)
                    if isinstance(read, TextFile):
                        files[rel] = read
                    elif read is not None:
                        unreadable[rel] = read
                if rel.endswith(".safetensors") and "/" not in rel:
                    for k, v in _safetensors_params(real).items():
                        params[k] = params.get(k, 0) + v
        readme = files.get("README.md")
        card = parse_card(readme.text if readme else None)
        info: dict[str, Any] = {
            "id": f"local/{_NAME_RE.sub('-', name).strip('-.') or 'model'}",
            "sha": commit,
            "private": True,
            "gated": False,
            "cardData": card.metadata,
            "tags": _hub_tags(card.metadata),
            "siblings": siblings,
        }
        cfg_file = read_text_file(base, "config.json", also=blobs)
        if isinstance(cfg_file, TextFile) and cfg_file.size < 1_000_000:
            try:
                cfg = json.loads(cfg_file.text)
            except ValueError:
                cfg = None
            if isinstance(cfg, dict):
                info["config"] = {k: cfg[k] for k in ("architectures", "model_type", "quantization_config")
                                  if k in cfg}
        if params:
            info["safetensors"] = {"parameters": params, "total": sum(params.values())}
        lib = card.metadata.get("library_name")
        if isinstance(lib, str):
            info["library_name"] = lib
        return RepoSnapshot(repo_id=info["id"], source="localdir", revision=commit, requested_revision=None,
                            taken_at=datetime.now(UTC), info=info, files=files, unreadable=unreadable)
