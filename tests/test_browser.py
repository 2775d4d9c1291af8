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
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
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
    reports = Path(__file__).resolve().parent.parent / "reports" / "comparison.html"
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
