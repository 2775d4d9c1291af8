"""The policy file: loading (errors name file, line, field), checking, waivers, baselines, examples."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from ci_helpers import EXAMPLES, NOW, STORE, TODAY, audit_args, run

from openaudit import api
from openaudit.errors import ConfigFileError
from openaudit.policy import Policy, apply_policy, evaluate, find_policy, load_policy

GOOD = """version: 1
profiles: [openaudit, mof]
thresholds:
  min_score: 40
  min_verdict: {data: partial}
fail_on_flags: [license-mismatch]
waivers:
  - models: "mistralai/*"
    rule: min_verdict.data
    reason: data-not-ours
    note: upstream
    expires: 2030-01-01
"""


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return api.audit_models(["tiiuae/falcon-7b", "mistralai/Mistral-7B-v0.1",
                             "openaudit-fixtures/apache-tag-llama-license"], snapshots=STORE, now=NOW)


def _write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


BAD = [
    ("version: 1\nbogus: 1\n", 2, "bogus", "Extra inputs"),
    ("version: 1\nthresholds:\n  min_score: high\n", 3, "thresholds.min_score", "valid number"),
    ("version: 1\nthresholds:\n  min_score: 150\n", 3, "thresholds.min_score", "less than or equal to 100"),
    ("version: 1\nthresholds:\n  min_mof_class: IV\n", 3, "thresholds.min_mof_class", "'III', 'II' or 'I'"),
    ("version: 1\nfail_on_flags: [licence-mismatch]\n", 2, "fail_on_flags", "unknown flag 'licence-mismatch'"),
    ("version: 2\n", 1, "version", "Input should be 1"),
    ("version: 1\nwaivers:\n  - models: 'a/*'\n    flag: gated-access\n    expires: 2030-01-01\n", 3,
     "waivers.0.reason", "Field required"),
    ("version: 1\nwaivers:\n  - models: 'a/*'\n    flag: gated-access\n    reason: because\n    expires: 2030-01-01\n",
     5, "waivers.0.reason", "accepted-risk"),
    ("version: 1\nwaivers:\n  - models: 'a/*'\n    flag: gated-access\n    reason: in-progress\n"
     "    expires: 2020-01-01\n", 6, "waivers.0.expires", "expired on 2020-01-01"),
    ("version: 1\nwaivers:\n  - models: 'a/*'\n    reason: in-progress\n    expires: 2030-01-01\n", 3, "waivers.0",
     "exactly one of criterion, flag or rule"),
    ("version: 1\nprofiles: [openaudit]\nthresholds: {min_mof_class: III}\n", 1, None, "needs profile 'mof'"),
]


@pytest.mark.parametrize(("text", "line", "field", "msg"), BAD)
def test_bad_policy_is_a_config_error_with_the_place(tmp_path: Path, text: str, line: int, field: str | None,
                                                     msg: str) -> None:
    p = _write(tmp_path, text)
    with pytest.raises(ConfigFileError) as e:
        load_policy(p, TODAY)
    err = e.value
    assert err.path == str(p)
    assert err.line == line, str(err)
    assert err.field == field, str(err)
    assert msg in str(err)


@pytest.mark.parametrize(("text", "line", "field", "msg"), BAD[:3] + BAD[6:9])
def test_bad_policy_on_the_cli_exits_2_and_writes_nothing(tmp_path: Path, monkeypatch, text: str, line: int,
                                                          field: str, msg: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    p = _write(tmp_path, text)
    out = tmp_path / "out.sarif"
    r = run(*audit_args("tiiuae/falcon-7b"), "--policy", str(p), "-f", "sarif", "-o", str(out))
    assert r.exit_code == 2
    assert f"{p}:{line}" in r.output and f"(field '{field}')" in r.output
    assert not out.exists()


def test_policy_in_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.openaudit]\nversion = 1\n'
                                             'fail_on_flags = ["license-mismatch"]\n\n[tool.openaudit.thresholds]\n'
                                             'min_score = 30\n')
    assert find_policy(tmp_path) == tmp_path / "pyproject.toml"
    pol = load_policy(tmp_path / "pyproject.toml", TODAY)
    assert pol.fail_on_flags == ["license-mismatch"] and pol.thresholds.min_score == 30
    (tmp_path / "pyproject.toml").write_text('[tool.openaudit]\nversion = 1\n\n[tool.openaudit.thresholds]\n'
                                             'min_score = 300\n')
    with pytest.raises(ConfigFileError) as e:
        load_policy(tmp_path / "pyproject.toml", TODAY)
    assert e.value.line == 5 and e.value.field == "tool.openaudit.thresholds.min_score"


def test_discovery_prefers_openaudit_yaml(tmp_path: Path) -> None:
    assert find_policy(tmp_path) is None
    _write(tmp_path, "version: 1\n", ".openaudit.yaml")
    assert find_policy(tmp_path) == tmp_path / ".openaudit.yaml"


def test_apply_policy_checks_waives_and_is_pure(tmp_path: Path, report) -> None:  # type: ignore[no-untyped-def]
    pol = load_policy(_write(tmp_path, GOOD), TODAY)
    out = apply_policy(report, pol, TODAY)
    assert report.policy is None  # pure: the input is untouched
    p = out.policy
    assert p is not None and p["passed"] is False
    rules = {(v["repo_id"], v["rule"]): v for v in p["violations"]}
    assert ("openaudit-fixtures/apache-tag-llama-license", "flag:license-mismatch") in rules
    mistral = rules.get(("mistralai/Mistral-7B-v0.1", "min_verdict.data"))
    if mistral is not None:  # data undeclared upstream: waived, so it does not fail
        assert mistral["waived_by"]["reason"] == "data-not-ours"
    assert ("tiiuae/falcon-7b", "min_verdict.data") not in rules
    assert set(p["checked"]) == {s.repo_id for s in report.subjects}
    assert p["failed"] == sum(1 for v in p["violations"] if not v["waived_by"])


def test_expired_waiver_at_run_time_is_reported_and_fails_with_strict(tmp_path: Path, report) -> None:  # type: ignore[no-untyped-def]
    text = ("version: 1\nwaivers:\n  - models: 'tiiuae/*'\n    flag: gated-access\n    reason: accepted-risk\n"
            "    expires: 2025-02-01\n")
    pol = load_policy(_write(tmp_path, text), TODAY)
    later = date(2025, 3, 1)
    out = evaluate(report, pol, later)
    assert out.policy and out.policy["passed"] is True
    assert [w["target"] for w in out.policy["expired_waivers"]] == ["flag:gated-access"]
    strict = evaluate(report, pol, later, strict=True)
    assert strict.policy and strict.policy["passed"] is False
    soon = evaluate(report, pol, date(2025, 1, 25))
    assert soon.policy and [w["index"] for w in soon.policy["expiring_waivers"]] == [0]


def test_scope_and_overrides(report) -> None:  # type: ignore[no-untyped-def]
    pol = Policy.model_validate({"version": 1, "scope": {"exclude": ["openaudit-fixtures/*"]},
                                 "fail_on_flags": ["license-mismatch"],
                                 "overrides": [{"models": ["tiiuae/*"], "thresholds": {"min_mof_class": "I"}}]})
    p = apply_policy(report, pol, TODAY).policy
    assert p is not None
    assert p["out_of_scope"] == ["openaudit-fixtures/apache-tag-llama-license"]
    assert "min_mof_class" in p["checked"]["tiiuae/falcon-7b"]
    assert "min_mof_class" not in p["checked"]["mistralai/Mistral-7B-v0.1"]


def test_baseline_passes_what_was_already_failing(report) -> None:  # type: ignore[no-untyped-def]
    pol = Policy.model_validate({"version": 1, "fail_on_flags": ["license-mismatch"]})
    assert apply_policy(report, pol, TODAY).policy["passed"] is False  # type: ignore[index]
    p = apply_policy(report, pol, TODAY, baseline=report).policy
    assert p is not None and p["passed"] is True and p["baselined"] == 1
    clean = report.model_copy(update={"subjects": [s.model_copy(update={"flags": []}) for s in report.subjects]})
    p2 = apply_policy(report, pol, TODAY, baseline=clean).policy
    assert p2 is not None and p2["passed"] is False  # new since the baseline


def test_baseline_of_another_schema_version_exits_2(tmp_path: Path, monkeypatch, report) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    data = json.loads(report.to_json())
    data["schema_version"] = "2.0"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    out = tmp_path / "r.json"
    r = run(*audit_args("tiiuae/falcon-7b"), "--baseline", str(old), "-f", "json", "-o", str(out))
    assert r.exit_code == 2
    assert str(old) in r.output and "schema_version 2.0" in r.output
    assert not out.exists()


# -- the worked examples, against the fixture store -------------------------------------------------

PUBLISHER = ["allenai/OLMo-2-1124-7B", "LLM360/Amber", "tiiuae/falcon-7b", "EleutherAI/pythia-1b",
             "ibm-granite/granite-3.0-8b-base"]


def test_example_publisher_passes_its_releases(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "r.json"
    r = run(*audit_args(*PUBLISHER), "--policy", str(EXAMPLES / "publisher" / ".openaudit.yaml"),
            "-f", "json", "-o", str(out))
    assert r.exit_code == 0, r.output
    p = json.loads(out.read_text())["policy"]
    assert p["passed"] is True
    # OLMo 2 and Amber are held to MOF Class III; Falcon-7B is not (its paper is "coming soon").
    assert all("min_mof_class" in p["checked"][m] for m in PUBLISHER[:2])
    assert "min_mof_class" not in p["checked"]["tiiuae/falcon-7b"]


def test_example_publisher_fails_a_release_whose_licence_tag_lies(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "r.json"
    fixtures = ["openaudit-fixtures/apache-tag-llama-license", "openaudit-fixtures/llama-finetune-mit"]
    r = run(*audit_args(*PUBLISHER, *fixtures),
            "--policy", str(EXAMPLES / "publisher" / ".openaudit.yaml"), "-f", "json", "-o", str(out))
    assert r.exit_code == 1
    failing = {(v["repo_id"], v["rule"]) for v in json.loads(out.read_text())["policy"]["violations"]
               if not v["waived_by"]}
    assert ("openaudit-fixtures/apache-tag-llama-license", "flag:license-mismatch") in failing
    assert ("openaudit-fixtures/llama-finetune-mit", "flag:license-inherited") in failing


WATCHED = ["meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1", "deepseek-ai/DeepSeek-R1", "tiiuae/falcon-7b"]


def test_example_watchdog_fails_only_on_regressions(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    policy = str(EXAMPLES / "watchdog" / ".openaudit.yaml")
    base = tmp_path / "base.json"
    assert run(*audit_args(*WATCHED), "--no-policy", "-f", "json", "-o", str(base)).exit_code == 0
    same = run(*audit_args(*WATCHED), "--policy", policy, "--baseline", str(base), "-f", "json",
               "-o", str(tmp_path / "same.json"))
    assert same.exit_code == 0, same.output
    # Pretend the vendors were more open last time: Mistral had open data and no gate, falcon had none of it.
    data = json.loads(base.read_text())
    for s in data["subjects"]:
        if s["repo_id"] == "mistralai/Mistral-7B-v0.1":
            s["dimensions"]["data"]["verdict"] = "open"
            s["flags"] = [f for f in s["flags"] if f["id"] != "gated-access"]
        if s["repo_id"] == "tiiuae/falcon-7b":  # out of the watchdog's scope: ignored
            s["dimensions"]["data"]["verdict"] = "open"
            s["score"] = 100.0
    base.write_text(json.dumps(data))
    out = tmp_path / "r.json"
    r = run(*audit_args(*WATCHED), "--policy", policy, "--baseline", str(base), "-f", "json", "-o", str(out))
    assert r.exit_code == 1
    fails = {(v["repo_id"], v["rule"]) for v in json.loads(out.read_text())["policy"]["violations"]}
    assert fails == {("mistralai/Mistral-7B-v0.1", "regression.dimensions.data"),
                     ("mistralai/Mistral-7B-v0.1", "regression.flags.gated-access")}


def test_baseline_without_policy_fails_on_any_regression(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    base = tmp_path / "base.json"
    assert run(*audit_args("tiiuae/falcon-7b"), "-f", "json", "-o", str(base)).exit_code == 0
    data = json.loads(base.read_text())
    data["subjects"][0]["frameworks"]["mof"]["class"] = "I"
    base.write_text(json.dumps(data))
    r = run(*audit_args("tiiuae/falcon-7b"), "--baseline", str(base), "-f", "github")
    assert r.exit_code == 1
    assert "regression.frameworks.mof" in r.output


def test_policy_file_is_discovered_in_cwd_and_no_policy_skips_it(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "version: 1\nfail_on_flags: [license-mismatch]\n", ".openaudit.yaml")
    ids = audit_args("openaudit-fixtures/apache-tag-llama-license")
    assert run(*ids, "-f", "json", "-o", str(tmp_path / "a.json")).exit_code == 1
    assert run(*ids, "--no-policy", "-f", "json", "-o", str(tmp_path / "b.json")).exit_code == 0


def test_expired_waiver_in_file_needs_renewal(tmp_path: Path) -> None:
    past = (date.today() - timedelta(days=1)).isoformat()
    p = _write(tmp_path, f"version: 1\nwaivers:\n  - models: '*'\n    flag: gated-access\n    reason: accepted-risk\n"
                         f"    expires: {past}\n")
    with pytest.raises(ConfigFileError, match="renew it"):
        load_policy(p, date.today())
    assert load_policy(p).waivers[0].reason == "accepted-risk"  # without a date: library users decide
