"""Sealed external cache entries (issue 27, item 1): the repositories a card links to (GitHub, kept in
CACHE/external/github/<owner>/<repo>/) are believed only when sealed with this user's key
(openaudit.seal), as the Hub entries of the snapshot cache are.

The attacker can write the cache folder (a CI cache restored from another branch): they edit a
README-only repository's tree to list train.py, swap a LICENSE, or plant entries written with another
key. Each case runs the real CLI against tests/fakehub.py and tests/fakeext.py.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_external import cli, ev, finding, hub_store

from openaudit import seal
from openaudit.sources.external import CachedExternal, StoreExternal, write_external
from tests.fakeext import APACHE_HEAD, FakeExt, running

QUILL = "quillai/Quill-7B"  # links openaudit-fixtures/quill-train: a README-only "training code" repository
BRIGHT = "brightwave/Bright-3B"  # links openaudit-fixtures/bright-lm: Apache-2.0 code
MIT = ("MIT License\n\nCopyright (c) 2024 someone\n\nPermission is hereby granted, free of charge, to any person "
       "obtaining a copy of this software and associated documentation files (the \"Software\"), to deal in the "
       "Software without restriction, including without limitation the rights to use, copy, modify, merge, "
       "publish, distribute, sublicense, and/or sell copies of the Software.\n")


@pytest.fixture(autouse=True)
def _fresh_key() -> Any:
    seal.local_key.cache_clear()
    yield
    seal.local_key.cache_clear()


@pytest.fixture
def hub(tmp_path: Path, fakehub: Any, repo_writer: Any) -> Any:
    return fakehub(hub_store(tmp_path / "hub", repo_writer))


@pytest.fixture
def ext() -> Any:
    with running() as f:
        yield f


def audit(hub: Any, ext: FakeExt, cache: Path, *ids: str, extra: tuple[str, ...] = (),
          env: dict[str, str] | None = None) -> tuple[dict[str, Any], str, list[str]]:
    """One `audit` run: (the subject by id, stderr, the paths asked of the external hosts)."""
    before = len(ext.log)
    r = cli("audit", *ids, "--cache-dir", str(cache), "-f", "json", *extra,
            env={"HF_ENDPOINT": hub.url, **ext.env(), **(env or {})})
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr
    subjects = {s["repo_id"]: s for s in json.loads(r.stdout)["subjects"]}
    return subjects, r.stderr, [x["path"] for x in ext.log[before:]]


def entry(cache: Path, repo: str) -> Path:
    return cache / "external" / "github" / "openaudit-fixtures" / repo


def add_train_py(cache: Path) -> None:
    """The poison: quill-train's cached tree made to list a training script it does not hold."""
    info = entry(cache, "quill-train") / "info.json"
    doc = json.loads(info.read_text(encoding="utf-8"))
    doc["info"]["tree"].append({"path": "train.py", "type": "blob", "size": 4200})
    info.write_text(json.dumps(doc), encoding="utf-8")


def code_repo(subject: dict[str, Any]) -> dict[str, Any]:
    (got,) = [e["value"] for e in ev(subject, "code.repo") if e["value"]["repo"].endswith("quill-train")
              or e["value"]["repo"].endswith("bright-lm")]
    return got


@pytest.mark.slow
def test_a_tree_edited_to_list_train_py_is_read_again_online(hub: Any, ext: FakeExt, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    true, _, _ = audit(hub, ext, cache, QUILL)
    assert code_repo(true[QUILL])["kinds"] == []  # README-only: no training code
    add_train_py(cache)

    # The poison matters: believed (here: sealed again with this user's key), it gives the repository
    # training code and changes the code verdict. This is what the seal keeps out.
    believed = tmp_path / "believed"
    shutil.copytree(cache, believed)
    snap = StoreExternal(believed / "external").read("github", "openaudit-fixtures/quill-train")
    assert snap is not None
    write_external(believed / "external", snap, seal=True)
    fooled, _, _ = audit(hub, ext, believed, QUILL)
    assert code_repo(fooled[QUILL])["kinds"] == ["training"]
    assert finding(fooled[QUILL], "OA-COD-001")["outcome"] != finding(true[QUILL], "OA-COD-001")["outcome"]

    got, err, asked = audit(hub, ext, cache, QUILL)
    s = got[QUILL]
    assert code_repo(s) == code_repo(true[QUILL]) and finding(s, "OA-COD-001") == finding(true[QUILL], "OA-COD-001")
    assert any("/git/trees/" in p and "quill-train" in p for p in asked)  # read again from the host
    assert s["cache"] == "refetched"
    assert "external cache: the cached github repository openaudit-fixtures/quill-train@" in err
    assert "read again from github" in err
    # Read again, the entry is sealed anew: the next run believes it and asks only for the commit.
    again, _, asked = audit(hub, ext, cache, QUILL)
    assert not any("/git/trees/" in p for p in asked) and again[QUILL]["cache"] == "verified"


def test_a_swapped_licence_is_read_again_online(hub: Any, ext: FakeExt, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    true, _, _ = audit(hub, ext, cache, BRIGHT)
    assert code_repo(true[BRIGHT])["license_text"] == "Apache-2.0"
    lic = entry(cache, "bright-lm") / "files" / "LICENSE"
    lic.unlink()
    lic.write_text(MIT, encoding="utf-8")
    got, err, asked = audit(hub, ext, cache, BRIGHT)
    assert code_repo(got[BRIGHT]) == code_repo(true[BRIGHT])
    assert any("/contents/LICENSE" in p for p in asked)
    assert got[BRIGHT]["cache"] == "refetched" and "openaudit-fixtures/bright-lm@" in err
    assert lic.read_text(encoding="utf-8").strip().startswith("Apache License")  # rewritten from the host


@pytest.mark.slow
def test_offline_a_poisoned_entry_is_used_but_said_unverified(hub: Any, ext: FakeExt, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    audit(hub, ext, cache, QUILL)
    warm, _, _ = audit(hub, ext, cache, QUILL, extra=("--offline",))
    assert warm[QUILL]["cache"] == "verified" and code_repo(warm[QUILL])["kinds"] == []  # own entry, offline
    add_train_py(cache)
    got, err, asked = audit(hub, ext, cache, QUILL, extra=("--offline",))
    assert asked == []  # offline: nothing sent
    assert got[QUILL]["cache"] == "unverified"
    assert "openaudit-fixtures/quill-train@" in err and "offline, it is used unverified" in err


@pytest.mark.slow
def test_a_cache_written_with_another_key_is_not_believed(hub: Any, ext: FakeExt, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    audit(hub, ext, cache, QUILL, BRIGHT, env={seal.KEY_ENV: "another machine's key, 32 bytes or more"})
    mine = {seal.KEY_ENV: "this job's own key, also 32 bytes or more"}
    got, err, asked = audit(hub, ext, cache, QUILL, BRIGHT, env=mine)
    trees = sorted(p.split("/")[3] for p in asked if "/git/trees/" in p)
    assert trees == ["bright-lm", "quill-train"]  # neither believed: each read again
    assert {s["cache"] for s in got.values()} == {"refetched"}
    assert err.count("external cache: the cached github repository") == 2
    again, _, asked = audit(hub, ext, cache, QUILL, BRIGHT, env=mine)
    assert not any("/git/trees/" in p or "/contents/" in p for p in asked)
    assert {s["cache"] for s in again.values()} == {"verified"}


def test_own_sealed_entries_are_used_warm_with_no_request_for_their_files(hub: Any, ext: FakeExt,
                                                                          tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cold, _, asked_cold = audit(hub, ext, cache, QUILL)
    assert any("/git/trees/" in p for p in asked_cold) and cold[QUILL]["cache"] is None
    warm, err, asked = audit(hub, ext, cache, QUILL)
    # Only what says which commit is current: the repository and its branch's commit, per linked repo.
    assert asked and all("/git/trees/" not in p and "/contents/" not in p for p in asked), asked
    assert "external cache" not in err
    assert warm[QUILL]["cache"] == "verified"
    assert code_repo(warm[QUILL]) == code_repo(cold[QUILL])
    assert finding(warm[QUILL], "OA-COD-001") == finding(cold[QUILL], "OA-COD-001")


def test_a_snapshot_store_is_not_sealed_and_a_store_replay_is_not_checked(tmp_path: Path, ext: FakeExt) -> None:
    from openaudit.sources.external import ExternalSource

    snap = ExternalSource(bases=ext.bases(), backoff=0.01).get("github", "openaudit-fixtures/bright-lm")
    write_external(tmp_path / "store", snap)  # as `openaudit snapshot -o STORE` writes it
    doc = json.loads((tmp_path / "store" / "github" / "openaudit-fixtures" / "bright-lm" / "info.json").read_text())
    assert "cache" not in doc  # the store's layout is as before
    got = StoreExternal(tmp_path / "store").read("github", "openaudit-fixtures/bright-lm")
    assert got is not None and got.cache is None and got.files["LICENSE"].text.strip().startswith("Apache")
    assert StoreExternal(tmp_path / "store").read_sealed("github", "openaudit-fixtures/bright-lm")[1] == "unsealed"


def test_stderr_names_three_entries_then_says_the_rest_in_one_line(tmp_path: Path, ext: FakeExt,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    from openaudit.snapshot import ExternalSnapshot, TextFile

    for i in range(6):
        snap = ExternalSnapshot(host="github", id=f"planted/repo-{i}", revision=f"{i:x}" * 40,
                                taken_at="2026-01-01T00:00:00Z", info={"tree": []},
                                files={"LICENSE": TextFile(path="LICENSE", text=APACHE_HEAD, size=len(APACHE_HEAD))})
        write_external(tmp_path, snap)  # unsealed, as another machine's entry reads
    offline = CachedExternal(tmp_path)
    with caplog.at_level(logging.WARNING, logger="openaudit.sources.external"):
        got, errs = offline.follow([f"https://github.com/planted/repo-{i}" for i in range(6)])
    assert errs == {} and {s.cache for s in got.values()} == {"unverified"}
    lines = [r.getMessage() for r in caplog.records]
    assert sum("used unverified" in m for m in lines) == 3
    assert sum("further entries like these are not named" in m for m in lines) == 1 and len(lines) == 4
    # What the cache does not hold is not followed offline: absent, not an error.
    assert offline.follow(["https://github.com/nobody/nothing"]) == ({}, {})


@pytest.mark.slow
def test_org_offline_says_a_poisoned_linked_repository_unverified(tmp_path: Path, fakehub: Any, repo_writer: Any,
                                                                   ext: FakeExt) -> None:
    cards = {"nimbus/Nimbus-7B": "Training code: https://github.com/openaudit-fixtures/quill-train\n",
             "nimbus/Nimbus-3B": "Training code: https://github.com/openaudit-fixtures/bright-lm\n"}
    for i, (rid, body) in enumerate(cards.items()):
        repo_writer(tmp_path / "hub", rid, {"sha": f"{i + 1:x}" * 40, "gated": False, "private": False,
                                            "siblings": [{"rfilename": "README.md"},
                                                         {"rfilename": "model.safetensors", "size": 4_000_000_000}],
                                            "lastModified": "2025-02-01T00:00:00.000Z",
                                            "cardData": {"license": "apache-2.0"}, "tags": ["license:apache-2.0"]},
                    {"README.md": f"---\nlicense: apache-2.0\n---\n# {rid}\n\n{body}"})
    hub = fakehub(tmp_path / "hub", fresh=True)
    cache = tmp_path / "cache"
    env = {"HF_ENDPOINT": hub.url, **ext.env()}

    def org(*extra: str) -> tuple[dict[str, Any], str]:
        r = cli("org", "nimbus", "--cache-dir", str(cache), "-f", "json", *extra, env=env)
        assert r.returncode in (0, 1), r.stderr
        return {s["repo_id"]: s for s in json.loads(r.stdout)["subjects"]}, r.stderr

    org()
    warm, err = org("--offline")
    assert {s["cache"] for s in warm.values()} == {"verified"}, err
    assert code_repo(warm["nimbus/Nimbus-3B"])["kinds"]  # the linked code, from the cache, offline
    add_train_py(cache)
    n = len(ext.log)
    got, err = org("--offline")
    assert len(ext.log) == n
    assert got["nimbus/Nimbus-7B"]["cache"] == "unverified" and got["nimbus/Nimbus-3B"]["cache"] == "verified", err
    assert "openaudit-fixtures/quill-train@" in err and "offline, it is used unverified" in err
    assert "1 linked repositories used unverified" in err  # counted on org's summary line


def test_without_a_key_entries_are_used_unverified_and_stderr_says_so_once(
        tmp_path: Path, ext: FakeExt, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from openaudit.sources.external import ExternalSource

    monkeypatch.setattr(seal, "local_key", lambda: None)  # a read-only home: no key can be had
    client = ExternalSource(bases=ext.bases(), backoff=0.01, cache_dir=tmp_path)
    client.get("github", "openaudit-fixtures/bright-lm")
    info = json.loads((tmp_path / "github" / "openaudit-fixtures" / "bright-lm" / "info.json").read_text())
    assert "cache" not in info  # nothing to seal with
    with caplog.at_level(logging.WARNING, logger="openaudit.sources.external"):
        again = ExternalSource(bases=ext.bases(), backoff=0.01, cache_dir=tmp_path)
        a = again.get("github", "openaudit-fixtures/bright-lm")
        b = again.get("github", "openaudit-fixtures/quill-train")  # not cached: read from the host
        c = CachedExternal(tmp_path).get("github", "openaudit-fixtures/bright-lm")
    assert a.cache == "unverified" and b.cache is None and c.cache == "unverified"
    told = [r.getMessage() for r in caplog.records if "no key to seal" in r.getMessage()]
    assert len(told) == 2 and seal.KEY_ENV in told[0]  # once per reader (the run has one)


def test_an_entry_of_an_earlier_openaudit_is_read_again_once_then_sealed(tmp_path: Path, ext: FakeExt) -> None:
    from openaudit.sources.external import ExternalSource

    def client() -> ExternalSource:
        return ExternalSource(bases=ext.bases(), backoff=0.01, cache_dir=tmp_path)

    snap = client().get("github", "openaudit-fixtures/bright-lm")
    write_external(tmp_path, snap)  # as openaudit wrote it before seals: no cache.seal
    n = len(ext.log)
    again = client().get("github", "openaudit-fixtures/bright-lm")
    assert again.cache == "refetched" and any("/git/trees/" in x["path"] for x in ext.log[n:])
    n = len(ext.log)
    third = client().get("github", "openaudit-fixtures/bright-lm")
    assert third.cache == "verified" and not any("/git/trees/" in x["path"] for x in ext.log[n:])
    assert third.files == snap.files and third.info["tree"] == snap.info["tree"]


def test_a_symlinked_repository_folder_in_the_external_cache_is_not_written_through(
        hub: Any, ext: FakeExt, tmp_path: Path) -> None:
    """Issue 27 item 2, for the external cache: a linked repository's folder in a shared cache made a
    link to another folder is not written through; the audit goes on, reads the host, and says why."""
    cache, elsewhere = tmp_path / "cache", tmp_path / "elsewhere"
    elsewhere.mkdir()
    entry(cache, "bright-lm").parent.mkdir(parents=True)
    entry(cache, "bright-lm").symlink_to(elsewhere, target_is_directory=True)
    subjects, err, asked = audit(hub, ext, cache, BRIGHT)
    assert list(elsewhere.iterdir()) == []  # nothing landed where the link points
    assert code_repo(subjects[BRIGHT])["repo"].endswith("bright-lm")  # read from the host instead
    assert any("bright-lm" in p for p in asked)
    assert "symbolic link" in err and "not written" in err
