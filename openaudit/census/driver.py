"""The census run: inputs, preparation, the engine, the summary and the manifest (see openaudit.census)."""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openaudit import textsafe
from openaudit.census import require
from openaudit.census.inputs import DumpInput, resolve
from openaudit.census.partition import READ_MODES, Task, part_is_done, part_name, run_partition
from openaudit.errors import ExitCode, OpenAuditError, UsageError

ENGINES = ("local", "dask")
PLAN = "plan.json"


@dataclass
class CensusResult:
    outdir: Path
    parts: int
    written: int
    reused: int
    failed: list[str] = field(default_factory=list)
    lost: int = 0
    rows: int = 0
    requests: int = 0
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> ExitCode:
        """3 when a part failed or rows were lost to the budget, a rate limit or the network (run again
        to resume); rows left incomplete by design (`--read none`) are not a failure."""
        return ExitCode.INCOMPLETE if self.failed or self.lost else ExitCode.OK


def _say(quiet: bool, msg: str) -> None:
    # A part's failure can quote a dump's row (an id holding a newline and '::error'): one escaped line.
    if not quiet:
        print(f"census: {textsafe.line(msg)}", file=sys.stderr, flush=True)


def _plan_parts(files: list[Path]) -> list[tuple[Path, int, int]]:
    """(file, row group, rows) for every row group of every metadata file, in order: one part each."""
    import pyarrow.parquet as pq

    out = []
    for f in files:
        try:
            meta = pq.ParquetFile(f).metadata
        except Exception as e:  # pyarrow raises several types for a file that is not parquet
            raise UsageError(f"'{f}' is not a readable parquet file ({type(e).__name__})") from None
        for i in range(meta.num_row_groups):
            out.append((f, i, meta.row_group(i).num_rows))
    return out


def _columns(files: list[Path]) -> set[str]:
    import pyarrow.parquet as pq

    cols: set[str] = set()
    for f in files:
        cols.update(pq.read_schema(f).names)
    return cols


def _check_where(where: str | None, files: list[Path]) -> None:
    """A --where that DuckDB cannot use is a usage error before anything runs, with DuckDB's words.
    It is tried on an empty table of the dump's columns with DuckDB's file and network access off:
    a condition is about a row, never a file to read or an extension to fetch (`--read none` means no
    request at all)."""
    if where is None:
        return
    if not where.strip() or ";" in where:
        raise UsageError("--where must be one SQL condition (no ';'), e.g. \"downloads > 100\"")
    import duckdb
    import pyarrow.parquet as pq

    con = duckdb.connect()
    try:
        con.register("rows", pq.read_schema(files[0]).empty_table())
        con.execute("SET enable_external_access = false")
        con.execute(f"SELECT count(*) FROM rows WHERE ({where})")
    except duckdb.Error as e:
        first = str(e).strip().splitlines()[0][:300]
        raise UsageError(f"--where \"{where[:200]}\" is not a condition on the dump's columns: {first}") from None
    finally:
        con.close()


def _fingerprint(meta: DumpInput, cards: DumpInput | None, where: str | None, read: str,
                 profiles: tuple[str, ...]) -> str:
    from openaudit import __version__

    doc = {"metadata": sorted(meta.digests.values()), "cards": sorted(cards.digests.values()) if cards else None,
           "where": where, "read": read, "profiles": list(profiles), "openaudit": __version__}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _prepare(work: Path, parts: list[tuple[Path, int, int]], cards: DumpInput | None, where: str | None,
             threads: int) -> dict[str, Any]:
    """DuckDB: the cards of each part (work/cards/part=N/), and the dump's base models (work/bases.parquet).

    The cards are joined once, on the model id, and split by part, so that each task reads its own
    cards only; base models come from the whole dump (not only what --where keeps), so that a
    fine-tune's base is found however it is filtered. Memory: DuckDB's limit, spilling to work/tmp.
    """
    from openaudit.sources.store import atomic_write

    done = work / "prepared.json"
    if done.is_file():
        return dict(json.loads(done.read_text(encoding="utf-8")))
    files = sorted({str(f) for f, _, _ in parts})
    ranges = _part_ranges(parts)
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    con = _prepare_connection(work, threads)
    try:
        con.register("ranges", ranges)
        out: dict[str, Any] = {"cards": None, "bases": None, "base_rows": 0, "card_rows": 0}
        if cards is not None:
            out["cards"], out["card_rows"] = _prepare_cards(con, work, files, cards, where)
        out["bases"], out["base_rows"] = _prepare_bases(con, work, files)
    finally:
        con.close()
    atomic_write(done, json.dumps(out))
    return out


def _part_ranges(parts: list[tuple[Path, int, int]]) -> Any:
    """An Arrow table (fname, lo, hi, part): each part's rows as a range of row numbers in its file,
    so that DuckDB can tell which part a dump row belongs to by joining on it."""
    import pyarrow as pa

    lo: list[int] = []
    hi: list[int] = []
    names: list[str] = []
    nums: list[int] = []
    offset: dict[str, int] = {}
    for n, (f, _rg, rows) in enumerate(parts):
        start = offset.get(str(f), 0)
        names.append(str(f))
        lo.append(start)
        hi.append(start + rows)
        nums.append(n)
        offset[str(f)] = start + rows
    return pa.table({"fname": names, "lo": lo, "hi": hi, "part": nums})


def _prepare_connection(work: Path, threads: int) -> Any:
    """A DuckDB connection bounded for a shared machine: our threads, 1 GB spilling to work/tmp, and
    no extension fetched from the network."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"SET threads TO {max(1, threads)}")
        con.execute("SET autoinstall_known_extensions = false")  # nothing is fetched from the network
        con.execute("SET memory_limit = '1GB'")
        con.execute("SET preserve_insertion_order = false")
        con.execute(f"SET temp_directory = '{(work / 'tmp').as_posix()}'")
    except BaseException:
        con.close()
        raise
    return con


def _prepare_cards(con: Any, work: Path, files: list[str], cards: DumpInput, where: str | None) -> tuple[str, int]:
    """The cards of the rows --where keeps, joined on the model id and written split by part
    (work/cards/part=N/), so that each task reads its own cards only. Returns (folder, rows)."""
    cond = f"WHERE ({where})" if where else ""
    con.execute(
        "CREATE TEMP TABLE ids AS SELECT m.id, r.part FROM (SELECT id, filename, file_row_number FROM "
        f"read_parquet(?, filename = true, file_row_number = true, union_by_name = true) {cond}) m "
        "JOIN ranges r ON m.filename = r.fname AND m.file_row_number >= r.lo AND m.file_row_number < r.hi",
        [files])
    target = work / "cards"
    con.execute(
        "COPY (SELECT i.part, c.modelId, c.card FROM read_parquet(?, union_by_name = true) c "
        f"JOIN ids i ON c.modelId = i.id) TO '{target.as_posix()}' "
        "(FORMAT parquet, PARTITION_BY (part), OVERWRITE_OR_IGNORE true)",
        [[str(f) for f in cards.files]])
    return str(target), sum(pq_rows(p) for p in target.rglob("*.parquet")) if target.is_dir() else 0


def _prepare_bases(con: Any, work: Path, files: list[str]) -> tuple[str, int]:
    """The rows of every model some row names as its base (base_model:... tags), from the whole dump,
    so that a fine-tune's base is found however --where filters. Returns (work/bases.parquet, rows)."""
    named = ("SELECT DISTINCT string_split(t, ':')[-1] AS b FROM "
             "(SELECT unnest(tags) AS t FROM read_parquet(?, union_by_name = true)) WHERE t LIKE 'base_model:%'")
    bases = work / "bases.parquet"
    con.execute(f"COPY (SELECT * FROM read_parquet(?, union_by_name = true) WHERE id IN ({named})) "
                f"TO '{bases.as_posix()}' (FORMAT parquet)", [files, files])
    return str(bases), pq_rows(bases)


def pq_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)


def _split_budget(budget: int | None, n: int) -> list[int | None]:
    """Each task's share of --max-requests: together never more than the budget."""
    if budget is None:
        return [None] * n
    share, extra = divmod(budget, max(1, n))
    return [share + (1 if i < extra else 0) for i in range(n)]


class _Progress:
    """Models per second and an estimate of the time left, on stderr, as each part finishes."""

    def __init__(self, total_rows: int, total_parts: int, quiet: bool):
        self.total_rows, self.total_parts, self.quiet = total_rows, total_parts, quiet
        self.rows = self.parts = 0
        self.start = time.monotonic()

    def __call__(self, stats: dict[str, Any]) -> None:
        self.parts += 1
        self.rows += int(stats.get("rows_planned", stats.get("rows", 0)))
        if self.quiet:
            return
        spent = max(1e-6, time.monotonic() - self.start)
        rate = self.rows / spent
        left = (self.total_rows - self.rows) / rate if rate > 0 else 0.0
        m, s = divmod(int(left), 60)
        print(f"census: {self.parts}/{self.total_parts} parts, {self.rows:,} of {self.total_rows:,} rows, "
              f"{rate:,.0f} rows/s, about {m}m{s:02d}s left", file=sys.stderr, flush=True)


def run_local(tasks: list[Task], workers: int, done: Callable[[Task, dict[str, Any] | BaseException], None]) -> None:
    """Worker processes on this machine (spawned: the parent has DuckDB's threads), or this process
    alone with `workers` 0."""
    if workers <= 0:
        for t in tasks:
            try:
                got: dict[str, Any] | BaseException = run_partition(t)
            except OpenAuditError:
                raise
            except Exception as e:
                got = e
            done(t, got)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from openaudit.run.workers import _stop

    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=multiprocessing.get_context("spawn"))
    ok = False
    try:
        futures = {pool.submit(run_partition, t): t for t in tasks}
        for fut in as_completed(futures):
            try:
                res: dict[str, Any] | BaseException = fut.result()
            except Exception as e:
                res = e
            done(futures[fut], res)
        ok = True
    finally:
        if ok:
            pool.shutdown(wait=True)
        else:
            _stop(pool)


def run_dask(tasks: list[Task], scheduler: str | None, workers: int,
             done: Callable[[Task, dict[str, Any] | BaseException], None]) -> dict[str, Any]:
    """The same function on a Dask cluster: the one at `scheduler`, else a LocalCluster of `workers`
    single-threaded worker processes. Tasks read and write OUTDIR: remote workers need it at the same path."""
    import logging

    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout=30)
        else:
            cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
            client = Client(cluster)
    except (OSError, TimeoutError) as e:
        raise UsageError(f"--scheduler {scheduler}: no Dask scheduler answered ({type(e).__name__})") from None
    try:
        info = {"scheduler": scheduler or "LocalCluster", "workers": len(client.scheduler_info().get("workers", {}))}
        futures = client.map(run_partition, tasks, pure=False, key=[f"openaudit-census-{t.part:05d}-{t.fingerprint[:8]}"
                                                                   for t in tasks])
        by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
        for fut in as_completed(futures):
            try:
                res: dict[str, Any] | BaseException = fut.result()
            except Exception as e:
                res = e
            done(by_key[fut.key], res)
        return info
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run(dump: str | None, outdir: str | os.PathLike[str], *, cards: str | None = None, where: str | None = None,
        read: str = "none", engine: str = "local", scheduler: str | None = None, max_requests: int | None = None,
        workers: int | None = None, listing: bool = False, profiles: Iterable[str] = (), quiet: bool = False,
        cache_dir: str | os.PathLike[str] | None = None) -> CensusResult:
    """Run a census into `outdir` (see the module doc); resumes a census started there before."""
    _check_options(dump, listing, read, engine, scheduler, max_requests, workers)
    require("duckdb", "pyarrow", *(["distributed"] if engine == "dask" else []))
    from openaudit.run.workers import available_cpus

    started = datetime.now(UTC)
    t0 = time.monotonic()
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    work, results = out / "work", out / "results"
    work.mkdir(exist_ok=True)
    results.mkdir(exist_ok=True)
    meta, dump, max_requests, listed_requests = _metadata_input(dump, listing, out, max_requests, quiet)
    card_in = _checked_inputs(meta, dump, cards, where, out)
    profs = tuple(profiles)
    fp = _fingerprint(meta, card_in, where, read, profs)
    _claim_outdir(work, out, fp, dict(dump=dump, cards=cards, where=where, read=read))
    parts = _plan_parts(meta.files)
    n_workers = workers if workers is not None else min(available_cpus(), 4)
    _say(quiet, f"{len(parts)} parts ({sum(r for _, _, r in parts):,} rows) in {len(meta.files)} file(s); preparing")
    prepared = _prepare(work, parts, card_in, where, max(1, n_workers))
    all_tasks = _tasks(parts, prepared, results, fp, where=where, read=read, cache_dir=cache_dir, profiles=profs)
    todo, reused = _todo(all_tasks, fp, max_requests)
    _drop_strays(results, all_tasks)
    if reused:
        _say(quiet, f"resuming: {reused} part(s) already written, {len(todo)} to do")
    rows_of = {n: r for n, (_f, _rg, r) in enumerate(parts)}
    tally = _Tally(rows_of, _Progress(sum(rows_of[t.part] for t in todo), len(todo), quiet), listed_requests, quiet)
    engine_info = _run_engine(engine, todo, scheduler, n_workers, tally)
    from openaudit.census.summary import write_outputs
    from openaudit.sources.store import atomic_write

    written = len(todo) - len(tally.failed)
    manifest = _manifest(meta, card_in, started, dict(dump=dump, cards=cards, where=where, read=read, engine=engine,
                                                       scheduler=scheduler, max_requests=max_requests,
                                                       workers=n_workers, profiles=list(profs)),
                         tally.totals, engine_info, parts=len(parts), written=written, reused=reused,
                         failed=tally.failed, prepared=prepared, seconds=time.monotonic() - t0, cpu=tally.cpu, fp=fp,
                         worker_peak_mb=tally.peak)
    atomic_write(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    summary = write_outputs(out, quiet=quiet)
    _say(quiet, f"{summary['models']:,} models in {len(parts)} parts; {tally.totals['requests']} Hub requests; "
                f"wrote {out / 'census.html'}")
    return CensusResult(outdir=out, parts=len(parts), written=written, reused=reused, failed=tally.failed,
                        lost=tally.totals["lost"], rows=summary["models"], requests=tally.totals["requests"],
                        summary=summary)


def _check_options(dump: str | None, listing: bool, read: str, engine: str, scheduler: str | None,
                   max_requests: int | None, workers: int | None) -> None:
    """Options that contradict each other or are out of range are usage errors before anything is read."""
    if listing and dump is not None:
        raise UsageError("give either a DUMP or --listing, not both")
    if dump is None and not listing:
        raise UsageError("give a metadata dump (a parquet file, a folder of them, "
                         "or hf://datasets/OWNER/NAME@REV/PATH)")
    if read not in READ_MODES:
        raise UsageError(f"--read must be one of {', '.join(READ_MODES)}; got '{read}'")
    if engine not in ENGINES:
        raise UsageError(f"--engine must be one of {', '.join(ENGINES)}; got '{engine}'")
    if scheduler and engine != "dask":
        raise UsageError("--scheduler is for --engine dask")
    if max_requests is not None and max_requests < 0:
        raise UsageError(f"--max-requests must be at least 0; got {max_requests}")
    if workers is not None and workers < 0:
        raise UsageError(f"--workers must be at least 0; got {workers}")


def _metadata_input(dump: str | None, listing: bool, out: Path, max_requests: int | None,
                    quiet: bool) -> tuple[DumpInput, str, int | None, int]:
    """The metadata dump: the one given, or with --listing one built from the Hub's API (its requests
    come out of --max-requests). Returns (input, the dump as the manifest names it, the budget left,
    the listing's requests)."""
    if not listing:
        assert dump is not None
        return resolve(dump, out, "dump"), dump, max_requests, 0
    from openaudit.census.listing import build_listing

    listed, listed_requests = build_listing(out, max_requests, quiet)
    if max_requests is not None:
        max_requests = max(0, max_requests - listed_requests)
    meta = resolve(str(listed), out, "dump")
    meta.kind = "listing"
    dump = f"--listing ({os.environ.get('HF_ENDPOINT') or 'https://huggingface.co'})"
    return meta, dump, max_requests, listed_requests


def _checked_inputs(meta: DumpInput, dump: str, cards: str | None, where: str | None, out: Path) -> DumpInput | None:
    """The --cards input, once the dumps are known to have the columns a census reads and --where is a
    condition on them: a wrong file is a usage error before any preparation. Returns the cards or None."""
    card_in = resolve(cards, out, "--cards") if cards else None
    cols = _columns(meta.files)
    if "id" not in cols:
        raise UsageError(f"dump '{dump}' has no 'id' column: is it a metadata dump (hub-stats models)?")
    if card_in is not None and not {"modelId", "card"} <= _columns(card_in.files):
        raise UsageError(f"--cards '{cards}' needs the columns modelId and card "
                         "(librarian-bots/model_cards_with_metadata)")
    _check_where(where, meta.files)
    return card_in


def _claim_outdir(work: Path, out: Path, fp: str, plan: dict[str, Any]) -> None:
    """Record this census's fingerprint in work/plan.json; an OUTDIR holding a census of other inputs or
    options is refused, so that a resume never mixes parts of two censuses."""
    from openaudit.sources.store import atomic_write

    plan_path = work / PLAN
    if plan_path.is_file():
        old = json.loads(plan_path.read_text(encoding="utf-8")).get("fingerprint")
        if old != fp:
            raise UsageError(f"'{out}' holds a census of other inputs or options; give a new OUTDIR "
                             "(or the same dump, --cards, --where and --read to resume it)")
    atomic_write(plan_path, json.dumps({"fingerprint": fp, **plan}))


def _tasks(parts: list[tuple[Path, int, int]], prepared: dict[str, Any], results: Path, fp: str, *,
           where: str | None, read: str, cache_dir: str | os.PathLike[str] | None,
           profiles: tuple[str, ...]) -> list[Task]:
    """One Task per part of the plan, each naming its own prepared cards; the snapshot cache is the
    default one when the census reads from the Hub and none was given."""
    endpoint = os.environ.get("HF_ENDPOINT") or None
    if cache_dir is None and read != "none":
        from openaudit.sources.cache import default_cache_dir

        cache_dir = default_cache_dir(endpoint)
    all_tasks = []
    for n, (f, rg, _rows) in enumerate(parts):
        cards_dir = Path(prepared["cards"]) / f"part={n}" if prepared.get("cards") else None
        all_tasks.append(Task(part=n, path=str(f), row_group=rg, results=str(results), fingerprint=fp,
                              cards=str(cards_dir) if cards_dir else None, bases=prepared.get("bases"), where=where,
                              read=read, endpoint=endpoint, cache_dir=str(cache_dir) if cache_dir else None,
                              profiles=profiles))
    return all_tasks


def _todo(all_tasks: list[Task], fp: str, max_requests: int | None) -> tuple[list[Task], int]:
    """The tasks still to run (a part already written whole by this census is kept), each with its share
    of --max-requests. Returns (tasks to run, parts reused)."""
    todo: list[Task] = []
    reused = 0
    for t in all_tasks:
        if part_is_done(t.out, fp):
            reused += 1
        else:
            todo.append(t)
    budgets = _split_budget(max_requests, len(todo))
    return [Task(**{**t.__dict__, "budget": b}) for t, b in zip(todo, budgets, strict=True)], reused


def _drop_strays(results: Path, all_tasks: list[Task]) -> None:
    """A part of this census cannot be beyond its plan: a stray file is deleted, never summarised."""
    stray = {p.name for p in results.glob("part-*.parquet")} - {part_name(t.part) for t in all_tasks}
    for name in stray:
        (results / name).unlink(missing_ok=True)


class _Tally:
    """What the finished parts add up to (the engines call it once per part, in the parent process):
    the request and row totals, CPU time, the workers' peak memory, and the failed parts."""

    def __init__(self, rows_of: dict[int, int], progress: _Progress, listed_requests: int, quiet: bool):
        self.rows_of, self.progress, self.quiet = rows_of, progress, quiet
        self.totals: dict[str, int] = {"rows": 0, "lost": 0, "requests": listed_requests,
                                       "api_requests": listed_requests, "file_requests": 0, "rate_limited": 0}
        self.cpu = 0.0
        self.peak = 0.0
        self.failed: list[str] = []

    def __call__(self, task: Task, got: dict[str, Any] | BaseException) -> None:
        if isinstance(got, BaseException):
            self.failed.append(f"{part_name(task.part)}: {type(got).__name__}: {str(got)[:200]}")
            _say(self.quiet, f"part {task.part} failed: {type(got).__name__}: {textsafe.line(got, 200)}")
            self.progress({"rows_planned": self.rows_of[task.part]})
            return
        for k in self.totals:
            self.totals[k] += int(got.get(k, 0))
        self.cpu += float(got.get("cpu_seconds", 0.0))
        self.peak = max(self.peak, float(got.get("peak_rss_mb", 0.0)))
        self.progress({"rows_planned": self.rows_of[task.part]})


def _run_engine(engine: str, todo: list[Task], scheduler: str | None, n_workers: int,
                done: Callable[[Task, dict[str, Any] | BaseException], None]) -> dict[str, Any]:
    """The tasks to do on the chosen engine; returns what the manifest tells of the engine."""
    engine_info: dict[str, Any] = {"engine": engine}
    if todo:
        if engine == "dask":
            engine_info.update(run_dask(todo, scheduler, n_workers or 2, done))
        else:
            run_local(todo, n_workers, done)
            engine_info["workers"] = n_workers
    return engine_info


def _licence_data() -> dict[str, Any]:
    from openaudit.criteria import criteria_dir
    from openaudit.yamlfile import read_yaml

    path = criteria_dir() / "licenses.yaml"
    raw = path.read_bytes()
    data, _ = read_yaml(path, nodes=False)
    return {"version": data.get("version") if isinstance(data, dict) else None,
            "date": data.get("date") if isinstance(data, dict) else None,
            "sha256": hashlib.sha256(raw).hexdigest()}


def _manifest(meta: DumpInput, cards: DumpInput | None, started: datetime, command: dict[str, Any],
              totals: dict[str, int], engine: dict[str, Any], *, parts: int, written: int, reused: int,
              failed: list[str], prepared: dict[str, Any], seconds: float, cpu: float, fp: str,
              worker_peak_mb: float = 0.0) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    from openaudit import __version__
    from openaudit.audit import resolve_profiles
    from openaudit.flags import load_flags

    def ver(pkg: str) -> str | None:
        try:
            return version(pkg)
        except PackageNotFoundError:
            return None

    profs = resolve_profiles(command.get("profiles") or None)
    notes = ["Licence files are in no dump: unless --read licences, verdicts that rest on them are marked "
             "incomplete (the results' `unread` column names what was not read).",
             "Linked datasets are in no dump: their licence and access are not read.",
             "Base models are linked from the metadata dump when declared (base_model tags); a base named only "
             "in a card's prose is looked up among those."]
    if "gated" not in _columns(meta.files) and command.get("read") == "none":
        notes.append("The metadata dump has no `gated` column: models are audited as not gated (use --read "
                     "cards or licences, which ask the Hub, or a dump with the column).")
    return {
        "census_version": 1,
        "fingerprint": fp,
        "generated_at": started.isoformat(),
        "command": command,
        "inputs": {"metadata": meta.manifest(), "cards": cards.manifest() if cards else None},
        "versions": {"openaudit": __version__, "profiles": [{"id": p.id, "version": p.version, "sha256": p.sha256}
                                                            for p in profs],
                     "flags": load_flags().version, "licence_data": _licence_data(),
                     "duckdb": ver("duckdb"), "pyarrow": ver("pyarrow"), "dask": ver("dask"),
                     "distributed": ver("distributed"), "huggingface_hub": ver("huggingface-hub")},
        "requests": {"total": totals["requests"], "api": totals["api_requests"], "files": totals["file_requests"],
                     "rate_limited": totals["rate_limited"]},
        "parts": {"total": parts, "written": written, "reused": reused, "failed": failed},
        "rows": {"lost_to_transient_failures": totals["lost"], "base_models_table": prepared.get("base_rows", 0),
                 "cards_joined": prepared.get("card_rows", 0)},
        "engine": engine,
        "seconds": round(seconds, 3),
        "cpu_seconds_in_tasks": round(cpu, 3),
        "worker_peak_rss_mb": worker_peak_mb,
        "notes": notes,
    }


def iter_parts(outdir: Path) -> Iterator[Path]:
    yield from sorted((outdir / "results").glob("part-*.parquet"))
