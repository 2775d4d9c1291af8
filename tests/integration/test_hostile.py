"""Hostile inputs (DESIGN §9, issue 9): every case finishes an audit or exits 2 cleanly, in bounded
memory, reading nothing outside the store or the model folder, with nothing executable in the HTML.

Each case is a repo in a store built by tests/hostile/build_hostile.py (the huge ones and the symlink
escapes only in a temporary folder). Every audit runs in a subprocess (tests/hostile/runner.py) that
records its peak RSS and every path it opened or listed.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE / "hostile"))
import build_hostile as hb  # noqa: E402

RUNNER = HERE / "hostile" / "runner.py"
MAX_RSS = 500 * 1024 * 1024
SECRETS = ("root:x:0:0", hb.OUTSIDE_MARKER)
# Cases that end the run with exit 2 (an invalid store file), naming it; every other case is audited.
EXIT_2 = {"deep-json-carddata": "nested too deeply", "store-symlink-escape": "leaves the snapshot store"}
# Served by the fake Hub too (the rest are store-layout or client-only cases).
HUB_CASES = ["billion-laughs", "deep-nesting-flow", "binary-readme-license", "nul-bytes", "invalid-utf8",
             "rtl-override", "xss-prose", "xss-metadata", "file-url-link", "license-10k-list", "license-weird-types",
             "sibling-traversal", "base-cycle-a", "base-self", "ansi-escapes", "huge-readme", "siblings-100k",
             "chain-0000", "file-symlink-escape"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hostile")
    store, outside = root / "store", root / "outside"
    hb.build(store, huge=True, links=True, outside=outside)
    local = hb.build_localdir(root / "local", outside)
    return {"root": root, "store": store, "outside": outside, "local": local}


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_HOME=str(tmp / "hf"), XDG_CACHE_HOME=str(tmp / "cache"), HF_HUB_DISABLE_TELEMETRY="1",
               HF_HUB_DISABLE_PROGRESS_BARS="1", COLUMNS="120", PYTHONPATH=str(HERE.parent))
    env.update(extra)
    return env


def run_cli(args: list[str], tmp: Path, **env: str) -> dict[str, Any]:
    result = tmp / f"result-{len(list(tmp.glob('result-*')))}.json"
    proc = subprocess.run([sys.executable, str(RUNNER), str(result), "--", *args], cwd=tmp, env=_env(tmp, **env),
                          capture_output=True, text=True, timeout=600)
    data = json.loads(result.read_text(encoding="utf-8"))
    data["stdout"], data["stderr"] = proc.stdout, proc.stderr
    return data


def outside_reads(touched: list[list[str]], guarded: list[Path], forbidden: list[Path]) -> list[str]:
    """Paths opened or listed that lead out of a guarded root, or into a forbidden one."""
    bad = []
    groots = [(str(g.absolute()), os.path.realpath(g)) for g in guarded]
    froots = [os.path.realpath(f) for f in forbidden]
    for event, path in touched:
        real = os.path.realpath(path)
        for given, real_root in groots:
            if (path == given or path.startswith(given + os.sep)) and not (
                    real == real_root or real.startswith(real_root + os.sep)):
                bad.append(f"{event} {path} -> {real}")
        if any(real == f or real.startswith(f + os.sep) for f in froots):
            bad.append(f"{event} {path} -> {real}")
    return bad


class _HtmlAudit(HTMLParser):
    """Collects what would execute in a browser: scripts, on* handlers, script-capable URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[str] = []
        self.problems: list[str] = []
        self.csp = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            if k.startswith("on"):
                self.problems.append(f"<{tag} {k}=…>")
            if k in ("href", "src", "action", "formaction", "xlink:href", "data", "srcdoc") and v and re.match(
                    r"\s*(javascript|vbscript|data|file):", v, re.IGNORECASE) and not (
                    tag == "img" and v.startswith("data:image/")):
                self.problems.append(f"<{tag} {k}={v[:60]}>")
        if tag in ("iframe", "object", "embed", "base", "form"):
            self.problems.append(f"<{tag}>")
        if tag == "meta" and (dict(attrs).get("http-equiv") or "").lower() == "content-security-policy":
            self.csp = dict(attrs).get("content") or ""
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
            if dict(attrs).get("src"):
                self.problems.append("<script src>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def assert_html_inert(html: str) -> None:
    from openaudit.render.html import script_hash

    a = _HtmlAudit()
    a.feed(html)
    a.close()
    assert not a.problems, a.problems[:5]
    assert html.lower().count("<script") == len(a.scripts)
    for s in a.scripts:  # only inline scripts whose hash the page's own CSP allows
        assert f"'{script_hash(s)}'" in a.csp, "an inline script not allowed by the CSP"
    assert a.csp and "default-src 'none'" in a.csp
    for raw in hb.XSS.values():  # no card string reaches the page unescaped
        if "<" in raw:
            assert raw not in html
    for needle in ("<img src=x onerror", "<iframe", "<svg/onload", "<b onmouseover", "\u202e", "\x1b"):
        assert needle not in html


def _check_outputs(res: dict[str, Any], out: Path, case: str) -> None:
    import jsonschema

    from openaudit.report import SCHEMA_PATH

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert [s["repo_id"] for s in report["subjects"]] == [f"hostile/{case}"]
    assert report["subjects"][0]["status"] in ("audited", "incomplete")
    html = (out / "report.html").read_text(encoding="utf-8")
    assert_html_inert(html)
    blob = (out / "report.json").read_text(encoding="utf-8") + html + res["stdout"] + res["stderr"]
    for secret in SECRETS:
        assert secret not in blob


CASE_NAMES = [c.name for c in hb.CASES]


@pytest.mark.parametrize("case", CASE_NAMES)
def test_hostile_case_from_the_store(case: str, hostile: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = run_cli(["audit", f"hostile/{case}", "--snapshots", str(hostile["store"]), "-q",
                   "-f", "json", "-o", str(out / "report.json"), "-f", "html", "-o", str(out / "report.html"),
                   "-f", "terminal", "-o", str(out / "report.txt")], tmp_path)
    assert res["traceback"] is None, res["traceback"]
    assert res["peak_rss"] < MAX_RSS, f"peak RSS {res['peak_rss'] / 1e6:.0f} MB"
    if (out / "report.txt").exists():  # no terminal escape or bidi override reaches the terminal
        term = (out / "report.txt").read_text(encoding="utf-8")
        assert "\x1b" not in term and "\u202e" not in term and "\x07" not in term
    assert not outside_reads(res["touched"], [hostile["store"]], [hostile["outside"], Path("/etc/passwd"),
                                                                  Path("/etc/hostname")])
    if case in EXIT_2:
        assert res["code"] == 2, res["stderr"]
        assert EXIT_2[case] in res["stderr"] and case in res["stderr"]
        assert "Traceback" not in res["stderr"]
        assert not out.exists() or not any(out.iterdir())
        return
    assert res["code"] in (0, 3), res["stderr"]
    _check_outputs(res, out, case)


@pytest.mark.parametrize("case", HUB_CASES)
def test_hostile_case_through_the_fake_hub(case: str, hostile: dict[str, Path], fakehub: Any,
                                           tmp_path: Path) -> None:
    hub = fakehub(hostile["store"])
    out = tmp_path / "out"
    res = run_cli(["audit", f"hostile/{case}", "-q", "-f", "json", "-o", str(out / "report.json"),
                   "-f", "html", "-o", str(out / "report.html")], tmp_path, HF_ENDPOINT=hub.url)
    assert res["traceback"] is None, res["traceback"]
    assert res["code"] in (0, 3), res["stderr"]
    assert res["peak_rss"] < MAX_RSS, f"peak RSS {res['peak_rss'] / 1e6:.0f} MB"
    # The client only touches its own cache; the store is the fake Hub's business.
    assert not outside_reads(res["touched"], [tmp_path], [hostile["store"], hostile["outside"],
                                                         Path("/etc/passwd"), Path("/etc/hostname")])
    _check_outputs(res, out, case)


def test_hub_json_nested_too_deeply_is_a_clean_failure(tmp_path: Path) -> None:
    """The fake Hub cannot serve it (it re-parses), so a one-route server answers the deep JSON."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = ('{"id": "hostile/deep", "sha": "' + "a" * 40 + '", "cardData": ' + '{"x":' * 20_000 + "1"
            + "}" * 20_000 + "}").encode()

    class H(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: Any) -> None:
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        res = run_cli(["audit", "hostile/deep", "-f", "json", "-o", str(tmp_path / "r.json")], tmp_path,
                      HF_ENDPOINT=f"http://127.0.0.1:{srv.server_address[1]}")
    finally:
        srv.shutdown()
        srv.server_close()
    assert res["traceback"] is None, res["traceback"]
    assert res["code"] == 3
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["subjects"][0]["status"] == "incomplete"
    assert "nested too deeply" in report["subjects"][0]["reason"]


def test_local_folder_with_symlinks_out_of_it(hostile: dict[str, Path], tmp_path: Path) -> None:
    model = hostile["local"]
    out = tmp_path / "out"
    res = run_cli(["audit", str(model), "-q", "-f", "json", "-o", str(out / "report.json"),
                   "-f", "html", "-o", str(out / "report.html")], tmp_path)
    assert res["traceback"] is None, res["traceback"]
    assert res["code"] in (0, 3), res["stderr"]
    assert res["peak_rss"] < MAX_RSS
    bad = outside_reads(res["touched"], [model], [hostile["outside"], Path("/etc/passwd"), Path("/etc/hostname")])
    assert not bad, bad[:5]
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    (subject,) = report["subjects"]
    text = json.dumps(report)
    assert "etc/" not in json.dumps([e for e in subject["evidence"] if e["kind"].startswith("weights")])
    for secret in SECRETS:
        assert secret not in text
    # The 50 MB README is too large: recorded, never read.
    assert "too-large" in text
    assert_html_inert((out / "report.html").read_text(encoding="utf-8"))


HOSTILE_IDS = ["../etc/passwd", "..%2f..%2fetc", "%2e%2e/%2e%2e", "owner/%2e%2e", "owner/..", "/nonexistent/x",
               "C:\\Windows\\x", "owner\\name", "owner/na\\me", "a/b/../../../etc", "owner/name@../../etc",
               "owner/name@..%2f..", "\u202eowner/name", "owner/name\x00x", "-owner/name"]


@pytest.mark.parametrize("repo_id", HOSTILE_IDS)
def test_hostile_repo_id_exits_2_naming_it(repo_id: str, hostile: dict[str, Path], tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from openaudit import api
    from openaudit.cli import app
    from openaudit.errors import UsageError

    if "\x00" in repo_id:  # argv cannot carry NUL; the API must refuse it
        with pytest.raises(UsageError):
            api.audit_models([repo_id], snapshots=hostile["store"])
        return
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: nothing may be sent
    monkeypatch.chdir(tmp_path)
    for cmd in (["audit", "--snapshots", str(hostile["store"]), "--", repo_id],
                ["audit", "--", repo_id],
                ["snapshot", "--snapshots", str(hostile["store"]), "-o", str(tmp_path / "s"), "--", repo_id]):
        res = CliRunner().invoke(app, cmd)
        assert res.exit_code == 2, (cmd, res.output)
        assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit), res.exception
        name, _, rev = repo_id.partition("@")
        # Printable characters are shown as typed; controls and bidi overrides are escaped.
        shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in (rev or name))
        assert shown[:20] in res.output, res.output
        assert "\u202e" not in res.output
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize("repo_id", ["../x", "a/../../b", "..", "a/b/c", "/abs/x", "a\\b", "%2e%2e/x"])
def test_store_never_resolves_outside_its_root(repo_id: str, hostile: dict[str, Path]) -> None:
    from openaudit.errors import InvalidRepoId
    from openaudit.sources.store import StoreSource, repo_dir

    with pytest.raises(InvalidRepoId):
        repo_dir(hostile["store"], "model", repo_id)
    with pytest.raises(InvalidRepoId):
        StoreSource(hostile["store"]).model(repo_id)


@pytest.mark.parametrize("path", [
    "/api/models/%2e%2e/%2e%2e", "/api/models/hostile/..%2f..%2f..%2fetc", "/api/models/..%5c..%5cetc/x",
    "/hostile/..%2f..%2fetc/resolve/main/passwd", "/hostile/x/resolve/main/..%2f..%2f..%2fetc%2fpasswd",
    "/hostile/file-symlink-escape/resolve/main/LICENSE", "/hostile/file-symlink-escape/resolve/main/README.md",
    "/hostile/store-symlink-escape/resolve/main/LICENSE", "/api/models/hostile/store-symlink-escape",
    "/hostile/sibling-traversal/resolve/main/%2E%2E/%2E%2E/etc/passwd", "//etc/passwd",
])
def test_fakehub_never_serves_outside_its_root(path: str, hostile: dict[str, Path], fakehub: Any) -> None:
    hub = fakehub(hostile["store"])
    try:
        with urllib.request.urlopen(hub.url + path, timeout=10) as r:  # a local test server
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    assert status in (400, 401, 403, 404), (path, status)
    for secret in SECRETS:
        assert secret.encode() not in body


def test_checked_in_store_is_what_the_script_builds(tmp_path: Path) -> None:
    hb.build_small(tmp_path)
    cmp = filecmp.dircmp(tmp_path, hb.DEFAULT_OUT)

    def diffs(c: filecmp.dircmp[str]) -> list[str]:
        out = [*c.left_only, *c.right_only, *c.diff_files, *c.funny_files]
        for sub in c.subdirs.values():
            out += diffs(sub)
        return out

    assert not diffs(cmp), "tests/hostile/store is stale: run python tests/hostile/build_hostile.py"


def test_yaml_python_tag_executes_nothing() -> None:
    assert not Path("/tmp/openaudit-pwned").exists()


def test_html_never_links_a_url_with_a_control_space_quote_bracket_backslash_or_backtick() -> None:
    """Every code point, one at a time, inside an otherwise plain https URL."""
    from openaudit.render.html import safe_url

    refused = {chr(c) for c in range(0x110000) if safe_url(f"https://example.org/a{chr(c)}b") is None}
    assert refused == {chr(c) for c in range(0x21)} | set("\"'<>\\`")


def test_html_shows_bidi_and_control_characters_as_code_points() -> None:
    from openaudit.render.html import _INVISIBLE, _visible

    for c in range(0x110000):
        shown = _visible(f"a{chr(c)}b")
        assert shown == (f"a<U+{c:04X}>b" if c in _INVISIBLE else f"a{chr(c)}b")
    assert {0x202E, 0x2066, 0x200F, 0x00, 0x1B, 0x7F} <= set(_INVISIBLE) and not {0x09, 0x0A, 0x0D} & set(_INVISIBLE)
    assert _visible(3) == 3


# ---- one file out of a store or cache folder: never outside it -----------------------------------
def _files(tmp_path: Path) -> Path:
    files = tmp_path / "store" / "models" / "o" / "m" / "files"
    (files / "docs").mkdir(parents=True)
    (files / "README.md").write_text("# card\n")
    (files / "docs" / "LICENSE").write_text("MIT License\n")
    (tmp_path / "secret.txt").write_text(hb.OUTSIDE_MARKER)
    return files


@pytest.mark.parametrize(("rel", "inside"), [
    ("README.md", True), ("docs/LICENSE", True), ("absent.md", True), ("new/dir/absent.md", True),
    ("link-in.md", True), ("linked-dir/LICENSE", True),
    ("link-out.md", False), ("out-dir/secret.txt", False), ("../../../../../secret.txt", False),
    ("docs/../../files/README.md", True),
])
def test_a_path_in_a_store_folder_is_inside_it_as_resolving_it_says(tmp_path: Path, rel: str, inside: bool) -> None:
    from openaudit.sources.store import within

    files = _files(tmp_path)
    (files / "link-in.md").symlink_to(files / "README.md")
    (files / "linked-dir").symlink_to(files / "docs")
    (files / "link-out.md").symlink_to(tmp_path / "secret.txt")
    (files / "out-dir").symlink_to(tmp_path)
    found = within(files, rel)
    assert (found is not None) == inside == (files / rel).resolve().is_relative_to(files.resolve())
    if found is not None and (files / rel).exists():
        assert found[1] is not None and found[0].resolve() == (files / rel).resolve()


def test_a_store_file_read_never_follows_a_link_out(tmp_path: Path) -> None:
    from openaudit.sources.store import _read_no_link, read_text_file

    files = _files(tmp_path)
    (files / "LICENSE").symlink_to(tmp_path / "secret.txt")
    got = read_text_file(files, "LICENSE")
    assert got is not None and not hasattr(got, "text") and "leaves the snapshot folder" in got.detail
    assert read_text_file(files, "README.md").text == "# card\n"  # type: ignore[union-attr]
    assert read_text_file(files, "absent.md") is None
    # A file swapped for a link after it was checked is not followed either.
    with pytest.raises(OSError):
        _read_no_link(files / "LICENSE", 10)


def test_a_symlink_loop_is_refused_not_a_crash(tmp_path: Path) -> None:
    """pathlib raises RuntimeError (not OSError) on a loop: a store file or a local folder that holds
    one is read as the rest of it, the loop left out."""
    from openaudit.sources.localdir import LocalDirSource
    from openaudit.sources.store import read_text_file, within

    files = _files(tmp_path)
    (files / "LICENSE").symlink_to(files / "LICENSE")
    assert within(files, "LICENSE") is None
    got = read_text_file(files, "LICENSE")
    assert got is not None and "leaves the snapshot folder" in got.detail  # type: ignore[union-attr]
    snap = LocalDirSource(files).model()
    assert set(snap.files) == {"README.md", "docs/LICENSE"}
    assert "LICENSE" not in {s["rfilename"] for s in snap.info["siblings"]}
