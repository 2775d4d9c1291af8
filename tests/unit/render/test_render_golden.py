"""Golden files for every human format, compared byte for byte.

Regenerate with `OPENAUDIT_UPDATE_GOLDEN=1 pytest tests/unit/render/test_render_golden.py` and review the diff.
The `sample-*` goldens come from a synthetic report (frameworks, flags, lineage, incomplete and
skipped subjects); the `flagships*` goldens from the published flagship audit (`publish.build()`,
the report behind reports/). Its comparison page, Markdown and JSON are reports/ itself, checked
against that report here and kept current by test_render_cli.test_reports_are_current.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_render_fixtures import sample_report

from openaudit.render import badge, html, markdown, mof_yaml, site, terminal
from openaudit.report import SCHEMA_PATH, Report

GOLDEN = Path(__file__).parents[2] / "golden"
REPORTS = Path(__file__).parents[3] / "reports"
STORE = Path(__file__).parents[2] / "store"
UPDATE = os.environ.get("OPENAUDIT_UPDATE_GOLDEN") == "1"


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {name}: run with OPENAUDIT_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its golden; rerun with OPENAUDIT_UPDATE_GOLDEN=1 and review"


def outputs(report: Report, prefix: str, published: bool = False) -> dict[str, str]:
    """Every human format; `published` leaves out those reports/ already holds for this report."""
    one = report.model_copy(update={"subjects": report.subjects[:1]})
    out = {
        f"{prefix}-single.html": html.render(one),
        f"{prefix}-comparison.html": html.render(report),
        f"{prefix}-site-index.html": site.render_index(report),
        f"{prefix}.md": markdown.render(report),
        f"{prefix}-badge.svg": badge.render(one),
        f"{prefix}.terminal.txt": terminal.render(report, width=120),
        f"{prefix}.mof.yaml": mof_yaml.render(report),
    }
    if published:
        for name in (f"{prefix}-comparison.html", f"{prefix}.md"):
            del out[name]
    return out


@pytest.fixture(scope="module")
def flagships() -> Report:
    if not (STORE / "models").is_dir():
        pytest.skip("the fixture store tests/store has not been generated")
    from openaudit import publish

    return publish.build()


@pytest.mark.parametrize("name", list(outputs(sample_report(), "sample")))
def test_sample_golden(name: str) -> None:
    check(name, outputs(sample_report(), "sample")[name])


@pytest.mark.parametrize("name", list(outputs(sample_report(), "flagships", published=True)))
def test_flagships_golden(flagships: Report, name: str) -> None:
    check(name, outputs(flagships, "flagships", published=True)[name])


def _org_report() -> Report:
    """An organisation's worth of the sample's subjects (3 x 4, renamed): enough to be summed up."""
    base = sample_report()
    subjects = [s.model_copy(update={"repo_id": f"org-{k}/{s.repo_id.split('/')[1]}"})
                for k in range(3) for s in base.subjects]
    return base.model_copy(update={"subjects": subjects})


def _section(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i:text.index(end, i) + len(end)] + "\n"


def test_org_in_numbers_golden() -> None:
    """The "In numbers" block of an organisation's report, in every format that has it."""
    report = _org_report()
    check("sample-org.terminal.txt", terminal.render(report, width=120, details=False))
    check("sample-org-in-numbers.md", _section(markdown.render(report), "**In numbers:**", "\n\n### "))
    block = _section(html.render(report), '<section class="tally"', "</section>")
    check("sample-org-in-numbers.html", block)
    assert _section(site.render_index(report), '<section class="tally"', "</section>") == block  # one macro


def test_published_flagship_pages_are_this_report(flagships: Report) -> None:
    assert (REPORTS / "comparison.html").read_text(encoding="utf-8") == html.render(flagships)
    assert (REPORTS / "flagships.md").read_text(encoding="utf-8") == markdown.render(flagships)


def test_flagships_json_golden_and_schema(flagships: Report) -> None:
    import jsonschema

    text = flagships.to_json()
    jsonschema.validate(json.loads(text), json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert (REPORTS / "flagships.json").read_text(encoding="utf-8") == text
    # The saved JSON re-renders to the same pages: `openaudit report` needs no network.
    again = Report.model_validate_json(text)
    assert html.render(again) == html.render(flagships)


def test_published_index_links_only_hub_commits() -> None:
    # A folder audited from a huggingface_hub cache has a commit, but local/<name> is no Hub repo.
    from openaudit import publish
    from openaudit.report import Subject

    report = sample_report().model_copy(update={"subjects": [
        Subject(repo_id="local/acme--tiny", source="localdir", status="audited", revision="ab" * 20),
        Subject(repo_id="acme/tiny", source="hub", status="audited", revision="cd" * 20)]})
    index = publish.files(report)["README.md"]
    assert "| local/acme--tiny | `abababababab` |" in index
    assert f"[`cdcdcdcdcdcd`](https://huggingface.co/acme/tiny/tree/{'cd' * 20})" in index
    assert "huggingface.co/local" not in index
