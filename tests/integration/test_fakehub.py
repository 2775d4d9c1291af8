"""The fake Hub's contract (reference/hub-api.md §6, §7): what the real client relies on."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

SHA = "a" * 40
OLD_SHA = "b" * 40
GATED_SHA = "c" * 40
README = "---\nlicense: mit\n---\n# Model m1\n\nA small model.\n"
LICENSE = "MIT License\n\nPermission is hereby granted, free of charge...\n" * 20


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, repo_writer: Any) -> Path:
    root = tmp_path_factory.mktemp("fh-store")
    sib = [
        {"rfilename": "README.md"},
        {"rfilename": "LICENSE"},
        {
            "rfilename": "model.safetensors",
            "size": 1000,
            "blobId": "f" * 40,
            "lfs": {"sha256": "e" * 64, "size": 1000, "pointerSize": 134},
        },
    ]
    base = {
        "author": "acme",
        "gated": False,
        "tags": ["license:mit", "text-generation"],
        "likes": 3,
        "downloads": 10,
        "private": False,
        "cardData": {"license": "mit"},
        "pipeline_tag": "text-generation",
        "createdAt": "2024-01-01T00:00:00.000Z",
        "lastModified": "2024-02-01T00:00:00.000Z",
        "modelId": "acme/m1",
        "siblings": sib,
    }
    repo_writer(root, "acme/m1", base, {"README.md": README, "LICENSE": LICENSE})
    repo_writer(
        root,
        "acme/m1",
        {**base, "tags": ["license:apache-2.0"]},
        {"README.md": "old card\n"},
        revision=OLD_SHA,
    )
    for i in range(2, 6):
        repo_writer(root, f"acme/m{i}", {**base, "modelId": f"acme/m{i}", "siblings": sib[:1]}, {"README.md": "x"})
    repo_writer(root, "other/zeta", {**base, "modelId": "other/zeta"}, {"README.md": "z"})
    repo_writer(root, "acme/gated", {**base, "gated": "manual", "sha": GATED_SHA}, {"README.md": "secret card"})
    repo_writer(root, "acme/off", {**base, "disabled": True}, {"README.md": "gone"})
    # An old name: the folder is the old id, the JSON carries the canonical one.
    repo_writer(root, "acme/Old-Name", {**base, "id": "acme/m1"}, {"README.md": README})
    repo_writer(
        root,
        "acme/data",
        {"gated": False, "siblings": [{"rfilename": "README.md"}]},
        {"README.md": "dataset card"},
        repo_type="dataset",
    )
    (root.parent / "secret.txt").write_text("do not serve me")
    return root


def request(
    url: str, method: str, path: str, headers: dict[str, str] | None = None, timeout: float = 10
) -> tuple[int, dict[str, str], bytes]:
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        conn.close()


def get_json(url: str, path: str, **kw: Any) -> tuple[int, dict[str, str], Any]:
    status, headers, body = request(url, "GET", path, **kw)
    return status, headers, json.loads(body)


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


# ---- model JSON ---------------------------------------------------------------------------------
def test_model_info_strips_sizes_unless_blobs(fakehub: Any, store: Path) -> None:
    hub = fakehub(store)
    status, _, plain = get_json(hub.url, "/api/models/acme/m1")
    assert status == 200 and plain["id"] == "acme/m1" and plain["sha"] == SHA
    assert all(set(s) == {"rfilename"} for s in plain["siblings"])
    _, _, full = get_json(hub.url, "/api/models/acme/m1?blobs=true")
    assert full == json.loads((store / "models/acme/m1/info.json").read_text())
    weights = next(s for s in full["siblings"] if s["rfilename"] == "model.safetensors")
    assert weights["lfs"]["size"] == 1000 and weights["blobId"] == "f" * 40


def test_expand_returns_only_requested_keys(fakehub: Any, store: Path) -> None:
    hub = fakehub(store)
    _, _, data = get_json(hub.url, "/api/models/acme/m1?expand=gated&expand=cardData&expand=sha")
    assert set(data) == {"_id", "id", "gated", "cardData", "sha"}
    status, _headers, body = get_json(hub.url, "/api/models/acme/m1?expand=gated&expand=bogus")
    assert status == 400 and "bogus" in body["error"]


def test_revision_route_serves_older_commit(fakehub: Any, store: Path) -> None:
    hub = fakehub(store)
    _, _, old = get_json(hub.url, f"/api/models/acme/m1/revision/{OLD_SHA}")
    assert old["sha"] == OLD_SHA and old["tags"] == ["license:apache-2.0"]
    _, _, main = get_json(hub.url, "/api/models/acme/m1/revision/main")
    assert main["sha"] == SHA
    status, headers, body = get_json(hub.url, f"/api/models/acme/m1/revision/{'d' * 40}")
    assert (status, headers["x-error-code"]) == (404, "RevisionNotFound") and "error" in body


def test_unknown_repo_and_disabled_repo(fakehub: Any, store: Path) -> None:
    hub = fakehub(store)
    status, headers, body = get_json(hub.url, "/api/models/acme/nope")
    assert (status, headers["x-error-code"]) == (404, "RepoNotFound") and body["error"]
    status, headers, body = get_json(hub.url, "/api/models/acme/off")
    assert status == 403 and headers["x-error-message"] == "Access to this resource is disabled."
    status, headers, _ = request(hub.url, "HEAD", f"/acme/off/resolve/{SHA}/README.md")
    assert status == 403 and headers["x-error-message"] == "Access to this resource is disabled."


def test_old_name_is_answered_with_the_canonical_json(fakehub: Any, store: Path) -> None:
    hub = fakehub(store)
    _, _, data = get_json(hub.url, "/api/models/acme/Old-Name")
    assert data["id"] == "acme/m1"
    _, _, listing = get_json(hub.url, "/api/models?author=acme&limit=100")
    ids = [m["id"] for m in listing]
    assert ids.count("acme/m1") == 1


def test_dataset_info_and_resolve(fakehub: Any, store: Path) -> None:
    hub = fakehub(store)
    _, _, data = get_json(hub.url, "/api/datasets/acme/data?blobs=true")
    assert data["id"] == "acme/data" and data["siblings"][0]["size"] == len("dataset card")
    status, headers, body = request(hub.url, "GET", f"/datasets/acme/data/resolve/{SHA}/README.md")
    assert status == 200 and body == b"dataset card" and headers["x-repo-commit"] == SHA
    assert get_json(hub.url, "/api/datasets/acme/m1")[0] == 404  # a model is not a dataset
    assert get_json(hub.url, "/api/datasets/acme/data?expand=mainSize")[0] == 200
    assert get_json(hub.url, "/api/datasets/acme/data?expand=safetensors")[0] == 400


def test_agent_harnesses_is_404(fakehub: Any, store: Path) -> None:
    assert request(fakehub(store).url, "GET", "/api/agent-harnesses")[0] == 404


# ---- resolve ------------------------------------------------------------------------------------
def test_resolve_head_and_get_headers(fakehub: Any, store: Path) -> None:
    hub = fakehub(store)
    for rev in ("main", SHA):
        status, headers, body = request(hub.url, "HEAD", f"/acme/m1/resolve/{rev}/LICENSE")
        assert status == 200 and body == b""
        assert headers["x-repo-commit"] == SHA
        assert headers["etag"] == f'"{git_blob_sha1(LICENSE.encode())}"'
        assert headers["content-length"] == str(len(LICENSE.encode()))
    status, headers, body = request(hub.url, "GET", "/acme/m1/resolve/main/LICENSE")
    assert status == 200 and body == LICENSE.encode()
    status, headers, body = request(hub.url, "GET", "/acme/m1/resolve/main/LICENSE", {"Range": "bytes=10-19"})
    assert status == 206 and body == LICENSE.encode()[10:20]
    assert headers["content-range"] == f"bytes 10-19/{len(LICENSE.encode())}"
    _, headers, body = request(hub.url, "GET", f"/acme/m1/resolve/{OLD_SHA}/README.md")
    assert body == b"old card\n" and headers["x-repo-commit"] == OLD_SHA


def test_resolve_missing_file_and_revision(fakehub: Any, store: Path) -> None:
    hub = fakehub(store)
    status, headers, body = request(hub.url, "HEAD", "/acme/m1/resolve/main/model.safetensors")
    assert (status, headers["x-error-code"], headers["x-repo-commit"]) == (404, "EntryNotFound", SHA)
    status, headers, body = request(hub.url, "GET", "/acme/m1/resolve/main/nope.txt")
    assert status == 404 and json.loads(body)["error"]
    status, headers, _ = request(hub.url, "HEAD", f"/acme/m1/resolve/{'d' * 40}/README.md")
    assert (status, headers["x-error-code"]) == (404, "RevisionNotFound")
    status, headers, _ = request(hub.url, "HEAD", "/acme/nope/resolve/main/README.md")
    assert (status, headers["x-error-code"]) == (404, "RepoNotFound")


def test_gated_files_need_a_token_but_json_is_public(fakehub: Any, store: Path) -> None:
    hub = fakehub(store)
    status, _, data = get_json(hub.url, "/api/models/acme/gated")
    assert status == 200 and data["gated"] == "manual" and data["cardData"] == {"license": "mit"}
    status, headers, body = request(hub.url, "HEAD", "/acme/gated/resolve/main/README.md")
    assert (status, headers["x-error-code"], headers["x-repo-commit"]) == (401, "GatedRepo", GATED_SHA)
    status, headers, body = request(
        hub.url, "GET", "/acme/gated/resolve/main/README.md", {"Authorization": "Bearer anything"}
    )
    assert status == 200 and body == b"secret card"
    # listed but not recorded in the store: the recorder had no access to it
    status, headers, _ = request(
        hub.url, "HEAD", "/acme/gated/resolve/main/LICENSE", {"Authorization": "Bearer anything"}
    )
    assert (status, headers["x-error-code"]) == (403, "GatedRepo")


def test_tokens_file_restricts_gated_access(fakehub: Any, store: Path, tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("hf_good\n")
    hub = fakehub(store, tokens=tokens)
    auth = {"Authorization": "Bearer hf_good"}
    assert request(hub.url, "GET", "/acme/gated/resolve/main/README.md", auth)[0] == 200
    status, headers, _ = request(
        hub.url, "GET", "/acme/gated/resolve/main/README.md", {"Authorization": "Bearer hf_other"}
    )
    assert (status, headers["x-error-code"]) == (403, "GatedRepo")
    assert request(hub.url, "GET", "/acme/gated/resolve/main/README.md")[0] == 401


@pytest.mark.parametrize(
    "path",
    [
        "/acme/m1/resolve/main/../../../../secret.txt",
        "/acme/m1/resolve/main/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/acme/m1/resolve/main/%2E%2E%2F%2E%2E%2F%2E%2E%2F%2E%2E%2Fsecret.txt",
        "/acme/m1/resolve/main/..%5c..%5c..%5csecret.txt",
        "/acme/m1/resolve/main/%2fetc%2fpasswd",
        "/acme/m1/resolve/main//etc/passwd",
        "/acme/m1/resolve/main/files\\..\\..\\info.json",
        "/api/models/acme/..%2f..%2fsecret.txt",
        "/api/models/%2e%2e/%2e%2e",
        "/../../secret.txt",
        "//etc/passwd",
    ],
)
def test_path_traversal_is_refused(fakehub: Any, store: Path, path: str) -> None:
    status, _, body = request(fakehub(store).url, "GET", path)
    assert status in (400, 404)
    assert b"do not serve me" not in body and b"root:" not in body


# ---- listing ------------------------------------------------------------------------------------
def test_list_pagination_uses_absolute_link_keeping_the_query(fakehub: Any, store: Path) -> None:
    hub = fakehub(store, page_size=2)
    path = "/api/models?author=acme&expand=gated&expand=sha"
    seen: list[str] = []
    pages = 0
    while path:
        status, headers, items = get_json(hub.url, path)
        assert status == 200
        pages += 1
        seen += [m["id"] for m in items]
        assert all(set(m) == {"_id", "id", "gated", "sha"} for m in items)
        link = headers.get("link")
        if not link:
            break
        m = re.fullmatch(r'<(http://[^>]+)>; rel="next"', link)
        assert m, link
        assert m.group(1).startswith(hub.url + "/api/models?")
        assert "author=acme" in m.group(1) and "expand=gated&expand=sha" in m.group(1)
        path = m.group(1)[len(hub.url) :]
    assert seen == ["acme/gated", "acme/m1", "acme/m2", "acme/m3", "acme/m4", "acme/m5", "acme/off"]
    assert pages == 4


def test_list_default_items_are_short_and_filters_apply(fakehub: Any, store: Path) -> None:
    hub = fakehub(store)
    _, headers, items = get_json(hub.url, "/api/models?search=M3")
    assert [m["id"] for m in items] == ["acme/m3"] and "link" not in headers
    assert not {"gated", "sha", "siblings", "lastModified", "author"} & set(items[0])
    assert {"id", "tags", "likes", "downloads"} <= set(items[0])
    _, headers, items = get_json(hub.url, "/api/models?limit=3")
    assert len(items) == 3 and "limit=3" in headers["link"] and "cursor=3" in headers["link"]
    _, _, items = get_json(hub.url, "/api/models?gated=true")
    assert [m["id"] for m in items] == ["acme/gated"]
    assert get_json(hub.url, "/api/models?expand=nope")[0] == 400


def test_real_client_lists_across_pages(fakehub: Any, store: Path) -> None:
    from huggingface_hub import HfApi

    hub = fakehub(store, fresh=True, page_size=2)
    api = HfApi(endpoint=hub.url, token=False)
    models = list(api.list_models(author="acme", expand=["gated", "sha", "cardData", "siblings"]))
    assert [m.id for m in models][:2] == ["acme/gated", "acme/m1"] and len(models) == 7
    assert models[0].gated == "manual" and models[1].sha == SHA
    lists = [r for r in hub.requests() if r["path"] == "/api/models"]
    assert len(lists) == 4 and all(r["status"] == 200 for r in lists)


# ---- rate limit ---------------------------------------------------------------------------------
def test_rate_limit_fixed_window_per_bucket(fakehub: Any, store: Path) -> None:
    hub = fakehub(store, fresh=True, rate_limit="2/60")
    assert get_json(hub.url, "/api/models/acme/m1")[0] == 200
    status, headers, _ = get_json(hub.url, "/api/models/acme/m2")
    assert status == 200 and headers["ratelimit"].startswith('"api";r=0;')
    status, headers, body = get_json(hub.url, "/api/models/acme/m3")
    assert status == 429 and body["error"]
    m = re.fullmatch(r'"api";r=0;t=(\d+)', headers["ratelimit"])
    assert m and 1 <= int(m.group(1)) <= 60
    assert headers["ratelimit-policy"] == '"fixed window";"api";q=2;w=60'
    assert headers["retry-after"] == m.group(1)
    # the resolvers bucket is counted separately
    status, headers, _ = request(hub.url, "HEAD", "/acme/m1/resolve/main/README.md")
    assert status == 200 and headers["ratelimit"].startswith('"resolvers";r=1;')
    from huggingface_hub.utils import parse_ratelimit_headers

    info = parse_ratelimit_headers(
        {"RateLimit": f'"api";r=0;t={m.group(1)}', "RateLimit-Policy": '"fixed window";"api";q=2;w=60'}
    )
    assert info is not None and info.limit == 2 and info.window_seconds == 60


def test_rate_limit_window_resets(fakehub: Any, store: Path) -> None:
    hub = fakehub(store, fresh=True, rate_limit="1/1")
    assert get_json(hub.url, "/api/models/acme/m1")[0] == 200
    status, headers, _ = get_json(hub.url, "/api/models/acme/m1")
    assert status == 429 and headers["ratelimit"] == '"api";r=0;t=1'
    time.sleep(1.05)
    assert get_json(hub.url, "/api/models/acme/m1")[0] == 200


# ---- faults -------------------------------------------------------------------------------------
def test_fail_rate_answers_5xx(fakehub: Any, store: Path) -> None:
    hub = fakehub(store, fresh=True, fail_rate=1.0, seed=1)
    for path in ("/api/models/acme/m1", "/acme/m1/resolve/main/README.md"):
        status, _, body = request(hub.url, "GET", path)
        assert status in (500, 502, 503) and json.loads(body)["error"]
    assert [r.get("fault") for r in hub.requests()] == ["fail", "fail"]


def test_faults_are_reproducible_with_a_seed(fakehub: Any, store: Path) -> None:
    def run() -> list[int]:
        hub = fakehub(store, fresh=True, fail_rate=0.5, seed=42)
        return [request(hub.url, "GET", f"/api/models/acme/m{1 + i % 3}")[0] for i in range(12)]

    first, second = run(), run()
    assert first == second
    assert 200 in first and any(s >= 500 for s in first)


def test_reset_rate_drops_the_connection_mid_body(fakehub: Any, store: Path) -> None:
    hub = fakehub(store, fresh=True, reset_rate=1.0)
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        request(hub.url, "GET", "/acme/m1/resolve/main/LICENSE")
    assert hub.requests()[-1]["fault"] == "reset"


def test_truncate_rate_sends_less_than_content_length(fakehub: Any, store: Path) -> None:
    hub = fakehub(store, fresh=True, truncate_rate=1.0)
    u = urlsplit(hub.url)
    with socket.create_connection((u.hostname, u.port), timeout=5) as s:
        s.sendall(b"GET /acme/m1/resolve/main/LICENSE HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
    assert length == len(LICENSE.encode()) and 0 < len(body) < length


def test_slow_rate_stalls_past_the_client_timeout(fakehub: Any, store: Path) -> None:
    hub = fakehub(store, fresh=True, slow_rate=1.0, slow_ms=1500)
    t0 = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout)):
        request(hub.url, "GET", "/api/models/acme/m1", timeout=0.3)
    assert time.monotonic() - t0 < 1.4


def test_latency_is_added_to_every_request(fakehub: Any, store: Path) -> None:
    hub = fakehub(store, fresh=True, latency_ms=200)
    t0 = time.monotonic()
    assert request(hub.url, "GET", "/api/models/acme/m1")[0] == 200
    assert time.monotonic() - t0 >= 0.2


def test_log_has_one_json_line_per_request(fakehub: Any, store: Path) -> None:
    hub = fakehub(store, fresh=True)
    request(hub.url, "GET", "/api/models/acme/m1?blobs=true")
    request(hub.url, "HEAD", "/acme/m1/resolve/main/README.md")
    request(hub.url, "GET", "/acme/nope/resolve/main/README.md")
    log = hub.requests()
    assert [(r["method"], r["path"], r["query"], r["status"], r["bucket"]) for r in log] == [
        ("GET", "/api/models/acme/m1", "blobs=true", 200, "api"),
        ("HEAD", "/acme/m1/resolve/main/README.md", "", 200, "resolvers"),
        ("GET", "/acme/nope/resolve/main/README.md", "", 404, "resolvers"),
    ]
    assert all(isinstance(r["t"], float) for r in log)


def test_in_process_serve(store: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1]))
    from fakehub import serve

    with serve(store, page_size=1) as url:
        status, _headers, items = get_json(url, "/api/models?author=other")
        assert status == 200 and [m["id"] for m in items] == ["other/zeta"]
