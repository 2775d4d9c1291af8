"""Golden files for every human format, compared byte for byte.

Regenerate with `OPENAUDIT_UPDATE_GOLDEN=1 pytest tests/test_render_golden.py` and review the diff.
The `sample-*` goldens come from a synthetic report (frameworks, flags, lineage, incomplete and
skipped subjects); the `flagships*` goldens from the fixture store (tests/store) at a fixed time.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_render_fixtures import sample_report

from openaudit.render import badge, html, markdown, mof_yaml, site, terminal
from openaudit.report import SCHEMA_PATH, Report

GOLDEN = Path(__file__).parent / "golden"
STORE = Path(__file__).parent / "store"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
UPDATE = os.environ.get("OPENAUDIT_UPDATE_GOLDEN") == "1"


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {name}: run with OPENAUDIT_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its golden; rerun with OPENAUDIT_UPDATE_GOLDEN=1 and review"


def outputs(report: Report, prefix: str) -> dict[str, str]:
    one = report.model_copy(update={"subjects": report.subjects[:1]})
    return {
        f"{prefix}-single.html": html.render(one),
        f"{prefix}-comparison.html": html.render(report),
        f"{prefix}-site-index.html": site.render_index(report),
        f"{prefix}.md": markdown.render(report),
        f"{prefix}-badge.svg": badge.render(one),
        f"{prefix}.terminal.txt": terminal.render(report, width=120),
        f"{prefix}.mof.yaml": mof_yaml.render(report),
    }


@pytest.fixture(scope="module")
def flagships() -> Report:
    if not (STORE / "models").is_dir():
        pytest.skip("the fixture store tests/store has not been generated")
    from openaudit import api
    from openaudit.cli import FLAGSHIPS

    return api.audit_models(list(FLAGSHIPS), snapshots=STORE, now=NOW)


@pytest.mark.parametrize("name", list(outputs(sample_report(), "sample")))
def test_sample_golden(name: str) -> None:
    check(name, outputs(sample_report(), "sample")[name])


@pytest.mark.parametrize("name", list(outputs(sample_report(), "flagships")))
def test_flagships_golden(flagships: Report, name: str) -> None:
    check(name, outputs(flagships, "flagships")[name])


def test_flagships_json_golden_and_schema(flagships: Report) -> None:
    import jsonschema

    text = flagships.to_json()
    jsonschema.validate(json.loads(text), json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    check("flagships.json", text)
    # The saved JSON re-renders to the same pages: `openaudit report` needs no network.
    again = Report.model_validate_json(text)
    assert html.render(again) == html.render(flagships)
