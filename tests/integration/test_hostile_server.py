"""A hostile Hub (issue 26): size, time, redirects, the token's origin, listings. Each case runs the CLI
in a subprocess (tests/hostile/runner.py: exit code, peak RSS, no traceback) against tests/hostilehub.py
on 127.0.0.1, and checks the exit code, the reason in the report, and bounded memory and time.
The figures are in docs/reliability.md."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hostilehub import CARD, LICENSE, SHA, TOKEN, HostileHub, Request, gzip_bomb, info, serve_file
from test_hostile import run_cli

MAX_RSS = 400 * 1024 * 1024
_BOMB: list[bytes] = []


def bomb() -> bytes:
    if not _BOMB:
        _BOMB.append(gzip_bomb())
    return _BOMB[0]


def route(req: Request, h: Any, hub: HostileHub) -> None:
    """Plain answers for `h/plain` and the listing of `good`; a hostile one for every other name."""
    p = req.path
    name = p.split("/api/models/", 1)[1].split("/revision/")[0] if p.startswith("/api/models/") else ""
    if p == "/api/models":
        return listing(req, h, hub)
    if name == "h/gzip-bomb":
        return h.send(200, bomb(), {"Content-Encoding": "gzip", "Content-Type": "application/json"})
    if name == "h/endless":
        head = json.dumps(info("h/endless"))[:-1].encode() + b', "x": "'
        return h.chunked(iter([head] + [b" " * 65536] * 100_000))
    if name == "h/siblings-1m":
        sibs = ",".join(f'{{"rfilename": "f{i:07d}.txt"}}' for i in range(1_000_000))
        return h.send(200, ('{"id": "h/siblings-1m", "sha": "' + SHA + '", "siblings": [' + sibs + "]}").encode())
    if name == "h/drip-body":
        body = json.dumps(info("h/drip-body")).encode()
        h.wfile.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        return h.drip(body, 2.0)
    if name == "h/drip-headers":
        return h.drip(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000 + b"\r\n\r\n", 1.0)
    if name == "h/redirect-self" or p.startswith("/h/redirect-file/resolve/"):
        return h.send(302, b"", {"Location": req.target})
    if name == "h/redirect-away":
        return h.send(302, b"", {"Location": hub.other.url + "/api/models/h/redirect-away"})
    if p.startswith("/h/cdn/resolve/") and p.endswith("/LICENSE"):  # served from another origin, like a CDN
        return h.send(302, b"", {"Location": hub.other.url + "/cdn/LICENSE"})
    if name == "h/many-licenses":
        data = info(name)
        data["siblings"] += [{"rfilename": f"LICENSE-{i:05d}", "size": 30} for i in range(20_000)]
        return h.json(data)
    if name in ("h/plain", "h/redirect-file", "h/cdn") or name.startswith(("good/", "badids/")):
        return h.json(info(name))
    if serve_file(req, h, {"README.md": CARD.encode(), "LICENSE": LICENSE.encode()}):
        return None
    return h.send(404, b'{"error": "not found"}', {"X-Error-Code": "RepoNotFound"})


def listing(req: Request, h: Any, hub: HostileHub) -> None:
    author = req.query.get("author", "")
    page = int(req.query.get("page", "1"))
    if author == "loop":
        return h.json([info(f"loop/m{page}")], headers={"Link": f'<{hub.url}{req.target}>; rel="next"'})
    if author == "forever":
        nxt = f"{hub.url}/api/models?author=forever&page={page + 1}"
        return h.json([info(f"forever/m{page}")], headers={"Link": f'<{nxt}>; rel="next"'})
    if author == "elsewhere":
        return h.json([info("elsewhere/m1")], headers={"Link": f'<{hub.other.url}/api/models?author=elsewhere>; '
                                                               'rel="next"'})
    if author == "bigpage":
        items = ",".join(f'{{"id": "bigpage/m{i:07d}"}}' for i in range(1_000_000))
        return h.send(200, f"[{items}]".encode(), {"Content-Type": "application/json"})
    if author == "badids":
        good = info("badids/good")
        return h.json([good, {"id": "../../etc"}, {"id": "badids/b\n"}, {"id": 5}, {"id": None}, 7,
                       {"id": "someone-else/model"}, good, {"id": "badids/b\n::error title=x::pwned"}])
    return h.json([])


@pytest.fixture(scope="module")
def hub() -> Any:
    with HostileHub(route) as server:
        yield server


def audit(hub: HostileHub, tmp: Path, *args: str, token: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    out = tmp / "report.json"
    env = {"HF_ENDPOINT": hub.url, **({"HF_TOKEN": TOKEN} if token else {})}
    t0 = time.monotonic()
    res = run_cli([*args, "--format", "json", "--output", str(out), "--cache-dir", str(tmp / "cache")], tmp, **env)
    res["seconds"] = time.monotonic() - t0
    assert res["traceback"] is None, res["traceback"]
    assert "Traceback" not in res["stderr"], res["stderr"][-2000:]
    assert res["peak_rss"] < MAX_RSS, res["peak_rss"]
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return res, report


def subject(report: dict[str, Any], repo_id: str) -> dict[str, Any]:
    return next(s for s in report["subjects"] if s["repo_id"] == repo_id)


@pytest.mark.slow
@pytest.mark.parametrize(("model", "reason"), [
    ("h/gzip-bomb", "limit: model 'h/gzip-bomb': answer too large"),
    ("h/endless", "limit: model 'h/endless': answer too large"),
    ("h/siblings-1m", "limit: model 'h/siblings-1m': answer too large"),
    ("h/redirect-self", "refused: model 'h/redirect-self'"),
])
def test_an_oversized_or_looping_model_info_is_that_models_incomplete(hub: HostileHub, tmp_path: Path, model: str,
                                                                    reason: str) -> None:
    res, report = audit(hub, tmp_path, "audit", model, "h/plain")
    assert res["code"] == 3
    assert subject(report, model)["status"] == "incomplete"
    assert subject(report, model)["reason"].startswith(reason), subject(report, model)["reason"]
    assert subject(report, "h/plain")["status"] == "audited"  # the other model still audited
    assert res["seconds"] < 120


def test_a_redirect_loop_on_a_file_makes_the_model_incomplete(hub: HostileHub, tmp_path: Path) -> None:
    res, report = audit(hub, tmp_path, "audit", "h/redirect-file")
    s = subject(report, "h/redirect-file")
    assert res["code"] == 3 and s["status"] == "incomplete", s
    assert "redirect loop" in s["reason"]
    # one request per file and per hop, not the client's 20 retries of a loop
    assert sum("/h/redirect-file/resolve/" in r["path"] for r in hub.log) <= 2 * 2


def test_the_token_never_leaves_the_endpoints_origin(hub: HostileHub, tmp_path: Path) -> None:
    before = len(hub.other.log)
    res, report = audit(hub, tmp_path, "audit", "h/redirect-away", "h/cdn")
    away = subject(report, "h/redirect-away")
    assert away["status"] == "incomplete" and "another origin" in away["reason"], away
    # the CDN-style file redirect is followed, without the token: the licence is read
    assert subject(report, "h/cdn")["status"] == "audited"
    got = hub.other.log[before:]
    assert [r["path"] for r in got] == ["/cdn/LICENSE"]
    assert all(r["auth"] is None for r in got)
    assert any(r["auth"] == f"Bearer {TOKEN}" for r in hub.log)  # the endpoint itself did get it
    assert TOKEN not in res["stderr"] + res["stdout"]


@pytest.mark.parametrize(("owner", "reason"), [
    ("loop", "a loop"),
    ("elsewhere", "another origin"),
])
def test_a_next_page_in_a_loop_or_elsewhere_is_not_followed(hub: HostileHub, tmp_path: Path, owner: str,
                                                            reason: str) -> None:
    before, other_before = len(hub.log), len(hub.other.log)
    res, report = audit(hub, tmp_path, "org", owner, "--depth", "metadata")
    assert res["code"] == 3
    assert [s["repo_id"] for s in report["subjects"]][-1] == f"{owner}/*"
    assert reason in report["subjects"][-1]["reason"]
    assert len(hub.log) - before <= 2
    assert len(hub.other.log) == other_before  # nothing (and no token) sent to the other origin


@pytest.mark.slow
def test_a_listing_without_end_stops_at_the_page_cap(hub: HostileHub, tmp_path: Path) -> None:
    from openaudit.sources.bulk import MAX_LIST_PAGES

    before = len(hub.log)
    res, report = audit(hub, tmp_path, "org", "forever", "--depth", "metadata")
    assert res["code"] == 3
    assert "more than" in report["subjects"][-1]["reason"] and report["subjects"][-1]["repo_id"] == "forever/*"
    assert len(hub.log) - before == MAX_LIST_PAGES
    assert len(report["subjects"]) == MAX_LIST_PAGES + 1


def test_a_huge_page_with_a_limit_is_bounded(hub: HostileHub, tmp_path: Path) -> None:
    res, _report = audit(hub, tmp_path, "org", "bigpage", "--limit", "5", "--depth", "metadata")
    assert res["code"] == 3, res["stderr"]
    assert "answer too large" in res["stderr"]


def test_listing_items_are_checked_one_by_one(hub: HostileHub, tmp_path: Path) -> None:
    before = len(hub.log)
    res, report = audit(hub, tmp_path, "org", "badids", "--depth", "card")
    ids = [s["repo_id"] for s in report["subjects"]]
    assert ids[0] == "badids/good" and report["subjects"][0]["status"] == "audited"
    assert ids.count("badids/good") == 1  # the duplicate dropped
    assert "someone-else/model" not in ids  # another owner's model dropped
    skipped = [s for s in report["subjects"] if s["status"] == "skipped"]
    assert len(skipped) == 6, ids  # ../../etc, badids/b\n, 5, null, 7, the workflow command
    assert all("\n" not in s["repo_id"] and s["reason"].startswith("refused: ") for s in skipped)
    assert res["code"] == 3
    assert "listed twice" in res["stderr"] and "is not a model of 'badids'" in res["stderr"]
    assert "\n::error" not in res["stderr"]
    # requests: the listing page, then the good model's README only; nothing for a bad item
    paths = [r["path"] for r in hub.log[before:]]
    assert len(paths) == 2 and paths[0].startswith("/api/models?author=badids&"), paths
    assert paths[1] == f"/badids/good/resolve/{SHA}/README.md"


@pytest.mark.slow
def test_a_dripping_server_is_cut_by_the_run_deadline(hub: HostileHub, tmp_path: Path) -> None:
    res, report = audit(hub, tmp_path, "audit", "h/drip-body", "h/drip-headers", "--timeout", "6")
    assert res["code"] == 3
    for model in ("h/drip-body", "h/drip-headers"):
        s = subject(report, model)
        assert s["status"] == "incomplete" and "deadline" in s["reason"], s
    assert res["seconds"] < 40


@pytest.mark.slow
def test_a_dripping_server_is_cut_by_the_request_deadline(hub: HostileHub) -> None:
    from openaudit.sources import http

    for path in ("/api/models/h/drip-body", "/api/models/h/drip-headers"):
        t0 = time.monotonic()
        with pytest.raises(http.DeadlineExceeded, match="request deadline"):
            http.get(hub.url + path, headers={}, timeout=10, max_bytes=1 << 20, home=hub.url, deadline=3)
        assert time.monotonic() - t0 < 8


def test_a_decoded_cap_is_checked_while_decoding(hub: HostileHub) -> None:
    """The gzip bomb is stopped after cap bytes decoded, whatever the wire size (measured in process)."""
    import tracemalloc

    from openaudit.sources import http

    tracemalloc.start()
    with pytest.raises(http.TooLarge):
        http.get(hub.url + "/api/models/h/gzip-bomb", headers={}, timeout=10, max_bytes=4 << 20, home=hub.url)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 << 20
    assert len(bomb()) < 2 << 20  # ~1 MB on the wire for 1 GiB decoded


def test_a_negative_timeout_is_a_usage_error(tmp_path: Path) -> None:
    res = run_cli(["audit", "h/plain", "--timeout", "-1"], tmp_path)
    assert res["code"] == 2 and "--timeout" in res["stderr"] and res["traceback"] is None


@pytest.mark.slow
def test_a_repo_listing_20000_licence_files_reads_a_bounded_number(hub: HostileHub, tmp_path: Path) -> None:
    from openaudit.sources.hub import MAX_TEXT_FILES

    before = len(hub.log)
    res, report = audit(hub, tmp_path, "audit", "h/many-licenses")
    reads = [r["path"] for r in hub.log[before:] if "/resolve/" in r["path"]]
    assert len(reads) == MAX_TEXT_FILES
    assert any(p.endswith("/README.md") for p in reads) and any(p.endswith("/LICENSE") for p in reads)
    s = subject(report, "h/many-licenses")
    assert res["code"] == 3 and s["status"] == "incomplete" and "could not be read" in s["reason"], s
    assert res["seconds"] < 120
