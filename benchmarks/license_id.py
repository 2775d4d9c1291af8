"""Measure licence-text identification on tests/license_corpus (labels.yaml).

    python benchmarks/license_id.py [CORPUS_DIR] [--against DIR] [--rounds R] [--repeat N] [--no-askalono]

Prints accuracy per expected method (known-text / spdx-similarity / fingerprint / none) and overall, then
the CPU time to identify distinct texts that no verbatim known text answers (`unseen_texts`: short and
long standard licences, some reformatted, AI licences with long appendices, a text that is no licence),
then every confusion. Each text is identified in a child process per tree (PYTHONPATH set to the tree)
with the thread's CPU clock, a distinct copy each time (a line naming a project is added, so no cache
answers it), `--repeat` times a round; `--rounds` rounds, the trees' children interleaved; the median
of every timing is reported. The child also times the reference index's first read (once per process)
and answers every corpus, held-out and timed text: with `--against DIR` (another checkout, e.g.
`git archive 35bf9db | tar -x -C /tmp/licfp-base`) that tree runs the same and its answers (key, method,
confidence, excerpt, note, reason) must be this tree's. pyaskalono's `identify` (which openaudit
called until issue 23) is timed in this process on the same texts when it is installed.
`-only`/`-or-later` variants of a GNU licence count as the same key.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from openaudit.licenses.identify import identify_with_reason

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "license_corpus"
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


def _reflow(text: str, width: int = 60) -> str:
    """Paragraphs (blank-line separated) re-wrapped at `width`; a title alone on its line stays alone."""
    return "\n\n".join(textwrap.fill(" ".join(p.split()), width) for p in text.split("\n\n") if p.strip())


def unseen_texts(corpus: Path = CORPUS) -> list[tuple[str, str]]:
    """(label, text) of texts that no verbatim known text answers: the standard ones go past the
    fingerprints and the known texts to the matcher, the AI ones are told by their fingerprints."""

    def read(name: str) -> str:
        return (corpus / name).read_text(encoding="utf-8")

    apache = read("apache-2.0.txt")
    bloom = HELD_OUT / "bigscience-bloom-rail-1.0.txt"
    rail = bloom.read_text(encoding="utf-8") if bloom.is_file() else read("bloom-rail-excerpt.txt")
    notices = ("\n\nTHIRD-PARTY NOTICES\n\nThe tokenizer code is distributed under the Apache License 2.0:\n\n"
               + apache + "\n\nThe evaluation scripts are distributed under the GNU GPL v3:\n\n" + read("gpl-3.0.txt"))
    return [
        ("Apache-2.0 NOTICE", read("apache-2.0-notice.txt")),
        ("BSD-3-Clause", read("bsd-3-clause.txt")),
        ("Apache-2.0 reflowed", " ".join(apache.split())),
        ("EPL-2.0", read("epl-2.0.txt")),
        ("MPL-2.0 as # comment", "\n".join("# " + line for line in read("mpl-2.0.txt").splitlines())),
        ("GPL-2.0", read("gpl-2.0.txt")),
        ("LGPL-2.1 reflowed", _reflow(read("lgpl-2.1.txt"))),
        ("AGPL-3.0", read("agpl-3.0.txt")),
        ("GPL-3.0", read("gpl-3.0.txt")),
        ("GPL-3.0 upper case", read("gpl-3.0.txt").upper()),
        ("Falcon 2 TII (Apache-based)", "Falcon 2 11B TII License Version 1.0\n\n" + _reflow(apache)),
        ("BLOOM RAIL + Apache code", _reflow(rail) + "\n\nThe code is under the Apache License 2.0:\n\n" + apache),
        ("Llama 3.1 + notices", read("llama3.1-excerpt.txt") + "\n\n" + read("llama3.1-use-policy.md") + notices),
        ("not a licence", read("not-a-licence.txt") * 8),
    ]


# Run in a child process per tree (PYTHONPATH and cwd the tree): reads {"answers": [[name, text]...],
# "timed": [[label, text]...], "repeat": N} on stdin, prints one JSON line.
CHILD = r"""
import json, sys, time
import openaudit
from openaudit.licenses import similarity
from openaudit.licenses.identify import identify_with_reason

job = json.load(sys.stdin)
t0 = time.thread_time()
similarity.load_index()
load = time.thread_time() - t0
answers = {}
for name, text in job["answers"]:
    ident, why = identify_with_reason(text, "LICENSE")
    answers[name] = ([ident.key, ident.method, ident.confidence, ident.excerpt, ident.note, why] if ident
                     else [None, None, 0.0, "", "", why])
times = {}
for label, text in job["timed"]:
    xs = []
    for i in range(job["repeat"]):
        t = f"{text}\nThis copy ships with project unseen-{time.time_ns()}-{i}.\n"
        t0 = time.thread_time()
        identify_with_reason(t, "LICENSE")
        xs.append(time.thread_time() - t0)
    times[label] = xs
print(json.dumps({"package": openaudit.__file__, "load": load, "answers": answers, "times": times}))
"""


def answer_texts(corpus: Path = CORPUS) -> list[tuple[str, str]]:
    """Every text whose answer the trees must agree on: the corpus, the held-out texts, the timed texts
    (each with a fixed line added, as the timed copies have) and a few reformattings of the corpus."""
    labels = yaml.safe_load((corpus / "labels.yaml").read_text(encoding="utf-8"))["files"]
    out: list[tuple[str, str]] = []
    for name in sorted(labels):
        text = (corpus / name).read_bytes().decode("utf-8", errors="replace")
        out += [(name, text), (f"{name} upper case", text.upper()), (f"{name} reflowed", _reflow(text)),
                (f"{name} one line", " ".join(text.split()))]
    out += [(f"held-out {name}", (HELD_OUT / name).read_text(encoding="utf-8", errors="replace"))
            for name in sorted(HELD_OUT_LABELS) if (HELD_OUT / name).is_file()]
    out += [(f"timed {label}", f"{text}\nThis copy ships with project unseen-0.\n")
            for label, text in unseen_texts(corpus)]
    return out


def run_child(tree: Path, job: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    res = subprocess.run([sys.executable, "-c", CHILD], cwd=tree, env=env, input=json.dumps(job),
                         capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{tree}: child failed\n{res.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    if not Path(out["package"]).resolve().is_relative_to(tree.resolve()):
        raise SystemExit(f"{tree}: the child imported openaudit from {out['package']}")
    return out


def askalono_cpu(texts: list[tuple[str, str]], repeat: int = 3) -> dict[str, tuple[float, str]]:
    """Per label: (CPU seconds, median, of pyaskalono's identify on a distinct copy; what it said); empty
    when it is not installed."""
    try:
        import askalono
    except ImportError:
        return {}
    out: dict[str, tuple[float, str]] = {}
    for label, base in texts:
        xs: list[float] = []
        said = ""
        for i in range(repeat):
            text = f"{base}\nThis copy ships with project unseen-{time.time_ns()}-{i}.\n"
            t0 = time.thread_time()
            r = askalono.identify(text)
            xs.append(time.thread_time() - t0)
            said = f"{r.name} {r.score:.2f}"
        out[label] = (_median(xs), said)
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", nargs="?", type=Path, default=CORPUS)
    ap.add_argument("--against", type=Path, default=None, metavar="DIR")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--no-askalono", action="store_true")
    a = ap.parse_args(argv[1:])
    corpus: Path = a.corpus
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

    trees = [("this tree", ROOT)]
    if a.against is not None:
        if not (a.against / "openaudit" / "__init__.py").is_file():
            ap.error(f"--against {a.against}: not a checkout of openaudit")
        trees.append(("base", a.against.resolve()))
    timed = unseen_texts(corpus)
    job = {"answers": answer_texts(corpus), "timed": timed, "repeat": max(1, a.repeat)}
    loads: dict[str, list[float]] = {name: [] for name, _ in trees}
    times: dict[str, dict[str, list[float]]] = {name: {label: [] for label, _ in timed} for name, _ in trees}
    answers: dict[str, dict[str, list[Any]]] = {}
    for _ in range(max(1, a.rounds)):
        for name, tree in trees:
            got = run_child(tree, job)
            loads[name].append(got["load"])
            for label, xs in got["times"].items():
                times[name][label] += xs
            answers.setdefault(name, got["answers"])
    theirs = {} if a.no_askalono else askalono_cpu(timed)

    print("index load   " + ", ".join(f"{name} {_median(loads[name]) * 1000:.1f} ms" for name, _ in trees)
          + " CPU, once per process (median of the rounds)")
    n = sum(len(v) for v in times["this tree"].values()) // max(len(timed), 1)
    print(f"unseen text (CPU ms to identify, thread clock, median of {n}; a distinct copy each time)")
    head = " | ".join(["text", "chars", *(name for name, _ in trees), "answer"]
                      + (["pyaskalono 0.2"] if theirs else []))
    print(f"| {head} |\n|{'---|' * (head.count('|') + 1)}")
    for label, text in timed:
        cells = [label, f"{len(text):,}", *(f"{_median(times[name][label]) * 1000:.2f} ms" for name, _ in trees)]
        got = answers["this tree"][f"timed {label}"]
        cells.append(f"{got[0]} ({got[1]})" if got[0] else "not identified")
        if theirs:
            cells.append(f"{theirs[label][0] * 1000:.1f} ms ({theirs[label][1]})")
        print("| " + " | ".join(cells) + " |")
    if len(trees) > 1:
        ours, base = answers["this tree"], answers["base"]
        differ = [k for k in ours if ours[k] != base.get(k)]
        print(f"answers: {'identical' if not differ else 'DIFFERENT'} on {len(ours) - len(differ)}/{len(ours)} texts "
              f"(key, method, confidence, excerpt, note, reason) beside {a.against}")
        for k in differ:
            print(f"  {k}: this tree {ours[k]}, base {base.get(k)}")
    bad = [r for r in [*rows, *held] if not r.ok]
    print("confusions:" if bad else "confusions: none")
    for r in bad:
        print(f"  {r.path}: expected {r.expected}, got {r.got} ({r.method}, {r.confidence:.2f}) {r.reason}")
    return 1 if len(trees) > 1 and differ else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
