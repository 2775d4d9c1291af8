"""The command line pointed anywhere, as a user does (issue 20): outputs are written through or
refused and never destroy what was there, checked before the first Hub request; every error path the
README and --help mention ends in one or two lines and its exit code, never a traceback; a failed
policy, an empty organisation and a snapshot with unreadable files say so; ids as users paste them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import mini_store

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "tests" / "store"
ENV = {**os.environ, "HF_HUB_DISABLE_TELEMETRY": "1", "COLUMNS": "200"}
for _var in ("HF_TOKEN", "HF_HUB_OFFLINE", "NO_COLOR"):
    ENV.pop(_var, None)


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        stdout: int | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openaudit.cli", *args], text=True, cwd=cwd, env=env or ENV,
                          timeout=120, stdout=stdout if stdout is not None else subprocess.PIPE,
                          stderr=subprocess.PIPE)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved JSON report of two models: `report` re-renders it with no audit."""
    path = tmp_path_factory.mktemp("saved") / "two.json"
    r = run("audit", "acme/tiny", "acme/other", "--snapshots", str(_two_store(path.parent)), "-q", "-f", "json",
            "-o", str(path))
    assert r.returncode == 0, r.stderr
    return path


def _two_store(root: Path) -> Path:
    store = mini_store(root / "store")
    other = store / "models" / "acme" / "other"
    other.mkdir(parents=True)
    for p in (store / "models" / "acme" / "tiny").rglob("*"):
        dest = other / p.relative_to(store / "models" / "acme" / "tiny")
        if p.is_dir():
            dest.mkdir(exist_ok=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(p.read_bytes().replace(b"acme/tiny", b"acme/other"))
    return store


def no_traceback(r: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in r.stderr and "Traceback" not in (r.stdout or ""), r.stderr


# ---- 1. -o writes through or refuses ------------------------------------------------------------------

def test_dash_is_stdout_and_writes_no_file_named_dash(saved: Path, tmp_path: Path) -> None:
    r = run("report", str(saved), "-f", "json", "-o", "-", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["subjects"][0]["repo_id"] == "acme/tiny"
    assert not (tmp_path / "-").exists()


def test_dev_stdout_is_written_to_the_pipe(saved: Path, tmp_path: Path) -> None:
    r = run("report", str(saved), "-f", "md", "-o", "/dev/stdout", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "acme/tiny" in r.stdout


def test_a_character_device_is_written_to_never_replaced(saved: Path, tmp_path: Path) -> None:
    """As root (a CI container), `-o /dev/null` once replaced the device by a regular file. A null
    device of our own is made here, so that a regression cannot break the machine's /dev/null."""
    dev = tmp_path / "null"
    try:
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("making a device needs root")
    r = run("report", str(saved), "-f", "json", "-o", str(dev))
    assert r.returncode == 0, r.stderr
    assert stat.S_ISCHR(os.stat(dev).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]  # no temporary file left beside it


def test_a_fifo_is_written_to(saved: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE, text=True)
    r = run("report", str(saved), "-f", "json", "-o", str(fifo))
    got, _ = reader.communicate(timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(got)["subjects"][1]["repo_id"] == "acme/other"
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_symlink_is_followed_and_kept(saved: Path, tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "2025-06-01.json"
    target.write_text("old")
    link = tmp_path / "latest.json"
    link.symlink_to(Path("reports") / "2025-06-01.json")
    r = run("report", str(saved), "-o", str(link))  # the format follows the extension: json
    assert r.returncode == 0, r.stderr
    assert link.is_symlink()
    assert json.loads(target.read_text())["subjects"][0]["repo_id"] == "acme/tiny"


def test_new_files_follow_the_umask_and_existing_files_keep_their_mode(saved: Path, tmp_path: Path) -> None:
    kept = tmp_path / "kept.md"
    kept.write_text("old")
    kept.chmod(0o640)
    code = ("import os, sys; os.umask(0o027); sys.argv = ['openaudit', 'report', sys.argv[1], '-f', 'md', '-o', "
            "sys.argv[2], '-f', 'json', '-o', sys.argv[3]]; from openaudit.cli import main; main()")
    r = subprocess.run([sys.executable, "-c", code, str(saved), str(kept), str(tmp_path / "new.json")],
                       capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(os.stat(kept).st_mode) == 0o640 and "acme/tiny" in kept.read_text()
    assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o640  # 0666 & ~027


# ---- 2. site folders ----------------------------------------------------------------------------------

def test_site_refuses_a_folder_it_did_not_write_unless_forced(saved: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("my home page")
    r = run("report", str(saved), "-f", "site", "-o", str(docs))
    assert r.returncode == 2 and "cannot write" in r.stderr and "--force" in r.stderr
    assert (docs / "index.md").read_text() == "my home page"
    r = run("report", str(saved), "-f", "site", "-o", str(docs), "--force")
    assert r.returncode == 0, r.stderr
    assert (docs / "index.html").is_file() and not (docs / "index.md").exists()
    # Marked as openaudit's: the next run replaces it with no --force.
    assert (docs / ".openaudit-site").is_file()
    assert run("report", str(saved), "-f", "site", "-o", str(docs)).returncode == 0


def test_site_into_the_current_folder(saved: Path, tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    r = run("report", str(saved), "-f", "site", "-o", ".", cwd=here)
    assert r.returncode == 0, r.stderr
    assert (here / "index.html").is_file()
    r = run("report", str(saved), "-f", "site", "-o", ".", cwd=here)  # the folder itself stays: cwd is valid
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in here.iterdir()) == [".openaudit-site", "index.html", "methodology.html", "models"]
    no_traceback(run("report", str(saved), "-f", "site", "-o", ".", cwd=tmp_path))  # not empty, not ours: exit 2


# ---- 3. checked before the first request; -o binds to the -f before it ------------------------------

def test_output_problems_cost_no_request(fakehub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hub = fakehub(mini_store(tmp_path / "store"))
    env = {**ENV, "HF_ENDPOINT": hub.url}
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "keep.txt").write_text("x")
    (tmp_path / "file").write_text("x")
    mark = hub.mark()
    cases = [
        (["-f", "json", "-o", str(tmp_path / "r.html")], "cannot write"),        # extension names another format
        (["-o", str(tmp_path / "r.txt")], "cannot write"),                       # no format for it
        (["-f", "nope"], "unknown format 'nope'"),
        (["-f", "json", "-o", str(tmp_path / "file" / "r.json")], "Not a directory"),
        (["-f", "site", "-o", str(tmp_path / "site")], "cannot write"),
        (["-f", "json", "-f", "md"], "would all go to stdout"),
    ]
    for args, said in cases:
        r = run("audit", "acme/tiny", "--cache-dir", str(tmp_path / "cache"), *args, env=env)
        assert r.returncode == 2, (args, r.stderr)
        assert said in r.stderr and "openaudit:" in r.stderr, (args, r.stderr)
        no_traceback(r)
    assert hub.since(mark) == []


def test_output_binds_to_the_format_before_it(saved: Path, tmp_path: Path) -> None:
    r = run("report", str(saved), "-f", "github", "-f", "mof-yaml", "-o", str(tmp_path / "r.mof.yaml"))
    assert r.returncode == 0, r.stderr
    assert "::" in r.stdout or r.stdout.startswith("openaudit")  # the annotations went to stdout
    assert (tmp_path / "r.mof.yaml").read_text().lstrip().startswith(("#", "-", "model", "framework", "{"))
    assert "::" not in (tmp_path / "r.mof.yaml").read_text()
    r = run("report", str(saved), "-o", str(tmp_path / "a.json"), "-o", str(tmp_path / "a.html"),
            "-f", "md", "-o", str(tmp_path / "a.md"))
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "a.json").read_text())["schema_version"]
    assert (tmp_path / "a.html").read_text().startswith("<!DOCTYPE html>")
    assert "acme/tiny" in (tmp_path / "a.md").read_text() and r.stdout == ""


# ---- 4. no traceback reaches a user --------------------------------------------------------------------

def _error_paths(tmp: Path, saved: Path, store: Path) -> list[tuple[list[str], int, str]]:
    sarif = tmp / "r.sarif"
    r = run("report", str(saved), "-f", "sarif", "-o", str(sarif))
    assert r.returncode == 0, r.stderr
    unreadable = tmp / "unreadable.json"
    unreadable.write_text("{}")
    ro = tmp / "ro"
    ro.mkdir()
    bad_policy = tmp / "bad.yaml"
    bad_policy.write_text("version: 1\nthresholds: {min_score: lots}\n")
    snap = ["--snapshots", str(store)]
    return [
        (["audit", "../etc", *snap], 2, "repo id"),
        (["audit", "acme/tiny@../../x", *snap], 2, "invalid"),
        (["audit", "acme", *snap], 2, "openaudit org acme"),
        (["audit", "https://huggingface.co/datasets/acme/data", *snap], 2, "dataset"),
        (["audit", "acme/tiny", *snap, "-f", "nope"], 2, "unknown format"),
        (["audit", "acme/tiny", *snap, "--depth", "deep"], 2, "depth"),
        (["audit", "acme/tiny", "--snapshots", str(tmp / "no-store")], 2, "no-store"),
        (["audit", "acme/tiny", *snap, "--policy", str(tmp / "missing.yaml")], 2, "missing.yaml"),
        (["audit", "acme/tiny", *snap, "--policy", str(bad_policy)], 2, "bad.yaml"),
        (["audit", "acme/tiny", *snap, "--baseline", str(sarif)], 2, "r.sarif"),
        (["audit", "acme/tiny", *snap, "-f", "json", "-o", "/dev/full"], 2, "cannot write /dev/full"),
        (["audit", "acme/tiny", *snap, "-f", "json", "-o", "/proc/version/r.json"], 2, "cannot write"),
        (["audit", "acme/tiny", *snap, "-f", "json", "-o", str(ro)], 2, "folder"),
        (["report", str(sarif)], 2, "r.sarif"),
        (["report", str(tmp / "missing.json")], 2, "missing.json"),
        (["report", str(tmp)], 2, ""),
        (["report", str(saved), "-f", "junit", "-o", "/sys/kernel/r.xml"], 2, "cannot write"),
        (["diff", str(saved), str(sarif)], 2, "r.sarif"),
        (["diff", str(saved), str(saved), "-f", "html"], 2, "diff format"),
        (["diff", str(saved), str(saved), "-o", "/dev/full"], 2, "/dev/full"),
        (["snapshot", "acme/tiny", *snap, "-o", str(saved)], 2, "not a folder"),
        (["criteria", "explain", "NOPE-1"], 2, "no criterion"),
        (["criteria", "list", "-p", "nope"], 2, "nope"),
        (["org", "-x"], 2, ""),
    ]


def test_no_error_path_shows_a_traceback(saved: Path, tmp_path: Path) -> None:
    store = mini_store(tmp_path / "store")
    failures = []
    for args, code, said in _error_paths(tmp_path, saved, store):
        r = run(*args)
        if r.returncode != code or "Traceback" in r.stderr or said not in r.stderr or len(r.stderr) > 2000:
            failures.append((args, r.returncode, r.stderr[-600:]))
    assert failures == []


def test_a_full_stdout_is_one_line(saved: Path) -> None:
    with open("/dev/full", "w") as full:
        r = run("report", str(saved), "-f", "json", stdout=full.fileno())
    assert r.returncode == 2 and "No space left" in r.stderr
    no_traceback(r)
    assert len(r.stderr.strip().splitlines()) == 1


# ---- 5. a failing policy says why ------------------------------------------------------------------

def test_failing_policy_names_each_violation_on_screen_and_on_stderr(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\nthresholds:\n  min_score: 90\n")
    args = ["audit", "meta-llama/Llama-3.1-8B", "allenai/OLMo-2-1124-7B", "--snapshots", str(STORE), "-q",
            "--policy", str(policy)]
    r = run(*args)
    assert r.returncode == 1
    assert "FAILED" in r.stdout and "meta-llama/Llama-3.1-8B min_score" in r.stdout
    assert "allenai/OLMo-2-1124-7B min_score" not in r.stdout  # it passes
    assert "min_score" not in r.stderr  # said once, on the screen
    r = run(*args, "-f", "json", "-o", str(tmp_path / "r.json"))
    assert r.returncode == 1
    assert "policy" in r.stderr.lower() and "meta-llama/Llama-3.1-8B min_score" in r.stderr


def test_baseline_regression_is_named_on_stderr(tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    r = run("audit", "allenai/OLMo-2-1124-7B", "--snapshots", str(STORE), "-q", "-o", str(base))
    assert r.returncode == 0, r.stderr
    # Today the same commit is served behind a gate: the weights are less open than in the baseline.
    gated = tmp_path / "store"
    import shutil

    shutil.copytree(STORE, gated)  # its datasets too: only the gate changes
    info = json.loads((gated / "models" / "allenai" / "OLMo-2-1124-7B" / "info.json").read_text())
    info["gated"] = "manual"
    (gated / "models" / "allenai" / "OLMo-2-1124-7B" / "info.json").write_text(json.dumps(info))
    r = run("audit", "allenai/OLMo-2-1124-7B", "--snapshots", str(gated), "-q", "--no-policy",
            "--baseline", str(base), "-f", "json", "-o", str(tmp_path / "today.json"))
    assert r.returncode == 1, r.stderr
    assert "allenai/OLMo-2-1124-7B regression.dimensions.weights: less open than the baseline" in r.stderr


# ---- 6. an organisation with no models --------------------------------------------------------------

def test_org_listing_no_models_says_so_and_exits_3(tmp_path: Path) -> None:
    r = run("org", "no-such-vendor", "--snapshots", str(STORE), "-q", "-f", "json", "-o", str(tmp_path / "r.json"))
    assert r.returncode == 3
    assert "no models of 'no-such-vendor'" in r.stderr


# ---- 7. ids as users paste them ------------------------------------------------------------------------

@pytest.mark.parametrize("given", ["https://huggingface.co/allenai/OLMo-2-1124-7B", "hf.co/allenai/OLMo-2-1124-7B/",
                                   "huggingface.co/allenai/OLMo-2-1124-7B/blob/main/README.md"])
def test_hub_addresses_are_ids(given: str) -> None:
    r = run("audit", given, "--snapshots", str(STORE), "-q", "-f", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["subjects"][0]["repo_id"] == "allenai/OLMo-2-1124-7B"


def test_an_organisations_address_is_its_name() -> None:
    r = run("org", "https://huggingface.co/allenai", "--snapshots", str(STORE), "-q", "-f", "json")
    assert r.returncode == 0, r.stderr
    assert {s["repo_id"] for s in json.loads(r.stdout)["subjects"]} == {"allenai/OLMo-2-1124-7B"}


def test_the_printed_sha_prefix_is_taken_back(fakehub) -> None:  # type: ignore[no-untyped-def]
    sha = json.loads((STORE / "models" / "allenai" / "OLMo-2-1124-7B" / "info.json").read_text())["sha"]
    r = run("audit", f"allenai/OLMo-2-1124-7B@{sha[:12]}", "--snapshots", str(STORE), "-q", "-f", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["subjects"][0]["revision"] == sha
    hub = fakehub(STORE)
    env = {**ENV, "HF_ENDPOINT": hub.url}
    r = run("audit", f"allenai/OLMo-2-1124-7B@{sha[:12]}", "-q", "-f", "json", "--depth", "card", "--refresh",
            env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["subjects"][0]["revision"] == sha


def test_hf_hub_offline_means_offline(fakehub, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hub = fakehub(STORE)
    mark = hub.mark()
    env = {**ENV, "HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "1"}
    r = run("audit", "allenai/OLMo-2-1124-7B", "--cache-dir", str(tmp_path / "cache"), "-f", "json", env=env)
    no_traceback(r)
    assert r.returncode == 0  # not cached: skipped with the reason, as --offline does
    assert json.loads(r.stdout)["subjects"][0]["reason"].startswith("offline")
    assert hub.since(mark) == []


def test_criteria_explain_takes_the_slug_in_any_case() -> None:
    by_id = run("criteria", "explain", "MOF-C10")
    assert by_id.returncode == 0
    for given in ("mof-c10", "MOF-MODEL-PARAMETERS-FINAL", "mof-model-parameters-final"):
        r = run("criteria", "explain", given)
        assert r.returncode == 0 and r.stdout == by_id.stdout, given
    r = run("criteria", "explain", "licence-mismatch")
    assert r.returncode == 2 and "did you mean license-mismatch" in r.stderr


# ---- 8. snapshot names what it could not read ---------------------------------------------------------

def test_snapshot_names_unreadable_files_and_exits_3(fakehub, repo_writer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = tmp_path / "hub"
    repo_writer(store, "acme/locked", {"gated": "manual", "siblings": [{"rfilename": "README.md", "size": 50},
                                                                       {"rfilename": "LICENSE", "size": 20}]},
                {})  # listed, not served: gated (401 without a token)
    hub = fakehub(store)
    r = run("snapshot", "acme/locked", "-o", str(tmp_path / "out"), env={**ENV, "HF_ENDPOINT": hub.url})
    assert r.returncode == 3, r.stderr
    assert "README.md (gated" in r.stderr and "LICENSE (gated" in r.stderr
    no_traceback(r)


# ---- 9, 10. the terminal and --help ----------------------------------------------------------------

def test_compact_by_default_details_on_request_and_no_sentence_twice() -> None:
    compact = run("demo")
    assert compact.returncode == 0
    assert "--details" in compact.stdout and "↳" not in compact.stdout
    detailed = run("demo", "-v")
    assert "↳" in detailed.stdout
    for block in detailed.stdout.split("\n\n")[1:]:
        sentences = [s.strip() for s in block.replace("\n", " ").split(". ") if len(s.strip()) > 40]
        assert len(sentences) == len(set(sentences)), [s for s in sentences if sentences.count(s) > 1][:2]


def test_narrow_terminal_shortens_ids_before_dropping_frameworks() -> None:
    from openaudit.render.terminal import shorten_id

    assert shorten_id("mistralai/Mistral-7B-Instruct-v0.3", 30) == "mist…/Mistral-7B-Instruct-v0.3"
    assert len(shorten_id("mistralai/Mistral-7B-Instruct-v0.3", 12)) == 12
    wide = run("demo", env={**ENV, "COLUMNS": "130"})
    assert "MOF" in wide.stdout.splitlines()[2]
    assert max(len(line) for line in wide.stdout.splitlines()) <= 130


def test_colours_for_a_terminal_only_and_never_with_no_color() -> None:
    from openaudit.render.terminal import use_colour

    class Tty:
        def isatty(self) -> bool:
            return True

    os.environ.pop("NO_COLOR", None)
    assert use_colour(Tty()) is True
    os.environ["NO_COLOR"] = "1"
    try:
        assert use_colour(Tty()) is False
    finally:
        del os.environ["NO_COLOR"]
    assert "\x1b[" not in run("demo").stdout  # a pipe: plain text


def test_help_lists_every_format_and_choice_with_readable_names() -> None:
    from openaudit.render import FORMATS

    for cmd in ("audit", "org", "report", "demo"):
        r = run(cmd, "--help", env={**ENV, "COLUMNS": "200"})
        assert r.returncode == 0
        for fmt in FORMATS:
            assert fmt in r.stdout, (cmd, fmt)
        assert "<list" not in r.stdout and "<path>" not in r.stdout and "Example" in r.stdout
    assert "metadata|card|full" in run("org", "--help").stdout
    assert run("-V").stdout.startswith("openaudit ")
    assert "--install-completion" in run("--help").stdout


# ---- 11-13. names, packaging, the README's commands ----------------------------------------------------

def test_the_distribution_name_is_not_the_unrelated_openaudit_and_the_action_installs_its_own_checkout() -> None:
    import tomllib

    import yaml

    name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    assert name == "openaudit-ai"  # "openaudit" on PyPI is another project
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    installs = [step["run"] for step in action["runs"]["steps"] if "pip install" in step.get("run", "")]
    assert installs and all('"$GITHUB_ACTION_PATH"' in run and "==" not in run for run in installs)
    assert "version" not in action["inputs"]


def test_docs_refer_to_no_release_that_does_not_exist() -> None:
    import re

    tags = subprocess.run(["git", "tag"], capture_output=True, text=True, cwd=ROOT).stdout.split()
    for doc in ("docs/ci.md", "README.md", "docs/usage.md"):
        text = (ROOT / doc).read_text()
        for ref in re.findall(r"openaudit/openaudit@([\w.-]+)", text):
            assert ref in tags, (doc, ref)
        for rev in re.findall(r"^\s*rev:\s*(\S+)", text, re.M):
            assert rev in tags or rev == "COMMIT_SHA", (doc, rev)


def test_ci_runs_the_readme_test_command_verbatim_and_the_readme_names_the_quick_subset() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    demo, test = (line.split("#", 1)[0].strip() for line in quick_start.strip().splitlines())
    assert demo == "pip install . && openaudit demo"
    assert test in ci.splitlines()
    assert 'python -m pytest -m "not slow"' in readme


def _on_a_terminal(args: list[str], cols: int, env: dict[str, str]) -> str:
    """What `openaudit ARGS` shows on a terminal `cols` wide (a pseudo-terminal, COLUMNS unset)."""
    import fcntl
    import pty
    import struct
    import termios

    main, tty = pty.openpty()
    fcntl.ioctl(tty, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    env = {k: v for k, v in env.items() if k != "COLUMNS"} | {"TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "openaudit.cli", *args], stdout=tty, stderr=subprocess.DEVNULL,
                            env=env)
    os.close(tty)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closed: the program has exited
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=120)
    os.close(main)
    return out.decode("utf-8", "replace").replace("\r\n", "\n")


def test_the_real_terminal_width_and_colours() -> None:
    import re

    shown = _on_a_terminal(["demo"], 100, ENV)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", shown)
    assert "\x1b[" in shown  # verdicts coloured on a terminal
    assert "meta-llama/Llama-3.1-8B" in plain
    assert max(len(line.rstrip()) for line in plain.splitlines()) <= 100
    assert "\x1b[" not in _on_a_terminal(["demo"], 100, {**ENV, "NO_COLOR": "1"})
    assert "\x1b[" not in _on_a_terminal(["--no-color", "demo"], 100, ENV)
