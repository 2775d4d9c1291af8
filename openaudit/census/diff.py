"""`openaudit diff OLD_CENSUS NEW_CENSUS`: what changed between two censuses (two dumps), by DuckDB.

Models are matched by id. For each model in both: the fields that changed (status, licence, the five
dimension verdicts, MOF class, OSAID and EU AI Act verdicts, flags raised and cleared), each with a
direction as in openaudit.diff (`up` more open, `down` less open, `changed`). Totals: models added,
removed and changed, regressions and improvements, and how each figure of the summary moved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from openaudit.diff import _direction
from openaudit.errors import UsageError
from openaudit.vocab import EU_RANK, LICENSE_RANK, MOF_RANK, OSAID_RANK, VERDICT_RANK

FIELDS: list[tuple[str, Mapping[str, int] | None]] = [
    ("status", None), ("license_key", None), ("weights", VERDICT_RANK), ("code", VERDICT_RANK),
    ("data", VERDICT_RANK), ("license", VERDICT_RANK), ("documentation", VERDICT_RANK), ("mof", MOF_RANK),
    ("osaid", OSAID_RANK), ("eu_ai_act", EU_RANK),
]
MAX_LISTED = 500  # models listed with their changes (the counts are always whole)


def is_census(path: Path) -> bool:
    return path.is_dir() and (path / "results").is_dir()


def _view(con: Any, name: str, outdir: Path) -> None:
    parts = sorted((outdir / "results").glob("part-*.parquet"))
    if not parts:
        from openaudit.census.partition import result_schema

        con.register(name, result_schema().empty_table())
        return
    listed = ", ".join("'" + str(p).replace("'", "''") + "'" for p in parts)
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{listed}])")


def diff_censuses(old: Path, new: Path) -> dict[str, Any]:
    from openaudit.census import require

    require("duckdb", "pyarrow")
    import duckdb

    for p in (old, new):
        if not is_census(p):
            raise UsageError(f"'{p}' is not a census folder (no results/ in it)")
    con = duckdb.connect()
    try:
        _view(con, "a", old)
        _view(con, "b", new)
        added = [r[0] for r in con.execute("SELECT id FROM b ANTI JOIN a USING (id) ORDER BY id").fetchall()]
        removed = [r[0] for r in con.execute("SELECT id FROM a ANTI JOIN b USING (id) ORDER BY id").fetchall()]
        cols = ", ".join(f"a.{f} AS a_{f}, b.{f} AS b_{f}" for f, _ in FIELDS)
        cur = con.execute(f"SELECT a.id, a.license_category AS a_cat, b.license_category AS b_cat, "
                          f"a.flags AS a_flags, b.flags AS b_flags, {cols} FROM a JOIN b USING (id) ORDER BY a.id")
        names = [d[0] for d in cur.description]
        models: list[dict[str, Any]] = []
        changed = downs = ups = 0
        while True:
            chunk = cur.fetchmany(10_000)
            if not chunk:
                break
            for raw in chunk:
                r = dict(zip(names, raw, strict=True))
                ch = []
                for f, rank in FIELDS:
                    va, vb = r[f"a_{f}"], r[f"b_{f}"]
                    if va == vb:
                        continue
                    if f == "license_key":
                        direction = _direction(r["a_cat"], r["b_cat"], LICENSE_RANK)
                    else:
                        direction = _direction(va, vb, rank) if rank else "changed"
                    ch.append({"field": f, "old": va, "new": vb, "direction": direction})
                fa, fb = set(r["a_flags"] or []), set(r["b_flags"] or [])
                ch += [{"field": f"flags.{f}", "old": None, "new": f, "direction": "down"} for f in sorted(fb - fa)]
                ch += [{"field": f"flags.{f}", "old": f, "new": None, "direction": "up"} for f in sorted(fa - fb)]
                if ch:
                    changed += 1
                    downs += sum(c["direction"] == "down" for c in ch)
                    ups += sum(c["direction"] == "up" for c in ch)
                    if len(models) < MAX_LISTED:
                        models.append({"id": r["id"], "changes": ch})
    finally:
        con.close()
    summary = {}
    for label, p in (("old", old), ("new", new)):
        try:
            summary[label] = json.loads((p / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            summary[label] = {}
    return {"old": str(old), "new": str(new), "added": len(added), "removed": len(removed), "changed": changed,
            "regressions": downs, "improvements": ups, "added_ids": added[:MAX_LISTED],
            "removed_ids": removed[:MAX_LISTED], "models": models, "figures": _figures(summary["old"], summary["new"])}


def _figures(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """How the summary's headline figures moved: models, downloads, each flag, each licence category."""
    out = []

    def add(name: str, va: Any, vb: Any) -> None:
        if va != vb:
            out.append({"figure": name, "old": va, "new": vb})

    add("models", a.get("models"), b.get("models"))
    add("downloads", a.get("downloads"), b.get("downloads"))
    fa = {f["id"]: f["models"] for f in a.get("flags", [])}
    fb = {f["id"]: f["models"] for f in b.get("flags", [])}
    for fid in sorted(set(fa) | set(fb)):
        add(f"flag {fid}", fa.get(fid, 0), fb.get(fid, 0))
    ca = {c["license_category"]: c["models"] for c in a.get("by_license_category", [])}
    cb = {c["license_category"]: c["models"] for c in b.get("by_license_category", [])}
    for cat in sorted(set(ca) | set(cb), key=str):
        add(f"licence category {cat}", ca.get(cat, 0), cb.get(cat, 0))
    owa, owb = a.get("open_weights_closed_data", {}), b.get("open_weights_closed_data", {})
    add("open weights, closed data", owa.get("models"), owb.get("models"))
    return out


_ARROW = {"up": "▲", "down": "▼", "changed": "•"}


def render_terminal(d: dict[str, Any]) -> str:
    lines = [f"openaudit census diff: {d['old']} → {d['new']}",
             f"{d['added']} model(s) added, {d['removed']} removed, {d['changed']} changed; "
             f"{d['regressions']} regression(s), {d['improvements']} improvement(s)"]
    for f in d["figures"]:
        lines.append(f"  {f['figure']}: {f['old']} → {f['new']}")
    for m in d["models"]:
        lines.append(f"\n{m['id']}")
        for c in m["changes"]:
            lines.append(f"  {_ARROW[c['direction']]} {c['field']}: {c['old'] or '-'} → {c['new'] or '-'}")
    if d["changed"] > len(d["models"]):
        lines.append(f"\n… and {d['changed'] - len(d['models'])} more changed model(s) (see --format json)")
    return "\n".join(lines) + "\n"


def _md(s: Any) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def render_markdown(d: dict[str, Any]) -> str:
    out = [f"# openaudit census diff\n\n{_md(d['old'])} → {_md(d['new'])}: {d['added']} added, {d['removed']} removed, "
           f"{d['changed']} changed; **{d['regressions']} regression(s)**, {d['improvements']} improvement(s).\n"]
    if d["figures"]:
        out.append("| Figure | Old | New |\n|---|---:|---:|")
        out += [f"| {_md(f['figure'])} | {f['old']} | {f['new']} |" for f in d["figures"]]
        out.append("")
    if d["models"]:
        out.append("| Model | Change | Direction |\n|---|---|---|")
        for m in d["models"]:
            for c in m["changes"]:
                out.append(f"| `{_md(m['id'])}` | {_md(c['field'])}: {_md(c['old'] or '-')} → {_md(c['new'] or '-')} "
                           f"| {c['direction']} |")
    return "\n".join(out) + "\n"


def render_json(d: dict[str, Any]) -> str:
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"


FORMATS = {"terminal": render_terminal, "md": render_markdown, "json": render_json}
