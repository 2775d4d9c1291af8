"""A bad user profile is a usage error (exit 2) whose message names the file, the line and the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

STORE = Path(__file__).parents[1] / "store"

GOOD = """\
id: bad
version: "1"
title: Bad profile
scoring:
  method: mof-classes
  classes:
    - id: III
      label: Class III
      requires: [X-C01]
criteria:
  - id: X-C01
    slug: one
    title: One
    question: Q?
    dimension: d
    rules:
      - then: open
        because: fine
  - id: X-C02
    slug: two
    title: Two
    question: Q?
    dimension: d
    weight: 1
    rules:
      - if: {has: weights.published}
        then: open
        because: fine
"""

CASES = {
    # name: (replace, with, line, field, words in the message)
    "unknown-predicate": ("if: {has: weights.published}", "if: {hass: weights.published}", 26,
                          "criteria.1.rules.0.if", "unknown predicate 'hass'"),
    "duplicate-id": ("id: X-C02", "id: X-C01", 19, "criteria.1.id", "duplicate criterion id X-C01"),
    "undefined-component": ("requires: [X-C01]", "requires: [X-C01, X-C09]", 9, "scoring.classes.0.requires.1",
                            "requires undefined component X-C09"),
    "negative-weight": ("weight: 1", "weight: -1", 24, "criteria.1.weight", "greater than or equal to 0"),
    # Issue 27: a pattern that backtracks exponentially hung 90 s on a 40-character value; weights of
    # .inf or 1e308 gave a null or zero score. Refused when the file is loaded.
    "nested-quantifier": ("if: {has: weights.published}",
                          "if: {has: {kind: license.tag, value: {matches: '^(a+)+$'}}}", 26,
                          "criteria.1.rules.0.if", "nested quantifiers"),
    "alternatives-repeated": ("if: {has: weights.published}",
                              "if: {has: {kind: license.tag, where: {key: {matches: '(a|aa)*b'}}}}", 26,
                              "criteria.1.rules.0.if", "alternatives inside a quantified group"),
    "infinite-weight": ("weight: 1", "weight: .inf", 24, "criteria.1.weight", "finite number"),
    "huge-weight": ("weight: 1", "weight: 1e308", 24, "criteria.1.weight", "less than or equal to 1000000"),
    # An evidence kind no extractor emits (a typo) would read as absent on every model: refused.
    "unknown-kind": ("if: {has: weights.published}", "if: {has: weights.publishd}", 26, "criteria.1.rules.0.if",
                     "unknown evidence kind 'weights.publishd': no extractor emits it; did you mean "
                     "'weights.published'"),
    "unknown-kind-listed": ("weight: 1", "weight: 1\n    evidence: [weights.published, data.datset]", 25,
                            "criteria.1.evidence.1", "unknown evidence kind 'data.datset'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_loader_names_file_line_field(tmp_path: Path, case: str) -> None:
    from openaudit.criteria import load_profile_file
    from openaudit.errors import ConfigFileError

    old, new, line, field, words = CASES[case]
    assert old in GOOD
    path = tmp_path / f"{case}.yaml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigFileError) as err:
        load_profile_file(path)
    msg = str(err.value)
    assert f"{path}:{line}" in msg, msg
    assert field in msg and words in msg, msg


def test_good_profile_loads(tmp_path: Path) -> None:
    from openaudit.criteria import load_profile_file

    path = tmp_path / "good.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_profile_file(path).id == "bad"


@pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not built")
@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_exits_2(tmp_path: Path, case: str) -> None:
    old, new, line, field, _words = CASES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(GOOD.replace(old, new), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "openaudit.cli", "audit", "EleutherAI/pythia-1b",
                           "--snapshots", str(STORE), "--profile", str(path), "-f", "json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"{path}:{line}" in proc.stderr and field in proc.stderr
