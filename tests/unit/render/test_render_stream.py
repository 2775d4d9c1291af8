"""An organisation's HTML and Markdown reports are rendered one model at a time (issue 23): the
renderers read the subjects once, in order, without keeping them (a packed store decodes each as it
is reached, so memory stays flat in the number of models), the HTML page is written in chunks, and
the text is the same as rendering every model's full view at once (the way it was rendered before,
kept here as the reference)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from openaudit import api
from openaudit.render import html, markdown, mof_yaml, stream
from openaudit.render.tally import tally
from openaudit.report import Report, Subject
from openaudit.run.options import RunOptions
from openaudit.subjects import Packed, SubjectStore, as_packed

STORE = Path(__file__).parents[2] / "store"

# The comparison page as one template over every model's full view, as comparison.html was before the
# page streamed (its table included: one column per model), kept here as the reference.
_WHOLE_PAGE = """{% extends "base.html" %}
{% from "macros.html" import pill, headline, flag_list, frameworks, details, in_short, tally_block, how_scored %}
{% block title %}{% for v in views %}{{ v.repo_id.split("/")[-1] }}{% if not loop.last %} vs {% endif %}{% endfor %} — openaudit{% endblock %}
{% block body %}
<h1>How open are these models, really?</h1>
<p class="meta">{{ views|length }} models compared on what was actually published: weights, code, training data, licence and documentation. Click any cell for the evidence behind it. <a href="#how-scored">How this is scored</a>.</p>
{% if tally %}{{ tally_block(tally) }}
{% endif %}<p class="legend">{{ pill("open") }} published and usable · {{ pill("partial") }} partly published · {{ pill("closed") }} not published or restricted · {{ pill("unknown") }} could not be determined</p>
<div class="scroll">
<table class="compare">
<thead><tr><th scope="col"></th>{% for v in views %}<th scope="col"><a href="#{{ v.prefix }}details">{{ v.repo_id }}</a>{% if v.short_rev %}<div class="meta mono">@{{ v.short_rev }}</div>{% endif %}</th>{% endfor %}</tr></thead>
<tbody>
<tr><th scope="row">Openness score</th>{% for v in views %}<td><a class="cell" href="#{{ v.prefix }}evidence"><span class="score" style="font-size:24px">{{ v.score|pct }}</span>{% if v.score is not none %}<span class="meta">/100</span>{% endif %}{% if v.reason %}<span class="why">{{ v.status }}: {{ v.reason|truncate(120) }}</span>{% endif %}</a></td>{% endfor %}</tr>
{% if views|selectattr("flags")|list %}
<tr><th scope="row">Warnings</th>{% for v in views %}<td>{% if v.flags %}<a class="cell" href="#{{ v.prefix }}flags">{% for f in v.flags %}<span class="why"><strong>{{ {"error": "✖", "note": "ℹ"}.get(f.severity, "⚠") }} {{ f.title }}</strong></span>{% endfor %}</a>{% else %}<span class="meta">none</span>{% endif %}</td>{% endfor %}</tr>
{% endif %}
{% for d in dims %}
<tr><th scope="row">{{ DIM_LABEL[d] }}</th>{% for v in views %}<td>{% set dv = v.dim_by_name.get(d) %}{% if dv %}<a class="cell" href="#{{ dv.anchor }}">{{ pill(dv.verdict) }}<span class="why">{{ dv.rationale|truncate(140) }}</span><span class="go noprint">evidence ›</span></a>{% else %}<span class="meta">—</span>{% endif %}</td>{% endfor %}</tr>
{% endfor %}
<tr><th scope="row">Licence terms</th>{% for v in views %}<td>{% if v.license.name %}<a class="cell" href="#{{ v.prefix }}dim-license"><strong>{{ v.license.name }}</strong><span class="why">{{ v.license.category }}{% if v.license.restrictions %}; use restrictions: {{ v.license.restrictions|join(", ")|truncate(120) }}{% endif %}</span></a>{% else %}<span class="meta">unknown</span>{% endif %}</td>{% endfor %}</tr>
<tr><th scope="row">Download</th>{% for v in views %}<td>{% if v.access %}<a class="cell" href="#{{ v.prefix }}dim-weights">{% if v.gated %}<span class="pill v-partial">gated</span>{% else %}<span class="pill v-open">no gate</span>{% endif %}<span class="why">{{ v.access }}</span></a>{% else %}<span class="meta">unknown</span>{% endif %}</td>{% endfor %}</tr>
{% for fid, short in fw_cols %}
<tr><th scope="row">{{ short }}</th>{% for v in views %}<td>{% set f = v.fw_by_id.get(fid) %}{% if f %}<a class="cell" href="#{{ v.prefix }}fw-{{ fid }}"><span class="pill t-{{ f.tone }}">{{ f.display }}</span>{% if f.lead %}<span class="why">{{ f.lead|truncate(160) }}</span>{% endif %}</a>{% else %}<span class="meta">—</span>{% endif %}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
</div>
{% for v in views %}
<section class="model" style="border-top:3px solid #1b1f24;margin-top:44px;padding-top:8px" id="{{ v.prefix }}details">
{{ headline(v, "h2", how_href="#how-scored") }}
{{ flag_list(v) }}
{{ in_short(v) }}
{{ frameworks(v) }}
{{ details(v, "h3") }}
</section>
{% endfor %}
{{ how_scored(method) }}
{% endblock %}
"""  # noqa: E501


def _written(fmt: str, report: Report) -> str:
    """What the CLI writes of `fmt`: its chunks joined."""
    data = stream(fmt)(report)
    if isinstance(data, str):
        return data
    return (data if isinstance(data, bytes) else b"".join(data)).decode("utf-8")


def _whole_page(report: Report) -> str:
    views = html.subject_views(report, prefixed=True)
    return html.environment().from_string(_WHOLE_PAGE).render(
        views=views, fw_cols=html.all_framework_columns(views), dims=html.DIMENSIONS, csp=html.csp(None),
        tally=tally([v.subject for v in views]), method_href=None, method=html.methodology(), **html._common(report))


@pytest.fixture(scope="module")
def big() -> Report:
    """Every fixture model three times over (as three owners' copies): ~150 models, more than GitHub's
    comment limit holds, packed as `org` keeps them."""
    ids = sorted(f"{o.name}/{m.name}" for o in (STORE / "models").iterdir() for m in o.iterdir()
                 if (m / "info.json").is_file())
    report = api.audit_models(ids, snapshots=STORE, processes=0)
    subjects = [s.model_copy(update={"repo_id": f"{s.repo_id}-copy{k}" if k else s.repo_id})
                for k in range(3) for s in report.subjects]
    return report.model_copy(update={"subjects": SubjectStore(subjects)})


def test_the_streamed_comparison_page_is_the_whole_page_rendered_at_once(big: Report) -> None:
    assert "section in sections" in (Path(html.__file__).parent / "templates" / "comparison.html").read_text()
    whole = _whole_page(big)
    assert whole.count('<section class="model"') == len(big.subjects)
    chunks = stream("html")(big)
    assert not isinstance(chunks, str | bytes)
    chunks = list(chunks)
    assert len(chunks) > 1 and all(isinstance(c, bytes) for c in chunks)  # written as it comes, not one string
    assert b"".join(chunks).decode("utf-8") == whole
    assert html.render(big) == whole


def _lazy(subjects: list[Subject], alive: list[int]) -> Iterator[Subject]:
    """The subjects one at a time, as a packed store decodes them; `alive` records, as each is produced,
    how many produced before it are still held by the renderer."""
    refs: list[weakref.ref[Subject]] = []
    for s in subjects:
        gc.collect(0)
        alive.append(sum(r() is not None for r in refs))
        fresh = s.model_copy(deep=True)
        refs.append(weakref.ref(fresh))
        yield fresh
        del fresh


def test_html_and_markdown_hold_one_subject_at_a_time(big: Report) -> None:
    subjects = list(big.subjects)
    alive: list[int] = []
    page = b"".join(html.comparison_chunks(big, _lazy(subjects, alive))).decode("utf-8")
    assert len(alive) == len(subjects) and max(alive) <= 1  # the one before it, in `enumerate`'s tuple
    assert page == html.render(big)
    alive.clear()
    md = markdown.render(big, _lazy(subjects, alive), len(subjects))
    assert len(alive) == len(subjects) and max(alive) <= 1  # the one before it, in `enumerate`'s tuple
    assert md == markdown.render(big)


def test_the_html_sections_are_rendered_before_the_last_subject_is_read(big: Report) -> None:
    """Each model's section is made while its subject is at hand (then only spooled), not in a second
    pass over the subjects after the last one."""
    subjects = list(big.subjects)[:12]
    rendered: list[int] = []
    template = html.environment().get_template("comparison_section.html")
    real = template.render

    def counting(*args: object, **kwargs: object) -> str:
        rendered.append(1)
        return real(*args, **kwargs)

    seen: list[int] = []

    def produce() -> Iterator[Subject]:
        for s in subjects:
            seen.append(len(rendered))
            yield s

    template.render = counting
    try:
        out = b"".join(html.comparison_chunks(big, produce())).decode("utf-8")
    finally:
        del template.render
    assert seen == list(range(len(subjects)))  # subject k is read once k sections are rendered
    assert out.count('<section class="model"') == len(subjects)


def test_markdown_of_a_large_report_is_cut_to_githubs_limit_as_before(big: Report) -> None:
    md = markdown.render(big)
    assert len(md) < markdown.LIMIT
    assert "The table shows the first" in md and "left out to stay under GitHub's 65,536-character limit" in md
    # The sections kept are the first models', in order, each once.
    shown = [line.split("<b>")[1].split("</b>")[0] for line in md.splitlines()
             if line.startswith("<details><summary><b>")]
    assert shown == [markdown.esc(s.repo_id) for s in list(big.subjects)[:len(shown)]] and shown


def _without_pieces(report: Report) -> Report:
    plain = [replace(p, pieces=None) for p in report.subjects.packed()]  # type: ignore[attr-defined]
    return report.model_copy(update={"subjects": SubjectStore(plain)})


def test_parts_rendered_where_each_model_was_audited_are_copied_into_the_same_reports(
        big: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    """An audit worker renders its model's part of the page (`html.Pieces`, with a stand-in for the
    model's number, unknown there); the page copies them in order without decoding a subject, and
    says exactly what it says when every model is rendered after the run."""
    packed = list(big.subjects.packed())[:40]  # type: ignore[attr-defined]
    # Two copies of one model with one id: each number goes into its own section.
    packed.append(packed[3])
    made = [replace(p, pieces={"html": html.Pieces.of(p.subject()), "md": markdown.Part.of(p.subject()),
                               "mof-yaml": mof_yaml.Doc.of(p.subject())})
            if k % 5 else p for k, p in enumerate(packed)]
    report = big.model_copy(update={"subjects": SubjectStore(made)})
    expected = html.render(_without_pieces(report))
    decoded: list[str] = []
    real = Packed.subject

    def counting(self: Packed) -> Subject:
        decoded.append(self.repo_id)
        return real(self)

    monkeypatch.setattr(Packed, "subject", counting)
    expected_md = markdown.render(_without_pieces(report))
    decoded.clear()
    assert _written("html", report) == expected
    assert len(decoded) == sum(1 for p in made if p.pieces is None)  # only the ones without parts
    decoded.clear()
    assert markdown.render(report) == expected_md
    assert len(decoded) == sum(1 for p in made if p.pieces is None)
    expected_yaml = mof_yaml.render(_without_pieces(report))
    decoded.clear()
    assert _written("mof-yaml", report) == expected_yaml
    assert len(decoded) == sum(1 for p in made if p.pieces is None)
    assert 'id="m41-' in expected and 'href="#m41-' in expected and 'id="m42-' not in expected


@pytest.mark.parametrize("processes", [0, 2], ids=["thread", "forked workers"])
def test_a_run_asked_for_html_has_its_workers_render_the_parts(processes: int) -> None:
    ids = ["EleutherAI/pythia-1b", "allenai/OLMo-2-1124-7B", "Qwen/Qwen2.5-7B"]
    report, stats = api.run_audit(ids, RunOptions(snapshots=STORE, processes=processes,
                                                  prerender=("html", "md", "mof-yaml")))
    # Under load a thread of the run's reads may still be exiting when the workers would be forked
    # (workers.settle_threads waits a bounded time): the audits then run in a thread, which must make
    # the same parts. (That forking happens at all: test_org's command-line run.)
    assert stats.audit_processes in {processes, 0}
    for p in report.subjects.packed():  # type: ignore[attr-defined]
        assert isinstance(p.pieces["html"], html.Pieces) and isinstance(p.pieces["md"], markdown.Part)
    assert html.render(report) == html.render(_without_pieces(report))
    assert markdown.render(report) == markdown.render(_without_pieces(report))
    packed = report.subjects.packed()  # type: ignore[attr-defined]
    assert all(isinstance(p.pieces["mof-yaml"], mof_yaml.Doc) for p in packed)
    assert _written("mof-yaml", report) == mof_yaml.render(_without_pieces(report))
    plain, _ = api.run_audit(ids, RunOptions(snapshots=STORE, processes=0))
    assert all(p.pieces is None for p in plain.subjects.packed())  # type: ignore[attr-defined]


def test_sarif_is_written_one_subject_at_a_time_as_the_whole_log(big: Report) -> None:
    from openaudit.render import sarif

    subjects = list(big.subjects)
    alive: list[int] = []
    lazy = big.model_copy(update={"subjects": _Once(_lazy(subjects, alive), len(subjects))})
    chunks = list(sarif.render_chunks(lazy))
    assert len(alive) == len(subjects) and max(alive) <= 1
    whole = sarif.render(big)
    assert len(chunks) > 2 and b"".join(chunks).decode("utf-8") == whole
    assert _written("sarif", big) == whole
    # No result at all (every model skipped), and rules that only the findings name (a profile given as
    # a file): the same log as rendered whole.
    skipped = [s.model_copy(update={"status": "skipped", "findings": [], "flags": []}) for s in subjects[:3]]
    for report in (big.model_copy(update={"subjects": skipped}),
                   big.model_copy(update={"profiles": big.profiles[:1], "subjects": subjects[:5]})):
        assert b"".join(sarif.render_chunks(report)).decode("utf-8") == sarif.render(report)
    assert '"results": []' in sarif.render(big.model_copy(update={"subjects": skipped}))


class _Once:
    """Subjects read once, in order (as `org`'s packed store is read by a streamed renderer)."""

    def __init__(self, items: Iterator[Subject], n: int) -> None:
        self.items, self.n = items, n

    def __iter__(self) -> Iterator[Subject]:
        return self.items

    def __len__(self) -> int:
        return self.n


def test_the_cli_has_the_workers_render_the_formats_it_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`audit` of several models (as `org`) asks the workers for the parts of the formats it writes,
    and of no other; the files are what the reports rendered after the run say."""
    from typer.testing import CliRunner

    from openaudit import audit
    from openaudit.cli import app

    asked: list[tuple[str, ...]] = []
    real = audit._prerendered

    def spy(packed: Packed, formats: tuple[str, ...], profiles: tuple[tuple[str, str], ...] = ()) -> Packed:
        asked.append(tuple(formats))
        return real(packed, formats, profiles)

    monkeypatch.setattr(audit, "_prerendered", spy)
    ids = ["EleutherAI/pythia-1b", "allenai/OLMo-2-1124-7B", "Qwen/Qwen2.5-7B"]
    out = {f: tmp_path / f"r.{ext}" for f, ext in (("json", "json"), ("html", "html"), ("md", "md"),
                                                   ("sarif", "sarif"))}
    args = ["audit", *ids, "--snapshots", str(STORE), "--processes", "0", "-q"]
    for fmt, path in out.items():
        args += ["-f", fmt, "-o", str(path)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code in (0, 1, 3), r.output
    assert asked == [("html", "md", "sarif")] * len(ids)
    saved = Report.model_validate_json(out["json"].read_bytes())
    assert out["html"].read_text(encoding="utf-8") == html.render(saved)
    assert out["md"].read_text(encoding="utf-8") == markdown.render(saved)
    from openaudit.render import sarif

    assert out["sarif"].read_text(encoding="utf-8") == sarif.render(saved)
    asked.clear()
    r = CliRunner().invoke(app, ["audit", *ids, "--snapshots", str(STORE), "--processes", "0", "-q",
                                 "-f", "json", "-o", str(out["json"])])
    assert r.exit_code in (0, 1, 3), r.output
    assert asked == []  # json alone: nothing rendered in the workers


def _with_parts(subjects: list[Subject], every: int = 1) -> list[Packed | Subject]:
    """The subjects packed as `org` keeps them, each `every`-th with the parts an audit worker makes."""
    out: list[Packed | Subject] = []
    for k, s in enumerate(subjects):
        p = Packed.of(s)
        out.append(replace(p, pieces={"html": html.Pieces.of(s), "md": markdown.Part.of(s)}) if k % every == 0 else p)
    return out


def test_the_table_is_the_same_whichever_model_first_names_a_framework(big: Report) -> None:
    """Each row of the table is appended to as each model is read, so a framework first seen at the
    fifth model (a profile the first four were not audited with, or skipped models) still gets a dash
    cell for the four before it, in its own row, under the right title; with and without the workers'
    parts, with the warnings row present or not and the counts under the table."""
    subjects = list(big.subjects)[:30]
    lacking = [s.model_copy(update={"frameworks": {k: v for k, v in s.frameworks.items() if k != "osai-index"}})
               for s in subjects[:4]]
    unflagged = [s.model_copy(update={"flags": []}) for s in subjects[4:30]]
    for chosen in ([*lacking, *subjects[4:]], [*lacking, *unflagged], lacking[:2]):
        report = big.model_copy(update={"subjects": chosen})
        whole = _whole_page(report)
        assert html.render(report) == whole  # a library caller's list of subjects: no parts
        for every in (1, 2):
            made = report.model_copy(update={"subjects": SubjectStore(_with_parts(chosen, every))})
            assert _written("html", made) == whole
    report = big.model_copy(update={"subjects": [*lacking, *subjects[4:]]})
    page = html.render(report)
    osai = page.split('<tr><th scope="row">OSAI Index</th>')[1].split("</tr>")[0]
    assert osai.count("<td>") == len(subjects) and osai.startswith('<td><span class="meta">—</span></td>' * 4)
    assert 'href="#m5-' in osai.split("</td>")[4] and "In numbers" in page
    assert '<th scope="row">Warnings</th>' not in html.render(report.model_copy(update={"subjects": [
        *lacking[:0], *unflagged]}))


def test_a_report_rebuilt_after_a_render_failure_is_rendered_from_its_parts_and_its_new_subjects(
        big: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a renderer failed, the report is rebuilt with the failing model replaced by an incomplete
    subject (no part): the page and the Markdown mix the others' parts with it and say what the whole
    page says."""
    from openaudit.render import without_render_failures

    subjects = list(big.subjects)[:14]
    report = big.model_copy(update={"subjects": SubjectStore(_with_parts(subjects))})
    bad = subjects[6].repo_id
    real = html.subject_view

    def failing(s: Subject, *args: object, **kwargs: object) -> html.SubjectView:
        if s.repo_id == bad:
            raise ValueError("this card breaks the page")
        return real(s, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(html, "subject_view", failing)
    rebuilt = without_render_failures(report, ["html"])
    monkeypatch.undo()
    assert rebuilt is not None
    kept = list(as_packed(rebuilt.subjects))
    assert all(isinstance(p, Packed) for p in kept)
    assert kept[6].status == "incomplete" and not kept[6].pieces  # type: ignore[union-attr]
    assert "while rendering html" in (kept[6].subject().reason or "")  # type: ignore[union-attr]
    assert all(p.pieces for k, p in enumerate(kept) if k != 6)  # type: ignore[union-attr]
    plain = rebuilt.model_copy(update={"subjects": [p.subject() for p in kept]})  # type: ignore[union-attr]
    assert _written("html", rebuilt) == _whole_page(plain)
    assert markdown.render(rebuilt) == markdown.render(plain)


def test_markdown_keeps_only_the_rows_and_ids_it_can_show_and_says_what_it_said(big: Report) -> None:
    """Markdown's table is cut to half of GitHub's limit: the rows it keeps while reading are the ones
    that could fit, yet the table, its note and the names of the models left out are those of every
    model's row and id (the way the Markdown was made before, rebuilt here)."""
    subjects = list(big.subjects)
    parts = [markdown._ModelParts.of(s) for s in subjects]
    shorts: dict[str, str] = {}
    for m in parts:
        for fid, short in m.shorts.items():
            shorts.setdefault(fid, short)
    head = ["## openaudit: what was actually published", ""]
    table = markdown._comparison([m.row for m in parts], html.framework_columns(shorts))
    keep = 2
    while keep < len(table) and markdown._size(table[: keep + 1]) <= markdown._BUDGET // 2:
        keep += 1
    assert keep < len(table)  # the fixture's table is cut
    md = markdown.render(big)
    expected_table = [*table[:keep], "", f"*The table shows the first {keep - 2} of {len(subjects)} models: the "
                      "rest would pass GitHub's 65,536-character limit; see the JSON or HTML report for all.*", ""]
    assert md.split("\n")[: len(head) + len(expected_table)] == head + expected_table
    shown = sum(1 for line in md.splitlines() if line.startswith("<details><summary><b>"))
    left = len(subjects) - shown
    names = ", ".join(markdown.esc(m.repo_id) for m in parts[shown:shown + 20]) + f" and {left - 20} more"
    assert (f"*Details of {left} of {len(subjects)} models left out to stay under GitHub's 65,536-character "
            f"limit: {names}. The JSON or HTML report has them all.*") in md
    models = markdown._read_models(big.subjects, True)
    assert keep - 2 <= len(models.rows) < len(subjects) and models.cut
    assert shown <= len(models.sections) and len(models.ids) == len(models.sections) + 20 < len(subjects)
    assert models.read == len(subjects) and models.counts.models == len(subjects)
    # From the workers' parts: the same text.
    made = big.model_copy(update={"subjects": SubjectStore(_with_parts(subjects, 3))})
    assert markdown.render(made) == md
