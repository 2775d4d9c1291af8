"""Secrets (DESIGN §9, issue 9): a token never appears in any output, log, report, snapshot, cache
file or exception text, whether it comes from HF_TOKEN or from --token.

Every command runs in a subprocess with HF_TOKEN set to a recognisable value against the fake Hub
(gated repos, so the token is really sent), with its cache and HF_HOME in a temporary folder; then
every byte the run produced is searched for the token.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TOKEN = "hf_SECRETtoken000000000000000000000000"
OTHER = "hf_CLItoken1111111111111111111111111111"
HERE = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def secret_store(tmp_path_factory: pytest.TempPathFactory, repo_writer: Any) -> Path:
    store = tmp_path_factory.mktemp("secret-store")
    card = "---\nlicense: apache-2.0\ndatasets:\n- acme/data\nbase_model: acme/base\n---\n# Model\n\nText.\n"
    sibs = [{"rfilename": "README.md"}, {"rfilename": "LICENSE"}, {"rfilename": "model.safetensors", "size": 10}]
    repo_writer(store, "acme/gated", {"gated": "manual", "siblings": sibs, "tags": ["license:apache-2.0"],
                                      "author": "acme", "private": False},
                {"README.md": card, "LICENSE": "Apache License\nVersion 2.0, January 2004\n"})
    repo_writer(store, "acme/open", {"gated": False, "siblings": sibs, "author": "acme", "private": False},
                {"README.md": card, "LICENSE": "MIT License\n"})
    repo_writer(store, "acme/base", {"gated": "auto", "siblings": sibs[:1], "author": "acme", "private": False},
                {"README.md": "---\nlicense: mit\n---\n# Base\n"})
    repo_writer(store, "acme/data", {"gated": "auto", "siblings": sibs[:1], "author": "acme"},
                {"README.md": "---\nlicense: cc-by-4.0\n---\n# Data\n"}, repo_type="dataset")
    return store


def _run(args: list[str], tmp: Path, env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_HOME=str(tmp / "hf"), XDG_CACHE_HOME=str(tmp / "cache"), HF_HUB_DISABLE_TELEMETRY="1",
               HF_TOKEN=TOKEN, COLUMNS="120")
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "openaudit.cli", *args], cwd=tmp, env=env, capture_output=True,
                          text=True, timeout=300)


def _everything_written(root: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()]


def _assert_no_token(tmp: Path, procs: list[subprocess.CompletedProcess[str]], *tokens: str) -> int:
    """Search stdout, stderr and every file under tmp (reports, stores, caches, logs). Returns files searched."""
    for t in tokens:
        for p in procs:
            assert t not in p.stdout, p.args
            assert t not in p.stderr, p.args
            assert t[3:] not in p.stdout + p.stderr  # not even without its prefix
        files = _everything_written(tmp)
        for path, data in files:
            assert t.encode() not in data, f"token in {path}"
            assert t[3:].encode() not in data, f"token (without prefix) in {path}"
    return len(_everything_written(tmp))


def test_no_command_leaks_the_token(secret_store: Path, fakehub: Any, tmp_path: Path) -> None:
    hub = fakehub(secret_store, fresh=True, tokens=_tokens_file(tmp_path, TOKEN))
    env = {"HF_ENDPOINT": hub.url}
    out = tmp_path / "out"
    procs = [
        _run(["audit", "acme/gated", "acme/open", "-q", "-f", "json", "-o", str(out / "a.json"), "-f", "html",
              "-o", str(out / "a.html")], tmp_path, env),
        _run(["audit", "acme/gated", "-f", "terminal"], tmp_path, env),
        _run(["snapshot", "acme/gated", "acme/open", "-o", str(out / "store")], tmp_path, env),
        _run(["audit", "acme/gated", "--snapshots", str(out / "store"), "-f", "md", "-o", str(out / "s.md")],
             tmp_path, env),
        _run(["report", str(out / "a.json"), "-f", "terminal"], tmp_path, env),
        _run(["report", str(out / "a.json"), "-f", "sarif", "-o", str(out / "a.sarif")], tmp_path, env),
        _run(["criteria", "list"], tmp_path, env),
        _run(["criteria", "explain", "OA-LIC-001"], tmp_path, env),
        _run(["demo"], tmp_path, env),
        _run(["--help"], tmp_path, env),
        _run(["audit", "--help"], tmp_path, env),
        # Failures: a missing repo, a bad id, an unreachable endpoint, a wrong token.
        _run(["audit", "acme/missing", "-f", "json"], tmp_path, env),
        _run(["audit", "../bad", "-f", "json"], tmp_path, env),
        _run(["audit", "acme/gated", "-f", "json"], tmp_path, {"HF_ENDPOINT": "http://127.0.0.1:9"}),
    ]
    if _has_org(tmp_path, env):
        procs += [
            _run(["org", "acme", "-q", "-f", "json", "-o", str(out / "org.json"), "--cache-dir",
                  str(out / "org-cache")], tmp_path, env),
            _run(["org", "acme", "--offline", "--cache-dir", str(out / "org-cache"), "-f", "json"], tmp_path, env),
        ]
    assert procs[0].returncode in (0, 3), procs[0].stderr
    # The gated files were really read with the token: the report has the licence text.
    assert "Apache License" in (out / "a.json").read_text() or "apache" in (out / "a.json").read_text().lower()
    assert any(r.get("path", "").endswith("/LICENSE") and r["status"] == 200 for r in hub.requests())
    assert procs[2].returncode == 0, procs[2].stderr
    assert (out / "store" / "models" / "acme" / "gated" / "files" / "LICENSE").is_file()
    n = _assert_no_token(tmp_path, procs, TOKEN)
    assert n > 5
    # The fake Hub's own request log (headers are not logged, but check).
    assert TOKEN not in hub.log_path.read_text(encoding="utf-8")


def test_token_on_the_command_line_is_never_echoed(secret_store: Path, fakehub: Any, tmp_path: Path) -> None:
    hub = fakehub(secret_store, fresh=True, tokens=_tokens_file(tmp_path, TOKEN))
    env = {"HF_ENDPOINT": hub.url}
    procs = [
        _run(["audit", "acme/gated", "--token", OTHER, "-f", "json", "-o", str(tmp_path / "r.json")], tmp_path, env),
        _run(["audit", "acme/gated", "--token", OTHER, "-f", "nonsense"], tmp_path, env),
        _run(["audit", "--token", OTHER, "../x"], tmp_path, env),
        _run(["audit", "--token", OTHER], tmp_path, env),
        _run(["audit", "acme/gated", f"--token={OTHER}", "--no-such-flag"], tmp_path, env),
        _run(["snapshot", "acme/gated", "--token", OTHER, "-o", str(tmp_path / "st")], tmp_path, env),
        _run(["audit", "acme/gated", "--token", OTHER, "-f", "json"], tmp_path, {"HF_ENDPOINT": "http://127.0.0.1:9"}),
        _run(["audit", "--help"], tmp_path, {**env, "HF_TOKEN": OTHER}),
    ]
    # A token the fake Hub does not accept: the gated files answer 403 and the report says so, without it.
    assert procs[0].returncode in (0, 3), procs[0].stderr
    assert "gated" in (tmp_path / "r.json").read_text()
    _assert_no_token(tmp_path, procs, OTHER, TOKEN)


def test_exceptions_and_reprs_carry_no_token(secret_store: Path, fakehub: Any, tmp_path: Path) -> None:
    from openaudit.errors import FetchError
    from openaudit.sources.cache import cached_hub
    from openaudit.sources.hub import HubSource

    hub = fakehub(secret_store, fresh=True, fail_rate=1.0)
    src = cached_hub(HubSource(endpoint=hub.url, token=TOKEN, max_retries=1, backoff=0.01), tmp_path / "c")
    assert TOKEN not in repr(src) and TOKEN not in str(vars(src).get("_shown"))
    with pytest.raises(FetchError) as info:
        src.model("acme/gated")
    chain: list[BaseException] = []
    e: BaseException | None = info.value
    while e is not None and len(chain) < 10:
        chain.append(e)
        e = e.__cause__ or e.__context__
    import traceback

    text = "".join(traceback.format_exception(info.value)) + " ".join(repr(x) + str(x.args) for x in chain)
    assert TOKEN not in text
    # With credentials in the endpoint URL, messages show the host only.
    src2 = cached_hub(HubSource(endpoint=f"http://user:{TOKEN}@127.0.0.1:9", token=TOKEN, max_retries=0, timeout=1),
                      tmp_path / "c2")
    with pytest.raises(FetchError) as info2:
        src2.model("acme/gated")
    assert TOKEN not in "".join(traceback.format_exception(info2.value)) and TOKEN not in repr(src2)


def _tokens_file(tmp: Path, *tokens: str) -> Path:
    p = tmp.parent / f"{tmp.name}-tokens.txt"  # outside the searched folder
    p.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return p


def _has_org(tmp: Path, env: dict[str, str]) -> bool:
    return _run(["org", "--help"], tmp, env).returncode == 0
