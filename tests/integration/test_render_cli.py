"""The report formats through the CLI: several --format/--output in one run, site and badge
directories, re-rendering saved JSON offline, the checked-in reports/ being current, static safety."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest
from test_render_fixtures import hostile_report, sample_report
from typer.testing import CliRunner

from openaudit.cli import app
from openaudit.render import html, markdown, site
from openaudit.render.html import SORT_SCRIPT, safe_url, script_hash

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "reports"


@pytest.fixture()
def saved(tmp_path: Path) -> Path:
    p = tmp_path / "audit.json"
    p.write_text(sample_report().to_json(), encoding="utf-8")
    return p


def test_several_formats_and_outputs_in_one_run(saved: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["report", str(saved), "-f", "html", "-o", str(tmp_path / "c.html"),
                                 "-f", "md", "-o", str(tmp_path / "r.md"), "-f", "site", "-o", str(tmp_path / "site"),
                                 "-f", "badge", "-o", str(tmp_path / "badges"), "-f", "json",
                                 "-o", str(tmp_path / "r.json"), "-f", "terminal"])
    assert r.exit_code == 0, r.output
    assert "what was actually published" in r.stdout  # the terminal view went to stdout
    assert (tmp_path / "c.html").read_text().startswith("<!DOCTYPE html>")
    assert "| model | score |" in (tmp_path / "r.md").read_text()
    assert (tmp_path / "site" / "index.html").is_file()
    pages = sorted(p.name for p in (tmp_path / "site" / "models").iterdir())
    assert pages == ["ghost__missing-model.html", "meta-llama__Llama-3.1-8B.html",
                     "mistralai__Mistral-7B-v0.1.html", "someone__llama-finetune.html"]
    badges = sorted(p.name for p in (tmp_path / "badges").iterdir())
    assert badges == [".openaudit-site", *(p.replace(".html", ".svg") for p in pages)]  # marked as ours
    assert (tmp_path / "r.json").read_text() == sample_report().to_json()


def test_site_needs_a_directory_and_replaces_it_whole(saved: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["report", str(saved), "-f", "site"])
    assert r.exit_code == 2 and "--output DIR" in r.output
    out = tmp_path / "site"
    r = CliRunner().invoke(app, ["report", str(saved), "-f", "site", "-o", str(out)])
    assert r.exit_code == 0, r.output
    (out / "models" / "stale.html").write_text("old")  # a page of a model no longer audited
    r = CliRunner().invoke(app, ["report", str(saved), "-f", "site", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert not (out / "models" / "stale.html").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site")]  # no temp dirs left


def test_badge_several_models_need_a_folder_one_model_a_file(saved: Path, tmp_path: Path) -> None:
    # Four SVG documents in one stream are no badge: the CLI asks for a folder instead.
    r = CliRunner().invoke(app, ["report", str(saved), "-f", "badge"])
    assert r.exit_code == 2 and "--output DIR" in r.output and "<svg" not in r.stdout
    r = CliRunner().invoke(app, ["report", str(saved), "-f", "badge", "-o", str(tmp_path / "badges")])
    assert r.exit_code == 0 and len(list((tmp_path / "badges").glob("*.svg"))) == 4
    assert ">38 · MOF none<" in (tmp_path / "badges" / "meta-llama__Llama-3.1-8B.svg").read_text()
    r = CliRunner().invoke(app, ["report", str(saved), "-f", "badge", "-o", str(tmp_path / "one.svg")])
    assert r.exit_code == 2  # several models, one file
    one = tmp_path / "one.json"
    one.write_text(sample_report().model_copy(update={"subjects": sample_report().subjects[1:2]}).to_json())
    r = CliRunner().invoke(app, ["report", str(one), "-f", "badge", "-o", str(tmp_path / "one.svg")])
    assert r.exit_code == 0 and "55 · MOF Class III" in (tmp_path / "one.svg").read_text()


def test_pages_are_self_contained_with_a_strict_csp() -> None:
    rep = sample_report()
    for raw in (html.render(rep), html.render_single(rep), site.render_index(rep)):
        page = unescape(raw)
        assert "Content-Security-Policy" in page and "default-src 'none'" in page
        assert not re.search(r"""(?:src|href)="(?!#|models/|\.\./|methodology\.html|https://huggingface\.co/)""",
                             page)
        assert "<link" not in page and "@import" not in page and "url(http" not in page
    index = unescape(site.render_index(rep))
    assert index.count("<script") == 1 and f"script-src '{script_hash(SORT_SCRIPT)}'" in index
    assert "<script" not in html.render(rep)


def test_hostile_card_is_escaped_everywhere() -> None:
    rep = hostile_report()
    page = html.render(rep)
    assert "<script>" not in page and "<img" not in page and "<!-- hidden" not in page
    assert "javascript:" not in re.findall(r'href="([^"]*)"', page).__str__()
    assert "data:text" not in " ".join(re.findall(r'href="([^"]*)"', page))
    md = markdown.render(rep)
    assert "<script" not in md and "<img" not in md and "](javascript" not in md and "@octocat" not in md
    for bad in ("javascript:alert(1)", "data:text/html,x", "JaVaScRiPt:x", "https://x/\"onmouseover=", "//x.y/z",
                "vbscript:x", "https:/nohost"):
        assert safe_url(bad) is None
    assert safe_url("https://huggingface.co/a/b/blob/abc/README.md#L3")


def test_reports_are_current() -> None:
    """reports/ is what `python -m openaudit.publish reports/` writes today."""
    from openaudit import publish
    from openaudit.demo import bundled_store

    if not (bundled_store() / "models").is_dir():
        pytest.skip("the fixture store tests/store has not been generated")
    expected = publish.files(publish.build())
    stale = [name for name, text in expected.items()
             if not (REPORTS / name).is_file() or (REPORTS / name).read_text(encoding="utf-8") != text]
    extra = [str(p.relative_to(REPORTS)) for p in REPORTS.rglob("*") if p.is_file()
             and str(p.relative_to(REPORTS)) not in expected]
    assert not stale and not extra, (f"reports/ is stale ({stale or extra}): "
                                     "run `python -m openaudit.publish reports/`")
