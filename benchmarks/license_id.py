"""Measure licence-text identification on tests/license_corpus (labels.yaml).

    python benchmarks/license_id.py [CORPUS_DIR]

Prints accuracy per expected method (known-text / spdx-similarity / fingerprint / none) and overall, then
the CPU time to identify distinct texts that no verbatim known text answers (openaudit's matcher beside
pyaskalono's `identify`, which openaudit called until issue 23, when it is installed), then every
confusion. `-only`/`-or-later` variants of a GNU licence count as the same key.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from openaudit.licenses.identify import identify_with_reason

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "license_corpus"
# Held out: licence paraphrases written by someone else for the fixture store (not used to tune
# the fingerprints). Expected keys by file name; files that are absent are skipped.
HELD_OUT = Path(__file__).resolve().parents[1] / "tests" / "store_build" / "texts" / "licenses"
HELD_OUT_LABELS: dict[str, str] = {
    "apache-2.0.txt": "Apache-2.0",
    "mit.txt": "MIT",
    "bigscience-bloom-rail-1.0.txt": "bigscience-rail-1.0",
    "deepseek-license.txt": "deepseek-la-1.0",
    "llama2.txt": "llama-2-license-2023",
    "llama3.1.txt": "llama-3.1-license-2024",
    "llama3.2.txt": "llama-3.2-license-2024",
    "microsoft-research-license.txt": "LicenseRef-openaudit-microsoft-research-license",
    "tii-falcon-llm-license-1.0.txt": "LicenseRef-openaudit-tii-falcon-llm-1.0",
    "use_policy_llama2.md": "llama-2-license-2023",
    "use_policy_llama3.1.md": "llama-3.1-license-2024",
    "use_policy_llama3.2.md": "llama-3.2-license-2024",
}


@dataclass(frozen=True)
class Row:
    path: str
    expected: str | None
    expected_method: str
    got: str | None
    method: str | None
    confidence: float
    reason: str

    @property
    def ok(self) -> bool:
        if self.expected is None or self.got is None:
            return self.expected is self.got
        return _base(self.expected) == _base(self.got)


def _base(key: str) -> str:
    return re.sub(r"-(?:only|or-later)$", "", key.lower())


def evaluate(corpus: Path = CORPUS) -> list[Row]:
    labels = yaml.safe_load((corpus / "labels.yaml").read_text(encoding="utf-8"))["files"]
    rows: list[Row] = []
    for name, label in sorted(labels.items()):
        raw = (corpus / name).read_bytes()
        text = raw.decode("utf-8", errors="replace")
        ident, why = identify_with_reason(text, name)
        rows.append(Row(name, label.get("key"), label.get("method") or "none",
                        ident.key if ident else None, ident.method if ident else None,
                        ident.confidence if ident else 0.0, why))
    return rows


def evaluate_held_out(folder: Path = HELD_OUT) -> list[Row]:
    rows: list[Row] = []
    for name, key in sorted(HELD_OUT_LABELS.items()):
        p = folder / name
        if not p.is_file():
            continue
        ident, why = identify_with_reason(p.read_text(encoding="utf-8", errors="replace"), name)
        rows.append(Row(name, key, "held-out", ident.key if ident else None, ident.method if ident else None,
                        ident.confidence if ident else 0.0, why))
    return rows


def accuracy(rows: list[Row]) -> float:
    return sum(r.ok for r in rows) / len(rows) if rows else 0.0


def _median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def unseen_texts(corpus: Path = CORPUS) -> list[tuple[str, str]]:
    """(label, text) of texts that go past the fingerprints and the known texts to the matcher."""
    apache = (corpus / "apache-2.0.txt").read_text(encoding="utf-8")
    return [
        ("Apache-2.0 NOTICE", (corpus / "apache-2.0-notice.txt").read_text(encoding="utf-8")),
        ("Apache-2.0 reflowed", " ".join(apache.split())),
        ("BSD-3-Clause", (corpus / "bsd-3-clause.txt").read_text(encoding="utf-8")),
        ("GPL-3.0 (35 kB)", (corpus / "gpl-3.0.txt").read_text(encoding="utf-8")),
        ("not a licence", (corpus / "not-a-licence.txt").read_text(encoding="utf-8") * 8),
    ]


def unseen_text_cpu(corpus: Path = CORPUS, repeat: int = 5) -> list[tuple[str, float, str | None, float | None, str]]:
    """Per text: (label, CPU seconds (median) for openaudit to identify it, what it said, the same for
    pyaskalono's identify or None when it is not installed, what askalono said). Each call gets a
    distinct text (a line naming a project is added), so no cache answers it."""
    from openaudit.licenses import similarity

    similarity.load_index()  # once per process: measured by index_load_cpu
    try:
        import askalono
    except ImportError:
        askalono = None
    out: list[tuple[str, float, str | None, float | None, str]] = []
    for label, base in unseen_texts(corpus):
        ours: list[float] = []
        theirs: list[float] = []
        got: str | None = None
        said = ""
        for i in range(repeat):
            text = f"{base}\nThis copy ships with project unseen-{time.time_ns()}-{i}.\n"
            t0 = time.process_time()
            ident, _ = identify_with_reason(text, "LICENSE")
            ours.append(time.process_time() - t0)
            got = f"{ident.key} ({ident.method})" if ident else None
            if askalono is not None and i < 3:
                t0 = time.process_time()
                r = askalono.identify(text)
                theirs.append(time.process_time() - t0)
                said = f"{r.name} {r.score:.2f}"
        out.append((label, _median(ours), got, _median(theirs) if theirs else None, said))
    return out


def index_load_cpu() -> float:
    """CPU seconds to read the reference index (once per process, on the first text that needs it)."""
    from openaudit.licenses import similarity

    similarity.load_index.cache_clear()
    t0 = time.process_time()
    similarity.load_index()
    return time.process_time() - t0


def main(argv: list[str]) -> int:
    corpus = Path(argv[1]) if len(argv) > 1 else CORPUS
    t0 = time.perf_counter()
    rows = evaluate(corpus)
    dt = time.perf_counter() - t0
    for method in ("known-text", "spdx-similarity", "fingerprint", "none"):
        sub = [r for r in rows if r.expected_method == method]
        if sub:
            print(f"{method:12s} {sum(r.ok for r in sub):3d}/{len(sub):<3d} {accuracy(sub):6.1%}")
    print(f"{'overall':12s} {sum(r.ok for r in rows):3d}/{len(rows):<3d} {accuracy(rows):6.1%}"
          f"   ({dt * 1000 / max(len(rows), 1):.1f} ms per file)")
    held = evaluate_held_out()
    if held:
        print(f"{'held-out':12s} {sum(r.ok for r in held):3d}/{len(held):<3d} {accuracy(held):6.1%}"
              f"   (tests/store_build texts, written independently)")
    print(f"index load   {index_load_cpu() * 1000:.1f} ms CPU, once per process")
    print("unseen text (CPU ms to identify, median; a distinct copy each time)   openaudit | pyaskalono 0.2")
    for label, ours, got, theirs, said in unseen_text_cpu(corpus):
        other = f"{theirs * 1000:7.1f} ms ({said})" if theirs is not None else "   (not installed)"
        print(f"  {label:22s} {ours * 1000:7.2f} ms {got or 'not identified'!s:32s} | {other}")
    bad = [r for r in [*rows, *held] if not r.ok]
    print("confusions:" if bad else "confusions: none")
    for r in bad:
        print(f"  {r.path}: expected {r.expected}, got {r.got} ({r.method}, {r.confidence:.2f}) {r.reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
