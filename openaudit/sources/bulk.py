"""Hub access at organisation scale (DESIGN §8): one listing for a whole owner, its items read as snapshots.

* **Listing** — ``GET {endpoint}/api/models?author=ORG&expand=...&limit=1000``, following the absolute
  ``Link: <...>; rel="next"`` header: the request ``HfApi.list_models(author=ORG, expand=[...])`` sends,
  made through huggingface_hub's own session and ``hf_raise_for_status`` (typed errors). We page
  ourselves instead of iterating ``list_models`` because (1) the snapshot keeps the Hub's JSON
  verbatim (``ModelInfo`` does not round-trip), (2) ``list_models`` has no timeout and retries on its
  own, invisibly to the request budget. A list item carries ``siblings`` **without** sizes or blob ids.
* **Files** — read as :class:`~openaudit.sources.hub.HubSource` reads them: one GET per text file,
  pinned to the listed sha, size-capped on ``Content-Length``, checked against its ETag. Identical
  files are decoded and held once; a list item has no blob id, so a listed model's files are each
  requested (identity is only known once a file answered), but a repo whose metadata names its
  blobs (``blobs=true``: a linked base model or dataset, a model whose sizes were needed) is not
  read again for a blob already read in the run.
* **When model_info is still called** — only for linked base models and datasets (one
  ``GET /api/{type}s/{id}?blobs=true`` each, once per run), and, at depth ``full``, for a listed model
  whose weights decision needs sizes: it lists weight-format files but the listing has neither a
  ``safetensors`` nor a ``gguf`` summary (a small stub file is not weights; only sizes tell).
* **The gate** — every request goes through one :class:`RequestGate` (openaudit.sources.gate): a
  global concurrency limit (``--jobs``), a request budget (``--max-requests``; once spent,
  :class:`BudgetExhausted`), a per-bucket pause shared by all threads when a 429 or a
  ``RateLimit: r=0`` header says the window is spent (the wait is the header's reset, else
  ``Retry-After``), no more requests in flight in a bucket than its last ``RateLimit: r=`` says are
  left (and, after a reset, than its quota), and retries with backoff on 408/429/5xx and transport
  errors. Every call has a timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import hf_raise_for_status

from openaudit import errors
from openaudit.repoid import shown, validate_repo_id
from openaudit.snapshot import SHA_RE, Depth, RepoSnapshot, paths_for_depth, trim_to_depth
from openaudit.sources import http
from openaudit.sources.gate import BudgetExhausted, RequestGate
from openaudit.sources.hub import MAX_JSON_BYTES, HubSource, _status, needs_sizes, parse_json

log = logging.getLogger(__name__)
__all__ = ["BudgetExhausted", "BulkHubSource", "RequestGate"]
LIST_EXPAND = (
    "cardData", "gated", "sha", "lastModified", "createdAt", "siblings", "safetensors", "gguf", "config",
    "tags", "library_name", "pipeline_tag", "private", "disabled", "transformersInfo",
)
PAGE_SIZE = 1000
# Pages of one owner's listing read in a run at most (the largest owners on the Hub list ~30,000
# models: 30 pages); past it the listing stops, and what was listed is audited, the rest reported.
MAX_LIST_PAGES = 200
# The whole Hub (census --listing): about 2,000 pages of 1,000 today; room to grow, still a bound.
MAX_HUB_PAGES = 20_000


INVALID_ITEM = "_openaudit_invalid"  # key of a stand-in item for a listing item that is not a valid id


class ListingItemError(errors.Refused):
    """A listing item whose id is not valid: a skipped subject with the reason; nothing is requested for it."""

    status = "skipped"


def check_item(item: Any, author: str | None) -> str | None:
    """Why a listing item of `author` is not audited (None: it is). Nothing is requested for it."""
    if not isinstance(item, dict):
        return f"a listing item that is not an object ({type(item).__name__})"
    rid = item.get("id")
    if not isinstance(rid, str):
        return f"a listing item whose id is not a string ({type(rid).__name__})"
    try:
        validate_repo_id(rid)
    except errors.InvalidRepoId as e:
        return str(e)
    if author is not None and rid.split("/", 1)[0].lower() != author.lower():
        return f"'{shown(rid)}' is not a model of '{shown(author)}'"
    return None


class BulkHubSource(HubSource):
    """HubSource plus the owner listing and snapshots made from its items (every request through the gate)."""

    # ---- the listing ----------------------------------------------------------------------------
    def list_models(self, author: str | None, limit: int | None = None, max_pages: int | None = None,
                    notes: list[str] | None = None, expand: tuple[str, ...] = LIST_EXPAND) -> Iterator[dict[str, Any]]:
        """Items of an owner's models (None: every model on the Hub, as `openaudit census --listing`
        reads it), one API request per page (`max_pages` at most; MAX_LIST_PAGES for an owner,
        MAX_HUB_PAGES for the whole Hub, in any case). Each item is checked before it is given
        (check_item): a bad one is not given, and said in `notes` (a duplicate and another owner's
        model included). A next page on another origin than the endpoint's, or one already read, ends
        the listing with Refused: the token is sent to the configured endpoint only, and a loop is not
        followed."""
        url: str | None = f"{self.endpoint}/api/models"
        owner = author if author is not None else "*"
        first: list[tuple[str, str]] = [*([("author", author)] if author is not None else []),
                                        *(("expand", e) for e in expand)]
        asked = min(limit, PAGE_SIZE) if limit else PAGE_SIZE
        first.append(("limit", str(asked)))
        params: list[tuple[str, str]] | None = first
        page = 0
        seen_pages: set[str] = set()
        seen_ids: set[str] = set()
        home = http.origin(self.endpoint)
        cap = MAX_LIST_PAGES if author is not None else MAX_HUB_PAGES
        pages = min(max_pages, cap) if max_pages is not None else cap
        while url is not None:
            page += 1
            what = f"listing of '{owner}' (page {page})"
            items, url = self._list_page(url, params, owner, what, asked, seen_pages)
            params = None  # the next link is followed verbatim
            yield from _checked_items(items, author, owner, page, asked, notes, seen_ids)
            if url is not None:
                self._check_next_page(url, home, owner, what, seen_pages)
            if page >= pages:
                if url is not None and max_pages is None:
                    raise errors.LimitReached(owner, f"{what}: the listing has more than {cap} pages; "
                                              "stopped there")
                return

    def _list_page(self, url: str, params: list[tuple[str, str]] | None, owner: str, what: str, asked: int,
                   seen_pages: set[str]) -> tuple[list[Any], str | None]:
        """One page of a listing and its next link, with retries; a bad answer is a one-line error
        naming the page (never a traceback)."""

        def call(u: str = url, p: Any = params, w: str = what) -> tuple[list[Any], str | None]:
            # A page's bytes in proportion to the items asked for (a list item with its siblings and
            # card metadata is a few KB; 256 KiB each is room for the largest), MAX_JSON_BYTES at most.
            r = self._get(u, self.headers(), params=p, max_bytes=min(MAX_JSON_BYTES, (1 + asked // 4) * 1024**2))
            seen_pages.add(str(r.request.url))
            self.gate.note("api", r.headers)
            hf_raise_for_status(r)
            data = parse_json(r)
            if not isinstance(data, list):
                raise errors.NetworkError(owner, f"{w}: {self._shown} answered with JSON that is not a list")
            nxt = r.links.get("next", {}).get("url")
            return data, str(r.request.url.join(nxt)) if nxt else None

        try:
            return self._with_retries(owner, what, call)
        except HfHubHTTPError as e:
            raise errors.FetchError(owner, f"{what}: {self._shown} answered HTTP {_status(e)}") from None
        except RecursionError:
            raise errors.NetworkError(
                owner, f"{what}: {self._shown} answered with JSON nested too deeply") from None
        except ValueError:
            raise errors.NetworkError(
                owner, f"{what}: {self._shown} answered with a body that is not JSON") from None

    def _check_next_page(self, url: str, home: tuple[str, str, int | None], owner: str, what: str,
                         seen_pages: set[str]) -> None:
        """Refuses a next page on another origin (the token goes to the configured endpoint only) or one
        already read (a loop); otherwise remembers it."""
        if http.origin(url) != home:
            raise errors.Refused(owner, f"{what}: the next page is on another origin than {self._shown}; "
                                 "not followed (the token goes to the configured endpoint only)")
        if url in seen_pages:
            raise errors.Refused(owner, f"{what}: the next page was read before (a loop); not followed")
        seen_pages.add(url)

    # ---- a listed model -> a snapshot ------------------------------------------------------------
    def snapshot_from_listing(self, info: dict[str, Any], depth: Depth) -> tuple[RepoSnapshot, list[str]]:
        """Read the text files of a listed model at its listed sha. Returns the snapshot and the paths attempted."""
        repo_id = info["id"]
        sha = info.get("sha") if isinstance(info.get("sha"), str) and SHA_RE.match(info["sha"]) else None
        if depth == "full" and needs_sizes(info):
            full = self._info("model", repo_id, sha, self.headers())
            if full.get("sha") == sha or sha is None:
                info = {**info, "siblings": full.get("siblings", info.get("siblings"))}
        paths = paths_for_depth(info, depth)
        files, unreadable = self._read_texts("model", repo_id, sha or "main", info, paths)
        snap = RepoSnapshot(repo_id=repo_id, repo_type="model", revision=sha, source="hub",
                            taken_at=datetime.now(UTC), info=info, files=files, unreadable=unreadable)
        return trim_to_depth(snap, depth), paths


def _checked_items(items: list[Any], author: str | None, owner: str, page: int, asked: int,
                   notes: list[str] | None, seen_ids: set[str]) -> Iterator[dict[str, Any]]:
    """A page's good items, in order; a bad or duplicate one is said in `notes`, and one whose id is
    not valid is given as an INVALID_ITEM subject (named safely) so that the report still shows it."""
    what = f"listing of '{owner}' (page {page})"
    if len(items) > asked:  # more than asked for: the rest is not the listing's to give
        if notes is not None:
            notes.append(f"{what}: {len(items)} items where {asked} were asked for; the first {asked} kept")
        items = items[:asked]
    for n, item in enumerate(items, 1):
        why = check_item(item, author)
        if why is None:
            if item["id"] in seen_ids:
                why = f"'{item['id']}' listed twice"
            else:
                seen_ids.add(item["id"])
                yield item
                continue
        if notes is not None:
            notes.append(f"{what}, item {n}: {why}; not audited")
        if not why.endswith(" listed twice") and " is not a model of " not in why:
            # Not a valid id: a skipped subject, named safely (the id escaped, or the item's place).
            rid = item.get("id") if isinstance(item, dict) else None
            name = shown(rid) if isinstance(rid, str) and rid.strip() else f"{owner}/(page {page}, item {n})"
            yield {INVALID_ITEM: why, "id": name}
