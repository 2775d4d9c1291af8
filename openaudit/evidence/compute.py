"""Training compute estimated as 6 x parameters x tokens (EU AI Act Art. 51(2)).

The parameters are the ACTIVE ones for a mixture-of-experts model: only they take part in each
token's forward and backward pass. MoE is detected from the config's model type or architecture
and from the card ("a Mixture-of-Experts model"); the active count is read from the card ("37B
activated for each token", a table's "#Activated Params" column on the row naming this model) or
from the repo name ("-A3B"). The token count is the one the card states for THIS model: a sentence
or table naming two models' counts gives this model's, not the first or the largest.

When the tokens are not disclosed, an upper bound still decides the easy cases: at
`TOKEN_BOUND` tokens (more than any disclosed pre-training run) a model whose compute stays below
10^25 FLOP cannot reach it. Anything else is `compute.undisclosed`, which the EU AI Act profile
reports as undetermined, never as a presumption of systemic risk.

Emits `data.tokens` (the token figure for this model, as the data dimension reports it),
`compute.active-parameters`, and one of `compute.estimate` / `compute.undisclosed`.
"""

from __future__ import annotations

import re
from typing import Any

from openaudit.card import ParsedCard
from openaudit.evidence import EvidenceContext
from openaudit.evidence._util import human_count
from openaudit.evidence.kinds import emits
from openaudit.evidence.model import Evidence, EvidenceList

SYSTEMIC_RISK_FLOP = 1e25
# More training tokens than any publicly disclosed pre-training run (Llama 4 Scout: ~40T, Qwen3: ~36T).
TOKEN_BOUND = 1e14
MIN_TRAINING_TOKENS = 1e9
# Config model types and architecture words that mark a mixture-of-experts model.
_MOE_TYPES = frozenset((
    "mixtral", "deepseek_v2", "deepseek_v3", "deepseek_v32", "qwen2_moe", "qwen3_moe", "qwen3_next", "dbrx",
    "jamba", "olmoe", "gpt_oss", "llama4", "llama4_text", "granitemoe", "granitemoeshared", "granitemoehybrid",
    "phimoe", "jetmoe", "minimax", "minimax_m1", "hunyuan_v1_moe", "ernie4_5_moe", "glm4_moe", "glm4v_moe",
    "arctic", "grok-1", "switch_transformers", "nllb-moe", "kimi_k2", "dots1", "bailing_moe",
))
_MOE_KEYS = ("num_local_experts", "n_routed_experts", "num_experts", "moe_num_experts")
_MOE_CARD_RE = r"mixture[- ]of[- ]experts|\bMoE\b|sparse experts?"
_MULT = {"trillion": 1e12, "t": 1e12, "billion": 1e9, "b": 1e9, "million": 1e6, "m": 1e6, "k": 1e3, "": 1.0}

# "37B are activated", "17B active parameters", "12.9 billion active": the number before the word.
_ACTIVE_BEFORE = re.compile(
    r"(?<![\d.])(\d{1,6}(?:\.\d{1,3})?)\s{0,3}(b|billion)\s+(?:(?:parameters?|params)\s+)?(?:(?:are|is|being)\s+)?"
    r"(?:active|activated)\b",
    re.IGNORECASE)
# "active parameters: 17B", "activated params of 37B".
_ACTIVE_AFTER = re.compile(
    r"\b(?:active|activated)\s+(?:parameters?|params)\s{0,3}(?:of|:|=|is|are)?\s{0,3}(\d{1,6}(?:\.\d{1,3})?)\s{0,3}"
    r"(b|billion)\b",
    re.IGNORECASE)
_ACTIVE_SENTENCE = (r"(?<![\d.])\d{1,6}(?:\.\d{1,3})?\s{0,3}(?:b|billion)\s.{0,40}?\bactiv"
                    r"|\bactiv\w{0,6}\s+(?:parameters?|params)\b")
_NAME_ACTIVE = re.compile(r"(?:^|[-_])a(\d{1,4}(?:\.\d{1,3})?)b(?:$|[-_])", re.IGNORECASE)  # Qwen3-30B-A3B

_TOKENS = re.compile(
    r"(?<![\d,.])(\d[\d,.]{0,20})\s{0,3}(trillion|billion|million|[TBM]\b)?\+?\s{0,3}(?:(?:unique|training|pre-?training|high-quality|"
    r"diverse,?|and|text|web|code|of)\s+){0,4}tokens",
    re.IGNORECASE,
)
_NOT_TRAINING = re.compile(r"(batch size|context|window|every|per (step|batch|device)|sequence length)\W*(of\s+)?$",
                           re.IGNORECASE)
_CELL_NUMBER = re.compile(r"^[~≈<>]?\s{0,3}(\d[\d,]{0,20}(?:\.\d{1,6})?)\s{0,3}(trillion|billion|million|[TBMK])?\b",
                          re.IGNORECASE)
_HEADER_UNIT = re.compile(r"\((trillion|billion|million|[TBM])\)", re.IGNORECASE)
_PARAM_LABEL = re.compile(r"^(?:total |number of )?param(?:eter)?s?(?: count)?$", re.IGNORECASE)
_NOT_COUNT_HEADER = re.compile(r"context|length|window|max|per|batch", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
_GENERIC = frozenset(("model", "base", "instruct", "chat", "hf", "it", "the", "and", "fp8", "bf16", "original"))


def _number(num: str, unit: str | None) -> float | None:
    try:
        n = float(num.replace(",", "").rstrip("."))
    except ValueError:
        return None
    return n * _MULT[(unit or "").lower()]


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _GENERIC}


def _pick(segments: list[tuple[str, float]], name_words: set[str]) -> float | None:
    """Of several (text naming whose it is, value) pairs, the value for this model: the one whose text
    holds a word of the model's name that no other text holds. None when that does not single one out
    (all values equal excepted)."""
    values = {v for _, v in segments}
    if len(values) == 1:
        return values.pop()
    seg_words = [_words(t) & name_words for t, _ in segments]
    distinct = [w - set().union(*(o for j, o in enumerate(seg_words) if j != i)) for i, w in enumerate(seg_words)]
    hits = [v for (_, v), d in zip(segments, distinct, strict=True) if d]
    return hits[0] if len(set(hits)) == 1 else None


def _tables(text: str, first_line: int = 1) -> list[tuple[list[str], list[tuple[int, list[str]]]]]:
    """Markdown pipe tables of a card: (header cells, [(line, cells)]), cells stripped of emphasis."""
    out: list[tuple[list[str], list[tuple[int, list[str]]]]] = []
    rows: list[tuple[int, list[str]]] = []
    for i, raw in enumerate([*text.split("\n"), ""]):
        line = raw.strip()
        if line.startswith("|") and len(line) < 2000:
            cells = [c.strip().strip("*_` ").strip() for c in line.strip("|").split("|")]
            rows.append((first_line + i, cells))
            continue
        if len(rows) >= 3 and set("".join(rows[1][1])) <= set("-: "):
            out.append((rows[0][1], rows[2:]))
        rows = []
    return out


def _table_value(tables: list[tuple[list[str], list[tuple[int, list[str]]]]], header_rx: re.Pattern[str],
                 name_words: set[str], exact: str) -> tuple[float, int, str] | None:
    """The value in a column whose header matches, on the row naming this model."""
    for header, rows in tables:
        col = next((i for i, h in enumerate(header) if header_rx.search(h) and not _NOT_COUNT_HEADER.search(h)), None)
        if col is None or col == 0:
            continue
        unit = _HEADER_UNIT.search(header[col])
        found: list[tuple[str, float, int]] = []
        for line, cells in rows:
            if len(cells) <= col:
                continue
            m = _CELL_NUMBER.match(cells[col])
            v = _number(m.group(1), m.group(2) or (unit.group(1) if unit else None)) if m else None
            if v is not None:
                found.append((cells[0], v, line))
        if not found:
            continue
        # A source table's "Total" row is the whole training set (LLM360's DataMix).
        same = [f for f in found if re.sub(r"[^a-z0-9]", "", f[0].lower()) in (exact, "total")]
        if same:
            return same[0][1], same[0][2], f"{same[0][0]}: {header[col]} {_shown(same[0][1])}"
        v = _pick([(label, val) for label, val, _ in found], name_words)
        if v is not None:
            label, _, line = next(f for f in found if f[1] == v)
            return v, line, f"{label}: {header[col]} {_shown(v)}"
    return None


def _shown(v: float) -> str:
    return human_count(v)


def _sentence_values(text: str, rx: re.Pattern[str], num_group: int, unit_group: int,
                     skip_training_context: bool) -> list[tuple[str, float]]:
    """Each value the pattern finds in a sentence, with the text before it (since the previous value)."""
    out: list[tuple[str, float]] = []
    start = 0
    for m in rx.finditer(text):
        if skip_training_context and _NOT_TRAINING.search(text[max(0, m.start() - 40): m.start()]):
            continue
        v = _number(m.group(num_group), m.group(unit_group))
        if v is not None:
            out.append((text[start: m.start()], v))
        start = m.end()
    return out


def _from_sentences(card: ParsedCard, pattern: str, rxs: list[re.Pattern[str]], name_words: set[str],
                    minimum: float, tokens: bool) -> list[tuple[float, Any]]:
    found: list[tuple[float, Any]] = []
    for s in card.sentences(pattern):
        values: list[tuple[str, float]] = []
        for rx in rxs:
            values += _sentence_values(s.text, rx, 1, 2, tokens)
        values = [(t, v) for t, v in values if v >= minimum]
        if not values:
            continue
        v = values[0][1] if len(values) == 1 else _pick(values, name_words)
        if v is None and tokens and not any(_words(t) & name_words for t, _ in values):
            # Two counts, neither tied to this model by name ("2T tokens, of which 500B code"): the
            # sentence is about one corpus, and its largest figure is the training-set size.
            v = max(v for _, v in values)
        if v is not None:
            found.append((v, s))
    return found


@emits("weights.parameters")
def _card_parameters(ctx: EvidenceContext, out: EvidenceList) -> Evidence | None:
    """The parameter count a card's hyper-parameter table states ("| Total Parameters | 6.7B |"), for a
    repo whose weights the API does not count (PyTorch .bin files)."""
    readme = ctx.snap.readme()
    if readme is None:
        return None
    for header, rows in _tables(readme.text):
        for line, cells in [(0, header), *rows]:
            if len(cells) < 2 or not _PARAM_LABEL.match(cells[0]):
                continue
            m = _CELL_NUMBER.match(cells[1])
            v = _number(m.group(1), m.group(2)) if m and m.group(2) else None
            if v is not None and v >= 1e6:
                where = f"README.md:L{line}" if line else "README.md"
                return out.add("weights.parameters", {"total": v, "by_dtype": {}, "from": "card"}, source="card.body",
                               pointer=where, confidence="detected", url=ctx.line_url(line) if line else None,
                               summary=f"{human_count(v)} parameters, as the card's table states "
                               f"(“{cells[0]}: {cells[1]}”).")
    return None


def _is_moe(ctx: EvidenceContext) -> tuple[bool, str]:
    raw = ctx.snap.info.get("config")
    cfg: dict[str, Any] = raw if isinstance(raw, dict) else {}
    mtype = str(cfg.get("model_type", "")).lower()
    if mtype in _MOE_TYPES:
        return True, f"config model_type {mtype}"
    if any(k in cfg for k in _MOE_KEYS):
        return True, "config expert fields"
    arch = " ".join(str(a) for a in cfg.get("architectures") or [] if isinstance(a, str))
    if "moe" in arch.lower():
        return True, f"config architecture {arch[:60]}"
    hits = ctx.card.sentences(_MOE_CARD_RE)
    if hits:
        return True, f"the card: “{hits[0].text[:120]}”"
    return False, ""


@emits("data.tokens")
def _tokens(ctx: EvidenceContext, name_words: set[str], exact: str, out: EvidenceList) -> Evidence | None:
    card = ctx.card
    found = _from_sentences(card, _TOKENS.pattern, [_TOKENS], name_words, MIN_TRAINING_TOKENS, tokens=True)
    if found:
        tokens, s = max(found, key=lambda vs: vs[0])
        return out.add("data.tokens", {"tokens": tokens, "text": s.text}, source="card.body",
                       pointer=ctx.body_pointer(s.section.heading, s.line), confidence="detected",
                       url=ctx.line_url(s.line),
                       summary=f"Training tokens disclosed: {human_count(tokens)} (“{s.text[:140]}”).")
    readme = ctx.snap.readme()
    if readme is None:
        return None
    got = _table_value(_tables(readme.text), re.compile(r"tokens?\b|token count", re.IGNORECASE), name_words, exact)
    if got is None or got[0] < MIN_TRAINING_TOKENS:
        return None
    tokens, line, shown = got
    return out.add("data.tokens", {"tokens": tokens, "text": shown}, source="card.body",
                   pointer=f"README.md:L{line}", confidence="detected", url=ctx.line_url(line),
                   summary=f"Training tokens disclosed: {human_count(tokens)} (table row “{shown[:120]}”).")


def _active(ctx: EvidenceContext, name_words: set[str], exact: str, total: float) -> tuple[float, str, str,
                                                                                           str | None] | None:
    """(active parameters, quote, pointer, url) from the repo name, the card's prose or its tables."""
    name = ctx.snap.repo_id.split("/")[-1]
    m = _NAME_ACTIVE.search(name)
    if m:
        v = _number(m.group(1), "b")
        if v is not None and v < total:
            return v, f"the repo name {name}", "repo id", ctx.snap.repo_url()
    found = _from_sentences(ctx.card, _ACTIVE_SENTENCE, [_ACTIVE_BEFORE, _ACTIVE_AFTER], name_words, 1e8,
                            tokens=False)
    found = [(v, s) for v, s in found if v < total]
    if found:
        v, s = found[0]
        return v, f"“{s.text[:160]}”", ctx.body_pointer(s.section.heading, s.line), ctx.line_url(s.line)
    readme = ctx.snap.readme()
    if readme is not None:
        got = _table_value(_tables(readme.text), re.compile(r"activ", re.IGNORECASE), name_words, exact)
        if got is not None and 1e8 <= got[0] < total:
            return got[0], f"table row “{got[2][:120]}”", f"README.md:L{got[1]}", ctx.line_url(got[1])
    return None


@emits("compute.estimate", "compute.active-parameters", "compute.undisclosed")
def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    name = ctx.snap.repo_id.split("/")[-1]
    name_words = _words(name.replace("_", "-"))
    exact = re.sub(r"[^a-z0-9]", "", name.lower())
    tokens = _tokens(ctx, name_words, exact, out)
    params = next((e for e in out.items if e.kind == "weights.parameters"), None) or _card_parameters(ctx, out)
    if params is None:
        missing = "parameter count" + (" and training tokens" if tokens is None else "")
        out.add("compute.undisclosed", {"missing": missing}, source="api", pointer="safetensors.total / card",
                confidence="inferred", summary=f"Training compute cannot be estimated: {missing} not disclosed.")
        return
    total = float(params.value["total"])
    moe, moe_why = _is_moe(ctx)
    n, n_pointer, n_text = total, params.pointer, f"{human_count(total)} parameters"
    # A card that states active parameters ("17B active") says it is a mixture-of-experts model.
    active = _active(ctx, name_words, exact, total)
    if active is not None and not moe:
        moe, moe_why = True, "the card states active parameters"
    if active is not None:
        n, quote, n_pointer, url = active
        n_text = f"{human_count(n)} active of {human_count(total)} parameters"
        out.add("compute.active-parameters", {"active": n, "total": total, "moe": moe_why}, source="card.body",
                pointer=n_pointer, confidence="detected", url=url,
                summary=f"Mixture-of-experts ({moe_why}): {human_count(n)} parameters active per token, "
                f"from {quote}.")
    elif moe:
        n_text = f"{human_count(total)} total parameters (mixture-of-experts; active count not found)"
    if tokens is None:
        bound = 6.0 * n * TOKEN_BOUND
        if bound < SYSTEMIC_RISK_FLOP:
            out.add("compute.estimate", {"flops": bound, "params": n, "tokens": None, "above_threshold": False,
                                         "moe": moe, "bound": True},
                    source="api", pointer=n_pointer, confidence="inferred",
                    summary=f"Training tokens are not disclosed, but even at {human_count(TOKEN_BOUND)} tokens (more "
                    f"than any disclosed pre-training run), 6 × {n_text} × tokens ≈ {bound:.1e} FLOP stays below "
                    "the 10^25 FLOP systemic-risk presumption.")
            return
        out.add("compute.undisclosed", {"missing": "training tokens", "params": n, "moe": moe},
                source="api", pointer=n_pointer, confidence="inferred",
                summary=f"Training compute cannot be estimated: training tokens not disclosed ({n_text}: at the "
                "token counts of recent large runs it could exceed 10^25 FLOP).")
        return
    count = float(tokens.value["tokens"])
    flops = 6.0 * n * count
    above = flops >= SYSTEMIC_RISK_FLOP
    if moe and active is None and above:
        # An upper bound above the line decides nothing: the true (active-parameter) figure may be far below.
        out.add("compute.undisclosed", {"missing": "active parameters (mixture-of-experts)", "upper_bound": flops,
                                        "moe": True},
                source="api", pointer=f"{params.pointer} x {tokens.pointer}", confidence="inferred",
                summary=f"Mixture-of-experts ({moe_why}): 6 × total parameters × tokens ≈ {flops:.2e} FLOP is only "
                "an upper bound, and the active parameter count needed for the 10^25 FLOP test is not disclosed.")
        return
    qualifier = " (upper bound: total parameters of a mixture-of-experts)" if moe and active is None else ""
    out.add("compute.estimate", {"flops": flops, "params": n, "tokens": count, "above_threshold": above, "moe": moe,
                                 "bound": False},
            source="api", pointer=f"{n_pointer} x {tokens.pointer}", confidence="inferred",
            summary=f"Estimated training compute 6 × {n_text} × {human_count(count)} tokens ≈ {flops:.2e} FLOP"
            f"{qualifier} " + ("(above" if above else "(below") + " the 10^25 FLOP systemic-risk presumption).")
