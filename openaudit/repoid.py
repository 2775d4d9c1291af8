"""Repo id parsing and validation: the guard against path traversal into the store or the cache."""

from __future__ import annotations

import re
from typing import NamedTuple

from openaudit.errors import InvalidRepoId

# The Hub's rule: owner and name of letters, digits, '-', '_', '.', no '--' or '..', at most 96 chars.
_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
# \Z, not $: `$` also matches before a final newline, and `owner/name\n` is not an id (issue 26).
_REPO_ID_RE = re.compile(rf"\A{_PART}/{_PART}\Z")
_OWNER_RE = re.compile(rf"\A{_PART}\Z")
_REV_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._/-]{0,199}\Z")


def shown(text: str, limit: int = 120) -> str:
    """An id as the user typed it, safe to print: non-printable characters (controls, bidi overrides) escaped."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text[:limit])


class RepoRef(NamedTuple):
    repo_id: str
    revision: str | None


def validate_repo_id(repo_id: str) -> str:
    """Return the id unchanged if it is a valid `owner/name`, else raise InvalidRepoId naming it."""
    if not isinstance(repo_id, str) or not repo_id:
        raise InvalidRepoId("invalid repo id '': expected 'owner/name'")
    if not _REPO_ID_RE.match(repo_id) or ".." in repo_id or "--" in repo_id:
        raise InvalidRepoId(
            f"invalid repo id '{shown(repo_id)}': expected 'owner/name' (letters, digits, '-', '_', '.')")
    return repo_id


def validate_dataset_id(repo_id: str) -> str:
    """Datasets also have legacy canonical ids with no owner (`the_pile`, `squad`)."""
    if isinstance(repo_id, str) and "/" not in repo_id and _OWNER_RE.match(repo_id) and ".." not in repo_id:
        return repo_id
    return validate_repo_id(repo_id)


def validate_owner(owner: str) -> str:
    if not _OWNER_RE.match(owner or "") or ".." in owner:
        raise InvalidRepoId(f"invalid organisation '{shown(owner or '')}'")
    return owner


def parse_ref(text: str) -> RepoRef:
    """Parse `owner/name` or `owner/name@revision`."""
    repo_id, sep, rev = text.partition("@")
    validate_repo_id(repo_id)
    if sep:
        if not _REV_RE.match(rev) or ".." in rev:
            raise InvalidRepoId(f"invalid revision '{shown(rev, 80)}' in '{repo_id}@…'")
        return RepoRef(repo_id, rev)
    return RepoRef(repo_id, None)


_HUB_HOSTS = ("huggingface.co", "www.huggingface.co", "hf.co")


def _hub_path(text: str) -> list[str] | None:
    """The path segments of a Hub address (`https://huggingface.co/a/b/?q#f` -> ["a", "b"], scheme
    optional), without query or fragment; None when `text` is not an address on the Hub."""
    rest = text.strip()
    for scheme in ("https://", "http://"):
        if rest.lower().startswith(scheme):
            rest = rest[len(scheme):]
            break
    host, slash, path = rest.partition("/")
    if not slash or host.lower() not in _HUB_HOSTS:
        return None
    return [p for p in path.split("?", 1)[0].split("#", 1)[0].split("/") if p]


def from_hub_url(text: str) -> str:
    """A model's address on the Hub as `owner/name[@revision]`; any other text unchanged.

    Takes what a browser's address bar or a model card shows: `https://huggingface.co/owner/name`,
    `huggingface.co/owner/name`, `hf.co/owner/name`, with `/tree/REV`, `/blob/REV/...` or
    `/resolve/REV/...` after it (the revision kept), a trailing slash, a query or a fragment.
    A dataset's or a Space's address is refused: openaudit audits models."""
    parts = _hub_path(text)
    if parts is None:
        return text
    if parts and parts[0] in ("datasets", "spaces"):
        kind = "a dataset" if parts[0] == "datasets" else "a Space"
        raise InvalidRepoId(f"'{shown(text)}' is {kind}'s address; openaudit audits models (owner/name)")
    if len(parts) < 2:
        raise InvalidRepoId(f"'{shown(text)}' names no model: expected https://huggingface.co/owner/name")
    repo_id = f"{parts[0]}/{parts[1]}"
    if len(parts) >= 4 and parts[2] in ("tree", "blob", "resolve", "commit"):
        from urllib.parse import unquote

        return f"{repo_id}@{unquote(parts[3])}"
    return repo_id


def owner_from_hub_url(text: str) -> str:
    """An organisation's or user's address on the Hub (`https://huggingface.co/meta-llama`, `hf.co/meta-llama`)
    as its name; any other text unchanged."""
    parts = _hub_path(text)
    if parts is None:
        return text
    if len(parts) != 1:
        raise InvalidRepoId(f"'{shown(text)}' is not an organisation's address: expected https://huggingface.co/NAME")
    return parts[0]
