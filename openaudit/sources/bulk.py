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
  to share one decoded text between identical files: that saves memory and decoding, **not**
  requests — a list item has no blob id, so identity is only known once the file answered.
* **When model_info is still called** — only for linked base models and datasets (one
  ``GET /api/{type}s/{id}?blobs=true`` each, once per run), and, at depth ``full``, for a listed model
  whose weights decision needs sizes: it lists weight-format files but the listing has neither a
  ``safetensors`` nor a ``gguf`` summary (a small stub file is not weights; only sizes tell).
* **The gate** — every request goes through one :class:`RequestGate`: a global concurrency limit
  (``--jobs``), a request budget (``--max-requests``; once spent, :class:`BudgetExhausted`), a per-bucket
  pause shared by all threads when a 429 or a ``RateLimit: r=0`` header says the window is spent
  (the wait is the header's reset, else ``Retry-After``), and retries with backoff on 408/429/5xx and
  transport errors. Every call has a timeout.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from hashlib import sha1
from typing import Any, TypeVar
from urllib.parse import quote

from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import get_session, hf_raise_for_status, httpx, parse_ratelimit_headers

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
    parse_hub_time,
)
from openaudit.sources.hub import HubSource, _rate_limit_wait, _status, _too_large, _unsafe_path

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_RETRY_STATUS = frozenset({408, 500, 502, 503, 504})
LIST_EXPAND = (
    "cardData", "gated", "sha", "lastModified", "createdAt", "siblings", "safetensors", "gguf", "config",
    "tags", "library_name", "pipeline_tag", "private", "disabled", "transformersInfo",
)
PAGE_SIZE = 1000
_WEIGHT_EXT = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".gguf", ".pdparams")


class BudgetExhausted(errors.FetchError):
    """--max-requests is spent: what was not fetched is reported incomplete."""

    kind = "budget"
    status = "incomplete"


class RequestGate:
    """Global concurrency, a request budget, and per-bucket pauses shared by every thread."""

    def __init__(self, jobs: int = 8, max_requests: int | None = None):
        self.jobs = max(1, int(jobs))
        self.max_requests = max_requests
        self._sem = threading.BoundedSemaphore(self.jobs)
        self._lock = threading.Lock()
        self._paused: dict[str, float] = {}
        self.sent = 0
        self.by_bucket: dict[str, int] = {"api": 0, "resolvers": 0}
        self.rate_limited = 0

    @contextmanager
    def slot(self, bucket: str, repo_id: str, max_wait: float | None = None) -> Iterator[None]:
        self.wait(bucket, repo_id, max_wait)
        with self._sem:
            with self._lock:
                if self.max_requests is not None and self.sent >= self.max_requests:
                    raise BudgetExhausted(
                        repo_id, f"request budget of {self.max_requests} spent (--max-requests); not fetched"
                    )
                self.sent += 1
                self.by_bucket[bucket] = self.by_bucket.get(bucket, 0) + 1
            yield

    def wait(self, bucket: str, repo_id: str = "", max_wait: float | None = None) -> None:
        """Until the bucket's pause is over; a pause longer than `max_wait` fails at once instead
        (a window that resets in 10 minutes is not waited out, as a 429 saying so is not)."""
        while True:
            with self._lock:
                until = self._paused.get(bucket, 0.0)
            delay = until - time.monotonic()
            if delay <= 0:
                return
            if max_wait is not None and delay > max_wait:
                raise errors.RateLimited(
                    repo_id, f"rate limited: the Hub's '{bucket}' window resets in {delay:.0f} s, longer than the "
                    f"{max_wait:.0f} s waited at most; not fetched")
            time.sleep(min(delay, 1.0))

    def pause(self, bucket: str, seconds: float) -> None:
        with self._lock:
            self._paused[bucket] = max(self._paused.get(bucket, 0.0), time.monotonic() + seconds)

    def note(self, bucket: str, headers: Any) -> None:
        """A response said the window is spent (RateLimit r=0): hold the whole bucket until its reset."""
        info = parse_ratelimit_headers(headers)
        if info is not None and info.remaining == 0:
            self.pause(bucket, float(info.reset_in_seconds) + 0.1)


class BulkHubSource(HubSource):
    """HubSource whose every request goes through a RequestGate, plus the listing and single-GET reads."""

    def __init__(self, *args: Any, gate: RequestGate | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.gate = gate or RequestGate(self.workers)
        self._hdrs: dict[str, str] | None = None
        self._texts: dict[str, str] = {}  # etag -> decoded text, shared by identical files
        self._texts_lock = threading.Lock()
        self.deduped_reads = 0

    @property
    def has_token(self) -> bool:
        return "authorization" in {k.lower() for k in self.headers()}

    def headers(self) -> dict[str, str]:
        if self._hdrs is None:
            self._hdrs = self._headers()
        return self._hdrs

    # ---- the request loop (replaces HubSource._with_retries: counted, gated, shared pauses) ---------
    def _with_retries(self, repo_id: str, what: str, call: Callable[[], _T], bucket: str = "api") -> _T:
        attempt = 0
        while True:
            wait: float | None = None
            try:
                with self.gate.slot(bucket, repo_id, self.max_wait):
                    return call()
            except HfHubHTTPError as e:
                status = _status(e)
                resp = getattr(e, "response", None)
                if status == 429:
                    self.gate.rate_limited += 1
                    wait = _rate_limit_wait(e)
                    if attempt >= self.max_retries or (wait is not None and wait > self.max_wait):
                        reset = f"; the limit resets in {wait:.0f} s" if wait is not None else ""
                        raise errors.RateLimited(
                            repo_id, f"{what}: rate limited by {self._shown} (HTTP 429) after {attempt + 1} "
                            f"attempts{reset}") from None
                    # Everyone waits, not just this thread: the window is shared.
                    self.gate.pause(bucket, (wait if wait is not None else self._backoff(attempt)) + 0.1)
                    wait = 0.0
                elif status in _RETRY_STATUS:
                    if attempt >= self.max_retries:
                        raise errors.NetworkError(
                            repo_id, f"{what}: {self._shown} answered HTTP {status} on all {attempt + 1} attempts"
                        ) from None
                    if resp is not None:
                        self.gate.note(bucket, resp.headers)
                else:
                    raise
            except httpx.TransportError as e:
                if attempt >= self.max_retries:
                    raise errors.NetworkError(
                        repo_id, f"{what}: cannot reach {self._shown} ({type(e).__name__}, timeout "
                        f"{self.timeout:g} s) after {attempt + 1} attempts") from None
            time.sleep(self._backoff(attempt) if wait is None else wait)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return min(8.0, self.backoff * (2**attempt)) * (1 + random.random() / 4)

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
        self, repo_type: RepoType, repo_id: str, pin: str, path: str, listed: Any
    ) -> TextFile | UnreadableFile:
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
        sizes = {s.get("rfilename"): s.get("size") for s in info.get("siblings") or [] if isinstance(s, dict)}
        files: dict[str, TextFile] = {}
        unreadable: dict[str, UnreadableFile] = {}
        for path in paths:
            size = sizes.get(path)
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
                got = self._read_file("model", repo_id, pin, path, size)
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


def parse_since(text: str | None) -> datetime | None:
    """`--since DATE`: an ISO date or date-time (UTC when no zone is given)."""
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise errors.UsageError(f"--since: '{text[:40]}' is not an ISO date (YYYY-MM-DD[THH:MM[:SS]])") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)



def select_models(items: list[dict[str, Any]], include: Sequence[str] = (),
                  exclude: Sequence[str] = (), since: datetime | None = None,
                  limit: int | None = None) -> list[dict[str, Any]]:
    """Filter listed models. A glob matches the full id or the name alone (`*-Instruct*`, `org/Llama-3*`);
    `since` keeps models created or modified after the date; `limit` keeps the first N (listing order)."""
    import fnmatch

    def matches(repo_id: str, pats: Sequence[str]) -> bool:
        name = repo_id.split("/", 1)[-1]
        return any(fnmatch.fnmatchcase(repo_id, p) or fnmatch.fnmatchcase(name, p) for p in pats)

    out = []
    for item in items:
        rid = item["id"]
        if include and not matches(rid, include):
            continue
        if exclude and matches(rid, exclude):
            continue
        if since is not None:
            dates = [d for d in (parse_hub_time(item.get("createdAt")), parse_hub_time(item.get("lastModified"))) if d]
            if not dates or max(dates) <= since:
                continue
        out.append(item)
        if limit is not None and len(out) >= limit:
            break
    return out
