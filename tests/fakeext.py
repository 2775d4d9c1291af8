"""A fake of the hosts outside the Hub that openaudit reads (sources/external.py): one small HTTP server
on 127.0.0.1 speaking the parts of three contracts the client uses, so that the real client code is
tested as tests/fakehub.py tests the Hub source.

- GitHub REST API: ``/repos/O/R`` (404 for an unknown repo, 451 for a blocked one, 301 to
  ``/repositories/N`` for a renamed one, 302 to another host for a hostile one), ``/repositories/N``,
  ``/repos/O/R/commits/BRANCH`` (409 for an empty repository), ``/repos/O/R/git/trees/SHA?recursive=1``,
  ``/repos/O/R/contents/PATH?ref=SHA`` (raw). ``rate_limited=True``: every GitHub answer is 403 with
  ``x-ratelimit-remaining: 0`` and a reset time, as GitHub answers an anonymous client past its hour.
  ``quota=N``: the window of N requests, counted down in ``x-ratelimit-remaining`` on every answer.
- arXiv OAI-PMH: ``/oai2?verb=GetRecord&metadataPrefix=arXiv&identifier=oai:arXiv.org:ID`` (an
  ``idDoesNotExist`` error for an unknown id, with status 200, as arXiv does).
- Zenodo: ``/api/records/N`` (404 unknown, 410 deleted).

The fixtures (FIXTURES) are the issue-25 records of the snapshot store (tests/store_build/
external_records.py: quill-train, bright-lm, vintage, vintage-data, three papers, a Zenodo record), so
what this fake serves is what the store holds, plus host contracts only a fake plays (a renamed, a
blocked and a redirecting repository, a GitLab project over three pages, a deleted Zenodo record).
Every request is logged with whether it carried an
Authorization header. The server stops after `max_requests` requests or when
`stop()` is called, whichever comes first.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

APACHE_HEAD = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION

   1. Definitions.

      "License" shall mean the terms and conditions for use, reproduction,
      and distribution as defined by Sections 1 through 9 of this document.
"""

_PY = "import torch\n\n\ndef main() -> None:\n    ...\n\n\nif __name__ == '__main__':\n    main()\n"


def _repo(full: str, files: dict[str, str], *, license: str | None = None, archived: bool = False,
          rid: int = 1, description: str = "") -> dict[str, Any]:
    return {"full_name": full, "id": rid, "files": files, "archived": archived, "license": license,
            "description": description, "default_branch": "main"}


FIXTURES: dict[str, Any] = {
    "github": {
        # The issue-25 fixture repositories (quill-train, bright-lm, vintage, vintage-data) are the store's:
        # external_records.FIXTURES, added below. What follows are host contracts only this fake plays.
        # Renamed: /repos/oldcorp/vintage-tools answers 301 to /repositories/304.
        "oldcorp/vintage-toolkit": _repo("oldcorp/vintage-toolkit", {
            "README.md": "# vintage-toolkit\n\nConversion tools.\n",
            "convert.py": _PY,
        }, rid=304),
    },
    "renamed": {"oldcorp/vintage-tools": 304},
    # GitLab: a project whose tree takes three pages of 100; the training script is on the last one.
    "gitlab": {
        "lumen/lumen-train": _repo("lumen/lumen-train", {
            "README.md": "# lumen-train\n\nPre-training and fine-tuning of the Lumen models.\n",
            "LICENSE": APACHE_HEAD,
            **{f"docs/page_{i:03d}.md": "A page of documentation.\n" for i in range(230)},
            "zz_recipes/pretrain_lumen.py": _PY,
        }, license="apache-2.0", rid=401),
    },
    "blocked": {"quillai/quill-legal": 451},
    "offhost": {"quillai/quill-mirror": "http://example.invalid/steal"},
    # The papers and the Zenodo record are the store's (external_records.FIXTURES, added below).
    "arxiv": {},
    "zenodo": {},
    "zenodo_deleted": ["7000001"],
}


def _shared_fixtures() -> Any:
    """tests/store_build/external_records.py: the issue-25 fixture records the store holds, served here too."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parent / "store_build" / "external_records.py"
    spec = importlib.util.spec_from_file_location("openaudit_fixture_external_records", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_SHARED = _shared_fixtures()
_sha = _SHARED.fixture_sha  # one commit per fixture repository, here and in the store


def _add_shared(fixtures: dict[str, Any]) -> dict[str, Any]:
    """The store's fixture records (external_records.FIXTURES) in this server's own tables."""
    for rec in _SHARED.FIXTURES:
        if rec["host"] == "github":
            lic = rec["repo"]["license"]
            fixtures["github"][rec["id"]] = _repo(rec["id"], rec["contents"], license=lic["spdx_id"] if lic else None,
                                                  archived=rec["archived"], rid=rec["number"],
                                                  description=rec["repo"]["description"])
        elif rec["host"] == "arxiv":
            info = rec["info"]
            fixtures["arxiv"][rec["id"]] = {"title": info["title"], "abstract": info["abstract"],
                                            "authors": [tuple(a.rsplit(" ", 1)) for a in info["authors"]],
                                            "license": info["license"], "created": info["created"],
                                            "journal_ref": info["journal_ref"], "doi": info["doi"]}
        elif rec["host"] == "zenodo":
            fixtures["zenodo"][rec["id"]] = rec["api"]
    return fixtures


FIXTURES = _add_shared(FIXTURES)


class FakeExt:
    """The server. `url` is its base; `log` the requests ({path, auth}); `bases()` the env settings."""

    def __init__(self, fixtures: dict[str, Any] | None = None, *, rate_limited: bool = False,
                 secondary_limit: bool = False,
                 huge_file: int = 0, max_requests: int = 2000, quota: int | None = None):
        self.fixtures = fixtures or FIXTURES
        self.rate_limited = rate_limited
        self.secondary_limit = secondary_limit  # 403 "secondary rate limit" with retry-after, no x-ratelimit
        # GitHub's hourly window, as an anonymous client sees it: each answer says how many requests are
        # left (x-ratelimit-remaining); past `quota` every answer is 403 with remaining 0.
        self.quota = quota
        self.github_used = 0
        self.huge_file = huge_file  # serve README.md of every repo as this many bytes (a hostile host)
        self.max_requests = max_requests
        self.log: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                with fake._lock:
                    fake.log.append({"path": self.path, "auth": "Authorization" in self.headers,
                                     "authorization": self.headers.get("Authorization")})
                    over = len(fake.log) > fake.max_requests
                if over:
                    self._send(503, b"too many requests to the fake")
                    threading.Thread(target=fake.stop, daemon=True).start()
                    return
                fake._route(self)

            window: Mapping[str, str] = MappingProxyType({})  # rate-limit headers of every GitHub answer (quota)

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None,
                      length: bool = True) -> None:
                self.send_response(status)
                for k, v in {**self.window, **(headers or {})}.items():
                    self.send_header(k, v)
                if length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.Handler = Handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                        daemon=True)
        self._thread.start()

    def bases(self) -> dict[str, str]:
        return {"github": self.url, "gitlab": self.url, "arxiv": self.url, "zenodo": self.url}

    def env(self) -> dict[str, str]:
        return {"OPENAUDIT_EXTERNAL": "on", "OPENAUDIT_GITHUB_API": self.url, "OPENAUDIT_GITLAB_API": self.url,
                "OPENAUDIT_ARXIV_API": self.url,
                "OPENAUDIT_ZENODO_API": self.url}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- routes --------------------------------------------------------------------------------

    def _route(self, h: Any) -> None:
        parts = urlsplit(h.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query)
        if path == "/oai2":
            return self._arxiv(h, query)
        if path.startswith("/api/records/"):
            return self._zenodo(h, path.rsplit("/", 1)[-1])
        if path.startswith("/api/v4/projects/"):
            return self._gitlab(h, parts.path, query)
        if path.startswith(("/repos/", "/repositories/")):
            if self.rate_limited:
                body = json.dumps({"message": "API rate limit exceeded for 127.0.0.1."}).encode()
                return h._send(403, body, {"x-ratelimit-remaining": "0", "x-ratelimit-limit": "60",
                                           "x-ratelimit-reset": str(int(time.time()) + 1800)})
            if self.quota is not None:
                with self._lock:
                    self.github_used += 1
                    left = self.quota - self.github_used
                window = {"x-ratelimit-limit": str(self.quota), "x-ratelimit-remaining": str(max(0, left)),
                          "x-ratelimit-reset": str(int(time.time()) + 3000)}
                if left < 0:
                    body = json.dumps({"message": "API rate limit exceeded for 127.0.0.1."}).encode()
                    return h._send(403, body, window)
                h.window = window
            if self.secondary_limit:
                body = json.dumps({"message": "You have exceeded a secondary rate limit. Please wait."}).encode()
                return h._send(403, body, {"retry-after": "60"})
            return self._github(h, path)
        h._send(404, b'{"message": "Not Found"}')

    def _github(self, h: Any, path: str) -> None:
        fx = self.fixtures
        segs = path.strip("/").split("/")
        if segs[0] == "repositories":
            by_id = {r["id"]: r for r in fx["github"].values()}
            repo = by_id.get(int(segs[1])) if segs[1].isdigit() else None
            rest = segs[2:]
        else:
            if len(segs) < 3:
                return h._send(404, b'{"message": "Not Found"}')
            full = f"{segs[1]}/{segs[2]}".lower()
            rest = segs[3:]
            if full in fx.get("renamed", {}):
                target = f"{self.url}/repositories/{fx['renamed'][full]}" + ("/" + "/".join(rest) if rest else "")
                return h._send(301, b'{"message": "Moved Permanently"}', {"Location": target})
            if full in fx.get("blocked", {}):
                return h._send(451, b'{"message": "Repository access blocked"}')
            if full in fx.get("offhost", {}):
                return h._send(302, b"", {"Location": fx["offhost"][full]})
            repo = {k.lower(): v for k, v in fx["github"].items()}.get(full)
        if repo is None:
            return h._send(404, b'{"message": "Not Found"}')
        files: dict[str, str] = repo["files"]
        sha = _sha(repo["full_name"], files)
        if not rest:
            lic = repo["license"]
            body = {"id": repo["id"], "full_name": repo["full_name"], "html_url": f"https://github.com/{repo['full_name']}",
                    "description": repo["description"], "default_branch": repo["default_branch"],
                    "archived": repo["archived"], "disabled": False, "fork": False, "size": 0 if not files else 42,
                    "visibility": "public", "pushed_at": "2024-05-01T10:00:00Z",
                    "license": ({"key": lic.lower(), "name": lic, "spdx_id": lic} if lic else None)}
            return h._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
        if rest[0] == "commits":
            if not files:
                return h._send(409, b'{"message": "Git Repository is empty."}')
            return h._send(200, json.dumps({"sha": sha}).encode())
        if rest[:2] == ["git", "trees"]:
            # Every folder, as GitHub's recursive tree lists them (".github" and ".github/workflows").
            dirs = sorted({"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)})
            tree = [{"path": d, "type": "tree", "sha": "0" * 40} for d in dirs]
            tree += [{"path": p, "type": "blob", "size": len(t.encode()), "sha": "1" * 40} for p, t in files.items()]
            return h._send(200, json.dumps({"sha": sha, "tree": tree, "truncated": False}).encode())
        if rest[0] == "contents":
            name = "/".join(rest[1:])
            if name not in files:
                return h._send(404, b'{"message": "Not Found"}')
            if self.huge_file and name.lower().startswith("readme"):
                return self._stream(h, self.huge_file)
            return h._send(200, files[name].encode(), {"Content-Type": "application/vnd.github.raw"})
        h._send(404, b'{"message": "Not Found"}')

    def _gitlab(self, h: Any, raw_path: str, query: dict[str, list[str]]) -> None:
        # The project is one URL-encoded path segment (lumen%2Flumen-train), as GitLab's API takes it.
        segs = raw_path.removeprefix("/api/v4/projects/").split("/")
        full = unquote(segs[0]).lower()
        rest = [unquote(x) for x in segs[1:]]
        repo = {k.lower(): v for k, v in self.fixtures.get("gitlab", {}).items()}.get(full)
        if repo is None:
            return h._send(404, b'{"message": "404 Project Not Found"}')
        files: dict[str, str] = repo["files"]
        sha = _sha(repo["full_name"], files)
        if not rest:
            lic = repo["license"]
            body = {"id": repo["id"], "path_with_namespace": repo["full_name"], "default_branch": "main",
                    "archived": repo["archived"], "empty_repo": not files, "description": repo["description"],
                    "license": {"key": lic, "name": lic} if lic else None}
            return h._send(200, json.dumps(body).encode())
        if rest[:2] == ["repository", "commits"]:
            return h._send(200, json.dumps({"id": sha}).encode())
        if rest == ["repository", "tree"]:
            per = int((query.get("per_page") or ["20"])[0])
            page = int((query.get("page") or ["1"])[0])
            dirs = sorted({p.rsplit("/", 1)[0] for p in files if "/" in p})
            rows = [{"path": d, "type": "tree"} for d in dirs] + [{"path": p, "type": "blob"} for p in sorted(files)]
            chunk = rows[(page - 1) * per: page * per]
            more = page * per < len(rows)
            return h._send(200, json.dumps(chunk).encode(), {"x-next-page": str(page + 1) if more else "",
                                                             "x-total-pages": str(-(-len(rows) // per))})
        if rest[:2] == ["repository", "files"] and rest[-1] == "raw":
            name = "/".join(rest[2:-1])
            if name not in files:
                return h._send(404, b'{"message": "404 File Not Found"}')
            return h._send(200, files[name].encode())
        h._send(404, b'{"message": "404 Not Found"}')

    def _stream(self, h: Any, size: int) -> None:
        """A body of `size` bytes with no Content-Length (read until the connection closes)."""
        h.send_response(200)
        h.end_headers()
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < size:
                h.wfile.write(chunk)
                sent += len(chunk)
        except OSError:  # the client stopped reading: what a capped client does
            pass

    def _arxiv(self, h: Any, query: dict[str, list[str]]) -> None:
        ident = (query.get("identifier") or [""])[0].removeprefix("oai:arXiv.org:")
        paper = self.fixtures["arxiv"].get(ident)
        head = ('<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
                "<responseDate>2026-01-01T00:00:00Z</responseDate>")
        if paper is None:
            body = head + '<error code="idDoesNotExist">No such identifier</error></OAI-PMH>'
            return h._send(200, body.encode(), {"Content-Type": "text/xml"})
        authors = "".join(f"<author><keyname>{escape(k)}</keyname><forenames>{escape(f)}</forenames></author>"
                          for f, k in paper["authors"])
        lic = f"<license>{escape(paper['license'])}</license>" if paper["license"] else ""
        for tag, key in (("journal-ref", "journal_ref"), ("doi", "doi")):
            if paper.get(key):
                lic += f"<{tag}>{escape(paper[key])}</{tag}>"
        body = (head + "<GetRecord><record><header><identifier>oai:arXiv.org:" + ident + "</identifier></header>"
                '<metadata><arXiv xmlns="http://arxiv.org/OAI/arXiv/">'
                f"<id>{ident}</id><created>{paper.get('created', '2024-06-01')}</created><authors>{authors}</authors>"
                f"<title>{escape(paper['title'])}</title>{lic}<abstract>{escape(paper['abstract'])}</abstract>"
                "</arXiv></metadata></record></GetRecord></OAI-PMH>")
        h._send(200, body.encode(), {"Content-Type": "text/xml"})

    def _zenodo(self, h: Any, rid: str) -> None:
        if rid in self.fixtures.get("zenodo_deleted", []):
            return h._send(410, b'{"status": 410, "message": "PID has been deleted."}')
        rec = self.fixtures["zenodo"].get(rid)
        if rec is None:
            return h._send(404, b'{"status": 404, "message": "PID does not exist."}')
        h._send(200, json.dumps({"id": int(rid), **rec}).encode(), {"Content-Type": "application/json"})


@contextmanager
def running(**kw: Any) -> Iterator[FakeExt]:
    fake = FakeExt(**kw)
    try:
        yield fake
    finally:
        fake.stop()
