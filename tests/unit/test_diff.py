"""`openaudit diff`: per-model changes with a direction, three formats, --fail-on-regression."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ci_helpers import NOW, STORE, run

from openaudit import api
from openaudit.diff import diff_reports
from openaudit.report import Report


@pytest.fixture(scope="module")
def old() -> Report:
    return api.audit_models(["LLM360/Amber", "mistralai/Mistral-7B-v0.1", "microsoft/phi-2"], snapshots=STORE,
                            now=NOW)


def _worse(r: Report) -> Report:
    subjects = []
    for s in r.subjects:
        if s.repo_id == "LLM360/Amber":
            dims = dict(s.dimensions)
            dims["data"] = dims["data"].model_copy(update={"verdict": "closed"})
            mof = s.frameworks["mof"].model_copy(update={"mof_class": "none"})
            lic = s.license.model_copy(update={"key": "llama-3.1-license-2024", "category": "custom-community"}) \
                if s.license else None
            s = s.model_copy(update={"dimensions": dims, "frameworks": {**s.frameworks, "mof": mof},
                                     "revision": "f" * 40, "license": lic, "score": (s.score or 0) - 10})
        if s.repo_id == "microsoft/phi-2":
            continue
        subjects.append(s)
    subjects.append(r.subjects[0].model_copy(update={"repo_id": "LLM360/Amber-new"}))
    return r.model_copy(update={"subjects": subjects})


def test_diff_same_report_has_no_changes(old: Report) -> None:
    d = diff_reports(old, old)
    assert d["regressions"] == 0 and all(m["state"] == "unchanged" for m in d["models"])


def test_diff_finds_every_kind_of_change(old: Report) -> None:
    d = diff_reports(old, _worse(old))
    by = {m["repo_id"]: m for m in d["models"]}
    assert by["microsoft/phi-2"]["state"] == "removed"
    assert by["LLM360/Amber-new"]["state"] == "added"
    fields = {c["field"]: c["direction"] for c in by["LLM360/Amber"]["changes"]}
    assert fields["dimensions.data"] == "down"
    assert fields["frameworks.mof"] == "down"
    assert fields["license"] == "down"
    assert fields["revision"] == "changed"
    assert fields["score"] == "down"
    assert d["regressions"] == 4
    back = diff_reports(_worse(old), old)
    assert {c["field"]: c["direction"] for m in back["models"] for c in m["changes"]}["frameworks.mof"] == "up"


def test_diff_cli_formats_and_fail_on_regression(tmp_path: Path, old: Report) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(old.to_json())
    b.write_text(_worse(old).to_json())
    t = run("diff", str(a), str(b))
    assert t.exit_code == 0 and "▼ data open → closed" in t.output and "[removed]" in t.output
    md = run("diff", str(a), str(b), "--format", "md")
    assert md.exit_code == 0 and "| `LLM360/Amber` | changed | data open → closed | **less open** |" in md.output
    js = run("diff", str(a), str(b), "--format", "json", "--fail-on-regression")
    assert js.exit_code == 1 and json.loads(js.output)["regressions"] == 4
    assert run("diff", str(a), str(a), "--fail-on-regression").exit_code == 0
    out = tmp_path / "d.md"
    assert run("diff", str(a), str(b), "-f", "md", "-o", str(out)).exit_code == 0 and out.exists()


def test_diff_rejects_bad_inputs(tmp_path: Path, old: Report) -> None:
    a = tmp_path / "a.json"
    a.write_text(old.to_json())
    data = json.loads(old.to_json())
    data["schema_version"] = "9.1"
    b = tmp_path / "b.json"
    b.write_text(json.dumps(data))
    r = run("diff", str(a), str(b))
    assert r.exit_code == 2 and str(b) in r.output and "schema_version 9.1" in r.output
    assert run("diff", str(a), str(a), "--format", "html").exit_code == 2
    out = tmp_path / "never.md"
    assert run("diff", str(a), str(tmp_path / "missing.json"), "-o", str(out)).exit_code == 2
    assert not out.exists()
