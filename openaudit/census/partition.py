"""The per-partition function: one input row group in, one `results/part-NNNNN.parquet` out.

Both engines (worker processes here, Dask workers there) call `run_partition` with a `Task` and
nothing else: it reads its row group, applies `--where` (DuckDB over the Arrow table), joins the
cards prepared for it, builds a RepoSnapshot per row (openaudit.census.rows), links base models from
the dump's bases table, audits each with `openaudit.api.audit_bundle` (the code `openaudit audit`
runs), and writes the part atomically. Memory is one row group's rows and their results.

`--read cards|licences` reads what no dump holds from the Hub, through the existing source: one
HubSource per partition (its gate, its share of `--max-requests`, the snapshot cache). `--read none`
makes no source at all: no request can be sent.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openaudit.census.rows import snapshot_from_row
from openaudit.errors import FetchError, InvalidRepoId, RepoNotFound
from openaudit.snapshot import RepoSnapshot, TextFile, Unreadable, UnreadableFile
from openaudit.vocab import DIMENSIONS

if TYPE_CHECKING:
    import pyarrow as pa

    from openaudit.report import Subject

READ_MODES = ("none", "cards", "licences")
# Fetch failures that another run may not meet: a part holding one is done again on resume.
TRANSIENT_KINDS = ("budget", "rate-limited", "network")
RESULT_COLUMNS: list[tuple[str, str]] = [
    ("id", "string"), ("author", "string"), ("revision", "string"), ("last_modified", "string"),
    ("created_at", "string"), ("downloads", "int64"), ("likes", "int64"), ("pipeline_tag", "string"),
    ("library_name", "string"), ("gated", "string"), ("status", "string"), ("reason", "string"),
    ("license_key", "string"), ("license_category", "string"), ("license_source", "string"),
    ("score", "float64"), ("coverage", "float64"),
    *[(d, "string") for d in DIMENSIONS],
    ("mof", "string"), ("osaid", "string"), ("osai_index", "float64"), ("eu_ai_act", "string"),
    ("flags", "list<string>"), ("unread", "list<string>"),
]


class NotInDump(FetchError):
    """A linked repo the census does not read (datasets: no dump holds them)."""

    kind = "not-read"
    status = "incomplete"


@dataclass(frozen=True)
class Task:
    """Everything one partition needs; small and picklable (no token: huggingface_hub finds its own)."""

    part: int
    path: str  # the metadata parquet file
    row_group: int
    results: str  # the results folder
    fingerprint: str  # the census's options and inputs (a part of another census is never kept)
    cards: str | None = None  # this part's cards (a parquet folder written by the preparation), or None
    bases: str | None = None  # the dump's base models (parquet), or None
    where: str | None = None
    read: str = "none"
    budget: int | None = None  # this part's share of --max-requests
    endpoint: str | None = None
    cache_dir: str | None = None
    profiles: tuple[str, ...] = ()

    @property
    def out(self) -> Path:
        return Path(self.results) / part_name(self.part)


@dataclass
class PartStats:
    part: int
    rows: int = 0
    audited: int = 0
    incomplete: int = 0
    skipped: int = 0
    lost: int = 0  # rows with a transient fetch failure (the part is done again on resume)
    requests: int = 0
    api_requests: int = 0
    file_requests: int = 0
    rate_limited: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0  # the worker process's peak so far (bounded by a row group, not the dump)
    extra: dict[str, Any] = field(default_factory=dict)


def part_name(part: int) -> str:
    return f"part-{part:05d}.parquet"


def result_schema() -> pa.Schema:
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64(), "list<string>": pa.list_(pa.string())}
    return pa.schema([(name, types[t]) for name, t in RESULT_COLUMNS])


def part_is_done(path: Path, fingerprint: str) -> bool:
    """A part written whole by this census (same fingerprint) with no transient loss: kept on resume."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError, Exception):
        return False
    return (meta.get(b"openaudit.census.fingerprint", b"").decode() == fingerprint
            and meta.get(b"openaudit.census.lost", b"1") == b"0")


class DumpSource:
    """Linked repos for `fetch_bundle`, from the census's bases table: no request, ever."""

    name = "dump"

    def __init__(self, bases: str | None):
        self.bases = bases
        self._rows: dict[str, dict[str, Any] | None] = {}

    def prefetch(self, ids: set[str]) -> None:
        """Look up many base ids in one query (a row group's declared bases)."""
        todo = sorted(i for i in ids if i not in self._rows)
        if not todo or self.bases is None:
            for i in todo:
                self._rows[i] = None
            return
        import duckdb

        con = duckdb.connect()
        try:
            con.execute("SET threads TO 1")
            con.execute("SET autoinstall_known_extensions = false")
            table = con.sql("SELECT * FROM read_parquet($1) WHERE id IN (SELECT unnest($2))",
                            params=[self.bases, todo]).to_arrow_table()
        finally:
            con.close()
        for row in table.to_pylist():
            self._rows[row["id"]] = row
        for i in todo:
            self._rows.setdefault(i, None)

    def model(self, repo_id: str, revision: str | None = None) -> RepoSnapshot:
        if repo_id not in self._rows:
            self.prefetch({repo_id})
        row = self._rows.get(repo_id)
        if row is None:
            raise RepoNotFound(repo_id, f"model '{repo_id}' is not a base model in the metadata dump")
        return snapshot_from_row(row, None)

    def dataset(self, repo_id: str, revision: str | None = None) -> RepoSnapshot:
        raise NotInDump(repo_id, f"dataset '{repo_id}' is not read by a census (no dump holds datasets)")


def _base_ids(rows: list[dict[str, Any]]) -> set[str]:
    from openaudit.census.rows import info_from_row
    from openaudit.evidence.lineage import declared_bases

    ids: set[str] = set()
    for row in rows:
        info = info_from_row(row)
        raw = info.get("cardData")
        card: dict[str, Any] = raw if isinstance(raw, dict) else {}
        ids.update(b[0] for b in declared_bases(card, info["tags"]))
    return ids


def _read_rows(task: Task) -> list[dict[str, Any]]:
    """The row group's rows that `--where` keeps, in file order."""
    import pyarrow.parquet as pq

    table = pq.ParquetFile(task.path).read_row_group(task.row_group)
    if task.where:
        import duckdb

        con = duckdb.connect()
        try:
            con.execute("SET threads TO 1")
            con.register("rows", table)
            con.execute("SET enable_external_access = false")  # a condition on the row, nothing else
            table = con.sql(f"SELECT * FROM rows WHERE ({task.where})").to_arrow_table()  # checked by run()
        finally:
            con.close()
    return table.to_pylist()


def _read_cards(task: Task) -> dict[str, str]:
    if task.cards is None or not Path(task.cards).is_dir():
        return {}
    import pyarrow.parquet as pq

    cards: dict[str, str] = {}
    for f in sorted(Path(task.cards).glob("*.parquet")):
        t = pq.read_table(f, columns=["modelId", "card"])
        for mid, card in zip(t.column("modelId").to_pylist(), t.column("card").to_pylist(), strict=True):
            if isinstance(mid, str) and isinstance(card, str):
                cards.setdefault(mid, card)
    return cards


def _from_hub(hub: Any, snap: RepoSnapshot, want: list[str]) -> RepoSnapshot:
    """The dump's snapshot with the files `want` read from the Hub at the model's current commit
    (one API request for the commit and gating, one per file; the cache may answer)."""
    got = hub.model(snap.repo_id)
    files: dict[str, TextFile] = dict(snap.files)
    unreadable: dict[str, UnreadableFile] = dict(snap.unreadable)
    for path in want:
        if path in got.files:
            files[path] = got.files[path]
            unreadable.pop(path, None)
        elif path in got.unreadable:
            unreadable[path] = got.unreadable[path]
            files.pop(path, None)
    info = {**snap.info, "sha": got.revision, "gated": got.info.get("gated", False)}
    return snap.model_copy(update={"info": info, "revision": got.revision, "files": files, "unreadable": unreadable})


def _wanted(snap: RepoSnapshot, read: str) -> list[str]:
    """The files `--read` asks the Hub for: the card when the dump had none; with licences, the licence files."""
    from openaudit.evidence.license import is_license_path
    from openaudit.snapshot import is_text_file_of_interest

    out = []
    for name in snap.sibling_names():
        if name in snap.files:
            continue
        if name.lower() == "readme.md" or (read == "licences" and is_text_file_of_interest(name)
                                           and (is_license_path(name) or name.lower() != "readme.md")):
            out.append(name)
    return out


def unread_of(snap: RepoSnapshot, related_errors: dict[str, str]) -> tuple[list[str], bool]:
    """What the audit could not read, and whether a key file (the card, a licence file) is among it:
    the same rule that makes a gated repo's audit incomplete."""
    from openaudit.evidence.license import is_license_path

    out: list[str] = []
    key = False
    for name in snap.sibling_names():
        u = snap.unreadable.get(name)
        is_key = name.lower() == "readme.md" or is_license_path(name)
        if not is_key:
            continue
        if name in snap.files:
            continue
        if u is None or u.reason in (Unreadable.MISSING, Unreadable.GATED, Unreadable.ERROR):
            if u is not None and u.reason == Unreadable.MISSING and not u.detail.startswith("not read"):
                continue  # the Hub answered that it is not there: read, and absent
            out.append(name)
            key = True
    for k, why in sorted(related_errors.items()):
        if k.startswith("dataset:") and why.startswith("not-read"):
            out.append(k)
    return out, key


def subject_row(row: dict[str, Any], subject: Subject, unread: list[str]) -> dict[str, Any]:
    """One results row: the figures a census summarises, from the audit's Subject."""
    from openaudit.census.rows import _iso

    fw = subject.frameworks
    mof, osaid, oi, eu = fw.get("mof"), fw.get("osaid"), fw.get("osai-index"), fw.get("eu-ai-act")
    lic = subject.license
    gated = row.get("gated")
    return {
        "id": subject.repo_id, "author": row.get("author") if isinstance(row.get("author"), str) else None,
        "revision": subject.revision, "last_modified": _iso(row.get("lastModified")),
        "created_at": _iso(row.get("createdAt")),
        "downloads": int(row["downloads"]) if isinstance(row.get("downloads"), int) else 0,
        "likes": int(row["likes"]) if isinstance(row.get("likes"), int) else 0,
        "pipeline_tag": row.get("pipeline_tag") if isinstance(row.get("pipeline_tag"), str) else None,
        "library_name": row.get("library_name") if isinstance(row.get("library_name"), str) else None,
        "gated": None if gated is None else str(gated).lower(),
        "status": subject.status, "reason": subject.reason,
        "license_key": lic.key if lic else None, "license_category": lic.category if lic else "unknown",
        "license_source": lic.source if lic else None,
        "score": subject.score, "coverage": subject.coverage,
        **{d: (subject.dimensions[d].verdict if d in subject.dimensions else None) for d in DIMENSIONS},
        "mof": (mof.mof_class or "none") if mof else None, "osaid": osaid.verdict if osaid else None,
        "osai_index": oi.score if oi else None, "eu_ai_act": eu.verdict if eu else None,
        "flags": sorted({f.id for f in subject.flags}), "unread": unread,
    }


def _skipped_row(row: dict[str, Any], repo_id: str, reason: str) -> dict[str, Any]:
    from openaudit.report import Subject

    return subject_row(row, Subject(repo_id=repo_id[:200], source="hub", status="skipped", reason=reason), [])


_PROFILES: dict[tuple[str, ...], Any] = {}


def _profiles(names: tuple[str, ...]) -> Any:
    """Profiles resolved once per worker process (they are read from YAML)."""
    if names not in _PROFILES:
        from openaudit.audit import resolve_profiles

        _PROFILES[names] = resolve_profiles(list(names) or None)
    return _PROFILES[names]


def audit_rows(rows: list[dict[str, Any]], cards: dict[str, str], task: Task, stats: PartStats) -> list[dict[str, Any]]:
    """Audit each row with the audit code of `openaudit audit`; every row gives one results row."""
    from openaudit.run.linker import RunMemo

    profiles = _profiles(task.profiles)
    source = DumpSource(task.bases)
    source.prefetch(_base_ids(rows))
    memo = RunMemo()
    hub = _hub_for(task)
    out = []
    for row in rows:
        skipped = _invalid_row(row)
        if skipped is not None:
            out.append(skipped)
            stats.skipped += 1
            continue
        result = _audit_row(row, cards, task, stats, hub=hub, source=source, memo=memo, profiles=profiles)
        out.append(result)
        stats.audited += result["status"] == "audited"
        stats.incomplete += result["status"] == "incomplete"
        stats.skipped += result["status"] == "skipped"
    if hub is not None:
        _count_requests(stats, hub)
    return out


def _hub_for(task: Task) -> Any:
    """The Hub source `--read cards|licences` reads through (this part's gate and share of
    --max-requests, the snapshot cache when there is one); None with `--read none`, so that no request
    can be sent."""
    if task.read == "none":
        return None
    from openaudit.sources.cache import cached_hub
    from openaudit.sources.gate import RequestGate
    from openaudit.sources.hub import HubSource

    hub: Any = HubSource(endpoint=task.endpoint, depth="full" if task.read == "licences" else "card",
                         gate=RequestGate(4, task.budget))
    if task.cache_dir is not None:
        hub = cached_hub(hub, task.cache_dir)
    return hub


def _invalid_row(row: dict[str, Any]) -> dict[str, Any] | None:
    """A skipped results row for a dump row with no id or an id that is not a valid repo id (a hostile
    row is kept in the results, never audited); None for a row that can be audited."""
    from openaudit.repoid import validate_repo_id

    rid = row.get("id")
    if not isinstance(rid, str):
        return _skipped_row(row, str(rid), "invalid: the dump row has no id")
    try:
        validate_repo_id(rid)
    except InvalidRepoId as e:
        return _skipped_row(row, rid, f"invalid: {e}")
    return None


def _audit_row(row: dict[str, Any], cards: dict[str, str], task: Task, stats: PartStats, *, hub: Any,
               source: DumpSource, memo: Any, profiles: Any) -> dict[str, Any]:
    """One valid row's results row: its snapshot (with what --read fetched), linked to its bases in the
    dump, audited, and marked incomplete when a key file could not be read."""
    from openaudit.audit import audit_bundle
    from openaudit.run.linker import fetch_bundle

    rid = row["id"]
    snap = snapshot_from_row(row, cards.get(rid))
    fetch_note = None
    if hub is not None:
        snap, fetch_note = _read_from_hub(hub, snap, task, stats)
    bundle = fetch_bundle(source, snap, memo)
    subject = audit_bundle(bundle, profiles)
    unread, key = unread_of(snap, bundle.related_errors)
    if key and subject.status == "audited":
        subject.status = "incomplete"
        names = ", ".join(u for u in unread if not u.startswith("dataset:"))[:300]
        how = f"--read {task.read}" if task.read != "none" else "the census reads no file (--read none)"
        subject.reason = (f"{fetch_note}; " if fetch_note else "") + (
            f"not read: {names} ({how}); verdicts rest on the dump's metadata, file names and card")
    return subject_row(row, subject, unread)


def _read_from_hub(hub: Any, snap: RepoSnapshot, task: Task, stats: PartStats) -> tuple[RepoSnapshot, str | None]:
    """The snapshot with the files --read wants from the Hub; a failed fetch leaves it as the dump gave it,
    with a note for the row's reason (a transient failure counts the row as lost: the part is done again
    on resume). Returns (snapshot, note or None)."""
    want = _wanted(snap, task.read)
    if not want:
        return snap, None
    try:
        return _from_hub(hub, snap, want), None
    except FetchError as e:
        if e.kind in TRANSIENT_KINDS:
            stats.lost += 1
        return snap, f"{e.kind}: {e}"


def _count_requests(stats: PartStats, hub: Any) -> None:
    """The part's Hub requests, from its gate's counts."""
    stats.requests, stats.rate_limited = hub.gate.sent, hub.gate.rate_limited
    stats.api_requests = hub.gate.by_bucket.get("api", 0)
    stats.file_requests = hub.gate.by_bucket.get("resolvers", 0)


def write_part(task: Task, rows: list[dict[str, Any]], stats: PartStats) -> None:
    """The part, whole or not at all (a temporary file renamed into place)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from openaudit.sources.store import _temp_beside

    schema = result_schema().with_metadata({
        "openaudit.census.fingerprint": task.fingerprint,
        "openaudit.census.lost": str(stats.lost),
        "openaudit.census.source": json.dumps({"path": os.path.basename(task.path), "row_group": task.row_group}),
    })
    table = pa.Table.from_pylist(rows, schema=schema)
    out = task.out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_beside(out)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: reset at exec, unlike getrusage's ru_maxrss, which a
    child started by fork and exec inherits from its parent)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    import resource

    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024


def run_partition(task: Task) -> dict[str, Any]:
    """Audit one row group and write its part. Returns the part's counts (PartStats as a dict)."""
    start, cpu = time.monotonic(), time.process_time()
    stats = PartStats(part=task.part)
    rows = _read_rows(task)
    stats.rows = len(rows)
    cards = _read_cards(task)
    results = audit_rows(rows, cards, task, stats)
    del rows, cards
    write_part(task, results, stats)
    stats.seconds = time.monotonic() - start
    stats.cpu_seconds = time.process_time() - cpu
    stats.peak_rss_mb = round(peak_rss_mb(), 1)
    return asdict(stats)
