"""The snapshot cache (DESIGN §8): a snapshot store keyed by repo and commit sha.

The cache IS a snapshot store (DESIGN §2 layout, written with `write_snapshot`), so it can be
replayed with `--snapshots`, served by tests/fakehub.py, or shared. Each repo's `snapshot.json`
sidecar carries one more key, `cache`:

    {"sha": "<commit>", "depth": "metadata|card|full", "paths": [text files attempted],
     "taken_at": "<ISO time>", "cached_at": "<ISO time>", "token": <whether the reader had a token>,
     "digest": "<sha256 of the text files it holds, path by path>",
     "seal": "<HMAC-SHA256 under this user's key (openaudit.seal) over the repo type and id, this sidecar
              (sha, depth, paths, digest, ...; taken_at, source, unreadable files) and info.json>"}

No entry is believed that cannot be verified. Online, a run that has the Hub's blob ids of the commit
(`audit` of 1-3 ids: model_info with blobs=true) checks every cached file against them; where the
Hub gives none (an owner's listing: `org`, `audit` of 4 ids or more; the linked repos `org` takes from
the cache), the seal decides: sealed with this user's key, the entry is used with no request
(`verified`); not (another machine's key, an earlier openaudit's entry, an edit), it is read again
from the Hub (`refetched`, named on stderr). Offline nothing can be read again: such an entry is used
but said `unverified`, and named on stderr. Without a key (none in the environment, and the user's
data folder cannot be written) nothing is sealed: blob ids where the Hub lists them, else `unverified`,
as before seals, and stderr says so once.

(Earlier caches kept it in a `cache.json` file beside `info.json`, which is still read. One file
fewer per model matters: creating a file costs 0.3-0.9 ms of kernel time on a small VM, and a cold
organisation audit writes five per model.)

An entry whose files do not hold what its digest says is a miss: two processes sharing one cache can
write the same repo at two commits at once, and the files of one must never be served as the other's.
`depth` and `paths` say what was read: at depth `card` the licence files were not attempted, so a
licence file absent from `files/` is "not read", not "missing". An entry answers a request for
(repo, sha, depth) when its sha is that sha and its depth is at least the one asked for, and when
the reader may see it: for a run with a token, not when its files were gated (the token may open
them); for a run without one, not a gated repo's files read with a token (a CI cache shared by a
job with a token and a public one). `openaudit org` takes linked
repos (datasets, base models), whose current sha is not known without a request, from the cache
while younger than a TTL (any age with --offline); `openaudit audit` asks the Hub for each one's
sha (one API request) and reads its files from the cache at that sha. Both commands share the one
cache, `default_cache_dir()` unless `--cache-dir` says otherwise.

`listings/models/<owner>.json` keeps the ids and shas of the last organisation listing, so that
`--offline` knows which models it has to skip. Every file is written atomically (temp + rename).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from hashlib import blake2b, sha1, sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from openaudit import errors
from openaudit import seal as sealing
from openaudit.repoid import validate_owner
from openaudit.snapshot import (
    DEPTHS,
    SHA_RE,
    Depth,
    RepoSnapshot,
    RepoType,
    TextFile,
    Unreadable,
    UnreadableFile,
    depth_rank,
    parse_hub_time,
    paths_for_depth,
    trim_to_depth,
)
from openaudit.sources.store import SIDECAR, BlobIndex, atomic_write, read_text_file, repo_dir, write_snapshot

META = "cache.json"  # where earlier caches kept an entry's metadata (still read)
DEFAULT_LINKED_TTL = timedelta(hours=24)
# Who reads the cache: False/"" (no token), a reader tag (reader_tag: a keyed hash of the token), or
# True (a token whose tag is unknown: given no gated entry read with a token).
Reader = bool | str
log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from openaudit.sources.bulk import BulkHubSource
    from openaudit.sources.hub import HubSource
_HUB = "https://huggingface.co"


def _user_cache() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("openaudit"))


def _per_endpoint(base: Path, endpoint: str | None) -> Path:
    """`base` for the Hub; another endpoint (a mirror, a fake hub; default: HF_ENDPOINT) gets a folder
    of its own inside it: commits are unique per Hub only."""
    ep = (endpoint or os.environ.get("HF_ENDPOINT") or _HUB).rstrip("/")
    return base if ep == _HUB else base / "endpoints" / sha1(ep.encode()).hexdigest()[:16]


def default_cache_dir(endpoint: str | None = None) -> Path:
    """platformdirs' user cache `openaudit/snapshots`; another endpoint gets its own sub-store."""
    return _per_endpoint(_user_cache() / "snapshots", endpoint)



def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # a damaged entry is a miss, never a crash
    return data if isinstance(data, dict) else None


class SnapshotCache:
    """Read and write cached snapshots. Thread-safe: writes are atomic per file and serialised per repo."""

    def __init__(self, root: str | os.PathLike[str], linked_ttl: timedelta = DEFAULT_LINKED_TTL, *,
                 offline: bool = False):
        """`offline`: this run cannot read anything again from the Hub, so an entry not sealed with this
        user's key is used, said `unverified` (see `get`), instead of being read again."""
        self.root = Path(root)
        self.linked_ttl = linked_ttl
        self.offline = offline
        # A lock per entry being written, and how many threads hold or wait for it: gone once none
        # does (a lock per entry for the whole run was ~0.2 KB a model of an organisation).
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}
        self._guard = threading.Lock()
        self._blobs = BlobIndex()
        self._told = False  # an unwritable cache is reported once per run
        # "type:id" -> a 16-byte BLAKE2b of the (sha, digest) this run wrote (the pair was ~0.3 KB).
        self._mine: dict[str, bytes] = {}
        self.refetched: dict[str, str] = {}  # "type:id" -> why its cached entry was not used (tampered)
        self.unverified: dict[str, str] = {}  # "type:id" -> why its entry was used unverified (offline, no key)
        self._key_told = False
        self._sweep()

    SWEEP_EVERY = timedelta(hours=6)

    def _sweep(self) -> None:
        """Temporary files that killed runs left (they are renamed into place or removed on every path
        a live run takes) are removed by the next run: the whole cache at most every SWEEP_EVERY (a
        marker file's time says when), so a warm run does not walk a large cache each time."""
        import time

        from openaudit.sources.store import sweep_stale_temps

        marker = self.root / ".swept"
        try:
            if time.time() - os.lstat(marker).st_mtime < self.SWEEP_EVERY.total_seconds():
                return
        except FileNotFoundError:
            pass
        except OSError:
            return
        if not self.root.is_dir():
            return
        n = sweep_stale_temps(self.root)
        if n:
            log.info("cache: removed %d temporary files left by interrupted runs", n)
        try:
            fd = os.open(marker, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
            os.close(fd)
            os.utime(marker)
        except OSError:
            pass

    @contextlib.contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        """Writes of one entry one at a time; the lock is dropped when no thread holds or awaits it."""
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if not users[0]:
                    del self._locks[key]

    # ---- entries ------------------------------------------------------------------------------
    def get(self, repo_type: RepoType, repo_id: str, sha: str | None, depth: Depth, *,
            token: Reader = False, listed: dict[str, Any] | None = None) -> RepoSnapshot | None:
        """The cached snapshot of `repo_id` at `sha`, read at `depth` or deeper; None on a miss.

        Who may see what decides too (`_for_reader`): with `token`, an entry whose files were gated
        (read without a token, or without access) is a miss, the token may open them; without one, a
        gated repo's entry read with a token is a miss, its files are not this run's to see; with
        another token than the one that read them, too (`token` is the reader's tag, reader_tag()).

        No entry is believed that cannot be verified. `listed`: the Hub's metadata of this commit,
        taken in this run (blobs=true). Every cached file is then checked against the blob id it lists
        (git blob sha1; LFS sha256) before it is used: one that differs (a cache restored from
        elsewhere, edited) makes the entry a miss, noted in `refetched` and logged; all equal, the
        snapshot says `cache="verified"` (and an entry without this user's seal is sealed again, with
        the fresh metadata). What the Hub names no blob id for (an owner's listing names none: `org`,
        an `audit` of 4 ids or more) is verified by the entry's seal (`_by_seal`)."""
        if not sha:
            return None
        got = self._load(repo_type, repo_id)
        if got is None:
            return None
        full, meta, state = got
        if meta.get("sha") != sha or depth_rank(meta.get("depth", "metadata")) < depth_rank(depth):
            return None
        if not _for_reader(full, meta, token):
            return None
        snap = trim_to_depth(full, depth)
        if self._wrote(repo_type, repo_id, meta):
            return snap  # what this run read from the Hub moments ago (and holds the digest of)
        lossy = bool(set(meta.get("lossy") or []) & set(snap.files))
        if listed is not None:
            changed, unchecked = check_files(snap, listed)
            if changed:
                self._refetch(repo_type, repo_id, sha, changed)
                return None
            if not unchecked and not lossy:
                if state == "unsealed":  # the Hub vouches for its files: sealed again, with fresh metadata
                    self._reseal(full, meta, listed, token)
                return snap.model_copy(update={"cache": "verified"})
        if lossy and state != "sealed":
            return None  # read with replacements: its bytes cannot be checked, it is read again
        return self._by_seal(repo_type, repo_id, sha, snap, state)

    def _by_seal(self, repo_type: RepoType, repo_id: str, sha: str, snap: RepoSnapshot,
                 state: str) -> RepoSnapshot | None:
        """An entry the Hub's blob ids do not vouch for, as its seal decides: sealed with this user's
        key, `verified` (this user read it from the Hub); not (written on another machine or by
        another key, or edited since), online a miss (read again, `refetched`), offline used but
        `unverified`. Without a key nothing is sealed: `unverified`, as before seals."""
        if state == "sealed":
            return snap.model_copy(update={"cache": "verified"})
        if state == "nokey":
            self._no_key()
            return snap.model_copy(update={"cache": "unverified"})
        if not self.offline:
            self._refetch(repo_type, repo_id, sha, why=NOT_SEALED)
            return None
        self._note(self.unverified, f"{repo_type}:{repo_id}",
                   f"the cached {repo_type} {_printable(repo_id)}@{sha[:12]} {NOT_SEALED}; offline, it is used "
                   "unverified (its subject's cache field says so)")
        return snap.model_copy(update={"cache": "unverified"})

    def _reseal(self, snap: RepoSnapshot, meta: dict[str, Any], listed: dict[str, Any], token: Reader) -> None:
        paths = [p for p in meta.get("paths") or [] if isinstance(p, str)]
        depth: Depth = next((d for d in DEPTHS if d == meta.get("depth")), "metadata")
        self.put(snap.model_copy(update={"info": listed, "cache": None}), depth, paths, token=token)

    def _no_key(self) -> None:
        with self._guard:
            told, self._key_told = self._key_told, True
        if not told:
            log.warning("cache: no key to seal cache entries with (%s is not set and %s cannot be made): "
                        "cached files are checked against the blob ids the Hub lists where it lists them, "
                        "else used unverified", sealing.KEY_ENV, sealing.key_path())

    def _wrote(self, repo_type: RepoType, repo_id: str, meta: dict[str, Any]) -> bool:
        with self._guard:
            mine = self._mine.get(f"{repo_type}:{repo_id}")
        return mine is not None and hmac.compare_digest(mine, _written(meta.get("sha"), meta.get("digest")))

    def _note(self, into: dict[str, str], key: str, why: str) -> None:
        sealing.note_distrust(self._guard, into, key, why, cache="cache", root=self.root, log=log)

    def _refetch(self, repo_type: RepoType, repo_id: str, sha: str, bad: list[str] | None = None, *,
                 why: str = "") -> None:
        if bad:
            names = ", ".join(_printable(b)[:120] for b in bad[:3])  # names are the Hub's: no control characters
            what = f"the cached {names}{' …' if len(bad) > 3 else ''} of {repo_type} {_printable(repo_id)}@{sha[:12]}"
            why = "did not match the blob id the Hub lists"
        else:
            what = f"the cached {repo_type} {_printable(repo_id)}@{sha[:12]}"
        self._note(self.refetched, f"{repo_type}:{repo_id}", f"{what} {why}; read again from the Hub")

    def was_refetched(self, repo_type: RepoType, repo_id: str) -> bool:
        with self._guard:
            return f"{repo_type}:{repo_id}" in self.refetched

    def stamp(self, snap: RepoSnapshot) -> RepoSnapshot:
        """`snap`, just read from the Hub, marked `refetched` when the cache held an entry of it that
        was not used (tampered, or not sealed with this user's key)."""
        if self.was_refetched(snap.repo_type, snap.repo_id):
            return snap.model_copy(update={"cache": "refetched"})
        return snap

    def get_linked(self, repo_type: RepoType, repo_id: str, *, any_age: bool = False, token: Reader = False,
                   depth: Depth = "full", revision: str | None = None) -> RepoSnapshot | None:
        """The latest entry of a repo whose current sha is not asked for: a linked repo (dataset, base
        model) of an organisation's audit, or any repo with --offline. Read at `depth` or deeper,
        younger than the TTL (or any age), at `revision` if one is given (a commit sha or a prefix of
        it: a branch or tag cannot be resolved without the Hub); one this reader may see (see `get`).
        No listing of its blob ids was taken in this run: its seal decides (`_by_seal`)."""
        got = self._load(repo_type, repo_id)
        if got is None:
            return None
        snap, meta, state = got
        if depth_rank(meta.get("depth", "metadata")) < depth_rank(depth):
            return None
        if revision is not None and not (len(revision) >= 7 and str(meta.get("sha", "")).startswith(revision.lower())):
            return None
        if not _for_reader(snap, meta, token):
            return None
        if not any_age:
            cached = parse_hub_time(meta.get("cached_at")) or snap.taken_at
            if datetime.now(UTC) - cached > self.linked_ttl:
                return None
        snap = trim_to_depth(snap, depth)
        if self._wrote(repo_type, repo_id, meta):
            return snap
        return self._by_seal(repo_type, repo_id, str(meta["sha"]), snap, state)

    def _load(self, repo_type: RepoType, repo_id: str) -> tuple[RepoSnapshot, dict[str, Any], str] | None:
        """The entry, its metadata (the sidecar's `cache`), and its seal: "sealed" (with this user's
        key), "unsealed" (no seal, or another), "nokey" (this user has none); None when it is damaged."""
        try:
            d = repo_dir(self.root, repo_type, repo_id)
        except Exception:
            return None
        sidecar = _read_json(d / SIDECAR) or {}
        meta = sidecar.get("cache") if isinstance(sidecar.get("cache"), dict) else _read_json(d / META)
        info = _read_json(d / "info.json")
        if meta is None or info is None or info.get("sha") != meta.get("sha") or info.get("id") != repo_id:
            return None
        recorded = sidecar.get("unreadable") or {}
        files: dict[str, TextFile] = {}
        unreadable: dict[str, UnreadableFile] = {}
        sizes = {s.get("rfilename"): s.get("size") for s in info.get("siblings") or [] if isinstance(s, dict)}
        for path in meta.get("paths") or []:
            if not isinstance(path, str):
                continue
            rec = recorded.get(path)
            if isinstance(rec, dict):
                try:
                    reason = Unreadable(rec.get("reason", "error"))
                except ValueError:
                    reason = Unreadable.ERROR
                unreadable[path] = UnreadableFile(path=path, reason=reason, detail=str(rec.get("detail", "")))
                continue
            read = read_text_file(d / "files", path, sizes.get(path))
            if isinstance(read, TextFile):
                files[path] = read
            else:  # the entry is damaged (a file went away): a miss
                return None
        for path, rec in recorded.items():  # e.g. README.md "not read" at depth metadata
            if path not in unreadable and path not in files and isinstance(rec, dict):
                try:
                    reason = Unreadable(rec.get("reason", "error"))
                except ValueError:
                    reason = Unreadable.ERROR
                unreadable[path] = UnreadableFile(path=path, reason=reason, detail=str(rec.get("detail", "")))
        state = _seal_state(repo_type, repo_id, sidecar, info)
        if "digest" in meta and meta["digest"] != _digest({p: f.text for p, f in files.items()}):
            # Not the files this entry was written with: another process wrote this repo (at another
            # commit) at the same moment, or a file was changed by hand (a hard-linked copy of it,
            # too). Whatever its seal says, it is not sealed: online it is read again, and reported.
            if state == "nokey":
                return None  # a miss, as before seals
            state = "unsealed"
        source = sidecar.get("source") if sidecar.get("source") in ("hub", "store", "localdir") else "hub"
        taken = parse_hub_time(sidecar.get("taken_at")) or datetime.now(UTC)
        snap = RepoSnapshot(repo_id=repo_id, repo_type=repo_type, revision=meta["sha"], source=source,
                            taken_at=taken, info=info, files=dict(sorted(files.items())),
                            unreadable=dict(sorted(unreadable.items())))
        return snap, meta, state

    def put(self, snap: RepoSnapshot, depth: Depth, paths: list[str], *, token: Reader = False) -> None:
        """Record a snapshot read at `depth` (`token`: by a reader with a token); `paths` are the text
        files attempted at that depth.
        A cache that cannot be written (read-only, full, not a folder) costs the next run its reads,
        never this run its audit: the failure is logged once and the run goes on."""
        if not snap.revision:
            return  # not keyed by a commit: nothing a later run could trust
        key = f"{snap.repo_type}:{snap.repo_id}"
        with self._lock(key):
            refused = any(u.reason == Unreadable.GATED for u in snap.unreadable.values())
            if (not token or refused) and snap.gated() and self._read_with_token(snap):
                # What a reader with a token cached of this commit says more: kept (a reader without a
                # token, or with one the Hub refused, does not replace it).
                return
            # The cache keeps the latest commit only: write at the top level whatever was there before.
            # The sidecar is written before info.json: until info.json has the same sha, it is a miss.
            meta = {"sha": snap.revision, "depth": depth, "paths": sorted(set(paths)),
                    "taken_at": snap.taken_at.isoformat(), "cached_at": datetime.now(UTC).isoformat(),
                    "token": bool(token), "digest": _digest({p: snap.files[p].text for p in paths if p in snap.files}),
                    # Files whose text is not their bytes (invalid UTF-8 read with replacements): they
                    # cannot be checked against a blob id, so a later run reads them again.
                    "lossy": sorted(p for p in paths if p in snap.files
                                    and len(snap.files[p].text.encode("utf-8", "surrogatepass")) != snap.files[p].size)}
            if isinstance(token, str) and token:
                meta["reader"] = token  # a keyed hash of the token (reader_tag), never the token
            # The seal: this user's key over the whole entry (its id, the sidecar with the files' digest
            # path by path, info.json), so that a later run believes it without asking the Hub.
            side = {"taken_at": snap.taken_at.isoformat(), "source": snap.source, "cache": meta,
                    "unreadable": {p: {"reason": u.reason.value, "detail": u.detail}
                                   for p, u in sorted(snap.unreadable.items())}}
            tag = _entry_seal(snap.repo_type, snap.repo_id, side, snap.info)
            if tag is not None:
                meta["seal"] = tag
            else:
                self._no_key()
            try:
                d = write_snapshot(self.root, snap.model_copy(update={"requested_revision": None}),
                                   sidecar_extra={"cache": meta}, blobs=self._blobs)
                (d / META).unlink(missing_ok=True)  # an older cache's entry: superseded by the sidecar
                with self._guard:
                    self._mine[key] = _written(meta["sha"], meta["digest"])
            except OSError as e:
                self._unwritable(e)

    def read_with_token(self, repo_type: RepoType, repo_id: str, revision: str | None = None) -> bool:
        """Whether the cache holds this repo (at `revision`, a sha or a prefix of one; else any) as read
        with a token, gated: what a run without that token is not given (an offline skip says so)."""
        try:
            sidecar = _read_json(repo_dir(self.root, repo_type, repo_id) / SIDECAR) or {}
        except Exception:
            return False
        meta = sidecar.get("cache")
        if not isinstance(meta, dict) or meta.get("token") is not True:
            return False
        return revision is None or str(meta.get("sha", "")).startswith(revision.lower())

    def _read_with_token(self, snap: RepoSnapshot) -> bool:
        """Whether the entry of `snap`'s repo is this commit read with a token, by this user (sealed):
        an entry that only says so (written elsewhere) does not keep a fresh read out."""
        try:
            d = repo_dir(self.root, snap.repo_type, snap.repo_id)
        except Exception:  # an id the store layout refuses: there is no entry
            return False
        sidecar = _read_json(d / SIDECAR) or {}
        meta = sidecar.get("cache")
        if not (isinstance(meta, dict) and meta.get("sha") == snap.revision and meta.get("token") is True):
            return False
        return _seal_state(snap.repo_type, snap.repo_id, sidecar, _read_json(d / "info.json")) != "unsealed"

    def _unwritable(self, e: OSError) -> None:
        with self._guard:
            told, self._told = self._told, True
        if not told:
            log.warning("the cache %s cannot be written (%s: %s); this run goes on without it",
                        self.root, type(e).__name__, e.strerror or e)

    # ---- organisation listings -------------------------------------------------------------------
    def _listing_path(self, owner: str) -> Path:
        return self.root / "listings" / "models" / f"{validate_owner(owner)}.json"

    def put_listing(self, owner: str, items: list[dict[str, Any]]) -> None:
        rows = [{"id": i.get("id"), "sha": i.get("sha"), "createdAt": i.get("createdAt"),
                 "lastModified": i.get("lastModified")} for i in items if isinstance(i.get("id"), str)]
        body: dict[str, Any] = {"owner": owner, "taken_at": datetime.now(UTC).isoformat(), "models": rows}
        tag = _listing_seal(body)
        if tag is not None:
            body["seal"] = tag
        try:
            atomic_write(self._listing_path(owner), (json.dumps(body, indent=1) + "\n").encode(), self.root)
        except OSError as e:
            self._unwritable(e)

    def get_listing(self, owner: str) -> list[dict[str, Any]] | None:
        """The last listing of an owner (ids, shas, dates), else the cached models of that owner, else None."""
        data = _read_json(self._listing_path(owner))
        if data is not None and isinstance(data.get("models"), list):
            if sealing.local_key() is not None and not sealing.sealed(
                    _listing_body({k: v for k, v in data.items() if k != "seal"}), data.get("seal")):
                # Which models an offline run audits: one added is skipped (not cached), one left out
                # would be missing from the report. Said, not refused (the entries are sealed one by one).
                log.warning("cache: the cached listing of %s %s; offline, the models it names are audited, "
                            "and a model it leaves out is not (%s)", _printable(owner), NOT_SEALED, self.root)
            return [r for r in data["models"] if isinstance(r, dict) and isinstance(r.get("id"), str)]
        owner_dir = self.root / "models" / owner
        if not owner_dir.is_dir():
            return None
        rows = []
        for d in sorted(owner_dir.iterdir()):
            info = _read_json(d / "info.json")
            if info and info.get("id") == f"{owner}/{d.name}":
                rows.append({"id": info["id"], "sha": info.get("sha"), "createdAt": info.get("createdAt"),
                             "lastModified": info.get("lastModified")})
        return rows or None


def _written(sha: Any, digest: Any) -> bytes:
    """What `_mine` keeps of an entry this run wrote: a 128-bit BLAKE2b of its sha and digest (as JSON,
    so that no two pairs are hashed alike), equal only for the same pair."""
    return blake2b(json.dumps([sha, digest]).encode(), digest_size=16).digest()


# Why an entry was not believed without the Hub (stderr; the subject's `cache` field).
NOT_SEALED = "is not sealed with this user's cache key (written on another machine or with another key, or changed)"
_ENTRY_LABEL = b"openaudit cache entry v1\0"  # apart from what else the key seals


def _entry_body(repo_type: str, repo_id: str, sidecar: dict[str, Any], info: dict[str, Any]) -> bytes:
    """What an entry's seal is taken over: its type and id, the sidecar (taken_at, source, unreadable
    files, and `cache`: sha, depth, paths, reader, the digest of every text file path by path) without
    the seal itself, and info.json, each as canonical JSON."""
    meta = {k: v for k, v in (sidecar.get("cache") or {}).items() if k != "seal"}
    side = {"taken_at": sidecar.get("taken_at"), "source": sidecar.get("source"),
            "unreadable": sidecar.get("unreadable"), "cache": meta}
    return _ENTRY_LABEL + json.dumps([repo_type, repo_id, side, info], sort_keys=True, ensure_ascii=True,
                                     separators=(",", ":")).encode("ascii")


def _entry_seal(repo_type: str, repo_id: str, sidecar: dict[str, Any], info: dict[str, Any]) -> str | None:
    try:
        return sealing.seal(_entry_body(repo_type, repo_id, sidecar, info))
    except (TypeError, ValueError, RecursionError):  # not JSON (cannot happen for what was read as JSON)
        return None


def _listing_body(body: dict[str, Any]) -> bytes:
    return b"openaudit cache listing v1\0" + json.dumps(body, sort_keys=True, ensure_ascii=True,
                                                       separators=(",", ":")).encode("ascii")


def _listing_seal(body: dict[str, Any]) -> str | None:
    try:
        return sealing.seal(_listing_body(body))
    except (TypeError, ValueError, RecursionError):
        return None


def _seal_state(repo_type: str, repo_id: str, sidecar: dict[str, Any], info: dict[str, Any] | None) -> str:
    """"sealed" (with this user's key), "unsealed" (no seal, or another key's, or changed since), or
    "nokey" (this user has no key: nothing can be sealed or checked)."""
    if sealing.local_key() is None:
        return "nokey"
    meta = sidecar.get("cache")
    if not isinstance(meta, dict) or not isinstance(meta.get("seal"), str) or not isinstance(info, dict):
        return "unsealed"
    try:
        body = _entry_body(repo_type, repo_id, sidecar, info)
    except (TypeError, ValueError, RecursionError):
        return "unsealed"
    return "sealed" if sealing.sealed(body, meta["seal"]) else "unsealed"


def _digest(texts: dict[str, str]) -> str:
    """What an entry's text files hold, path by path: the sidecar records it, a read checks it."""
    h = sha256()
    for path in sorted(texts):
        h.update(path.encode("utf-8", "surrogatepass") + b"\0" + texts[path].encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()


# Why a run without a token was not given an entry (an offline run's skip reason says it).
WITHHELD_FROM_ANONYMOUS = ("is cached only as read with a Hub token, and this run has none; "
                           "pass one (HF_TOKEN or --token)")
WITHHELD_FROM_OTHER_TOKEN = ("is cached only as read with another Hub token than this run's; run online "
                             "(the Hub decides whether this token has access) or with that token")


def _for_reader(snap: RepoSnapshot, meta: dict[str, Any], token: Reader) -> bool:
    """Whether a cached entry answers this reader as the Hub would. A reader with a token is not
    given files recorded as gated (the token may open them); a reader without one is not given a
    gated repo's files read with a token (a CI cache shared by a job with a token and a public one).
    An entry of an earlier cache, with no `token` key, was read without one or says so by its files."""
    if token:
        if any(u.reason == Unreadable.GATED for u in snap.unreadable.values()):
            return False
        if meta.get("token") is True and snap.gated():
            # A gated repo's files are this run's only if its own token read them: another token may
            # not have been granted access (the Hub would refuse it). Compared as keyed hashes.
            reader = meta.get("reader")
            return (isinstance(token, str) and isinstance(reader, str)
                    and hmac.compare_digest(reader.encode(), token.encode()))
        return True
    return not (meta.get("token") is True and snap.gated())



def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def _git_blob_sha1(data: bytes) -> str:
    return sha1(b"blob %d\0" % len(data) + data).hexdigest()


def check_files(snap: RepoSnapshot, listed: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The cached text files of `snap` whose bytes are not the blob the Hub's metadata `listed` names
    (git blob sha1 of a regular file, sha256 of an LFS one), and those it names no blob id for."""
    sibs: dict[str, dict[str, Any]] = {}
    for s in listed.get("siblings") or []:
        if isinstance(s, dict) and isinstance(s.get("rfilename"), str):
            sibs.setdefault(s["rfilename"], s)
    changed, unchecked = [], []
    for path, f in snap.files.items():
        sib = sibs.get(path) or {}
        data = f.text.encode("utf-8", "surrogatepass")
        lfs = sib.get("lfs")
        if isinstance(lfs, dict) and isinstance(lfs.get("sha256"), str):
            if not hmac.compare_digest(sha256(data).hexdigest(), lfs["sha256"].lower()):
                changed.append(path)
        elif isinstance(sib.get("blobId"), str):
            if not hmac.compare_digest(_git_blob_sha1(data), sib["blobId"].lower()):
                changed.append(path)
        else:
            unchecked.append(path)
    return sorted(changed), sorted(unchecked)


class CachedSource:
    """The one cache-then-Hub read path: every repo a live or offline run reads goes through it.

    * `model`/`dataset` (an id asked for): the Hub names the repo's current commit (one API request,
      or none when its owner's listing was taken), and its files come from the cache at that commit
      and depth when they are there, else from the Hub (then cached). With `linked=True` (an
      organisation's datasets and base models, whose commit is not asked for) a cached entry younger
      than the cache's TTL answers with no request at all.
    * `listed(item, depth)`: a model of an owner's listing, at the listed commit.
    * `offline` (or no `hub`): never a request; what is not cached is an OfflineMiss, which says
      whether an entry exists that this reader may not be given (read with a token it lacks).

    `refresh` reads every repo from the Hub again. The cache serves each reader what the Hub would
    (SnapshotCache.get): `token` is this reader's tag when there is no `hub` to ask.
    """

    name = "hub"

    def __init__(self, hub: BulkHubSource | None, cache: SnapshotCache, *, offline: bool = False,
                 refresh: bool = False, depth: Depth = "full", token: bool | str = False, linked: bool = True):
        self.hub = hub
        self.cache = cache
        self.offline = offline or hub is None
        self.refresh = refresh
        self.depth = depth
        self.linked = linked
        self._token = token

    def __repr__(self) -> str:
        return f"CachedSource({self.hub!r}, {str(self.cache.root)!r})"

    @property
    def has_token(self) -> bool | str:
        """This reader's token tag ("" for none): who the cache serves (SnapshotCache.get)."""
        return self.hub.reader if self.hub is not None else self._token

    @property
    def gate(self) -> Any:
        """The request gate of the Hub behind the cache (None offline)."""
        return self.hub.gate if self.hub is not None else None

    def model(self, repo_id: str, revision: str | None = None) -> RepoSnapshot:
        snap = self._get("model", repo_id, revision)
        assert snap is not None
        return snap

    def model_if(self, repo_id: str, revision: str | None,
                 keep: Callable[[dict[str, Any]], bool]) -> RepoSnapshot | None:
        """The model if `keep(info)` holds for its metadata, else None; its files are read only if kept."""
        return self._get("model", repo_id, revision, keep)

    def dataset(self, repo_id: str, revision: str | None = None) -> RepoSnapshot:
        snap = self._get("dataset", repo_id, revision)
        assert snap is not None
        return snap

    def _get(self, repo_type: RepoType, repo_id: str, revision: str | None,
             keep: Callable[[dict[str, Any]], bool] | None = None) -> RepoSnapshot | None:
        if self.offline or (self.linked and not self.refresh):
            got = self.cache.get_linked(repo_type, repo_id, any_age=self.offline, depth=self.depth,
                                        revision=revision if self.offline else None, token=self.has_token)
            if got is not None:
                return got if keep is None or keep(got.info) else None
        if self.offline or self.hub is None:
            raise self._miss(repo_type, repo_id, revision)
        if self.linked:
            snap = self.hub.model(repo_id, revision) if repo_type == "model" else self.hub.dataset(repo_id, revision)
            self.cache.put(snap, "full", paths_for_depth(snap.info, "full"), token=self.hub.reader)
            snap = self.cache.stamp(snap)  # "refetched" when its cached entry was not believed
            return snap if keep is None or keep(snap.info) else None
        return self._pinned(self.hub, repo_type, repo_id, revision, keep)

    def _pinned(self, hub: BulkHubSource, repo_type: RepoType, repo_id: str, revision: str | None,
                keep: Callable[[dict[str, Any]], bool] | None) -> RepoSnapshot | None:
        """The Hub names the commit; the cache gives the files read at it before (checked against the
        blob ids the fresh metadata names, see SnapshotCache.get), with that fresh metadata: gating
        and privacy change without a commit."""
        requested, info = hub.info(repo_type, repo_id, revision)
        if keep is not None and not keep(info):
            return None
        sha = info.get("sha") if isinstance(info.get("sha"), str) and SHA_RE.match(info["sha"]) else None
        reader = hub.reader
        if sha and not self.refresh:
            hit = self.cache.get(repo_type, info["id"], sha, hub.depth, token=reader, listed=info)
            if hit is not None:
                return hit.model_copy(update={"info": info, "requested_revision": revision})
        snap, wanted = hub.read_files(repo_type, requested, info, revision)
        self.cache.put(snap, hub.depth, wanted, token=reader)
        return self.cache.stamp(snap)

    def listed(self, item: dict[str, Any], depth: Depth) -> RepoSnapshot:
        """A model of its owner's listing, at the listed commit and `depth`: from the cache (its
        metadata brought up to date by the item), else read from the Hub and cached."""
        rid, sha = item["id"], item.get("sha")
        if not self.refresh or self.offline:
            got = self.cache.get("model", rid, sha, depth, token=self.has_token)
            if got is not None:
                return got if self.hub is None else got.model_copy(update={"info": listed_over(got.info, item)})
        if self.offline or self.hub is None:
            why = (f"is not in the cache at depth {depth}" if not self.cache.read_with_token("model", rid, sha)
                   else WITHHELD_FROM_OTHER_TOKEN if self.has_token else WITHHELD_FROM_ANONYMOUS)
            raise errors.OfflineMiss(rid, f"{rid}@{str(sha)[:12]} {why} ({self.cache.root})")
        snap, paths = self.hub.snapshot_from_listing(item, depth)
        self.cache.put(snap, depth, paths, token=self.hub.reader)
        return self.cache.stamp(snap)  # "refetched" when its cached entry was not believed

    def _miss(self, repo_type: RepoType, repo_id: str, revision: str | None) -> errors.OfflineMiss:
        at = f" at revision '{revision}'" if revision else ""
        if self.cache.read_with_token(repo_type, repo_id, revision):
            why = WITHHELD_FROM_ANONYMOUS if not self.has_token else WITHHELD_FROM_OTHER_TOKEN
            return errors.OfflineMiss(repo_id, f"{repo_type} '{repo_id}'{at} {why} ({self.cache.root})")
        return errors.OfflineMiss(repo_id, f"{repo_type} '{repo_id}'{at} is not in the cache "
                                           f"{self.cache.root} at depth {self.depth}")  # "offline: " is its kind


def listed_over(cached: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """A cached model's metadata brought up to date by its list item at the same commit: gating and
    privacy are settings, not files, and change without a commit. Its siblings stay the cached
    ones, which may have sizes and blob ids (a list item has neither)."""
    return {**cached, **{k: v for k, v in item.items() if k != "siblings"}}


def cached_hub(hub: HubSource, cache_dir: str | os.PathLike[str], *, refresh: bool = False) -> CachedSource:
    """A Hub source with the snapshot cache `cache_dir` in front of it, as `openaudit audit` reads:
    the Hub names each repo's commit, the cache gives the files it holds at that commit."""
    # Only `listed` needs a BulkHubSource's listing reads, and a pinned reader is never asked for it.
    return CachedSource(cast("BulkHubSource", hub), SnapshotCache(cache_dir), depth=hub.depth, refresh=refresh,
                        linked=False)


class OfflineMissOrg(errors.FetchError):
    """--offline and the cache knows nothing of the organisation (exit 3)."""

    kind = "offline"
    status = "skipped"
