"""Data: declared datasets resolved on the Hub, and what the card's training-data prose says.

Naming sources is not the same as publishing them: a dataset is counted as obtainable only when
its repo was found, is public and not gated.
"""

from __future__ import annotations

import re
from typing import Any

from openaudit.evidence import EvidenceContext
from openaudit.evidence._util import as_list, hf_link, human_count
from openaudit.evidence.model import EvidenceList
from openaudit.repoid import shown

_DATASET_ID_RE = re.compile(r"\A(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}\Z")
DATA_SECTIONS = r"training data|pre-?training data|\bdata\b|dataset|training details|training procedure|corpus"
# Named corpora an expert would recognise in prose.
_SOURCES = [
    "Common Crawl", "CommonCrawl", "C4", "RefinedWeb", "The Pile", "Pile", "Dolma", "FineWeb-Edu", "FineWeb",
    "DCLM", "The Stack", "StarCoder", "StarCoderData", "Wikipedia", "arXiv", "ArXiv", "PubMed", "StackExchange",
    "Stack Exchange", "GitHub", "ROOTS", "SlimPajama", "RedPajama", "OpenWebMath", "Project Gutenberg",
    "Books3", "BookCorpus", "OLMo-Mix", "olmo-mix", "Dolmino", "dolmino-mix", "FineMath", "Stack-Edu",
    "Cosmopedia", "AmberDatasets", "USPTO", "Reddit", "HackerNews", "OpenAssistant", "Tulu",
]
_SOURCE_RE = re.compile(r"(?<![\w-])(" + "|".join(re.escape(s) for s in _SOURCES) + r")(?![\w-])")
_TRAINING_WORDS = re.compile(r"\b(trained|training|pre-?train\w*|corpus|corpora|mixture|tokens|data ?mix)\b",
                             re.IGNORECASE)
VAGUE_RE = (
    r"publicly available (online )?(data|sources|datasets)|a new mix of|proprietary|undisclosed|not (been )?"
    r"(disclosed|released|publicly released)|internal data|in-house data|licensed data|mix of open[- ]source and"
    r"|diverse and high-quality|will (be )?release|not release"
)
_TOKENS_RE = re.compile(
    # A number starts after no digit, comma or dot, and is at most 40 characters: the scan is linear on
    # 20 KB of digits (an unbounded run from every digit was quadratic: 96 s).
    r"(?<![\d,.])(\d[\d,.]{0,40})\s*(trillion|billion|million|[TBM]\b)?\+?\s*(?:(?:unique|training|pre-?training|high-quality|"
    r"diverse|and|text|web|code|of)\s+){0,4}tokens",
    re.IGNORECASE,
)
_MULT = {"trillion": 1e12, "t": 1e12, "billion": 1e9, "b": 1e9, "million": 1e6, "m": 1e6, "": 1.0}
# Token counts that are not the training-set size.
_NOT_TRAINING_TOKENS = re.compile(r"(batch size|context|window|every|per (step|batch|device)|sequence length)\W*"
                                  r"(of\s+)?$", re.IGNORECASE)
MIN_TRAINING_TOKENS = 1e9


def valid_dataset_id(value: Any) -> bool:
    return isinstance(value, str) and bool(_DATASET_ID_RE.match(value)) and ".." not in value


def declared_datasets(metadata: dict[str, Any], tags: list[str]) -> list[tuple[str, str]]:
    """(id, via) for `datasets:` entries and `dataset:` tags, in order, deduplicated."""
    out: dict[str, str] = {}
    for d in as_list(metadata.get("datasets")):
        if isinstance(d, str):  # spaces around an id are forgiven; a newline (a YAML block scalar) is not
            out.setdefault(d.strip(" \t"), "metadata")
        else:
            out.setdefault(repr(d)[:100], "metadata")
    for t in tags:
        if t.startswith("dataset:"):
            out.setdefault(t.split(":", 1)[1], "tag")
    return list(out.items())


def parse_tokens(text: str) -> float | None:
    """The largest training-token count in a sentence, ignoring batch sizes, context lengths and intervals."""
    best: float | None = None
    for m in _TOKENS_RE.finditer(text):
        if _NOT_TRAINING_TOKENS.search(text[max(0, m.start() - 40): m.start()]):
            continue
        try:
            n = float(m.group(1).replace(",", "").rstrip("."))
        except ValueError:
            continue
        n *= _MULT[(m.group(2) or "").lower()]
        if n >= MIN_TRAINING_TOKENS and (best is None or n > best):
            best = n
    return best


def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    snap = ctx.snap
    for did, via in declared_datasets(ctx.metadata, snap.tags()):
        pointer = ctx.meta_pointer("datasets") if via == "metadata" else "tags"
        if not valid_dataset_id(did):
            out.add("data.dataset-invalid", {"id": did[:200]}, source=ctx.meta_source(), pointer=pointer,
                    summary=f"datasets entry '{shown(did, 80)}' is not a valid dataset id.",
                    url=ctx.meta_url("datasets"))
            continue
        ds = ctx.bundle.get("dataset", did)
        value: dict[str, Any] = {"id": did, "via": via, "found": ds is not None}
        if ds is not None:
            cd = ds.card_data()
            lic = cd.get("license") or next((t.split(":", 1)[1] for t in ds.tags() if t.startswith("license:")), None)
            value.update(gated=ds.gated() or False, private=bool(ds.info.get("private")),
                         license=lic, has_card=ds.readme() is not None or bool(cd))
            public = not value["gated"] and not value["private"]
            summary = (f"Training dataset {did} is on the Hub ({'public' if public else 'gated'}"
                       + (f", licence {lic}" if lic else "") + ").")
            url = ds.repo_url()
        else:
            reason = ctx.bundle.related_errors.get(f"dataset:{did}", "not resolved")
            value.update(reason=reason)
            summary = f"Declared dataset {did} could not be found on the Hub ({reason})."
            url = None
        out.add("data.dataset", value, source="linked-repo" if ds else ctx.meta_source(), pointer=pointer,
                summary=summary, url=url or ctx.meta_url("datasets"))

    data_blocks = ctx.card.blocks_in(DATA_SECTIONS)
    if data_blocks:
        sec = data_blocks[0].section
        out.add("data.section", {"heading": sec.heading, "line": sec.line, "blocks": len(data_blocks)},
                source="card.body", pointer=ctx.body_pointer(sec.heading, sec.line),
                summary=f"The card has a section on training data (“{sec.heading}”).", url=ctx.line_url(sec.line))

    # Sources named in data sections, or in any sentence about training data; Hub dataset links anywhere.
    named: dict[str, tuple[int, str]] = {}
    # By identity: `b not in data_blocks` compared blocks field by field, quadratic (a 20 KB table: 34 s).
    in_data = {id(b) for b in data_blocks}
    blocks = data_blocks + [b for b in ctx.card.blocks if id(b) not in in_data and _TRAINING_WORDS.search(b.text)]
    for b in blocks:
        for m in _SOURCE_RE.finditer(b.text):
            named.setdefault(m.group(1), (b.line, b.section.heading))
    for link in ctx.card.links:
        hl = hf_link(link.url)
        if hl and hl[0] == "dataset":
            named.setdefault(hl[1], (link.line, link.section.heading))
    if named:
        line, heading = next(iter(named.values()))
        out.add("data.source-named", {"sources": sorted(named)}, source="card.body",
                pointer=ctx.body_pointer(heading, line), confidence="detected", url=ctx.line_url(line),
                summary=f"The card names training sources: {', '.join(sorted(named)[:8])}.")

    for s in ctx.card.sentences(VAGUE_RE, within=DATA_SECTIONS)[:3]:
        out.add("data.vague", {"text": s.text}, source="card.body", pointer=ctx.body_pointer(s.section.heading, s.line),
                confidence="detected", url=ctx.line_url(s.line), summary=f"Vague about data: “{s.text[:160]}”")

    # The card's largest training-token figure (phi-2 names a 250B dataset seen as 1.4T training tokens).
    counted = [(t, s) for s in ctx.card.sentences(_TOKENS_RE.pattern) if (t := parse_tokens(s.text))]
    if counted:
        tokens, s = max(counted, key=lambda ts: ts[0])
        out.add("data.tokens", {"tokens": tokens, "text": s.text}, source="card.body",
                pointer=ctx.body_pointer(s.section.heading, s.line), confidence="detected",
                url=ctx.line_url(s.line), summary=f"Training tokens disclosed: {human_count(tokens)}.")

    for path in snap.sibling_names():
        low = path.lower().rsplit("/", 1)[-1]
        if low.startswith(("data_summary", "datasheet", "training_data_summary")):
            out.add("data.summary-doc", {"path": path, "readable": path in snap.files}, source="file",
                    pointer=ctx.file_pointer(path), url=snap.file_url(path),
                    summary=f"Training-data summary document: {path}.")
