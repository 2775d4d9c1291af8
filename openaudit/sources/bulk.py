"""Hub access at organisation scale (DESIGN §8): one listing, pinned single-GET file reads, a request gate.

* **Listing** — ``GET {endpoint}/api/models?author=ORG&expand=...&limit=1000``, following the absolute
  ``Link: <...>; rel="next"`` header: the request ``HfApi.list_models(author=ORG, expand=[...])`` sends,
  made through huggingface_hub's own session and ``hf_raise_for_status`` (typed errors). We page
  ourselves instead of iterating ``list_models`` because (1) the snapshot keeps the Hub's JSON
  verbatim (``ModelInfo`` does not round-trip), (2) ``list_models`` has no timeout and retries on its
  own, invisibly to the request budget. A list item carries ``siblings`` **without** sizes or blob ids.
* **Files** — one ``GET {endpoint}/{repo}/resolve/{sha}/{path}`` per text file, pinned to the listed
  sha. ``hf_hub_download`` would send a HEAD and then a GET (2 resolver requests per file, and its
  cache is per repo, so a LICENSE shared by 80 repos is still HEADed 80 times). With no sizes in the
  listing, the size cap is applied on ``Content-Length`` (and on the bytes actually read) before
  anything is kept. The ETag (git blob sha1 for non-LFS files) is checked against the body and used
  to share one decoded text between identical files: for a listed model that saves memory and
  decoding, **not** requests — a list item has no blob id, so identity is only known once the file
  answered. A repo whose metadata does name its blobs (``blobs=true``: a linked base model or
  dataset, a model whose sizes were needed) is not read again for a blob already read in the run.
* **When model_info is still called** — only for linked base models and datasets (one
  ``GET /api/{type}s/{id}?blobs=true`` each, once per run), and, at depth ``full``, for a listed model
  whose weights decision needs sizes: it lists weight-format files but the listing has neither a
  ``safetensors`` nor a ``gguf`` summary (a small stub file is not weights; only sizes tell).
* **The gate** — every request goes through one :class:`RequestGate` (openaudit.sources.gate, shared
  with HubSource and so with ``openaudit audit``): a global concurrency limit
  (``--jobs``), a request budget (``--max-requests``; once spent, :class:`BudgetExhausted`), a per-bucket
  pause shared by all threads when a 429 or a ``RateLimit: r=0`` header says the window is spent
  (the wait is the header's reset, else ``Retry-After``), and retries with backoff on 408/429/5xx and
  transport errors. Every call has a timeout.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from hashlib import sha1
from typing import Any
from urllib.parse import quote

from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import get_session, hf_raise_for_status, httpx

from openaudit import errors
from openaudit.cache import Depth, paths_for_depth, trim_to_depth
from openaudit.snapshot import (
    MAX_TEXT_FILE_BYTES,
    SHA_RE,
    RepoSnapshot,
    RepoType,
    TextFile,
    Unreadable,
    UnreadableFile,
    decode_text,
)
from openaudit.sources.gate import BudgetExhausted, RequestGate
from openaudit.sources.hub import HubSource, _status, _too_large, _unsafe_path, blob_key

log = logging.getLogger(__name__)
__all__ = ["BudgetExhausted", "BulkHubSource", "CachedSource", "RequestGate"]
LIST_EXPAND = (
    "cardData", "gated", "sha", "lastModified", "createdAt", "siblings", "safetensors", "gguf", "config",
    "tags", "library_name", "pipeline_tag", "private", "disabled", "transformersInfo",
)
PAGE_SIZE = 1000
_WEIGHT_EXT = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".gguf", ".pdparams")


class BulkHubSource(HubSource):
    """HubSource plus the listing and single-GET reads (every request through the source's RequestGate)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._hdrs: dict[str, str] | None = None
        self._texts: dict[str, str] = {}  # etag -> decoded text, shared by identical files
        self._texts_lock = threading.Lock()
        self.deduped_reads = 0  # read, and found identical to a text already read (memory and decoding saved)
        self.unread_duplicates = 0  # not read at all: the metadata's blob id named a text already read

    @property
    def has_token(self) -> bool:
        return "authorization" in {k.lower() for k in self.headers()}

    def headers(self) -> dict[str, str]:
        if self._hdrs is None:
            self._hdrs = self._headers()
        return self._hdrs

    # ---- the listing ----------------------------------------------------------------------------
    def list_models(self, author: str, limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Raw list items of an owner's models, one API request per page."""
        url: str | None = f"{self.endpoint}/api/models"
        first: list[tuple[str, str]] = [("author", author), *(("expand", e) for e in LIST_EXPAND)]
        first.append(("limit", str(min(limit, PAGE_SIZE) if limit else PAGE_SIZE)))
        params: list[tuple[str, str]] | None = first
        page = 0
        while url is not None:
            page += 1
            what = f"listing of '{author}' (page {page})"

            def call(u: str = url, p: Any = params, w: str = what) -> tuple[list[Any], str | None]:
                r = get_session().get(u, params=p, headers=self.headers(), timeout=self.timeout)
                self.gate.note("api", r.headers)
                hf_raise_for_status(r)
                data = r.json()
                if not isinstance(data, list):
                    raise errors.NetworkError(author, f"{w}: {self._shown} answered with JSON that is not a list")
                nxt = r.links.get("next", {}).get("url")
                return data, nxt

            try:
                items, url = self._with_retries(author, what, call)
            except HfHubHTTPError as e:
                raise errors.FetchError(author, f"{what}: {self._shown} answered HTTP {_status(e)}") from None
            except ValueError:
                raise errors.NetworkError(
                    author, f"{what}: {self._shown} answered with a body that is not JSON") from None
            params = None  # the next link is followed verbatim
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    yield item

    # ---- one file, one GET -------------------------------------------------------------------------
    def _read_file(
        self, repo_type: RepoType, repo_id: str, pin: str, path: str, listed: Any, blob: str | None = None
    ) -> TextFile | UnreadableFile:
        if blob is not None:  # the metadata named its content: a text already read this run is not read again
            with self._texts_lock:
                known = self._texts.get(blob)
                if known is not None:
                    self.unread_duplicates += 1
            if known is not None:
                return TextFile(path=path, text=known, size=listed if isinstance(listed, int) else len(known.encode()))
        prefix = "datasets/" if repo_type == "dataset" else ""
        url = f"{self.endpoint}/{prefix}{repo_id}/resolve/{quote(pin, safe='')}/{quote(path)}"
        what = f"{repo_id}: {path}"

        def call() -> TextFile | UnreadableFile:
            with get_session().stream("GET", url, headers=self.headers(), timeout=self.timeout) as r:
                self.gate.note("resolvers", r.headers)
                if r.status_code >= 400:
                    r.read()
                    hf_raise_for_status(r)
                commit = r.headers.get("X-Repo-Commit")
                if SHA_RE.match(pin) and commit and commit != pin:
                    raise errors.NetworkError(repo_id, f"{what}: asked for commit {pin[:12]}, got {commit[:12]}")
                length = r.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > MAX_TEXT_FILE_BYTES:
                    return _too_large(path, int(length))
                raw = bytearray()
                for chunk in r.iter_bytes():
                    raw += chunk
                    if len(raw) > MAX_TEXT_FILE_BYTES:
                        return _too_large(path, len(raw))
                etag = (r.headers.get("X-Linked-Etag") or r.headers.get("ETag") or "").removeprefix("W/").strip('"')
            data = bytes(raw)
            if length and length.isdigit() and int(length) != len(data):
                raise httpx.RemoteProtocolError("body shorter than Content-Length")
            if len(etag) == 40 and etag != _git_blob_sha1(data):
                raise httpx.RemoteProtocolError("body does not match its ETag")  # truncated: retried
            return self._text(path, data, etag)

        try:
            return self._with_retries(repo_id, what, call, bucket="resolvers")
        except GatedRepoError as e:
            detail = (f"{what} is gated and the token has not been granted access"
                      if _status(e) == 403 else f"{what} is gated; pass a token with access (HF_TOKEN or --token)")
            return UnreadableFile(path=path, reason=Unreadable.GATED, detail=detail)
        except RemoteEntryNotFoundError:
            return UnreadableFile(path=path, reason=Unreadable.MISSING,
                                  detail=f"listed in siblings but {self._shown} answered 404")
        except RepositoryNotFoundError:
            raise errors.RepoNotFound(repo_id, f"{what}: the repo is no longer found on {self._shown}") from None
        except RevisionNotFoundError:
            raise errors.RevisionNotFound(repo_id, f"{what}: commit {pin} not found on {self._shown}") from None
        except DisabledRepoError:
            raise errors.AccessDenied(repo_id, f"{what}: the repo is disabled on {self._shown}") from None
        except HfHubHTTPError as e:
            self._raise_file_failure(repo_id, what, e)

    def _text(self, path: str, data: bytes, etag: str) -> TextFile | UnreadableFile:
        key = etag or sha1(data).hexdigest()
        with self._texts_lock:
            text = self._texts.get(key)
            if text is not None:
                self.deduped_reads += 1
        if text is None:
            text = decode_text(data)
            if text is None:
                return UnreadableFile(path=path, reason=Unreadable.BINARY, detail="not UTF-8 text")
            with self._texts_lock:
                text = self._texts.setdefault(key, text)
        return TextFile(path=path, text=text, size=len(data))

    # ---- a listed model -> a snapshot ------------------------------------------------------------
    def needs_sizes(self, info: dict[str, Any]) -> bool:
        """Weight-format files listed, but no safetensors/gguf summary: only sizes tell weights from stubs."""
        if info.get("safetensors") or info.get("gguf"):
            return False
        for sib in info.get("siblings") or []:
            name = sib.get("rfilename") if isinstance(sib, dict) else None
            if isinstance(name, str) and name.lower().endswith(_WEIGHT_EXT) and "size" not in sib:
                return True
        return False

    def snapshot_from_listing(self, info: dict[str, Any], depth: Depth) -> tuple[RepoSnapshot, list[str]]:
        """Read the text files of a listed model at its listed sha. Returns the snapshot and the paths attempted."""
        repo_id = info["id"]
        sha = info.get("sha") if isinstance(info.get("sha"), str) and SHA_RE.match(info["sha"]) else None
        if depth == "full" and self.needs_sizes(info):
            full = self._info("model", repo_id, sha, self.headers())
            if full.get("sha") == sha or sha is None:
                info = {**info, "siblings": full.get("siblings", info.get("siblings"))}
        pin = sha or "main"
        gated = info.get("gated") not in (False, None)
        paths = paths_for_depth(info, depth)
        listed = {s.get("rfilename"): s for s in info.get("siblings") or [] if isinstance(s, dict)}
        files: dict[str, TextFile] = {}
        unreadable: dict[str, UnreadableFile] = {}
        for path in paths:
            sib = listed.get(path) or {}
            size = sib.get("size")
            if _unsafe_path(path):
                unreadable[path] = UnreadableFile(
                    path=path, reason=Unreadable.ERROR, detail="unsafe file name; not fetched")
            elif isinstance(size, int) and size > MAX_TEXT_FILE_BYTES:
                unreadable[path] = _too_large(path, size)
            elif gated and not self.has_token:
                unreadable[path] = UnreadableFile(
                    path=path, reason=Unreadable.GATED,
                    detail=f"{repo_id}: {path} is gated; pass a token with access (HF_TOKEN or --token)")
            else:
                got = self._read_file("model", repo_id, pin, path, size, blob_key(sib))
                if isinstance(got, TextFile):
                    files[path] = got
                else:
                    unreadable[path] = got
        snap = RepoSnapshot(repo_id=repo_id, repo_type="model", revision=sha, source="hub",
                            taken_at=datetime.now(UTC), info=info, files=dict(sorted(files.items())),
                            unreadable=dict(sorted(unreadable.items())))
        return trim_to_depth(snap, depth), paths


def _git_blob_sha1(data: bytes) -> str:
    return sha1(b"blob %d\0" % len(data) + data).hexdigest()


class CachedSource:
    """Linked repos (datasets, base models) through the cache: a fresh entry costs no request;
    --offline never asks the Hub; --refresh always does. Fetched repos are written to the cache."""

    name = "hub"

    def __init__(self, hub: BulkHubSource | None, cache: Any, *, offline: bool = False, refresh: bool = False):
        self.hub = hub
        self.cache = cache
        self.offline = offline
        self.refresh = refresh

    def model(self, repo_id: str, revision: str | None = None) -> RepoSnapshot:
        return self._get("model", repo_id, revision)

    def dataset(self, repo_id: str, revision: str | None = None) -> RepoSnapshot:
        return self._get("dataset", repo_id, revision)

    def _get(self, repo_type: RepoType, repo_id: str, revision: str | None) -> RepoSnapshot:
        if not self.refresh or self.offline:
            got = self.cache.get_linked(repo_type, repo_id, any_age=self.offline)
            if got is not None:
                return got
        if self.offline or self.hub is None:
            raise errors.OfflineMiss(repo_id, f"offline: {repo_type} '{repo_id}' is not in the cache {self.cache.root}")
        snap = self.hub.model(repo_id, revision) if repo_type == "model" else self.hub.dataset(repo_id, revision)
        self.cache.put(snap, "full", paths_for_depth(snap.info, "full"))
        return snap
