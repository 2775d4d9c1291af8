"""Short soak (issue 9; the full one is benchmarks/faults.py): 20 synthetic models audited as an
organisation through a fake Hub with 10% 5xx, 5% resets, 5% stalls, 5% truncated bodies and a rate
limit, fixed seed. No model is lost, and every subject reported like its fault-free audit is equal
to it: no verdict corrupted by a partial read.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _faults() -> object:
    spec = importlib.util.spec_from_file_location("faults_bench", ROOT / "benchmarks" / "faults.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
def test_short_soak_loses_nothing_and_corrupts_nothing() -> None:
    r = _faults().soak(20, fail_rate=0.10, reset_rate=0.05, slow_rate=0.05, truncate_rate=0.05, slow_ms=1500,
                       timeout=1.0, rate_limit="40/2", seed=3, jobs=8)
    assert r["models_requested"] == 20
    assert r["lost"] == 0
    assert r["corrupted"] == 0, r["corrupted_ids"]
    assert r["verified_equal_to_fault_free"] + r["incomplete_because_of_faults"] == 20
    assert r["faults_injected"] > 0 and r["retries"] > 0  # the faults really happened and were retried
