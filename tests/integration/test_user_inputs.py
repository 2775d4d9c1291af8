"""Files a user points openaudit at, and the token (issue 27): what a careless user or an attacker
did, and what they now see. Each case: the exit code, the message naming the file, no traceback,
bounded time and memory (generous limits, measured on the child process)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from openaudit.cli import app

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "tests" / "store"
MODEL = "mistralai/Mistral-7B-v0.1"


# The child writes its own peak RSS (VmHWM, which exec resets) when it exits: getrusage(RUSAGE_CHILDREN)
# is the largest of every child this test process ever waited for, so one big earlier child would
# count against every later case.
_WITH_PEAK = ("import atexit, os, runpy, sys\n"
              "def _peak():\n"
              "    with open('/proc/self/status') as f, open(os.environ['OPENAUDIT_TEST_PEAK'], 'w') as o:\n"
              "        o.write(next(x for x in f if x.startswith('VmHWM:')).split()[1])\n"
              "atexit.register(_peak)\n"
              "sys.argv = ['openaudit', *sys.argv[1:]]\n"
              "runpy.run_module('openaudit', run_name='__main__')\n")


def cli(*args: str, stdin: str | None = None, timeout: float = 120, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> tuple[int, str, float, int]:
    """Run the real command in a child: (exit code, stderr, seconds, the child's peak RSS in MB)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        peak_file = Path(tmp) / "peak"
        t0 = time.monotonic()
        res = subprocess.run([sys.executable, "-c", _WITH_PEAK, *args], capture_output=True, text=True,
                             input=stdin, timeout=timeout, cwd=cwd or ROOT,
                             env={**os.environ, **(env or {}), "OPENAUDIT_TEST_PEAK": str(peak_file)})
        took = time.monotonic() - t0
        peak_kb = int(peak_file.read_text()) if peak_file.exists() else \
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return res.returncode, res.stderr, took, peak_kb // 1024


def assert_refused(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and "Error:" not in err.split("openaudit:")[0], err
    for n in needles:
        assert n in err, err
    assert len(err.strip().splitlines()) <= 3, err  # a one or two line message, not a dump


# ---- 8. files read until memory ran out, nested until the parser recursed, a directory ----------

@pytest.mark.parametrize("args", [
    ("audit", MODEL, "--snapshots", str(STORE), "--policy", "/dev/zero"),
    ("audit", MODEL, "--snapshots", str(STORE), "--baseline", "/dev/zero"),
    ("report", "/dev/zero"),
    ("diff", "/dev/zero", "/dev/zero"),
    ("audit", MODEL, "--snapshots", str(STORE), "--profile", "/dev/zero.yaml"),
])
def test_special_files_are_refused_not_read(args: tuple[str, ...], tmp_path: Path) -> None:
    if args[-1] == "/dev/zero.yaml":  # a profile is taken by its suffix: a link named so, to /dev/zero
        link = tmp_path / "zero.yaml"
        os.symlink("/dev/zero", link)
        args = (*args[:-1], str(link))
    code, err, took, peak_mb = cli(*args, timeout=120)
    assert_refused(code, err, "not a regular file")
    assert took < 60 and peak_mb < 600  # was: read until MemoryError at 1.8 GB


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "policy.yaml"
    os.mkfifo(fifo)
    code, err, _, _ = cli("audit", MODEL, "--snapshots", str(STORE), "--policy", str(fifo), timeout=60)
    assert_refused(code, err, str(fifo), "not a regular file")


def test_report_of_a_directory_says_so(tmp_path: Path) -> None:
    code, err, _, _ = cli("report", str(tmp_path))
    assert_refused(code, err, str(tmp_path), "is a directory")


@pytest.mark.parametrize("command", ["report", "diff", "baseline"])
def test_a_report_nested_100000_deep_is_refused(command: str, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text('{"schema_version": "1.0", "x": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    args = {"report": ("report", str(deep)), "diff": ("diff", str(deep), str(deep)),
            "baseline": ("audit", MODEL, "--snapshots", str(STORE), "--baseline", str(deep))}[command]
    code, err, took, _ = cli(*args)
    assert_refused(code, err, str(deep), "nested more than")
    assert took < 60


def test_a_report_larger_than_the_cap_is_refused_by_bytes_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    from openaudit import report

    monkeypatch.setattr(report, "MAX_REPORT_BYTES", 1000)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"schema_version": "1.0", "pad": "x" * 5000}), encoding="utf-8")
    res = CliRunner().invoke(app, ["report", str(big)])
    assert res.exit_code == 2 and "larger than 1000 bytes" in res.output, res.output


def test_a_5000_digit_integer_in_pyproject_is_a_message_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.openaudit]\nversion = " + "9" * 5000 + "\n", encoding="utf-8")
    code, err, _, _ = cli("audit", MODEL, "--snapshots", str(STORE), "--policy", str(tmp_path / "pyproject.toml"))
    assert_refused(code, err, "pyproject.toml", "malformed TOML")


# ---- 5. the token: --token-file, and what --help says of --token ---------------------------------

@pytest.fixture
def gated_hub(fakehub: Any, tmp_path: Path, repo_writer: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from test_org import ORG, build_org

    store = tmp_path / "store"
    build_org(store, repo_writer, n=4)  # model-03 is gated
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("hf_granted_token_for_the_test_0001\n", encoding="utf-8")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    hub = fakehub(store, fresh=True, tokens=tokens)
    hub.model = f"{ORG}/model-03"
    return hub


def test_token_file_and_stdin_open_a_gated_repo(gated_hub: Any, tmp_path: Path) -> None:
    env = {"HF_ENDPOINT": gated_hub.url}
    tok = tmp_path / "token"
    tok.write_text("hf_granted_token_for_the_test_0001\n", encoding="utf-8")
    out = tmp_path / "r.json"
    granted = "hf_granted_token_for_the_test_0001\n"
    for args, stdin in ((["--token-file", str(tok)], None), (["--token-file", "-"], granted)):
        code, err, _, _ = cli("audit", gated_hub.model, *args, "--no-policy", "--refresh", "--cache-dir",
                              str(tmp_path / "c"), "-f", "json", "-o", str(out), stdin=stdin, env=env)
        assert code == 0, err
        assert json.loads(out.read_text())["subjects"][0]["status"] == "audited"
        assert "hf_granted" not in err
    # Without it, the same gated files are not read: the token file is what opened them.
    code, err, _, _ = cli("audit", gated_hub.model, "--no-policy", "--refresh", "--cache-dir", str(tmp_path / "c"),
                          "-f", "json", "-o", str(out), env=env)
    assert code == 3 and json.loads(out.read_text())["subjects"][0]["status"] == "incomplete", err


@pytest.mark.parametrize("case", ["both", "empty", "missing", "device", "spaces"])
def test_a_bad_token_file_is_a_usage_error(case: str, tmp_path: Path) -> None:
    tok = tmp_path / "token"
    args = ["--token-file", str(tok)]
    if case == "both":
        tok.write_text("hf_x\n", encoding="utf-8")
        args += ["--token", "hf_y"]
    elif case == "empty":
        tok.write_text("\n\n", encoding="utf-8")
    elif case == "device":
        args = ["--token-file", "/dev/zero"]
    elif case == "spaces":
        tok.write_text("hf_x and more words\n", encoding="utf-8")
    code, err, _, _ = cli("audit", MODEL, "--snapshots", str(STORE), *args)
    assert_refused(code, err)
    assert "hf_x" not in err and "hf_y" not in err


def test_help_says_token_on_the_command_line_is_visible_to_other_users() -> None:
    res = CliRunner().invoke(app, ["audit", "--help"], terminal_width=200)
    text = " ".join(res.output.split())
    assert "--token-file" in text and "ps" in text and "HF_TOKEN" in text


# ---- 6. a crash's traceback shows no local variables (they hold the token) ----------------------

def test_a_crash_does_not_print_the_token(tmp_path: Path) -> None:
    script = tmp_path / "crash.py"
    script.write_text(
        "import os, sys\n"
        "from openaudit import api, cli\n"
        "def boom(*a, **k):\n"
        "    raise RuntimeError('an unexpected failure')\n"
        "api.audit_models = api.run_audit = boom\n"
        "sys.argv = ['openaudit', 'audit', 'a/b', '--offline', '--token', os.environ['THE_TOKEN']]\n"
        "cli.main()\n", encoding="utf-8")
    token = "hf_" + "s3cr3t" * 6
    env = {**os.environ, "THE_TOKEN": token, "COLUMNS": "200"}
    env.pop("_TYPER_STANDARD_TRACEBACK", None)
    res = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120,
                         cwd=tmp_path)
    assert res.returncode != 0
    assert "an unexpected failure" in res.stderr  # it did crash, and said so
    assert token not in res.stderr + res.stdout and "s3cr3t" not in res.stderr


def test_every_typer_app_hides_locals() -> None:
    from openaudit import cli as c

    apps = [c.app, *(g.typer_instance for g in c.app.registered_groups)]
    assert all(a.pretty_exceptions_show_locals is False for a in apps)


def test_a_5000_digit_integer_in_a_yaml_policy_is_a_message_naming_the_file(tmp_path: Path) -> None:
    policy = tmp_path / ".openaudit.yaml"
    policy.write_text("version: 1\nthresholds:\n  min_score: " + "9" * 5000 + "\n", encoding="utf-8")
    code, err, _, _ = cli("audit", MODEL, "--snapshots", str(STORE), "--policy", str(policy))
    assert_refused(code, err, str(policy), "too many digits")


# ---- 9. local model folders: the same bounds as files from the Hub ------------------------------

def _model_dir(tmp_path: Path) -> Path:
    d = tmp_path / "my-model"
    d.mkdir()
    (d / "README.md").write_text("---\nlicense: apache-2.0\n---\n# My model\n\nA small test model.\n", encoding="utf-8")
    return d


def _safetensors(path: Path, header: bytes, declared: int | None = None) -> None:
    import struct

    path.write_bytes(struct.pack("<Q", len(header) if declared is None else declared) + header)


def _audit_dir(d: Path, tmp_path: Path) -> tuple[int, str, dict[str, Any], float, int]:
    out = tmp_path / "r.json"
    code, err, took, peak = cli("audit", str(d), "--no-policy", "-f", "json", "-o", str(out), timeout=300)
    report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    return code, err, report, took, peak


def _problems(report: dict[str, Any]) -> dict[str, str]:
    (s,) = report["subjects"]
    return {e["value"]["path"]: e["value"]["detail"] for e in s["evidence"] if e["kind"] == "weights.file-unreadable"}


@pytest.mark.parametrize("case", ["string-shape", "deep-header", "huge-header", "not-an-object"])
def test_a_bad_safetensors_header_is_evidence_not_a_crash(case: str, tmp_path: Path) -> None:
    d = _model_dir(tmp_path)
    st = d / "model.safetensors"
    if case == "string-shape":
        _safetensors(st, json.dumps({"w": {"dtype": "F16", "shape": ["many", 4], "data_offsets": [0, 8]}}).encode())
    elif case == "deep-header":
        _safetensors(st, b"[" * 100_000 + b"]" * 100_000)
    elif case == "huge-header":  # 100 MB declared and present: 2.4 M tensors took 1.3 GB
        body = b'{"t%d": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}, '
        one = b"".join(body % i for i in range(1000))
        header = b"{" + (one[1:] * 2400)[:-2] + b"}"
        _safetensors(st, header)
    else:
        _safetensors(st, b"[1, 2, 3]")
    code, err, report, took, peak_mb = _audit_dir(d, tmp_path)
    assert code == 0 and "Traceback" not in err, err
    (s,) = report["subjects"]
    assert s["status"] == "audited"
    assert "model.safetensors" in _problems(report)
    assert took < 120 and peak_mb < 700


def test_a_config_json_nested_100000_deep_is_evidence(tmp_path: Path) -> None:
    d = _model_dir(tmp_path)
    (d / "config.json").write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    code, err, report, _, _ = _audit_dir(d, tmp_path)
    assert code == 0 and "Traceback" not in err, err
    assert "nested more than" in _problems(report)["config.json"]


def test_1200_nested_folders_are_cut_at_a_depth(tmp_path: Path) -> None:
    d = _model_dir(tmp_path)
    cur = d
    chain = []
    for _ in range(1200):
        cur = cur / "n"
        os.mkdir(cur)
        chain.append(cur)
    (cur / "LICENSE").write_text("deep down", encoding="utf-8")
    try:
        code, err, report, took, _ = _audit_dir(d, tmp_path)
    finally:
        # Removed here, bottom up: pytest's own clean-up of old temporary folders (shutil.rmtree, one
        # recursion a level) would fail on 1,200 levels in a later session.
        (cur / "LICENSE").unlink()
        for folder in reversed(chain):
            folder.rmdir()
    assert code == 0 and "Traceback" not in err, err
    problems = _problems(report)
    assert any("nested deeper than" in v for v in problems.values()), problems
    assert took < 120


def test_file_names_that_are_not_utf8_are_listed_safely(tmp_path: Path) -> None:
    d = _model_dir(tmp_path)
    bad = os.fsencode(str(d)) + b"/weights-\xff\xfe.safetensors"
    with open(bad, "wb") as fh:
        fh.write(b"\0" * 16)
    os.mkdir(os.fsencode(str(d)) + b"/sub-\xff")
    code, err, report, _, _ = _audit_dir(d, tmp_path)
    assert code == 0 and "Traceback" not in err, err
    problems = _problems(report)
    assert problems.get("weights-\\xff\\xfe.safetensors", "").startswith("file name is not UTF-8"), problems
    assert "sub-\\xff" in problems
