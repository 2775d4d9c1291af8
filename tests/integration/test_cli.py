"""The command line as a user meets it: exit codes, bad input, stores, local folders, the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

STORE = Path(__file__).parents[1] / "store"
ENV = {**os.environ, "HF_HUB_DISABLE_TELEMETRY": "1", "COLUMNS": "200"}
ENV.pop("HF_TOKEN", None)


def run(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openaudit.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env or ENV, timeout=120)


def mini_store(root: Path) -> Path:
    """One tiny, valid repo: enough to test the CLI without the big fixture store."""
    repo = root / "models" / "acme" / "tiny"
    (repo / "files").mkdir(parents=True)
    info = {"_id": "x", "id": "acme/tiny", "sha": "a" * 40, "gated": False, "private": False,
            "lastModified": "2025-01-01T00:00:00.000Z", "tags": ["license:apache-2.0"],
            "cardData": {"license": "apache-2.0"},
            "siblings": [{"rfilename": "README.md", "size": 60}, {"rfilename": "LICENSE", "size": 11},
                         {"rfilename": "model.safetensors", "size": 500_000_000}]}
    (repo / "info.json").write_text(json.dumps(info))
    (repo / "files" / "README.md").write_text("---\nlicense: apache-2.0\n---\n# Tiny\n\nA tiny model.\n")
    (repo / "files" / "LICENSE").write_text("Apache License\nVersion 2.0, January 2004\n")
    return root


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return mini_store(tmp_path / "store")


def test_audit_from_store_emits_json_pinned_to_the_store_sha(store: Path) -> None:
    r = run("audit", "acme/tiny", "--snapshots", str(store), "--format", "json", "--quiet")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)  # stdout is pure JSON: progress goes to stderr
    (subject,) = report["subjects"]
    assert subject["revision"] == "a" * 40 and subject["status"] == "audited"
    assert set(subject["dimensions"]) == {"weights", "code", "data", "license", "documentation"}


def test_progress_goes_to_stderr_only(store: Path) -> None:
    r = run("audit", "acme/tiny", "--snapshots", str(store), "--format", "json")
    assert "auditing acme/tiny" in r.stderr
    json.loads(r.stdout)


@pytest.mark.parametrize("bad", ["../etc", "a/b/c", "", "acme/..", "acme/tiny@../../x", "/abs/../path"])
def test_invalid_repo_id_exits_2_naming_it(store: Path, bad: str) -> None:
    r = run("audit", bad, "--snapshots", str(store))
    assert r.returncode == 2, (bad, r.stdout, r.stderr)
    assert "openaudit:" in r.stderr and (bad.split("@")[-1][:6] in r.stderr or "invalid" in r.stderr)
    assert r.stdout == ""


def test_missing_repo_is_skipped_exit_3_and_others_still_audited(store: Path) -> None:
    r = run("audit", "acme/tiny", "acme/ghost", "--snapshots", str(store), "-f", "json", "-q")
    assert r.returncode == 3
    subjects = {s["repo_id"]: s for s in json.loads(r.stdout)["subjects"]}
    assert subjects["acme/tiny"]["status"] == "audited"
    assert subjects["acme/ghost"]["status"] == "skipped"
    assert "was not recorded in the snapshot store" in subjects["acme/ghost"]["reason"]


def test_unknown_revision_is_skipped(store: Path) -> None:
    r = run("audit", "acme/tiny@" + "b" * 40, "--snapshots", str(store), "-f", "json", "-q")
    assert r.returncode == 3
    assert json.loads(r.stdout)["subjects"][0]["reason"].startswith("revision-not-found")


def test_store_without_info_json_exits_2_naming_the_file(store: Path) -> None:
    (store / "models" / "acme" / "broken").mkdir(parents=True)
    r = run("audit", "acme/broken", "--snapshots", str(store))
    assert r.returncode == 2 and "acme/broken/info.json" in r.stderr


def test_store_with_invalid_json_exits_2_naming_file_and_line(store: Path) -> None:
    bad = store / "models" / "acme" / "bad"
    bad.mkdir(parents=True)
    (bad / "info.json").write_text('{"id": "acme/bad",\n  "sha": }\n')
    r = run("audit", "acme/bad", "--snapshots", str(store))
    assert r.returncode == 2 and "acme/bad/info.json:2" in r.stderr


def test_missing_store_directory_is_a_usage_error(tmp_path: Path) -> None:
    r = run("audit", "acme/tiny", "--snapshots", str(tmp_path / "nope"))
    assert r.returncode == 2 and "does not exist" in r.stderr


@pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not generated")
def test_a_replay_never_loads_the_hub_client() -> None:
    """`--snapshots` (the demo, a CI replay) reads no Hub: huggingface_hub, ~0.3 s to import, is
    not loaded at all (a live source is told apart without importing it)."""
    # Through the CLI, with a model the store lacks (its account of what was not audited runs too).
    argv = ["openaudit", "audit", "deepseek-ai/DeepSeek-R1", "ghost/none", "--snapshots", str(STORE), "-f", "json"]
    code = ("import sys, atexit; "
            "atexit.register(lambda: print('loaded:', 'huggingface_hub' in sys.modules, file=sys.stderr)); "
            f"sys.argv = {argv!r}; from openaudit.cli import main; main()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 3 and "1 of 2 models not fully audited" in r.stderr, r.stderr
    assert r.stderr.strip().endswith("loaded: False")


@pytest.mark.parametrize("argv", [["--help"], ["org", "--help"], ["audit", "--help"]])
def test_help_loads_none_of_the_audit_machinery(argv: list[str]) -> None:
    """`--help` answers at once: the report models, the criteria, the Markdown parser and the Hub
    client (~0.3 s of imports between them) are not loaded."""
    heavy = ["openaudit.report", "openaudit.criteria", "markdown_it", "huggingface_hub"]
    code = ("import sys, atexit; "
            f"atexit.register(lambda: print('loaded:', [m for m in {heavy!r} if m in sys.modules], file=sys.stderr)); "
            f"sys.argv = {['openaudit', *argv]!r}; from openaudit.cli import main; main()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 0 and "Usage: openaudit" in r.stdout, r.stderr
    assert r.stderr.strip().endswith("loaded: []"), r.stderr


def test_local_folder_without_readme_is_audited_with_that_fact(tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"\x00" * 2_000_000)
    r = run("audit", str(folder), "-f", "json", "-q")
    assert r.returncode == 0, r.stderr
    (subject,) = json.loads(r.stdout)["subjects"]
    kinds = {e["kind"] for e in subject["evidence"]}
    assert "docs.card-missing" in kinds and subject["source"] == "localdir"
    assert subject["dimensions"]["documentation"]["verdict"] == "closed"


def test_a_local_folder_is_never_linked_or_labelled_as_a_hub_repo(tmp_path: Path) -> None:
    """A folder's subject is `local/<name>`: the HTML report must not link it to
    huggingface.co/local/<name> (someone else's repo, if it exists), and a model never read is
    not labelled "local" either."""
    from datetime import UTC, datetime

    from openaudit.render import github
    from openaudit.report import Report, Subject

    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"\x00" * 2_000_000)
    r = run("audit", str(folder), "-f", "html", "-q")
    assert r.returncode == 0, r.stderr
    assert "local/my-model" in r.stdout and "huggingface.co/local" not in r.stdout
    report = Report(generated_at=datetime(2025, 1, 1, tzinfo=UTC), subjects=[
        Subject(repo_id="local/my-model", source="localdir", status="audited"),
        Subject(repo_id="acme/gone", source="hub", status="skipped", reason="not-found: no such model")])
    table = github.step_summary(report)
    assert "| `local/my-model` | `local` |" in table and "| `acme/gone` | `—` |" in table


def test_local_folder_symlink_out_is_not_followed(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    (folder / "LICENSE").symlink_to(secret)
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# m\n")
    r = run("audit", str(folder), "-f", "json", "-q")
    assert r.returncode == 0, r.stderr
    assert "TOP-SECRET-CONTENT" not in r.stdout
    subject = json.loads(r.stdout)["subjects"][0]
    assert all("LICENSE" not in e["pointer"] for e in subject["evidence"] if e["kind"].startswith("license.file"))


def _hf_cache_snapshot(fakehub: Any, store_dir: Path, cache: Path, repo_id: str) -> Path:
    """Download a model's text files with huggingface_hub itself, as a user's machine holds them."""
    from huggingface_hub import hf_hub_download

    hub = fakehub(store_dir)
    for name in ("README.md", "LICENSE"):
        got = Path(hf_hub_download(repo_id, name, endpoint=hub.url, cache_dir=cache, token=False))
    assert got.is_symlink()  # the cache's own layout: snapshots/<commit>/LICENSE -> ../../blobs/<etag>
    return got.parent


def _asking(fakehub: Any, store_dir: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of a user whose Hub is the fake one: a folder's linked repos are asked of it."""
    return {**ENV, "HF_ENDPOINT": fakehub(store_dir).url, "XDG_CACHE_HOME": str(tmp_path / "xdg")}


def test_a_huggingface_cache_snapshot_is_audited_where_it_lies(fakehub: Any, store_dir: Path,
                                                                tmp_path: Path) -> None:
    snapshot = _hf_cache_snapshot(fakehub, store_dir, tmp_path / "hf", "deepseek-ai/DeepSeek-R1")
    env = _asking(fakehub, store_dir, tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    (snapshot / "NOTICE").symlink_to(secret)  # out of the repo's cache folder: still refused
    r = run("audit", str(snapshot), "-f", "json", "-q", env=env)
    assert r.returncode == 0, r.stderr
    assert "TOP-SECRET-CONTENT" not in r.stdout
    subject = json.loads(r.stdout)["subjects"][0]
    assert subject["repo_id"] == "local/deepseek-ai--DeepSeek-R1"  # named after the repo, not the commit
    licence = [e for e in subject["evidence"] if e["kind"] == "license.file"]
    assert [e["value"]["path"] for e in licence] == ["LICENSE"] and licence[0]["value"]["key"] == "MIT"
    assert "NOTICE" not in json.dumps(subject["evidence"])
    # Pinned to the commit the cache holds, and never linked as if local/<name> were a Hub repo.
    assert subject["revision"] == snapshot.name and licence[0]["pointer"] == f"LICENSE@{snapshot.name[:12]}"
    outs = {fmt: tmp_path / f"r.{fmt}" for fmt in ("html", "md", "sarif", "junit")}
    args = [a for fmt, out in outs.items() for a in ("-f", fmt, "-o", str(out))]
    r = run("audit", str(snapshot), "-q", *args, env=env)
    assert r.returncode == 0, r.stderr
    for fmt, out in outs.items():
        text = out.read_text(encoding="utf-8")
        assert snapshot.name[:12] in text, fmt
        assert "huggingface.co/local" not in text, fmt


def test_a_cache_snapshots_links_are_followed_into_its_own_blobs_only(fakehub: Any, store_dir: Path,
                                                           tmp_path: Path) -> None:
    cache = tmp_path / "hf"
    snapshot = _hf_cache_snapshot(fakehub, store_dir, cache, "deepseek-ai/DeepSeek-R1")
    env = _asking(fakehub, store_dir, tmp_path)
    other = cache / "models--acme--other" / "blobs"
    other.mkdir(parents=True)
    (other / "abc").write_text("OTHER-REPO-CONTENT")
    (snapshot / "USE_POLICY.md").symlink_to(Path("../../../models--acme--other/blobs/abc"))
    (snapshot.parent.parent / "refs" / "notes.md").write_text("REFS-CONTENT")  # in the repo, not a blob
    (snapshot / "NOTICE.md").symlink_to(Path("../../refs/notes.md"))
    r = run("audit", str(snapshot), "-f", "json", "-q", env=env)
    assert r.returncode == 0, r.stderr
    for leaked in ("OTHER-REPO-CONTENT", "USE_POLICY", "REFS-CONTENT", "NOTICE"):
        assert leaked not in r.stdout


def test_a_cache_repo_folder_audits_the_snapshot_refs_main_names(fakehub: Any, store_dir: Path,
                                                                 tmp_path: Path) -> None:
    snapshot = _hf_cache_snapshot(fakehub, store_dir, tmp_path / "hf", "deepseek-ai/DeepSeek-R1")
    env = _asking(fakehub, store_dir, tmp_path)
    repo = snapshot.parent.parent
    older = repo / "snapshots" / ("1" * 40)  # an older download, with no licence file
    older.mkdir()
    r = run("audit", str(repo), "-f", "json", "-q", env=env)
    assert r.returncode == 0, r.stderr
    subject = json.loads(r.stdout)["subjects"][0]
    assert [e["value"]["key"] for e in subject["evidence"] if e["kind"] == "license.file"] == ["MIT"]
    (repo / "refs" / "main").unlink()  # two snapshots and no ref: which one is for the user to say
    r = run("audit", str(repo), "-f", "json", "-q", env=env)
    assert r.returncode == 2
    assert "no refs/main snapshot" in r.stderr and snapshot.name[:12] in r.stderr and "1" * 12 in r.stderr


def test_a_folder_merely_named_like_a_cache_snapshot_keeps_its_own_boundary(tmp_path: Path) -> None:
    # No blobs/ beside snapshots/: not the cache's layout, so a link up to the parent is not followed.
    folder = tmp_path / "models--a--b" / "snapshots" / ("0" * 40)
    folder.mkdir(parents=True)
    (tmp_path / "models--a--b" / "LICENSE.txt").write_text("MIT License\n")
    (folder / "LICENSE").symlink_to(Path("../../LICENSE.txt"))
    r = run("audit", str(folder), "-f", "json", "-q")
    assert r.returncode == 0, r.stderr
    subject = json.loads(r.stdout)["subjects"][0]
    assert not [e for e in subject["evidence"] if e["kind"] == "license.file"]
    assert subject["repo_id"] == "local/" + "0" * 40


def test_snapshot_round_trips_through_a_new_store(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy"
    r = run("snapshot", "acme/tiny", "--snapshots", str(store), "-o", str(out))
    assert r.returncode == 0, r.stderr
    a = run("audit", "acme/tiny", "--snapshots", str(store), "-f", "json", "-q")
    b = run("audit", "acme/tiny", "--snapshots", str(out), "-f", "json", "-q")
    ja, jb = json.loads(a.stdout), json.loads(b.stdout)
    for j in (ja, jb):
        j.pop("generated_at")
    assert ja == jb


def test_several_formats_in_one_run(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    r = run("audit", "acme/tiny", "--snapshots", str(store), "-f", "json", "-o", str(out), "-f", "terminal", "-q")
    assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text())["subjects"][0]["repo_id"] == "acme/tiny"
    assert "acme/tiny" in r.stdout and "weights" in r.stdout


def test_two_formats_to_stdout_is_refused(store: Path) -> None:
    r = run("audit", "acme/tiny", "--snapshots", str(store), "-f", "json", "-f", "terminal")
    assert r.returncode == 2 and "stdout" in r.stderr


def test_unknown_format_is_refused_before_writing(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    r = run("audit", "acme/tiny", "--snapshots", str(store), "-f", "json", "-o", str(out), "-f", "nope")
    assert r.returncode == 2 and "unknown format" in r.stderr
    assert not out.exists(), "nothing is partially written"


def test_report_rerenders_saved_json_without_network(store: Path, tmp_path: Path) -> None:
    saved = tmp_path / "a.json"
    run("audit", "acme/tiny", "--snapshots", str(store), "-f", "json", "-o", str(saved), "-q")
    r = run("report", str(saved), "-f", "json")
    assert r.returncode == 0 and json.loads(r.stdout)["subjects"][0]["repo_id"] == "acme/tiny"


def test_report_of_another_schema_major_is_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps({"schema_version": "0.3", "subjects": []}))
    r = run("report", str(bad))
    assert r.returncode == 2 and "schema_version" in r.stderr


def test_criteria_list_and_explain() -> None:
    r = run("criteria", "list")
    assert r.returncode == 0 and "OA-LIC-001" in r.stdout and "license-mismatch" in r.stdout
    r = run("criteria", "explain", "OA-WGT-001")
    assert r.returncode == 0 and "Question:" in r.stdout and "Remediation:" in r.stdout
    r = run("criteria", "explain", "NOPE-1")
    assert r.returncode == 2


@pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not generated")
def test_demo_prints_the_four_flagships_offline() -> None:
    env = {**ENV, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}  # any network use would fail
    r = run("demo", env=env)
    assert r.returncode == 0, r.stderr
    for name in ("meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1", "deepseek-ai/DeepSeek-R1",
                 "allenai/OLMo-2-1124-7B"):
        assert name in r.stdout


@pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not generated")
def test_snapshot_keeps_renamed_bases_replayable(tmp_path: Path) -> None:
    # The Instruct card's base_model is the pre-rename id; the recorded store must answer it too.
    out = tmp_path / "rec"
    r = run("snapshot", "meta-llama/Llama-3.1-8B-Instruct", "--snapshots", str(STORE), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert (out / "models" / "meta-llama" / "Meta-Llama-3.1-8B" / "info.json").is_file()
    a = json.loads(run("audit", "meta-llama/Llama-3.1-8B-Instruct", "--snapshots", str(STORE), "-f", "json",
                       "-q").stdout)
    b = json.loads(run("audit", "meta-llama/Llama-3.1-8B-Instruct", "--snapshots", str(out), "-f", "json",
                       "-q").stdout)
    assert a["subjects"][0]["lineage"] == b["subjects"][0]["lineage"]
    assert b["subjects"][0]["lineage"][0]["found"] is True


def test_terminal_output_never_interprets_card_markup() -> None:
    """A card is not allowed to style or break the terminal: `[/]`, `[bold]` and escapes stay inert."""
    from openaudit.render.terminal import render
    from openaudit.report import DimensionResult, Report, Subject

    hostile = "closing [/] and [bold red]styled[/bold red] and \x1b[31mred\x1b[0m"
    subject = Subject(repo_id="acme/x", source="store", status="audited",
                      dimensions={"weights": DimensionResult(verdict="open", rationale=hostile)})
    from datetime import UTC, datetime

    out = render(Report(generated_at=datetime(2025, 1, 1, tzinfo=UTC), subjects=[subject]))
    assert "closing [/] and [bold red]styled[/bold red]" in out
    assert "\x1b" not in out and "\\x1b[31mred" in out


@pytest.mark.parametrize("width", [80, 120])
def test_terminal_details_fit_the_width_and_continue_under_their_text(width: int) -> None:
    """Wide characters (a Chinese card) count two cells, a URL longer than a line is cut, and a
    wrapped line goes on under the text it continues, never at the margin; the table fits too."""
    from datetime import UTC, datetime

    from rich.cells import cell_len

    from openaudit.render.terminal import render
    from openaudit.report import DimensionResult, Evidence, Report, Subject

    chinese = "本模型的训练数据来自公开网页与书籍，" * 12
    url = "https://example.org/" + "very-long-path-segment/" * 12
    subject = Subject(
        repo_id="acme/x", source="store", status="audited",
        dimensions={"data": DimensionResult(verdict="partial", rationale=f"The card says: {chinese}",
                                            evidence=["data.named#1"]),
                    "code": DimensionResult(verdict="open", rationale=f"Card links {url} for training.")},
        evidence=[Evidence(id="data.named#1", kind="data.named", summary=chinese, source="card.body",
                           pointer="README.md#数据:L12")])
    out = render(Report(generated_at=datetime(2025, 1, 1, tzinfo=UTC), subjects=[subject]), width=width)
    details = out[out.index("acme/x  (store"):].splitlines()
    assert all(cell_len(line) <= width for line in details), [line for line in details if cell_len(line) > width]
    table = out[:out.index("acme/x  (store")].splitlines()
    assert all(cell_len(line) <= width for line in table) and any(line.startswith(" acme/x ") for line in table)
    data = details[details.index(next(x for x in details if x.startswith("  data "))):]
    assert data[1].startswith(" " * 26) and not data[1].startswith(" " * 27)  # under the rationale
    shown = "".join(x.strip() for x in details)
    assert chinese.replace(" ", "") in shown and url in shown.replace(" ", "")  # nothing lost in the wrapping


@pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not generated")
def test_license_changed_between_two_revisions_in_one_run() -> None:
    # phi-2 launched under the non-commercial Microsoft Research License and moved to MIT.
    old = "7593e99bab0546342c2470c46ed898c30b890f22"
    r = run("audit", f"microsoft/phi-2@{old}", "microsoft/phi-2", "--snapshots", str(STORE), "-f", "json", "-q",
            "--profile", "openaudit")
    assert r.returncode == 0, r.stderr
    subjects = json.loads(r.stdout)["subjects"]
    assert subjects[0]["revision"] == old
    assert subjects[0]["dimensions"]["license"]["verdict"] == "closed", "non-commercial research licence"
    assert subjects[1]["dimensions"]["license"]["verdict"] == "open", "MIT"
    for s in subjects:
        assert "license-changed" in {f["id"] for f in s["flags"]}


@pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not generated")
def test_org_audits_only_what_the_policy_scope_covers(tmp_path: Path) -> None:
    (tmp_path / ".openaudit.yaml").write_text("version: 1\nscope:\n  include: ['deepseek-ai/*Distill*']\n")
    r = run("org", "deepseek-ai", "--snapshots", str(STORE), "-f", "json", "-q", "--profile", "openaudit",
            cwd=tmp_path)
    assert r.returncode in (0, 1), r.stderr
    ids = {s["repo_id"] for s in json.loads(r.stdout)["subjects"]}
    assert ids == {"deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"}


def test_a_repo_id_means_the_repo_even_when_a_folder_has_that_name(store: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    (work / "acme" / "tiny").mkdir(parents=True)  # e.g. a local clone laid out like the Hub
    r = run("audit", "acme/tiny", "--snapshots", str(store), "-f", "json", "-q", cwd=work)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["subjects"][0]["source"] == "store"
    r = run("audit", "./acme/tiny", "-f", "json", "-q", cwd=work)  # an explicit path is the folder
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["subjects"][0]["source"] == "localdir"


@pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not generated")
def test_audit_jobs_changes_nothing_but_speed_and_the_command_module_is_the_same_cli(tmp_path: Path) -> None:
    """`openaudit audit A B C --jobs N` keeps the order and the verdicts; `python -m openaudit` (the
    console script's module) is the same command as `python -m openaudit.cli`."""
    ids = ["meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1", "deepseek-ai/DeepSeek-R1", "nope/missing"]
    one = run("audit", *ids, "--snapshots", str(STORE), "-f", "json", "-q", "--jobs", "1")
    many = subprocess.run([sys.executable, "-m", "openaudit", "audit", *ids, "--snapshots", str(STORE), "-f", "json",
                           "-q", "-j", "4"], capture_output=True, text=True, env=ENV, timeout=120)
    assert one.returncode == many.returncode == 3  # nope/missing is skipped
    a, b = json.loads(one.stdout), json.loads(many.stdout)
    a.pop("generated_at"), b.pop("generated_at")
    assert [s["repo_id"] for s in b["subjects"]] == ids and a == b
    bad = run("audit", *ids, "--snapshots", str(STORE), "--jobs", "0")
    assert bad.returncode == 2 and "--jobs must be at least 1" in bad.stderr and bad.stdout == ""


def test_a_local_config_json_is_read_through_the_same_boundary(fakehub: Any, store_dir: Path,
                                                                tmp_path: Path) -> None:
    from openaudit.sources.localdir import LocalDirSource

    snapshot = _hf_cache_snapshot(fakehub, store_dir, tmp_path / "hf", "deepseek-ai/DeepSeek-R1")
    blob = snapshot.parent.parent / "blobs" / "cfg"
    blob.write_text('{"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "x": 1}')
    (snapshot / "config.json").symlink_to(Path("../../blobs/cfg"))
    info = LocalDirSource(snapshot).model().info
    assert info["config"] == {"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3"}
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "config.json").symlink_to(blob)  # out of a plain folder: not read
    assert "config" not in LocalDirSource(folder).model().info
    (folder / "config.json").unlink()
    (folder / "config.json").write_text("{not json")
    assert "config" not in LocalDirSource(folder).model().info
