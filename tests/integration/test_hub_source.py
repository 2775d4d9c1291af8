"""HubSource against the real huggingface_hub client talking to tests/fakehub.py (no mocks)."""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

import pytest

from openaudit import errors
from openaudit.snapshot import MAX_TEXT_FILE_BYTES, Unreadable
from openaudit.sources.cache import CachedSource, cached_hub
from openaudit.sources.hub import HubSource

SHA = "1" * 40
OLD = "2" * 40
GSHA = "3" * 40
TOKEN = "hf_SeCrEtTokenValue0123456789"
README = "---\nlicense: llama3.1\n---\n# Llama\n\nA card.\n"
LICENSE = "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\n" * 30


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, repo_writer: Any) -> Path:
    root = tmp_path_factory.mktemp("hub-store")
    weights = {
        "rfilename": "model.safetensors",
        "size": 5_000_000_000,
        "blobId": "f" * 40,
        "lfs": {"sha256": "e" * 64, "size": 5_000_000_000, "pointerSize": 135},
    }
    sib = [
        {"rfilename": ".gitattributes"},
        {"rfilename": "README.md"},
        {"rfilename": "LICENSE"},
        {"rfilename": "USE_POLICY.md"},
        {"rfilename": "config.json"},
        weights,
    ]
    repo_writer(
        root,
        "acme/open",
        {"gated": False, "sha": SHA, "cardData": {"license": "mit"}, "siblings": sib},
        {"README.md": README, "LICENSE": LICENSE, "USE_POLICY.md": "Be nice.\n", "config.json": "{}"},
    )
    repo_writer(
        root,
        "acme/open",
        {"gated": False, "sha": OLD, "siblings": sib[:2]},
        {"README.md": "v0\n"},
        revision=OLD,
    )
    repo_writer(
        root,
        "meta/gated",
        {
            "gated": "manual",
            "sha": GSHA,
            "cardData": {"license": "llama3.1"},
            "tags": ["license:llama3.1"],
            "siblings": sib,
        },
        {"README.md": README, "LICENSE": LICENSE},
    )  # USE_POLICY.md not recorded
    repo_writer(
        root,
        "acme/weird",
        {
            "gated": False,
            "siblings": [
                {"rfilename": "README.md"},
                {"rfilename": "LICENSE.bin"},
                {"rfilename": "NOTICE", "size": MAX_TEXT_FILE_BYTES + 1},
                {"rfilename": "LICENSE.txt"},
                {"rfilename": "../LICENSE"},
            ],
        },
        {"README.md": "hi", "LICENSE.bin": b"\x00\x01\x02binary", "NOTICE": "n"},
    )
    repo_writer(root, "acme/weights-only", {"gated": False, "siblings": [weights]})
    repo_writer(root, "acme/off", {"gated": False, "disabled": True, "siblings": sib[:2]}, {"README.md": "x"})
    repo_writer(
        root,
        "acme/Old-Name",
        {"id": "acme/open", "gated": False, "sha": SHA, "siblings": sib[:2]},
        {"README.md": README},
    )
    repo_writer(
        root,
        "acme/data",
        {"gated": False, "siblings": [{"rfilename": "README.md"}]},
        {"README.md": "dataset card"},
        repo_type="dataset",
    )
    return root


def src(hub: Any, tmp_path: Path, **kw: Any) -> CachedSource:
    kw.setdefault("token", False)
    kw.setdefault("backoff", 0.01)
    return cached_hub(HubSource(endpoint=hub.url, **kw), tmp_path / "cache")


def buckets(reqs: list[dict[str, Any]]) -> tuple[int, int]:
    return sum(r["bucket"] == "api" for r in reqs), sum(r["bucket"] == "resolvers" for r in reqs)


# ---- reading ------------------------------------------------------------------------------------
def test_open_repo_reads_text_files_pinned_to_the_sha(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store)
    mark = hub.mark()
    snap = src(hub, tmp_path).model("acme/open")
    assert snap.repo_id == "acme/open" and snap.revision == SHA and snap.source == "hub"
    assert snap.info["cardData"] == {"license": "mit"}
    assert snap.info["siblings"][-1]["lfs"]["size"] == 5_000_000_000  # blobs=true
    assert {p: f.text for p, f in snap.files.items()} == {
        "README.md": README,
        "LICENSE": LICENSE,
        "USE_POLICY.md": "Be nice.\n",
    }
    assert snap.files["LICENSE"].size == len(LICENSE.encode())
    assert snap.unreadable == {}
    reqs = hub.since(mark)
    resolves = [r for r in reqs if r["bucket"] == "resolvers"]
    assert all(f"/resolve/{SHA}/" in r["path"] for r in resolves)
    assert not any(r["path"].endswith((".safetensors", "config.json")) for r in resolves)  # never weights
    # one API call; one GET per text file (3 files), no HEAD
    assert buckets(reqs) == (1, 3) and all(r["method"] == "GET" for r in reqs)
    assert [r["query"] for r in reqs if r["bucket"] == "api"] == ["blobs=true"]


def test_rerun_on_unchanged_repo_costs_only_the_api_call(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store)
    source = src(hub, tmp_path)
    first = source.model("acme/open")
    mark = hub.mark()
    again = source.model("acme/open")
    assert buckets(hub.since(mark)) == (1, 0)
    assert again.files == first.files


def test_older_revision(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store)
    snap = src(hub, tmp_path).model("acme/open", revision=OLD)
    assert snap.revision == OLD and snap.requested_revision == OLD
    assert snap.files["README.md"].text == "v0\n"


def test_too_large_binary_and_missing_files(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store)
    mark = hub.mark()
    snap = src(hub, tmp_path).model("acme/weird")
    assert snap.files["README.md"].text == "hi"
    u = snap.unreadable
    assert u["LICENSE.bin"].reason == Unreadable.BINARY
    assert u["NOTICE"].reason == Unreadable.TOO_LARGE and str(MAX_TEXT_FILE_BYTES + 1) in u["NOTICE"].detail
    assert u["LICENSE.txt"].reason == Unreadable.MISSING
    assert u["../LICENSE"].reason == Unreadable.ERROR  # a hostile listing is not followed
    reqs = hub.since(mark)
    assert not any(r["path"].endswith("/NOTICE") for r in reqs)  # too large: never requested
    assert not any(".." in r["path"] for r in reqs)


def test_repo_without_text_files_costs_one_request(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store)
    mark = hub.mark()
    snap = src(hub, tmp_path).model("acme/weights-only")
    assert snap.files == {} and snap.unreadable == {}
    assert buckets(hub.since(mark)) == (1, 0)


def test_dataset_and_old_name(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store)
    source = src(hub, tmp_path)
    ds = source.dataset("acme/data")
    assert ds.repo_type == "dataset" and ds.files["README.md"].text == "dataset card"
    old = source.model("acme/Old-Name")
    assert old.repo_id == "acme/open" and old.files["README.md"].text == README


# ---- gating -------------------------------------------------------------------------------------
def test_gated_without_token_keeps_metadata_and_marks_files_gated(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store)
    mark = hub.mark()
    snap = src(hub, tmp_path, token=None).model("meta/gated")  # HF_TOKEN is unset for the session
    assert snap.gated() == "manual" and snap.card_data() == {"license": "llama3.1"}
    assert snap.files == {}
    assert set(snap.unreadable) == {"README.md", "LICENSE", "USE_POLICY.md"}
    readme = snap.unreadable["README.md"]
    assert readme.reason == Unreadable.GATED
    assert readme.detail == "meta/gated: README.md is gated; pass a token with access (HF_TOKEN or --token)"
    assert buckets(hub.since(mark)) == (1, 0)  # every file would answer 401: none is asked for


def test_gated_with_token_reads_files(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store)
    mark = hub.mark()
    snap = src(hub, tmp_path, token=TOKEN).model("meta/gated")
    assert snap.files["README.md"].text == README and snap.files["LICENSE"].text == LICENSE
    assert snap.unreadable["USE_POLICY.md"].reason == Unreadable.GATED  # the recorder had no access
    assert "not been granted access" in snap.unreadable["USE_POLICY.md"].detail
    assert buckets(hub.since(mark)) == (1, 3)  # a GET for each file, the third answered 403


def test_gated_with_a_token_lacking_access(fakehub: Any, store: Path, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("hf_the_only_good_one\n")
    hub = fakehub(store, tokens=tokens)
    snap = src(hub, tmp_path, token=TOKEN).model("meta/gated")
    assert snap.files == {}
    assert {u.reason for u in snap.unreadable.values()} == {Unreadable.GATED}
    assert "request it at https://huggingface.co/meta/gated" in snap.unreadable["README.md"].detail


def test_token_from_hf_token_env(fakehub: Any, store: Path, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    snap = src(fakehub(store), tmp_path, token=None).model("meta/gated")
    assert "README.md" in snap.files


def test_endpoint_from_hf_endpoint_env(fakehub: Any, store: Path, tmp_path: Path, monkeypatch: Any) -> None:
    hub = fakehub(store)
    monkeypatch.setenv("HF_ENDPOINT", hub.url + "/")
    source = HubSource(token=False)
    assert source.endpoint == hub.url
    assert source.model("acme/open").revision == SHA


# ---- errors -------------------------------------------------------------------------------------
def test_not_found(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store)
    with pytest.raises(errors.RepoNotFound) as ei:
        src(hub, tmp_path).model("acme/nope")
    assert "'acme/nope' not found on " + hub.url in str(ei.value) and ei.value.repo_id == "acme/nope"
    with pytest.raises(errors.RepoNotFound):
        src(hub, tmp_path).dataset("acme/open")


def test_revision_not_found(fakehub: Any, store: Path, tmp_path: Path) -> None:
    with pytest.raises(errors.RevisionNotFound) as ei:
        src(fakehub(store), tmp_path).model("acme/open", revision="9" * 40)
    assert f"revision '{'9' * 40}' of model 'acme/open' not found" in str(ei.value)


def test_disabled_repo_is_access_denied(fakehub: Any, store: Path, tmp_path: Path) -> None:
    with pytest.raises(errors.AccessDenied) as ei:
        src(fakehub(store), tmp_path).model("acme/off")
    assert "disabled" in str(ei.value) and "acme/off" in str(ei.value)


def test_invalid_repo_id_sends_nothing(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store)
    mark = hub.mark()
    for bad in ("../etc/passwd", "acme", "acme/../../x", "a/b/c"):
        with pytest.raises(errors.InvalidRepoId):
            src(hub, tmp_path).model(bad)
    with pytest.raises(errors.InvalidRepoId):
        src(hub, tmp_path).model("acme/open", revision="../../x")
    assert hub.since(mark) == []


def test_rate_limit_is_waited_out(fakehub: Any, store: Path, tmp_path: Path) -> None:
    """Another client (another run, the same IP) spent the api window: the 429 that says so
    (`RateLimit: "api";r=0;t=1`) is waited out, and the retry succeeds."""
    hub = fakehub(store, fresh=True, rate_limit="1/1")
    src(hub, tmp_path / "other").model("acme/weights-only")
    t0 = time.monotonic()
    snap = src(hub, tmp_path).model("acme/weights-only")  # same 1 s window
    waited = time.monotonic() - t0
    assert snap.repo_id == "acme/weights-only"
    statuses = [r["status"] for r in hub.requests()]
    assert statuses[:2] == [200, 429] and statuses[-1] == 200
    assert 0.3 <= waited < 5


def test_a_window_the_hub_said_is_spent_is_waited_out_without_a_429(
    fakehub: Any, store: Path, tmp_path: Path
) -> None:
    """The answer to the first request said `r=0;t=1`: the second waits for the reset instead of
    spending a request on a 429."""
    hub = fakehub(store, fresh=True, rate_limit="1/1")
    source = src(hub, tmp_path)
    source.model("acme/weights-only")
    t0 = time.monotonic()
    source.model("acme/weights-only")  # its metadata again (it has no text file to read)
    assert time.monotonic() - t0 >= 0.5
    assert [r["status"] for r in hub.requests() if r["path"] != "/api/agent-harnesses"] == [200, 200]


def test_rate_limit_longer_than_max_wait_fails_fast(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store, fresh=True, rate_limit="1/600")
    source = src(hub, tmp_path, max_wait=5)
    source.model("acme/weights-only")
    t0 = time.monotonic()
    with pytest.raises(errors.RateLimited) as ei:
        source.model("acme/weights-only")
    assert time.monotonic() - t0 < 2
    assert "rate limited" in str(ei.value) and "resets in" in str(ei.value)


def test_persistent_5xx_gives_network_error_after_bounded_retries(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store, fresh=True, fail_rate=1.0)
    with pytest.raises(errors.NetworkError) as ei:
        src(hub, tmp_path, max_retries=3).model("acme/open")
    assert "on all 4 attempts" in str(ei.value) and ei.value.repo_id == "acme/open"
    assert len(hub.requests()) == 4


def test_transient_5xx_is_retried(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store, fresh=True, fail_rate=0.5, seed=3)
    snap = src(hub, tmp_path, max_retries=6).model("acme/open")
    assert snap.files["LICENSE"].text == LICENSE
    api = [r["status"] for r in hub.requests() if r["bucket"] == "api"]
    assert api[-1] == 200


def test_stalled_server_times_out(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store, fresh=True, slow_rate=1.0, slow_ms=3000)
    t0 = time.monotonic()
    with pytest.raises(errors.NetworkError) as ei:
        src(hub, tmp_path, timeout=0.3, max_retries=1).model("acme/open")
    assert time.monotonic() - t0 < 2.5
    assert "ReadTimeout" in str(ei.value) and "after 2 attempts" in str(ei.value)


def test_unreachable_endpoint(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = cached_hub(HubSource(endpoint=f"http://127.0.0.1:{port}", token=False, max_retries=1, backoff=0.01),
                        tmp_path)
    with pytest.raises(errors.NetworkError) as ei:
        source.model("acme/open")
    assert "cannot reach" in str(ei.value) and "ConnectError" in str(ei.value)


def test_truncated_and_reset_bodies_are_recovered(fakehub: Any, store: Path, tmp_path: Path) -> None:
    hub = fakehub(store, fresh=True, truncate_rate=0.3, reset_rate=0.2, seed=5)
    snap = src(hub, tmp_path, max_retries=6).model("acme/open")
    assert snap.files["LICENSE"].text == LICENSE and snap.files["README.md"].text == README
    assert any(r.get("fault") for r in hub.requests())


# ---- the token stays secret ---------------------------------------------------------------------
def _all_text(e: BaseException) -> str:
    return "".join(traceback.format_exception(e)) + repr(e) + repr(e.args)


def test_token_never_appears_in_errors_or_snapshots(fakehub: Any, store: Path, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("hf_other\n")
    hub = fakehub(store, tokens=tokens)
    source = src(hub, tmp_path, token=TOKEN)
    assert TOKEN not in repr(source) and TOKEN not in str(vars(source).get("endpoint"))
    snap = source.model("meta/gated")  # 403 on every file: details built from the errors
    assert TOKEN not in snap.model_dump_json()
    for call in (
        lambda: source.model("acme/nope"),
        lambda: source.model("acme/off"),
        lambda: source.model("acme/open", revision="9" * 40),
    ):
        with pytest.raises(errors.FetchError) as ei:
            call()
        assert TOKEN not in _all_text(ei.value)
    failing = src(fakehub(store, fresh=True, fail_rate=1.0), tmp_path, token=TOKEN, max_retries=0)
    with pytest.raises(errors.NetworkError) as ei2:
        failing.model("acme/open")
    assert TOKEN not in _all_text(ei2.value)
