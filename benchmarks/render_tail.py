#!/usr/bin/env python3
"""The serial tail of `org` (issue 23 item 3): what writing the outputs costs after the last audit.

    python benchmarks/org_audit.py --models 2000 --format html --skip-naive --keep   # prints "kept DIR"
    python benchmarks/render_tail.py DIR/openaudit-org-cold.json --formats json,html,md,sarif

For each format, the CPU and wall time of writing it (its chunks counted, not stored) from the report's
subjects packed as `org` holds them, (a) rendered in this process after the run, as every format was
before, and (b) for html, md, mof-yaml, sarif, junit and github, from the parts an audit worker renders
beside each audit (`html.Pieces`, `markdown.Part`, `mof_yaml.Doc`, `sarif.Results`, `junit.Suite`,
`github.Lines`, `site.Page`, made here first and timed apart: in a run that CPU is spent in the workers, in
parallel). Both give the same bytes (checked). `site` is written as a folder (`write_site`) into a
temporary directory; its bytes and digest are every file's. `--no-parts` times (a) alone, which a
tree before the parts can run too (`PYTHONPATH=BASE python benchmarks/render_tail.py ... --no-parts`).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import replace
from pathlib import Path


def _write(fmt: str, report: object) -> tuple[float, float, int, str]:
    from openaudit.render import stream

    cpu, wall = time.process_time(), time.perf_counter()
    digest = hashlib.sha256()
    size = 0
    if fmt == "site":
        import tempfile

        from openaudit.render.site import write_site

        with tempfile.TemporaryDirectory() as tmp:
            write_site(report, Path(tmp) / "site")  # type: ignore[arg-type]
            elapsed = time.process_time() - cpu, time.perf_counter() - wall
            for path in sorted((Path(tmp) / "site").rglob("*")):
                if path.is_file():
                    data = path.read_bytes()
                    digest.update(str(path.relative_to(tmp)).encode() + b"\0" + data)
                    size += len(data)
        return *elapsed, size, digest.hexdigest()[:16]
    out = stream(fmt)(report)  # type: ignore[arg-type]
    for chunk in [out] if isinstance(out, str | bytes) else out:
        data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
        digest.update(data)
        size += len(data)
    return time.process_time() - cpu, time.perf_counter() - wall, size, digest.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("report", type=Path, help="a JSON report (org_audit.py --keep leaves one)")
    ap.add_argument("--formats", default="json,html", help="comma-separated formats (default json,html)")
    ap.add_argument("--no-parts", action="store_true", help="only what is rendered after the run (no workers' parts)")
    a = ap.parse_args(argv)
    from openaudit.render import github, html, junit, markdown, mof_yaml, sarif, site
    from openaudit.report import Report
    from openaudit.subjects import SubjectStore

    report = Report.model_validate_json(a.report.read_bytes())
    store = SubjectStore(report.subjects)
    report = report.model_copy(update={"subjects": store})
    formats = [f.strip() for f in a.formats.split(",") if f.strip()]
    print(f"{len(store)} models")
    print("| format | rendered after the run: CPU s | wall s | from the workers' parts: CPU s | wall s | bytes "
          "| sha256 |")
    print("|---|---|---|---|---|---|---|")
    parts = None
    ids = [p.id for p in report.profiles]
    refs = [(p.id, p.version) for p in report.profiles]
    for fmt in formats:
        cpu, wall, size, digest = _write(fmt, report)
        after = "n/a | n/a"
        if fmt in ("html", "md", "mof-yaml", "sarif", "junit", "github", "site") and not a.no_parts:
            if parts is None:
                makers = {"html": html.Pieces.of, "md": markdown.Part.of, "mof-yaml": mof_yaml.Doc.of}
                if hasattr(sarif, "Results"):  # not in a tree before it (`PYTHONPATH=BASE python ...`)
                    makers["sarif"] = lambda s: sarif.Results.of(s, ids)
                    makers["junit"] = junit.Suite.of
                    makers["github"] = github.Lines.of
                    makers["site"] = lambda s: site.Page.of(s, refs)
                spent = dict.fromkeys(makers, 0.0)
                made_items = []
                for p in store.packed():
                    s = p.subject()
                    pieces = {}
                    for f, make in makers.items():
                        t0 = time.process_time()
                        pieces[f] = make(s)
                        spent[f] += time.process_time() - t0
                    made_items.append(replace(p, pieces=pieces))
                parts = report.model_copy(update={"subjects": SubjectStore(made_items)})
                each = ", ".join(f"{f} {t / max(1, len(store)) * 1000:.2f}" for f, t in spent.items())
                print(f"(parts made in {sum(spent.values()):.2f} CPU-s; ms a model: {each}: the workers' share "
                      "in a run)", file=sys.stderr)
            pcpu, pwall, psize, pdigest = _write(fmt, parts)
            if (psize, pdigest) != (size, digest):
                print(f"{fmt} from the workers' parts differs from the one rendered after the run", file=sys.stderr)
                return 1
            after = f"{pcpu:.2f} | {pwall:.2f}"
        print(f"| {fmt} | {cpu:.2f} | {wall:.2f} | {after} | {size:,} | {digest} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
