"""An organisation's report is summed up under its table ("In numbers"), in the terminal, Markdown
and HTML: how many models got each verdict and each framework result, counted from the same
verdicts the table shows. A comparison of a few models has no such block (its table says it)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from openaudit import api
from openaudit.render import html, markdown, site, terminal
from openaudit.render.tally import TALLY_FROM
from openaudit.report import Report

STORE = Path(__file__).parents[2] / "store"


@pytest.fixture(scope="module")
def many() -> Report:
    ids = sorted(f"{o.name}/{m.name}" for o in (STORE / "models").iterdir() for m in o.iterdir()
                 if (m / "info.json").is_file())
    assert len(ids) >= TALLY_FROM
    return api.audit_models(ids, snapshots=STORE, processes=0)


def _block(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(" In numbers: "))
    return lines[start:start + 12]


def test_the_terminal_sums_up_each_verdict_and_framework_as_the_table_counts_them(many: Report) -> None:
    subjects = list(many.subjects)
    out = terminal.render(many, width=160, details=False)
    block = _block(out)
    status = Counter(s.status for s in subjects)
    assert block[0].startswith(f" In numbers: {len(subjects)} models ({status['audited']} audited")
    # An incomplete model's name carries "(incomplete)": one more word before the verdict columns.
    table = [line.replace(" (incomplete)", "") for line in out.splitlines() if re.match(r" \S+/\S+ ", line)]
    assert len(table) == len(subjects)
    for col, (label, dim) in enumerate((("weights", "weights"), ("code", "code"), ("data", "data"),
                                        ("licence", "license"), ("docs", "documentation")), start=1):
        row = next(line for line in block if line.split()[0] == label)
        told = dict((k, int(n)) for k, n in re.findall(r"(open|partial|closed|unknown|not-applicable) (\d+)", row))
        counted = Counter(s.dimensions[dim].verdict for s in subjects if dim in s.dimensions)
        assert told == dict(counted), label
        # ...and as the table's column shows them
        assert told == dict(Counter(line.split()[col] for line in table if line.split()[col] != "—"))
    osaid = next(line for line in block if line.split()[0] == "OSAID")
    meets = sum(1 for s in subjects if "osaid" in s.frameworks and s.frameworks["osaid"].verdict == "likely-meets")
    assert (f"meets {meets}" in osaid) == (meets > 0)
    mof = next(line for line in block if line.split()[0] == "MOF")
    nones = sum(1 for s in subjects if "mof" in s.frameworks and s.frameworks["mof"].mof_class == "none")
    assert f"none {nones}" in mof
    flagged = sum(1 for s in subjects if s.flags)
    assert any(line.strip().startswith(f"flags      {flagged} of {len(subjects)} models:") for line in block)


def test_markdown_and_html_say_the_same_numbers(many: Report) -> None:
    subjects = list(many.subjects)
    weights = Counter(s.dimensions["weights"].verdict for s in subjects if "weights" in s.dimensions)
    md = markdown.render(many)
    line = next(x for x in md.splitlines() if x.startswith("- **Weights:**"))
    assert f"open {weights['open']}" in line
    assert f"**In numbers:** {len(subjects)} models (" in md
    assert md.index("**In numbers:**") < md.index(f"### {markdown.esc(subjects[0].repo_id)}")
    for page in (html.render_comparison(many), site.render_index(many)):
        assert "<h2 id=\"tally-h\">In numbers</h2>" in page
        assert f"<span class=\"pill v-open\">open</span> {weights['open']}" in page


def test_a_comparison_of_a_few_models_is_not_summed_up(many: Report) -> None:
    few = Report.model_construct(**{**dict(many), "subjects": list(many.subjects)[:TALLY_FROM - 1]})
    assert "In numbers" not in terminal.render(few, width=160)
    assert "In numbers" not in markdown.render(few)
    assert "In numbers" not in html.render_comparison(few) and "In numbers" not in site.render_index(few)
