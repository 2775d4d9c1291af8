"""A model folder on disk (a publisher about to upload): README front matter is the card, files are siblings.

Nothing outside the folder is read: symlinks are listed as files only when they resolve inside it.
One exception, so that a downloaded model can be audited where it lies: a huggingface_hub cache
snapshot (`models--OWNER--NAME/snapshots/<commit>`) is all symlinks into its repo's `blobs/`, so
there links may also lead into that one `blobs/` folder, and nowhere else; its commit (the folder's
name) is the snapshot's revision. Given the repo's cache folder itself, the snapshot that refs/main
names is audited.
"""

from __future__ import annotations

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
from openaudit.snapshot import RepoSnapshot, TextFile, Unreadable, UnreadableFile, is_text_file_of_interest
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


# A safetensors header is a few hundred KB for the largest real shards; huggingface_hub refuses
# more than 25 MB. Here 8 MB: a 100 MB header (2.4 M tensors) took 1.3 GB to parse.
MAX_SAFETENSORS_HEADER = 8 * 1024 * 1024
MAX_TENSORS = 1_000_000
MAX_DEPTH = 64  # folders below the model folder; deeper ones are not read (1,200 nested crashed os.walk)
MAX_JSON_DEPTH = 64  # a safetensors header nests 3 deep, a config.json a few more


class BadHeader(ValueError):
    """A safetensors header that cannot be read: the reason, for the evidence."""


def _safetensors_params(path: Path) -> dict[str, int]:
    """Parameter counts per dtype from a safetensors header (8-byte length + JSON), without reading
    tensors. BadHeader (why) when the header is larger than the cap, nested deeper than it may be,
    not JSON, or not a header (a shape that is not a list of non-negative integers, ...)."""
    from openaudit.errors import ConfigFileError
    from openaudit.userfiles import loads_json

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise BadHeader("shorter than a safetensors header")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_SAFETENSORS_HEADER:
                raise BadHeader(f"header of {n} bytes (cap {MAX_SAFETENSORS_HEADER}); not read")
            raw = fh.read(n)
    except OSError as e:
        raise BadHeader(f"cannot read: {e.strerror or e}") from None
    if len(raw) < n:
        raise BadHeader("header cut short")
    try:
        header = loads_json(raw, path.name, max_depth=MAX_JSON_DEPTH)
    except ConfigFileError as e:
        raise BadHeader(f"header {str(e).split(': ', 1)[-1]}") from None
    if not isinstance(header, dict):
        raise BadHeader("header is not a JSON object")
    if len(header) > MAX_TENSORS:
        raise BadHeader(f"more than {MAX_TENSORS} tensors")
    counts: dict[str, int] = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        shape = t.get("shape") if isinstance(t, dict) else None
        if not isinstance(shape, list) or len(shape) > 16 or not all(
                isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**48 for d in shape):
            raise BadHeader(f"tensor {str(name)[:60]!r} has no valid shape (a list of non-negative integers)")
        size = 1
        for dim in shape:
            size *= dim
        dtype = str(t.get("dtype", "?"))[:32]
        counts[dtype] = counts.get(dtype, 0) + size
    return counts


def _safe_name(name: str) -> str | None:
    """A file name as text when it is one (UTF-8, no control characters other than none); None when its
    bytes are not UTF-8 (os.walk hands them over as surrogates, which no output can encode)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return name


def _shown(name: str) -> str:
    """A name that is not UTF-8, as text: its bad bytes as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class _Walk:
    """What one pass over the folder found; kept together so the walk's steps can be read one at a time."""

    def __init__(self, root: Path, base: Path, blobs: Path | None):
        self.root, self.base, self.blobs = root, base, blobs
        self.siblings: list[dict[str, Any]] = []
        self.files: dict[str, TextFile] = {}
        self.unreadable: dict[str, UnreadableFile] = {}
        self.params: dict[str, int] = {}

    def run(self) -> None:
        """Walks the folder without following links, listing and reading what may be read."""
        for dirpath, dirnames, filenames in os.walk(self.base, followlinks=False):
            here = Path(dirpath)
            # os.walk descends only into these: the depth is bounded before it recurses
            dirnames[:] = self._subfolders(here, dirnames)
            for fn in sorted(filenames):
                self._file(here / fn)

    def _subfolders(self, here: Path, dirnames: list[str]) -> list[str]:
        """The subfolders worth entering; names that are not UTF-8 or too deep are noted as unread."""
        level = len(here.relative_to(self.base).parts)
        keep = []
        for d in sorted(dirnames):
            if d.startswith(".git") or (here / d).is_symlink():
                continue
            rel_d = (here / d).relative_to(self.base).as_posix()
            if _safe_name(rel_d) is None:
                shown = _shown(rel_d)
                self.unreadable[shown] = UnreadableFile(path=shown, reason=Unreadable.ERROR,
                                                        detail="folder name is not UTF-8; not read")
            elif level + 1 > MAX_DEPTH:
                self.unreadable[rel_d] = UnreadableFile(
                    path=rel_d, reason=Unreadable.ERROR,
                    detail=f"folder nested deeper than {MAX_DEPTH} levels; not read")
            else:
                keep.append(d)
        return keep

    def _file(self, full: Path) -> None:
        """Lists one file (only if it stays inside the folder) and reads its text or safetensors header."""
        rel = full.relative_to(self.base).as_posix()
        if _safe_name(rel) is None:
            shown = _shown(rel)
            self.siblings.append({"rfilename": shown})
            self.unreadable[shown] = UnreadableFile(path=shown, reason=Unreadable.ERROR,
                                                    detail="file name is not UTF-8; not read")
            return
        real, st = within(self.base, rel, self.blobs) or (full, None)
        if st is None or not stat.S_ISREG(st.st_mode):
            return  # a symlink out of the folder (or a loop) is neither listed nor read
        self.siblings.append({"rfilename": rel, "size": st.st_size})
        if len(self.siblings) > MAX_FILES:
            raise UsageError(f"'{self.root}' holds more than {MAX_FILES} files; point at the model folder itself")
        if is_text_file_of_interest(rel):
            read = read_text_file(self.base, rel, also=self.blobs)
            if isinstance(read, TextFile):
                self.files[rel] = read
            elif read is not None:
                self.unreadable[rel] = read
        if rel.endswith(".safetensors") and "/" not in rel:
            self._count_params(rel, real)

    def _count_params(self, rel: str, real: Path) -> None:
        """Adds a top-level safetensors file's parameter counts, or notes its header as unreadable."""
        try:
            got = _safetensors_params(real)
        except BadHeader as e:
            self.unreadable[rel] = UnreadableFile(path=rel, reason=Unreadable.ERROR, detail=f"safetensors {e}")
            return
        for k, v in got.items():
            self.params[k] = self.params.get(k, 0) + v

    def config(self) -> dict[str, Any] | None:
        """The few config.json keys the evidence uses; a config that does not parse is noted as unreadable."""
        cfg_file = read_text_file(self.base, "config.json", also=self.blobs)
        if not (isinstance(cfg_file, TextFile) and cfg_file.size < 1_000_000):
            return None
        from openaudit.errors import ConfigFileError
        from openaudit.userfiles import loads_json

        try:
            cfg = loads_json(cfg_file.text, "config.json", max_depth=MAX_JSON_DEPTH)
        except ConfigFileError as e:
            self.unreadable["config.json"] = UnreadableFile(path="config.json", reason=Unreadable.ERROR,
                                                            detail=str(e).split(": ", 1)[-1])
            return None
        if not isinstance(cfg, dict):
            return None
        return {k: cfg[k] for k in ("architectures", "model_type", "quantization_config") if k in cfg}


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
        walk = _Walk(root, base, blobs)
        walk.run()
        info = _info(name, commit, walk)
        return RepoSnapshot(repo_id=info["id"], source="localdir", revision=commit, requested_revision=None,
                            taken_at=datetime.now(UTC), info=info, files=walk.files, unreadable=walk.unreadable)


def _info(name: str, commit: str | None, walk: _Walk) -> dict[str, Any]:
    """The Hub-shaped model info for the folder, so that the evidence layer reads it as it reads the Hub's."""
    readme = walk.files.get("README.md")
    card = parse_card(readme.text if readme else None)
    info: dict[str, Any] = {
        "id": f"local/{_NAME_RE.sub('-', name).strip('-.') or 'model'}",
        "sha": commit,
        "private": True,
        "gated": False,
        "cardData": card.metadata,
        "tags": _hub_tags(card.metadata),
        "siblings": walk.siblings,
    }
    cfg = walk.config()
    if cfg is not None:
        info["config"] = cfg
    if walk.params:
        info["safetensors"] = {"parameters": walk.params, "total": sum(walk.params.values())}
    lib = card.metadata.get("library_name")
    if isinstance(lib, str):
        info["library_name"] = lib
    return info
