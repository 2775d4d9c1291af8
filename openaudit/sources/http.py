"""One bounded HTTP GET for the Hub sources: size, time, redirects and the token's origin (issue 26).

Every request the Hub sources make goes through :func:`get`. Against a hostile server (``HF_ENDPOINT``
may name a mirror, a proxy or a corporate cache) it guarantees:

* **Size** — the body is decoded here, chunk by chunk, from the raw bytes (``gzip``/``deflate`` with a
  bounded output per step), and counted as it is decoded: a response whose decoded size passes
  `max_bytes` ends in :class:`TooLarge` having held at most `max_bytes` plus one chunk. A gzip bomb
  (1 GiB of whitespace in 1 MB) or an endless chunked body costs what the cap allows, no more. A
  ``Content-Length`` over the cap is refused before any byte of the body is read.
* **Time** — one deadline per request, connect + headers + body (`deadline` seconds, at most the run's
  deadline, :func:`run_deadline`): every socket read and write waits at most what is left of it, so a
  server that drips a byte a second (headers or body) is cut at the deadline, not at the per-read
  timeout it never trips. Over: :class:`DeadlineExceeded`.
* **Redirects** — followed here, at most MAX_REDIRECTS, a URL met twice is a loop
  (:class:`RedirectRefused`). The token (``Authorization``) goes only to the configured endpoint's
  origin (scheme, host, port): a redirect elsewhere is followed without it when `cross_origin` allows
  (a file the Hub serves from its CDN), and refused otherwise (API JSON, listing pages).

The client is our own ``httpx2.Client`` (huggingface_hub's transport library) with the library's
request hook (its offline mode and request ids), so huggingface_hub's typed errors still come from
``hf_raise_for_status`` on the answer, which is returned as a read ``httpx2.Response``.
"""

from __future__ import annotations

import threading
import time
import zlib
from typing import Any
from urllib.parse import urlsplit

import httpcore2
import httpx2
from huggingface_hub.utils._http import hf_request_event_hook

from openaudit.sources.clock import deadline as run_deadline_at
from openaudit.sources.clock import run_deadline, run_time_left

__all__ = ["DeadlineExceeded", "RedirectRefused", "TooLarge", "get", "origin", "run_deadline", "run_time_left"]

MAX_REDIRECTS = 5
REQUEST_DEADLINE = 120.0  # seconds for one request, connect + headers + body (the largest text file is 2 MiB)
ERROR_BODY_BYTES = 64 * 1024  # what an error answer's body is read of (its message)
_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

_local = threading.local()  # the deadline (time.monotonic()) of the request this thread is making


class BoundedFetchError(Exception):
    """A request stopped by one of the bounds; the message says which, and never holds the token."""


class TooLarge(BoundedFetchError):
    def __init__(self, size: int, cap: int, declared: bool = False):
        self.size, self.cap = size, cap
        super().__init__(f"answer too large: declares {size} bytes (cap {cap})" if declared
                         else f"answer too large: over the cap of {cap} bytes decoded")


class DeadlineExceeded(BoundedFetchError):
    pass


class RedirectRefused(BoundedFetchError):
    pass


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


# ---- the socket-level deadline ------------------------------------------------------------------
def _left(timeout: float | None) -> float | None:
    until = getattr(_local, "until", None)
    if until is None:
        return timeout
    left = until - time.monotonic()
    if left <= 0:
        raise TimeoutError("request deadline reached")
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            return self._inner.read(max_bytes, _left(timeout))
        except TimeoutError as e:
            raise httpcore2.ReadTimeout(str(e)) from None

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            self._inner.write(buffer, _left(timeout))
        except TimeoutError as e:
            raise httpcore2.WriteTimeout(str(e)) from None

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore2.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _left(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore2.NetworkBackend):
    """The default backend, each socket operation waiting at most what is left of the request's deadline."""

    def __init__(self, inner: httpcore2.NetworkBackend):
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Any = None) -> httpcore2.NetworkStream:
        try:
            return _Stream(self._inner.connect_tcp(host, port, _left(timeout), local_address, socket_options))
        except TimeoutError as e:
            raise httpcore2.ConnectTimeout(str(e)) from None

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Any = None) -> httpcore2.NetworkStream:  # pragma: no cover
        return _Stream(self._inner.connect_unix_socket(path, _left(timeout), socket_options))

    def sleep(self, seconds: float) -> None:  # pragma: no cover
        self._inner.sleep(seconds)


_client: httpx2.Client | None = None
_client_lock = threading.Lock()


def client() -> httpx2.Client:
    """The shared client: redirects not followed by it (see `get`), the deadline applied per socket call."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                c = httpx2.Client(follow_redirects=False, timeout=None,
                                  event_hooks={"request": [hf_request_event_hook]})
                # Every transport (the direct one, and those of the proxies the environment names).
                for transport in [c._transport, *c._mounts.values()]:
                    pool = getattr(transport, "_pool", None)
                    if pool is None:
                        continue
                    if not hasattr(pool, "_network_backend"):  # pragma: no cover - a changed httpcore2
                        raise RuntimeError("httpcore2 changed: the request deadline cannot be applied")
                    pool._network_backend = _Backend(pool._network_backend)
                _client = c
    return _client


# ---- the GET ---------------------------------------------------------------------------------------
def get(url: str, *, headers: dict[str, str], timeout: float, max_bytes: int, home: str,
        params: Any = None, cross_origin: bool = False, deadline: float = REQUEST_DEADLINE) -> httpx2.Response:
    """GET `url` within the bounds (module docstring); the answer, read, as an ``httpx2.Response``
    (for an error status, its first ERROR_BODY_BYTES). `home` is the configured endpoint: only its
    origin receives `headers`' Authorization. Raises TooLarge, DeadlineExceeded, RedirectRefused, or
    httpx2's transport errors."""
    start = time.monotonic()
    until = min(start + deadline, run_deadline_at())
    if until <= start:
        raise DeadlineExceeded("the run's deadline (--timeout) has passed; not requested")
    ours = origin(home)
    seen: set[str] = set()
    sent = dict(headers)
    sent["Accept-Encoding"] = "gzip, deflate"
    prev = getattr(_local, "until", None)
    _local.until = until
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            req = client().build_request("GET", url, params=params, headers=sent, timeout=timeout)
            params = None
            key = str(req.url)
            if key in seen:
                raise RedirectRefused(f"redirect loop: {_where(key)} was redirected to again")
            seen.add(key)
            try:
                resp = client().send(req, stream=True)
            except (TimeoutError, httpx2.TimeoutException) as e:
                if time.monotonic() >= until - 0.01:
                    raise _deadline_error(until, start) from None
                raise e
            try:
                if resp.status_code in _REDIRECTS and resp.headers.get("Location"):
                    nxt = str(resp.url.join(resp.headers["Location"]))
                    if origin(nxt) != ours:
                        if not cross_origin:
                            raise RedirectRefused(f"redirect to another origin ({_where(nxt)}) refused")
                        sent = {k: v for k, v in sent.items() if k.lower() not in ("authorization", "cookie")}
                    url = nxt
                    continue
                cap = max_bytes if resp.status_code < 400 else ERROR_BODY_BYTES
                try:
                    body = _read(resp, cap, strict=resp.status_code < 400)
                except (TimeoutError, httpx2.TimeoutException) as e:
                    if time.monotonic() >= until - 0.01:
                        raise _deadline_error(until, start) from None
                    raise e
                hdrs = [(k, v) for k, v in resp.headers.multi_items()
                        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
                return httpx2.Response(resp.status_code, headers=hdrs, content=body, request=resp.request)
            finally:
                resp.close()
        raise RedirectRefused(f"more than {MAX_REDIRECTS} redirects")
    finally:
        _local.until = prev


def _deadline_error(until: float, start: float) -> DeadlineExceeded:
    if until >= run_deadline_at() - 0.01:
        return DeadlineExceeded("the run's deadline (--timeout) passed during the request")
    return DeadlineExceeded(f"no complete answer within the request deadline of {until - start:.0f} s")


def _where(url: str) -> str:
    """A URL for a message: its origin and path, no query (a signed URL's query is a credential)."""
    p = urlsplit(url)
    return f"{p.scheme}://{p.hostname or ''}{':' + str(p.port) if p.port else ''}{p.path}"[:200]


def _read(resp: httpx2.Response, cap: int, *, strict: bool) -> bytes:
    """The decoded body, at most `cap` bytes: over it, TooLarge (`strict`) or the first `cap` bytes."""
    length = resp.headers.get("Content-Length", "")
    encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
    if strict and length.isdigit() and encoding in ("", "identity") and int(length) > cap:
        raise TooLarge(int(length), cap, declared=True)
    if encoding in ("", "identity"):
        dec = None
    elif encoding in ("gzip", "x-gzip"):
        dec = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        dec = zlib.decompressobj(zlib.MAX_WBITS | 32)
    else:
        raise httpx2.DecodingError(f"unsupported content encoding '{encoding[:40]}'")
    out = bytearray()
    try:
        for raw in resp.iter_raw(_CHUNK):
            if dec is None:
                out += raw
            else:
                data = dec.decompress(raw, cap + 1 - len(out))
                out += data
                while dec.unconsumed_tail and len(out) <= cap:
                    out += dec.decompress(dec.unconsumed_tail, cap + 1 - len(out))
            if len(out) > cap:
                if strict:
                    raise TooLarge(len(out), cap)
                return bytes(out[:cap])
    except zlib.error as e:
        raise httpx2.DecodingError(f"bad {encoding} body ({e})") from None
    return bytes(out)
