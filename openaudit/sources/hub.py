"""The Hub source (DESIGN §2): one API call per repo, then the text files pinned to its commit.

All huggingface_hub calls live here and in sources/bulk.py. Per repo:

1. ``GET {endpoint}/api/{models|datasets}/{id}[/revision/{rev}]?blobs=true`` — the request
   ``HfApi.model_info(repo_id, revision=..., files_metadata=True, timeout=...)`` sends, made through
   huggingface_hub's own session and ``hf_raise_for_status`` so the errors are the library's typed
   ones. We keep the raw JSON instead of ``ModelInfo``: the snapshot (and the store it is written to)
   holds the Hub's JSON verbatim, and ``ModelInfo`` does not round-trip (dates become datetimes,
   ``cardData`` is re-parsed, siblings become objects). That call does not retry and has no default
   timeout (hub-api §1), so the retry loop and the timeout are ours.
2. One ``GET {endpoint}/{repo}/resolve/{sha}/{path}`` per text file of interest, pinned to the
   commit the metadata named, in parallel, through the same session. ``hf_hub_download`` would send
   a HEAD and then a GET (two resolver requests a file, the scarcer of the Hub's two budgets) and
   retry a failing HEAD on its own, out of sight of the request budget. Files listed larger than
   MAX_TEXT_FILE_BYTES are not fetched, and the cap is applied again on ``Content-Length`` and on the
   bytes read; weights never are fetched. The ETag (the git blob sha1 of a non-LFS file) is checked
   against the body, so a truncated answer is retried, and it names the text: a blob already read in
   the run (an organisation's shared LICENSE) is decoded and held once, and not requested again when
   the metadata names it. A gated repo read without a token costs no resolver request: every file
   would answer 401.
3. This source keeps no cache: :class:`~openaudit.sources.cache.CachedSource` puts the snapshot
   cache in front of it (``openaudit audit`` has one unless told otherwise), asking it for a repo's
   metadata (``info``) and reading its files (``read_files``) only when the cache does not hold them
   at that commit and depth.

Every request goes through the source's :class:`~openaudit.sources.gate.RequestGate`: a bound on
requests in flight, the run's budget (``--max-requests``, exact: one request is one unit), and a
pause of the whole bucket when a 429 or ``RateLimit: r=0`` says its window is spent.

Tokens: the explicit argument, else huggingface_hub's own lookup (HF_TOKEN, the token file), or
``token=False`` for none. A token is never logged nor put in a message, an exception or a snapshot;
mapped exceptions are raised ``from None`` so that the library's exception (which holds the request
and its Authorization header) does not travel with them.
"""

from __future__ import annotations

import hmac
import logging
import os
import random
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from hashlib import sha1, sha256
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from huggingface_hub.errors import (
    DisabledRepoError,
    GatedRepoError,
    HfHubHTTPError,
    LocalTokenNotFoundError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import (
    build_hf_headers,
    hf_raise_for_status,
    httpx,
    parse_ratelimit_headers,
)

from openaudit import __version__ as _VERSION  # the distribution is openaudit-ai; "openaudit" is another's
from openaudit import errors, textsafe
from openaudit.repoid import RepoRef, parse_ref, validate_dataset_id, validate_repo_id
from openaudit.snapshot import (
    MAX_TEXT_FILE_BYTES,
    SHA_RE,
    Depth,
    RepoSnapshot,
    RepoType,
    TextFile,
    Unreadable,
    UnreadableFile,
    decode_text,
    paths_for_depth,
)
from openaudit.sources import http
from openaudit.sources.gate import RequestGate

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
_RETRY_STATUS = frozenset({408, 500, 502, 503, 504})
# Decoded bytes of one API answer (model_info, a listing page): the Hub's largest repositories list
# a few tens of thousands of files (~200 bytes each with blobs=true); a larger answer makes that model
# (or the listing) incomplete. Parsed, JSON takes 10-25 times its size: this bounds a read at ~400 MB.
MAX_JSON_BYTES = 16 * 1024 * 1024
_T = TypeVar("_T")


def _display(endpoint: str) -> str:
    """The endpoint without any user:password@ part, for messages."""
    parts = urlsplit(endpoint)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return endpoint


class _RecentTexts:
    """Decoded texts by blob id, the most recently used kept up to CAP bytes of memory (a text with
    emoji takes 4 bytes a character); not thread-safe: the caller's lock. Identical files (an
    organisation's shared LICENSE, read again and again) stay; a census's cards, each read once, are
    let go instead of staying for the whole run (~8 KB a model)."""

    CAP = 4 << 20

    def __init__(self) -> None:
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._size = 0

    def get(self, key: str) -> str | None:
        text = self._texts.get(key)
        if text is not None:
            self._texts.move_to_end(key)
        return text

    def setdefault(self, key: str, text: str) -> str:
        known = self.get(key)
        if known is not None:
            return known
        self._texts[key] = text
        self._size += sys.getsizeof(text)
        while self._size > self.CAP and len(self._texts) > 1:
            _, old = self._texts.popitem(last=False)
            self._size -= sys.getsizeof(old)
        return text


class HubSource:
    """Snapshots from the Hugging Face Hub (or any server speaking its API, e.g. tests/fakehub.py)."""

    name = "hub"

    def __init__(
        self,
        endpoint: str | None = None,
        token: str | bool | None = None,
        timeout: float = 10.0,
        max_retries: int = 4,
        *,
        backoff: float = 1.0,
        max_wait: float = 300.0,
        workers: int = 4,
        depth: Depth = "full",
        gate: RequestGate | None = None,
    ):
        ep = endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
        self.endpoint = ep.rstrip("/")
        self._token = token
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff = float(backoff)
        self.max_wait = float(max_wait)
        self.workers = max(1, int(workers))
        self.depth = depth  # metadata: no file is read; card: the README only; full: every text file of interest
        # Every request of the run goes through it: concurrency, the --max-requests budget, 429 pauses.
        self.gate = gate or RequestGate(self.workers)
        self._shown = _display(self.endpoint)
        self._hdrs: dict[str, str] | None = None
        self._texts = _RecentTexts()  # blob id (ETag) -> decoded text, shared by identical files
        self._texts_lock = threading.Lock()
        self.deduped_reads = 0  # read, and found identical to a text already read (memory and decoding saved)
        self.unread_duplicates = 0  # not read at all: the metadata's blob id named a text already read
        self._listed: dict[str, dict[str, Any]] = {}  # model id -> its owner's list item (take_listing)

    def __repr__(self) -> str:  # never show the token
        return f"HubSource(endpoint={self._shown!r})"

    # ---- public ---------------------------------------------------------------------------
    def model(self, repo_id: str, revision: str | None = None) -> RepoSnapshot:
        snap = self._snapshot("model", repo_id, revision)
        assert snap is not None
        return snap

    def model_if(self, repo_id: str, revision: str | None,
                 keep: Callable[[dict[str, Any]], bool]) -> RepoSnapshot | None:
        """The model's snapshot if `keep(info)` holds for its metadata, else None: one API request,
        and its files are read only when it is kept (`openaudit audit --since`)."""
        return self._snapshot("model", repo_id, revision, keep)

    def dataset(self, repo_id: str, revision: str | None = None) -> RepoSnapshot:
        snap = self._snapshot("dataset", repo_id, revision)
        assert snap is not None
        return snap

    def take_listing(self, items: Iterable[dict[str, Any]]) -> None:
        """Items of an owner's listing, taken moments ago (BulkHubSource.list_models): a model asked for
        at its current commit takes its metadata from its item instead of a model_info request. Not an
        item that cannot stand for model_info: one without a commit, a disabled repo (model_info
        refuses it), or one whose weights only file sizes tell apart from stubs (a list item has no
        sizes). Taken before the reading threads start: they only look it up."""
        for item in items:
            rid, sha = item.get("id"), item.get("sha")
            if (isinstance(rid, str) and isinstance(sha, str) and SHA_RE.match(sha)
                    and item.get("disabled") is not True and not needs_sizes(item)):
                self._listed[rid] = item

    # ---- the flow -------------------------------------------------------------------------
    def _snapshot(self, repo_type: RepoType, repo_id: str, revision: str | None,
                  keep: Callable[[dict[str, Any]], bool] | None = None) -> RepoSnapshot | None:
        requested, info = self.info(repo_type, repo_id, revision)
        if keep is not None and not keep(info):
            return None
        return self.read_files(repo_type, requested, info, revision)[0]

    def info(self, repo_type: RepoType, repo_id: str, revision: str | None) -> tuple[str, dict[str, Any]]:
        """The repo's metadata, validated (one API request, or none for a model taken from its owner's
        listing), and the id to read its files under (the one asked for: an old name redirects)."""
        if repo_type == "dataset" and "/" not in repo_id:  # legacy canonical dataset id (`the_pile`)
            ref = RepoRef(validate_dataset_id(repo_id), revision)
        else:
            ref = parse_ref(f"{repo_id}@{revision}" if revision is not None else repo_id)  # InvalidRepoId
        listed = self._listed.get(ref.repo_id) if repo_type == "model" and revision is None else None
        info = listed if listed is not None else self._info(repo_type, ref.repo_id, revision, self.headers())
        try:
            (validate_dataset_id if repo_type == "dataset" else validate_repo_id)(info["id"])
        except errors.InvalidRepoId:
            raise errors.FetchError(
                repo_id, f"{repo_type} '{repo_id}': {self._shown} answered with an invalid id"
            ) from None
        return ref.repo_id, info

    def read_files(self, repo_type: RepoType, repo_id: str, info: dict[str, Any],
                   revision: str | None) -> tuple[RepoSnapshot, list[str]]:
        """The snapshot of a repo whose metadata is `info`: its text files at this source's depth, read
        at its commit. Returns the snapshot and the paths attempted (what a cache records)."""
        sha = info.get("sha") if isinstance(info.get("sha"), str) and SHA_RE.match(info["sha"]) else None
        wanted = paths_for_depth(info, self.depth)  # what an audit at this depth reads (trim_to_depth)
        files, unreadable = self._read_texts(repo_type, repo_id, sha or revision or "main", info, wanted,
                                             threads=self.workers)
        snap = RepoSnapshot(
            repo_id=info["id"],
            repo_type=repo_type,
            revision=sha,
            requested_revision=revision,
            source="hub",
            taken_at=datetime.now(UTC),
            info=info,
            files=files,
            unreadable=unreadable,
        )
        return snap, wanted

    def _read_texts(self, repo_type: RepoType, repo_id: str, pin: str, info: dict[str, Any], paths: list[str],
                    *, threads: int = 1) -> tuple[dict[str, TextFile], dict[str, UnreadableFile]]:
        """The text files `paths` of a repo whose metadata is `info`, each read at `pin` (one GET, or
        none: see not_to_read), on up to `threads` threads; both by path, sorted. A failure that is not
        one file's (the repo gone, the budget spent, ...) is raised, the first one once the reads under
        way ended; shared by a model asked for (HubSource) and a listed one (BulkHubSource)."""
        gated_to_us = info.get("gated") not in (False, None) and not self.has_token
        listed: dict[str, dict[str, Any]] = {}
        for sib in info.get("siblings") or []:
            if isinstance(sib, dict) and isinstance(sib.get("rfilename"), str):
                listed.setdefault(sib["rfilename"], sib)
        got: list[TextFile | UnreadableFile] = []
        todo: list[tuple[str, Any, str | None]] = []
        paths, over = cap_text_files(paths)
        got += [UnreadableFile(path=p, reason=Unreadable.ERROR,
                               detail=f"not read: the repo lists more than {MAX_TEXT_FILES} text files of interest "
                                      "and these come last by name") for p in over]
        for path in paths:
            sib = listed.get(path) or {}
            skip = not_to_read(repo_id, path, sib.get("size"), gated_to_us)
            if skip is not None:
                got.append(skip)
            else:
                todo.append((path, sib.get("size"), blob_key(sib)))
        if len(todo) == 1 or threads <= 1:  # the caller's thread: no pool for what is read in turn
            got += [self._read_file(repo_type, repo_id, pin, p, s, b) for p, s, b in todo]
        elif todo:
            with ThreadPoolExecutor(max_workers=min(threads, len(todo)), thread_name_prefix="openaudit-hub") as ex:
                futures = [ex.submit(self._read_file, repo_type, repo_id, pin, p, s, b) for p, s, b in todo]
                first_error: BaseException | None = None
                for fut in futures:
                    try:
                        got.append(fut.result())
                    except BaseException as e:
                        first_error = first_error or e
                if first_error is not None:
                    raise first_error
        files = {r.path: r for r in got if isinstance(r, TextFile)}
        unreadable = {r.path: r for r in got if isinstance(r, UnreadableFile)}
        return dict(sorted(files.items())), dict(sorted(unreadable.items()))

    @property
    def has_token(self) -> bool:
        return _carries_token(self.headers())

    @property
    def reader(self) -> str:
        """The cache's name for this run's token ("" for none): a keyed hash, never the token."""
        return reader_tag(self.headers())

    def headers(self) -> dict[str, str]:
        """The request headers (user agent, the token if any), built once per source."""
        if self._hdrs is None:
            self._hdrs = hub_headers(self._token)
        return self._hdrs

    # ---- the API call ---------------------------------------------------------------------
    def _info(self, repo_type: RepoType, repo_id: str, revision: str | None, headers: dict[str, str]) -> dict[str, Any]:
        url = f"{self.endpoint}/api/{repo_type}s/{repo_id}"
        if revision is not None:
            url += f"/revision/{quote(revision, safe='')}"
        what = f"{repo_type} '{repo_id}'" + (f" at revision '{revision}'" if revision else "")

        def call() -> dict[str, Any]:
            r = self._get(url, headers, params={"blobs": True})
            self.gate.note("api", r.headers)
            hf_raise_for_status(r)
            data = parse_json(r)
            if not isinstance(data, dict) or not isinstance(data.get("id"), str):
                raise errors.FetchError(repo_id, f"{what}: {self._shown} answered with JSON that is not a repo")
            return data

        try:
            return self._with_retries(repo_id, what, call)
        except GatedRepoError:
            raise errors.AccessDenied(
                repo_id,
                f"{what}: the metadata is gated on {self._shown}; pass a token with access (HF_TOKEN or --token)",
            ) from None
        except RepositoryNotFoundError:
            raise errors.RepoNotFound(
                repo_id,
                f"{what} not found on {self._shown} (check the id; a private repo needs a token with access)",
            ) from None
        except RevisionNotFoundError:
            raise errors.RevisionNotFound(
                repo_id, f"revision '{revision}' of {repo_type} '{repo_id}' not found on {self._shown}"
            ) from None
        except DisabledRepoError:
            raise errors.AccessDenied(
                repo_id, f"{what} is disabled on {self._shown}: access to it is disabled"
            ) from None
        except HfHubHTTPError as e:
            status = _status(e)
            if status == 401:
                msg = f"{what}: {self._shown} rejected the credentials (HTTP 401); check HF_TOKEN or --token"
                raise errors.AccessDenied(repo_id, msg) from None
            if status == 403:
                raise errors.AccessDenied(repo_id, f"{what}: access denied by {self._shown} (HTTP 403)") from None
            raise errors.FetchError(repo_id, f"{what}: {self._shown} answered HTTP {status}") from None
        except RecursionError:  # JSON nested deeper than the parser's recursion limit
            raise errors.FetchError(repo_id, f"{what}: {self._shown} answered with JSON nested too deeply") from None
        except ValueError:  # body is not JSON (json.JSONDecodeError)
            raise errors.NetworkError(repo_id, f"{what}: {self._shown} answered with a body that is not JSON") from None

    def _get(self, url: str, headers: dict[str, str], *, params: Any = None, max_bytes: int = MAX_JSON_BYTES,
             cross_origin: bool = False) -> httpx.Response:
        """One bounded GET (openaudit.sources.http): size cap, deadline, redirects, the token's origin."""
        return http.get(url, headers=headers, params=params, timeout=self.timeout, max_bytes=max_bytes,
                        home=self.endpoint, cross_origin=cross_origin)

    def _with_retries(self, repo_id: str, what: str, call: Callable[[], _T], bucket: str = "api") -> _T:
        """Run `call` through the gate, retrying 429 (honouring RateLimit / Retry-After), 408/5xx and
        transport errors. A 429 pauses the whole bucket, not just this thread: the window is shared.
        A bound of openaudit.sources.http (size, deadline, redirects) is not retried: it is the
        model's (or the listing's) `limit:` or `refused:` reason."""
        attempt = 0
        while True:
            wait: float | None = None
            try:
                with self.gate.slot(bucket, repo_id, min(self.max_wait, max(0.0, http.run_time_left()))):
                    return call()
            except (http.TooLarge, http.DeadlineExceeded) as e:
                raise errors.LimitReached(repo_id, f"{what}: {e}") from None
            except http.RedirectRefused as e:
                raise errors.Refused(repo_id, f"{what}: {self._shown} answered with a {e}") from None
            except HfHubHTTPError as e:
                status = _status(e)
                resp = getattr(e, "response", None)
                if status == 429:
                    self.gate.throttled()
                    if resp is not None:
                        self.gate.note(bucket, resp.headers)  # the window's quota, when it says
                    wait = _rate_limit_wait(e)
                    if attempt >= self.max_retries or (wait is not None and wait > self.max_wait):
                        reset = f"; the limit resets in {wait:.0f} s" if wait is not None else ""
                        raise errors.RateLimited(
                            repo_id, f"{what}: rate limited by {self._shown} (HTTP 429) after {attempt + 1} "
                            f"attempts{reset}") from None
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
            except httpx.DecodingError as e:
                raise errors.NetworkError(repo_id, f"{what}: {self._shown} answered with an undecodable body "
                                          f"({type(e).__name__})") from None
            except httpx.TransportError as e:
                if attempt >= self.max_retries:
                    raise errors.NetworkError(
                        repo_id, f"{what}: cannot reach {self._shown} ({type(e).__name__}, timeout "
                        f"{self.timeout:g} s) after {attempt + 1} attempts") from None
            wait = self._backoff(attempt) if wait is None else wait
            if wait >= http.run_time_left():
                raise errors.LimitReached(repo_id, f"{what}: the run's deadline (--timeout) comes before the "
                                          "next attempt; not fetched") from None
            log.debug("retrying in %.2f s (attempt %d)", wait, attempt + 1)
            time.sleep(wait)
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        return min(8.0, self.backoff * (2**attempt)) * (1 + random.random() / 4)

    # ---- one file, one GET ----------------------------------------------------------------------
    def _read_file(
        self, repo_type: RepoType, repo_id: str, pin: str, path: str, listed: Any, blob: str | None = None
    ) -> TextFile | UnreadableFile:
        """One text file at `pin`; `listed` is its listed size, `blob` its content id when the metadata
        named one (a text already read this run under that id is not requested again)."""
        if blob is not None:
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
            try:
                r = self._get(url, self.headers(), max_bytes=MAX_TEXT_FILE_BYTES, cross_origin=True)
            except http.TooLarge as e:
                return _too_large(path, e.size)
            self.gate.note("resolvers", r.headers)
            hf_raise_for_status(r)
            commit = r.headers.get("X-Repo-Commit")
            if SHA_RE.match(pin) and commit and commit != pin:
                raise errors.NetworkError(repo_id, f"{what}: asked for commit {pin[:12]}, got {commit[:12]}")
            etag = (r.headers.get("X-Linked-Etag") or r.headers.get("ETag") or "").removeprefix("W/").strip('"')
            data = r.content
            if len(etag) == 40 and etag != _git_blob_sha1(data):
                raise httpx.RemoteProtocolError("body does not match its ETag")  # truncated: retried
            return self._text(path, data, etag)

        try:
            return self._with_retries(repo_id, what, call, bucket="resolvers")
        except GatedRepoError as e:
            if _status(e) == 403:
                detail = (f"{what} is gated and the token has not been granted access; "
                          f"request it at https://huggingface.co/{repo_id}")
            else:
                detail = f"{what} is gated; pass a token with access (HF_TOKEN or --token)"
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

    def _raise_file_failure(self, repo_id: str, what: str, cause: BaseException) -> NoReturn:
        if isinstance(cause, HfHubHTTPError):
            status = _status(cause)
            if status == 429:
                raise errors.RateLimited(repo_id, f"{what}: rate limited by {self._shown} (HTTP 429)") from None
            if status in (401, 403):
                raise errors.AccessDenied(repo_id, f"{what}: access denied by {self._shown} (HTTP {status})") from None
            raise errors.NetworkError(repo_id, f"{what}: {self._shown} answered HTTP {status}") from None
        raise errors.NetworkError(
            repo_id, f"{what}: cannot download from {self._shown} ({type(cause).__name__})"
        ) from None


_WEIGHT_EXT = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".onnx", ".gguf", ".pdparams")


def parse_json(r: httpx.Response) -> Any:
    """An answer's JSON, lone surrogates (a `\\ud800` escape) replaced on the way in: no UTF-8 writer
    can encode one, and every output must be valid UTF-8 (openaudit.textsafe.scrub)."""
    data = r.json()
    return textsafe.scrub(data) if textsafe.has_surrogate_escape(r.content) else data


# Text files read per repo at most: the card, then licence, notice and use-policy files by name. A real
# repo has a handful (a few dozen for one that ships a licence per language); 20,000 LICENSE-NNNNN
# files would spend the run's request budget on one model.
MAX_TEXT_FILES = 32
_PRIORITY = (("readme.md",), ("license", "licence", "copying"), ("notice",), ("use_policy",))


def cap_text_files(paths: list[str]) -> tuple[list[str], list[str]]:
    """The text files to read (MAX_TEXT_FILES at most, chosen by name: the top-level README, licence,
    notice, use policy, then the rest; top level before a folder's, shorter names first) and the
    ones left unread, each in the order given."""
    if len(paths) <= MAX_TEXT_FILES:
        return paths, []

    def rank(path: str) -> tuple[int, int, int, str]:
        name = path.rsplit("/", 1)[-1].lower()
        group = next((i for i, prefixes in enumerate(_PRIORITY) if name.startswith(prefixes)), len(_PRIORITY))
        return group, path.count("/"), len(path), path

    keep = set(sorted(paths, key=rank)[:MAX_TEXT_FILES])
    return [p for p in paths if p in keep], [p for p in paths if p not in keep]


def needs_sizes(info: dict[str, Any]) -> bool:
    """Weight-format files listed without sizes (a list item), and no safetensors/gguf summary: only
    sizes tell weights from stubs, and only model_info has them."""
    if info.get("safetensors") or info.get("gguf"):
        return False
    for sib in info.get("siblings") or []:
        name = sib.get("rfilename") if isinstance(sib, dict) else None
        if isinstance(name, str) and name.lower().endswith(_WEIGHT_EXT) and "size" not in sib:
            return True
    return False


def hub_headers(token: str | bool | None) -> dict[str, str]:
    """What every request carries: the user agent, and the token if any (`token`; None: HF_TOKEN or the
    stored login, as huggingface_hub finds them; False: none). Reads no network."""
    try:
        return build_hf_headers(token=token, library_name="openaudit", library_version=_VERSION)
    except LocalTokenNotFoundError:
        raise errors.UsageError("a Hub token was required but none was found; set HF_TOKEN or pass --token") from None


def reader_tag(headers: dict[str, str]) -> str:
    """The cache's name for the token a run sends ("" for none): HMAC-SHA256 keyed by the token over
    a fixed label. It tells two tokens apart and cannot be turned back into the token."""
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    if not auth:
        return ""
    return hmac.new(auth.encode("utf-8", "surrogatepass"), b"openaudit cache reader v1", sha256).hexdigest()[:32]


def token_in_use(token: str | bool | None) -> str:
    """The cache's name for the token a run given `token` would send ("" for none: falsy), see
    cache.reader_tag: what the cache serves depends on it, offline too."""
    return reader_tag(hub_headers(token))


def _carries_token(headers: dict[str, str]) -> bool:
    return "authorization" in {k.lower() for k in headers}


def not_to_read(repo_id: str, path: str, size: Any, gated_to_us: bool) -> UnreadableFile | None:
    """Why a listed text file is not requested at all (a hostile name, listed too large, gated for a
    reader without a token), or None: it is read."""
    if _unsafe_path(path):
        return UnreadableFile(path=path, reason=Unreadable.ERROR, detail="unsafe file name; not fetched")
    if isinstance(size, int) and size > MAX_TEXT_FILE_BYTES:
        return _too_large(path, size)
    if gated_to_us:
        return UnreadableFile(path=path, reason=Unreadable.GATED,
                              detail=f"{repo_id}: {path} is gated; pass a token with access (HF_TOKEN or --token)")
    return None


def blob_key(sib: dict[str, Any]) -> str | None:
    """A sibling's content id as a resolve answers it in its ETag: the LFS sha256 for an LFS file
    (`X-Linked-Etag`), else the git blob sha1 (`blobId`, listed with `blobs=true` only)."""
    lfs = sib.get("lfs")
    key = lfs.get("sha256") if isinstance(lfs, dict) else sib.get("blobId")
    return key if isinstance(key, str) and key else None


def _git_blob_sha1(data: bytes) -> str:
    return sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _unsafe_path(path: str) -> bool:
    parts = path.split("/")
    return path.startswith("/") or "\\" in path or "\x00" in path or any(p in ("", ".", "..") for p in parts)


def _too_large(path: str, size: int) -> UnreadableFile:
    # Same wording as the store source, so both sources give equal snapshots.
    return UnreadableFile(path=path, reason=Unreadable.TOO_LARGE, detail=f"{size} bytes (cap {MAX_TEXT_FILE_BYTES})")


def _status(e: HfHubHTTPError) -> int:
    resp = getattr(e, "response", None)
    return int(getattr(resp, "status_code", 0) or 0)


def _rate_limit_wait(e: HfHubHTTPError) -> float | None:
    """Seconds to wait before retrying a 429: the RateLimit reset when exhausted, else Retry-After."""
    resp = getattr(e, "response", None)
    if resp is None:
        return None
    info = parse_ratelimit_headers(resp.headers)
    if info is not None and info.remaining == 0:
        return float(info.reset_in_seconds)
    retry_after = resp.headers.get("Retry-After")
    if retry_after and retry_after.strip().isdigit():
        return float(retry_after.strip())
    return None
