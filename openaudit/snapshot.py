"""RepoSnapshot: everything the auditor knows about one repo at one commit.

A snapshot is produced by a source (hub, store, localdir) and is the only input of every later
stage. It is frozen and JSON-serialisable, so that offline replay, caching, parity tests and
golden files are all the same thing.
"""

from __future__ import annotations

import fnmatch
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RepoType = Literal["model", "dataset"]
SourceKind = Literal["hub", "store", "localdir"]
# verified: from the cache, each file checked against the blob id the Hub listed in this run;
# unverified: from the cache, not checked against the Hub (offline, or no blob ids were listed);
# refetched: the cached entry did not match the Hub's blob ids and was read again from the Hub.
CacheState = Literal["verified", "unverified", "refetched"]

# Text files worth reading: the card, licence texts, use policies, notices, and data summaries.
# Matched case-insensitively against the path's last component, top level or one folder down.
TEXT_FILE_PATTERNS: tuple[str, ...] = (
    "readme.md",
    "license",
    "license.*",
    "license-*",
    "license_*",
    "licence",
    "licence.*",
    "licence-*",
    "copying",
    "copying.*",
    "use_policy*",
    "notice",
    "notice.*",
    "data_summary*",
    "datasheet*",
    "readme_weights.md",
)
# Larger files are recorded as unreadable("too-large") instead of read.
MAX_TEXT_FILE_BYTES = 2 * 1024 * 1024
SHA_RE = re.compile(r"\A[0-9a-f]{40}\Z")


class Unreadable(StrEnum):
    """Why a listed text file could not be read."""

    GATED = "gated"
    MISSING = "missing"
    TOO_LARGE = "too-large"
    BINARY = "binary"
    ERROR = "error"


class TextFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    text: str
    size: int = Field(description="Size of the raw bytes read.")


class UnreadableFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str
    reason: Unreadable
    detail: str = ""


class RepoSnapshot(BaseModel):
    """One repo at one commit, as a source served it."""

    model_config = ConfigDict(frozen=True)

    repo_id: str
    repo_type: RepoType = "model"
    revision: str | None = Field(None, description="Commit sha the files were read at (None for a local folder).")
    requested_revision: str | None = None
    source: SourceKind
    taken_at: datetime
    info: dict[str, Any] = Field(default_factory=dict, description="The Hub's JSON for the repo (blobs=true).")
    files: dict[str, TextFile] = Field(default_factory=dict)
    unreadable: dict[str, UnreadableFile] = Field(default_factory=dict)
    cache: CacheState | None = Field(None, description="How the files relate to the snapshot cache; None: "
                                     "read from the source itself (see openaudit.sources.cache).")

    # Convenience views over `info`; kept as methods so the JSON stays exactly what the Hub sent.
    def siblings(self) -> list[dict[str, Any]]:
        sib = self.info.get("siblings") or []
        return [s for s in sib if isinstance(s, dict) and isinstance(s.get("rfilename"), str)]

    def sibling_names(self) -> list[str]:
        return [s["rfilename"] for s in self.siblings()]

    def card_data(self) -> dict[str, Any]:
        cd = self.info.get("cardData")
        return cd if isinstance(cd, dict) else {}

    def tags(self) -> list[str]:
        return [t for t in (self.info.get("tags") or []) if isinstance(t, str)]

    def gated(self) -> str | bool:
        g = self.info.get("gated", False)
        return g if isinstance(g, str) else bool(g)

    def readme(self) -> TextFile | None:
        for path, f in self.files.items():
            if path.lower() == "readme.md":
                return f
        return None

    def file_url(self, path: str) -> str | None:
        """Link to a file at the pinned commit on the Hub (None for local folders)."""
        if self.source == "localdir" or not self.revision:
            return None
        prefix = "" if self.repo_type == "model" else "datasets/"
        return f"https://huggingface.co/{prefix}{self.repo_id}/blob/{self.revision}/{path}"

    def repo_url(self) -> str | None:
        if self.source == "localdir":
            return None
        prefix = "" if self.repo_type == "model" else "datasets/"
        return f"https://huggingface.co/{prefix}{self.repo_id}"


def parse_hub_time(value: Any) -> datetime | None:
    """A Hub timestamp ("2025-03-27T04:01:59.000Z") as an aware datetime; None when absent or malformed."""
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def is_text_file_of_interest(path: str) -> bool:
    """True for README/LICENSE*/USE_POLICY*/NOTICE* and data summaries, top level or one folder down."""
    parts = path.split("/")
    if len(parts) > 2:
        return False
    name = parts[-1].lower()
    if len(parts) == 2 and name == "readme.md":
        return False  # a README in a sub-folder is not the card
    return any(fnmatch.fnmatchcase(name, pat) for pat in TEXT_FILE_PATTERNS)


def decode_text(raw: bytes) -> str | None:
    """Decode bytes as text, or None when they look binary (NUL bytes) or are not UTF-8/Latin-1 text."""
    if b"\x00" in raw[:8192]:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        # Mostly valid UTF-8 with a few bad bytes is still a readable card; mostly garbage is binary.
        return text if text.count("\ufffd") <= max(8, len(text) // 100) else None


# Answers about a linked repo that say it is not there (the Hub's 404, a store without it): every
# other reason (offline, network, rate limit, budget, access denied) says only that it was not read.
NOT_THERE = ("not-found:", "revision-not-found:")


def not_checked_why(reason: str | None, subject_source: str) -> str | None:
    """Why a linked repo of a subject was not checked, when its `related_errors` reason means that,
    else None (it was looked up and is not there).

    Missing access is not evidence (issue 19, class 8): a declared base or dataset that could not be
    looked up (offline and not cached, the network, a rate limit, the request budget, access denied
    without a token, the per-card link cap) is "not checked", never "not found" and never a broken
    lineage, for a Hub model as for a local folder. Only an answer that it is not there (the Hub's
    404, a snapshot store without it) is that. `subject_source` is kept for the callers' wording."""
    if reason is None:
        return None
    if reason.startswith(NOT_THERE) or reason.startswith("invalid:"):
        return None
    return reason


class ExternalSnapshot(BaseModel):
    """One thing a card links to outside the Hub, as its host's API served it (sources/external.py).

    `host` is one of the allow-listed hosts (github, gitlab, arxiv, zenodo); `id` is "owner/repo" on GitHub/GitLab,
    the arXiv id, the Zenodo record number. `status` "not-found" (404/410) and "unavailable" (451, a
    disabled or blocked repo) are answers, recorded and replayed like any other; a rate limit or a
    network failure is not an answer and is never recorded here (see SnapshotBundle.external_errors).
    """

    model_config = ConfigDict(frozen=True)

    host: str
    id: str
    revision: str | None = Field(None, description="The commit read (GitHub), or the version (arXiv).")
    taken_at: datetime
    status: Literal["ok", "not-found", "unavailable"] = "ok"
    detail: str = ""
    info: dict[str, Any] = Field(default_factory=dict, description="What the host's API returned (trimmed).")
    files: dict[str, TextFile] = Field(default_factory=dict)
    cache: CacheState | None = Field(None, description="As RepoSnapshot.cache, for the external cache "
                                     "(sources/external.py): verified (sealed with this user's key), unverified "
                                     "(--offline with an entry not so sealed, or no key), refetched (an entry not "
                                     "so sealed was read again from the host); None: read from the host itself, "
                                     "or replayed from a snapshot store.")

    @property
    def key(self) -> str:
        return f"{self.host}:{self.id}"

    def file_url(self, path: str) -> str | None:
        """A link to a file at the commit read."""
        if self.host == "github" and self.revision:
            return f"https://github.com/{self.id}/blob/{self.revision}/{path}"
        if self.host == "gitlab" and self.revision:
            return f"https://gitlab.com/{self.id}/-/blob/{self.revision}/{path}"
        return None

    def url(self) -> str:
        if self.host in ("github", "gitlab"):
            return f"https://{self.host}.com/{self.id}"
        if self.host == "arxiv":
            return f"https://arxiv.org/abs/{self.id}"
        if self.host == "zenodo":
            return f"https://zenodo.org/records/{self.id}"
        return self.id


class SnapshotBundle(BaseModel):
    """A subject snapshot plus the snapshots of what it links to (datasets, base models).

    `related` is keyed "model:owner/name" or "dataset:owner/name"; a value of None means the
    source could not produce it, with the reason in `related_errors`.
    """

    model_config = ConfigDict(frozen=True)

    subject: RepoSnapshot
    related: dict[str, RepoSnapshot] = Field(default_factory=dict)
    related_errors: dict[str, str] = Field(default_factory=dict)
    # What the card links to outside the Hub, keyed "github:owner/repo", "arxiv:2401.00001",
    # "zenodo:1234567"; a link that was not read has its reason in `external_errors` (rate limited,
    # budget spent, network: the audit is incomplete), or is absent (not followed: --no-external,
    # offline, a host not on the allow-list).
    external: dict[str, ExternalSnapshot] = Field(default_factory=dict)
    external_errors: dict[str, str] = Field(default_factory=dict)

    def get(self, repo_type: RepoType, repo_id: str) -> RepoSnapshot | None:
        return self.related.get(f"{repo_type}:{repo_id}")


# ---- depth: how much of a repository a run reads -----------------------------------------------
Depth = Literal["metadata", "card", "full"]
DEPTHS: tuple[Depth, ...] = ("metadata", "card", "full")


def depth_rank(depth: str) -> int:
    return list(DEPTHS).index(depth) if depth in DEPTHS else 0


README_NOT_READ = "not read: --depth metadata reads the repository's metadata only"


def paths_for_depth(info: dict[str, Any], depth: Depth) -> list[str]:
    """The text files a snapshot at `depth` attempts: none, the card, or every file of interest."""
    names = [s["rfilename"] for s in info.get("siblings") or []
             if isinstance(s, dict) and isinstance(s.get("rfilename"), str)]
    if depth == "metadata":
        return []
    if depth == "card":
        return [n for n in names if n.lower() == "readme.md"]
    return list(dict.fromkeys(n for n in names if is_text_file_of_interest(n)))


def trim_to_depth(snap: RepoSnapshot, depth: Depth) -> RepoSnapshot:
    """Keep only what a snapshot at `depth` reads. Licence files left out read as "not read" (evidence);
    at depth metadata the README is recorded as unreadable so that the card is "unknown", not "missing"."""
    keep = set(paths_for_depth(snap.info, depth))
    files = {p: f for p, f in snap.files.items() if p in keep}
    unreadable = {p: u for p, u in snap.unreadable.items() if p in keep}
    if depth == "metadata":
        for name in snap.sibling_names():
            if name.lower() == "readme.md":
                unreadable[name] = UnreadableFile(path=name, reason=Unreadable.MISSING, detail=README_NOT_READ)
    if files == snap.files and unreadable == snap.unreadable:
        return snap
    return snap.model_copy(update={"files": files, "unreadable": unreadable})
