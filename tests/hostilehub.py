"""A deliberately hostile Hub for the tests of issue 26: 127.0.0.1 only, bounded, stops by itself.

It speaks just enough of the Hub's contract (model_info, resolve, the owner listing) for an audit, and
misbehaves per model name or owner: gzip bombs, endless chunked bodies, a byte every few seconds,
redirect loops, redirects and next pages to another origin, listings that never end, hostile ids and
strings. Every connection is served on its own daemon thread; every loop stops at the server's stop
event, after MAX_SECONDS, or after MAX_BYTES sent, and the server refuses connections after
MAX_REQUESTS: a client that does not stop cannot keep it (or the test) running.

    with HostileHub() as hub:          # hub.url, hub.other.url (another origin), hub.log
        ...
"""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import socketserver
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

SHA = "c" * 40
MAX_REQUESTS = 3000
MAX_SECONDS = 120.0
MAX_BYTES = 2 * 1024**3
TOKEN = "hf_hostileTestTokenNeverToBeSent0000"

CARD = """---
license: apache-2.0
---
# A model

Weights and code are released under Apache 2.0.
"""
LICENSE = "Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/\n"


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def info(repo_id: str, files: dict[str, bytes] | None = None, **extra: Any) -> dict[str, Any]:
    """A plain model_info answer: README, LICENSE and one weights file, pinned to SHA."""
    files = files if files is not None else {"README.md": CARD.encode(), "LICENSE": LICENSE.encode()}
    sibs = [{"rfilename": p, "size": len(b), "blobId": blob_id(b)} for p, b in files.items()]
    sibs.append({"rfilename": "model.safetensors", "size": 5_000_000_000})
    return {"_id": "0" * 24, "id": repo_id, "modelId": repo_id, "sha": SHA, "private": False, "gated": False,
            "disabled": False, "tags": ["safetensors", "license:apache-2.0"], "siblings": sibs,
            "cardData": {"license": "apache-2.0"}, "lastModified": "2024-05-01T00:00:00.000Z",
            "createdAt": "2024-04-01T00:00:00.000Z", **extra}


class Request:
    def __init__(self, method: str, target: str, headers: dict[str, str], server: _Server):
        self.method, self.target, self.headers, self.server = method, target, headers, server
        parts = urlsplit(target)
        self.path = unquote(parts.path)
        self.query = dict(parse_qsl(parts.query))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, route: Callable[[Request, Any], None]):
        self.route = route
        self.stop = threading.Event()
        self.started = time.monotonic()
        self.log: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def over(self) -> bool:
        return self.stop.is_set() or time.monotonic() - self.started > MAX_SECONDS


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        self.connection.settimeout(30)
        while not self.server.over():
            try:
                line = self.rfile.readline(8192).decode("latin-1").strip()
            except OSError:
                return
            if not line:
                return
            headers: dict[str, str] = {}
            while True:
                h = self.rfile.readline(8192).decode("latin-1")
                if h in ("\r\n", "\n", ""):
                    break
                k, _, v = h.partition(":")
                headers[k.strip().lower()] = v.strip()
            method, target = line.split(" ")[:2]
            with self.server.lock:
                self.server.log.append({"path": target, "auth": headers.get("authorization")})
                if len(self.server.log) > MAX_REQUESTS:
                    return
            try:
                self.server.route(Request(method, target, headers, self.server), self)
            except OSError:
                return
            if headers.get("connection", "").lower() == "close":
                return

    # ---- what a route writes ---------------------------------------------------------------------
    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        hdrs = {"Content-Length": str(len(body)), **(headers or {})}
        head = f"HTTP/1.1 {status} X\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
        self.wfile.write(head.encode("latin-1") + body)
        self.wfile.flush()

    def json(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self.send(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    def chunked(self, chunks: Iterator[bytes], headers: dict[str, str] | None = None, delay: float = 0.0) -> None:
        head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items()) + "\r\n"
        self.wfile.write(head.encode())
        sent = 0
        for c in chunks:
            if self.server.over() or sent > MAX_BYTES:
                break
            self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
            self.wfile.flush()
            sent += len(c)
            if delay:
                time.sleep(delay)
        self.connection.shutdown(socket.SHUT_RDWR)

    def drip(self, data: bytes, every: float) -> None:
        """`data` one byte every `every` seconds (until the client goes or the server stops)."""
        for i in range(len(data)):
            if self.server.over():
                return
            self.wfile.write(data[i:i + 1])
            self.wfile.flush()
            time.sleep(every)


def gzip_bomb(size: int = 1024**3) -> bytes:
    """`size` bytes of whitespace, gzip-compressed (~1 MB for 1 GiB)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1024 * 1024)
    out = [comp.compress(b'{"id": "h/gzip-bomb", "x": "')]
    out += [comp.compress(block) for _ in range(size // len(block))]
    out.append(comp.compress(b'"}') + comp.flush())
    return b"".join(out)


class HostileHub:
    """Two servers: the endpoint (`url`) and another origin (`other.url`), which records what it got."""

    def __init__(self, route: Callable[[Request, _Handler, HostileHub], None]):
        self.server = _Server(lambda req, h: route(req, h, self))
        self.other = _Server(lambda req, h: h.json(info("h/other")) if "/api/" in req.path
                             else h.send(200, LICENSE.encode(), {"ETag": f'"{blob_id(LICENSE.encode())}"'}))
        self.threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
                        for s in (self.server, self.other)]

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def log(self) -> list[dict[str, Any]]:
        return list(self.server.log)

    def __enter__(self) -> HostileHub:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for s in (self.server, self.other):
            s.stop.set()
            s.shutdown()
            s.server_close()


def serve_file(req: Request, h: _Handler, files: dict[str, bytes]) -> bool:
    """Answer a resolve request for one of `files` (True), else nothing (False)."""
    parts = req.path.split("/resolve/", 1)
    if len(parts) != 2:
        return False
    name = parts[1].split("/", 1)[1] if "/" in parts[1] else ""
    if name not in files:
        h.send(404, b"{}", {"X-Error-Code": "EntryNotFound"})
        return True
    data = files[name]
    h.send(200, data, {"ETag": f'"{blob_id(data)}"', "X-Repo-Commit": SHA})
    return True


__all__ = ["CARD", "LICENSE", "SHA", "TOKEN", "HostileHub", "Request", "blob_id", "gzip", "gzip_bomb", "info",
           "serve_file"]
