"""Issue 25: links outside the Hub (GitHub, arXiv, Zenodo) read by the real client against tests/fakeext.py,
recorded into a store and replayed, and the verdicts they change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from openaudit import errors
from openaudit.sources.external import (
    ExternalSource,
    StoreExternal,
    external_ref,
    linked_refs,
    write_external,
)
from tests.fakeext import FakeExt, running


@pytest.fixture(scope="module")
def fake() -> Any:
    with running() as f:
        yield f


def client(fake: FakeExt, **kw: Any) -> ExternalSource:
    return ExternalSource(bases=fake.bases(), backoff=0.01, **kw)


def test_only_allow_listed_hosts_are_followed() -> None:
    assert external_ref("https://github.com/allenai/OLMo/tree/main/scripts") == ("github", "allenai/OLMo")
    assert external_ref("https://github.com/allenai/OLMo.git") == ("github", "allenai/OLMo")
    assert external_ref("https://arxiv.org/pdf/2402.00838v2") == ("arxiv", "2402.00838")
    assert external_ref("https://zenodo.org/records/7654321") == ("zenodo", "7654321")
    assert external_ref("https://doi.org/10.5281/zenodo.7654321") == ("zenodo", "7654321")
    # Not on the allow-list, or not a repository: recorded as a link by the card, never fetched.
    for url in ("https://example.com/github.com/a/b", "https://github.com/orgs/acme", "https://gitee.com/a/b",
                "http://169.254.169.254/latest", "https://raw.githubusercontent.com/a/b/main/x"):
        assert external_ref(url) is None, url
    # Each repository once, however it is spelled; a card of fifty links does not cost fifty fetches.
    refs = linked_refs(["https://github.com/A/b", "https://github.com/a/B/blob/main/x.py"]
                       + [f"https://github.com/o/r{i}" for i in range(20)])
    assert refs[0] == ("github", "A/b") and len(refs) == 6


def test_readme_only_repo_is_read_at_its_commit(fake: FakeExt) -> None:
    snap = client(fake).get("github", "quillai/quill-train")
    assert snap.status == "ok" and snap.revision and len(snap.revision) == 40
    assert sorted(e["path"] for e in snap.info["tree"]) == ["LICENSE", "README.md"]
    assert "Coming soon" in snap.files["README.md"].text
    assert snap.info["repo"]["license"]["spdx_id"] == "Apache-2.0"
    assert snap.file_url("README.md") == f"https://github.com/quillai/quill-train/blob/{snap.revision}/README.md"


def test_renamed_repo_is_followed_on_the_same_host(fake: FakeExt) -> None:
    snap = client(fake).get("github", "oldcorp/vintage-tools")
    assert snap.id == "oldcorp/vintage-toolkit" and snap.info["requested"] == "oldcorp/vintage-tools"
    assert "convert.py" in [e["path"] for e in snap.info["tree"]]


def test_redirect_to_another_host_is_not_followed(fake: FakeExt) -> None:
    with pytest.raises(errors.NetworkError, match="another host"):
        client(fake).get("github", "quillai/quill-mirror")
    assert not any("steal" in r["path"] for r in fake.log)


def test_404_and_451_are_answers_and_archived_empty_is_recorded(fake: FakeExt) -> None:
    c = client(fake)
    assert c.get("github", "quillai/quill-eval").status == "not-found"
    blocked = c.get("github", "quillai/quill-legal")
    assert blocked.status == "unavailable" and "451" in blocked.detail
    empty = c.get("github", "oldcorp/vintage-data")
    assert empty.status == "ok" and empty.info["empty"] and empty.info["repo"]["archived"] is True
    assert c.get("zenodo", "7000001").status == "not-found"  # 410: deleted
    assert c.get("arxiv", "2401.99999").status == "not-found"  # OAI idDoesNotExist


def test_one_fetch_per_repository_per_run(fake: FakeExt) -> None:
    c = client(fake)
    before = len(fake.log)
    a = c.get("github", "brightwave/bright-lm")
    b = c.get("github", "BrightWave/Bright-LM")
    assert a is b
    assert len(fake.log) - before == 5  # repo, commit, tree, README, LICENSE


def test_rate_limit_is_an_error_never_an_answer_and_the_token_goes_to_github_only() -> None:
    token = "ghp_" + "s3cr3t" * 6
    with running(rate_limited=True) as f:
        c = client(f, token=token)
        with pytest.raises(errors.RateLimited) as e:
            c.get("github", "brightwave/bright-lm")
        assert "resets in" in str(e.value) and token not in str(e.value)
        c.get("arxiv", "2406.01111")
        c.get("zenodo", "7654321")
        gh = [r for r in f.log if r["path"].startswith("/repos/")]
        others = [r for r in f.log if not r["path"].startswith("/repos/")]
        assert gh and all(r["authorization"] == f"Bearer {token}" for r in gh)
        assert others and not any(r["auth"] for r in others)
    # Without a token the message says how to get a larger allowance.
    with running(rate_limited=True) as f, pytest.raises(errors.RateLimited, match="GITHUB_TOKEN"):
        client(f).get("github", "brightwave/bright-lm")


def test_a_body_over_the_cap_is_cut_while_streaming() -> None:
    with running(huge_file=64 * 1024 * 1024) as f:
        snap = client(f).get("github", "quillai/quill-train")
    assert "README.md" not in snap.files and "LICENSE" in snap.files  # the licence is still read


def test_the_shared_budget_bounds_external_requests(fake: FakeExt) -> None:
    from openaudit.sources.gate import RequestGate

    gate = RequestGate(2, max_requests=3)
    with pytest.raises(errors.FetchError, match="budget"):
        client(fake, gate=gate).get("github", "brightwave/bright-lm")
    assert gate.sent == 3 and gate.by_bucket["external"] == 3


def test_unreachable_host_is_retried_then_incomplete() -> None:
    c = ExternalSource(bases={"github": "http://127.0.0.1:9"}, backoff=0.01, retries=1, timeout=2)
    with pytest.raises(errors.NetworkError):
        c.get("github", "a/b")


def test_papers_and_records(fake: FakeExt) -> None:
    c = client(fake)
    p = c.get("arxiv", "2406.01111")
    assert p.info["title"].startswith("Papyrus:") and p.info["authors"][0] == "Ada Moreau"
    assert p.info["license"] == "http://creativecommons.org/licenses/by/4.0/"
    z = c.get("zenodo", "7654321")
    assert z.info["license"] == "cc-by-4.0" and len(z.info["files"]) == 2


def test_store_round_trip(fake: FakeExt, tmp_path: Path) -> None:
    c = client(fake)
    for host, rid in (("github", "brightwave/bright-lm"), ("github", "quillai/quill-eval"), ("arxiv", "2406.01111"),
                      ("zenodo", "7654321")):
        write_external(tmp_path, c.get(host, rid))
    assert (tmp_path / "github" / "brightwave" / "bright-lm" / "files" / "LICENSE").is_file()
    back = StoreExternal(tmp_path)
    again = back.get("github", "brightwave/bright-lm")
    assert again.revision == c.get("github", "brightwave/bright-lm").revision
    assert again.files["README.md"].text == c.get("github", "brightwave/bright-lm").files["README.md"].text
    assert back.get("github", "quillai/quill-eval").status == "not-found"
    assert back.get("arxiv", "2406.01111").info["title"].startswith("Papyrus")
    # What the store did not record was not followed: absent, not an error, and no request.
    got, errs = back.follow(["https://github.com/nobody/nothing"])
    assert got == {} and errs == {}


def test_the_cache_keeps_a_repository_read_at_its_commit(fake: FakeExt, tmp_path: Path) -> None:
    client(fake, cache_dir=tmp_path).get("github", "brightwave/bright-lm")
    before = len(fake.log)
    again = client(fake, cache_dir=tmp_path).get("github", "brightwave/bright-lm")
    assert len(fake.log) - before == 2  # the repo's metadata and its commit; tree and files from the cache
    assert "README.md" in again.files


def test_following_is_off_in_the_test_suite_unless_a_test_turns_it_on() -> None:
    assert os.environ.get("OPENAUDIT_EXTERNAL") == "off"
    assert ExternalSource.from_env() is None
