"""SARIF, JUnit and GitHub outputs: golden files from the fixture store, and validation.

Regenerate the goldens after an intended change with
OPENAUDIT_UPDATE_GOLDEN=1 pytest tests/unit/render/test_ci_outputs.py.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from ci_helpers import EXAMPLES, NOW, ROOT, STORE, TODAY, audit_args, run

from openaudit import __version__, api
from openaudit.policy import apply_policy, load_policy
from openaudit.render import renderer, stream
from openaudit.report import Report

GOLDEN = ROOT / "tests" / "golden"
SARIF_SCHEMA = ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json"
MODELS = ["openaudit-fixtures/apache-tag-llama-license", "mistralai/Mistral-7B-v0.1", "tiiuae/falcon-7b",
          "ibm-granite/granite-3.0-8b-base"]


@pytest.fixture(scope="module")
def plain() -> Report:
    return api.audit_models(MODELS, snapshots=STORE, now=NOW, jobs=1)


@pytest.fixture(scope="module")
def with_policy(plain: Report) -> Report:
    return apply_policy(plain, load_policy(EXAMPLES / "publisher" / ".openaudit.yaml", TODAY), TODAY)


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    text = text.replace(__version__, "[VERSION]")
    if os.environ.get("OPENAUDIT_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; OPENAUDIT_UPDATE_GOLDEN=1 to accept"


@pytest.mark.parametrize("fmt,ext", [("sarif", "sarif"), ("junit", "junit.xml"), ("github", "github.txt")])
@pytest.mark.parametrize("which", ["plain", "policy"])
def test_golden(fmt: str, ext: str, which: str, plain: Report, with_policy: Report) -> None:
    report = plain if which == "plain" else with_policy
    text = renderer(fmt)(report)
    _golden(f"ci-{which}.{ext}", text)
    written = stream(fmt)(report)  # what the CLI writes: in chunks for a streamed format
    assert (written if isinstance(written, str) else b"".join(written).decode("utf-8")) == text


@pytest.mark.parametrize("which", ["plain", "policy"])
def test_sarif_is_valid_2_1_0(which: str, plain: Report, with_policy: Report) -> None:
    report = plain if which == "plain" else with_policy
    log = json.loads(renderer("sarif")(report))
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text())).validate(log)
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)), "duplicate rules break code-scanning uploads"
    assert "OA-LIC-001" in ids and "license-mismatch" in ids and "MOF-C10" in ids
    lic = next(r for r in rules if r["id"] == "OA-LIC-001")
    assert lic["help"]["markdown"] and lic["fullDescription"]["text"]
    assert run_["automationDetails"]["id"] == "openaudit/models/"
    prints = [(r["ruleId"], r["partialFingerprints"]["openauditRepoRule/v1"]) for r in run_["results"]]
    assert len(prints) == len(set(prints))
    for r in run_["results"]:
        assert r["ruleId"] == rules[r["ruleIndex"]]["id"]
        loc = r["locations"][0]
        assert loc["logicalLocations"][0]["fullyQualifiedName"].startswith("hf://")
    mismatch = next(r for r in run_["results"] if r["ruleId"] == "license-mismatch")
    assert mismatch["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "README.md"
    assert mismatch["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
    assert "@" in mismatch["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
    assert all(r["level"] in ("error", "warning", "note") for r in run_["results"])


def test_sarif_fingerprints_are_stable_across_runs(plain: Report) -> None:
    again = api.audit_models(MODELS, snapshots=STORE, now=NOW, jobs=1)
    assert renderer("sarif")(again) == renderer("sarif")(plain)


def test_sarif_suppresses_waived_results(with_policy: Report) -> None:
    log = json.loads(renderer("sarif")(with_policy))
    waived = [v for v in with_policy.policy["violations"] if v["waived_by"]]  # type: ignore[index]
    assert waived, "the publisher example waives granite's data"
    assert "properties" in log["runs"][0] and log["runs"][0]["properties"]["policy"]["passed"] is False


def _check_junit(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "testsuites"
    total = 0
    for suite in root.findall("testsuite"):
        assert {"name", "tests", "failures", "errors", "skipped", "time", "timestamp"} <= set(suite.attrib)
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases) > 0
        assert int(suite.get("failures", "-1")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("skipped", "-1")) == sum(c.find("skipped") is not None for c in cases)
        for c in cases:
            assert {"classname", "name", "time"} <= set(c.attrib)
            for f in c.findall("failure"):
                assert f.get("message") and f.get("type")
        total += len(cases)
    assert int(root.get("tests", "-1")) == total
    return root


def test_junit_structure(plain: Report, with_policy: Report) -> None:
    root = _check_junit(renderer("junit")(plain))
    assert [s.get("name") for s in root.findall("testsuite")] == MODELS
    proot = _check_junit(renderer("junit")(with_policy))
    lying = next(s for s in proot.findall("testsuite") if s.get("name") == MODELS[0])
    failed = [c.get("name") for c in lying.findall("testcase") if c.find("failure") is not None]
    assert "flag:license-mismatch" in failed
    granite = next(s for s in proot.findall("testsuite") if s.get("name") == MODELS[3])
    skips = [c.find("skipped") for c in granite.findall("testcase")]
    assert any(sk is not None and "waived" in (sk.get("message") or "") for sk in skips)


def test_github_lines(with_policy: Report, plain: Report) -> None:
    lines = renderer("github")(with_policy).splitlines()
    assert any(ln.startswith("::error title=openaudit flag%3Alicense-mismatch") for ln in lines)
    assert any(ln.startswith("::notice ") and "waived" in ln for ln in lines)
    for ln in lines[:-1]:
        assert ln.startswith(("::error ", "::warning ", "::notice ")) and "::" in ln[2:]
    assert lines[-1].startswith("openaudit: 4 model(s), policy FAILED")
    plain_lines = renderer("github")(plain).splitlines()
    assert any(ln.startswith("::error title=openaudit license-mismatch") for ln in plain_lines)


def test_github_step_summary_is_appended_also_when_everything_passes(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    r = run(*audit_args("tiiuae/falcon-7b"), "--policy", str(EXAMPLES / "publisher" / ".openaudit.yaml"),
            "-f", "github", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert r.exit_code == 0, r.output
    text = summary.read_text()
    assert text.startswith("# earlier step\n## openaudit: policy passed")
    assert "All 1 model(s) in scope pass the policy." in text and "| `tiiuae/falcon-7b` |" in text
    r2 = run(*audit_args("openaudit-fixtures/apache-tag-llama-license"), "--policy",
             str(EXAMPLES / "publisher" / ".openaudit.yaml"), "-f", "github", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert r2.exit_code == 1
    assert "## openaudit: policy failed" in summary.read_text() and "flag:license-mismatch" in summary.read_text()


def test_ci_formats_combine_with_others_in_one_run(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    r = run(*audit_args("tiiuae/falcon-7b"), "-f", "sarif", "-o", "a.sarif", "-f", "junit", "-o", "a.xml",
            "-f", "json", "-o", "a.json", "-f", "github")
    assert r.exit_code == 0
    assert json.loads((tmp_path / "a.sarif").read_text())["version"] == "2.1.0"
    _check_junit((tmp_path / "a.xml").read_text())
    assert "openaudit: 1 model(s) audited" in r.output
