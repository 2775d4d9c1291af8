#!/usr/bin/env python3
"""`openaudit census` at scale (issue 24): synthetic dumps of N rows in the public dumps' schemas.

    python benchmarks/census.py --rows 200000                      # every row audited three ways
    python benchmarks/census.py --rows 200000 --sample 8           # rows with hash(id) % 8 = 0 audited

Three ways of auditing the same rows, each in a child process of its own (peak RSS: VmHWM of that
process, and the largest a census worker reported, see manifest.json):

* **loop**: a plain single-process loop: read the metadata and card parquet with pyarrow, join the
  cards in a dict, and for each row build the snapshot and audit it (the same functions the census
  calls, with no engine, no parts, no DuckDB);
* **local**: `openaudit census --engine local --workers 2` (worker processes);
* **dask**: `openaudit census --engine dask --workers 2` (a LocalCluster of 2 single-threaded workers);
* **inproc** (not by default): `openaudit census --workers 0`, the census's parts in this one process
  (what the engine costs beyond the loop, without a second process).

It prints rows per second (wall) and per core, the CPU seconds per row the tasks spent, peak memory,
the preparation's time (DuckDB: the card join split by part and the bases table, always over every
row of the dump, whatever --sample keeps), and the CPU-hours extrapolated to 2,000,000 models.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def _loop(models: str, cards: str, where: str | None) -> dict[str, float]:
    """The plain single-process loop (run in a child)."""
    import pyarrow.parquet as pq

    from openaudit.api import RunMemo, audit_bundle, fetch_bundle, resolve_profiles
    from openaudit.census.partition import DumpSource, _base_ids, subject_row, unread_of
    from openaudit.census.rows import snapshot_from_row

    t0, c0 = time.monotonic(), time.process_time()
    table = pq.read_table(models)
    if where:
        import duckdb

        con = duckdb.connect()
        con.register("m", table)
        table = con.sql(f"SELECT * FROM m WHERE {where}").to_arrow_table()
    rows = table.to_pylist()
    ids = {r["id"] for r in rows}
    ct = pq.read_table(cards, columns=["modelId", "card"])
    card_of = {m: c for m, c in zip(ct.column("modelId").to_pylist(), ct.column("card").to_pylist(), strict=True)
               if m in ids}
    del ct
    profiles = resolve_profiles(None)
    # The loop needs the base models too: all rows of the dump they name, looked up in the whole dump.
    import pyarrow as pa
    import pyarrow.compute as pc

    everything = pq.read_table(models)
    named = pa.array(sorted(_base_ids(rows)), type=pa.string())
    base_rows = {r["id"]: r for r in everything.filter(pc.is_in(everything["id"], value_set=named)).to_pylist()}
    del everything
    src = DumpSource(None)
    src._rows.update(base_rows)
    memo = RunMemo()
    out = 0
    for r in rows:
        snap = snapshot_from_row(r, card_of.get(r["id"]))
        bundle = fetch_bundle(src, snap, memo)
        subject = audit_bundle(bundle, profiles)
        unread, _ = unread_of(snap, bundle.related_errors)
        subject_row(r, subject, unread)
        out += 1
    return {"rows": out, "seconds": time.monotonic() - t0, "cpu": time.process_time() - c0}


def _child(mode: str, models: str, cards: str, out: str, where: str | None, workers: int) -> None:
    from openaudit.census.partition import peak_rss_mb

    worker_peak = 0.0
    if mode == "loop":
        got = _loop(models, cards, where)
    else:
        from openaudit.census import run

        t0 = time.monotonic()
        engine, n = ("local", 0) if mode == "inproc" else (mode, workers)
        res = run(models, out, cards=cards, where=where, engine=engine, workers=n, quiet=True)
        manifest = json.loads((Path(out) / "manifest.json").read_text())
        got = {"rows": res.rows, "seconds": time.monotonic() - t0, "cpu": manifest["cpu_seconds_in_tasks"],
               "failed": len(res.failed)}
        worker_peak = manifest["worker_peak_rss_mb"] if mode != "inproc" else 0.0
    print(json.dumps({**got, "rss_mb": round(peak_rss_mb(), 1), "worker_rss_mb": worker_peak}))


def _prepare_only(models: str, cards: str, work: str) -> dict[str, float]:
    """The DuckDB preparation alone, over every row (cards split by part, bases table)."""
    from openaudit.census.driver import _plan_parts, _prepare
    from openaudit.census.inputs import resolve

    t0, c0 = time.monotonic(), time.process_time()
    parts = _plan_parts([Path(models)])
    card_in = resolve(cards, Path(work), "--cards")
    _prepare(Path(work), parts, card_in, None, 2)
    return {"seconds": time.monotonic() - t0, "cpu_main_thread": time.process_time() - c0}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--row-group", type=int, default=5_000)
    p.add_argument("--sample", type=int, default=1, help="audit the rows with hash(id) %% SAMPLE = 0 (1: all)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--modes", default="loop,local,dask")
    p.add_argument("--real-cards", action="store_true", help="each card also carries a fixture card's body "
                   "(tests/store_build/texts/cards, ~4.7 KB) instead of the short made-up one alone")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        mode, models, cards, out, where, workers = a.child
        _child(mode, models, cards, out, None if where == "-" else where, int(workers))
        return 0

    from census_dumps import write_dumps

    tmp = Path(tempfile.mkdtemp(prefix="openaudit-census-bench-"))
    t0 = time.monotonic()
    models, cards = write_dumps(tmp / "in", a.rows, row_group_size=a.row_group, real_cards=a.real_cards)
    gen = time.monotonic() - t0
    print(f"generated {a.rows:,} rows in {gen:.1f} s: {models.stat().st_size / 1e6:.1f} MB metadata, "
          f"{cards.stat().st_size / 1e6:.1f} MB cards", file=sys.stderr)
    prep = _prepare_only(str(models), str(cards), str(tmp / "prep"))
    print(f"preparation (DuckDB, all {a.rows:,} rows): {prep['seconds']:.1f} s", file=sys.stderr)
    where = f"hash(id) % {a.sample} = 0" if a.sample > 1 else "-"
    results: dict[str, dict[str, float]] = {}
    for mode in a.modes.split(","):
        out = tmp / f"out-{mode}"
        r = subprocess.run([sys.executable, __file__, "--child", mode, str(models), str(cards), str(out), where,
                            str(a.workers)], capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        if r.returncode != 0:
            print(r.stderr[-3000:], file=sys.stderr)
            return 1
        results[mode] = json.loads(r.stdout.strip().splitlines()[-1])
        m = results[mode]
        print(f"{mode}: {m['rows']:,} rows in {m['seconds']:.1f} s", file=sys.stderr)
    cores = {"loop": 1, "inproc": 1, "local": a.workers, "dask": a.workers}
    print(f"\n{a.rows:,} rows generated; {results[next(iter(results))]['rows']:,} audited "
          f"(sample 1/{a.sample}); row groups of {a.row_group:,}; {os.cpu_count()} cores; "
          f"{'fixture card bodies' if a.real_cards else 'short made-up cards'}\n")
    load = os.getloadavg()[0]
    print(f"load average at the end: {load:.1f} on {os.cpu_count()} cores (a shared machine: wall time is "
          "what the other processes left; CPU time is this run's own)\n")
    print("| way | rows | wall s | rows/s (wall) | rows/s per core (wall) | CPU ms/row (audit tasks) | "
          "rows/s per busy core (CPU) | peak RSS MB (main / worker) | CPU-hours for 2,000,000 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mode, m in results.items():
        rate = m["rows"] / m["seconds"]
        cpu_row = m["cpu"] / max(1, m["rows"])
        print(f"| {mode} | {m['rows']:,} | {m['seconds']:.1f} | {rate:,.0f} | {rate / cores[mode]:,.0f} | "
              f"{1000 * cpu_row:.2f} | {1 / cpu_row if cpu_row else 0:,.0f} | "
              f"{m['rss_mb']:.0f} / {m['worker_rss_mb']:.0f} | {cpu_row * 2_000_000 / 3600:.1f} |")
    print(f"\npreparation (DuckDB) over all {a.rows:,} rows: {prep['seconds']:.1f} s wall "
          f"(extrapolated to 2,000,000: {prep['seconds'] * 2_000_000 / a.rows / 60:.0f} min)")
    print(json.dumps({"rows": a.rows, "sample": a.sample, "prep": prep, "results": results}))
    if not a.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
