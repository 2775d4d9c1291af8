"""`openaudit org` at Hub scale (issue 7): request counts from the fake hub's log, never timings.

The real huggingface_hub session runs against tests/fakehub.py (a subprocess); nothing is mocked.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from openaudit.cli import app
from openaudit.run.linker import RunMemo
from openaudit.snapshot import RepoSnapshot

ORG = "synth-org"
N = 30
GATED = {3, 17, 25}  # gated models: no file request without a token
APACHE = "Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/\n" + "TERMS AND CONDITIONS\n" * 20
MIT = "MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy...\n"


def _card(i: int, *, datasets: list[str], base: str | None, license_id: str) -> str:
    meta = [f"license: {license_id}", "library_name: transformers", "pipeline_tag: text-generation"]
    if datasets:
        meta.append("datasets:\n" + "".join(f"- {d}\n" for d in datasets).rstrip())
    if base:
        meta.append(f"base_model: {base}")
    body = (f"# model-{i:02d}\n\nA synthetic model number {i}.\n\n## Training\n\nTrained on public web text.\n\n"
            "## Evaluation\n\nMMLU 50.\n\n## Limitations\n\nIt makes mistakes.\n")
    return "---\n" + "\n".join(meta) + "\n---\n" + body


def build_org(store: Path, repo_writer: Any, n: int = N) -> dict[str, Any]:
    """`n` models: distinct READMEs, two shared LICENSE blobs, a shared dataset, in-org base models."""
    readme_blobs: dict[str, str] = {}
    created = []
    for i in range(n):
        rid = f"{ORG}/model-{i:02d}"
        license_id = "apache-2.0" if i % 3 else "mit"
        datasets = ["synth-data/corpus"] if i % 2 == 0 else []
        base = f"{ORG}/model-00" if i % 5 == 4 else None
        readme = _card(i, datasets=datasets, base=base, license_id=license_id)
        files: dict[str, str] = {"README.md": readme}
        if i % 4 != 3:
            files["LICENSE"] = APACHE if license_id == "apache-2.0" else MIT
        sibs = [{"rfilename": ".gitattributes"}, {"rfilename": "config.json"}, {"rfilename": "model.safetensors"},
                *({"rfilename": p} for p in files)]
        tags = ["transformers", "safetensors", f"license:{license_id}", *(f"dataset:{d}" for d in datasets)]
        if base:
            tags.append(f"base_model:finetune:{base}")
        day = 1 + i % 28
        month = 1 + i // 10
        info = {
            "sha": f"{i:040x}",
            "gated": "manual" if i in GATED else False,
            "private": False,
            "disabled": False,
            "tags": tags,
            "library_name": "transformers",
            "pipeline_tag": "text-generation",
            "createdAt": f"2024-{month:02d}-{day:02d}T00:00:00.000Z",
            "lastModified": f"2024-{month:02d}-{day:02d}T12:00:00.000Z",
            "cardData": {"license": license_id, **({"datasets": datasets} if datasets else {}),
                         **({"base_model": base} if base else {})},
            "safetensors": {"parameters": {"BF16": 1_000_000 + i}, "total": 1_000_000 + i},
            "config": {"architectures": ["LlamaForCausalLM"], "model_type": "llama"},
            "siblings": sibs,
        }
        repo_writer(store, rid, info, files)
        if i not in GATED:
            readme_blobs[rid] = readme
        created.append(rid)
    repo_writer(store, "synth-data/corpus",
                {"sha": "d" * 40, "gated": False, "private": False, "tags": ["license:odc-by"],
                 "cardData": {"license": "odc-by"}, "siblings": [{"rfilename": "README.md"}]},
                {"README.md": "---\nlicense: odc-by\n---\n# corpus\n\nPublic web text.\n"}, repo_type="dataset")
    return {"ids": created, "distinct_readmes": len(set(readme_blobs.values()))}


@pytest.fixture(scope="module")
def org_store(tmp_path_factory: pytest.TempPathFactory, repo_writer: Any) -> tuple[Path, dict[str, Any]]:
    store = tmp_path_factory.mktemp("org-store")
    return store, build_org(store, repo_writer)


def run(monkeypatch: pytest.MonkeyPatch, url: str | None, *args: str) -> tuple[int, dict[str, Any] | None, str]:
    if url:
        monkeypatch.setenv("HF_ENDPOINT", url)
    out_args = list(args)
    report_path = None
    if "-o" not in args:
        report_path = Path(monkeypatch_tmp()) / "report.json"
        out_args += ["-f", "json", "-o", str(report_path)]
    res = CliRunner().invoke(app, out_args)
    report = json.loads(report_path.read_text()) if report_path and report_path.exists() else None
    return res.exit_code, report, res.output + (res.stderr if hasattr(res, "stderr") else "")


_TMP: list[Path] = []


def monkeypatch_tmp() -> Path:
    return _TMP[-1]


@pytest.fixture(autouse=True)
def _tmp_out(tmp_path: Path) -> None:
    _TMP.append(tmp_path)


def files_requested(reqs: list[dict[str, Any]]) -> list[str]:
    return [r["path"] for r in reqs if r["bucket"] == "resolvers"]


def api_requested(reqs: list[dict[str, Any]]) -> list[str]:
    return [r["path"] for r in reqs if r["bucket"] == "api" and r["path"] != "/api/agent-harnesses"]


# ---- request counts ---------------------------------------------------------------------------------
def test_card_depth_one_listing_one_readme_per_blob_then_warm_run_reads_nothing(
    org_store: tuple[Path, dict[str, Any]], fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store, meta = org_store
    hub = fakehub(store, fresh=True)
    cache = tmp_path / "cache"
    mark = hub.mark()
    code, report, _ = run(monkeypatch, hub.url, "org", ORG, "--depth", "card", "--cache-dir", str(cache))
    reqs = hub.since(mark)
    assert report is not None and len(report["subjects"]) == N  # every listed model is reported
    # One API request: the listing page. No model_info, no dataset_info at depth card.
    assert api_requested(reqs) == ["/api/models"]
    listing = next(r for r in reqs if r["path"] == "/api/models")
    assert "author=synth-org" in listing["query"] and "expand=siblings" in listing["query"]
    # README reads only, pinned to the listed sha, at most one per distinct blob, none for gated repos.
    files = files_requested(reqs)
    assert all(p.endswith("/README.md") for p in files)
    assert len(files) <= meta["distinct_readmes"] == N - len(GATED)
    assert all(f"/resolve/{i:040x}/" in p for p in files for i in [int(p.split("/")[2][-2:])])
    assert not any(f"model-{i:02d}/" in p for p in files for i in GATED)
    assert all(r["method"] == "GET" for r in reqs)  # no HEAD before GET
    # Gated without a token: audited on public metadata, incomplete (exit 3) with the reason.
    gated = [s for s in report["subjects"] if int(s["repo_id"][-2:]) in GATED]
    assert {s["status"] for s in gated} == {"incomplete"} and all("gated" in s["reason"] for s in gated)
    assert code == 3

    # Warm run on unchanged repos: the listing page only, no file request, same verdicts.
    mark = hub.mark()
    code2, report2, _ = run(monkeypatch, hub.url, "org", ORG, "--depth", "card", "--cache-dir", str(cache))
    reqs2 = hub.since(mark)
    assert api_requested(reqs2) == ["/api/models"] and files_requested(reqs2) == []
    assert code2 == code
    assert [(s["repo_id"], s["score"], s["status"]) for s in report2["subjects"]] == [
        (s["repo_id"], s["score"], s["status"]) for s in report["subjects"]]
    # The cache is a snapshot store: it replays with --snapshots and no network.
    assert (cache / "models" / ORG / "model-00" / "info.json").is_file()
    assert (cache / "models" / ORG / "model-00" / "files" / "README.md").is_file()


def test_full_depth_reads_licences_and_resolves_linked_repos_once(
    org_store: tuple[Path, dict[str, Any]], fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store, _ = org_store
    hub = fakehub(store, fresh=True)
    code, report, _ = run(monkeypatch, hub.url, "org", ORG, "--cache-dir", str(tmp_path / "c"), "--jobs", "6")
    reqs = hub.requests()
    api = api_requested(reqs)
    # The listing, then the shared dataset once (15 models name it); the in-org base model is never
    # looked up again: the listing already gave it.
    assert api.count("/api/models") == 1
    assert api.count("/api/datasets/synth-data/corpus") == 1
    assert not any(p.startswith(f"/api/models/{ORG}/") for p in api)
    files = files_requested(reqs)
    assert files.count("/datasets/synth-data/corpus/resolve/" + "d" * 40 + "/README.md") == 1
    # One GET per readable text file of each non-gated model (a list item has no blob id to dedupe on).
    expected = sum(1 + (i % 4 != 3) for i in range(N) if i not in GATED) + 1
    assert len(files) == expected == len(set(files))
    subj = {s["repo_id"]: s for s in report["subjects"]}
    assert len(subj) == N and code == 3  # the gated ones are incomplete
    assert subj[f"{ORG}/model-04"]["lineage"] and subj[f"{ORG}/model-04"]["lineage"][0]["found"] is True


def test_a_linked_repo_whose_licence_blob_was_already_read_is_not_read_again(
    tmp_path: Path, repo_writer: Any, fakehub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list item has no blob ids, but a linked base's metadata (`blobs=true`) has: its LICENSE,
    the same blob as the one the org's model served, is taken from that read, not fetched again."""
    store = tmp_path / "store"
    build_org(store, repo_writer, n=2)  # model-01: Apache-2.0 LICENSE, no base
    card = "---\nlicense: apache-2.0\nbase_model: ext-lab/base\n---\n# fine-tune\n\nFine-tuned.\n"
    repo_writer(store, f"{ORG}/tuned", {"sha": "e" * 40, "gated": False, "cardData": {"license": "apache-2.0",
                "base_model": "ext-lab/base"}, "tags": ["license:apache-2.0", "base_model:finetune:ext-lab/base"],
                "safetensors": {"total": 10}, "siblings": [{"rfilename": "README.md"}, {"rfilename": "LICENSE"},
                                                           {"rfilename": "model.safetensors"}]},
                {"README.md": card, "LICENSE": APACHE})
    repo_writer(store, "ext-lab/base", {"sha": "b" * 40, "gated": False, "cardData": {"license": "apache-2.0"},
                "tags": ["license:apache-2.0"], "safetensors": {"total": 10},
                "siblings": [{"rfilename": "README.md"}, {"rfilename": "LICENSE"}, {"rfilename": "model.safetensors"}]},
                {"README.md": "---\nlicense: apache-2.0\n---\n# base\n", "LICENSE": APACHE})
    hub = fakehub(store, fresh=True)
    code, report, out = run(monkeypatch, hub.url, "org", ORG, "--include", "tuned", "--cache-dir",
                            str(tmp_path / "c"), "--processes", "0")
    files = files_requested(hub.requests())
    assert code == 0 and report is not None, out
    assert f"/{ORG}/tuned/resolve/{'e' * 40}/LICENSE" in files
    assert f"/ext-lab/base/resolve/{'b' * 40}/README.md" in files  # its own README: a blob not seen before
    assert not [p for p in files if p.startswith("/ext-lab/base/") and p.endswith("/LICENSE")]
    cached = list((tmp_path / "c").rglob("ext-lab/base/**/files/LICENSE"))
    assert [p.read_text(encoding="utf-8") for p in cached] == [APACHE]  # the base has its LICENSE all the same
    (lineage,) = report["subjects"][0]["lineage"]
    assert lineage["id"] == "ext-lab/base" and lineage["found"] is True


# ---- rate limits and budgets -----------------------------------------------------------------------
def test_429_with_ratelimit_reset_is_waited_out(
    tmp_path: Path, repo_writer: Any, fakehub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    build_org(store, repo_writer, n=3)  # models 0-2: none gated
    # 1 request per bucket per 2 seconds, and another client has just spent the resolvers window:
    # the run's first README reads get 429 with `RateLimit: "resolvers";r=0;t=2` (a run that was
    # told the window is spent does not send into it, so the 429 has to come from elsewhere).
    hub = fakehub(store, fresh=True, rate_limit="1/2")
    urllib.request.urlopen(f"{hub.url}/{ORG}/model-00/resolve/main/README.md", timeout=10).read()
    mark = hub.mark()
    code, report, out = run(monkeypatch, hub.url, "org", ORG, "--depth", "card", "--cache-dir", str(tmp_path / "c"),
                            "--jobs", "3")
    reqs = hub.since(mark)
    limited = [r for r in reqs if r["status"] == 429]
    assert limited, "the fake hub should have rate limited some requests"
    assert f", {len(limited)} of them rate-limited (HTTP 429) and retried after the wait;" in out  # told on stderr
    assert code == 0 and report is not None
    assert [s["status"] for s in report["subjects"]] == ["audited"] * 3
    ok = [r["path"] for r in reqs if r["bucket"] == "resolvers" and r["status"] == 200]
    assert sorted(ok) == sorted(set(ok)) and len(ok) == 3  # each README read once, in the end


def test_a_window_smaller_than_jobs_is_kept_to_after_its_first_429s(
    tmp_path: Path, repo_writer: Any, fakehub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 threads, 3 file reads per window. Before any answer the run cannot know the window, so
    some of its first burst get 429s. After that it sends what the Hub says is left and, once a
    window resets, its quota: the threads held by the pause do not all fire into the new window
    (which gave 429s at every reset, and lost models once their retries ran out)."""
    store = tmp_path / "store"
    build_org(store, repo_writer, n=8)  # 7 READMEs to read at depth card (model-03 is gated)
    hub = fakehub(store, fresh=True, rate_limit="3/1")
    code, report, _ = run(monkeypatch, hub.url, "org", ORG, "--depth", "card", "--cache-dir", str(tmp_path / "c"),
                          "--jobs", "8")
    assert code == 3 and report is not None  # 3: the gated model, audited on its metadata
    assert [s["status"] for s in report["subjects"]] == ["audited"] * 3 + ["incomplete"] + ["audited"] * 4
    assert not [s for s in report["subjects"] if (s["reason"] or "").startswith("rate")]
    files = [r for r in hub.requests() if r["bucket"] == "resolvers"]
    assert sum(r["status"] == 200 for r in files) == 7
    limited = [r for r in files if r["status"] == 429]
    assert len(limited) <= 7 - 3  # the first burst's only
    first_ok = min(r["t"] for r in files if r["status"] == 200)
    assert all(r["t"] < first_ok + 0.9 for r in limited)  # all in the first window


def test_without_jobs_the_run_keeps_to_the_hubs_windows_loses_no_model_and_sends_no_429_storm(
    tmp_path: Path, repo_writer: Any, fakehub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No --jobs: how many requests are in flight follows the Hub's RateLimit headers (10 file reads
    a second here, 27 READMEs to read): more while a window is far from spent, fewer near it, none
    once it is. Every model is audited, each README read once, and no window is sent into past its quota."""
    store = tmp_path / "store"
    build_org(store, repo_writer)  # 30 models, 3 gated: 27 READMEs at depth card
    hub = fakehub(store, fresh=True, rate_limit="10/1")
    code, report, out = run(monkeypatch, hub.url, "org", ORG, "--depth", "card", "--cache-dir", str(tmp_path / "c"))
    assert code == 3 and report is not None  # 3: the gated models, audited on their metadata
    assert len(report["subjects"]) == N
    assert not [s for s in report["subjects"] if (s["reason"] or "").startswith(("rate", "budget", "network"))]
    assert sum(s["status"] == "audited" for s in report["subjects"]) == N - len(GATED)
    files = [r for r in hub.requests() if r["bucket"] == "resolvers"]
    ok = [r["path"] for r in files if r["status"] == 200]
    assert len(ok) == len(set(ok)) == N - len(GATED)
    assert [r for r in files if r["status"] == 429] == []  # the first burst (8) fits the window (10)
    assert "rate-limited" not in out


def test_exhausted_budget_gives_incomplete_subjects_and_exit_3(
    org_store: tuple[Path, dict[str, Any]], fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store, _ = org_store
    hub = fakehub(store, fresh=True)
    code, report, _out = run(monkeypatch, hub.url, "org", ORG, "--depth", "card", "--max-requests", "6",
                            "--cache-dir", str(tmp_path / "c"), "--jobs", "2")
    assert code == 3
    assert len(hub.requests()) - sum(r["path"] == "/api/agent-harnesses" for r in hub.requests()) <= 6
    assert report is not None and len(report["subjects"]) == N  # never dropped
    budget = [s for s in report["subjects"] if (s["reason"] or "").startswith("budget:")]
    assert len(budget) >= N - len(GATED) - 5
    assert all(s["status"] == "incomplete" for s in budget)


def test_stderr_says_what_was_not_fully_audited_and_why_grouped(
    org_store: tuple[Path, dict[str, Any]], fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Exit 3 explained in the log: how many models were not fully audited, grouped by why, with a
    count per reason (a budget's hundreds of lines are one line); nothing with --quiet."""
    store, _ = org_store
    hub = fakehub(store, fresh=True)
    code, report, out = run(monkeypatch, hub.url, "org", ORG, "--depth", "card", "--cache-dir", str(tmp_path / "c"))
    assert code == 3 and report is not None
    lines = out.splitlines()
    start = lines.index(f"openaudit: {len(GATED)} of {N} models not fully audited:") + 1
    told = list(itertools.takewhile(lambda line: line.startswith("  "), lines[start:]))
    assert told and all(" incomplete: " in line for line in told)
    assert sum(int(line.split()[0]) for line in told) == len(GATED)
    assert all("pass a token with access" in line for line in told)
    code, _, out = run(monkeypatch, hub.url, "org", ORG, "--depth", "card", "--cache-dir", str(tmp_path / "d"),
                       "--max-requests", "4", "--jobs", "1")
    assert code == 3
    budget = next(line for line in out.splitlines() if "budget: request budget of 4 spent" in line)
    assert budget.startswith("  ") and "more like it)" in budget
    assert int(budget.split()[0]) >= N - len(GATED) - 3
    code, _, out = run(monkeypatch, hub.url, "org", ORG, "--depth", "card", "--cache-dir", str(tmp_path / "c"), "-q")
    assert code == 3 and "not fully audited" not in out


def test_a_listing_cut_short_keeps_the_models_it_listed_and_says_where_it_stopped(
    org_store: tuple[Path, dict[str, Any]], fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Pages of 4, and the api window (2 requests per 10 minutes) closes after the first or second
    page: the models listed so far are audited, the rest of the organisation is one incomplete
    subject naming where the listing stopped, and the run exits 3."""
    store, _ = org_store
    hub = fakehub(store, fresh=True, page_size=4, rate_limit="2/600")
    code, report, _ = run(monkeypatch, hub.url, "org", ORG, "--depth", "metadata", "--cache-dir", str(tmp_path / "c"))
    assert code == 3 and report is not None
    listed = [s for s in report["subjects"] if s["repo_id"] != f"{ORG}/*"]
    rest = [s for s in report["subjects"] if s["repo_id"] == f"{ORG}/*"]
    assert len(listed) in (4, 8)
    assert [s["repo_id"] for s in listed] == [f"{ORG}/model-{i:02d}" for i in range(len(listed))]
    assert len(rest) == 1 and rest[0]["status"] == "incomplete"
    assert rest[0]["reason"].startswith(f"rate-limited: the listing stopped after {len(listed)} models")
    assert "resets in" in rest[0]["reason"]  # not waited out: the window resets in 10 minutes
    from openaudit.sources.cache import SnapshotCache

    # Not kept as the organisation's listing: --offline must not take 4 models for the whole of it.
    assert not SnapshotCache(tmp_path / "c")._listing_path(ORG).exists()


def test_a_listing_that_fails_on_its_first_page_is_an_error_not_an_empty_report(
    org_store: tuple[Path, dict[str, Any]], fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store, _ = org_store
    hub = fakehub(store, fresh=True, fail_rate=1.0)
    from openaudit.sources.bulk import BulkHubSource

    monkeypatch.setattr(BulkHubSource, "_backoff", lambda self, attempt: 0.01)  # the retries, without their waits
    code, report, out = run(monkeypatch, hub.url, "org", ORG, "--cache-dir", str(tmp_path / "c"))
    assert code == 3 and report is None
    assert f"listing of '{ORG}' (page 1)" in out and "HTTP 5" in out


# ---- offline ---------------------------------------------------------------------------------------
def test_offline_with_empty_cache_makes_no_request(
    org_store: tuple[Path, dict[str, Any]], fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store, _ = org_store
    hub = fakehub(store, fresh=True)
    cache = tmp_path / "cache"
    # Nothing at all cached: nothing to audit, exit 3, not one request.
    code, report, out = run(monkeypatch, hub.url, "org", ORG, "--offline", "--cache-dir", str(cache))
    assert code == 3 and "offline" in out and hub.requests() == []
    # The listing known (a metadata run reads no file) but no snapshot at depth card: every model is
    # skipped with a reason starting "offline", still with no request.
    run(monkeypatch, hub.url, "org", ORG, "--depth", "metadata", "--cache-dir", str(cache))
    assert files_requested(hub.requests()) == []
    mark = hub.mark()
    code, report, _ = run(monkeypatch, hub.url, "org", ORG, "--offline", "--depth", "card", "--cache-dir", str(cache))
    assert hub.since(mark) == []
    assert report is not None and len(report["subjects"]) == N
    assert all(s["status"] == "skipped" and s["reason"].startswith("offline") for s in report["subjects"])
    assert code == 0  # offline skips are reported, not failures...
    code, _, _ = run(monkeypatch, hub.url, "org", ORG, "--offline", "--depth", "card", "--cache-dir", str(cache),
                     "--strict")
    assert code == 3  # ...unless --strict
    # Depth metadata is in the cache: audited offline.
    code, report, _ = run(monkeypatch, hub.url, "org", ORG, "--offline", "--depth", "metadata",
                          "--cache-dir", str(cache))
    assert hub.since(mark) == [] and {s["status"] for s in report["subjects"]} == {"audited"}


# ---- filters and usage -------------------------------------------------------------------------------
def test_include_exclude_since_limit(
    org_store: tuple[Path, dict[str, Any]], fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store, _ = org_store
    hub = fakehub(store)
    c = ["--depth", "metadata", "--cache-dir", str(tmp_path / "c")]

    def ids(*args: str) -> list[str]:
        _, report, _ = run(monkeypatch, hub.url, "org", ORG, *c, *args)
        assert report is not None
        return [s["repo_id"].split("/")[1] for s in report["subjects"]]

    assert ids("--include", "model-1*") == [f"model-{i}" for i in range(10, 20)]
    assert ids("--include", f"{ORG}/model-2*", "--exclude", "model-2[0-4]") == [f"model-{i}" for i in range(25, 30)]
    # created or modified after 2024-03-05: months come from i // 10, days from i % 28
    assert ids("--since", "2024-03-05") == [f"model-{i}" for i in range(20, 28)]
    mark = hub.mark()
    assert ids("--limit", "4") == [f"model-0{i}" for i in range(4)]
    assert "limit=4" in next(r["query"] for r in hub.since(mark) if r["path"] == "/api/models")


@pytest.mark.parametrize("bad", ["bad..org", "-leading", "a/b", "x" * 200])
def test_invalid_org_is_a_usage_error(bad: str, fakehub: Any, org_store: Any, monkeypatch: pytest.MonkeyPatch,
                                       tmp_path: Path) -> None:
    hub = fakehub(org_store[0], fresh=True)
    code, _, _ = run(monkeypatch, hub.url, "org", bad, "--cache-dir", str(tmp_path / "c"))
    assert code == 2 and hub.requests() == []


def test_bad_since_and_depth_are_usage_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert run(monkeypatch, None, "org", ORG, "--since", "yesterday", "--offline",
               "--cache-dir", str(tmp_path))[0] == 2
    assert run(monkeypatch, None, "org", ORG, "--depth", "deep", "--offline", "--cache-dir", str(tmp_path))[0] == 2


def test_org_from_a_snapshot_store_needs_no_network(org_store: tuple[Path, dict[str, Any]],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    code, report, _ = run(monkeypatch, None, "org", ORG, "--snapshots", str(org_store[0]))
    assert report is not None and len(report["subjects"]) == N
    assert code == 0 and {s["source"] for s in report["subjects"]} == {"store"}  # the store has the gated files


# ---- the run memo ----------------------------------------------------------------------------------
def test_run_memo_fetches_each_linked_repo_once_across_threads() -> None:
    from datetime import UTC, datetime

    calls: list[str] = []
    gate = threading.Event()

    class Slow:
        name = "test"

        def model(self, repo_id: str, revision: str | None = None) -> RepoSnapshot:
            calls.append(repo_id)
            gate.wait(2)
            return RepoSnapshot(repo_id=repo_id, source="store", taken_at=datetime.now(UTC))

        def dataset(self, repo_id: str, revision: str | None = None) -> RepoSnapshot:
            return self.model(repo_id)

    memo = RunMemo()
    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(memo.get(Slow(), "model", "a/b"))) for _ in range(16)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert calls == ["a/b"] and len(results) == 16 and len({id(r) for r in results}) == 1


# ---- licence matches: once per text in a run, nothing kept ------------------------------------------
def test_each_licence_text_is_matched_once_a_run_and_no_match_is_kept_on_disk(
    org_store: tuple[Path, dict[str, Any]], fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """27 readable models share two licence texts: each is matched once. No match is written to the
    cache (a kept verdict input is one more thing a stranger could rewrite), so a re-run matches the two
    texts again, in a few milliseconds, and says the same."""
    from datetime import UTC, datetime

    from openaudit import api
    from openaudit.licenses import identify

    store, _ = org_store
    hub = fakehub(store)
    calls: list[str] = []
    real = identify._match_call
    monkeypatch.setattr(identify, "_match_call", lambda text: calls.append(text) or real(text))

    def audit() -> list[Any]:
        identify._match.cache_clear()  # as a new process would start
        identify._identify_cached.cache_clear()
        report = api.audit_org(ORG, endpoint=hub.url, cache_dir=tmp_path / "c", processes=0, jobs=4,
                               now=datetime(2026, 1, 1, tzinfo=UTC))
        return [(s.repo_id, s.license, s.dimensions["license"]) for s in report.subjects]

    first = audit()
    assert sorted(calls) == sorted([APACHE, MIT])  # once each, for 27 readable models
    assert not (tmp_path / "c" / "identify").exists()
    calls.clear()
    assert audit() == first and sorted(calls) == sorted([APACHE, MIT])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="worker processes are forked on Linux only")
def test_the_command_lists_on_a_thread_then_forks_its_workers(
    org_store: tuple[Path, dict[str, Any]], fakehub: Any, tmp_path: Path
) -> None:
    """As users run it (`python -m openaudit`, the console script's module): the listing's thread has
    ended before the workers are forked, so the audits run in 2 processes; the warm run gives the same
    report."""
    store, _ = org_store
    hub = fakehub(store)
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_TOKEN", None)
    reports = []
    for run_no in (1, 2):
        out = tmp_path / f"r{run_no}.json"
        res = subprocess.run([sys.executable, "-m", "openaudit", "org", ORG, "--cache-dir", str(tmp_path / "c"),
                              "--processes", "2", "-f", "json", "-o", str(out)], capture_output=True, text=True,
                             env=env, timeout=300, cwd=Path(__file__).parents[2])
        assert res.returncode == 3, res.stderr[-2000:]  # the gated models are incomplete
        assert "audited in 2 worker processes" in res.stderr
        reports.append(json.loads(out.read_text(encoding="utf-8")))
    for r in reports:
        r.pop("generated_at")
    # The warm run's files came from the cache, which a listing (no blob ids) cannot check: the seals
    # of this user's key (the first run's, openaudit.sources.cache) vouch for them.
    assert {s["cache"] for s in reports[0]["subjects"]} == {None}
    assert {s["cache"] for s in reports[1]["subjects"] if s["status"] == "audited"} == {"verified"}
    for r in reports:
        for s in r["subjects"]:
            s.pop("cache")
    assert len(reports[0]["subjects"]) == N and reports[0] == reports[1]


# ---- openaudit audit with many ids: --depth ------------------------------------------------------
def test_audit_depth_reads_only_what_it_audits(
    org_store: tuple[Path, dict[str, Any]], fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`openaudit audit ID... --depth` as for `org`: metadata reads no file, card the README only,
    full the licence files too (one GET each, a blob already read not again) and resolves the named
    dataset (once for two models)."""
    store, _ = org_store
    hub = fakehub(store, fresh=True)
    ids = [f"{ORG}/model-00", f"{ORG}/model-01", f"{ORG}/model-02"]  # not gated; 00 and 02 name the dataset
    read: dict[str, set[tuple[str, str]]] = {}
    for depth in ("metadata", "card", "full"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"xdg-{depth}"))  # a cold file cache each time
        mark = hub.mark()
        code, report, out = run(monkeypatch, hub.url, "audit", *ids, "--depth", depth, "-q", "-j", "1")
        reqs = hub.since(mark)
        assert code == 0, out
        assert all(r["method"] == "GET" for r in reqs)  # no HEAD before a GET
        assert report is not None and [s["repo_id"] for s in report["subjects"]] == ids
        infos = sorted(p for p in api_requested(reqs) if p.startswith("/api/models/"))
        assert infos == [f"/api/models/{i}" for i in ids]
        datasets = [p for p in api_requested(reqs) if p.startswith("/api/datasets/")]
        assert datasets == (["/api/datasets/synth-data/corpus"] if depth == "full" else [])
        read[depth] = {(p.split("/")[2], p.rsplit("/", 1)[-1]) for p in files_requested(reqs)
                       if p.startswith(f"/{ORG}/")}
    assert read["metadata"] == set()
    assert read["card"] == {(i.split("/")[1], "README.md") for i in ids}
    # model-02's LICENSE is model-01's Apache-2.0 blob: its metadata names the blob, read already.
    assert read["full"] == read["card"] | {("model-00", "LICENSE"), ("model-01", "LICENSE")}
    files = [{e["value"]["path"]: e["value"]["key"] for e in s["evidence"] if e["kind"] == "license.file"}
             for s in report["subjects"]]
    assert files == [{"LICENSE": "MIT"}, {"LICENSE": "Apache-2.0"}, {"LICENSE": "Apache-2.0"}]  # 02's, unrequested
    bad = CliRunner().invoke(app, ["audit", *ids, "--depth", "deep"])
    assert bad.exit_code == 2 and "--depth must be one of metadata, card, full" in bad.output


def test_audit_live_matches_each_licence_text_once_and_a_replay_writes_no_cache(
    org_store: tuple[Path, dict[str, Any]], fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from openaudit.licenses import identify

    store, _ = org_store
    hub = fakehub(store)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    calls: list[str] = []
    real = identify._match_call
    monkeypatch.setattr(identify, "_match_call", lambda text: calls.append(text) or real(text))
    ids = [f"{ORG}/model-00", f"{ORG}/model-01", f"{ORG}/model-02"]  # MIT, Apache-2.0, Apache-2.0

    def audit(*extra: str) -> dict[str, Any]:
        identify._match.cache_clear()  # as a new process would start
        identify._identify_cached.cache_clear()
        code, report, out = run(monkeypatch, hub.url, "audit", *ids, "-q", *extra)
        assert code == 0 and report is not None, out
        return {s["repo_id"]: s["license"] for s in report["subjects"]}

    first = audit()
    assert sorted(calls) == sorted([MIT, APACHE])  # 3 models, 2 texts
    assert (tmp_path / "xdg" / "openaudit" / "snapshots").is_dir()  # the snapshots are cached ...
    assert not list((tmp_path / "xdg").rglob("identify"))  # ... no licence match is
    calls.clear()
    assert audit() == first
    # A replay from a snapshot store leaves the user cache alone.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-replay"))
    audit("--snapshots", str(store))
    assert not (tmp_path / "xdg-replay").exists()


# ---- `openaudit audit ID...`: the same choice of models, budget and rate-limit discipline as `org` ----

def _audit_reqs(hub: Any, mark: int) -> list[dict[str, Any]]:
    return [r for r in hub.since(mark) if r["path"] != "/api/agent-harnesses"]


@pytest.fixture
def org_hub(org_store: tuple[Path, dict[str, Any]], fakehub: Any, monkeypatch: pytest.MonkeyPatch,
            tmp_path: Path) -> Any:
    """The synthetic organisation's fake Hub, with a user cache of this test's own (XDG_CACHE_HOME)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return fakehub(org_store[0])


def test_audit_include_exclude_limit_choose_the_ids_before_any_request(
    org_hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = org_hub
    ids = [f"{ORG}/model-{i:02d}" for i in (0, 1, 2, 4, 5, 6)]
    mark = hub.mark()
    code, report, out = run(monkeypatch, hub.url, "audit", *ids, "--depth", "card", "--include", "model-0[0-4]",
                            "--exclude", f"{ORG}/model-01", "--limit", "2")
    assert code == 0 and report is not None, out
    assert [s["repo_id"] for s in report["subjects"]] == [f"{ORG}/model-00", f"{ORG}/model-02"]
    asked = {r["path"].split("/")[4] if r["path"].startswith("/api/") else r["path"].split("/")[2]
             for r in _audit_reqs(hub, mark)}
    assert asked == {"model-00", "model-02"}  # nothing was asked about the others
    assert "2 of 6 models chosen by --include/--exclude/--limit" in out
    bad = CliRunner().invoke(app, ["audit", *ids, "--limit", "0"])
    assert bad.exit_code == 2 and "--limit must be at least 1; got 0" in bad.output


def test_audit_since_reads_the_files_of_the_models_it_keeps_only(
    org_hub: Any, org_store: tuple[Path, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store, hub = org_store[0], org_hub
    old, new, newer = f"{ORG}/model-05", f"{ORG}/model-14", f"{ORG}/model-24"  # January, February, March 2024
    mark = hub.mark()
    code, report, out = run(monkeypatch, hub.url, "audit", old, new, newer, "--depth", "card",
                            "--since", "2024-02-01")
    reqs = _audit_reqs(hub, mark)
    assert code == 0 and report is not None, out
    assert [s["repo_id"] for s in report["subjects"]] == [new, newer]
    assert f"/api/models/{old}" in api_requested(reqs)  # its dates are in its metadata...
    assert not [p for p in files_requested(reqs) if p.startswith(f"/{old}/")]  # ...and its files were not read
    assert f"not created or modified since 2024-02-01, left out: {old}" in out
    # --limit counts the models --since keeps, in the order given; once they are found, the rest
    # is not asked about at all.
    mark = hub.mark()
    code, report, out = run(monkeypatch, hub.url, "audit", old, new, newer, "--depth", "card",
                            "--since", "2024-02-01", "--limit", "1", "--jobs", "1")
    assert code == 0 and report is not None and [s["repo_id"] for s in report["subjects"]] == [new]
    assert not [r for r in _audit_reqs(hub, mark) if newer.split("/")[1] in r["path"]]
    # From a snapshot store, the same choice, made on the stored metadata; a local folder has no
    # Hub dates and is kept.
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# mine\n", encoding="utf-8")
    code, report, out = run(monkeypatch, None, "audit", old, new, str(folder), "--snapshots", str(store),
                            "--since", "2024-02-01")
    assert code == 0 and report is not None, out
    assert [(s["repo_id"], s["source"]) for s in report["subjects"]] == [(new, "store"), ("local/my-model", "localdir")]


def test_audit_budget_spent_gives_incomplete_models_never_dropped_and_exit_3(
    org_store: tuple[Path, dict[str, Any]], fakehub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store, _ = org_store
    hub = fakehub(store, fresh=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    ids = [f"{ORG}/model-{i:02d}" for i in (0, 1, 2)]  # fewer than LIST_OWNER_FROM: no listing
    # At depth card a model costs 2 requests: its metadata, then one GET of the README.
    code, report, out = run(monkeypatch, hub.url, "audit", *ids, "--depth", "card", "--jobs", "1",
                            "--max-requests", "3")
    reqs = _audit_reqs(hub, 0)  # a fresh hub: its whole log
    assert code == 3, out
    assert len(reqs) <= 3
    assert report is not None and [s["repo_id"] for s in report["subjects"]] == ids  # every model is there
    assert [s["status"] for s in report["subjects"]] == ["audited", "incomplete", "incomplete"]
    assert all(s["reason"].startswith("budget: request budget of 3 spent") for s in report["subjects"][1:])
    assert "(budget 3)" in out
    # The snapshots are now in the cache at their commits: a re-run spends its budget on the
    # metadata alone, one request a model, and audits them all.
    run(monkeypatch, hub.url, "audit", *ids, "--depth", "card")
    mark = hub.mark()
    code, report, out = run(monkeypatch, hub.url, "audit", *ids, "--depth", "card", "--max-requests", "3")
    assert code == 0 and report is not None, out
    assert [s["status"] for s in report["subjects"]] == ["audited"] * 3
    assert files_requested(_audit_reqs(hub, mark)) == [] and len(_audit_reqs(hub, mark)) == 3


def test_audit_of_many_ids_of_one_owner_reads_its_listing_not_their_metadata_and_audits_as_alone(
    tmp_path: Path, repo_writer: Any, fakehub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`openaudit audit` with LIST_OWNER_FROM ids or more of one owner takes their metadata from the
    owner's listing (one request) instead of one model_info each, as `org` does; warm, that listing is
    all it asks for them. An id the listing cannot stand for is asked for on its own: weights that only
    file sizes tell from stubs, a disabled repo, an id the Hub does not have. Each model's subject is
    the one it gets audited alone."""
    store = tmp_path / "store"
    build_org(store, repo_writer, n=6)  # model-03 gated; model-04 names model-00 as its base
    sibs = [{"rfilename": "README.md"}, {"rfilename": "model.safetensors"}]
    common = {"gated": False, "private": False, "tags": ["license:mit"], "cardData": {"license": "mit"},
              "siblings": sibs, "createdAt": "2024-05-01T00:00:00.000Z", "lastModified": "2024-05-01T00:00:00.000Z"}
    card = {"README.md": "---\nlicense: mit\n---\n# A model\n\nWeights, of a sort.\n"}
    repo_writer(store, f"{ORG}/stub", {**common, "sha": "e" * 40}, card)  # no safetensors summary
    repo_writer(store, f"{ORG}/off", {**common, "sha": "f" * 40, "disabled": True}, card)
    hub = fakehub(store, fresh=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    ids = [f"{ORG}/model-{i:02d}" for i in range(6)] + [f"{ORG}/stub", f"{ORG}/off", f"{ORG}/missing"]
    on_their_own = {f"/api/models/{ORG}/stub", f"/api/models/{ORG}/off", f"/api/models/{ORG}/missing"}

    mark = hub.mark()
    code, batch, out = run(monkeypatch, hub.url, "audit", *ids, "--cache-dir", str(tmp_path / "c"), "-q")
    assert batch is not None, out
    asked = api_requested(hub.since(mark))
    assert asked.count("/api/models") == 1  # the listing
    assert set(asked) - {"/api/models"} == on_their_own | {"/api/datasets/synth-data/corpus"}
    assert [s["repo_id"] for s in batch["subjects"]] == ids

    for i, rid in enumerate(ids):
        _, alone, out = run(monkeypatch, hub.url, "audit", rid, "--cache-dir", str(tmp_path / f"alone-{i}"), "-q")
        assert alone is not None, out
        (one,) = alone["subjects"]
        for subject in (one, batch["subjects"][i]):
            subject.pop("taken_at")
        assert batch["subjects"][i] == one, rid

    mark = hub.mark()
    warm_code, warm, out = run(monkeypatch, hub.url, "audit", *ids, "--cache-dir", str(tmp_path / "c"), "-q")
    assert warm is not None and warm_code == code, out
    reqs = hub.since(mark)
    assert files_requested(reqs) == []
    assert sorted(api_requested(reqs)) == sorted({"/api/models", "/api/datasets/synth-data/corpus"} | on_their_own)


def test_audit_reads_no_more_listing_pages_than_a_quarter_of_its_ids_of_that_owner(
    tmp_path: Path, repo_writer: Any, fakehub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An owner with many more models than the ids asked for: its listing is cut short (here at one
    page of 4), and the ids it did not reach are asked for one by one; none is lost."""
    store = tmp_path / "store"
    build_org(store, repo_writer, n=12)
    hub = fakehub(store, fresh=True, page_size=4)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    ids = [f"{ORG}/model-{i:02d}" for i in (1, 8, 10, 11)]  # 4 ids: one page at most
    code, report, out = run(monkeypatch, hub.url, "audit", *ids, "--depth", "card")
    assert code == 0 and report is not None, out
    assert [s["status"] for s in report["subjects"]] == ["audited"] * 4
    asked = api_requested(hub.requests())
    assert asked.count("/api/models") == 1
    assert sorted(a for a in asked if a != "/api/models") == [f"/api/models/{i}" for i in ids[1:]]


def test_a_rate_limited_audit_of_many_models_waits_and_reads_each_readme_once(
    tmp_path: Path, repo_writer: Any, fakehub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    build_org(store, repo_writer, n=3)
    hub = fakehub(store, fresh=True, rate_limit="2/2")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    ids = [f"{ORG}/model-{i:02d}" for i in range(3)]
    for _ in range(2):  # another client spends the api window: the run's metadata requests get 429s
        urllib.request.urlopen(f"{hub.url}/api/models/{ids[0]}", timeout=10).read()
    mark = hub.mark()
    code, report, out = run(monkeypatch, hub.url, "audit", *ids, "--depth", "card", "--jobs", "3")
    reqs = hub.since(mark)
    limited = [r for r in reqs if r["status"] == 429]
    assert limited, "the fake hub should have rate limited some requests"
    assert code == 0 and report is not None, out
    assert f"file requests, {len(limited)} of them rate-limited (HTTP 429) and retried after the wait" in out
    assert [s["status"] for s in report["subjects"]] == ["audited"] * 3
    readmes = [r["path"] for r in reqs if r["method"] == "GET" and r["bucket"] == "resolvers" and r["status"] == 200]
    assert sorted(readmes) == [f"/{i}/resolve/{int(i[-2:]):040x}/README.md" for i in ids]


def test_audit_cache_dir_holds_the_files_and_the_user_cache_is_left_alone(
    org_hub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`openaudit audit --cache-dir D` (a CI cache, say): D is a snapshot store (as for `org`); a re-run
    with the same D reads no file, and the user cache is never created."""
    from openaudit.licenses import identify

    hub = org_hub
    identify._match.cache_clear()  # as a new process would start
    identify._identify_cached.cache_clear()
    ids = [f"{ORG}/model-00", f"{ORG}/model-01"]  # MIT, Apache-2.0
    cache = tmp_path / "ci-cache"
    code, first, out = run(monkeypatch, hub.url, "audit", *ids, "--cache-dir", str(cache), "-q")
    assert code == 0 and first is not None, out
    assert not (cache / "identify").exists()
    for i in ids:
        assert {p.name for p in (cache / "models" / i / "files").iterdir()} == {"README.md", "LICENSE"}
    mark = hub.mark()
    code, again, out = run(monkeypatch, hub.url, "audit", *ids, "--cache-dir", str(cache), "-q")
    assert code == 0 and again is not None, out
    assert files_requested(hub.since(mark)) == []
    assert [s["license"] for s in again["subjects"]] == [s["license"] for s in first["subjects"]]
    assert not (tmp_path / "xdg").exists()


# ---- `openaudit audit` and the snapshot cache it shares with `org` -------------------------------

def _gated(report: dict[str, Any], i: int) -> Any:
    return next(e["value"] for e in report["subjects"][i]["evidence"] if e["kind"] == "access.gated")


def test_audit_reads_through_the_cache_org_keeps_and_the_metadata_stays_fresh(
    tmp_path: Path, repo_writer: Any, fakehub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model `org` has read at its commit costs `audit` its metadata request only; `--refresh`
    reads its files again; a deeper `--depth` than the cache holds reads them too; gating changed
    on the Hub without a commit shows at once, in `audit` and in `org` (a setting, not a file: the
    metadata the Hub gives now wins over the cached one)."""
    store = tmp_path / "store"
    build_org(store, repo_writer, n=3)
    hub = fakehub(store, fresh=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # the user cache both commands default to
    ids = [f"{ORG}/model-00", f"{ORG}/model-01"]
    code, _, out = run(monkeypatch, hub.url, "org", ORG, "--depth", "card", "-q")
    assert code == 0, out
    info = store / "models" / ORG / "model-01" / "info.json"
    info.write_text(json.dumps({**json.loads(info.read_text()), "gated": "auto"}))  # no new commit

    mark = hub.mark()
    code, report, out = run(monkeypatch, hub.url, "audit", *ids, "--depth", "card", "-q")
    assert code == 0 and report is not None, out
    assert files_requested(hub.since(mark)) == []
    assert sorted(api_requested(hub.since(mark))) == [f"/api/models/{i}" for i in ids]
    assert [_gated(report, i) for i in range(2)] == [False, "auto"]
    assert all(s["status"] == "audited" for s in report["subjects"])  # the card was read, when it was public
    mark = hub.mark()
    code, again, out = run(monkeypatch, hub.url, "org", ORG, "--depth", "card", "-q")
    assert code == 0 and again is not None, out
    assert files_requested(hub.since(mark)) == []  # `org` too: the listing's gating over the cached entry
    assert [_gated(again, i) for i in range(2)] == [False, "auto"]

    mark = hub.mark()
    code, report, out = run(monkeypatch, hub.url, "audit", ids[0], "--depth", "card", "--refresh", "-q")
    assert code == 0, out
    assert files_requested(hub.since(mark)) == [f"/{ORG}/model-00/resolve/{0:040x}/README.md"]

    mark = hub.mark()
    code, report, out = run(monkeypatch, hub.url, "audit", ids[0], "--depth", "full", "-q")
    assert code == 0, out
    assert sorted(p.rsplit("/", 1)[-1] for p in files_requested(hub.since(mark))
                  if p.startswith(f"/{ORG}/")) == ["LICENSE", "README.md"]  # the cache had the card only


def test_audit_offline_reads_the_cache_and_skips_what_it_lacks(
    tmp_path: Path, repo_writer: Any, fakehub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`openaudit audit --offline` without --snapshots: no request at all, each model from the cache
    at its latest cached commit (a revision must be that commit); one not cached is `skipped` with
    the reason, which fails the run only with --strict."""
    store = tmp_path / "store"
    build_org(store, repo_writer, n=3)
    hub = fakehub(store, fresh=True)
    cache = tmp_path / "ci-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    code, live, out = run(monkeypatch, hub.url, "audit", f"{ORG}/model-00", "--cache-dir", str(cache), "-q")
    assert code == 0 and live is not None, out
    mark = hub.mark()
    sha = f"{0:040x}"
    targets = [f"{ORG}/model-00", f"{ORG}/model-01", f"{ORG}/model-00@{sha[:10]}", f"{ORG}/model-00@{'9' * 40}"]
    code, report, out = run(monkeypatch, hub.url, "audit", *targets, "--offline", "--cache-dir", str(cache), "-q")
    assert hub.since(mark) == []  # not one request
    assert code == 0 and report is not None, out
    subjects = report["subjects"]
    assert [s["repo_id"] for s in subjects] == [t.split("@")[0] for t in targets]  # every model is there
    assert [s["status"] for s in subjects] == ["audited", "skipped", "audited", "skipped"]
    assert subjects[0]["findings"] == live["subjects"][0]["findings"] and subjects[0]["revision"] == sha
    assert subjects[1]["reason"].startswith(f"offline: model '{ORG}/model-01' is not in the cache {cache}")
    assert f"at revision '{'9' * 40}'" in subjects[3]["reason"]
    code, _, out = run(monkeypatch, hub.url, "audit", f"{ORG}/model-01", "--offline", "--cache-dir", str(cache),
                       "--strict", "-q")
    assert code == 3, out
    # --since is decided on the cached metadata (model-00 was made in January 2024), still with no request.
    for since, kept in (("2023-06-01", [f"{ORG}/model-00"]), ("2025-01-01", [])):
        code, report, out = run(monkeypatch, hub.url, "audit", f"{ORG}/model-00", "--offline", "--since", since,
                                "--cache-dir", str(cache), "-q")
        assert code == 0 and report is not None, out
        assert [s["repo_id"] for s in report["subjects"]] == kept
    assert hub.since(mark) == []
    assert not (tmp_path / "xdg").exists()  # --cache-dir: the user cache is never touched


def test_a_cache_that_cannot_be_written_costs_no_audit(
    org_hub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache would go")
    ids = [f"{ORG}/model-00", f"{ORG}/model-01"]
    for command in (["audit", *ids], ["org", ORG, "--limit", "2"]):
        caplog.clear()
        code, report, out = run(monkeypatch, org_hub.url, *command, "--cache-dir", str(blocker / "cache"), "-q")
        assert code == 0 and report is not None, out
        assert [s["status"] for s in report["subjects"]] == ["audited", "audited"]
        told = [r.getMessage() for r in caplog.records if "cannot be written" in r.getMessage()]
        assert len(told) == 1 and str(blocker / "cache") in told[0]  # once, not once a file


def test_cached_gated_files_are_read_again_with_a_token(fakehub: Any, tmp_path: Path, repo_writer: Any) -> None:
    """A snapshot read without a token records its files as gated; a run with a token does not take
    that from the cache (the token may open them), a run without one does (it would get the same).
    The files a run with a token read are not given to a run without one."""
    from openaudit.sources.cache import cached_hub
    from openaudit.sources.hub import HubSource

    store = tmp_path / "store"
    build_org(store, repo_writer, n=4)  # model-03 is gated
    hub = fakehub(store, fresh=True)
    cache = tmp_path / "cache"
    rid = f"{ORG}/model-03"

    def read(token: Any) -> tuple[Any, list[str]]:
        mark = hub.mark()
        snap = cached_hub(HubSource(endpoint=hub.url, token=token, backoff=0.01), cache).model(rid)
        return snap, files_requested(hub.since(mark))

    anon, reads = read(False)
    assert reads == [] and {u.reason.value for u in anon.unreadable.values()} == {"gated"}
    again, reads = read(False)
    assert reads == [] and again.unreadable == anon.unreadable  # a cache hit: nothing else to learn
    opened, reads = read("hf_any_token_the_fake_hub_accepts")
    assert reads and "README.md" in opened.files and "README.md" not in opened.unreadable
    # A run without a token is not given what the one with a token read (a CI cache shared by both),
    # and does not overwrite it: the next run with a token reads nothing.
    public, reads = read(False)
    assert reads == [] and public.files == {} and {u.reason.value for u in public.unreadable.values()} == {"gated"}
    reopened, reads = read("hf_any_token_the_fake_hub_accepts")
    assert reads == [] and reopened.files == opened.files


def test_offline_serves_a_gated_repos_token_read_files_to_a_run_with_a_token_and_says_why_not_otherwise(
    fakehub: Any, tmp_path: Path, repo_writer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CI job with a token fills the cache; a replay with --offline decides who may see a gated
    repo's files as a live run would: a run with a token (HF_TOKEN or --token; none is sent) gets
    them, one without is skipped with the reason, not "not in the cache"."""
    store = tmp_path / "store"
    build_org(store, repo_writer, n=4)  # model-03 is gated
    hub = fakehub(store, fresh=True)
    cache = tmp_path / "cache"
    rid = f"{ORG}/model-03"
    monkeypatch.setenv("HF_TOKEN", "hf_any_token_the_fake_hub_accepts")
    for command in (["audit", rid], ["org", ORG]):
        code, live, out = run(monkeypatch, hub.url, *command, "--cache-dir", str(cache), "-q")
        assert code == 0 and live is not None, out
    (live_03,) = [s for s in live["subjects"] if s["repo_id"] == rid]
    assert live_03["status"] == "audited"
    mark = hub.mark()
    for command in (["audit", rid], ["org", ORG]):
        monkeypatch.delenv("HF_TOKEN")
        code, anon, out = run(monkeypatch, hub.url, *command, "--offline", "--cache-dir", str(cache), "-q")
        assert anon is not None, out
        (skipped,) = [s for s in anon["subjects"] if s["repo_id"] == rid]
        assert skipped["status"] == "skipped"
        assert "cached only as read with a Hub token, and this run has none" in skipped["reason"]
        assert all(s["status"] == "audited" for s in anon["subjects"] if s["repo_id"] != rid)
        for token in (["--token", "hf_any_token_the_fake_hub_accepts"], []):
            if not token:
                monkeypatch.setenv("HF_TOKEN", "hf_any_token_the_fake_hub_accepts")
            code, replay, out = run(monkeypatch, hub.url, *command, *token, "--offline", "--cache-dir", str(cache),
                                    "-q")
            assert code == 0 and replay is not None, out
            (again,) = [s for s in replay["subjects"] if s["repo_id"] == rid]
            assert again["status"] == "audited" and again["findings"] == live_03["findings"]
    assert hub.since(mark) == []  # offline: not one request, with a token or without


def test_a_cache_entry_whose_files_are_not_what_it_recorded_is_read_again_not_served(
    org_hub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two runs sharing one cache can write the same repo at two commits at once (renames interleave:
    one's info.json, the other's LICENSE). Such an entry is a miss: the file is read again at the
    commit, never served as that commit's."""
    rid = f"{ORG}/model-01"  # Apache-2.0
    for command in (["audit", rid], ["org", ORG, "--include", "model-0[01]"]):
        cache = tmp_path / command[0]
        code, first, out = run(monkeypatch, org_hub.url, *command, "--cache-dir", str(cache), "-q")
        assert code == 0 and first is not None, out
        licence = cache / "models" / ORG / "model-01" / "files" / "LICENSE"
        assert licence.read_text(encoding="utf-8") == APACHE
        licence.write_text(MIT, encoding="utf-8")  # what the other run wrote for another commit
        mark = org_hub.mark()
        code, again, out = run(monkeypatch, org_hub.url, *command, "--cache-dir", str(cache), "-q")
        assert code == 0 and again is not None, out
        assert f"/{rid}/resolve/{1:040x}/LICENSE" in files_requested(org_hub.since(mark))
        read_at = [s.pop("taken_at") for s in first["subjects"] + again["subjects"] if s["repo_id"] == rid]
        assert read_at[0] != read_at[1]  # read again, not served from the entry
        for s in first["subjects"] + again["subjects"]:
            s.pop("cache")  # model-00 comes from the cache (sealed by the first run: "verified")
        assert again["subjects"] == first["subjects"]  # the Apache-2.0 evidence, as the Hub serves it
        assert licence.read_text(encoding="utf-8") == APACHE  # and the entry is whole again


def test_openaudit_snapshot_records_what_the_hub_serves_and_writes_no_cache(
    org_hub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", org_hub.url)
    out = tmp_path / "recorded"
    res = CliRunner().invoke(app, ["snapshot", f"{ORG}/model-01", "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert (out / "models" / ORG / "model-01" / "files" / "LICENSE").read_text() == APACHE
    assert not (tmp_path / "xdg").exists()


def test_openaudit_snapshot_of_many_models_reads_them_at_once_within_a_budget(
    org_hub: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`openaudit snapshot ID... --jobs N --max-requests N`: the models are read N at once, the dataset
    they share is requested and written once, and what the budget leaves unread is named on stderr
    (exit 3) while the rest is in the store, complete."""
    from openaudit.sources.store import StoreSource

    monkeypatch.setenv("HF_ENDPOINT", org_hub.url)
    ids = [f"{ORG}/model-{i:02d}" for i in (0, 1, 2, 4)]  # 00, 02 and 04 name synth-data/corpus
    out = tmp_path / "recorded"
    mark = org_hub.mark()
    res = CliRunner().invoke(app, ["snapshot", *ids, "-o", str(out), "--jobs", "3"])
    assert res.exit_code == 0, res.output
    reqs = org_hub.since(mark)
    assert api_requested(reqs).count("/api/datasets/synth-data/corpus") == 1
    assert sorted(line.split("@")[0] for line in res.output.splitlines() if line.startswith("wrote ")) == [
        f"wrote {i}" for i in ids]
    store = StoreSource(out)
    assert [store.model(i).repo_id for i in ids] == ids and store.dataset("synth-data/corpus").files

    spent = tmp_path / "spent"
    res = CliRunner().invoke(app, ["snapshot", *ids, "-o", str(spent), "--jobs", "1", "--max-requests", "3"])
    assert res.exit_code == 3, res.output
    # model-00 spends it (metadata, README, LICENSE): recorded, but without its dataset, and said so.
    told = dict(line.removeprefix("openaudit: ").split(": ", 1) for line in res.output.splitlines()
                if line.startswith("openaudit: synth-org/"))
    assert sorted(told) == ids
    assert told[ids[0]].startswith("recorded without linked repos not fetched: dataset:synth-data/corpus (budget:")
    assert all(told[i].startswith("budget: request budget of 3 spent") for i in ids[1:])
    assert (spent / "models" / ids[0] / "info.json").is_file() and not (spent / "datasets").exists()
    assert not any((spent / "models" / i / "info.json").exists() for i in ids[1:])
    bad = CliRunner().invoke(app, ["snapshot", *ids, "-o", str(spent), "--jobs", "0"])
    assert bad.exit_code == 2 and "--jobs must be at least 1; got 0" in bad.output


# ---- the progress display: a bar on a terminal, no bar otherwise ---------------------------------

def _on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run the command with stderr on a pseudo-terminal (120 columns); its exit code and what the
    terminal received. The report goes to a file: stdout is not read while the terminal is."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "HF_HUB_DISABLE_TELEMETRY": "1"}
    env.pop("COLUMNS", None)
    proc = subprocess.Popen([sys.executable, "-m", "openaudit", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child's end is closed
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return proc.wait(timeout=120), seen.decode("utf-8", errors="replace")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pseudo-terminal (pty) is needed")
def test_progress_is_a_bar_on_a_terminal_and_absent_from_a_log(
    org_store: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    store, _ = org_store
    org = ["org", ORG, "--snapshots", str(store), "--processes", "0", "-f", "json", "-o", str(tmp_path / "o.json")]
    code, terminal = _on_a_terminal(org, tmp_path)
    assert code == 0, terminal
    assert f"auditing {ORG}" in terminal and f"{2 * N}/{2 * N}" in terminal  # reads and audits, counted
    logged = subprocess.run([sys.executable, "-m", "openaudit", *org], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert logged.returncode == 0 and f"/{2 * N}" not in logged.stderr and "\x1b[" not in logged.stderr
    # `audit` with many models: the same bar on a terminal; a line per model in a log.
    ids = [f"{ORG}/model-{i:02d}" for i in range(4)]
    audit = ["audit", *ids, "--snapshots", str(store), "-f", "json", "-o", str(tmp_path / "a.json")]
    code, terminal = _on_a_terminal(audit, tmp_path)
    assert code == 0 and "auditing 4 models" in terminal and "4/4" in terminal, terminal
    assert f"auditing {ids[0]} …" not in terminal
    logged = subprocess.run([sys.executable, "-m", "openaudit", *audit], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120)
    assert logged.returncode == 0 and all(f"auditing {i} …" in logged.stderr for i in ids)
    assert "4/4" not in logged.stderr


def test_audit_done_callback_counts_every_target_and_a_broken_one_loses_no_model(
    org_store: tuple[Path, dict[str, Any]]
) -> None:
    from openaudit import api

    store, _ = org_store
    ids = [f"{ORG}/model-{i:02d}" for i in range(3)] + ["nope/missing"]
    seen: list[tuple[str, int, int]] = []
    api.audit_models(ids, snapshots=store, jobs=2, done=lambda t, n, total: seen.append((t, n, total)))
    assert sorted(t for t, _, _ in seen) == sorted(ids) and sorted(n for _, n, _ in seen) == [1, 2, 3, 4]
    assert {total for _, _, total in seen} == {4}

    def broken(target: str, n: int, total: int) -> None:
        raise RuntimeError("a broken progress display")

    report = api.audit_models(ids, snapshots=store, jobs=2, done=broken)
    assert [s.repo_id for s in report.subjects] == ids
    assert [s.status for s in report.subjects] == ["audited"] * 3 + ["skipped"]
