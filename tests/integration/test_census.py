"""`openaudit census`: synthetic dumps in the public dumps' exact schemas (tests/census_dumps.py),
audited by the audit code of `openaudit audit`, on worker processes and on a Dask LocalCluster."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

import pyarrow as pa
import pyarrow.parquet as pq
from census_dumps import rows, write_cards, write_dumps, write_models
from fakehub import FakeHub
from typer.testing import CliRunner

from openaudit.census import run
from openaudit.cli import app

N = 160
RG = 40  # rows per row group: 4 parts


def results_of(outdir: Path) -> list[dict[str, Any]]:
    parts = sorted((outdir / "results").glob("part-*.parquet"))
    table = pa.concat_tables([pq.read_table(p) for p in parts])
    return sorted(table.to_pylist(), key=lambda r: r["id"])


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_dumps(tmp_path_factory.mktemp("dumps"), N, row_group_size=RG)


@pytest.fixture(scope="module")
def local_run(dumps: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference census: default local engine (two worker processes)."""
    models, cards = dumps
    out = tmp_path_factory.mktemp("census") / "out"
    res = run(str(models), out, cards=str(cards), workers=2, quiet=True)
    assert res.failed == [] and res.exit_code == 0
    return out


def test_local_engine_writes_every_row_once_with_every_output(local_run: Path, dumps: tuple[Path, Path]) -> None:
    got = results_of(local_run)
    ids = [r["id"] for r in pq.read_table(dumps[0], columns=["id"]).to_pylist()]
    assert sorted(r["id"] for r in got) == sorted(ids)
    assert sorted(p.name for p in (local_run / "results").glob("*.parquet")) == [
        f"part-{i:05d}.parquet" for i in range(N // RG)]
    for name in ("summary.json", "manifest.json", "census.html", "census.md"):
        assert (local_run / name).is_file(), name
    page = (local_run / "census.html").read_text(encoding="utf-8")
    assert "<svg" in page and "<script" not in page.lower() and "http" not in page.split("</style>")[0]
    manifest = json.loads((local_run / "manifest.json").read_text())
    assert manifest["requests"]["total"] == 0
    assert manifest["inputs"]["metadata"]["files"][0]["sha256"]
    assert {p["id"] for p in manifest["versions"]["profiles"]} >= {"openaudit", "mof", "osaid"}
    assert manifest["versions"]["licence_data"]["sha256"]


def test_a_llama_fine_tune_tagged_mit_is_flagged_license_inherited(local_run: Path) -> None:
    """The census links a fine-tune to its base from the dump: the base's licence binds it."""
    data = {r["id"]: (r, card) for r, card in rows(N)}
    got = {r["id"]: r for r in results_of(local_run)}
    cases = [rid for rid, (r, _c) in data.items()
             if "base_model:meta-llama/Llama-3.1-8B" in r["tags"]
             and json.loads(r["cardData"] or "{}").get("license") == "mit"]
    assert cases, "the generator makes Llama fine-tunes tagged MIT"
    for rid in cases:
        assert "license-inherited" in got[rid]["flags"], rid


def test_census_row_equals_audit_of_the_same_snapshot(local_run: Path, tmp_path: Path) -> None:
    """No second implementation: a row's verdicts are what `openaudit audit` says of the same snapshot
    replayed from a store (README from the card dump, the base model beside it)."""
    from census_dumps import BASES

    from openaudit.api import audit_models
    from openaudit.census.rows import snapshot_from_row
    from openaudit.sources.store import write_snapshot

    data = {r["id"]: (r, card) for r, card in rows(N)}
    pick = next(rid for rid, (r, card) in data.items() if card and "base_model:mistralai/Mistral-7B-v0.1" in r["tags"]
                and "datasets" not in (r["cardData"] or ""))
    store = tmp_path / "store"
    for rid in (pick, BASES[1]["id"]):
        r, card = data[rid]
        snap = snapshot_from_row(r, card if rid == pick else None)
        write_snapshot(store, snap.model_copy(update={"revision": "b" * 40, "info": {**snap.info, "sha": "b" * 40}}))
    subject = audit_models([pick], snapshots=store).subjects[0]
    row = next(r for r in results_of(local_run) if r["id"] == pick)
    assert row["score"] == subject.score
    for dim in ("weights", "code", "data", "license", "documentation"):
        assert row[dim] == subject.dimensions[dim].verdict, dim
    assert row["osaid"] == subject.frameworks["osaid"].verdict
    assert row["mof"] == (subject.frameworks["mof"].mof_class or "none")
    assert set(row["flags"]) == {f.id for f in subject.flags}
    assert row["license_key"] == (subject.license.key if subject.license else None)


def test_unread_licence_files_mark_the_row_incomplete(local_run: Path) -> None:
    data = {r["id"]: r for r, _ in rows(N)}
    for row in results_of(local_run):
        listed = [s["rfilename"] for s in data[row["id"]]["siblings"]]
        if "LICENSE" in listed:
            assert row["status"] == "incomplete" and "LICENSE" in row["unread"], row["id"]
            assert "--read none" in row["reason"]
        elif row["unread"] == []:
            assert row["status"] == "audited", row["id"]


def test_summary_figures_match_a_plain_recomputation(local_run: Path) -> None:
    s = json.loads((local_run / "summary.json").read_text())
    got = results_of(local_run)
    assert s["models"] == len(got)
    assert s["downloads"] == sum(r["downloads"] for r in got)
    flag_n: Counter[str] = Counter(f for r in got for f in r["flags"])
    flag_d: Counter[str] = Counter()
    for r in got:
        for f in r["flags"]:
            flag_d[f] += r["downloads"]
    for f in s["flags"]:
        assert f["models"] == flag_n.get(f["id"], 0), f["id"]
        assert f["downloads"] == flag_d.get(f["id"], 0), f["id"]
    assert sum(flag_n.values()) > 0
    matrix = Counter((r["license_category"], r["osaid"] or "not audited") for r in got)
    assert {(m["license_category"], m["osaid"]): m["models"] for m in s["license_category_x_osaid"]} == dict(matrix)
    owc = [r for r in got if r["weights"] == "open" and r["data"] == "closed"]
    assert s["open_weights_closed_data"]["models"] == len(owc)
    assert s["open_weights_closed_data"]["downloads"] == sum(r["downloads"] for r in owc)
    by_org = Counter(r["author"] for r in got)
    top = s["top_organisations"]["by_models"][0]
    assert top["models"] == max(by_org.values()) and by_org[top["organisation"]] == top["models"]
    status = Counter(r["status"] for r in got)
    assert s["status"] == dict(status)


def test_where_audits_only_the_rows_it_keeps(dumps: tuple[Path, Path], tmp_path: Path) -> None:
    models, cards = dumps
    res = run(str(models), tmp_path / "o", cards=str(cards), where="downloads > 20 AND author <> 'acme-ai'",
              workers=0, quiet=True)
    assert res.exit_code == 0
    want = sorted(r["id"] for r in pq.read_table(models).to_pylist()
                  if r["downloads"] > 20 and r["author"] != "acme-ai")
    assert 0 < len(want) < N
    assert [r["id"] for r in results_of(tmp_path / "o")] == want


def test_resume_skips_the_parts_already_written(dumps: tuple[Path, Path], tmp_path: Path) -> None:
    models, cards = dumps
    out = tmp_path / "o"
    run(str(models), out, cards=str(cards), workers=0, quiet=True)
    first = results_of(out)
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "results").glob("*.parquet")}
    (out / "results" / "part-00002.parquet").unlink()
    res = run(str(models), out, cards=str(cards), workers=0, quiet=True)
    assert (res.reused, res.written) == (N // RG - 1, 1)
    for name, mtime in kept.items():
        if name != "part-00002.parquet":
            assert (out / "results" / name).stat().st_mtime_ns == mtime, name
    assert results_of(out) == first
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["parts"]["reused"] == N // RG - 1


def test_other_options_in_the_same_outdir_are_refused(dumps: tuple[Path, Path], tmp_path: Path) -> None:
    models, _cards = dumps
    run(str(models), tmp_path / "o", workers=0, quiet=True)
    res = CliRunner().invoke(app, ["census", str(models), "-o", str(tmp_path / "o"), "--where", "downloads > 5"])
    assert res.exit_code == 2
    assert "other inputs or options" in res.output


@pytest.mark.slow
def test_a_killed_run_resumes_where_it_stopped(tmp_path: Path) -> None:
    models, cards = write_dumps(tmp_path / "in", 600, row_group_size=50)  # 12 parts
    out = tmp_path / "o"
    cmd = [sys.executable, "-m", "openaudit", "census", str(models), "--cards", str(cards), "-o", str(out),
           "--workers", "0", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((out / "results").glob("part-*.parquet"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    done = sorted(p.name for p in (out / "results").glob("part-*.parquet"))
    assert 2 <= len(done) < 12, "the run was killed midway"
    for p in (out / "results").glob("part-*.parquet"):
        pq.read_table(p)  # every part there is whole
    res = run(str(models), out, cards=str(cards), workers=0, quiet=True)
    assert res.reused >= len(done) and res.reused + res.written == 12
    reference = tmp_path / "ref"
    run(str(models), reference, cards=str(cards), workers=0, quiet=True)
    assert results_of(out) == results_of(reference)


def test_read_none_sends_no_request(dumps: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    store_dir: Path) -> None:
    models, cards = dumps
    with FakeHub(store_dir) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        res = run(str(models), tmp_path / "o", cards=str(cards), read="none", workers=0, quiet=True)
        assert hub.requests == []
    assert res.requests == 0 and res.exit_code == 0


def _licensed_dump(tmp_path: Path, repo_writer: Any) -> tuple[Path, Path, str]:
    """A dump whose first made-up model lists a LICENSE, and a store serving that model at a commit."""
    data = rows(12)
    row, card = next((r, c) for r, c in data[5:] if c and "LICENSE" not in [s["rfilename"] for s in r["siblings"]])
    row["siblings"] = [*row["siblings"], {"rfilename": "LICENSE"}]
    rid = row["id"]
    apache = (Path(__file__).parents[1] / "license_corpus").glob("*apache*")
    text = next((p.read_text(encoding="utf-8") for p in apache if p.is_file()), "Apache License\nVersion 2.0\n")
    store = tmp_path / "store"
    info = {"id": rid, "sha": "c" * 40, "gated": False, "cardData": json.loads(row["cardData"]),
            "tags": row["tags"], "siblings": [{"rfilename": s["rfilename"]} for s in row["siblings"]]}
    repo_writer(store, rid, info, {"README.md": card, "LICENSE": text})
    models = write_models(tmp_path / "in" / "models.parquet", data, row_group_size=6)
    write_cards(tmp_path / "in" / "cards.parquet", data)
    return models, store, rid


def test_read_licences_reads_them_pinned_from_the_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      repo_writer: Any) -> None:
    models, store, rid = _licensed_dump(tmp_path, repo_writer)
    cards = tmp_path / "in" / "cards.parquet"
    with FakeHub(store) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        res = run(str(models), tmp_path / "o", cards=str(cards), read="licences", where=f"id = '{rid}'",
                  workers=0, quiet=True, cache_dir=tmp_path / "cache")
        paths = [r["path"] for r in hub.requests]
    assert res.exit_code == 0
    assert any(p.startswith(f"/api/models/{rid}") for p in paths)
    assert f"/{rid}/resolve/{'c' * 40}/LICENSE" in paths  # pinned to the commit the API named
    (row,) = results_of(tmp_path / "o")
    assert row["unread"] == [] and row["status"] == "audited" and row["revision"] == "c" * 40
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["requests"]["total"] == len(paths) and manifest["requests"]["files"] >= 1


def test_a_spent_budget_leaves_rows_incomplete_and_exit_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          repo_writer: Any) -> None:
    models, store, rid = _licensed_dump(tmp_path, repo_writer)
    with FakeHub(store) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        res = CliRunner().invoke(app, ["census", str(models), "--read", "licences",
                                       "--where", f"id = '{rid}'", "--max-requests", "0", "--workers", "0",
                                       "-q", "-o", str(tmp_path / "o")])
        assert hub.requests == []
    assert res.exit_code == 3
    (row,) = results_of(tmp_path / "o")
    assert row["status"] == "incomplete" and row["reason"].startswith("budget:")
    # Run again with room: the part that lost a row to the budget is done again, the others are kept.
    with FakeHub(store) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        again = run(str(models), tmp_path / "o", read="licences", where=f"id = '{rid}'", workers=0, quiet=True,
                    cache_dir=tmp_path / "cache")
        assert any("/resolve/" in r["path"] for r in hub.requests)
    assert again.exit_code == 0 and again.written == 1 and again.reused == again.parts - 1
    (row,) = results_of(tmp_path / "o")
    assert row["status"] == "audited" and row["unread"] == [] and row["revision"] == "c" * 40


def test_hf_dataset_dump_is_pinned_and_kept(dumps: tuple[Path, Path], local_run: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, repo_writer: Any) -> None:
    """hf://datasets/OWNER/NAME@REV/PATH through huggingface_hub, against the fake Hub serving the
    parquet files as dataset files at an older commit."""
    models, cards = dumps
    store = tmp_path / "store"
    old, new = "d" * 40, "e" * 40
    sibs = [{"rfilename": "models/2026-11-30/models.parquet"}, {"rfilename": "README.md"}]
    repo_writer(store, "census-bot/hub-stats", {"siblings": sibs, "sha": new}, {"README.md": "# stats\n"},
                repo_type="dataset")
    repo_writer(store, "census-bot/hub-stats", {"siblings": sibs},
                {"models/2026-11-30/models.parquet": models.read_bytes(), "README.md": "# stats\n"},
                repo_type="dataset", revision=old)
    repo_writer(store, "census-bot/cards", {"siblings": [{"rfilename": "data/train-0.parquet"}], "sha": "f" * 40},
                {"data/train-0.parquet": cards.read_bytes()}, repo_type="dataset")
    with FakeHub(store) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        res = run(f"hf://datasets/census-bot/hub-stats@{old}/models", tmp_path / "o",
                  cards="hf://datasets/census-bot/cards/data", workers=0, quiet=True)
    assert res.exit_code == 0
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    meta = manifest["inputs"]["metadata"]
    assert (meta["repo"], meta["commit"], meta["kind"]) == ("census-bot/hub-stats", old, "hf")
    assert manifest["inputs"]["cards"]["commit"] == "f" * 40
    assert list((tmp_path / "o" / "inputs").rglob("models.parquet"))  # a copy is kept with the census
    assert results_of(tmp_path / "o") == results_of(local_run)


def test_bad_input_is_a_usage_error(dumps: tuple[Path, Path], tmp_path: Path) -> None:
    models, cards = dumps
    runner = CliRunner()
    cases = [
        (["census", str(models), "-o", str(tmp_path / "a"), "--where", "no_such_column > 1"], "no_such_column"),
        (["census", str(models), "-o", str(tmp_path / "b"), "--read", "everything"], "--read"),
        (["census", str(models), "-o", str(tmp_path / "f"), "--where",
          "downloads > (SELECT count(*) FROM read_csv('/etc/passwd'))"], "disabled"),
        (["census", str(tmp_path / "nothing.parquet"), "-o", str(tmp_path / "c")], "neither"),
        (["census", str(cards), "-o", str(tmp_path / "d")], "no 'id' column"),
        (["census", "hf://models/x", "-o", str(tmp_path / "e")], "hf://datasets/"),
    ]
    for args, words in cases:
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert words in res.output and "Traceback" not in res.output


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from openaudit.census import require
    from openaudit.errors import UsageError

    monkeypatch.setitem(sys.modules, "duckdb", None)
    with pytest.raises(UsageError, match=r"openaudit\[census\]"):
        require("duckdb")


def test_diff_of_two_censuses_tells_what_changed(tmp_path: Path) -> None:
    data = rows(40)
    victim = next(r for r, _ in data[5:] if json.loads(r["cardData"] or "{}").get("license") == "apache-2.0")
    a_models = write_models(tmp_path / "a" / "models.parquet", data)
    run(str(a_models), tmp_path / "ca", workers=0, quiet=True)
    later = [(dict(r, cardData=json.dumps({**json.loads(r["cardData"]), "license": "cc-by-nc-4.0"}),
                   tags=[t for t in r["tags"] if not t.startswith("license:")] + ["license:cc-by-nc-4.0"])
              if r["id"] == victim["id"] else r, c) for r, c in data[:-1]]
    b_models = write_models(tmp_path / "b" / "models.parquet", later)
    run(str(b_models), tmp_path / "cb", workers=0, quiet=True)
    res = CliRunner().invoke(app, ["diff", str(tmp_path / "ca"), str(tmp_path / "cb"), "-f", "json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["removed"] == 1 and d["removed_ids"] == [data[-1][0]["id"]] and d["added"] == 0
    (m,) = [m for m in d["models"] if m["id"] == victim["id"]]
    lic = next(c for c in m["changes"] if c["field"] == "license_key")
    assert (lic["old"].lower(), lic["new"].lower(), lic["direction"]) == ("apache-2.0", "cc-by-nc-4.0", "down")
    assert d["regressions"] >= 1
    res = CliRunner().invoke(app, ["diff", str(tmp_path / "ca"), str(tmp_path / "cb"), "--fail-on-regression"])
    assert res.exit_code == 1


@pytest.mark.slow
def test_dask_local_cluster_equals_the_local_run_row_for_row(dumps: tuple[Path, Path], local_run: Path,
                                                             tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    models, cards = dumps
    res = run(str(models), tmp_path / "o", cards=str(cards), engine="dask", workers=2, quiet=True)
    assert res.exit_code == 0 and res.written == N // RG
    assert results_of(tmp_path / "o") == results_of(local_run)
    for i in range(N // RG):
        name = f"part-{i:05d}.parquet"
        assert pq.read_table(tmp_path / "o" / "results" / name).equals(pq.read_table(local_run / "results" / name))
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["engine"]["engine"] == "dask" and manifest["engine"]["workers"] == 2
    assert json.loads((tmp_path / "o" / "summary.json").read_text()) == json.loads(
        (local_run / "summary.json").read_text())


def test_listing_builds_the_table_from_the_api_with_sha_and_gated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  store_dir: Path) -> None:
    listed = {}
    for info_path in sorted((store_dir / "models").glob("*/*/info.json")):
        info = json.loads(info_path.read_text(encoding="utf-8"))
        if info.get("id") == f"{info_path.parent.parent.name}/{info_path.parent.name}":
            listed[info["id"]] = info
    with FakeHub(store_dir, page_size=3) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        res = run(None, tmp_path / "o", listing=True, workers=0, quiet=True)
        paths = [r["path"] for r in hub.requests]
    assert res.exit_code == 0
    assert paths and all(p == "/api/models" for p in paths)  # the listing only: --read none reads no file
    assert len(paths) == -(-len(listed) // 3)  # one request per page
    got = {r["id"]: r for r in results_of(tmp_path / "o")}
    assert set(got) == set(listed)
    for rid, info in listed.items():
        assert got[rid]["revision"] == info["sha"], rid
        assert got[rid]["gated"] == str(info.get("gated", False)).lower(), rid
    gated = [rid for rid, info in listed.items() if info.get("gated") not in (False, None)]
    assert gated and all("gated-access" in got[rid]["flags"] for rid in gated)
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["inputs"]["metadata"]["kind"] == "listing" and manifest["requests"]["total"] == len(paths)
    # Run again: the census resumes from the listing it kept, with no new request.
    with FakeHub(store_dir, page_size=3) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        again = run(None, tmp_path / "o", listing=True, workers=0, quiet=True)
        assert hub.requests == []
    assert again.reused == res.parts


def test_hostile_rows_are_kept_and_the_page_escapes_them(tmp_path: Path) -> None:
    """Dumps are untrusted: a bad id is a skipped row with its reason, bad JSON is no metadata, an
    oversized card is unreadable, and no string of a dump reaches the page unescaped."""
    data = rows(12)
    evil = "<img src=x onerror=alert(1)>"
    bad_id = dict(data[6][0], id="../../etc/passwd")
    bad_json = dict(data[7][0], cardData="{not json", author=evil)
    huge = (dict(data[8][0]), "---\nlicense: mit\n---\n" + "x" * (3 * 1024 * 1024))
    hostile = [*data[:6], (bad_id, None), (bad_json, data[7][1]), huge, *data[9:]]
    models = write_models(tmp_path / "in" / "models.parquet", hostile)
    cards = write_cards(tmp_path / "in" / "cards.parquet", hostile)
    res = run(str(models), tmp_path / "o", cards=str(cards), workers=0, quiet=True)
    assert res.exit_code == 0 and res.rows == len(hostile)
    got = {r["id"]: r for r in results_of(tmp_path / "o")}
    assert got["../../etc/passwd"]["status"] == "skipped" and "invalid" in got["../../etc/passwd"]["reason"]
    assert got[bad_json["id"]]["status"] in ("audited", "incomplete")
    assert "README.md" not in got[huge[0]["id"]]["unread"]  # read, and too large: not "not read"
    page = (tmp_path / "o" / "census.html").read_text(encoding="utf-8")
    assert evil not in page and "&lt;img src=x" in page
    assert evil not in (tmp_path / "o" / "census.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_sigterm_ends_the_run_keeping_its_parts(tmp_path: Path) -> None:
    # 24 parts: a run of some seconds, so that under a loaded CI machine the signal still arrives while
    # parts are left (with 12, the faster audits of issue 23 once finished them all first: exit 3).
    models, cards = write_dumps(tmp_path / "in", 1200, row_group_size=50)
    out = tmp_path / "o"
    proc = subprocess.Popen([sys.executable, "-m", "openaudit", "census", str(models), "--cards", str(cards),
                             "-o", str(out), "--workers", "0", "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list((out / "results").glob("part-*.parquet")):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    kept = list((out / "results").glob("part-*.parquet"))
    assert 1 <= len(kept) < 24
    res = run(str(models), out, cards=str(cards), workers=0, quiet=True)
    assert res.reused == len(kept)


def test_census_progress_is_one_escaped_line_per_message(capsys: pytest.CaptureFixture[str]) -> None:
    # A failed part's message can quote a dump row: an id with a newline must not start a workflow command.
    from openaudit.census.driver import _say

    _say(False, "part 3 failed: ValueError: bad id 'a/b\n::error title=x::pwned'")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\n::error" not in err and "\\n::error" in err
