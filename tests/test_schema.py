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

STORE = Path(__file__).parent / "store"


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
