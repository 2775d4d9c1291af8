"""DESIGN §7: one test per exit code of `openaudit audit`."""

from __future__ import annotations

from pathlib import Path

from ci_helpers import audit_args, run

POLICY_FAILS = """version: 1
fail_on_flags: [license-mismatch]
"""


def test_exit_0_complete_and_no_policy(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    r = run(*audit_args("tiiuae/falcon-7b"), "-f", "json", "-o", str(tmp_path / "r.json"))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "r.json").exists()


def test_exit_1_policy_fails_while_audit_is_complete(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text(POLICY_FAILS)
    r = run(*audit_args("openaudit-fixtures/apache-tag-llama-license"), "--policy", str(tmp_path / "p.yaml"),
            "-f", "json", "-o", str(tmp_path / "r.json"))
    assert r.exit_code == 1, r.output
    import json

    rep = json.loads((tmp_path / "r.json").read_text())
    assert all(s["status"] == "audited" for s in rep["subjects"])
    assert rep["policy"]["passed"] is False
    assert [v["rule"] for v in rep["policy"]["violations"]] == ["flag:license-mismatch"]


def test_exit_2_bad_policy_names_file_and_line(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text("version: 1\nthresholds:\n  min_scor: 50\n")
    out = tmp_path / "r.json"
    r = run(*audit_args("tiiuae/falcon-7b"), "--policy", str(tmp_path / "p.yaml"), "-f", "json", "-o", str(out))
    assert r.exit_code == 2
    assert f"{tmp_path / 'p.yaml'}:3" in r.output and "thresholds.min_scor" in r.output
    assert not out.exists()


def test_exit_3_incomplete_audit_without_policy(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "r.json"
    r = run(*audit_args("tiiuae/falcon-7b", "nobody/not-in-the-store"), "-f", "json", "-o", str(out))
    assert r.exit_code == 3, r.output
    assert out.exists()  # the report of an incomplete run is still written, with the reason per model


def test_exit_3_wins_over_policy_failure(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "p.yaml").write_text(POLICY_FAILS)
    r = run(*audit_args("openaudit-fixtures/apache-tag-llama-license", "nobody/not-in-the-store"),
            "--policy", str(tmp_path / "p.yaml"), "-f", "json", "-o", str(tmp_path / "r.json"))
    assert r.exit_code == 3
