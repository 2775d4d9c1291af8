"""The reports in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

Checks that verdicts and flags are visible, that a verdict cell leads to its evidence, that the
leaderboard sorts, and that a hostile card renders inert. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_render_fixtures import hostile_report, sample_report

from openaudit.render import html
from openaudit.render.site import write_site

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed at /usr/bin/chromium (apt-get install chromium)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=True)
    # No network at all: anything other than file:// is a bug in the page.
    requests: list[str] = []
    ctx.route("**/*", lambda route: (requests.append(route.request.url), route.continue_()
                                     if route.request.url.startswith("file://") else route.abort()))
    pg = ctx.new_page()
    pg.requests = requests
    yield pg
    assert all(u.startswith("file://") for u in requests), requests
    ctx.close()


def shot(pg: Any, name: str, full: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / name), full_page=full)


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("pages")
    rep = sample_report()
    (d / "comparison.html").write_text(html.render(rep), encoding="utf-8")
    one = rep.model_copy(update={"subjects": rep.subjects[2:3]})
    (d / "single.html").write_text(html.render(one), encoding="utf-8")
    (d / "hostile.html").write_text(html.render(hostile_report()), encoding="utf-8")
    write_site(rep, d / "site")
    reports = Path(__file__).resolve().parents[2] / "reports" / "comparison.html"
    if reports.is_file():
        shutil.copy(reports, d / "flagships.html")
    return {p.stem: p for p in d.glob("*.html")} | {"site": d / "site" / "index.html"}


def test_single_page_shows_verdicts_flags_and_lineage(page: Any, pages: dict[str, Path]) -> None:
    page.goto(pages["single"].as_uri())
    assert page.locator("h1").inner_text() == "someone/llama-finetune"
    flag = page.locator(".flag").first
    assert flag.is_visible() and "bound by the Llama 3.1 licence" in flag.inner_text()
    assert page.locator(".scorecard .card").count() == 5
    assert page.locator(".lineage svg rect").count() == 3
    assert page.get_by_text("What was not published").is_visible()
    assert page.locator(".banner").inner_text().startswith("Incomplete")
    shot(page, "single.png", full=True)


def test_comparison_cell_reaches_its_evidence(page: Any, pages: dict[str, Path]) -> None:
    page.goto(pages["comparison"].as_uri())
    table = page.locator("table.compare")
    assert table.is_visible()
    assert "Download requires accepting a gate" in table.inner_text()
    assert "Llama 3.1 Community License" in table.inner_text()
    shot(page, "comparison.png")
    # The Mistral training-data cell: one click to the evidence section of that model.
    cell = page.locator('table.compare a.cell[href="#m2-mistralai-Mistral-7B-v0-1-dim-data"]')
    cell.click()
    assert page.evaluate("location.hash") == "#m2-mistralai-Mistral-7B-v0-1-dim-data"
    target = page.locator("#m2-mistralai-Mistral-7B-v0-1-dim-data")
    assert target.is_visible() and "Training data" in target.inner_text()
    assert target.evaluate("e => { const r = e.getBoundingClientRect(); return r.top >= -1 && r.top < innerHeight }")
    # The Llama licence cell leads to evidence that links the exact file at the pinned commit.
    page.locator('table.compare a.cell[href="#m1-meta-llama-Llama-3-1-8B-dim-license"]').first.click()
    link = page.locator("#m1-meta-llama-Llama-3-1-8B-dim-license .ev a.ext").first
    assert "/blob/0123456789abcdef0123456789abcdef01234567/README.md" in link.get_attribute("href")
    shot(page, "comparison-evidence.png")


def test_leaderboard_sorts(page: Any, pages: dict[str, Path]) -> None:
    page.goto(pages["site"].as_uri())

    def models() -> list[str]:
        return [t.strip() for t in page.locator("#leaderboard tbody tr td:first-child a").all_inner_texts()]

    assert models()[:3] == ["mistralai/Mistral-7B-v0.1", "meta-llama/Llama-3.1-8B", "someone/llama-finetune"]
    page.locator("#leaderboard thead th button", has_text="Model").click()
    assert models() == sorted(models(), key=str.lower)
    page.locator("#leaderboard thead th button", has_text="Score").click()
    assert models()[0] == "ghost/missing-model"  # ascending: the unscored model first
    page.locator("#leaderboard thead th button", has_text="Score").click()
    assert models()[0] == "mistralai/Mistral-7B-v0.1"
    shot(page, "site-index.png")
    page.locator("#leaderboard a", has_text="meta-llama/Llama-3.1-8B").click()
    assert page.locator("h1").inner_text() == "meta-llama/Llama-3.1-8B"
    assert page.get_by_text("Licence restricts use", exact=True).is_visible()
    shot(page, "site-model.png")


def test_hostile_card_renders_inert(page: Any, pages: dict[str, Path]) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(pages["hostile"].as_uri())
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    assert page.locator("script").count() == 0 and page.locator("main img").count() == 0
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs and all(h.startswith(("#", "https://")) for h in hrefs), hrefs
    assert "<script>window.__pwned=1" in page.locator("main").inner_text()  # shown as text, not run
    # Clicking the javascript: "link" text does nothing: it is not a link.
    page.get_by_text("javascript:window.__pwned=4").first.click()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    shot(page, "hostile.png", full=True)


def test_flagship_comparison(page: Any, pages: dict[str, Path]) -> None:
    if "flagships" not in pages:
        pytest.skip("reports/comparison.html not generated")
    page.goto(pages["flagships"].as_uri())
    text = page.locator("table.compare").inner_text()
    for needle in ("deepseek-ai/DeepSeek-R1", "meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1",
                   "Apache License 2.0", "gated", "Training data"):
        assert needle in text
    shot(page, "flagships-comparison.png")
    shot(page, "flagships-comparison-full.png", full=True)


# ---------------------------------------------------------------- the leaderboard at desktop and phone widths

FLAGSHIPS_JSON = Path(__file__).resolve().parents[2] / "reports" / "flagships.json"
DESKTOP, PHONE = 1400, 390


@pytest.fixture(scope="module")
def flag_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The flagships' site, plus the synthetic models (an incomplete and a skipped one among them)."""
    from openaudit.report import Report

    if not FLAGSHIPS_JSON.is_file():
        pytest.skip("reports/flagships.json not generated")
    flag = Report.model_validate_json(FLAGSHIPS_JSON.read_text(encoding="utf-8"))
    extra = [s.model_copy(update={"repo_id": "sample/" + s.repo_id.replace("/", "-")})
             for s in sample_report().subjects]
    d = tmp_path_factory.mktemp("flagsite") / "site"
    write_site(flag.model_copy(update={"subjects": [*flag.subjects, *extra]}), d)
    return d


@pytest.fixture()
def at(browser: Any) -> Iterator[Any]:
    """at(width) -> a page of that viewport width; no network but file://."""
    made: list[Any] = []

    def make(width: int) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=True)
        requests: list[str] = []
        ctx.route("**/*", lambda route: (requests.append(route.request.url), route.continue_()
                                         if route.request.url.startswith("file://") else route.abort()))
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        made.append((ctx, requests, errors))
        return pg

    yield make
    for ctx, requests, errors in made:
        assert all(u.startswith("file://") for u in requests), requests
        assert errors == [], errors
        ctx.close()


def _box(loc: Any) -> dict[str, float]:
    box = loc.bounding_box()
    assert box is not None
    return dict(box)


def test_leaderboard_shows_every_column_at_1400(at: Any, flag_site: Path) -> None:
    page = at(DESKTOP)
    page.goto((flag_site / "index.html").as_uri())
    board = page.locator(".board")
    assert board.evaluate("b => b.scrollWidth <= b.clientWidth + 1"), "the table scrolls sideways at 1400 px"
    heads = [h.strip(" ↕↑↓") for h in page.locator("#leaderboard thead th").all_inner_texts()]
    assert heads == ["Model", "Score", "Weights", "Code", "Data", "Docs", "Licence", "MOF", "OSAID", "OSAI Index",
                     "EU AI Act", "Flags"]
    for th in page.locator("#leaderboard thead th").all():
        assert _box(th)["x"] + _box(th)["width"] <= DESKTOP
    rows = page.locator("#leaderboard tbody tr")
    assert rows.count() == 8
    assert max(_box(rows.nth(i))["height"] for i in range(rows.count())) < 80  # one compact row per model
    # Coloured cells with short labels: the licence column shows the short name and its category.
    llama = page.locator("#leaderboard tbody tr", has_text="meta-llama/Llama-3.1-8B").first
    lic = llama.locator("td.lic")
    assert "Llama 3.1 Community" in lic.inner_text() and "custom community" in lic.inner_text()
    colour = {v: page.locator(f"#leaderboard td.c-{v}").first.evaluate("e => getComputedStyle(e).backgroundColor")
              for v in ("open", "partial", "closed")}
    assert len(set(colour.values())) == 3, colour
    assert llama.locator("td.c-closed", has_text="closed").count() >= 1  # training data
    shot(page, "leaderboard-1400.png", full=True)


def test_leaderboard_model_column_stays_when_scrolled(at: Any, flag_site: Path) -> None:
    page = at(1000)  # narrower than the table: it scrolls, the model column stays
    page.goto((flag_site / "index.html").as_uri())
    board = page.locator(".board")
    assert board.evaluate("b => b.scrollWidth > b.clientWidth")
    first = page.locator("#leaderboard tbody tr td.model").first
    left = _box(first)["x"]
    board.evaluate("b => { b.scrollLeft = 400 }")
    assert abs(_box(first)["x"] - left) < 1 and first.is_visible()
    assert _box(page.locator("#leaderboard tbody tr td.num").first)["x"] < left  # the score scrolled under it
    shot(page, "leaderboard-1000-scrolled.png")


def test_leaderboard_reads_on_a_phone(at: Any, flag_site: Path) -> None:
    page = at(PHONE)
    page.goto((flag_site / "index.html").as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE  # nothing sideways
    rows = page.locator("#leaderboard tbody tr")
    for i in range(rows.count()):
        row = rows.nth(i)
        box = _box(row)
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE
        for cell in row.locator("td").all():
            cb = _box(cell)
            assert cb["x"] >= 0 and cb["x"] + cb["width"] <= PHONE + 0.5
    llama = page.locator("#leaderboard tbody tr", has_text="meta-llama/Llama-3.1-8B").first
    # The header row is not shown: each cell says what it is (its ::before label).
    labels = " ".join(llama.locator("td").evaluate_all(
        "cells => cells.map(c => getComputedStyle(c, '::before').content)"))
    for label in ("Weights", "Data", "Licence", "MOF", "OSAID", "EU AI Act", "score"):
        assert label in labels, labels
    size = llama.locator("td.c").first.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 12
    assert page.locator("#filters").is_visible()
    shot(page, "leaderboard-390.png", full=True)


def _until(page: Any, expression: str, seconds: float = 10.0) -> None:
    """Wait until `expression` is true in the page. Not page.wait_for_function: it evaluates its
    predicate with eval() inside the page, which the reports' Content-Security-Policy (rightly) blocks."""
    import time

    end = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < end, f"still false after {seconds} s: {expression}"
        page.wait_for_timeout(50)


def test_leaderboard_filters_without_a_server(at: Any, flag_site: Path) -> None:
    page = at(DESKTOP)
    page.goto((flag_site / "index.html").as_uri())
    rows = page.locator("#leaderboard tbody tr")
    total = rows.count()

    def shown() -> list[str]:
        return [t.strip() for t in page.locator("#leaderboard tbody tr:visible td.model a").all_inner_texts()]

    data_closed = page.locator('#leaderboard tbody tr[data-d-data="closed"]').count()
    page.select_option("#filters select[name=dim]", "data")
    page.select_option("#filters select[name=verdict]", "closed")
    assert len(shown()) == data_closed and 0 < data_closed < total
    assert page.locator("#shown").inner_text() == f"{data_closed} of {total} models shown"
    shot(page, "leaderboard-filtered.png")
    page.locator("#filters button[type=reset]").click()
    _until(page, f"document.querySelectorAll('#leaderboard tbody tr:not([hidden])').length === {total}")
    page.select_option("#filters select[name=licence]", "custom-community")
    assert shown() and all("llama" in m.lower() for m in shown())
    page.select_option("#filters select[name=licence]", "")
    page.select_option("#filters select[name=flag]", "base-undeclared")
    assert shown() == ["deepseek-ai/DeepSeek-R1"]
    page.select_option("#filters select[name=flag]", "")
    page.select_option("#filters select[name=sort]", "0:asc")
    assert shown() == sorted(shown(), key=str.lower) and len(shown()) == total


def test_spread_chart_and_model_strip(at: Any, flag_site: Path) -> None:
    page = at(DESKTOP)
    page.goto((flag_site / "index.html").as_uri())
    chart = page.locator("section.spread svg")
    assert chart.is_visible() and chart.get_attribute("role") == "img"
    assert chart.locator("rect").count() >= 6
    text = page.locator("section.spread .spreadtext").inner_text()
    for label in ("Weights:", "Training data:", "Licence category:", "permissive"):
        assert label in text  # the counts as text beside the picture
    assert _box(page.locator("section.spread .spreadtext"))["x"] > _box(chart)["x"]  # beside, at 1400
    shot(page, "spread-1400.png")
    page.locator("#leaderboard a", has_text="meta-llama/Llama-3.1-8B").first.click()
    strip = page.locator(".strip svg")
    assert strip.is_visible() and strip.locator("rect").count() == 5
    assert "Training data closed" in strip.get_attribute("aria-label")
    assert "Training data closed" in page.locator(".strip").inner_text()
    mof = page.locator(".fw", has_text="Model Openness Framework")
    lead = mof.locator("p.lead")
    assert lead.inner_text().startswith("No MOF class: Class III is blocked by")
    assert _box(lead)["y"] < _box(mof.locator("ul").first)["y"]  # the reason comes first
    assert page.locator("a", has_text="how it is scored").get_attribute("href") == "../methodology.html"
    shot(page, "model-1400.png", full=True)
    phone = at(PHONE)
    phone.goto(page.url)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE
    assert phone.locator(".strip svg").is_visible()
    shot(phone, "model-390.png", full=True)
    phone.goto((flag_site / "methodology.html").as_uri())
    assert phone.locator("h2", has_text="How this is scored").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE
    shot(phone, "methodology-390.png", full=True)


def test_leaderboard_header_stays_on_a_long_page(at: Any, tmp_path: Path) -> None:
    from openaudit.report import Report

    if not FLAGSHIPS_JSON.is_file():
        pytest.skip("reports/flagships.json not generated")
    flag = Report.model_validate_json(FLAGSHIPS_JSON.read_text(encoding="utf-8"))
    many = [flag.subjects[i % 4].model_copy(update={"repo_id": f"org{i:02d}/model-{i:02d}"}) for i in range(60)]
    write_site(flag.model_copy(update={"subjects": many}), tmp_path / "site")
    page = at(DESKTOP)
    page.goto((tmp_path / "site" / "index.html").as_uri())
    page.mouse.wheel(0, 1500)
    _until(page, "window.scrollY > 1000")
    head = _box(page.locator("#leaderboard thead th").first)
    assert -1 <= head["y"] <= 1  # the column headings stay at the top while 60 rows scroll by
    shot(page, "leaderboard-60-scrolled.png")
