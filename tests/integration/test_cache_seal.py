"""Sealed cache entries (issue 27, item 1): runs that get no blob ids from the Hub (`org`, an `audit` of
4 ids or more of one owner, which read the owner's listing; linked datasets and base models) believe a
cached entry only when it carries this user's seal (openaudit.seal's key, HMAC over the repo id, the
sidecar with every file's digest, and info.json).

The attacker can write the cache folder (a CI cache restored from another branch): they swap a LICENSE
and recompute the sidecar's digest, edit an info.json at the same sha, or plant entries written on
another machine (another key). Each test runs the real CLI against tests/fakehub.py.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_cache_integrity import _entry, _licence, _recompute_digest
from test_org import APACHE, MIT, ORG, _tmp_out, api_requested, build_org, files_requested, run  # noqa: F401

from openaudit import seal

IDS = [f"{ORG}/model-{i:02d}" for i in (0, 1, 2, 4)]  # 4 ids of one owner: its listing is read
DATASET = "synth-data/corpus"  # linked by model-00 and model-02 (and model-04)


@pytest.fixture(autouse=True)
def _fresh_key() -> Iterator[None]:
    """The key is read once per process (seal.local_key is cached); a test that changes it starts and
    ends with it read afresh."""
    from openaudit.licenses import identify

    # Matches this process remembers (an earlier test's, perhaps forged) would stand in for the
    # matches a run makes and keeps in identify/: each test starts and ends without them.
    for clear in (seal.local_key.cache_clear, identify._match.cache_clear, identify._identify_cached.cache_clear):
        clear()
    yield
    for clear in (seal.local_key.cache_clear, identify._match.cache_clear, identify._identify_cached.cache_clear):
        clear()


@pytest.fixture
def hub(fakehub: Any, tmp_path: Path, repo_writer: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Six models (model-01 Apache-2.0, model-00 MIT, model-03 gated, model-04 a fine-tune of
    model-00) and the dataset some of them name, on a fake Hub."""
    store = tmp_path / "store"
    build_org(store, repo_writer, n=6)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return fakehub(store, fresh=True)


ORG_ARGS = ("org", ORG, "--processes", "0")


def _verdicts(report: dict[str, Any]) -> dict[str, Any]:
    """What a reader of the report relies on, per audited model."""
    return {s["repo_id"]: (s["status"], _licence(s), {k: d["verdict"] for k, d in s["dimensions"].items()},
                           sorted(f["id"] for f in s["flags"]), s["score"],
                           [e["value"] for e in s["evidence"] if e["kind"] == "license.file"])
            for s in report["subjects"]}


def _cache_states(report: dict[str, Any]) -> dict[str, Any]:
    return {s["repo_id"]: s["cache"] for s in report["subjects"] if s["status"] != "skipped"}


def _poison(cache: Path) -> None:
    """The three forgeries of the issue, each made to pass every check but the seal."""
    # 1. model-01's Apache LICENSE swapped for MIT, the sidecar's digest made to agree.
    e = _entry(cache, "model-01")
    (e / "files" / "LICENSE").unlink()  # hard-linked to the other Apache LICENSEs: this entry's only
    (e / "files" / "LICENSE").write_text(MIT, encoding="utf-8")
    _recompute_digest(e)
    # 2. model-02's info.json edited at the same sha: its weights file dropped from the listing of files.
    e = _entry(cache, "model-02")
    info = json.loads((e / "info.json").read_text(encoding="utf-8"))
    info["siblings"] = [s for s in info["siblings"] if s["rfilename"] != "model.safetensors"]
    (e / "info.json").write_text(json.dumps(info), encoding="utf-8")
    # 3. the linked dataset's info.json edited at the same sha: gated, and a non-commercial licence.
    e = cache / "datasets" / DATASET
    info = json.loads((e / "info.json").read_text(encoding="utf-8"))
    info["gated"] = "manual"
    info["cardData"] = {**(info.get("cardData") or {}), "license": "cc-by-nc-4.0"}
    info["tags"] = [t for t in info.get("tags", []) if not t.startswith("license:")] + ["license:cc-by-nc-4.0"]
    (e / "info.json").write_text(json.dumps(info), encoding="utf-8")


POISONED = {f"{ORG}/model-00", f"{ORG}/model-01", f"{ORG}/model-02", f"{ORG}/model-04"}  # 00, 02, 04: the dataset


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("command", ["org", "audit"])
def test_a_poisoned_cache_changes_no_verdict_online_and_is_read_again(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, command: str
) -> None:
    cache = tmp_path / "cache"
    args = (*ORG_ARGS, "--cache-dir", str(cache)) if command == "org" else ("audit", *IDS, "--cache-dir", str(cache))
    want = 3 if command == "org" else 0  # org: model-03 is gated, incomplete without a token
    code, cold, out = run(monkeypatch, hub.url, *args)
    assert code == want and cold is not None, out
    truth = _verdicts(cold)
    assert truth[f"{ORG}/model-01"][1] == "Apache-2.0"

    # Unpoisoned, the warm run believes what this user sealed: no file read again, every entry verified.
    mark = hub.mark()
    _, warm, out = run(monkeypatch, hub.url, *args)
    assert warm is not None and _verdicts(warm) == truth, out
    assert files_requested(hub.since(mark)) == []
    assert set(_cache_states(warm).values()) == {"verified"}

    _poison(cache)
    caplog.clear()
    mark = hub.mark()
    code, again, out = run(monkeypatch, hub.url, *args)
    assert code == want and again is not None, out
    assert _verdicts(again) == truth  # as the Hub serves it, not as the cache was made to say
    states = _cache_states(again)
    # `audit` reads a linked dataset's metadata from the Hub (with blob ids): its edited info.json is
    # not used, its files are checked against the Hub; `org` reads it from the cache: it is read again.
    assert {rid for rid, st in states.items() if st == "refetched"} == (
        POISONED if command == "org" else {f"{ORG}/model-01", f"{ORG}/model-02"})
    assert f"/{ORG}/model-01/resolve/{1:040x}/LICENSE" in files_requested(hub.since(mark))
    told = _warnings(caplog)
    assert any("model-01" in m and "not sealed with this user's cache key" in m for m in told), told
    assert "Traceback" not in out
    if command == "org":
        assert "entries read again from the Hub" in out  # the run's summary counts them

    # Read again, the entries are this user's once more: the next run asks for no file.
    mark = hub.mark()
    _, fourth, out = run(monkeypatch, hub.url, *args)
    assert fourth is not None and _verdicts(fourth) == truth, out
    assert files_requested(hub.since(mark)) == []
    assert set(_cache_states(fourth).values()) == {"verified"}


def test_the_forgeries_would_change_verdicts_if_believed(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check can fail: offline, where nothing can be read again, the poisoned entries are used
    (said unverified), and the verdicts are the forged ones. So it is the seal that kept them out."""
    cache = tmp_path / "cache"
    args = (*ORG_ARGS, "--cache-dir", str(cache))
    _, cold, out = run(monkeypatch, hub.url, *args)
    assert cold is not None, out
    _poison(cache)
    _, offline, out = run(monkeypatch, None, *args, "--offline")
    assert offline is not None, out
    forged, truth = _verdicts(offline), _verdicts(cold)
    assert forged[f"{ORG}/model-01"] != truth[f"{ORG}/model-01"]  # its LICENSE file reads as MIT
    assert forged[f"{ORG}/model-02"] != truth[f"{ORG}/model-02"]
    assert forged[f"{ORG}/model-00"] != truth[f"{ORG}/model-00"]


@pytest.mark.parametrize("command", ["org", "audit"])
def test_offline_a_poisoned_entry_is_reported_unverified_and_a_sealed_one_verified(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, command: str
) -> None:
    cache = tmp_path / "cache"
    args = (*ORG_ARGS, "--cache-dir", str(cache)) if command == "org" else ("audit", *IDS, "--cache-dir", str(cache))
    _, cold, out = run(monkeypatch, hub.url, *args)
    assert cold is not None, out
    _poison(cache)
    caplog.clear()
    _, offline, out = run(monkeypatch, None, *args, "--offline")
    assert offline is not None, out
    states = _cache_states(offline)
    assert {rid for rid, st in states.items() if st == "unverified"} == POISONED
    others = {st for rid, st in states.items() if rid not in POISONED}  # org: model-03 and model-05, sealed
    assert others == ({"verified"} if command == "org" else set())
    told = _warnings(caplog)
    assert any("offline, it is used unverified" in m for m in told), told
    if command == "org":
        assert "entries used unverified" in out


def test_a_cache_written_on_another_machine_is_read_again_not_believed(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Another machine (another key) wrote the cache, and sealed its forgery with its own key: that seal
    is not this user's, so it is worth nothing here."""
    from openaudit.sources.cache import _entry_seal

    cache = tmp_path / "cache"
    args = ("audit", *IDS, "--cache-dir", str(cache))
    monkeypatch.setenv(seal.KEY_ENV, "the-other-machine's-key-" + "x" * 32)
    seal.local_key.cache_clear()
    _, cold, out = run(monkeypatch, hub.url, *args)
    assert cold is not None, out
    truth = _verdicts(cold)
    e = _entry(cache, "model-01")
    (e / "files" / "LICENSE").unlink()
    (e / "files" / "LICENSE").write_text(MIT, encoding="utf-8")
    _recompute_digest(e)
    side = json.loads((e / "snapshot.json").read_text(encoding="utf-8"))
    side["cache"]["seal"] = _entry_seal("model", f"{ORG}/model-01", side,
                                        json.loads((e / "info.json").read_text(encoding="utf-8")))
    (e / "snapshot.json").write_text(json.dumps(side), encoding="utf-8")
    _, there, out = run(monkeypatch, hub.url, *args)
    assert there is not None, out
    assert _verdicts(there)[f"{ORG}/model-01"] != truth[f"{ORG}/model-01"]  # its own key believes the MIT file

    monkeypatch.delenv(seal.KEY_ENV)
    seal.local_key.cache_clear()  # this user's key (a file in their data folder)
    caplog.clear()
    mark = hub.mark()
    _, here, out = run(monkeypatch, hub.url, *args)
    assert here is not None, out
    assert _verdicts(here) == truth
    assert set(_cache_states(here).values()) == {"refetched"}  # every entry: none is sealed with this key
    # Five entries (four models, the dataset) read again: three named on stderr, then one line for the rest.
    told = _warnings(caplog)
    assert sum("not sealed with this user's cache key" in m for m in told) == 3, told
    assert sum("further entries like these are not named" in m for m in told) == 1, told
    assert f"/{ORG}/model-01/resolve/{1:040x}/LICENSE" in files_requested(hub.since(mark))


def test_an_audit_with_blob_ids_verifies_an_unsealed_entry_and_seals_it(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache from before seals (or another machine) whose files the Hub's blob ids vouch for is not
    read again by an `audit` of one id: it is used and sealed, and then `org` uses it warm."""
    cache = tmp_path / "cache"
    rid = f"{ORG}/model-01"
    code, cold, out = run(monkeypatch, hub.url, "audit", rid, "--cache-dir", str(cache))
    assert code == 0 and cold is not None, out
    e = _entry(cache, "model-01")
    side = json.loads((e / "snapshot.json").read_text(encoding="utf-8"))
    del side["cache"]["seal"]
    (e / "snapshot.json").write_text(json.dumps(side), encoding="utf-8")
    mark = hub.mark()
    code, warm, out = run(monkeypatch, hub.url, "audit", rid, "--cache-dir", str(cache))
    assert code == 0 and warm is not None, out
    assert warm["subjects"][0]["cache"] == "verified" and files_requested(hub.since(mark)) == []
    assert "seal" in json.loads((e / "snapshot.json").read_text(encoding="utf-8"))["cache"]
    mark = hub.mark()
    _, org, out = run(monkeypatch, hub.url, *ORG_ARGS, "--cache-dir", str(cache), "--include", "model-01")
    assert org is not None, out
    assert org["subjects"][0]["cache"] == "verified"
    assert files_requested(hub.since(mark)) == []


def test_without_a_key_the_cache_is_used_as_before_seals_and_the_run_says_so(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No key can be had (no OPENAUDIT_CACHE_KEY, and the data folder cannot be made): nothing is
    sealed; `org` uses its entries unverified, and says on stderr why."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker))
    seal.local_key.cache_clear()
    assert seal.local_key() is None
    cache = tmp_path / "cache"
    args = (*ORG_ARGS, "--cache-dir", str(cache))
    _, cold, out = run(monkeypatch, hub.url, *args)
    assert cold is not None, out
    caplog.clear()
    mark = hub.mark()
    _, warm, out = run(monkeypatch, hub.url, *args)
    assert warm is not None and _verdicts(warm) == _verdicts(cold), out
    assert files_requested(hub.since(mark)) == []
    assert set(_cache_states(warm).values()) == {"unverified"}
    told = _warnings(caplog)
    assert sum("no key to seal cache entries with" in m for m in told) == 1, told


def test_an_entry_only_claiming_a_token_does_not_keep_a_fresh_read_out(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forged entry of a gated repo that says it was read with a token used to be kept over what a
    run without one read (and so read again every run); unsealed, it is replaced."""
    cache = tmp_path / "cache"
    args = (*ORG_ARGS, "--cache-dir", str(cache), "--include", "model-03")
    _, cold, out = run(monkeypatch, hub.url, *args)
    assert cold is not None, out
    e = _entry(cache, "model-03")
    side = json.loads((e / "snapshot.json").read_text(encoding="utf-8"))
    side["cache"]["token"] = True
    (e / "snapshot.json").write_text(json.dumps(side), encoding="utf-8")
    _, again, out = run(monkeypatch, hub.url, *args)
    assert again is not None and again["subjects"][0]["cache"] is None, out  # withheld: read from the Hub
    assert json.loads((e / "snapshot.json").read_text(encoding="utf-8"))["cache"]["token"] is False
    _, third, out = run(monkeypatch, hub.url, *args)
    assert third is not None and third["subjects"][0]["cache"] == "verified", out


def test_offline_an_edited_organisation_listing_is_named_on_stderr(
    hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The cached listing decides which models an offline `org` run audits: one left out of it would be
    missing from the report. It is sealed too; edited, the run says so."""
    cache = tmp_path / "cache"
    args = (*ORG_ARGS, "--cache-dir", str(cache))
    _, cold, out = run(monkeypatch, hub.url, *args)
    assert cold is not None, out
    caplog.clear()
    _, offline, out = run(monkeypatch, None, *args, "--offline")
    assert offline is not None and len(offline["subjects"]) == 6, out
    assert not any("cached listing" in m for m in _warnings(caplog))
    listing = cache / "listings" / "models" / f"{ORG}.json"
    body = json.loads(listing.read_text(encoding="utf-8"))
    body["models"] = [r for r in body["models"] if r["id"] != f"{ORG}/model-01"]
    listing.write_text(json.dumps(body), encoding="utf-8")
    caplog.clear()
    _, offline, out = run(monkeypatch, None, *args, "--offline")
    assert offline is not None and len(offline["subjects"]) == 5, out
    told = _warnings(caplog)
    assert any(f"cached listing of {ORG}" in m and "not sealed" in m for m in told), told
