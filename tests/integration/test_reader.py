"""Reports a reader understands: prose without internal identifiers, framework cards that lead with
the reason, "How this is scored" generated from the profiles, and sizes that fit where they go
(Markdown under GitHub's comment limit, JUnit that is green when the job passes, no markup or
several badges dumped on a terminal)."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html import unescape
from pathlib import Path

import pytest
from test_render_fixtures import sample_report
from typer.testing import CliRunner

from openaudit.cli import app
from openaudit.criteria import load_profile
from openaudit.render import badge, html, junit, markdown, site, terminal
from openaudit.render.html import FILL, subject_views
from openaudit.render.prose import humanize, join_list, license_name, short_license_name
from openaudit.report import Report

ROOT = Path(__file__).resolve().parents[2]
FLAGSHIPS = ROOT / "reports" / "flagships.json"
EVIDENCE_ID = re.compile(r"\b[a-z]+(?:\.[a-z-]+)+#\d+\b")


@pytest.fixture(scope="module")
def flagships() -> Report:
    return Report.model_validate_json(FLAGSHIPS.read_text(encoding="utf-8"))


def _visible_text(page: str) -> str:
    """A page's text as a reader sees it: no tags, no attribute values (ids and anchors live there)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", page))


# ------------------------------------------------------------------------------------------ item 3


def test_prose_helpers_name_licences_and_join_lists_once() -> None:
    assert license_name("llama-3.1-license-2024") == "Llama 3.1 Community License Agreement"
    assert short_license_name("llama-3.1-license-2024") == "Llama 3.1 Community"
    assert short_license_name("Apache-2.0", "Apache License 2.0") == "Apache-2.0"
    assert join_list(["a.", "b", "c."], end=".") == "a; b; c."
    said = humanize("llama-3.1-license-2024: acceptable-use policy.; llama-3.1-license-2024: user cap.")
    assert said == "Llama 3.1 Community License Agreement: acceptable-use policy; user cap."
    assert humanize("No training code is published:") == "No training code is published."
    # A repo id or a URL that merely contains a key is left alone.
    assert humanize("see meta/llama-3.1-license-2024x") == "see meta/llama-3.1-license-2024x"


def test_no_internal_identifiers_in_human_formats(flagships: Report) -> None:
    keys = {s.license.key for s in flagships.subjects if s.license and s.license.key and "-license-" in s.license.key}
    assert keys, "the flagships include a licence known by a key (Llama's)"
    restriction_ids = {r for s in flagships.subjects if s.license for r in s.license.restrictions}
    views = {
        "html": _visible_text(html.render(flagships)),
        "site": _visible_text(site.render_index(flagships)),
        "single": _visible_text(html.render_single(flagships, 0)),
        "md": markdown.render(flagships),
        "terminal": terminal.render(flagships),
    }
    for name, text in views.items():
        assert not EVIDENCE_ID.search(text), (name, EVIDENCE_ID.search(text))
        for key in keys:
            assert key not in text, (name, key)
        assert ".;" not in text, name
    for name in ("html", "single", "md"):  # the pages that list the restrictions name them in words
        for rid in restriction_ids - {"non-commercial"}:
            assert f" {rid}" not in views[name].replace("acceptable-use policy", ""), (name, rid)
    # The ids stay where machines and links need them: anchors, and the JSON.
    assert 'id="m1-meta-llama-Llama-3-1-8B-ev-license-restriction-1"' in html.render(flagships)
    assert "license.restriction#1" in flagships.to_json()


# ------------------------------------------------------------------------------------------ item 2


def test_mof_card_without_a_class_leads_with_the_class_iii_blockers(flagships: Report) -> None:
    for v in subject_views(flagships, prefixed=False):
        fr = v.subject.frameworks["mof"]
        card = v.fw_by_id["mof"]
        if fr.mof_class in (None, "none"):
            assert card.lead.startswith("No MOF class: Class III is blocked by")
            for item in fr.missing["III"]:
                assert item.rpartition(" (")[0] in card.lead  # every blocker is named in the first line
        else:
            assert card.lead.startswith(f"Class {fr.mof_class} reached")


def test_class_i_card_says_why_a_closed_component_does_not_count(flagships: Report) -> None:
    olmo = next(v for v in subject_views(flagships, prefixed=False) if v.subject.frameworks["mof"].mof_class == "I")
    fr = olmo.subject.frameworks["mof"]
    closed = [cid for cid, o in fr.components.items() if o != "open"]
    assert closed, "OLMo's Class I leaves an optional or substituted component unpublished"
    titles = {c.id: c.title for c in load_profile("mof").criteria}
    card = olmo.fw_by_id["mof"]
    for cid in closed:
        line = next(p for p in card.points if p.startswith(titles[cid] + " ("))
        assert "does not count" in line or "stands in for it" in line


def test_osai_index_card_shows_what_drove_the_percentage(flagships: Report) -> None:
    titles = {c.id: c.title for c in load_profile("osai-index").criteria}
    for v in subject_views(flagships, prefixed=False):
        fr = v.subject.frameworks["osai-index"]
        card = v.fw_by_id["osai-index"]
        assert card.lead.startswith(f"{fr.score:.0f}%: the mean of")
        text = " ".join(card.points)
        for cid in fr.components:  # every parameter, open ones too, under its outcome
            assert titles[cid] in text
        if any(o == "closed" for o in fr.components.values()):
            assert any(p.startswith("Closed (") for p in card.points)


def test_osaid_card_names_the_failing_components(flagships: Report) -> None:
    titles = {c.id: c.title for c in load_profile("osaid").criteria}
    for v in subject_views(flagships, prefixed=False):
        fr = v.subject.frameworks["osaid"]
        failing = [titles[c] for c, o in fr.components.items() if o in ("closed", "partial")]
        lead = v.fw_by_id["osaid"].lead
        if fr.verdict == "likely-fails":
            assert lead.startswith("Likely fails. Not met:") and all(t in lead for t in failing)
        else:
            assert not failing and "meets" in lead.lower()


def test_cards_lead_in_the_page_before_the_details(flagships: Report) -> None:
    page = html.render_single(flagships, 0)
    card = page[page.index('id="fw-mof"'):]
    assert card.index('class="lead"') < card.index("<ul")


# ------------------------------------------------------------------------------------------ item 4


def test_how_this_is_scored_comes_from_the_profiles(flagships: Report, tmp_path: Path) -> None:
    prof = load_profile("openaudit")
    for page in (html.render(flagships), html.render_single(flagships, 0)):
        assert 'href="#how-scored"' in page and 'id="how-scored"' in page
        section = _visible_text(page[page.index('id="how-scored"'):])
        for c in prof.criteria:  # every criterion and its weight, as the profile says
            assert f"({c.id}, {round(c.weight, 2)})" in section
        assert "What is not checked" in section and "What each verdict means" in section
    md = markdown.render(flagships)
    assert "<summary>How this is scored</summary>" in md and "OA-WGT-001" in md
    r = CliRunner().invoke(app, ["report", str(FLAGSHIPS), "-f", "site", "-o", str(tmp_path / "site")])
    assert r.exit_code == 0, r.output
    method = (tmp_path / "site" / "methodology.html").read_text()
    for fid in ("mof", "osaid", "osai-index", "eu-ai-act"):
        p = load_profile(fid)
        assert f"(profile {fid} v{p.version})" in method
    assert "Class III - Open Model: needs" in unescape(method)
    model_page = next((tmp_path / "site" / "models").glob("*.html")).read_text()
    assert 'href="../methodology.html"' in model_page
    assert 'href="methodology.html"' in (tmp_path / "site" / "index.html").read_text()


# ------------------------------------------------------------------------------------------ item 5


def test_strip_and_badge_use_the_verdict_colours(flagships: Report) -> None:
    page = html.render_single(flagships, 0)
    strip = page[page.index('<div class="strip">'):]
    strip = strip[: strip.index("</div>")]
    v = subject_views(flagships, prefixed=False)[0]
    label = ", ".join(f"{d.label} {html.VERDICT_LABEL[d.verdict]}" for d in v.dims)
    assert f'aria-label="{label}"' in strip  # the same words for a screen reader as beside it
    for d in v.dims:
        assert f'fill="{FILL[d.verdict]}"' in strip
    for s in flagships.subjects:
        svg = badge.badge_svg(s)
        assert f'fill="{badge.color(s.score)}"' in svg and badge.color(s.score) in FILL.values()


# ------------------------------------------------------------------------------------------ item 6


def _many(n: int) -> Report:
    rep = sample_report()
    base = [s for s in rep.subjects if s.status == "audited"]
    subjects = [base[i % len(base)].model_copy(update={"repo_id": f"org{i:03d}/model-{i:03d}"}) for i in range(n)]
    return rep.model_copy(update={"subjects": subjects})


def test_markdown_for_many_models_folds_and_fits_a_github_comment() -> None:
    few = markdown.render(_many(3))
    assert few.count("<details><summary><b>org") == 3 and "models left out" not in few
    many = _many(120)
    md = markdown.render(many)
    assert len(md) < markdown.LIMIT
    m = re.search(r"Details of (\d+) of 120 models left out to stay under GitHub's 65,536-character limit", md)
    assert m, md[-800:]
    shown = md.count("<details><summary><b>org")
    assert shown + int(m.group(1)) == 120 and shown > 5
    assert md.count("| **org") == 120  # the table still has every model
    huge = markdown.render(_many(1500))
    assert len(huge) < markdown.LIMIT and "The table shows the first" in huge


def test_junit_without_a_policy_is_green_when_the_job_passes(flagships: Report) -> None:
    root = ET.fromstring(junit.render(flagships))
    assert int(root.get("tests", "0")) > 50 and root.get("failures") == "0" and root.get("errors") == "0"
    outs = [c.findtext("system-out") or "" for c in root.iter("testcase")]
    assert any(o.startswith("closed: ") for o in outs) and any(o.startswith("fired (") for o in outs)
    r = CliRunner().invoke(app, ["report", str(FLAGSHIPS), "-f", "junit"])
    assert r.exit_code == 0  # the job passes, and the report says so


def test_badges_for_several_models_need_a_folder(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["report", str(FLAGSHIPS), "-f", "badge"])
    assert r.exit_code == 2 and "--output DIR" in r.output and "<svg" not in r.stdout


def _on_a_terminal(*args: str) -> tuple[int, str]:
    """Run the CLI with stdout on a pseudo-terminal; (exit code, what the terminal showed)."""
    main, other = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "openaudit", *args], stdout=other, stderr=other,
                            stdin=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    os.close(other)
    chunks = []
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_html_on_a_terminal_asks_for_a_file(tmp_path: Path) -> None:
    code, shown = _on_a_terminal("report", str(FLAGSHIPS), "-f", "html")
    assert code == 2 and "--output FILE.html" in shown and "<!DOCTYPE" not in shown
    code, shown = _on_a_terminal("report", str(FLAGSHIPS), "-f", "html", "-o", str(tmp_path / "r.html"))
    assert code == 0 and (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    # Piped (not a terminal), the page still goes to stdout, as a pipeline expects.
    piped = subprocess.run([sys.executable, "-m", "openaudit", "report", str(FLAGSHIPS), "-f", "html"],
                           capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0 and piped.stdout.startswith("<!DOCTYPE html>")


def test_leaderboard_escapes_hostile_report_values() -> None:
    """A saved report re-rendered by `openaudit report` is as hostile as a card: dimension names,
    licence categories and flag ids from it never become markup or attribute names."""
    from test_render_fixtures import hostile_report

    rep = hostile_report()
    evil = '" onmouseover="alert(1)" x="'
    s = rep.subjects[0]
    dims = {**s.dimensions, 'x onmouseover=alert(1) y': next(iter(s.dimensions.values()))}
    lic = s.license.model_copy(update={"category": evil, "name": "<b>lic</b>"}) if s.license else None
    bad = s.model_copy(update={"dimensions": dims, "license": lic})
    page = site.render_index(rep.model_copy(update={"subjects": [bad]}))
    assert "onmouseover=alert(1)" not in page and 'onmouseover="alert(1)"' not in page
    assert "<b>lic</b>" not in page and "&lt;b&gt;lic&lt;/b&gt;" in page
    assert "<script>window.__pwned" not in page


def test_eu_card_names_what_decided_and_what_did_not(flagships: Report) -> None:
    titles = {c.id: c.title for c in load_profile("eu-ai-act").criteria}
    for v in subject_views(flagships, prefixed=False):
        fr = v.subject.frameworks["eu-ai-act"]
        card = v.fw_by_id["eu-ai-act"]
        not_open = [titles[c] for c, o in fr.components.items() if o in ("closed", "partial")]
        if fr.verdict == "likely-not-exempt":
            assert card.lead.startswith("Likely not exempt. Not met:")
        aside = next((p for p in card.points if p.startswith("Partly met or undecided, without changing")), "")
        for t in not_open:  # every condition not fully met is either what decided, or said not to
            assert (t in card.lead) != (t in aside), (t, card.lead, aside)
    llama = next(v for v in subject_views(flagships, prefixed=False) if "Llama" in v.repo_id)
    lead = llama.fw_by_id["eu-ai-act"].lead
    assert titles["EU-LIC"] in lead and titles["EU-SUM"] not in lead  # the summary duty applies regardless


def test_a_licence_key_that_is_a_word_is_not_replaced_in_prose(flagships: Report) -> None:
    s = flagships.subjects[0]
    assert s.license is not None
    dims = {k: d.model_copy(update={"rationale": "Weights and other files are published."})
            for k, d in s.dimensions.items()}
    for key, shown in (("other", "Weights and other files are published."),
                       ("other-nonsense-key", "Weights and other files are published.")):
        lic = s.license.model_copy(update={"key": key, "name": "Custom terms"})
        v = html.subject_view(s.model_copy(update={"license": lic, "dimensions": dims}))
        assert v.dims[0].rationale == shown
    keyed = {k: d.model_copy(update={"rationale": "Terms: other-nonsense-key."}) for k, d in s.dimensions.items()}
    lic = s.license.model_copy(update={"key": "other-nonsense-key", "name": "Custom terms"})
    v = html.subject_view(s.model_copy(update={"license": lic, "dimensions": keyed}))
    assert v.dims[0].rationale == "Terms: Custom terms."  # the report's own key reads as its name
