#!/usr/bin/env python3
"""CPU of one model's audit on the realistic generator (issue 23, target 1): no network, no start-up.

    python benchmarks/audit_cpu.py [--models N] [--repeat R] [--against DIR] [--profile]

Generates benchmarks/org_audit.py's organisation (distinct cards of ~4.4 KB, licence files, datasets,
bases) into a temporary snapshot store, and in a child process per tree: reads every model from the
store and links it as `org` does (`fetch_bundle(prose=[])`), audits each once untimed (loads the
profiles and the licence knowledge base, identifies the few shared licence texts: an organisation
pays these once), empties the card cache, then times `audit_packed` for every model with the
thread's CPU clock (`time.thread_time`): the card's front matter and Markdown body, every
extractor, criteria, scores, flags and the packed JSON. It prints the mean and median CPU
milliseconds per model, and a breakdown of the card's share (the Markdown body, the sentence
questions) measured on the same cards. With `--against DIR` (another checkout, e.g.
`git archive bacb7ec | tar -x -C /tmp/base`) that tree's child runs interleaved with this tree's,
each from its own PYTHONPATH; `--repeat` rounds, the median of the rounds' means is reported.
`--profile` prints this tree's top functions by own time (cProfile) over one timed pass.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

CHILD = r"""
import json, statistics, sys, time
from openaudit import api, card as card_mod
from openaudit.evidence import context_for
from openaudit.snapshot import SnapshotBundle

store, org, profile = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
src = api.make_source(snapshots=store, external=False)
profiles = api.resolve_profiles(None)
ids = [line for line in sys.stdin.read().split() if line]
memo = api.RunMemo()
bundles = [api.fetch_bundle(src, src.model(rid), memo, prose=[]) for rid in ids]
for b in bundles:  # untimed: profiles, knowledge base, the organisation's few licence texts
    api.audit_packed(b, profiles)
texts = [b.subject.readme().text for b in bundles if b.subject.readme() is not None]

def clear():
    card_mod._parse_card_cached.cache_clear()

clear()
if profile:
    import cProfile, pstats
    pr = cProfile.Profile()
    pr.enable()
    for b in bundles:
        api.audit_packed(b, profiles)
    pr.disable()
    pstats.Stats(pr, stream=sys.stderr).sort_stats("tottime").print_stats(25)
    clear()
per = []
for b in bundles:
    t0 = time.thread_time()
    api.audit_packed(b, profiles)
    per.append(time.thread_time() - t0)
# The card's share, on the same cards: front matter, Markdown body, every sentence question asked.
clear()
t0 = time.thread_time()
cards = [card_mod.parse_card(t) for t in texts]
front = time.thread_time() - t0
t0 = time.thread_time()
for c in cards:
    c.sections
body = time.thread_time() - t0
asked = []
orig = card_mod.ParsedCard.sentences
def spy(self, pattern, within=None):
    asked.append((pattern, within))
    return orig(self, pattern, within)
card_mod.ParsedCard.sentences = spy
clear()
for b in bundles[:20]:
    api.audit_packed(b, profiles)
card_mod.ParsedCard.sentences = orig
questions = list(dict.fromkeys((p if isinstance(p, str) else p.pattern, w) for p, w in asked))
t0 = time.thread_time()
for c in cards:
    for p, w in questions:
        c.sentences(p, within=w)
sent = time.thread_time() - t0
n = len(bundles)
print(json.dumps({"per": per, "front": front / len(cards), "body": body / len(cards), "sentences": sent / len(cards),
                  "questions": len(questions), "n": n}))
"""


def run_tree(tree: Path, store: Path, org: str, ids: list[str], profile: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    res = subprocess.run([sys.executable, "-c", CHILD, str(store), org, "1" if profile else "0"], cwd=tree, env=env,
                         input="\n".join(ids), capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{tree}: child failed\n{res.stderr[-3000:]}")
    if profile:
        print(res.stderr, file=sys.stderr)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--against", type=Path, default=None, metavar="DIR")
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args(argv)
    import org_audit

    trees = [("this tree", ROOT)]
    if a.against is not None:
        if not (a.against / "openaudit" / "__init__.py").is_file():
            ap.error(f"--against {a.against}: not a checkout of openaudit")
        trees.append(("baseline", a.against.resolve()))
    for _, tree in trees:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "openaudit")], check=False)
    tmp = Path(tempfile.mkdtemp(prefix="openaudit-cpu-"))
    try:
        store = tmp / "store"
        org_audit.generate(store, a.models)
        ids = sorted(f"{org_audit.ORG}/{p.name}" for p in (store / "models" / org_audit.ORG).iterdir())
        results: dict[str, list[dict]] = {name: [] for name, _ in trees}
        for k in range(max(1, a.repeat)):
            for name, tree in trees:
                profile = a.profile and k == 0 and name == "this tree"
                results[name].append(run_tree(tree, store, org_audit.ORG, ids, profile))
                r = results[name][-1]
                print(f"  {name} #{k + 1}: {1000 * statistics.mean(r['per']):.2f} ms a model", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nN={a.models} models of the realistic generator, CPU ms a model (thread CPU clock), "
          f"median of {max(1, a.repeat)} rounds\n")
    print("| tree | audit, mean | audit, median | card front matter | Markdown body | sentence questions |")
    print("|---|---|---|---|---|---|")
    for name, tree in trees:
        rs = results[name]

        def med(f, rs=rs):
            return 1000 * statistics.median(f(r) for r in rs)

        print(f"| {name} ({tree}) | {med(lambda r: statistics.mean(r['per'])):.2f} "
              f"| {med(lambda r: statistics.median(r['per'])):.2f} | {med(lambda r: r['front']):.2f} "
              f"| {med(lambda r: r['body']):.2f} | {med(lambda r: r['sentences']):.2f} ({rs[0]['questions']} asked) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
