"""Licence-text identification, measured on tests/license_corpus."""

from __future__ import annotations

import sys
import time
from functools import cache
from pathlib import Path

import pytest

from openaudit.licenses import identify_text, identify_with_reason

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import license_id  # noqa: E402

# Measured with benchmarks/license_id.py on 2026-11-22: 46/46 on the corpus, 12/12 held out.
# The margin allows one or two regressions from a library upgrade before the test fails.
MEASURED_OVERALL = 1.0
MEASURED_HELD_OUT = 1.0
MARGIN = 0.05


@cache
def _rows() -> list[license_id.Row]:
    return license_id.evaluate()


def test_corpus_accuracy_is_at_least_the_measured_figure() -> None:
    rows = _rows()
    assert len(rows) >= 40
    acc = license_id.accuracy(rows)
    bad = [f"{r.path}: want {r.expected}, got {r.got}" for r in rows if not r.ok]
    assert acc >= MEASURED_OVERALL - MARGIN, bad


@pytest.mark.parametrize("method", ["askalono", "fingerprint"])
def test_each_method_does_its_share(method: str) -> None:
    rows = [r for r in _rows() if r.expected_method == method]
    assert rows and license_id.accuracy(rows) >= MEASURED_OVERALL - MARGIN
    assert all(r.method == method for r in rows if r.ok and r.expected), "found by the other method"


def test_held_out_texts_written_by_someone_else() -> None:
    rows = license_id.evaluate_held_out()
    if not rows:
        pytest.skip("tests/store_build texts not present")
    assert license_id.accuracy(rows) >= MEASURED_HELD_OUT - MARGIN


def test_fingerprints_win_over_askalono_for_apache_based_ai_licence() -> None:
    apache = (ROOT / "tests/license_corpus/apache-2.0.txt").read_text()
    text = "Falcon 2 11B TII License Version 1.0\n\n" + apache
    ident = identify_text(text, "LICENSE")
    assert ident is not None and ident.key == "falcon-2-11b-1.0" and ident.method == "fingerprint"


def test_a_mention_in_a_sentence_is_not_a_title() -> None:
    text = "We note that this model follows the Llama 3.1 Community License Agreement for its base.\n"
    assert identify_text(text) is None


def test_llama_versions_are_told_apart() -> None:
    corpus = ROOT / "tests/license_corpus"
    keys = {identify_text((corpus / f).read_text()).key for f in  # type: ignore[union-attr]
            ("llama2-excerpt.txt", "llama3-excerpt.txt", "llama3.1-excerpt.txt", "llama3.2-excerpt.txt",
             "llama3.3-excerpt.txt", "llama4-excerpt.txt")}
    assert len(keys) == 6


def test_apache_without_appendix_is_not_pixar() -> None:
    ident = identify_text((ROOT / "tests/license_corpus/apache-2.0-no-appendix.txt").read_text())
    assert ident is not None and ident.key == "Apache-2.0"


@pytest.mark.parametrize(("text", "why"), [
    ("", "empty"), ("   \n\t  ", "empty"), ("\x00\x01binary\x00" * 50, "binary"), (None, "no text"),
])
def test_empty_and_binary_give_none_with_a_reason(text: str | None, why: str) -> None:
    ident, reason = identify_with_reason(text)
    assert ident is None and why in reason


def test_ten_megabytes_is_bounded_and_does_not_crash() -> None:
    big = ("lorem ipsum dolor sit amet " * 400_000)[:10_000_000]
    t0 = time.perf_counter()
    ident, reason = identify_with_reason(big, "LICENSE")
    assert time.perf_counter() - t0 < 5
    assert ident is None and reason
