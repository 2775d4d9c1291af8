"""The checked-in JSON Schema is the one the models generate, and what the CLI emits validates against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from openaudit.report import SCHEMA_PATH, json_schema

STORE = Path(__file__).parents[1] / "store"


def test_checked_in_schema_is_current() -> None:
    # Regenerate with: python -c "from openaudit.report import write_schema; write_schema()"
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == json.loads(json.dumps(json_schema()))


@pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not generated")
@pytest.mark.parametrize("args", [
    ["audit", "meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1", "deepseek-ai/DeepSeek-R1", "nope/missing"],
    ["audit", "openaudit-fixtures/bad-yaml", "openaudit-fixtures/cycle-a", "openaudit-fixtures/no-card"],
    ["org", "deepseek-ai"],
    ["demo"],
])
def test_every_json_the_cli_emits_is_schema_valid(args: list[str]) -> None:
    store = [] if args[0] == "demo" else ["--snapshots", str(STORE), "-q"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("HF_TOKEN", None)
    r = subprocess.run([sys.executable, "-m", "openaudit.cli", *args, *store, "-f", "json"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode in (0, 3), r.stderr
    report = json.loads(r.stdout)
    jsonschema.validate(report, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert report["subjects"], "every requested model is in the report"


@pytest.mark.slow
@pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not generated")
def test_the_policy_block_has_a_schema_ci_consumers_can_rely_on(tmp_path: Path) -> None:
    """`policy` was `additionalProperties: true` in 1.0: a report with a policy (a waiver, a baseline)
    validates against its fields, and a violation without its `rule` does not."""
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nthresholds: {min_score: 60}\nfail_on_flags: [license-mismatch]\nwaivers:\n"
                      "  - {models: 'mistralai/*', rule: min_score, reason: accepted-risk, expires: 2099-01-01}\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    run = [sys.executable, "-m", "openaudit.cli", "audit", "mistralai/Mistral-7B-v0.1",
           "openaudit-fixtures/apache-tag-llama-license", "--snapshots", str(STORE), "-q", "-f", "json"]
    # The baseline holds the fixture model only: its violations are baselined, Mistral's is waived.
    base = subprocess.run([*(a for a in run if a != "mistralai/Mistral-7B-v0.1"), "--no-policy"],
                          capture_output=True, text=True, env=env, timeout=300)
    (tmp_path / "old.json").write_text(base.stdout)
    r = subprocess.run([*run, "--policy", str(policy), "--baseline", str(tmp_path / "old.json")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr  # what fails was failing in the baseline already, or is waived
    report = json.loads(r.stdout)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.validate(report, schema)
    p = report["policy"]
    assert p["passed"] is True and p["waived"] == 1 and p["baselined"] >= 1
    waived = next(v for v in p["violations"] if v["waived_by"])
    assert waived["waived_by"]["reason"] == "accepted-risk" and waived["waived_by"]["expires"] == "2099-01-01"
    del p["violations"][0]["rule"]
    with pytest.raises(jsonschema.ValidationError, match="'rule' is a required property"):
        jsonschema.validate(report, schema)
