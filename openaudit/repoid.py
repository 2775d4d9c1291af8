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
