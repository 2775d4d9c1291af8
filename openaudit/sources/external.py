"""Hosts outside the Hub (issue 25): linked code repositories, papers and data records.

The one module that talks to hosts other than the Hub, through `requests`. Only an allow-list is
fetched — the GitHub API, arXiv's export API (OAI-PMH) and Zenodo's records API; any other link
is recorded as a link by the evidence layer, never fetched. Per request: a connect/read timeout,
the whole record's deadline, a size cap checked while the body streams, no redirect to another
host (a renamed GitHub repository answers 301 to api.github.com/repositories/N, which is
followed), retries of 5xx and network failures, and one unit of the run's shared request budget
(the Hub source's RequestGate, bucket "external").

What is read, per link:

- github.com/OWNER/REPO: ``GET /repos/OWNER/REPO`` (default branch, archived, disabled, the
  host's licence detection), ``GET /repos/OWNER/REPO/commits/BRANCH`` (the commit read),
  ``GET /repos/OWNER/REPO/git/trees/SHA?recursive=1`` (the file tree), and the top-level README
  and LICENSE texts at that commit (``/contents/PATH?ref=SHA``, raw).
- arxiv.org/abs/ID: ``GET /oai2?verb=GetRecord&metadataPrefix=arXiv&identifier=oai:arXiv.org:ID``
  (title, authors, abstract, licence).
- zenodo.org/records/N (or a 10.5281/zenodo.N DOI): ``GET /api/records/N`` (title, licence, files).

A 404/410 and a 451 are answers and are recorded; a rate limit (429, or 403 with
``x-ratelimit-remaining: 0``) is not: it raises RateLimited and the subject is `incomplete`,
never `closed`. ``GITHUB_TOKEN`` is sent to the GitHub API only, never to another host, and is
never logged nor put in a message.

The base URLs are settable for tests only (OPENAUDIT_GITHUB_API, OPENAUDIT_ARXIV_API,
OPENAUDIT_ZENODO_API: tests/fakeext.py). Following is off when OPENAUDIT_EXTERNAL=off (the test
suite sets it); offline only the cache is read (CachedExternal), and when replaying a snapshot store
StoreExternal replays the store's recorded folders instead.

The cache (CACHE/external/<host>/..., the store layout below) keeps a GitHub or GitLab repository read
at its commit, so that a warm run asks only for the repository and its commit. Its entries are sealed
as the snapshot cache's are (issue 27; openaudit.seal: HMAC under this user's key over the host, the
record and the digest of every text file kept), in info.json's `cache.seal`: a cache folder can be
restored from another branch or written by anyone, and an edited tree (a README-only repository made
to list train.py) or a swapped LICENSE would change the code verdict. Online an entry not sealed with
this user's key (another key's, an edit, an earlier openaudit's) is read again from the host
(`refetched`); offline (CachedExternal) it is used but said `unverified`; both are named on stderr
(three, then a summary line), and the record's `cache` field says so, which the subject's `cache`
field takes up. Without a key nothing is sealed and entries are used `unverified`. A snapshot store
written by `openaudit snapshot -o` is not sealed: replaying it with --snapshots is the user's choice.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from openaudit import __version__ as _VERSION
from openaudit import errors
from openaudit import seal as sealing
from openaudit.snapshot import (
    MAX_TEXT_FILE_BYTES,
    SHA_RE,
    ExternalSnapshot,
    TextFile,
    decode_text,
    parse_hub_time,
)

log = logging.getLogger(__name__)

DEFAULT_BASES = {
    "github": "https://api.github.com",
    "gitlab": "https://gitlab.com",
    "arxiv": "https://export.arxiv.org",
    "zenodo": "https://zenodo.org",
}
BASE_ENV = {"github": "OPENAUDIT_GITHUB_API", "gitlab": "OPENAUDIT_GITLAB_API", "arxiv": "OPENAUDIT_ARXIV_API",
            "zenodo": "OPENAUDIT_ZENODO_API"}
MAX_JSON_BYTES = 8 * 1024 * 1024  # a recursive tree of a large repository is a few MB
MAX_TREE_ENTRIES = 20_000
RECORD_DEADLINE_S = 60.0
# A card linking fifty repositories does not cost fifty fetches: the first links of each host, in card order.
MAX_LINKS_PER_HOST = {"github": 6, "gitlab": 4, "arxiv": 6, "zenodo": 4}
CAPPED = "capped:"  # the reason of a link over its host's cap: not checked, and running again would not read it
MAX_GITLAB_TREE_PAGES = 50  # 100 entries a page


def _is_loopback(url: str) -> bool:
    """Whether `url` names this machine (127.0.0.0/8, ::1 or localhost)."""
    import ipaddress

    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

_GITHUB_RE = re.compile(r"^https?://(?:www\.)?github\.com/([A-Za-z0-9][\w.-]{0,99})/([\w.-]{1,100})(?:[/?#]|$)",
                        re.IGNORECASE)
_GITLAB_RE = re.compile(r"^https?://(?:www\.)?gitlab\.com/([A-Za-z0-9][\w.-]{0,99})/([\w.-]{1,100})(?:[/?#]|$)",
                        re.IGNORECASE)
_ARXIV_RE = re.compile(r"^https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/(\d{4}\.\d{4,5})(v\d+)?", re.IGNORECASE)
_ZENODO_RE = re.compile(r"^https?://(?:www\.)?zenodo\.org/(?:records?|api/records)/(\d{1,12})(?:[/?#]|$)",
                        re.IGNORECASE)
_ZENODO_DOI_RE = re.compile(r"^https?://(?:dx\.)?doi\.org/10\.5281/zenodo\.(\d{1,12})(?:[/?#]|$)", re.IGNORECASE)
# GitHub paths that are not repositories.
_GITHUB_NOT_REPO = frozenset({"orgs", "settings", "features", "topics", "sponsors", "marketplace", "about",
                              "collections", "login", "apps", "enterprise", "pricing", "search"})
_README_RE = re.compile(r"^readme(\.(md|markdown|rst|txt))?$", re.IGNORECASE)
_LICENSE_RE = re.compile(r"^(licen[cs]e|copying)([.-][\w.-]*)?$", re.IGNORECASE)


def external_ref(url: str) -> tuple[str, str] | None:
    """(host, id) for a link on an allow-listed host, else None (the link is recorded, not fetched)."""
    url = url.strip()
    if m := _GITHUB_RE.match(url):
        owner, repo = m.group(1), m.group(2).removesuffix(".git")
        if owner.lower() in _GITHUB_NOT_REPO or not repo or repo in (".", ".."):
            return None
        return "github", f"{owner}/{repo}"
    if m := _GITLAB_RE.match(url):
        owner, repo = m.group(1), m.group(2).removesuffix(".git")
        if owner.lower() in ("users", "explore", "help", "dashboard", "-") or repo in ("-", ".", ".."):
            return None
        return "gitlab", f"{owner}/{repo}"
    if m := _ARXIV_RE.match(url):
        return "arxiv", m.group(1)
    if m := _ZENODO_RE.match(url) or _ZENODO_DOI_RE.match(url):
        return "zenodo", m.group(1)
    return None


def linked_refs(urls: Iterable[str]) -> list[tuple[str, str]]:
    """The allow-listed (host, id)s among `urls`, each once (GitHub ids compared case-insensitively), in order."""
    return _refs_and_capped(urls)[0]


def _refs_and_capped(urls: Iterable[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """`linked_refs`, and the distinct links over their host's cap (MAX_LINKS_PER_HOST), in order."""
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    over: list[tuple[str, str]] = []
    per_host: dict[str, int] = {}
    for url in urls:
        ref = external_ref(url)
        if ref is None:
            continue
        key = f"{ref[0]}:{ref[1].lower()}"
        if key in seen:
            continue
        seen.add(key)
        if per_host.get(ref[0], 0) < MAX_LINKS_PER_HOST.get(ref[0], 0):
            per_host[ref[0]] = per_host.get(ref[0], 0) + 1
            out.append(ref)
        else:
            over.append(ref)
    return out, over


class _TooLarge(Exception):
    pass


class ExternalSource:
    """Reads allow-listed hosts live. Thread-safe; one fetch per record per run (`org` shares it)."""

    name = "external"

    def __init__(self, *, token: str | None = None, gate: Any = None, timeout: float = 10.0, retries: int = 2,
                 deadline: float = RECORD_DEADLINE_S, bases: dict[str, str] | None = None,
                 cache_dir: str | os.PathLike[str] | None = None, backoff: float = 0.5):
        import requests  # the one place openaudit uses it

        self._requests = requests
        self._token = token if token else None
        self.gate = gate
        self.timeout = timeout
        self.retries = retries
        self.deadline = deadline
        self.backoff = backoff
        self.bases = dict(DEFAULT_BASES)
        self.bases.update(bases or {})
        self.cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._session = requests.Session()
        # No .netrc credentials nor environment auth: what is sent is what this module sets. Proxies and a
        # CA bundle from the environment are still honoured, per request (see _one).
        self._session.trust_env = False
        self._session.headers["User-Agent"] = f"openaudit/{_VERSION} (+https://github.com/openaudit)"
        self._memo: dict[str, ExternalSnapshot | errors.FetchError] = {}
        self._inflight: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self.sent = 0
        # host -> (monotonic time its rate limit resets, the message): no request is sent to it till then.
        self._limited: dict[str, tuple[float, str]] = {}
        self.rate_limited_hosts: set[str] = set()  # hosts whose window ran out this run (the run's provenance)
        self.notes = CacheNotes(self.cache_dir)  # cache entries not believed (refetched) this run

    @classmethod
    def from_env(cls, *, gate: Any = None, cache_dir: str | os.PathLike[str] | None = None,
                 timeout: float = 10.0) -> ExternalSource | None:
        """The live source, or None when following is off (OPENAUDIT_EXTERNAL=off)."""
        if not external_enabled():
            return None
        bases = {h: os.environ[v] for h, v in BASE_ENV.items() if os.environ.get(v)}
        # GITHUB_TOKEN goes to GitHub's API, or to a fake of it on this machine (the tests' base override);
        # an override to any other host would carry the token there, so it gets none.
        github = bases.get("github", DEFAULT_BASES["github"])
        token = os.environ.get("GITHUB_TOKEN") or None
        if github != DEFAULT_BASES["github"] and not _is_loopback(github):
            token = None
        return cls(token=token, gate=gate, bases=bases, cache_dir=cache_dir, timeout=timeout)

    # -- the source contract -------------------------------------------------------------------

    def get(self, host: str, rid: str) -> ExternalSnapshot:
        """One record, fetched once per run however many subjects link it. Raises FetchError."""
        key = f"{host}:{rid.lower()}"
        while True:
            with self._lock:
                if key in self._memo:
                    got = self._memo[key]
                    if isinstance(got, errors.FetchError):
                        raise got
                    return got
                event = self._inflight.get(key)
                mine = event is None
                if event is None:
                    event = self._inflight[key] = threading.Event()
            if mine:
                break
            event.wait()
        result: ExternalSnapshot | errors.FetchError
        try:
            result = self._fetch(host, rid)
        except errors.FetchError as e:
            result = e
        except Exception as e:  # a host's odd answer must not cost the subject its audit
            result = errors.NetworkError(rid, f"{host}: unexpected answer ({type(e).__name__})")
        except BaseException:  # interrupted: the waiters fetch it themselves
            with self._lock:
                self._inflight.pop(key, None)
            event.set()
            raise
        with self._lock:  # the result is kept before the waiters wake: none of them fetches it again
            self._memo[key] = result
            self._inflight.pop(key, None)
        event.set()
        if isinstance(result, errors.FetchError):
            raise result
        return result

    def follow(self, urls: Iterable[str]) -> tuple[dict[str, ExternalSnapshot], dict[str, str]]:
        return follow_links(self, urls)

    # -- hosts ---------------------------------------------------------------------------------

    def _fetch(self, host: str, rid: str) -> ExternalSnapshot:
        end = time.monotonic() + self.deadline
        if host == "github":
            return self._github(rid, end)
        if host == "gitlab":
            return self._gitlab(rid, end)
        if host == "arxiv":
            return self._arxiv(rid, end)
        if host == "zenodo":
            return self._zenodo(rid, end)
        raise errors.FetchError(rid, f"{host} is not an allow-listed host")

    def _snap(self, host: str, rid: str, **kw: Any) -> ExternalSnapshot:
        return ExternalSnapshot(host=host, id=rid, taken_at=datetime.now(UTC), **kw)

    def _github(self, rid: str, end: float) -> ExternalSnapshot:
        owner, repo = rid.split("/", 1)
        status, body, _ = self._get("github", f"/repos/{quote(owner)}/{quote(repo)}", rid, end)
        if status in (404, 410):
            return self._snap("github", rid, status="not-found", detail=f"GitHub answered {status}")
        if status in (451, 403):
            return self._snap("github", rid, status="unavailable", detail=f"GitHub answered {status} "
                              "(blocked or disabled)")
        meta = _json(body, rid)
        named = meta.get("full_name")
        full: str = named if isinstance(named, str) and re.fullmatch(r"[\w.-]{1,100}/[\w.-]{1,100}", named) else rid
        keep = {k: meta.get(k) for k in ("full_name", "html_url", "description", "default_branch", "archived",
                                         "disabled", "fork", "size", "pushed_at", "created_at", "visibility")}
        lic = meta.get("license")
        keep["license"] = ({k: lic.get(k) for k in ("key", "name", "spdx_id")} if isinstance(lic, dict) else None)
        info: dict[str, Any] = {"repo": keep, "requested": rid}
        got_branch = keep.get("default_branch")
        branch = got_branch if isinstance(got_branch, str) else None
        if not branch:
            info.update(tree=[], truncated=False, empty=True)
            return self._snap("github", full, info=info)
        base = f"/repos/{quote(full.split('/')[0])}/{quote(full.split('/')[1])}"
        status, body, _ = self._get("github", f"{base}/commits/{quote(branch, safe='')}", rid, end)
        if status in (404, 409):  # 409: "Git Repository is empty"
            info.update(tree=[], truncated=False, empty=True)
            return self._snap("github", full, info=info)
        sha = _json(body, rid).get("sha")
        if not isinstance(sha, str) or not SHA_RE.match(sha):
            raise errors.NetworkError(rid, "GitHub: the default branch's commit was not a sha")
        cached = self._cached("github", full, sha)
        if cached is not None:
            return cached.model_copy(update={"info": {**cached.info, "repo": keep, "requested": rid},
                                             "taken_at": datetime.now(UTC)})
        status, body, _ = self._get("github", f"{base}/git/trees/{sha}?recursive=1", rid, end)
        tree_json = _json(body, rid) if status == 200 else {}
        entries = _as_list(tree_json.get("tree"))
        tree = [{"path": e["path"][:500], "type": e.get("type"), "size": e.get("size")}
                for e in entries[:MAX_TREE_ENTRIES] if isinstance(e, dict) and isinstance(e.get("path"), str)]
        info.update(tree=tree, truncated=bool(tree_json.get("truncated")) or len(entries) > MAX_TREE_ENTRIES,
                    empty=not tree)
        files: dict[str, TextFile] = {}
        top = [e for e in tree if e["type"] == "blob" and "/" not in e["path"]]
        wanted = ([e for e in top if _README_RE.match(e["path"])][:1]
                  + [e for e in top if _LICENSE_RE.match(e["path"])][:2])
        for e in wanted:
            if isinstance(e.get("size"), int) and e["size"] > MAX_TEXT_FILE_BYTES:
                continue
            path = e["path"]
            try:
                status, raw, _ = self._get("github", f"{base}/contents/{quote(path)}?ref={sha}", rid, end,
                                           cap=MAX_TEXT_FILE_BYTES, raw=True)
            except _TooLarge:
                continue
            if status == 200:
                text = decode_text(raw)
                if text is not None:
                    files[path] = TextFile(path=path, text=text, size=len(raw))
        snap = self._snap("github", full, revision=sha, info=info, files=files)
        self._keep(snap)
        return self._stamp(snap)

    def _gitlab(self, rid: str, end: float) -> ExternalSnapshot:
        """GitLab's API v4: the project (?license=true), the default branch's commit, the tree (paginated,
        x-next-page), the top-level README and LICENSE at that commit."""
        enc = quote(rid, safe="")
        status, body, _ = self._get("gitlab", f"/api/v4/projects/{enc}?license=true", rid, end)
        if status in (404, 410):
            return self._snap("gitlab", rid, status="not-found", detail=f"GitLab answered {status}")
        if status in (451, 403):
            return self._snap("gitlab", rid, status="unavailable", detail=f"GitLab answered {status}")
        meta = _json(body, rid)
        named = meta.get("path_with_namespace")
        full: str = named if isinstance(named, str) and re.fullmatch(r"[\w.-]{1,100}/[\w.-]{1,100}", named) else rid
        lic = _as_dict(meta.get("license"))
        keep = {"full_name": full, "description": str(meta.get("description") or "")[:500],
                "default_branch": meta.get("default_branch"), "archived": bool(meta.get("archived")),
                "disabled": False, "license": ({"key": lic.get("key"), "name": lic.get("name"), "spdx_id": None}
                                               if lic else None)}
        info: dict[str, Any] = {"repo": keep, "requested": rid}
        branch = keep["default_branch"] if isinstance(keep["default_branch"], str) else None
        if not branch or meta.get("empty_repo"):
            info.update(tree=[], truncated=False, empty=True)
            return self._snap("gitlab", full, info=info)
        enc = quote(full, safe="")
        status, body, _ = self._get("gitlab", f"/api/v4/projects/{enc}/repository/commits/{quote(branch, safe='')}",
                                    rid, end)
        if status in (404, 409):
            info.update(tree=[], truncated=False, empty=True)
            return self._snap("gitlab", full, info=info)
        sha = _json(body, rid).get("id")
        if not isinstance(sha, str) or not SHA_RE.match(sha):
            raise errors.NetworkError(rid, "GitLab: the default branch's commit was not a sha")
        cached = self._cached("gitlab", full, sha)
        if cached is not None:
            return cached.model_copy(update={"info": {**cached.info, "repo": keep, "requested": rid},
                                             "taken_at": datetime.now(UTC)})
        tree, truncated = self._gitlab_tree(enc, sha, rid, end)
        info.update(tree=tree[:MAX_TREE_ENTRIES], truncated=truncated or len(tree) > MAX_TREE_ENTRIES, empty=not tree)
        files = self._gitlab_files(tree, enc, sha, rid, end)
        snap = self._snap("gitlab", full, revision=sha, info=info, files=files)
        self._keep(snap)
        return self._stamp(snap)

    def _gitlab_tree(self, enc: str, sha: str, rid: str, end: float) -> tuple[list[dict[str, Any]], bool]:
        """The project's file tree at `sha`, page by page (x-next-page, forward only), and whether it was
        cut at MAX_GITLAB_TREE_PAGES: a server cannot keep the audit paging for ever."""
        tree: list[dict[str, Any]] = []
        page, truncated = "1", False
        while page:
            if int(page) > MAX_GITLAB_TREE_PAGES:
                truncated = True
                break
            status, body, rh = self._get("gitlab", f"/api/v4/projects/{enc}/repository/tree?recursive=true"
                                         f"&per_page=100&ref={sha}&page={page}", rid, end)
            if status != 200:
                break
            try:
                rows = json.loads(body)
            except (ValueError, RecursionError):
                raise errors.NetworkError(rid, "GitLab: the tree was not JSON; not read") from None
            rows = _as_list(rows)
            tree += [{"path": e["path"][:500], "type": e.get("type"), "size": None}
                     for e in rows if isinstance(e, dict) and isinstance(e.get("path"), str)]
            nxt = rh.get("x-next-page", "").strip()
            page = nxt if nxt.isdigit() and int(nxt) > int(page) and rows else ""
        return tree, truncated

    def _gitlab_files(self, tree: list[dict[str, Any]], enc: str, sha: str, rid: str,
                      end: float) -> dict[str, TextFile]:
        """The top-level README (one) and LICENSE files (two at most) at `sha`; a file over the text cap or
        not text is left out rather than read in part."""
        files: dict[str, TextFile] = {}
        top = [e for e in tree if e["type"] == "blob" and "/" not in e["path"]]
        wanted = ([e for e in top if _README_RE.match(e["path"])][:1]
                  + [e for e in top if _LICENSE_RE.match(e["path"])][:2])
        for e in wanted:
            path = e["path"]
            try:
                status, raw, _ = self._get("gitlab", f"/api/v4/projects/{enc}/repository/files/"
                                           f"{quote(path, safe='')}/raw?ref={sha}", rid, end, cap=MAX_TEXT_FILE_BYTES)
            except _TooLarge:
                continue
            if status == 200 and (text := decode_text(raw)) is not None:
                files[path] = TextFile(path=path, text=text, size=len(raw))
        return files

    def _arxiv(self, rid: str, end: float) -> ExternalSnapshot:
        path = f"/oai2?verb=GetRecord&metadataPrefix=arXiv&identifier=oai:arXiv.org:{rid}"
        status, body, _ = self._get("arxiv", path, rid, end)
        if status in (404, 410):
            return self._snap("arxiv", rid, status="not-found", detail=f"arXiv answered {status}")
        info = parse_arxiv_oai(body)
        if info is None:
            return self._snap("arxiv", rid, status="not-found", detail="arXiv has no record of this id")
        return self._snap("arxiv", rid, info=info)

    def _zenodo(self, rid: str, end: float) -> ExternalSnapshot:
        status, body, _ = self._get("zenodo", f"/api/records/{rid}", rid, end)
        if status in (404, 410):
            return self._snap("zenodo", rid, status="not-found", detail=f"Zenodo answered {status}")
        if status == 451:
            return self._snap("zenodo", rid, status="unavailable", detail="Zenodo answered 451")
        rec = _json(body, rid)
        meta = _as_dict(rec.get("metadata"))
        lic = _as_dict(meta.get("license"))
        files = _as_list(rec.get("files"))
        info = {"title": str(meta.get("title") or "")[:500], "doi": str(rec.get("doi") or "")[:200],
                "license": str(lic.get("id") or "")[:100] or None,
                "access_right": str(meta.get("access_right") or "")[:50] or None,
                "resource_type": str(_as_dict(meta.get("resource_type")).get("type") or "")[:50] or None,
                "files": [{"key": str(f.get("key"))[:300], "size": f.get("size")} for f in files[:200]
                          if isinstance(f, dict)]}
        return self._snap("zenodo", rid, info=info)

    # -- cache ---------------------------------------------------------------------------------

    def _cached(self, host: str, rid: str, sha: str) -> ExternalSnapshot | None:
        """The cached record of `rid` at commit `sha` when this user's seal vouches for it (`verified`;
        with no key, `unverified`); one not sealed with this user's key is a miss, noted as `refetched`
        (the record read again says so, see `_stamp`)."""
        if self.cache_dir is None:
            return None
        try:
            got = StoreExternal(self.cache_dir).read_sealed(host, rid)
        except errors.OpenAuditError:
            return None
        if got is None or got[0].revision != sha:
            return None
        snap, state = got
        if state == "sealed":
            return snap.model_copy(update={"cache": "verified"})
        if state == "nokey":
            self.notes.no_key()
            return snap.model_copy(update={"cache": "unverified"})
        self.notes.note(self.notes.refetched, snap.key.lower(),
                        f"the cached {host} repository {_printable(rid)}@{sha[:12]} {NOT_SEALED}; read again "
                        f"from {host}")
        return None

    def _stamp(self, snap: ExternalSnapshot) -> ExternalSnapshot:
        """`snap`, just read from its host, marked `refetched` when the cache held an entry of it that
        was not believed."""
        with self.notes.lock:
            again = snap.key.lower() in self.notes.refetched
        return snap.model_copy(update={"cache": "refetched"}) if again else snap

    def _keep(self, snap: ExternalSnapshot) -> None:
        if self.cache_dir is None:
            return
        from openaudit.sources.store import LinkInPath

        try:
            write_external(self.cache_dir, snap, seal=True)
        except LinkInPath as e:  # said, as the snapshot cache says it: someone pointed a folder elsewhere
            log.warning("external cache not written: %s", e)
        except (OSError, errors.OpenAuditError) as e:  # a cache that cannot be written is only slower
            log.info("external cache not written: %s", e)

    # -- one request ---------------------------------------------------------------------------

    def _get(self, host: str, path: str, rid: str, end: float, *, cap: int = MAX_JSON_BYTES,
             raw: bool = False) -> tuple[int, bytes, dict[str, str]]:
        """(status, body, headers) of GET base+path; 2xx, 404, 409, 410, 451 and 403 (not a rate limit)
        are answers; 429 and a spent window raise RateLimited; 5xx and network failures are retried."""
        with self._lock:
            limited = self._limited.get(host)
        if limited is not None and limited[0] > time.monotonic():
            raise errors.RateLimited(rid, limited[1])  # the host said so already: not asked again this window
        base = self.bases[host].rstrip("/")
        allowed = urlsplit(base).netloc.lower()
        url = base + path
        attempt = 0
        redirects = 0
        while True:
            if time.monotonic() >= end:
                raise errors.NetworkError(rid, f"{host}: no answer within {self.deadline:.0f} s; not read")
            headers = {"Accept": "application/vnd.github.raw" if raw else
                       ("application/vnd.github+json" if host == "github" else "*/*")}
            if host == "github" and self._token and urlsplit(url).netloc.lower() == allowed:
                headers["Authorization"] = f"Bearer {self._token}"
            try:
                status, body, rh = self._one(url, headers, rid, end, cap)
            except _TooLarge:
                raise
            except self._requests.RequestException as e:
                attempt += 1
                if attempt > self.retries:
                    raise errors.NetworkError(rid, f"{host}: {type(e).__name__}; not read") from None
                time.sleep(min(self.backoff * attempt, max(0.0, end - time.monotonic())))
                continue
            if status in (301, 302, 307, 308):
                target = urljoin(url, rh.get("location", ""))
                parts = urlsplit(target)
                if parts.netloc.lower() != allowed or parts.scheme not in ("http", "https") or redirects >= 3:
                    raise errors.NetworkError(rid, f"{host}: redirected to another host ({parts.netloc[:80]}); "
                                              "not followed")
                url, redirects = target, redirects + 1
                continue
            # GitHub's secondary limits answer 403 with retry-after, or only say so in the body: a refusal
            # that is a rate limit must never be recorded as "blocked" (that would read as "no code").
            secondary = status == 403 and ("retry-after" in rh or b"rate limit" in body[:2000].lower())
            if status == 429 or secondary or (status == 403 and rh.get("x-ratelimit-remaining") == "0"):
                message = self._hold(host, rh)
                raise errors.RateLimited(rid, message)
            if status >= 500 or status == 408:
                attempt += 1
                if attempt > self.retries:
                    raise errors.NetworkError(rid, f"{host}: answered {status}; not read")
                time.sleep(min(self.backoff * attempt, max(0.0, end - time.monotonic())))
                continue
            if status in (200, 403, 404, 409, 410, 451):
                # The host's own count: the answer that spent the window's last request is kept, and no
                # further request is sent to that host till the window resets.
                left = rh.get("x-ratelimit-remaining", rh.get("ratelimit-remaining", "")).strip()
                if left == "0":
                    self._hold(host, rh)
                return status, body, rh
            raise errors.NetworkError(rid, f"{host}: answered {status}; not read")

    def _hold(self, host: str, rh: dict[str, str]) -> str:
        """Hold `host` till its rate-limit window resets (x-ratelimit-reset, ratelimit-reset or
        retry-after; a minute when it names none) and return the message its unread links carry."""
        reset = rh.get("x-ratelimit-reset", "") or rh.get("ratelimit-reset", "")
        after = rh.get("retry-after", "")
        when, wait = "", 60.0
        if reset.isdigit():
            wait = max(1.0, float(int(reset) - int(time.time())))
            when = f", resets in {int(wait)} s"
        elif after.isdigit():
            wait = max(1.0, float(after))
            when = f", retry after {after} s"
        hint = ""
        if host == "github":
            hint = ("; set GITHUB_TOKEN for a larger allowance, or use --no-external" if not self._token else
                    "; wait for the reset, or use --no-external")
        message = f"{host}: rate limited{when}{hint}; not read"
        with self._lock:
            self._limited[host] = (time.monotonic() + min(wait, 3600.0), message)
            self.rate_limited_hosts.add(host)
        return message

    def _one(self, url: str, headers: dict[str, str], rid: str, end: float,
             cap: int) -> tuple[int, bytes, dict[str, str]]:
        gate_cm = self.gate.slot("external", rid) if self.gate is not None else _nullcontext()
        with gate_cm:
            with self._lock:
                self.sent += 1
            timeout = max(0.5, min(self.timeout, end - time.monotonic()))
            proxies = self._requests.utils.get_environ_proxies(url)
            verify: bool | str = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE") or True
            resp = self._session.get(url, headers=headers, timeout=timeout, stream=True, allow_redirects=False,
                                     proxies=proxies, verify=verify)
            try:
                rh = {k.lower(): v for k, v in resp.headers.items()}
                if resp.status_code != 200:
                    return resp.status_code, resp.raw.read(65536, decode_content=True) or b"", rh
                length = rh.get("content-length", "")
                if length.isdigit() and int(length) > cap:
                    raise _TooLarge(url)
                chunks: list[bytes] = []
                got = 0
                for chunk in resp.iter_content(65536):
                    got += len(chunk)
                    if got > cap:
                        raise _TooLarge(url)
                    if time.monotonic() > end:
                        raise errors.NetworkError(rid, "the answer did not arrive within the deadline; not read")
                    chunks.append(chunk)
                return 200, b"".join(chunks), rh
            finally:
                resp.close()


def _as_dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *a: Any) -> None:
        return None


def _json(body: bytes, rid: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise errors.NetworkError(rid, "the host's answer was not JSON; not read") from None
    if not isinstance(data, dict):
        raise errors.NetworkError(rid, "the host's answer was not a JSON object; not read")
    return data


_OAI = "{http://www.openarchives.org/OAI/2.0/}"
_AX = "{http://arxiv.org/OAI/arXiv/}"


def parse_arxiv_oai(body: bytes) -> dict[str, Any] | None:
    """title, authors, abstract, licence, id of an OAI-PMH GetRecord answer (metadataPrefix=arXiv)."""
    if b"<!DOCTYPE" in body[:2000] or b"<!ENTITY" in body:
        return None  # no entity expansion of a hostile answer
    import xml.etree.ElementTree as ET  # here: most runs read no arXiv record (~3 ms of a cold start)

    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    meta = root.find(f".//{_OAI}metadata/{_AX}arXiv")
    if meta is None:
        return None

    def text(tag: str) -> str:
        el = meta.find(f"{_AX}{tag}")
        return " ".join((el.text or "").split()) if el is not None else ""

    authors = []
    for a in meta.findall(f"{_AX}authors/{_AX}author")[:200]:
        parts = [(a.findtext(f"{_AX}{t}") or "").strip() for t in ("forenames", "keyname")]
        name = " ".join(p for p in parts if p)
        if name:
            authors.append(name[:200])
    return {"id": text("id")[:40], "title": text("title")[:500], "abstract": text("abstract")[:5000],
            "authors": authors, "license": text("license")[:300] or None,
            "created": text("created")[:40] or None,
            # Where the authors say it was published (a journal or proceedings), and that version's DOI.
            "journal_ref": text("journal-ref")[:300] or None, "doi": text("doi")[:200] or None}


def follow_links(src: Any, urls: Iterable[str]) -> tuple[dict[str, ExternalSnapshot], dict[str, str]]:
    """The records of the allow-listed links among `urls` through `src.get(host, id)`, and the reasons
    of those not read (keyed "host:id" as the link named it)."""
    got: dict[str, ExternalSnapshot] = {}
    errs: dict[str, str] = {}
    refs, over = _refs_and_capped(urls)
    for host, rid in over:  # said, not dropped: a reader sees which links were not read, and why
        errs[f"{host}:{rid}"] = (f"{CAPPED} the card links more than {MAX_LINKS_PER_HOST[host]} {host} pages; "
                                 f"the first {MAX_LINKS_PER_HOST[host]} are read")
    for host, rid in refs:
        key = f"{host}:{rid}"
        try:
            snap = src.get(host, rid)
        except errors.FetchError as e:
            errs[key] = f"{e.kind}: {e}"[:400]
            continue
        got[key] = snap
    return got, errs


# -- the snapshot store ---------------------------------------------------------------------------
#
#   STORE/github/<owner>/<repo>/info.json     {"host", "id", "revision", "status", "detail", "taken_at", "info"}
#   STORE/github/<owner>/<repo>/files/<path>  the README and LICENSE texts read, at info.revision
#   STORE/arxiv/<id>/info.json
#   STORE/zenodo/<record>/info.json

_SAFE_SEGMENT = re.compile(r"^[A-Za-z0-9][\w.-]{0,99}$")


def external_dir(store: str | os.PathLike[str], host: str, rid: str) -> Path:
    segs = rid.split("/")
    if host not in DEFAULT_BASES or not all(_SAFE_SEGMENT.match(s) and ".." not in s for s in segs) or \
            len(segs) != (2 if host in ("github", "gitlab") else 1):
        raise errors.UsageError(f"not a valid {host} id: {rid[:100]!r}")
    return Path(store) / host / Path(*segs)


def write_external(store: str | os.PathLike[str], snap: ExternalSnapshot, as_id: str | None = None, *,
                   seal: bool = False) -> Path:
    """Write a record into a store (files first, info.json last: an entry is visible once complete).
    `seal` (the cache, not a store): info.json's `cache.seal` is this user's seal of the entry. No
    folder below `store` is written through when it is a symbolic link (LinkInPath): a record's folder
    in a shared cache or store pointed elsewhere would put files outside it."""
    from openaudit.sources.store import atomic_write, within

    root = Path(store)
    d = external_dir(store, snap.host, as_id or snap.id)
    kept: dict[str, str] = {}
    for f in snap.files.values():
        found = within(d / "files", f.path)
        if found is not None and "/" not in f.path:
            atomic_write(found[0], f.text.encode("utf-8"), root)
            kept[f.path] = f.text
    doc: dict[str, Any] = {"host": snap.host, "id": snap.id, "revision": snap.revision, "status": snap.status,
                           "detail": snap.detail, "taken_at": snap.taken_at.isoformat(), "info": snap.info,
                           "files": sorted(snap.files)}
    if seal:
        tag = _entry_seal(doc, kept)
        if tag is not None:
            doc["cache"] = {"seal": tag}
    atomic_write(d / "info.json", (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode(), root)
    return d


class StoreExternal:
    """Replays the external records of a snapshot store; no network. What is not recorded there was
    not followed when the store was made, and is not looked up now."""

    name = "store"

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def read(self, host: str, rid: str) -> ExternalSnapshot | None:
        got = self._load(host, rid)
        return got[0] if got is not None else None

    def read_sealed(self, host: str, rid: str) -> tuple[ExternalSnapshot, str] | None:
        """The record of `rid` as `read`, and its seal's state: "sealed" (with this user's key),
        "unsealed" (no seal, another key's, or changed since: its info.json or a file it keeps), "nokey"
        (this user has none). Only the cache's entries are sealed (write_external(seal=True))."""
        got = self._load(host, rid)
        if got is None:
            return None
        snap, doc = got
        if sealing.local_key() is None:
            return snap, "nokey"
        meta = doc.get("cache")
        tag = meta.get("seal") if isinstance(meta, dict) else None
        if not isinstance(tag, str) or str(doc.get("id", "")).lower() != rid.lower():
            return snap, "unsealed"
        body = _entry_body({k: v for k, v in doc.items() if k != "cache"},
                           {p: f.text for p, f in snap.files.items()})
        return snap, ("sealed" if body is not None and sealing.sealed(body, tag) else "unsealed")

    def _load(self, host: str, rid: str) -> tuple[ExternalSnapshot, dict[str, Any]] | None:
        from openaudit.sources.store import read_text_file

        try:
            d = external_dir(self.root, host, rid)
        except errors.UsageError:
            return None
        if not (d / "info.json").is_file():
            if host in ("github", "gitlab"):  # names are case-insensitive: the store keeps the recorded case
                owner_dir = self.root / host
                low = rid.lower()
                for cand in owner_dir.glob("*/*/info.json") if owner_dir.is_dir() else []:
                    if f"{cand.parent.parent.name}/{cand.parent.name}".lower() == low:
                        d = cand.parent
                        break
                else:
                    return None
            else:
                return None
        if not d.resolve().is_relative_to(self.root.resolve()):
            raise errors.ConfigFileError(str(d), "leaves the snapshot store (a symlink out of it); not read")
        try:
            doc = json.loads((d / "info.json").read_text(encoding="utf-8"))
        except (ValueError, OSError, RecursionError) as e:
            raise errors.ConfigFileError(str(d / "info.json"), f"invalid JSON: {e}") from None
        if not isinstance(doc, dict) or doc.get("host") != host or not isinstance(doc.get("id"), str):
            raise errors.ConfigFileError(str(d / "info.json"), "expected an external record (host, id, info)")
        files: dict[str, TextFile] = {}
        for name in doc.get("files") or []:
            if isinstance(name, str) and "/" not in name:
                got = read_text_file(d / "files", name)
                if isinstance(got, TextFile):
                    files[name] = got
        status = doc.get("status") if doc.get("status") in ("ok", "not-found", "unavailable") else "ok"
        rev = doc.get("revision") if isinstance(doc.get("revision"), str) else None
        return ExternalSnapshot(host=host, id=doc["id"], revision=rev, status=status,
                                detail=str(doc.get("detail") or "")[:300],
                                taken_at=parse_hub_time(doc.get("taken_at")) or datetime(1970, 1, 1, tzinfo=UTC),
                                info=doc.get("info") if isinstance(doc.get("info"), dict) else {},
                                files=files), doc

    def get(self, host: str, rid: str) -> ExternalSnapshot:
        got = self.read(host, rid)
        if got is None:
            raise _NotRecorded(rid, f"{host}:{rid} is not in the snapshot store; not followed")
        return got

    def follow(self, urls: Iterable[str]) -> tuple[dict[str, ExternalSnapshot], dict[str, str]]:
        got, errs = follow_links(self, urls)
        # A link the store did not record was not followed when it was made: absent, not an error.
        return got, {k: v for k, v in errs.items() if not v.startswith(_NotRecorded.kind)}


class _NotRecorded(errors.FetchError):
    kind = "not-recorded"
    status = "skipped"


class CachedExternal:
    """Offline: the records the cache (CACHE/external) kept, no network. An entry sealed with this user's
    key is `verified`; one not (another key's, or edited) cannot be read again offline, so it is used
    but said `unverified` (named on stderr; the subject's `cache` field says so). What the cache does not
    hold is not followed (absent, as when replaying a store), and papers are not kept in it."""

    name = "external-cache"

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.notes = CacheNotes(self.root)
        self.sent = 0

    def get(self, host: str, rid: str) -> ExternalSnapshot:
        try:
            got = StoreExternal(self.root).read_sealed(host, rid)
        except errors.OpenAuditError:
            got = None
        if got is None:
            raise _NotRecorded(rid, f"{host}:{rid} is not in the cache; offline, not followed")
        snap, state = got
        if state == "sealed":
            return snap.model_copy(update={"cache": "verified"})
        if state == "nokey":
            self.notes.no_key()
        else:
            self.notes.note(self.notes.unverified, snap.key.lower(),
                            f"the cached {host} repository {_printable(rid)}@{(snap.revision or '')[:12]} "
                            f"{NOT_SEALED}; offline, it is used unverified (its subject's cache field says so)")
        return snap.model_copy(update={"cache": "unverified"})

    def follow(self, urls: Iterable[str]) -> tuple[dict[str, ExternalSnapshot], dict[str, str]]:
        got, errs = follow_links(self, urls)
        return got, {k: v for k, v in errs.items() if not v.startswith(_NotRecorded.kind)}


# Why a cached entry was not believed without its host (stderr; the subject's `cache` field).
NOT_SEALED = "is not sealed with this user's cache key (written on another machine or with another key, or changed)"
_ENTRY_LABEL = b"openaudit external cache entry v1\0"  # apart from what else the key seals


class CacheNotes:
    """The external cache's entries a run did not believe, said on stderr as the snapshot cache says its
    own (openaudit.cache): the first NAMED of each kind named, then one line for the rest."""

    def __init__(self, root: Path | None):
        self.root = root
        self.lock = threading.Lock()
        self.refetched: dict[str, str] = {}  # "host:id" -> why its cached entry was read again
        self.unverified: dict[str, str] = {}  # "host:id" -> why its entry was used unverified (offline)
        self._key_told = False

    def note(self, into: dict[str, str], key: str, why: str) -> None:
        sealing.note_distrust(self.lock, into, key, why, cache="external cache", root=self.root, log=log)

    def no_key(self) -> None:
        with self.lock:
            told, self._key_told = self._key_told, True
        if not told:
            log.warning("external cache: no key to seal cache entries with (%s is not set and %s cannot be "
                        "made): cached repositories are used unverified", sealing.KEY_ENV, sealing.key_path())


def _entry_body(doc: dict[str, Any], texts: dict[str, str]) -> bytes | None:
    """What an entry's seal is taken over: its info.json (host, id, revision, status, info: the tree...)
    without the seal, and the digest of every text file it keeps, path by path, as canonical JSON."""
    h = sha256()
    for path in sorted(texts):
        h.update(path.encode("utf-8", "surrogatepass") + b"\0" + texts[path].encode("utf-8", "surrogatepass") + b"\0")
    try:
        return _ENTRY_LABEL + json.dumps([doc, h.hexdigest()], sort_keys=True, ensure_ascii=True,
                                         separators=(",", ":")).encode("ascii")
    except (TypeError, ValueError, RecursionError):
        return None


def _entry_seal(doc: dict[str, Any], texts: dict[str, str]) -> str | None:
    body = _entry_body(doc, texts)
    return sealing.seal(body) if body is not None else None


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def external_enabled() -> bool:
    return os.environ.get("OPENAUDIT_EXTERNAL", "").strip().lower() not in ("off", "0", "no", "false")

