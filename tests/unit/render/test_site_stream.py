"""`--format site` writes each model's page as its subject is read (issue 23): one subject held at a time,
only a small row per model kept for the index; the files are byte for byte those of the site built
whole in memory (every model's full view at once, then every page: the renderer before it streamed,
kept here as the reference)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from openaudit import api
from openaudit.outputs import MARKER
from openaudit.render import html, site
from openaudit.render.tally import tally
from openaudit.report import Report, Subject
from openaudit.subjects import SubjectStore

STORE = Path(__file__).parents[2] / "store"


@pytest.fixture(scope="module")
def many() -> Report:
    """Every fixture model, a copy of each under another owner, and one repo at a second revision (its
    page gets the revision in its name), packed as `org` keeps them."""
    ids = sorted(f"{o.name}/{m.name}" for o in (STORE / "models").iterdir() for m in o.iterdir() if m.is_dir())
    report = api.audit_models(ids, snapshots=STORE, processes=0)
    subjects = list(report.subjects)
    copies = [s.model_copy(update={"repo_id": f"copy-{s.repo_id}"}) for s in subjects]
    audited = next(s for s in subjects if s.revision)
    again = audited.model_copy(update={"revision": "f" * 40})
    return report.model_copy(update={"subjects": SubjectStore([*subjects, *copies, again])})


# The leaderboard as index.html was before its rows were made where each model is audited: one template over
# every model's row, kept here as the reference.
_OLD_INDEX = """{% extends "base.html" %}
{% from "macros.html" import pill, tally_block, spread_chart %}
{% block title %}Model openness leaderboard — openaudit{% endblock %}
{% block main_class %} class="wide"{% endblock %}
{% block body %}
<h1>Model openness leaderboard</h1>
<p class="meta">{{ views|length }} models audited on what was actually published. Click a column heading to sort; click a model for its full report and evidence, any cell for the evidence behind it. <a href="methodology.html">How this is scored</a>.</p>
<p class="legend"><span class="key c-open">open</span> published and usable · <span class="key c-partial">partial</span> partly published, gated or restricted · <span class="key c-closed">closed</span> not published or not open · <span class="key c-unknown">unknown</span> could not be determined</p>
<form id="filters" class="filters noprint" hidden aria-label="Filter and sort the leaderboard">
<label>Show models whose <select name="dim"><option value="">any dimension</option>{% for d in dims %}<option value="{{ d }}">{{ DIM_LABEL[d]|lower }}</option>{% endfor %}</select></label>
<label>is <select name="verdict"><option value="">any verdict</option>{% for k in ("open", "partial", "closed", "unknown") %}<option value="{{ k }}">{{ VERDICT_LABEL[k] }}</option>{% endfor %}</select></label>
<label>Licence <select name="licence"><option value="">any category</option>{% for c in categories %}<option value="{{ c }}">{{ c|replace("-", " ") }}</option>{% endfor %}</select></label>
<label>Flag <select name="flag"><option value="">any</option><option value="none">no flag</option>{% for f in flags %}<option value="{{ f }}">{{ flag_words(f) }}</option>{% endfor %}</select></label>
<label>Sort by <select name="sort"><option value="">—</option><option value="1:desc">score, highest first</option><option value="1:asc">score, lowest first</option><option value="0:asc">model name</option></select></label>
<button type="reset">Clear</button> <output id="shown" class="meta" aria-live="polite">{{ views|length }} of {{ views|length }} models shown</output>
</form>
<div class="board">
<table class="sortable lb" id="leaderboard">
<thead><tr>
<th scope="col" class="model"><button type="button">Model</button></th>
<th scope="col" aria-sort="descending" class="num"><button type="button">Score</button></th>
{% for d in table_dims %}<th scope="col"><button type="button" title="{{ DIM_LABEL[d] }}">{{ dim_short[d] }}</button></th>{% endfor %}
<th scope="col" class="lic"><button type="button" title="The licence, its category, and the licence verdict">Licence</button></th>
{% for fid, short in fw_cols %}<th scope="col"><button type="button">{{ short }}</button></th>{% endfor %}
<th scope="col" class="flagcol"><button type="button">Flags</button></th>
</tr></thead>
<tbody>
{% for v in views %}
{% set lic_dim = v.dim_by_name.get("license") %}
<tr data-verdicts="{% for d in v.dims %}{{ d.verdict }}{% if not loop.last %} {% endif %}{% endfor %}"{% for d in dims %}{% set dv = v.dim_by_name.get(d) %}{% if dv %} data-d-{{ d }}="{{ dv.verdict }}"{% endif %}{% endfor %} data-licence="{{ v.license.category if v.license.name else 'unknown' }}" data-flags="{% for f in v.flags %}{{ f.id }}{% if not loop.last %} {% endif %}{% endfor %}">
<td class="model" data-sort="{{ v.repo_id|lower }}"><a href="models/{{ v.file_slug }}.html">{{ v.repo_id }}</a>{% if v.status != "audited" %} <span class="meta">({{ v.status }})</span>{% endif %}</td>
<td class="num" data-label="Score" data-sort="{{ v.score if v.score is not none else -1 }}"><strong>{{ v.score|pct }}</strong></td>
{% for d in table_dims %}{% set dv = v.dim_by_name.get(d) %}<td class="c c-{{ dv.verdict if dv else 'unknown' }}" data-label="{{ dim_short[d] }}" data-sort="{{ rank.get(dv.verdict, -1) if dv else -1 }}">{% if dv %}<a href="models/{{ v.file_slug }}.html#{{ dv.anchor }}" title="{{ DIM_LABEL[d] }}: {{ VERDICT_LABEL.get(dv.verdict, dv.verdict) }}">{{ verdict_short.get(dv.verdict, dv.verdict) }}</a>{% else %}—{% endif %}</td>{% endfor %}
<td class="c lic c-{{ lic_dim.verdict if lic_dim else 'unknown' }}" data-label="Licence" data-sort="{{ rank.get(lic_dim.verdict, -1) if lic_dim else -1 }} {{ (v.license.short or '')|lower }}"><a href="models/{{ v.file_slug }}.html#{{ lic_dim.anchor if lic_dim else 'evidence' }}" title="{{ v.license.name or 'unknown licence' }}{% if lic_dim %}: licence verdict {{ VERDICT_LABEL.get(lic_dim.verdict, lic_dim.verdict) }}{% endif %}">{{ v.license.short if v.license.name else "unknown" }}</a>{% if v.license.name or v.gated %} <span class="cat">{% if v.license.name %}{{ v.license.category|replace("-", " ") }}{% endif %}{% if v.gated %}{% if v.license.name %} · {% endif %}gated{% endif %}</span>{% endif %}</td>
{% for fid, short in fw_cols %}{% set f = v.fw_by_id.get(fid) %}<td class="c t-{{ f.tone if f else 'neutral' }}" data-label="{{ short }}" data-sort="{{ (f.score if f and f.score is not none else (f.display if f else '')) }}">{% if f %}<a href="models/{{ v.file_slug }}.html#fw-{{ fid }}" title="{{ f.lead }}">{{ f.display }}</a>{% else %}—{% endif %}</td>{% endfor %}
<td class="flagcol" data-label="Flags" data-sort="{{ v.flags|length }}">{% for f in v.flags %}<span class="fl sev-{{ f.severity }}" title="{{ f.title }}">{{ "⚠" if f.severity != "error" else "✖" }} {{ flag_words(f.id) }}</span>{% else %}<span class="meta">none</span>{% endfor %}</td>
</tr>
{% endfor %}
</tbody>
</table>
</div>
{{ spread_chart(bars) }}
{% if tally %}{{ tally_block(tally) }}
{% endif %}
{% endblock %}
{% block script %}<script>{{ script|safe }}</script>
{% endblock %}
"""  # noqa: E501


def _old_spread(views: list[html.SubjectView]) -> list[site.Bar]:
    """The spread chart as it was made from full views (licences as dicts)."""
    from collections import Counter

    judged = [v for v in views if v.dims]
    bars = []
    for d in html.DIMENSIONS:
        counts = Counter(v.dim_by_name[d].verdict for v in judged if d in v.dim_by_name)
        if counts:
            rank = site.VERDICT_SORT_RANK
            segs = [(k, html.VERDICT_LABEL.get(k, k), counts[k], html.FILL.get(k, html.FILL["unknown"]))
                    for k in (*rank, *sorted(set(counts) - set(rank))) if counts.get(k)]
            segs.sort(key=lambda x: -rank.get(x[0], -1))
            bars.append(site.Bar(html.DIM_LABEL[d], segs, sum(counts.values())))
    cats = Counter(v.license["category"] if v.license["name"] else "unknown" for v in judged)
    if cats:
        order = [c for c in site.CATEGORY_ORDER if cats.get(c)] + sorted(set(cats) - set(site.CATEGORY_ORDER))
        bars.append(site.Bar("Licence category", [(c, c.replace("-", " "), cats[c],
                                                    html.FILL[site.CATEGORY_TONE.get(c, "unknown")]) for c in order],
                             sum(cats.values())))
    return bars


def _old_site(report: Report) -> dict[str, str]:
    """The site as it was built before: every view at once, the index from them, then each page."""
    views = html.subject_views(report, prefixed=False)
    ordered = sorted(views, key=lambda v: (-(v.score if v.score is not None else -1), v.repo_id))
    categories = sorted({v.license["category"] for v in ordered if v.license["name"]},
                        key=lambda c: (site.CATEGORY_ORDER.index(c) if c in site.CATEGORY_ORDER else 99, c))
    index = html.environment().from_string(_OLD_INDEX).render(
        views=ordered, fw_cols=html.all_framework_columns(ordered), dims=html.DIMENSIONS,
        table_dims=site.TABLE_DIMS, dim_short=site.DIM_SHORT, verdict_short=site.VERDICT_SHORT,
        rank=site.VERDICT_SORT_RANK, categories=categories, flags=sorted({f["id"] for v in ordered for f in v.flags}),
        flag_words=site.flag_words, category_tone=site.CATEGORY_TONE, bars=_old_spread(ordered), fill=html.FILL,
        script=html.SORT_SCRIPT, csp=html.csp(html.SORT_SCRIPT), tally=tally([v.subject for v in ordered]),
        **html._common(report))
    files = {"index.html": index, "methodology.html": site.render_methodology(report)}
    for i, v in enumerate(views):
        files[f"models/{v.file_slug}.html"] = html.render_single(report, i, back_href="../index.html",
                                                                 method_href="../methodology.html")
    return files


def _read_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in root.rglob("*") if p.is_file()}


def test_the_site_written_page_by_page_is_the_site_built_whole(many: Report, tmp_path: Path) -> None:
    expected = _old_site(many)
    assert len([f for f in expected if f.startswith("models/")]) == len(many.subjects)  # every model has its page
    assert any(f.endswith("-ffffffffffff.html") for f in expected)
    assert site.site_files(many) == expected
    site.write_site(many, tmp_path / "site")
    assert _read_tree(tmp_path / "site") == expected
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # built beside it, renamed into place
    assert site.render_index(many) == expected["index.html"]


def _lazy(subjects: list[Subject], alive: list[int]) -> Iterator[Subject]:
    """The subjects one at a time, as a packed store decodes them; `alive` records, as each is produced,
    how many produced before it are still held."""
    refs: list[weakref.ref[Subject]] = []
    for s in subjects:
        gc.collect(0)
        alive.append(sum(r() is not None for r in refs))
        fresh = s.model_copy(deep=True)
        refs.append(weakref.ref(fresh))
        yield fresh
        del fresh


class _Once:
    def __init__(self, items: Iterator[Subject], n: int) -> None:
        self.items, self.n = items, n

    def __iter__(self) -> Iterator[Subject]:
        return self.items

    def __len__(self) -> int:
        return self.n


def test_each_page_is_written_before_the_next_subject_is_read(many: Report) -> None:
    subjects = list(many.subjects)
    alive: list[int] = []
    lazy = many.model_copy(update={"subjects": _Once(_lazy(subjects, alive), len(subjects))})
    written = []
    for rel, _text in site.site_pages(lazy):
        written.append(rel)
        if rel.startswith("models/"):
            assert len(written) == len(alive)  # this page came before the next subject was read
    assert len(alive) == len(subjects) and max(alive) <= 1
    assert written[-2:] == ["index.html", "methodology.html"]
    assert dict(zip(written, [t for _r, t in site.site_pages(many)], strict=True)) == _old_site(many)


def test_the_cli_writes_the_same_site_into_a_new_or_an_earlier_folder(many: Report, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from openaudit.cli import app

    saved = tmp_path / "r.json"
    few = many.model_copy(update={"subjects": list(many.subjects)[:6]})
    saved.write_text(few.model_dump_json(), encoding="utf-8")
    reread = Report.model_validate_json(saved.read_bytes())
    expected = _old_site(reread)
    for _ in range(2):  # a new folder, then the same one again (marked as openaudit's: replaced)
        r = CliRunner().invoke(app, ["report", str(saved), "-f", "site", "-o", str(tmp_path / "site")])
        assert r.exit_code == 0, r.output
        files = _read_tree(tmp_path / "site")
        assert files.pop(MARKER).startswith("Written by openaudit")
        assert files == expected
        assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "site"]  # nothing staged left behind


def test_pages_made_where_each_model_was_audited_are_copied_into_the_same_site(
        many: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    """An audit worker renders its model's page and row (`site.Page`, a stand-in for the report's time
    stamp); the site copies them without decoding a subject and is the same; a page made for another
    report context (other profiles) is rendered again."""
    from dataclasses import replace

    from openaudit.subjects import Packed

    profiles = [(p.id, p.version) for p in many.profiles]
    packed = list(many.subjects.packed())  # type: ignore[attr-defined]
    made = [replace(p, pieces={"site": site.Page.of(p.subject(), profiles if k % 7 else profiles[:1])})
            if k % 5 else p for k, p in enumerate(packed)]
    report = many.model_copy(update={"subjects": SubjectStore(made)})
    decoded: list[str] = []
    real = Packed.subject

    def counting(self: Packed) -> Subject:
        decoded.append(self.repo_id)
        return real(self)

    monkeypatch.setattr(Packed, "subject", counting)
    files = site.site_files(report)
    # Decoded: the models without a part, and those whose part names other profiles.
    assert len(decoded) == sum(1 for k in range(len(made)) if not k % 5 or not k % 7)
    monkeypatch.undo()
    assert files == _old_site(many)


@pytest.mark.parametrize("processes", [0, 2], ids=["thread", "forked workers"])
def test_a_run_asked_for_a_site_has_its_workers_render_the_pages(processes: int) -> None:
    from dataclasses import replace

    from openaudit.run.options import RunOptions

    ids = ["EleutherAI/pythia-1b", "allenai/OLMo-2-1124-7B", "Qwen/Qwen2.5-7B"]
    report, _ = api.run_audit(ids, RunOptions(snapshots=STORE, processes=processes, prerender=("site",)))
    packed = report.subjects.packed()  # type: ignore[attr-defined]
    assert all(isinstance(p.pieces["site"], site.Page) for p in packed)
    plain = report.model_copy(update={"subjects": SubjectStore([replace(p, pieces=None) for p in packed])})
    assert site.site_files(report) == _old_site(plain)


def test_audit_of_several_models_writes_the_site_from_its_workers_pages(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from openaudit.cli import app

    ids = ["EleutherAI/pythia-1b", "allenai/OLMo-2-1124-7B", "Qwen/Qwen2.5-7B"]
    r = CliRunner().invoke(app, ["audit", *ids, "--snapshots", str(STORE), "--processes", "0", "-q",
                                 "-f", "json", "-o", str(tmp_path / "r.json"), "-f", "site", "-o", str(tmp_path / "s")])
    assert r.exit_code in (0, 1, 3), r.output
    files = _read_tree(tmp_path / "s")
    assert files.pop(MARKER).startswith("Written by openaudit")
    assert files == _old_site(Report.model_validate_json((tmp_path / "r.json").read_bytes()))


def test_index_rows_made_where_each_model_was_audited_are_used_under_the_same_columns(
        many: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    """An audit worker renders its model's leaderboard row too, under the frameworks that model has (the
    index's columns are known only once every model is seen): the index uses it where the columns are the
    index's, renders the row again where they are not (a model without a framework others have, a skipped
    one), and is the index built whole either way."""
    from dataclasses import replace

    from openaudit.subjects import Packed

    profiles = [(p.id, p.version) for p in many.profiles]
    subjects = list(many.subjects)
    lacking = [s.model_copy(update={"frameworks": {k: v for k, v in s.frameworks.items() if k != "osai-index"}})
               for s in subjects[:3]]
    chosen = [*lacking, *subjects[3:]]
    made = many.model_copy(update={"subjects": SubjectStore(
        [replace(Packed.of(s), pieces={"site": site.Page.of(s, profiles)}) for s in chosen])})
    full = set().union(*(s.frameworks for s in chosen))
    again: list[str] = []
    real = site._row_html

    def counting(v: site.IndexRow, fw_cols: list[tuple[str, str]]) -> str:
        again.append(v.repo_id)
        return real(v, fw_cols)

    monkeypatch.setattr(site, "_row_html", counting)
    files = site.site_files(made)
    monkeypatch.undo()
    assert files == _old_site(many.model_copy(update={"subjects": chosen}))
    assert sorted(again) == sorted(s.repo_id for s in chosen if set(s.frameworks) != full)
    assert {s.repo_id for s in lacking} <= set(again) and len(again) < len(chosen)
