"""Licence-text identification, measured on tests/license_corpus."""

from __future__ import annotations

import sys
import time
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openaudit.licenses import identify_text, identify_with_reason, load_kb

ROOT = Path(__file__).resolve().parents[3]
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


@pytest.mark.parametrize("method", ["known-text", "spdx-similarity", "fingerprint"])
def test_each_method_does_its_share(method: str) -> None:
    rows = [r for r in _rows() if r.expected_method == method]
    assert rows and license_id.accuracy(rows) >= MEASURED_OVERALL - MARGIN
    assert all(r.method == method for r in rows if r.ok and r.expected), "found by the other method"


def test_held_out_texts_written_by_someone_else() -> None:
    rows = license_id.evaluate_held_out()
    if not rows:
        pytest.skip("tests/store_build texts not present")
    assert license_id.accuracy(rows) >= MEASURED_HELD_OUT - MARGIN


def test_fingerprints_win_over_the_matcher_for_apache_based_ai_licence() -> None:
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


CORPUS = ROOT / "tests/license_corpus"
_APACHE = (CORPUS / "apache-2.0.txt").read_text()
_MIT = (CORPUS / "mit.txt").read_text()


def _fresh(text: str) -> tuple[object, str]:
    from openaudit.licenses import identify

    return identify._identify(text, "LICENSE", None)


@pytest.fixture
def no_matcher(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The similarity matcher replaced by a recorder that answers nothing: what is identified is
    identified without it."""
    from openaudit.licenses import identify

    asked: list[str] = []
    identify._match.cache_clear()
    monkeypatch.setattr(identify, "_match_call", lambda text: asked.append(text))
    yield asked
    identify._match.cache_clear()


@pytest.mark.parametrize(("name", "text"), [
    ("apache", _APACHE),
    ("apache, appendix filled in", _APACHE.replace("Copyright [yyyy] [name of copyright owner]",
                                                   "Copyright 2024 Example Labs")),
    ("apache, not indented, curly quotes", "\n".join(x.strip() for x in _APACHE.splitlines()).replace(
        '"License"', "\u201cLicense\u201d")),
    ("apache terms, reflowed", " ".join(_APACHE.split("END OF TERMS")[0].split()) + "\nEND OF TERMS AND CONDITIONS"),
    ("mit", _MIT),
    ("mit, markdown title", "# The MIT License (MIT)\n\n" + _MIT),
    ("mit, byte-order mark and CRLF", "\ufeff" + _MIT.replace("\n", "\r\n")),
    ("mit, two holders", "Copyright (c) 2023 A\nCopyright \u00a9 2024 B. All rights reserved.\n" + _MIT),
])
def test_a_verbatim_copy_is_known_without_the_matcher(no_matcher: list[str], name: str, text: str) -> None:
    ident, _ = _fresh(text)
    assert ident is not None and ident.method == "known-text" and ident.confidence == 1.0, name
    assert ident.key == ("Apache-2.0" if "apache" in name else "MIT")
    assert no_matcher == []


@pytest.mark.parametrize(("name", "text"), [
    ("a word changed", _MIT.replace("free of charge", "for a fee")),
    ("a clause added", _MIT + "\nThe Software may not be used for military purposes.\n"),
    ("a notice that sets terms", "Copyright 2024 X. Not for commercial use.\n" + _MIT),
    ("a line first that is no title", "Research use only\n\n" + _MIT),
    ("apache, a clause cut", _APACHE.replace("9. Accepting Warranty or Additional Liability.", "")),
    ("apache, stops mid-way", _APACHE[: len(_APACHE) // 2]),
])
def test_any_other_difference_goes_to_the_matcher(no_matcher: list[str], name: str, text: str) -> None:
    ident, _ = _fresh(text)
    assert ident is None or ident.method != "known-text", name
    assert len(no_matcher) == 1, "the matcher was not asked"


def test_apache_without_its_appendix_says_so() -> None:
    ident = identify_text((CORPUS / "apache-2.0-no-appendix.txt").read_text())
    assert ident is not None and ident.method == "known-text" and "END OF TERMS AND CONDITIONS" in ident.note


@given(st.sampled_from([_MIT, _APACHE]), st.integers(min_value=0), st.from_regex(r"[a-z]{2,9}", fullmatch=True))
def test_one_word_added_to_the_terms_is_never_the_known_text(text: str, where: int, word: str) -> None:
    from openaudit.licenses.known_text import known_texts

    # The terms only: a word added to a copyright notice is a different holder, not different terms.
    start = text.index("Permission") if text is _MIT else 0
    end = text.index("END OF TERMS") if text is _APACHE else len(text)
    words = text[start:end].split(" ")
    at = where % (len(words) + 1)
    changed = text[:start] + " ".join([*words[:at], word, *words[at:]]) + text[end:]
    assert known_texts(load_kb()).match(text) is not None
    assert known_texts(load_kb()).match(changed) is None


# ---- every labelled text gets its label ------------------------------------------------------------
def test_every_corpus_and_held_out_text_gets_its_label() -> None:
    """No margin here: the corpus (standard texts, AI licences, reformatted copies, texts that are no
    licence) and the held-out texts each get exactly the key their label says (GNU -only/-or-later as
    one), by the method it says. What the fast paths below must not change."""
    rows = [*_rows(), *license_id.evaluate_held_out()]
    assert len(rows) >= 50
    wrong = [f"{r.path}: want {r.expected} ({r.expected_method}), got {r.got} ({r.method}) {r.reason}"
             for r in rows
             if not r.ok or (r.expected and r.expected_method != "held-out" and r.method != r.expected_method)]
    assert not wrong, wrong


# ---- the fingerprints' fast path (issue 23) gives the plain regex's answer ---------------------------
def _fingerprint_regexes() -> list[object]:
    from openaudit.licenses import identify

    ai, std = identify._compiled(load_kb())
    return [r for c in (*ai, *std) for r in (*c.titles, *c.versions, *c.clauses)]


def _same_search(rx: object, text: str) -> None:
    from openaudit.licenses import identify

    assert isinstance(rx, identify._Rx)
    fast = rx.search(text, identify._Folded(text))
    plain = rx.rx.search(text)
    assert (fast and (fast.span(), fast.group(0))) == (plain and (plain.span(), plain.group(0))), (
        rx.rx.pattern, text[:200])


# What re.IGNORECASE reads as an ASCII letter besides its two cases (tests/unit/test_card.py checks the
# folding of every code point): a text may use them to look like a licence title.
_LOOKALIKES = {"i": "\u0130\u0131", "s": "\u017f", "k": "\u212a"}


def _case_variants(text: str, seed: int) -> list[str]:
    import random

    rng = random.Random(seed)
    mixed = "".join(rng.choice((c.lower(), c.upper(), *_LOOKALIKES.get(c.lower(), ""))) for c in text)
    return [text, text.upper(), text.swapcase(), mixed, " ".join(text.split())]


def test_fingerprint_needles_give_the_plain_answer_on_the_corpus() -> None:
    """Every fingerprint regex of the knowledge base, on every corpus and held-out text in five case and
    layout variants: the search behind the needles finds what the plain case-blind search finds."""
    regexes = _fingerprint_regexes()
    assert len(regexes) > 40 and sum(r.needles is not None for r in regexes) > len(regexes) // 2  # type: ignore[attr-defined]
    texts = [p.read_bytes().decode("utf-8", errors="replace") for p in sorted(CORPUS.iterdir()) if p.suffix != ".yaml"]
    held = ROOT / "tests/store_build/texts/licenses"
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in sorted(held.glob("*"))]
    for k, text in enumerate(texts):
        for variant in _case_variants(text, k):
            for rx in regexes:
                _same_search(rx, variant)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fingerprint_needles_give_the_plain_answer_on_generated_matches(data: st.DataObject) -> None:
    """Text each regex matches (hypothesis draws it from the regex, in any case), with re's case
    look-alikes mixed in and text around it: the fast path matches exactly where the plain search does."""
    rx = data.draw(st.sampled_from(_fingerprint_regexes()))
    hit = data.draw(st.from_regex(rx.rx))  # type: ignore[attr-defined]
    seed = data.draw(st.integers(0, 2**16))
    around = data.draw(st.sampled_from(["", "Licence terms follow.\n", _MIT[:300]]))
    for variant in _case_variants(hit, seed):
        _same_search(rx, around + variant + "\n" + around)


def test_flattening_reads_whitespace_as_the_regex_did() -> None:
    """`_flatten` (str.split) collapses exactly what re.sub(r"\\s+", " ", ...) collapsed, for every code point."""
    import re

    from openaudit.licenses.identify import _flatten

    every = "x".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c < 0xE000)
    for text in (every, " " + every + "\u3000\n", "\t\n", "a", "", " a  b \x1c c\u2028"):
        assert _flatten(text) == re.sub(r"\s+", " ", text), text[:40]
