#!/usr/bin/env python3
"""A fake Hugging Face Hub serving a snapshot store over HTTP (stdlib only).

It answers with the Hub's real contract (reference/hub-api.md §6, §7) so that the real
huggingface_hub client can be run against it:

    GET  /api/models/{owner}/{name}[/revision/{rev}]   ?blobs=true  ?expand=a&expand=b  ?securityStatus=true
    GET  /api/datasets/{owner}/{name}[/revision/{rev}]
    GET  /api/models?author=&search=&filter=&gated=&limit=&expand=&full=&cardData=&cursor=
    GET  /api/datasets?...                                  (same, dataset expand values)
    HEAD/GET /{owner}/{name}/resolve/{rev}/{path}      X-Repo-Commit, ETag (blob sha1), Content-Length, Range
    HEAD/GET /datasets/{owner}/{name}/resolve/{rev}/{path}
    GET  /api/agent-harnesses                               404

Store semantics (DESIGN §2): `info.json` is the Hub's JSON (blobs=true); `files/<path>` the bytes at
info.sha; `revisions/<sha>/` the same for an older commit. A text file listed in `siblings` but absent
from `files/` was not readable when the store was recorded: in a repo whose `gated` is not false it
is answered as gated (401 without a token, 403 with one: the recorder had no access), otherwise 404
EntryNotFound. Present files of a gated repo need `Authorization: Bearer <token>` (any token, or one
listed in `--tokens FILE`; other tokens get 403 GatedRepo). API JSON stays public.

Faults are drawn from a generator seeded by (seed, method, path+query, n-th time this request was
seen), so a run is reproducible even when the client sends requests concurrently.

Run:  python tests/fakehub.py --store DIR [--host 127.0.0.1] [--port 0] [--latency-ms N] [--log FILE]
      [--page-size N] [--rate-limit N/SECONDS] [--fail-rate F] [--reset-rate F]
      [--slow-rate F --slow-ms N] [--truncate-rate F] [--fail-path REGEX] [--seed S] [--tokens FILE]
The base URL is printed as the first line of stdout.

In-process:  with serve(store, page_size=2) as url: ...    or    hub = FakeHub(store).start(); hub.url
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import random
import re
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

MODEL_EXPAND = frozenset(
    [
        "author",
        "baseModels",
        "cardData",
        "childrenModelCount",
        "config",
        "createdAt",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "evalResults",
        "gated",
        "gguf",
        "inference",
        "inferenceProviderMapping",
        "lastModified",
        "library_name",
        "likes",
        "mask_token",
        "model-index",
        "pipeline_tag",
        "private",
        "resourceGroup",
        "safetensors",
        "sha",
        "siblings",
        "spaces",
        "tags",
        "transformersInfo",
        "trendingScore",
        "usedStorage",
        "widgetData",
    ]
)
DATASET_EXPAND = frozenset(
    [
        "author",
        "cardData",
        "citation",
        "createdAt",
        "description",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "gated",
        "lastModified",
        "likes",
        "mainSize",
        "paperswithcode_id",
        "private",
        "resourceGroup",
        "sha",
        "siblings",
        "tags",
        "trendingScore",
        "usedStorage",
    ]
)
# Keys of a list item without expand/full (hub-api §4.2): no gated, sha, siblings, lastModified, author.
MODEL_LIST_KEYS = (
    "_id",
    "id",
    "likes",
    "trendingScore",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
    "modelId",
)
DATASET_LIST_KEYS = (
    "_id",
    "id",
    "author",
    "cardData",
    "disabled",
    "gated",
    "lastModified",
    "likes",
    "trendingScore",
    "private",
    "sha",
    "description",
    "downloads",
    "tags",
    "createdAt",
)
_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
_PART_RE = re.compile(rf"^{_PART}$")
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_DISABLED_MSG = "Access to this resource is disabled."


@dataclass
class Options:
    latency_ms: float = 0.0
    page_size: int = 1000
    rate_limit: tuple[int, float] | None = None  # (quota, window seconds) per bucket
    fail_rate: float = 0.0
    reset_rate: float = 0.0
    slow_rate: float = 0.0
    slow_ms: float = 15000.0
    truncate_rate: float = 0.0
    fail_path: str | None = None  # a regex: requests whose path matches it are answered 503, every time
    seed: int = 0
    tokens: frozenset[str] | None = None
    log: str | None = None


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    seen: dict[str, int] = field(default_factory=dict)
    windows: dict[str, tuple[float, int]] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def parse_rate_limit(text: str) -> tuple[int, float]:
    n, _, w = text.partition("/")
    quota, window = int(n), float(w or 300)
    if quota < 0 or window <= 0:
        raise ValueError(text)
    return quota, window


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], store: Path, opts: Options):
        self.store = store.resolve()
        self.opts = opts
        self.state = _State()
        self._log_fh = open(opts.log, "a", encoding="utf-8") if opts.log else None  # noqa: SIM115
        super().__init__(addr, _Handler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):  # the client went away: not the fake's bug
            return
        super().handle_error(request, client_address)

    def record(self, entry: dict[str, Any]) -> None:
        with self.state.lock:
            self.state.log.append(entry)
            if self._log_fh:
                self._log_fh.write(json.dumps(entry) + "\n")
                self._log_fh.flush()

    def server_close(self) -> None:
        super().server_close()
        if self._log_fh:
            self._log_fh.close()
            self._log_fh = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "fakehub/1"

    # ---- plumbing -------------------------------------------------------------------------
    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle + delayed ACK add ~40 ms a request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()

    def _dispatch(self) -> None:
        srv = self.server
        opts = srv.opts
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        split = urlsplit(self.path)
        raw_path, query = split.path, split.query
        bucket = "resolvers" if "/resolve/" in raw_path else ("api" if raw_path.startswith("/api/") else "pages")
        self._entry: dict[str, Any] = {
            "method": self.command,
            "path": raw_path,
            "query": query,
            "status": 0,
            "bucket": bucket,
            "t": round(time.time(), 6),
        }
        self._status = 0
        self._aborted = False
        self._logged = False
        try:
            if opts.latency_ms > 0:
                time.sleep(opts.latency_ms / 1000)
            limit_headers = self._rate_limit(bucket)
            fault = self._draw_fault(raw_path, query)
            if fault:
                self._entry["fault"] = fault
            if fault == "slow":
                time.sleep(opts.slow_ms / 1000)
            if fault == "fail503":
                raise HubError(503, "Service Unavailable - the repository's backend is not answering.")
            if fault == "fail":
                code = random.Random(f"{opts.seed}:{raw_path}:{query}:code").choice((500, 502, 503))
                raise HubError(code, "Internal Error - We're working hard to fix this as soon as possible!")
            status, headers, body = self._route(raw_path, query)
            headers.update(limit_headers)
            self._send(status, headers, body, fault)
        except HubError as e:
            headers = {"Content-Type": "application/json; charset=utf-8", **e.headers}
            if e.code:
                headers["X-Error-Code"] = e.code
            if e.status == 403 and e.message == _DISABLED_MSG:
                headers["X-Error-Message"] = _DISABLED_MSG
            self._send(e.status, headers, json.dumps({"error": e.message}).encode())
        except Exception as e:  # a bug in the fake: answer 500 rather than hang the client
            self._send(500, {"Content-Type": "application/json"}, json.dumps({"error": f"fakehub: {e!r}"}).encode())
        finally:
            self._record()

    def _record(self) -> None:
        if not self._logged:
            self._logged = True
            self._entry["status"] = self._status
            self.server.record(self._entry)

    def _send(self, status: int, headers: dict[str, str], body: bytes, fault: str | None = None) -> None:
        self._status = status
        self._record()  # before the response goes out: a client that got it can read its log line
        head = self.command == "HEAD"
        if fault == "reset" and head:
            self._abort(rst=True)  # nothing to cut short in a HEAD: drop the connection before the headers
            return
        self.send_response(status)
        headers.setdefault("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if fault == "reset":
            self.wfile.write(body[: len(body) // 2])
            self._abort(rst=True)
            return
        if fault == "truncate" and not head and body:
            self.wfile.write(body[: len(body) // 2])
            self._abort(rst=False)
            return
        if not head:
            self.wfile.write(body)

    def _abort(self, rst: bool) -> None:
        self.close_connection = True
        self._aborted = True
        sock = self.connection
        with contextlib.suppress(OSError):
            self.wfile.flush()
            if rst:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                sock.shutdown(socket.SHUT_WR)
        with contextlib.suppress(OSError):
            sock.close()

    # ---- rate limit and faults --------------------------------------------------------------
    def _rate_limit(self, bucket: str) -> dict[str, str]:
        rl = self.server.opts.rate_limit
        if rl is None or bucket == "pages":
            return {}
        quota, window = rl
        st = self.server.state
        now = time.monotonic()
        with st.lock:
            start, count = st.windows.get(bucket, (now, 0))
            if now - start >= window:
                start, count = now, 0
            count += 1
            st.windows[bucket] = (start, count)
        reset = max(1, math.ceil(start + window - now))
        remaining = max(0, quota - count)
        headers = {
            "RateLimit": f'"{bucket}";r={remaining};t={reset}',
            "RateLimit-Policy": f'"fixed window";"{bucket}";q={quota};w={int(window)}',
        }
        if count > quota:
            headers["RateLimit"] = f'"{bucket}";r=0;t={reset}'
            headers["Retry-After"] = str(reset)
            raise HubError(429, f"You have exceeded the rate limit for the '{bucket}' bucket.", headers=headers)
        return headers

    def _draw_fault(self, path: str, query: str) -> str | None:
        o = self.server.opts
        if path == "/api/agent-harnesses":
            return None
        if o.fail_path and re.search(o.fail_path, path):
            return "fail503"
        if not (o.fail_rate or o.reset_rate or o.slow_rate or o.truncate_rate):
            return None
        key = f"{self.command} {path}?{query}"
        st = self.server.state
        with st.lock:
            n = st.seen.get(key, 0)
            st.seen[key] = n + 1
        x = random.Random(f"{o.seed}:{key}:{n}").random()
        for name, rate in (
            ("fail", o.fail_rate),
            ("reset", o.reset_rate),
            ("truncate", o.truncate_rate),
            ("slow", o.slow_rate),
        ):
            if x < rate:
                return name
            x -= rate
        return None

    # ---- routing ----------------------------------------------------------------------------
    def _route(self, raw_path: str, query: str) -> tuple[int, dict[str, str], bytes]:
        segs = _safe_segments(raw_path)
        params = parse_qsl(query, keep_blank_values=True)
        if self.command not in ("GET", "HEAD"):
            raise HubError(405, f"{self.command} is not supported by the fake hub")
        if segs[:1] == ["api"]:
            if segs == ["api", "agent-harnesses"]:
                raise HubError(404, "Not Found")
            if len(segs) == 2 and segs[1] in ("models", "datasets"):
                return self._list(segs[1][:-1], params, query)
            if len(segs) in (4, 6) and segs[1] in ("models", "datasets"):
                if len(segs) == 6 and segs[4] != "revision":
                    raise HubError(404, "Not Found")
                rev = segs[5] if len(segs) == 6 else None
                return self._info(segs[1][:-1], f"{segs[2]}/{segs[3]}", rev, params)
            raise HubError(404, "Not Found")
        repo_type = "model"
        if segs[:1] == ["datasets"]:
            repo_type, segs = "dataset", segs[1:]
        if len(segs) >= 5 and segs[2] == "resolve":
            return self._resolve(repo_type, f"{segs[0]}/{segs[1]}", segs[3], "/".join(segs[4:]))
        raise HubError(404, "Not Found")

    # ---- store access -----------------------------------------------------------------------
    def _repo_dir(self, repo_type: str, repo_id: str) -> Path:
        owner, _, name = repo_id.partition("/")
        if not (_PART_RE.match(owner) and _PART_RE.match(name)) or ".." in repo_id or "--" in repo_id:
            raise HubError(404, "Repository not found", "RepoNotFound")
        d = self.server.store / f"{repo_type}s" / owner / name
        if not (d / "info.json").is_file() or not d.resolve().is_relative_to(self.server.store):
            raise HubError(404, "Repository not found", "RepoNotFound")
        return d

    def _locate(self, repo_type: str, repo_id: str, rev: str | None) -> tuple[Path, dict[str, Any]]:
        base = self._repo_dir(repo_type, repo_id)
        top = _read_json(base / "info.json")
        if top.get("disabled") is True:
            raise HubError(403, _DISABLED_MSG)
        if rev is None or rev == "main" or rev == top.get("sha"):
            return base, top
        if _SHA_RE.match(rev) and (base / "revisions" / rev / "info.json").is_file():
            return base / "revisions" / rev, _read_json(base / "revisions" / rev / "info.json")
        if re.fullmatch(r"[0-9a-f]{7,39}", rev):  # a commit named by a prefix of its sha, as git takes it
            found = [(base, top)] if str(top.get("sha", "")).startswith(rev) else []
            if (base / "revisions").is_dir():
                found += [(d, _read_json(d / "info.json")) for d in (base / "revisions").iterdir()
                          if d.name.startswith(rev) and (d / "info.json").is_file()]
            if len(found) == 1:
                return found[0]
        raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")

    def _info(self, repo_type: str, repo_id: str, rev: str | None, params: list[tuple[str, str]]):
        allowed = MODEL_EXPAND if repo_type == "model" else DATASET_EXPAND
        expand = _expand(params, allowed)
        _, info = self._locate(repo_type, repo_id, rev)
        blobs = _flag(params, "blobs")
        out = _shape(info, expand, keep_blobs=blobs)
        if _flag(params, "securityStatus") and expand is None:
            out["securityRepoStatus"] = {"scansDone": True, "filesWithIssues": []}
        return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(out).encode()

    def _list(self, repo_type: str, params: list[tuple[str, str]], query: str):
        allowed = MODEL_EXPAND if repo_type == "model" else DATASET_EXPAND
        expand = _expand(params, allowed)
        q = dict(params)
        try:
            cursor = int(q.get("cursor") or 0)
            limit = int(q["limit"]) if q.get("limit") else None
        except ValueError:
            raise HubError(400, "invalid cursor or limit") from None
        if cursor < 0 or (limit is not None and limit <= 0):
            raise HubError(400, "invalid cursor or limit")
        page = min(limit or self.server.opts.page_size, self.server.opts.page_size)  # --page-size is the server's cap
        author, search = q.get("author"), (q.get("search") or "").lower()
        filters = [v for k, v in params if k == "filter"]
        gated = q.get("gated")
        root = self.server.store / f"{repo_type}s"
        items: list[dict[str, Any]] = []
        owners = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        for owner_dir in owners:
            if author and owner_dir.name.lower() != author.lower():
                continue
            for d in sorted(owner_dir.iterdir()):
                info_path = d / "info.json"
                if not info_path.is_file():
                    continue
                info = _read_json(info_path)
                if info.get("id") != f"{owner_dir.name}/{d.name}":
                    continue  # an old-name alias: listed once, under its canonical id
                if search and search not in info["id"].lower():
                    continue
                tags = info.get("tags") or []
                if any(f not in tags for f in filters):
                    continue
                if gated in ("true", "false") and (info.get("gated") not in (False, None)) != (gated == "true"):
                    continue
                items.append(info)
        chunk = items[cursor : cursor + page]
        full = _flag(params, "full")
        out = []
        for info in chunk:
            if expand is not None:
                out.append(_shape(info, expand, keep_blobs=False))
            elif full:
                item = _shape(info, None, keep_blobs=False)
                if not _flag(params, "cardData"):
                    item.pop("cardData", None)
                out.append(item)
            else:
                keys = MODEL_LIST_KEYS if repo_type == "model" else DATASET_LIST_KEYS
                item = {k: info[k] for k in keys if k in info}
                if _flag(params, "cardData") and "cardData" in info:
                    item["cardData"] = info["cardData"]
                out.append(item)
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if cursor + page < len(items):
            kept = [(k, v) for k, v in params if k != "cursor"] + [("cursor", str(cursor + page))]
            headers["Link"] = f'<{self.server.base_url}/api/{repo_type}s?{urlencode(kept)}>; rel="next"'
        return 200, headers, json.dumps(out).encode()

    def _resolve(self, repo_type: str, repo_id: str, rev: str, path: str):
        d, info = self._locate(repo_type, repo_id, rev)
        sha = str(info.get("sha") or "0" * 40)
        gated = info.get("gated") not in (False, None)
        files_dir = d / "files"
        target = files_dir / path
        present = target.is_file() and target.resolve().is_relative_to(files_dir.resolve())
        commit = {"X-Repo-Commit": sha}
        if gated:
            auth = self.headers.get("Authorization", "")
            token = auth[7:].strip() if auth.startswith("Bearer ") else ""
            tokens = self.server.opts.tokens
            if not token:
                raise HubError(
                    401,
                    f"Access to model {repo_id} is restricted. You must have access to it and be "
                    "authenticated to access it. Please log in.",
                    "GatedRepo",
                    commit,
                )
            if (tokens is not None and token not in tokens) or not present:
                raise HubError(
                    403,
                    f"Access to model {repo_id} is restricted and you are not in the authorized list. "
                    f"Visit https://huggingface.co/{repo_id} to ask for access.",
                    "GatedRepo",
                    commit,
                )
        if not present:
            raise HubError(404, "Entry not found", "EntryNotFound", commit)
        data = target.read_bytes()
        headers = {
            **commit,
            "ETag": f'"{git_blob_sha1(data)}"',
            "Accept-Ranges": "bytes",
            "Content-Type": "text/plain; charset=utf-8"
            if path.endswith((".md", ".txt"))
            else "application/octet-stream",
        }
        rng = self.headers.get("Range")
        if rng and self.command == "GET":
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
            if not m or (not m.group(1) and not m.group(2)):
                raise HubError(416, "invalid range", headers=commit)
            total = len(data)
            if m.group(1):
                a = int(m.group(1))
                b = min(int(m.group(2)), total - 1) if m.group(2) else total - 1
            else:
                a, b = max(0, total - int(m.group(2))), total - 1
            if a >= total or a > b:
                raise HubError(416, "range not satisfiable", headers={**commit, "Content-Range": f"bytes */{total}"})
            headers["Content-Range"] = f"bytes {a}-{b}/{total}"
            return 206, headers, data[a : b + 1]
        return 200, headers, data


# ---- helpers ----------------------------------------------------------------------------------
def _safe_segments(raw_path: str) -> list[str]:
    """Split a raw URL path into decoded segments, refusing anything that could leave the store."""
    if "\\" in raw_path or "%5c" in raw_path.lower() or "\x00" in raw_path or "%00" in raw_path:
        raise HubError(400, "invalid path")
    if raw_path.startswith("//"):
        raise HubError(400, "invalid path")
    segs = [unquote(s) for s in raw_path.split("/")[1:]]
    if segs and segs[-1] == "":
        segs = segs[:-1]
    for s in segs:
        if s in ("", ".", "..") or "\\" in s or "\x00" in s or s.startswith("/"):
            raise HubError(400, "invalid path")
        if any(p in (".", "..") for p in s.split("/")):  # an encoded slash hiding a traversal
            raise HubError(400, "invalid path")
    return segs


def _read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise HubError(500, f"bad store entry {path.name}")
    return data


def _flag(params: list[tuple[str, str]], name: str) -> bool:
    return any(k == name and v.lower() in ("1", "true") for k, v in params)


def _expand(params: list[tuple[str, str]], allowed: frozenset[str]) -> list[str] | None:
    values = [v for k, v in params if k in ("expand", "expand[]")]
    if not values:
        return None
    bad = [v for v in values if v not in allowed]
    if bad:
        raise HubError(400, f'"expand" must be one of {sorted(allowed)}; got {bad[0]!r}')
    return values


def _strip_siblings(siblings: Any) -> Any:
    if not isinstance(siblings, list):
        return siblings
    return [{"rfilename": s["rfilename"]} if isinstance(s, dict) and "rfilename" in s else s for s in siblings]


def _shape(info: dict[str, Any], expand: list[str] | None, keep_blobs: bool) -> dict[str, Any]:
    if expand is None:
        out = dict(info)
    else:
        out = {k: info[k] for k in ("_id", "id") if k in info}
        for k in expand:
            if k in info:
                out[k] = info[k]
    if "siblings" in out and not keep_blobs:
        out["siblings"] = _strip_siblings(out["siblings"])
    return out


# ---- public API -------------------------------------------------------------------------------
class FakeHub:
    """An in-process fake Hub: `hub = FakeHub(store, page_size=2).start(); hub.url; hub.stop()`."""

    def __init__(self, store: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 0, **opts: Any):
        if isinstance(opts.get("rate_limit"), str):
            opts["rate_limit"] = parse_rate_limit(opts["rate_limit"])
        if opts.get("tokens") is not None:
            opts["tokens"] = frozenset(opts["tokens"])
        self.opts = Options(**opts)
        self._server = _Server((host, port), Path(store), self.opts)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self._server.base_url

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The request log so far (copies of the JSON lines)."""
        with self._server.state.lock:
            return list(self._server.state.log)

    def clear_log(self) -> None:
        with self._server.state.lock:
            self._server.state.log.clear()

    def start(self) -> FakeHub:
        self._thread = threading.Thread(target=self._server.serve_forever, name="fakehub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def serve(store: str | os.PathLike[str], **opts: Any) -> Iterator[str]:
    """Serve a store in a background thread; yields the base URL."""
    with FakeHub(store, **opts) as hub:
        yield hub.url


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Serve a snapshot store with the Hugging Face Hub's HTTP contract.")
    p.add_argument("--store", required=True, type=Path)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--log", default=None, help="append one JSON line per request to FILE")
    p.add_argument("--page-size", type=int, default=1000)
    p.add_argument("--rate-limit", default=None, help="N/SECONDS per bucket (api, resolvers), fixed window")
    p.add_argument("--fail-rate", type=float, default=0.0, help="fraction of requests answered 5xx")
    p.add_argument("--reset-rate", type=float, default=0.0, help="fraction of connections reset mid-body")
    p.add_argument("--slow-rate", type=float, default=0.0, help="fraction of requests stalled --slow-ms")
    p.add_argument("--slow-ms", type=float, default=15000.0)
    p.add_argument("--truncate-rate", type=float, default=0.0, help="fraction of bodies cut short")
    p.add_argument("--fail-path", default=None, help="REGEX: requests whose path matches are answered 503, always")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tokens", type=Path, default=None, help="file of valid tokens, one a line")
    a = p.parse_args(argv)
    if not a.store.is_dir():
        p.error(f"store {a.store} is not a directory")
    if a.page_size <= 0:
        p.error("--page-size must be positive")
    try:
        rate = parse_rate_limit(a.rate_limit) if a.rate_limit else None
    except ValueError:
        p.error(f"--rate-limit must be N/SECONDS, got {a.rate_limit!r}")
    tokens = None
    if a.tokens:
        tokens = [t.strip() for t in a.tokens.read_text(encoding="utf-8").splitlines() if t.strip()]
    hub = FakeHub(
        a.store,
        host=a.host,
        port=a.port,
        latency_ms=a.latency_ms,
        log=a.log,
        page_size=a.page_size,
        rate_limit=rate,
        fail_rate=a.fail_rate,
        reset_rate=a.reset_rate,
        slow_rate=a.slow_rate,
        slow_ms=a.slow_ms,
        truncate_rate=a.truncate_rate,
        fail_path=a.fail_path,
        seed=a.seed,
        tokens=tokens,
    )
    print(hub.url, flush=True)
    try:
        hub._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        hub._server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
