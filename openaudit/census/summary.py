"""What a census tells: DuckDB queries over `results/*.parquet` -> summary.json, census.md, census.html.

* models and downloads by licence category x OSAID verdict (the openness verdict a journalist quotes:
  likely-meets / likely-fails / undetermined), and by each dimension's verdict;
* the prevalence of each flag by count and weighted by downloads, the KEY_FLAGS first;
* dimension patterns (weights x code x data verdicts), "open weights, closed data" among them;
* the top organisations by models and by downloads.

The HTML page is self-contained: inline SVG bars, inline CSS, no script; every string from a dump
(ids, organisation names, licence keys) is escaped.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from openaudit.vocab import DIMENSIONS, VERDICTS

KEY_FLAGS = ("open-source-claim", "license-mismatch", "license-inherited", "base-undeclared", "use-restrictions")
TOP = 20


def _q(con: Any, sql: str) -> list[dict[str, Any]]:
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def summarise(outdir: Path) -> dict[str, Any]:
    """The census's figures from its results parts (an empty census gives zeros)."""
    import duckdb

    from openaudit.flags import load_flags

    defined = {f.id: f.title for f in load_flags().flags}
    con = duckdb.connect()
    try:
        _open_results(con, outdir)
        tot = _q(con, "SELECT count(*) AS models, coalesce(sum(downloads), 0) AS downloads FROM r")[0]
        models, downloads = int(tot["models"]), int(tot["downloads"])
        status = {r["status"]: int(r["n"])
                  for r in _q(con, "SELECT status, count(*) AS n FROM r GROUP BY 1 ORDER BY 1")}
        by_cat = _q(con, "SELECT license_category, count(*) AS models, coalesce(sum(downloads), 0) AS downloads "
                         "FROM r GROUP BY 1 ORDER BY models DESC, license_category")
        matrix = _q(con, "SELECT license_category, coalesce(osaid, 'not audited') AS osaid, count(*) AS models, "
                         "coalesce(sum(downloads), 0) AS downloads FROM r GROUP BY 1, 2 ORDER BY 1, 2")
        dims, frameworks = _verdicts(con)
        flags = _flag_prevalence(con, defined, models, downloads)
        patterns = _patterns(con)
        owc = _q(con, "SELECT count(*) AS models, coalesce(sum(downloads), 0) AS downloads FROM r "
                      "WHERE weights = 'open' AND data = 'closed'")[0]
        top_models, top_downloads = _top_organisations(con)
    finally:
        con.close()
    return _plain({
        "models": models, "downloads": downloads, "status": status,
        "by_license_category": by_cat, "license_category_x_osaid": matrix,
        "dimensions": dims, "frameworks": frameworks,
        "flags": flags, "flags_not_defined": [f for f in KEY_FLAGS if f not in defined],
        "patterns": patterns,
        "open_weights_closed_data": {"models": int(owc["models"]), "downloads": int(owc["downloads"]),
                                     "share": _share(int(owc["models"]), models)},
        "top_organisations": {"by_models": top_models, "by_downloads": top_downloads},
    })


def _open_results(con: Any, outdir: Path) -> None:
    """The view `r` over the census's results parts; with no part, an empty table of the results'
    columns, so that every query gives zeros rather than an error."""
    parts = sorted((outdir / "results").glob("part-*.parquet"))
    con.execute("SET threads TO 2")
    if parts:
        listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in parts)
        con.execute(f"CREATE VIEW r AS SELECT * FROM read_parquet([{listed}])")
    else:
        from openaudit.census.partition import result_schema

        con.register("r", result_schema().empty_table())


def _verdicts(con: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Models and downloads by each dimension's verdict, and models by each framework's verdict
    (a row that was not audited counts as 'not audited'). Returns (dimensions, frameworks)."""
    dims = {}
    for d in DIMENSIONS:
        dims[d] = {r["verdict"]: {"models": int(r["models"]), "downloads": int(r["downloads"])} for r in _q(
            con, f"SELECT coalesce({d}, 'not audited') AS verdict, count(*) AS models, "
                 f"coalesce(sum(downloads), 0) AS downloads FROM r GROUP BY 1 ORDER BY 1")}
    frameworks = {}
    for col in ("mof", "osaid", "eu_ai_act"):
        frameworks[col] = {r["v"]: int(r["n"]) for r in _q(
            con, f"SELECT coalesce({col}, 'not audited') AS v, count(*) AS n FROM r GROUP BY 1 ORDER BY 1")}
    return dims, frameworks


def _flag_prevalence(con: Any, defined: dict[str, str], models: int, downloads: int) -> list[dict[str, Any]]:
    """Each flag's models and downloads and their shares: the KEY_FLAGS first, then the other defined
    flags (a flag no row raised still shows, at zero), then any flag the results hold that this version
    does not define."""
    counted = {r["flag"]: r for r in _q(
        con, "SELECT flag, count(*) AS models, coalesce(sum(downloads), 0) AS downloads "
             "FROM (SELECT unnest(flags) AS flag, downloads FROM r) GROUP BY 1")}
    flags = []
    for fid in [f for f in KEY_FLAGS if f in defined] + sorted(set(defined) - set(KEY_FLAGS)) + sorted(
            set(counted) - set(defined)):
        c = counted.get(fid, {"models": 0, "downloads": 0})
        flags.append({"id": fid, "title": defined.get(fid, fid), "key": fid in KEY_FLAGS,
                      "models": int(c["models"]), "share": _share(int(c["models"]), models),
                      "downloads": int(c["downloads"]), "download_share": _share(int(c["downloads"]), downloads)})
    return flags


def _patterns(con: Any) -> list[dict[str, Any]]:
    """The TOP most common weights x code x data verdict patterns, each with a readable label."""
    patterns = _q(con, "SELECT coalesce(weights, 'n/a') AS weights, coalesce(code, 'n/a') AS code, "
                       "coalesce(data, 'n/a') AS data, count(*) AS models, "
                       "coalesce(sum(downloads), 0) AS downloads "
                       f"FROM r GROUP BY 1, 2, 3 ORDER BY models DESC, 1, 2, 3 LIMIT {TOP}")
    for p in patterns:
        p["label"] = f"{p['weights']} weights, {p['code']} code, {p['data']} data"
    return patterns


def _top_organisations(con: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The TOP organisations (the author, else the id's owner) by models and by downloads, with their
    openness figures. Returns (by models, by downloads)."""
    org_sql = ("SELECT coalesce(author, split_part(id, '/', 1)) AS organisation, count(*) AS models, "
               "coalesce(sum(downloads), 0) AS downloads, round(avg(score), 1) AS mean_score, "
               "count(*) FILTER (WHERE osaid = 'likely-meets') AS osaid_likely_meets, "
               "count(*) FILTER (WHERE data = 'open') AS open_data, "
               "count(*) FILTER (WHERE weights = 'open' AND data = 'closed') AS open_weights_closed_data, "
               "count(*) FILTER (WHERE len(flags) > 0) AS flagged FROM r GROUP BY 1 ")
    top_models = _q(con, org_sql + f"ORDER BY models DESC, downloads DESC, organisation LIMIT {TOP}")
    top_downloads = _q(con, org_sql + f"ORDER BY downloads DESC, models DESC, organisation LIMIT {TOP}")
    return top_models, top_downloads


def _share(n: int, total: int) -> float:
    return round(n / total, 6) if total else 0.0


def _plain(v: Any) -> Any:
    """DuckDB's numbers (HUGEINT sums, Decimals) as JSON numbers."""
    from decimal import Decimal

    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    if isinstance(v, Decimal):
        return float(v)
    return v


# ---------------------------------------------------------------------------------------- rendering
def _n(v: Any) -> str:
    return f"{int(v):,}"


def _pct(v: float) -> str:
    return f"{100 * v:.1f} %"


def _md(s: Any) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def render_markdown(s: dict[str, Any], manifest: dict[str, Any] | None = None) -> str:
    out = ["# openaudit census", "",
           f"**{_n(s['models'])} models**, {_n(s['downloads'])} downloads (last 30 days, as the dump counts them). "
           + ", ".join(f"{k}: {_n(v)}" for k, v in s["status"].items()) + ".", ""]
    out += ["## Flags", "", "| Flag | Models | Share | Downloads | Share of downloads |", "|---|---:|---:|---:|---:|"]
    for f in s["flags"]:
        name = f"**{_md(f['id'])}**" if f["key"] else _md(f["id"])
        out.append(f"| {name} | {_n(f['models'])} | {_pct(f['share'])} | {_n(f['downloads'])} | "
                   f"{_pct(f['download_share'])} |")
    if s["flags_not_defined"]:
        out += ["", f"Not defined in this version of openaudit (not counted): {', '.join(s['flags_not_defined'])}."]
    owc = s["open_weights_closed_data"]
    out += ["", "## Dimension patterns", "",
            f"Open weights, closed data: **{_n(owc['models'])} models** ({_pct(owc['share'])}), "
            f"{_n(owc['downloads'])} downloads.", "",
            "| Weights | Code | Data | Models | Downloads |", "|---|---|---|---:|---:|"]
    for p in s["patterns"]:
        out.append(f"| {p['weights']} | {p['code']} | {p['data']} | {_n(p['models'])} | {_n(p['downloads'])} |")
    out += ["", "## Licence category × OSAID verdict", "", "| Licence category | OSAID | Models | Downloads |",
            "|---|---|---:|---:|"]
    for m in s["license_category_x_osaid"]:
        out.append(f"| {_md(m['license_category'])} | {m['osaid']} | {_n(m['models'])} | {_n(m['downloads'])} |")
    out += ["", "## Dimensions", "", "| Dimension | " + " | ".join(("open", "partial", "closed", "unknown")) + " |",
            "|---|---:|---:|---:|---:|"]
    for d, vs in s["dimensions"].items():
        out.append(f"| {d} | " + " | ".join(_n(vs.get(v, {}).get("models", 0))
                                              for v in VERDICTS) + " |")
    for key, title in (("by_models", "models"), ("by_downloads", "downloads")):
        out += ["", f"## Top organisations by {title}", "",
                "| Organisation | Models | Downloads | Mean score | OSAID likely-meets | Open data | "
                "Open weights, closed data | Flagged |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for o in s["top_organisations"][key]:
            score = "–" if o["mean_score"] is None else f"{o['mean_score']:.1f}"
            out.append(f"| {_md(o['organisation'])} | {_n(o['models'])} | {_n(o['downloads'])} | {score} | "
                       f"{_n(o['osaid_likely_meets'])} | {_n(o['open_data'])} | {_n(o['open_weights_closed_data'])} | "
                       f"{_n(o['flagged'])} |")
    if manifest:
        md = manifest["inputs"]["metadata"]
        pin = f"{md.get('repo')}@{(md.get('commit') or '')[:12]}" if md.get("kind") == "hf" else md["given"]
        out += ["", "## How this census was made", "",
                f"Metadata dump: `{_md(pin)}`; openaudit {manifest['versions']['openaudit']}; "
                f"{manifest['requests']['total']} Hub requests; read: `{manifest['command']['read']}`.", ""]
        out += [f"- {_md(n)}" for n in manifest.get("notes", [])]
    return "\n".join(out) + "\n"


_COLORS = {"open": "#2e7d32", "partial": "#f9a825", "closed": "#c62828", "unknown": "#9e9e9e",
           "likely-meets": "#2e7d32", "likely-fails": "#c62828", "undetermined": "#9e9e9e"}


def _label_width(labels: list[str]) -> int:
    """Room for the longest label (at most 48 characters are shown), at ~7 px a character."""
    return 12 + 7 * min(48, max((len(x) for x in labels), default=8))


def _bars(rows: list[tuple[str, float, str]], *, width: int = 940, fmt: Any = _n, color: str = "#1565c0") -> str:
    """A horizontal bar chart as inline SVG: (label, value, note) per bar; labels escaped."""
    if not rows:
        return "<p>No data.</p>"
    top = max(v for _, v, _ in rows) or 1
    bar_h, gap = 20, 6
    label_w = _label_width([r[0] for r in rows])
    note_w = 12 + 7 * max(len(fmt(v) + note) for _, v, note in rows)
    height = len(rows) * (bar_h + gap)
    parts = [f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value, note) in enumerate(rows):
        y = i * (bar_h + gap)
        w = int(max(40, width - label_w - note_w) * (value / top))
        fill = _COLORS.get(label.split(" ")[0], color)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
                     f"{html.escape(label[:48])}</text>")
        parts.append(f'<rect x="{label_w}" y="{y}" width="{max(w, 1)}" height="{bar_h}" fill="{fill}"/>')
        parts.append(f'<text x="{label_w + max(w, 1) + 6}" y="{y + 15}" font-size="12">'
                     f"{html.escape(fmt(value))}{html.escape(note)}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _stacked(rows: list[tuple[str, dict[str, float]]], order: tuple[str, ...], width: int = 940) -> str:
    """One 100 % bar per row, split by `order` (verdicts), as inline SVG."""
    if not rows:
        return "<p>No data.</p>"
    bar_h, gap = 20, 6
    label_w = _label_width([r[0] for r in rows])
    height = len(rows) * (bar_h + gap) + 24
    span = width - label_w - 10
    parts = [f'<svg role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, vals) in enumerate(rows):
        y = i * (bar_h + gap)
        total = sum(vals.values()) or 1
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="12">'
                     f"{html.escape(label[:48])}</text>")
        x = float(label_w)
        for k in order:
            w = span * vals.get(k, 0) / total
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                             f'fill="{_COLORS.get(k, "#607d8b")}"><title>{html.escape(k)}: '
                             f"{_n(vals.get(k, 0))}</title></rect>")
            x += w
    y = len(rows) * (bar_h + gap) + 14
    x = label_w
    for k in order:
        parts.append(f'<rect x="{x}" y="{y - 10}" width="10" height="10" fill="{_COLORS.get(k, "#607d8b")}"/>'
                     f'<text x="{x + 14}" y="{y}" font-size="11">{html.escape(k)}</text>')
        x += 14 + 7 * len(k) + 18
    parts.append("</svg>")
    return "".join(parts)


def render_html(s: dict[str, Any], manifest: dict[str, Any] | None = None) -> str:
    e = html.escape
    owc = s["open_weights_closed_data"]
    flag_rows = [(f["id"], float(f["models"]), f" ({_pct(f['share'])}; {_pct(f['download_share'])} of downloads)")
                 for f in s["flags"]]
    cats = [(c["license_category"], float(c["models"]), f" models, {_n(c['downloads'])} downloads")
            for c in s["by_license_category"]]
    matrix: dict[str, dict[str, float]] = {}
    for m in s["license_category_x_osaid"]:
        matrix.setdefault(m["license_category"], {})[m["osaid"]] = m["models"]
    dims = [(d, {k: float(v["models"]) for k, v in vs.items()}) for d, vs in s["dimensions"].items()]
    patterns = [(p["label"], float(p["models"]), f" models, {_n(p['downloads'])} downloads") for p in s["patterns"]]

    def org_table(key: str) -> str:
        head = ("<tr><th>Organisation</th><th>Models</th><th>Downloads</th><th>Mean score</th>"
                "<th>OSAID likely-meets</th><th>Open data</th><th>Open weights, closed data</th><th>Flagged</th></tr>")
        body = "".join(
            f"<tr><td>{e(str(o['organisation']))}</td><td>{_n(o['models'])}</td><td>{_n(o['downloads'])}</td>"
            f"<td>{'–' if o['mean_score'] is None else format(o['mean_score'], '.1f')}</td>"
            f"<td>{_n(o['osaid_likely_meets'])}</td><td>{_n(o['open_data'])}</td>"
            f"<td>{_n(o['open_weights_closed_data'])}</td><td>{_n(o['flagged'])}</td></tr>"
            for o in s["top_organisations"][key])
        return f"<table>{head}{body}</table>"

    how = ""
    if manifest:
        md = manifest["inputs"]["metadata"]
        pin = f"{md.get('repo')}@{md.get('commit')}" if md.get("kind") == "hf" else md["given"]
        notes = "".join(f"<li>{e(n.replace('`', ''))}</li>" for n in manifest.get("notes", []))
        how = (f"<h2>How this census was made</h2><p>Metadata dump <code>{e(str(pin))}</code>; openaudit "
               f"{e(manifest['versions']['openaudit'])}; {manifest['requests']['total']} Hub requests; "
               f"read: <code>{e(manifest['command']['read'])}</code>. manifest.json pins every input.</p>"
               f"<ul>{notes}</ul>")
    missing = (f"<p>Not defined in this version of openaudit (not counted): {e(', '.join(s['flags_not_defined']))}.</p>"
               if s["flags_not_defined"] else "")
    status = ", ".join(f"{e(k)}: {_n(v)}" for k, v in s["status"].items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>openaudit census</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:14px/1.5 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}}
table{{border-collapse:collapse;margin:.5em 0}}td,th{{border:1px solid #ddd;padding:3px 8px;text-align:right}}
td:first-child,th:first-child{{text-align:left}}h2{{margin-top:2em}}code{{background:#f4f4f4;padding:0 3px}}</style>
</head><body>
<h1>openaudit census</h1>
<p><strong>{_n(s['models'])} models</strong>, {_n(s['downloads'])} downloads. {status}.</p>
<h2>Flags</h2><p>Models flagged, with their share of models and of downloads.</p>{_bars(flag_rows)}{missing}
<h2>Dimension patterns</h2><p>Open weights, closed data: <strong>{_n(owc['models'])} models</strong>
({_pct(owc['share'])}), {_n(owc['downloads'])} downloads.</p>{_bars(patterns)}
<h2>Licence categories</h2>{_bars(cats)}
<h2>Licence category × OSAID verdict</h2>
{_stacked(list(matrix.items()), ("likely-meets", "undetermined", "likely-fails", "not audited"))}
<h2>Dimensions</h2>{_stacked(dims, (*VERDICTS, "not audited"))}
<h2>Top organisations by models</h2>{org_table("by_models")}
<h2>Top organisations by downloads</h2>{org_table("by_downloads")}
{how}
</body></html>
"""


def write_outputs(outdir: Path, quiet: bool = True) -> dict[str, Any]:
    """summary.json, census.md and census.html from the results (each written atomically)."""
    from openaudit.sources.store import atomic_write

    s = summarise(outdir)
    manifest = None
    mpath = outdir / "manifest.json"
    if mpath.is_file():
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except ValueError:
            manifest = None
    atomic_write(outdir / "summary.json", json.dumps(s, indent=2, sort_keys=True) + "\n")
    atomic_write(outdir / "census.md", render_markdown(s, manifest))
    atomic_write(outdir / "census.html", render_html(s, manifest))
    return s
