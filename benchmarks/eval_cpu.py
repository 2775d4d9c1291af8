#!/usr/bin/env python3
"""Criteria evaluation CPU per model (issue 23 item 1): findings, scores, frameworks and flags from
evidence already extracted, over every fixture model in tests/store, repeated.

    python benchmarks/eval_cpu.py [--repeat 20]

It audits the fixture store once (not timed) to get each model's evidence, then times only what
`api.audit_bundle` does after extraction: every built-in profile's `evaluate_profile`, its scoring
and `evaluate_flags`. It prints CPU ms per model and a fingerprint of the findings, scores and flags
(a SHA-256 of their JSON), which must be the same before and after a change to the engine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

from openaudit import api
from openaudit.evaluate import evaluate_profile
from openaudit.flags import evaluate_flags
from openaudit.scoring import score_dimensions, score_framework

STORE = Path(__file__).resolve().parent.parent / "tests" / "store"


def _evaluate(profiles, evidence):  # type: ignore[no-untyped-def]
    outcomes: dict[str, str] = {}
    out = []
    for prof in profiles:
        fs = evaluate_profile(prof, evidence, outcomes)
        for f in fs:
            outcomes[f"{prof.id}:{f.criterion}"] = f.outcome
        out.append([f.model_dump() for f in fs])
        if prof.scoring.method == "dimensions":
            dims, score, cov = score_dimensions(prof, fs)
            out.append([{k: v.model_dump() for k, v in dims.items()}, score, cov])
        else:
            out.append(score_framework(prof, fs).model_dump())
    out.append([f.model_dump() for f in evaluate_flags(evidence, outcomes=outcomes)])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args(argv)
    ids = sorted(f"{o.name}/{m.name}" for o in (STORE / "models").iterdir() for m in o.iterdir())
    report = api.audit_models(ids, snapshots=STORE)
    subjects = [s for s in report.subjects if s.evidence]
    profiles = api.resolve_profiles(None)
    results = json.dumps([_evaluate(profiles, s.evidence) for s in subjects], sort_keys=True, default=str)
    digest = hashlib.sha256(results.replace(str(STORE), "STORE").encode()).hexdigest()  # the same in any checkout
    t0 = time.process_time()
    for _ in range(args.repeat):
        for s in subjects:
            outcomes: dict[str, str] = {}
            for prof in profiles:
                fs = evaluate_profile(prof, s.evidence, outcomes)
                for f in fs:
                    outcomes[f"{prof.id}:{f.criterion}"] = f.outcome
                if prof.scoring.method == "dimensions":
                    score_dimensions(prof, fs)
                else:
                    score_framework(prof, fs)
            evaluate_flags(s.evidence, outcomes=outcomes)
    cpu = time.process_time() - t0
    n = args.repeat * len(subjects)
    print(f"models: {len(subjects)}  runs: {n}  evaluation CPU: {1000 * cpu / n:.2f} ms per model")
    print(f"fingerprint: {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
