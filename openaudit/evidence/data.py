"""Data: declared datasets resolved on the Hub, and what the card's training-data prose says.

Naming sources is not the same as publishing them: a dataset is counted as obtainable only when
its repo was found, is public and not gated.
"""

from __future__ import annotations

import re
from typing import Any

from openaudit.card import Block, Link, ParsedCard, Table, parse_card
from openaudit.evidence import EvidenceContext
from openaudit.evidence._util import as_list, hf_link
from openaudit.evidence.kinds import emits
from openaudit.evidence.model import EvidenceList
from openaudit.repoid import shown
from openaudit.snapshot import not_checked_why

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
# A corpus named by its own capitalised name ("the Qwen Math Corpus v2").
_CORPUS_NAME = re.compile(r"\b((?:[A-Z][\w.-]{0,40}\s){1,3}(?:Corpus|Dataset|Collection))\b(\s+v?\d[\w.]{0,20})?")
# A sentence that points the reader elsewhere ("see our blog, GitHub and documentation") names no source.
_POINTER_RE = re.compile(r"\b(blog|documentation|docs)\b|github (repo|repository|page)\b|\b(see|visit|refer to) our\b",
                         re.IGNORECASE)
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
# Training data beyond the declared datasets (checked only when datasets are declared).
UNDECLARED_RE = (
    r"\bcurated (corpora|corpus|datasets?|data|sources)\b|\bproprietary\b|\bin-house (data|datasets?|corpus)|"
    r"\binternal (data|datasets?)\b|\blicensed data\b|\bsynthetic (\w+ )?(data|datasets?|texts?|examples?|samples?)\b"
    r"[^.]{0,40}\b(generated|created|produced|written) (by|with|using)\b|\b(generated|created) (by|with|using) "
    r"(GPT|Claude|Gemini|an? (LLM|language model|teacher model))|\bnot (been )?(publicly )?released\b|"
    r"\bwill (be )?release\w*|\bunreleased\b|\bundisclosed\b"
)
_SOURCE_HEAD = re.compile(r"source|dataset|data\b|subset|corpus|corpora|domain|category|component", re.IGNORECASE)
_SHARE_HEAD = re.compile(r"%|fraction|share|proportion|percent|tokens|weight|size|ratio|epochs?|\bmix", re.IGNORECASE)


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


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _tokens(text: str) -> set[str]:
    return {t for t in re.split(r"[^a-z0-9]+", text.lower()) if len(t) >= 3}


def source_tables(card: ParsedCard) -> list[tuple[Table, list[tuple[str, str, tuple[Link, ...], int]]]]:
    """Tables that list training sources with their shares: [(table, [(name, share, links, line)])]."""
    found = []
    for t in card.tables:
        if len(t.header) < 2 or not _SOURCE_HEAD.search(t.header[0]) or not any(
                _SHARE_HEAD.search(h) for h in t.header[1:]):
            continue
        rows = []
        for i, row in enumerate(t.rows):
            if not row or not row[0].strip() or row[0].strip().lower() in ("total", "sum", "all"):
                continue
            links = t.links[i][0] if i < len(t.links) and t.links[i] else ()
            rows.append((row[0].strip()[:80], (row[1] if len(row) > 1 else "").strip()[:20], links, t.row_lines[i]))
        if len(rows) >= 2:
            found.append((t, rows))
    return found


_Tables = list[tuple[Table, list[tuple[str, str, tuple[Link, ...], int]]]]


def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    for did, via in declared_datasets(ctx.metadata, ctx.snap.tags()):
        _dataset(ctx, out, did, via)
    data_blocks = ctx.card.blocks_in(DATA_SECTIONS)
    _section(ctx, out, data_blocks)
    tables = source_tables(ctx.card)
    _sources_named(ctx, out, data_blocks, tables)
    declared = [e for e in out.items if e.kind == "data.dataset" and isinstance(e.value, dict)]
    if declared:
        _undeclared(ctx, out, declared, tables)
    _vague(ctx, out)
    # The training-token figure (data.tokens) is read by compute.py, which knows which model a count is for.
    _summary_docs(ctx, out)


@emits("data.dataset", "data.dataset-invalid")
def _dataset(ctx: EvidenceContext, out: EvidenceList, did: str, via: str) -> None:
    """A declared dataset: not a valid id, or what the bundle says of it (public, gated, licence, not checked)."""
    snap = ctx.snap
    pointer = ctx.meta_pointer("datasets") if via == "metadata" else "tags"
    if not valid_dataset_id(did):
        out.add("data.dataset-invalid", {"id": did[:200]}, source=ctx.meta_source(), pointer=pointer,
                summary=f"datasets entry '{shown(did, 80)}' is not a valid dataset id.",
                url=ctx.meta_url("datasets"))
        return
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
        why = not_checked_why(reason, snap.source)
        value.update(reason=reason, checked=why is None)
        summary = (f"Declared dataset {did} was not checked ({shown(why, 300)})." if why is not None
                   else f"Declared dataset {did} could not be found on the Hub ({reason}).")
        url = None
    out.add("data.dataset", value, source="linked-repo" if ds else ctx.meta_source(), pointer=pointer,
            summary=summary, url=url or ctx.meta_url("datasets"))


@emits("data.section")
def _section(ctx: EvidenceContext, out: EvidenceList, data_blocks: list[Block]) -> None:
    if data_blocks:
        sec = data_blocks[0].section
        out.add("data.section", {"heading": sec.heading, "line": sec.line, "blocks": len(data_blocks)},
                source="card.body", pointer=ctx.body_pointer(sec.heading, sec.line),
                summary=f"The card has a section on training data (“{sec.heading}”).", url=ctx.line_url(sec.line))


def _named(ctx: EvidenceContext, data_blocks: list[Block], tables: _Tables) -> dict[str, tuple[int, str]]:
    """Sources named in data sections, or in any sentence about training data; Hub dataset links anywhere;
    the rows of a table of training sources (a data card even when no source is a famous corpus).
    Name -> (line, heading) where it is first named."""
    named: dict[str, tuple[int, str]] = {}
    # By identity: `b not in data_blocks` compared blocks field by field, quadratic (a 20 KB table: 34 s).
    in_data = {id(b) for b in data_blocks}
    blocks = data_blocks + [b for b in ctx.card.blocks if id(b) not in in_data and _TRAINING_WORDS.search(b.text)]
    for b in blocks:
        for sentence in _SPLIT.split(b.text):
            if _POINTER_RE.search(sentence):
                continue
            for m in _SOURCE_RE.finditer(sentence):
                named.setdefault(m.group(1), (b.line, b.section.heading))
            if _TRAINING_WORDS.search(sentence):
                for m in _CORPUS_NAME.finditer(sentence):
                    named.setdefault((m.group(1) + (m.group(2) or "")).strip(), (b.line, b.section.heading))
    for link in ctx.card.links:
        hl = hf_link(link.url)
        if hl and hl[0] == "dataset":
            named.setdefault(hl[1], (link.line, link.section.heading))
    for table, rows in tables:
        for name, _share, _links, line in rows:
            named.setdefault(name, (line, table.section.heading))
    return named


@emits("data.source-named")
def _sources_named(ctx: EvidenceContext, out: EvidenceList, data_blocks: list[Block], tables: _Tables) -> None:
    named = _named(ctx, data_blocks, tables)
    if named:
        line, heading = next(iter(named.values()))
        via_table = [tb for tb, _ in tables]
        out.add("data.source-named", {"sources": sorted(named)[:40], "table": bool(via_table)}, source="card.body",
                pointer=ctx.body_pointer(heading, line), confidence="detected", url=ctx.line_url(line),
                summary=f"The card names training sources: {', '.join(sorted(named)[:8])}"
                        + (f" (a source table at line {via_table[0].line})." if via_table else "."))


@emits("data.vague")
def _vague(ctx: EvidenceContext, out: EvidenceList) -> None:
    for s in ctx.card.sentences(VAGUE_RE, within=DATA_SECTIONS)[:3]:
        out.add("data.vague", {"text": s.text}, source="card.body", pointer=ctx.body_pointer(s.section.heading, s.line),
                confidence="detected", url=ctx.line_url(s.line), summary=f"Vague about data: “{s.text[:160]}”")


@emits("data.summary-doc")
def _summary_docs(ctx: EvidenceContext, out: EvidenceList) -> None:
    snap = ctx.snap
    for path in snap.sibling_names():
        low = path.lower().rsplit("/", 1)[-1]
        if low.startswith(("data_summary", "datasheet", "training_data_summary")):
            out.add("data.summary-doc", {"path": path, "readable": path in snap.files}, source="file",
                    pointer=ctx.file_pointer(path), url=snap.file_url(path),
                    summary=f"Training-data summary document: {path}.")


@emits("data.undeclared")
def _undeclared(ctx: EvidenceContext, out: EvidenceList, declared: list[Any], tables: _Tables) -> None:
    """The `datasets:` list is not proof that all data is listed: what the card describes beyond it."""
    ids = [str(e.value["id"]) for e in declared]
    id_tokens = [_tokens(i.split("/")[-1]) for i in ids]
    # Rows a declared dataset's own card lists as its parts (AmberDatasets is Amber's whole mix).
    covered: set[str] = set()
    for did in ids:
        ds = ctx.bundle.get("dataset", did) if valid_dataset_id(did) else None
        if ds is not None:
            readme = ds.readme()
            for t in parse_card(readme.text if readme else None).tables:
                covered.update(_norm(r[0]) for r in t.rows if r)
    rows_out: list[str] = []
    first_line = 0
    for table, rows in tables:
        for name, share, links, _line in rows:
            linked = {hl[1] for link in links if (hl := hf_link(link.url)) and hl[0] == "dataset"}
            if linked & set(ids) or _norm(name) in covered or any(_tokens(name) & toks for toks in id_tokens):
                continue
            rows_out.append(f"{name} ({share})" if share else name)
            first_line = first_line or table.line
    sentences = [s for s in ctx.card.sentences(UNDECLARED_RE)
                 if any(re.search(DATA_SECTIONS, h, re.IGNORECASE) for h in s.section.path)
                 or _TRAINING_WORDS.search(s.text)]
    if not rows_out and not sentences:
        return
    parts = []
    if rows_out:
        parts.append(f"the source table at line {first_line} lists {', '.join(rows_out[:8])}, "
                     "which no declared dataset covers")
    if sentences:
        parts.append(f"“{sentences[0].text[:160]}”")
    line = first_line or sentences[0].line
    heading = sentences[0].section.heading if sentences and not first_line else ""
    out.add("data.undeclared", {"rows": rows_out[:30], "text": sentences[0].text[:300] if sentences else None,
                                "declared": ids[:20]},
            source="card.body", pointer=ctx.body_pointer(heading, line), url=ctx.line_url(line),
            confidence="detected",
            summary=f"The card describes training data beyond the declared datasets ({', '.join(ids[:4])}): "
                    + "; ".join(parts) + ".")
