"""A cache that cannot be poisoned (issue 27): what an attacker who can write the cache folder (a CI
cache restored from another branch, a shared folder) tried, and what a user now sees.

Each test runs the real CLI against tests/fakehub.py, as a user would, then tampers with the cache as
the attacker did, and runs again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from test_org import APACHE, MIT, ORG, _tmp_out, build_org, files_requested, run  # noqa: F401 (_tmp_out: autouse)

from openaudit.sources.cache import _digest

TOKEN_A = "hf_the_token_that_was_granted_access_aaaa"
TOKEN_B = "hf_another_token_never_granted_access_bbb"


@pytest.fixture
def hub(fakehub: Any, tmp_path: Path, repo_writer: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A small organisation (model-01 Apache-2.0, model-03 gated) on a fake Hub that knows TOKEN_A only."""
    store = tmp_path / "store"
    build_org(store, repo_writer, n=4)
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(TOKEN_A + "\n", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return fakehub(store, fresh=True, tokens=tokens)


def _entry(cache: Path, name: str) -> Path:
    return cache / "models" / ORG / name


def _recompute_digest(entry: Path) -> None:
    """What the attacker did after swapping a file: make the sidecar's digest agree again."""
    side = json.loads((entry / "snapshot.json").read_text(encoding="utf-8"))
    meta = side["cache"]
    texts = {p: (entry / "files" / p).read_text(encoding="utf-8") for p in meta["paths"]
             if (entry / "files" / p).is_file()}
    meta["digest"] = _digest(texts)
    (entry / "snapshot.json").write_text(json.dumps(side), encoding="utf-8")


def _licence(subject: dict[str, Any]) -> str | None:
    return (subject.get("license") or {}).get("key")


def test_a_swapped_licence_with_its_digest_recomputed_is_read_again_and_reported(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rid, cache = f"{ORG}/model-01", tmp_path / "cache"
    code, first, out = run(monkeypatch, hub.url, "audit", rid, "--cache-dir", str(cache))
    assert code == 0 and first is not None, out
    (s1,) = first["subjects"]
    assert _licence(s1) == "Apache-2.0" and s1["cache"] is None  # read from the Hub

    entry = _entry(cache, "model-01")
    (entry / "files" / "LICENSE").write_text(MIT, encoding="utf-8")
    _recompute_digest(entry)
    info = json.loads((entry / "info.json").read_text(encoding="utf-8"))
    info["cardData"]["license"] = "mit"  # the cached metadata edited at the same sha, too
    (entry / "info.json").write_text(json.dumps(info), encoding="utf-8")

    mark = hub.mark()
    code, again, out = run(monkeypatch, hub.url, "audit", rid, "--cache-dir", str(cache))
    assert code == 0 and again is not None, out
    (s2,) = again["subjects"]
    assert _licence(s2) == "Apache-2.0"  # as the Hub serves it, not as the cache was made to say
    assert s2["cache"] == "refetched"
    told = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]  # stderr, from the CLI
    assert any("LICENSE" in m and "did not match the blob id the Hub lists" in m for m in told), told
    assert "Traceback" not in out
    assert f"/{rid}/resolve/{1:040x}/LICENSE" in files_requested(hub.since(mark))
    assert (entry / "files" / "LICENSE").read_text(encoding="utf-8") == APACHE  # the entry is whole again

    mark = hub.mark()
    code, third, out = run(monkeypatch, hub.url, "audit", rid, "--cache-dir", str(cache))
    assert code == 0 and third is not None, out
    assert third["subjects"][0]["cache"] == "verified" and files_requested(hub.since(mark)) == []


def test_offline_the_report_says_the_data_came_from_an_unverified_cache(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offline nothing can be checked against the Hub: an entry this user sealed is `verified`, one
    whose seal is not this user's (tests/integration/test_cache_seal.py) is used but said `unverified`."""
    rid, cache = f"{ORG}/model-01", tmp_path / "cache"
    code, _, out = run(monkeypatch, hub.url, "audit", rid, "--cache-dir", str(cache))
    assert code == 0, out
    code, offline, out = run(monkeypatch, None, "audit", rid, "--offline", "--cache-dir", str(cache))
    assert code == 0 and offline is not None, out
    assert offline["subjects"][0]["cache"] == "verified"
    side_path = _entry(cache, "model-01") / "snapshot.json"
    side = json.loads(side_path.read_text(encoding="utf-8"))
    side["cache"]["seal"] = "0" * 64  # another user's
    side_path.write_text(json.dumps(side), encoding="utf-8")
    code, offline, out = run(monkeypatch, None, "audit", rid, "--offline", "--cache-dir", str(cache))
    assert code == 0 and offline is not None, out
    assert offline["subjects"][0]["cache"] == "unverified"
    assert offline["schema_version"].startswith("1.")


def test_licence_matches_planted_in_the_cache_are_never_read(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Older versions kept licence matches in the cache's identify/. An attacker who can write there
    plants matches saying a non-commercial licence, in that format: nothing reads them (a match is
    made afresh in each run, in a few milliseconds), and a run writes no match of its own."""
    from openaudit.licenses import identify

    def verdicts(report: dict[str, Any]) -> dict[str, Any]:
        return {s["repo_id"]: (_licence(s), sorted(f["id"] for f in s["flags"]), s["dimensions"]["license"]["verdict"],
                               [e["value"] for e in s["evidence"] if e["kind"] == "license.file"])
                for s in report["subjects"]}

    cache = tmp_path / "cache"
    args = ("org", ORG, "--cache-dir", str(cache), "--processes", "0", "--include", "model-0[012]")
    identify._match.cache_clear()  # as a new process would start: earlier tests here matched the same texts
    identify._identify_cached.cache_clear()
    code, first, out = run(monkeypatch, hub.url, *args)
    assert code == 0 and first is not None, out
    before = verdicts(first)
    assert before[f"{ORG}/model-01"][0] == "Apache-2.0"
    assert not (cache / "identify").exists()
    (cache / "identify").mkdir()
    forged = ["CC-BY-NC-4.0", 1.0, ""]  # (key, score, added terms)
    for i in range(4):
        (cache / "identify" / f"{i:064x}.json").write_text(json.dumps({"key": f"k{i}", "value": forged}))
    identify._match.cache_clear()
    identify._identify_cached.cache_clear()
    _, again, out = run(monkeypatch, hub.url, *args, "--refresh")
    assert again is not None, out
    assert verdicts(again) == before


def test_a_gated_repo_cached_with_one_token_is_not_served_to_another(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid, cache = f"{ORG}/model-03", tmp_path / "cache"  # gated; the fake Hub grants TOKEN_A only
    code, live, out = run(monkeypatch, hub.url, "audit", rid, "--token", TOKEN_A, "--cache-dir", str(cache))
    assert code == 0 and live is not None, out
    assert live["subjects"][0]["status"] == "audited"
    side = (_entry(cache, "model-03") / "snapshot.json").read_text(encoding="utf-8")
    assert TOKEN_A not in side and TOKEN_A[3:] not in side  # a keyed hash of it, never the token

    mark = hub.mark()
    code, other, out = run(monkeypatch, hub.url, "audit", rid, "--token", TOKEN_B, "--cache-dir", str(cache))
    assert other is not None, out
    (s,) = other["subjects"]
    assert s["status"] == "incomplete" and code == 3  # as the Hub answers this token: no access
    assert any(r["status"] == 403 for r in hub.since(mark))  # the Hub was asked, not the cache

    code, offline, out = run(monkeypatch, None, "audit", rid, "--offline", "--token", TOKEN_B,
                             "--cache-dir", str(cache))
    assert offline is not None, out
    (s,) = offline["subjects"]
    assert s["status"] == "skipped" and "another Hub token" in s["reason"]

    code, same, out = run(monkeypatch, None, "audit", rid, "--offline", "--token", TOKEN_A,
                          "--cache-dir", str(cache))
    assert code == 0 and same is not None and same["subjects"][0]["status"] == "audited", out


def test_a_symlinked_repo_folder_in_the_cache_is_not_written_through(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache, elsewhere = tmp_path / "cache", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (cache / "models" / ORG).mkdir(parents=True)
    os.symlink(elsewhere, _entry(cache, "model-01"))
    code, report, out = run(monkeypatch, hub.url, "audit", f"{ORG}/model-01", "--cache-dir", str(cache))
    assert code == 0 and report is not None, out  # the audit goes on without the cache
    assert report["subjects"][0]["status"] == "audited"
    assert list(elsewhere.iterdir()) == []
    told = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("symbolic link" in m for m in told), told
    assert "Traceback" not in out


def test_snapshot_into_a_store_with_a_symlinked_folder_is_refused(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from openaudit.cli import app

    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    store, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    (store / "models").mkdir(parents=True)
    os.symlink(elsewhere, store / "models" / ORG)  # the owner folder: a component above the repo's
    res = CliRunner().invoke(app, ["snapshot", f"{ORG}/model-01", "-o", str(store), "-q"])
    assert res.exit_code == 2, res.output
    assert "symbolic link" in res.output and "Traceback" not in res.output
    assert list(elsewhere.iterdir()) == []
