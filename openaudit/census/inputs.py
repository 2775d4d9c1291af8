"""Where a census reads its dumps: a local parquet file or folder, or `hf://datasets/OWNER/NAME@REV/PATH`.

An `hf://` dump is pinned (the revision is resolved to its commit through huggingface_hub, against
`HF_ENDPOINT`) and a copy is kept under `OUTDIR/inputs/`, since a public dump may move or disappear.
A local dump is pinned by the sha256 of each file. Either way the manifest records what was read.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openaudit.errors import FetchError, UsageError

_HF_RE = re.compile(r"^hf://datasets/(?P<repo>[A-Za-z0-9][\w.\-]*/[\w.\-]+)(?:@(?P<rev>[^/]+))?(?:/(?P<path>.*))?$")


@dataclass
class DumpInput:
    """A dump as local parquet files, with what pins it."""

    given: str
    files: list[Path]
    kind: str  # "local" or "hf"
    repo: str | None = None
    revision: str | None = None  # as asked (hf)
    commit: str | None = None  # the commit it resolved to (hf)
    digests: dict[str, str] = field(default_factory=dict)  # file name -> sha256

    def manifest(self) -> dict[str, Any]:
        out: dict[str, Any] = {"given": self.given, "kind": self.kind,
                               "files": [{"name": p.name, "bytes": p.stat().st_size, "sha256": self.digests.get(str(p))}
                                         for p in self.files]}
        if self.kind == "hf":
            out.update(repo=self.repo, revision=self.revision, commit=self.commit)
        return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _parquet_files(path: Path, what: str) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.parquet") if p.is_file() and not p.name.startswith("."))
        if files:
            return files
        raise UsageError(f"{what} '{path}' holds no .parquet file")
    raise UsageError(f"{what} '{path}' is neither a parquet file nor a folder of them")


def resolve(given: str, outdir: Path, what: str = "dump") -> DumpInput:
    """Local files, or an hf:// dump downloaded (pinned) into OUTDIR/inputs/."""
    if given.startswith("hf://"):
        return _from_hub(given, outdir, what)
    files = _parquet_files(Path(given).expanduser(), what)
    dump = DumpInput(given=given, files=files, kind="local")
    dump.digests = {str(p): _sha256(p) for p in files}
    return dump


def _from_hub(given: str, outdir: Path, what: str) -> DumpInput:
    m = _HF_RE.match(given)
    if not m:
        raise UsageError(f"{what} '{given}': expected hf://datasets/OWNER/NAME[@REVISION][/PATH]")
    repo, rev, sub = m.group("repo"), m.group("rev") or "main", (m.group("path") or "").strip("/")
    if ".." in sub.split("/"):
        raise UsageError(f"{what} '{given}': the path may not contain '..'")
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    endpoint = os.environ.get("HF_ENDPOINT") or None
    api = HfApi(endpoint=endpoint)
    try:
        info = api.dataset_info(repo, revision=rev, timeout=30)
    except RevisionNotFoundError:
        raise UsageError(f"{what} '{given}': revision '{rev}' not found") from None
    except RepositoryNotFoundError:
        raise UsageError(f"{what} '{given}': dataset '{repo}' not found") from None
    except (HfHubHTTPError, OSError) as e:
        raise FetchError(repo, f"{what} '{given}': the Hub could not be read ({type(e).__name__})") from None
    commit = info.sha
    if not commit:
        raise FetchError(repo, f"{what} '{given}': the Hub named no commit for revision '{rev}'")
    names = [s.rfilename for s in info.siblings or []]
    chosen = sorted(n for n in names if n.endswith(".parquet") and (n == sub or not sub or n.startswith(sub + "/")))
    if not chosen:
        raise UsageError(f"{what} '{given}': no .parquet file at '{sub or '/'}' in {repo}@{commit[:12]}")
    local = outdir / "inputs" / repo.replace("/", "__") / commit
    files = []
    for name in chosen:
        try:
            got = hf_hub_download(repo, name, repo_type="dataset", revision=commit, local_dir=local,
                                  endpoint=endpoint)
        except (HfHubHTTPError, OSError) as e:
            raise FetchError(repo, f"{what} '{given}': {name} could not be downloaded ({type(e).__name__})") from None
        files.append(Path(got))
    dump = DumpInput(given=given, files=files, kind="hf", repo=repo, revision=rev, commit=commit)
    dump.digests = {str(p): _sha256(p) for p in files}
    return dump
