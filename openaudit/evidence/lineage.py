"""Lineage: base models declared in metadata and tags, or only named in prose, followed through the bundle.

`declared_bases` and `prose_bases` are also used by the API to decide what to fetch; the walk
below only reads snapshots already in the bundle.
"""

from __future__ import annotations

import re
from typing import Any

from openaudit.card import ParsedCard
from openaudit.evidence import EvidenceContext, context_for
from openaudit.evidence._util import as_list, hf_link
from openaudit.evidence.kinds import emits
from openaudit.evidence.model import EvidenceList
from openaudit.repoid import shown, validate_repo_id
from openaudit.snapshot import NOT_THERE, RepoSnapshot, SnapshotBundle, not_checked_why

MAX_DEPTH = 8
_RELATIONS = {"adapter", "merge", "quantized", "finetune"}
_PROSE_RE = (
    r"\b(fine-?tuned|distill(?:ed)?|derived|based|built|initiali[sz]ed|adapted|continued[- ]pretrain\w*|"
    r"quantized|quantised|merged|converted|pruned|trained)\s+(from|upon|on top of)\b|"
    r"\b(based|built)\s+on\b|\b(distilled|merged)\s+(of|with|into)\b|"
    r"\b(fine-?tuned|instruct(?:ion)?[- ]tuned|quantized|quantised|compressed|converted|distilled|pruned|gguf|awq|"
    r"gptq|exl2|mlx|onnx|int[48]|[48]-?bit)\s+(version|variant|conversion|checkpoint|release|export)s?\s+of\b|"
    r"\bversion of the weights of\b|\bmerge of\b|\bderivative of\b|\boriginally licensed\b|\blora adapters?\s+for\b"
)
_RELATION_WORDS = [
    ("quantized", re.compile(r"quanti[sz]ed|compressed|gguf|awq|gptq|exl2|int[48]|[48]-?bit", re.I)),
    ("merge", re.compile(r"merge", re.I)),
    ("adapter", re.compile(r"adapter", re.I)),
    ("finetune", re.compile(r"fine-?tuned|instruct|distill|trained|continued", re.I)),
]
# An owner/name in prose: not part of a path or URL (no '.', '/', ':' or word char before or '/' after),
# and not a file name.
_ID_IN_TEXT = re.compile(r"(?<![\w./:-])([A-Za-z0-9][\w.-]{1,95}/[A-Za-z0-9][\w.-]{1,95})(?![\w/-])")
# A model-like name: letters with a hyphen and a digit (DeepSeek-R1-Distill-Llama-8B, Llama-3.1-8B).
# Bounded, and starting where a word-or-dot run starts: linear on any text (issue 26).
_MODEL_NAME = re.compile(r"(?<![\w.])[A-Za-z][\w.]{0,96}-[\w.-]{0,96}?\d[\w.-]{0,96}")
_WINDOW = 80  # characters after a lineage phrase in which the base must be named
_FILE_EXT = re.compile(r"\.(py|md|json|txt|ya?ml|sh|toml|cfg|html?|pdf|safetensors|bin)$", re.IGNORECASE)


def _valid(repo_id: str) -> bool:
    try:
        validate_repo_id(repo_id)
    except Exception:
        return False
    return True


def declared_bases(metadata: dict[str, Any], tags: list[str]) -> list[tuple[str, str | None, str]]:
    """(id, relation, via) from `base_model` and `base_model:` tags, in order, without duplicates."""
    rel = metadata.get("base_model_relation")
    relation = rel if isinstance(rel, str) and rel in _RELATIONS else None
    out: dict[str, tuple[str, str | None, str]] = {}
    for b in as_list(metadata.get("base_model")):
        if isinstance(b, str) and b.strip():  # spaces are forgiven; a newline (a YAML block scalar) is not
            out.setdefault(b.strip(" \t"), (b.strip(" \t"), relation, "metadata"))
    for t in tags:
        parts = t.split(":")
        if parts[0] != "base_model" or len(parts) < 2:
            continue
        if len(parts) == 3 and parts[1] in _RELATIONS:
            bid = parts[2]
            prev = out.get(bid)
            out[bid] = (bid, parts[1], prev[2] if prev else "tag")
        elif len(parts) == 2:
            out.setdefault(parts[1], (parts[1], relation, "tag"))
    return list(out.values())


def _names_other_model(before: str, own_name: str) -> bool:
    """True when the words before a lineage phrase name a model other than this one.

    Family cards (DeepSeek-R1's describes every distill) say "X-Distill-Llama-8B is derived from
    Llama": that sentence is about X-Distill-Llama-8B, not about the repo the card sits in.
    """
    names = _MODEL_NAME.findall(before)
    if not names:
        return False
    own = own_name.lower()
    return all(n.lower().strip(".") != own and not own.endswith(n.lower().strip(".")) for n in names)


def _relation(phrase: str) -> str | None:
    return next((rel for rel, rx in _RELATION_WORDS if rx.search(phrase)), None)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_BASE_HEAD = re.compile(r"^\W*(base|parent|original|foundation|source)( model)?\W*$|^\W*(fine-?tuned|quanti[sz]ed|"
                        r"converted|distilled) from\W*$", re.IGNORECASE)


def table_bases(card: ParsedCard, own_name: str) -> list[tuple[str, str, int, str]]:
    """(id, text, line, heading) from a base-model table: a "Base Model" column in the row naming this model,
    or a key/value row "Base model | X"."""
    found: list[tuple[str, str, int, str]] = []
    own = _norm(own_name)
    for t in card.tables:
        rows = [(t.header, ()), *[(r, t.links[i] if i < len(t.links) else ()) for i, r in enumerate(t.rows)]]
        col = next((i for i, h in enumerate(t.header) if i > 0 and _BASE_HEAD.search(h)), None)
        for i, (row, links) in enumerate(rows[1:]):
            cell_links: tuple[Any, ...] = ()
            text = ""
            if col is not None and row and own and _norm(row[0]) == own and col < len(row):
                cell_links, text = (links[col] if col < len(links) else ()), row[col]
            elif len(row) >= 2 and _BASE_HEAD.search(row[0]):
                cell_links, text = (links[1] if len(links) > 1 else ()), row[1]
            if not text:
                continue
            ids = [hl[1] for lk in cell_links if (hl := hf_link(lk.url)) and hl[0] == "model"]
            ids += [m.group(1) for m in _ID_IN_TEXT.finditer(text)]
            for cid in ids[:1]:
                if _valid(cid):
                    line = t.row_lines[i] if i < len(t.row_lines) else t.line
                    found.append((cid, "base-model table row: " + " | ".join(row)[:200], line, t.section.heading))
    return found


def prose_bases(card: ParsedCard, own_name: str = "") -> list[tuple[str, str, int, str]]:
    """(id, sentence, line, heading) for Hub ids that closely follow a lineage phrase ("fine-tuned from X",
    "a quantized version of X", "merge of"), and for the row of a base-model table naming this model.

    The id must come within a few words after the phrase, as text or as a Hub link whose text does;
    a model merely mentioned in the same paragraph ("the same tokenizer as X") is not a base. A
    base-model table is more precise than a family card's licence paragraph, so when one names this
    model's base, links to licence files in prose are not read as bases.
    """
    found: dict[str, tuple[str, str, int, str]] = {}
    for row in table_bases(card, own_name):
        found.setdefault(row[0], row)
    hub_links: dict[tuple[int, str], list[tuple[str, str, str]]] = {}
    for link in card.links:
        hl = hf_link(link.url)
        if hl and hl[0] == "model" and link.text:
            hub_links.setdefault((link.line, link.section.heading), []).append((link.text, hl[1], link.url))
    rx = re.compile(_PROSE_RE, re.IGNORECASE)
    merge_sections: list[Any] = []
    for s in card.sentences(_PROSE_RE):
        for m in rx.finditer(s.text):
            if own_name and _names_other_model(s.text[max(0, m.start() - 120): m.start()], own_name):
                continue
            window = s.text[m.end(): m.end() + _WINDOW]
            candidates = [(window.find(text), cid, url) for text, cid, url in
                          hub_links.get((s.line, s.section.heading), []) if text in window]
            candidates += [(im.start(), im.group(1), "") for im in _ID_IN_TEXT.finditer(window)]
            if not candidates and "merge" in m.group(0).lower():
                merge_sections.append(s.section)
            for _, cid, url in sorted(candidates)[:1]:
                if found and re.search(r"/(blob|resolve)/[^/]+/LICEN[CS]E", url, re.IGNORECASE):
                    continue
                if (_valid(cid) and cid not in found and not _FILE_EXT.search(cid)
                        and not cid.lower().startswith(("http", "www."))):
                    found[cid] = (cid, s.text, s.line, s.section.heading)
    # "This is a merge of ... The following models were included:" then a list of Hub links.
    for link in card.links:
        hl = hf_link(link.url)
        inside = any(link.section.path[: len(sec.path)] == sec.path for sec in merge_sections)
        if hl and hl[0] == "model" and inside and _valid(hl[1]) and hl[1] not in found:
            found[hl[1]] = (hl[1], f"merged model: {link.text[:80]}", link.line, link.section.heading)
    return list(found.values())


def prose_relation(sentence: str) -> str | None:
    """The relation a lineage sentence states (quantized, merge, adapter, finetune), if any."""
    m = re.search(_PROSE_RE, sentence, re.IGNORECASE)
    if sentence.startswith("merged model:"):
        return "merge"
    return _relation(m.group(0)) if m else None


def _snapshot_bases(snap: RepoSnapshot) -> list[tuple[str, str | None, str]]:
    return declared_bases(context_for(SnapshotBundle(subject=snap)).metadata, snap.tags())


def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    direct = declared_bases(ctx.metadata, ctx.snap.tags())
    for bid, relation, via in direct:
        _declared_base(ctx, out, bid, relation, via, direct)
    _prose_bases(ctx, out, direct)
    _ancestors(ctx, out, direct)


@emits("lineage.base_model")
def _declared_base(ctx: EvidenceContext, out: EvidenceList, bid: str, relation: str | None, via: str,
                   direct: list[tuple[str, str | None, str]]) -> None:
    """A base model declared in metadata or tags, then why it is not in the bundle when it is not."""
    snap = ctx.snap
    base = ctx.bundle.get("model", bid)
    if base is None:  # the same repository declared twice, once under its old (redirected) name
        base = next((b for d in direct if d[0] != bid and (b := ctx.bundle.get("model", d[0])) is not None
                     and b.repo_id == bid), None)
    pointer = ctx.meta_pointer("base_model") if via == "metadata" else "tags"
    value = {"id": bid, "canonical_id": base.repo_id if base else None, "relation": relation, "via": via,
             "depth": 1, "found": base is not None}
    if base is None and not_checked_why(ctx.bundle.related_errors.get(f"model:{bid}"), snap.source):
        value["checked"] = False  # not looked up: reports say "not checked", never "not found"
    renamed = f" (now {base.repo_id})" if base and base.repo_id != bid else ""
    out.add("lineage.base_model", value, source=ctx.meta_source() if via == "metadata" else "api",
            pointer=pointer, url=ctx.meta_url("base_model") if via == "metadata" else snap.repo_url(),
            summary=f"Base model {shown(bid, 200)}{renamed}" + (f" ({relation})" if relation else "") + ".")
    _unresolved_base(ctx, out, bid, pointer, found=base is not None)


@emits("lineage.unchecked-base", "lineage.missing-base", "lineage.invalid-base")
def _unresolved_base(ctx: EvidenceContext, out: EvidenceList, bid: str, pointer: str, found: bool) -> None:
    """A declared base that is not a valid id, was not looked up, or was looked up and not found or read."""
    if not found and _valid(bid):
        reason = ctx.bundle.related_errors.get(f"model:{bid}", "not resolved")
        why = not_checked_why(reason, ctx.snap.source)
        if why is not None:  # not looked up is not missing: no lineage-broken
            out.add("lineage.unchecked-base", {"id": bid, "reason": reason}, source=ctx.meta_source(),
                    pointer=pointer, summary=f"Declared base model {shown(bid, 200)} was not checked "
                    f"({shown(why, 300)}).")
        else:
            said = (f"was not found ({shown(reason.split(': ', 1)[-1], 300)})" if reason.startswith(NOT_THERE)
                    else f"could not be read: {reason}")
            out.add("lineage.missing-base", {"id": bid, "reason": reason}, source="linked-repo", pointer=pointer,
                    summary=f"Declared base model {shown(bid, 200)} {said}.")
    elif not _valid(bid):
        out.add("lineage.invalid-base", {"id": bid[:200]}, source=ctx.meta_source(), pointer=pointer,
                summary=f"base_model '{shown(bid, 80)}' is not a valid repo id.")


@emits("lineage.base_model", "lineage.base-undeclared")
def _prose_bases(ctx: EvidenceContext, out: EvidenceList, direct: list[tuple[str, str | None, str]]) -> None:
    """Bases the card names in prose or in a base-model table; undeclared when the metadata declares none."""
    snap = ctx.snap
    direct_ids = {d[0] for d in direct}
    for bid, sentence, line, heading in prose_bases(ctx.card, snap.repo_id.split("/")[-1]):
        if bid in direct_ids or bid == snap.repo_id:
            continue
        base = ctx.bundle.get("model", bid)
        relation = prose_relation(sentence)
        value = {"id": bid, "canonical_id": base.repo_id if base else None, "relation": relation, "via": "prose",
                 "depth": 1, "found": base is not None, "text": sentence}
        if base is None and not_checked_why(ctx.bundle.related_errors.get(f"model:{bid}"), snap.source):
            value["checked"] = False
        out.add("lineage.base_model", value, source="card.body", pointer=ctx.body_pointer(heading, line),
                summary=f"The card says it derives from {bid}: “{sentence[:140]}”", confidence="detected",
                url=ctx.line_url(line))
        if not direct:
            out.add("lineage.base-undeclared", {"id": bid, "text": sentence}, source="card.body",
                    pointer=ctx.body_pointer(heading, line), confidence="detected", url=ctx.line_url(line),
                    summary=f"The card names {bid} as its base (“{sentence[:100]}”, README.md line {line}), "
                            "but the metadata declares no base_model.")


@emits("lineage.base_model", "lineage.cycle", "lineage.depth-limit")
def _ancestors(ctx: EvidenceContext, out: EvidenceList, direct: list[tuple[str, str | None, str]]) -> None:
    """Walk further up through what the bundle holds, detecting cycles."""
    seen = {ctx.snap.repo_id}
    frontier = [(d[0], 1) for d in direct]
    while frontier:
        bid, depth = frontier.pop(0)
        base = ctx.bundle.get("model", bid)
        if base is None:
            continue
        if base.repo_id in seen:
            out.add("lineage.cycle", {"id": base.repo_id, "depth": depth}, source="linked-repo",
                    pointer=f"{bid}:base_model", summary=f"Lineage cycle: {base.repo_id} is its own ancestor.")
            continue
        seen.add(base.repo_id)
        if depth >= MAX_DEPTH:
            out.add("lineage.depth-limit", {"id": bid, "depth": depth}, source="linked-repo", pointer=bid,
                    summary=f"Lineage followed to depth {depth}; deeper ancestors were not read.")
            continue
        for pid, relation, via in _snapshot_bases(base):
            if pid in seen:
                out.add("lineage.cycle", {"id": pid, "depth": depth + 1}, source="linked-repo",
                        pointer=f"{base.repo_id}:base_model",
                        summary=f"Lineage cycle: {base.repo_id} declares {pid}, which is already in its lineage.")
                continue
            found = ctx.bundle.get("model", pid)
            out.add("lineage.base_model", {"id": pid, "canonical_id": found.repo_id if found else None,
                                           "relation": relation, "via": via, "depth": depth + 1,
                                           "found": found is not None, "child": base.repo_id},
                    source="linked-repo", pointer=f"{base.repo_id}:base_model", url=base.repo_url(),
                    summary=f"Ancestor {pid} (base of {base.repo_id}).")
            frontier.append((pid, depth + 1))
