"""Documentation: the card's presence and sections, placeholders, evaluation results, papers, hardware."""

from __future__ import annotations

import re

from openaudit.card import Link, Sentence
from openaudit.evidence import EvidenceContext
from openaudit.evidence._util import arxiv_id
from openaudit.evidence.code import family_stem
from openaudit.evidence.kinds import emits
from openaudit.evidence.model import EvidenceList

# topic -> heading regex. A card "has" a topic when a heading matches and its section has text.
TOPICS: dict[str, str] = {
    "details": r"model (details|information|summary|description|overview|architecture)|^overview|architecture"
               r"|introduction|model card",
    "uses": r"\buses?\b|intended use|usage|how to (use|get started)|quick ?start|getting started|out-of-scope",
    "training": r"training|pre-?training|data",
    "evaluation": r"evaluation|benchmark|results|performance",
    "limitations": r"limitation|bias|risk|safety|responsib|ethical|caveat|recommendation",
    "hardware": r"hardware|compute|infrastructure|environmental|carbon|emission",
    "citation": r"citation|cite|bibtex|reference",
}
# A topic without its own heading still counts when the card discusses it at length in prose.
TOPIC_PROSE: dict[str, str] = {
    "training": r"\b(pre-?train\w*|post-?train\w*|trained (on|with|using)|training (data|procedure|pipeline|stage|"
                r"recipe|run)|reinforcement learning|fine-?tun\w*|supervised)",
    "evaluation": r"\b(benchmark\w*|evaluat\w+ (on|results)|accuracy|pass@1|scores? (on|of))",
    "limitations": r"\b(limitation\w*|bias\w*|may (produce|generate)|hallucinat\w*|not (intended|suitable)|"
                   r"out[- ]of[- ]scope|harmful|moderation)",
}
PROSE_MIN_SENTENCES = 3
PLACEHOLDER = "[More Information Needed]"
_HARDWARE_RE = r"\b(H100|H800|A100|V100|TPU\s?v?\d\w*|GPU[- ]hours?|GPUs?\b|accelerators?|supercomputer)"
_TRAINED_RE = re.compile(r"\b(trained|training|pre-?train\w*|GPU[- ]hours?)\b", re.IGNORECASE)
# The Hugging Face card template cites the ML CO2 calculator paper; it says nothing about the model.
_TEMPLATE_ARXIV = {"1910.09700"}
_REPORT_RE = re.compile(r"technical[- ]report|tech report|whitepaper|\.pdf($|\?)", re.IGNORECASE)
# A card presents a paper as the model's own in a field ("Paper: ...", "Technical report: ..."), with
# link text that is just "paper"/"technical report", with "our paper" in the sentence, or by naming
# the model's family in the link text or the citation title. Every other arXiv link is a reference.
_FIELD_RE = re.compile(r"^\W*(research paper|paper|technical report|tech report|report|preprint|publication)s?"
                       r"\W{0,3}[:\uff1a]", re.IGNORECASE)
_GENERIC_TEXT = re.compile(r"^\W*(see (the |our )?)?(paper( link)?|research paper|technical report|tech report|"
                           r"report|preprint|arxiv( paper| preprint)?|pdf)\W*$", re.IGNORECASE)
_OWN_SENTENCE = re.compile(r"\bour (\w+ )?(paper|technical report|report|preprint|publication)\b|"
                           r"\bsee the paper\b", re.IGNORECASE)
_PAPER_WORD = re.compile(r"\b(paper|report|preprint|publication)\b", re.IGNORECASE)
# Another work named just before a generic "(see paper)" link: "modified from Megatron-LM GPT2 (see paper)".
_OTHER_WORK = re.compile(r"\b(?:[A-Z][\w.]{0,60}-[\w.-]{1,60}|[A-Za-z]{1,60}\d[\w.]{0,60})")
_SOON_RE = (r"\bpaper\b[^.\n]{0,30}\b(coming soon|forthcoming|to come|will be (released|published|available))|"
            r"\b(coming soon|forthcoming)\b[^.\n]{0,20}\bpaper\b")
_BIB_ENTRY = re.compile(r"@\w{2,20}\s*\{")
_BIB_TITLE = re.compile(r"\btitle\s*=\s*[{\"]+([^\n]{1,400})", re.IGNORECASE)
_BIB_ARXIV = re.compile(r"(?:eprint\s*=\s*[{\"]?|arXiv:|arxiv\.org/(?:abs|pdf)/)(\d{4}\.\d{4,5})", re.IGNORECASE)
_TITLE_CUT = re.compile(r"\s(for|with|on|from|using|via|and)\s", re.IGNORECASE)


def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    _card(ctx, out)
    _sections(ctx, out)
    _placeholders(ctx, out)
    _eval_results(ctx, out)
    _papers(ctx, out)
    _hardware(ctx, out)


@emits("docs.card", "docs.card-missing", "docs.card-unreadable", "docs.metadata-invalid")
def _card(ctx: EvidenceContext, out: EvidenceList) -> None:
    """The card: present (and whether its YAML metadata could be used), unreadable, or missing."""
    snap, card = ctx.snap, ctx.card
    readme_reason = ctx.unreadable_reason("README.md")
    if not card.present:
        if readme_reason is not None:
            out.add("docs.card-unreadable", {"reason": readme_reason.value}, source="api", pointer="README.md",
                    summary=f"README.md is listed but could not be read ({readme_reason.value}).",
                    url=snap.file_url("README.md"))
        else:
            out.add("docs.card-missing", True, source="api", pointer="siblings",
                    summary="The repository has no README.md model card.", url=snap.repo_url())
    else:
        readme = snap.readme()
        out.add("docs.card", {"chars": len(readme.text) if readme else 0, "sections": len(card.sections),
                              "truncated": card.truncated},
                source="file", pointer=ctx.file_pointer("README.md"), url=snap.file_url("README.md"),
                summary=f"Model card present ({len(card.sections)} sections).")
        if card.metadata_error:
            out.add("docs.metadata-invalid", {"error": card.metadata_error}, source="card.metadata",
                    pointer=f"README.md:L{card.metadata_start_line or 1}",
                    url=ctx.line_url(card.metadata_start_line or 1),
                    summary=f"The card's YAML metadata could not be used: {card.metadata_error}.")


@emits("docs.section")
def _sections(ctx: EvidenceContext, out: EvidenceList) -> None:
    """One item per topic the card covers: under a heading of its own, else at length in prose."""
    card = ctx.card
    for topic, pattern in TOPICS.items():
        rx = re.compile(pattern, re.IGNORECASE)
        for sec in card.sections:
            if rx.search(sec.heading) and any(b.section == sec or sec.heading in b.section.path for b in card.blocks
                                             if PLACEHOLDER not in b.text):
                out.add("docs.section", {"topic": topic, "heading": sec.heading, "line": sec.line},
                        source="card.body", pointer=ctx.body_pointer(sec.heading, sec.line),
                        url=ctx.line_url(sec.line), summary=f"Card section on {topic}: “{sec.heading}”.")
                break
        else:
            prose = card.sentences(TOPIC_PROSE[topic]) if topic in TOPIC_PROSE else []
            if len(prose) >= PROSE_MIN_SENTENCES:
                first = prose[0]
                out.add("docs.section", {"topic": topic, "heading": first.section.heading, "line": first.line,
                                         "sentences": len(prose)},
                        source="card.body", pointer=ctx.body_pointer(first.section.heading, first.line),
                        url=ctx.line_url(first.line), confidence="detected",
                        summary=f"The card discusses {topic} in {len(prose)} sentences (no heading of its own).")


@emits("docs.placeholder")
def _placeholders(ctx: EvidenceContext, out: EvidenceList) -> None:
    placeholders = [b for b in ctx.card.blocks if PLACEHOLDER in b.text]
    if placeholders:
        out.add("docs.placeholder", {"count": len(placeholders)}, source="card.body",
                pointer=ctx.body_pointer(placeholders[0].section.heading, placeholders[0].line),
                url=ctx.line_url(placeholders[0].line),
                summary=f"{len(placeholders)} template placeholder(s) “{PLACEHOLDER}” left in the card.")


@emits("docs.eval-results")
def _eval_results(ctx: EvidenceContext, out: EvidenceList) -> None:
    """Evaluation results: counted in the model-index metadata, else numbers in the card's evaluation sections."""
    mi = ctx.metadata.get("model-index")
    n_results = 0
    if isinstance(mi, list):
        for entry in mi:
            for res in (entry.get("results") or []) if isinstance(entry, dict) else []:
                n_results += len(res.get("metrics") or []) if isinstance(res, dict) else 0
    if n_results:
        out.add("docs.eval-results", {"count": n_results, "from": "model-index"}, source=ctx.meta_source(),
                pointer=ctx.meta_pointer("model-index"), url=ctx.meta_url("model-index"),
                summary=f"{n_results} evaluation results in model-index metadata.")
    else:
        eval_blocks = ctx.card.blocks_in(TOPICS["evaluation"])
        numeric = [b for b in eval_blocks if re.search(r"\d+(\.\d+)?\s*%?", b.text)]
        if len(numeric) >= 3:
            b = numeric[0]
            out.add("docs.eval-results", {"count": len(numeric), "from": "card"}, source="card.body",
                    pointer=ctx.body_pointer(b.section.heading, b.line), url=ctx.line_url(b.line),
                    confidence="detected", summary=f"Evaluation results reported in the card ({len(numeric)} entries).")


@emits("docs.hardware")
def _hardware(ctx: EvidenceContext, out: EvidenceList) -> None:
    """The training hardware: from `co2_eq_emissions.hardware_used`, else the first card sentence about it."""
    co2 = ctx.metadata.get("co2_eq_emissions")
    hw = co2.get("hardware_used") if isinstance(co2, dict) else None
    if hw:
        out.add("docs.hardware", {"text": str(hw)[:200], "from": "metadata"}, source=ctx.meta_source(),
                pointer=ctx.meta_pointer("co2_eq_emissions"), url=ctx.meta_url("co2_eq_emissions"),
                summary=f"Training hardware declared: {str(hw)[:80]}.")
    else:
        for s in ctx.card.sentences(_HARDWARE_RE):
            # "for GPUs with 12 GB of memory" is what it runs on, not what trained it.
            if not (_TRAINED_RE.search(s.text) or any(re.search(TOPICS["hardware"] + "|train", h, re.IGNORECASE)
                                                       for h in s.section.path)):
                continue
            out.add("docs.hardware", {"text": s.text, "from": "card"}, source="card.body",
                    pointer=ctx.body_pointer(s.section.heading, s.line), url=ctx.line_url(s.line),
                    confidence="detected", summary=f"Training hardware described: “{s.text[:140]}”")
            break


def _names_family(text: str, stem: str) -> bool:
    return len(stem) >= 3 and re.search(rf"(?<![a-z]){re.escape(stem)}(?![a-z])", text, re.IGNORECASE) is not None


def _own_link(link: Link, block: str, stem: str) -> str | None:
    """Why a link is presented as the model's own paper or report, or None."""
    text = link.text if link.text != link.url else ""
    if _FIELD_RE.search(block) and block.find(text or link.url) < 120:
        return f"the card's “{block.split(':', 1)[0].strip()[:40]}:” field"
    sentence = next((x for x in re.split(r"(?<=[.!?])\s+", block) if (text or link.url) in x), block)
    if text and _names_family(text, stem) and (_PAPER_WORD.search(text) or arxiv_id(link.url)
                                               or _REPORT_RE.search(link.url)):
        return f"link text “{text[:80]}” names the model's family"
    if _OWN_SENTENCE.search(sentence):
        return f"“{sentence[:100]}”"
    if text and _GENERIC_TEXT.search(text):
        before = sentence[: max(0, sentence.find(text))][-60:]
        others = [w for w in _OTHER_WORK.findall(before) if not _names_family(w, stem)]
        if not others:
            return f"link text “{text[:40]}” in “{sentence[:100]}”"
    pos = sentence.find(text) if text else -1
    if pos > 0 and _names_family(sentence[max(0, pos - 40): pos], stem) and _PAPER_WORD.search(
            sentence[max(0, pos - 40): pos]):
        return f"“{sentence[:100]}”"
    return None


# key (arXiv id or URL) -> (kind, why, pointer, url) of the model's own papers; arXiv id -> (pointer, line) of
# the papers the card only cites.
_Own = dict[str, tuple[str, str, str, str | None]]
_Refs = dict[str, tuple[str, int]]


def _papers(ctx: EvidenceContext, out: EvidenceList) -> None:
    """The model's own paper or technical report, the papers the card only cites, and a paper still to come."""
    stem = family_stem(ctx.snap.repo_id.split("/")[-1])
    soon = ctx.card.sentences(_SOON_RE)
    own: _Own = {}
    refs: _Refs = {}
    _linked_papers(ctx, stem, own, refs)
    _cited_papers(ctx, stem, bool(soon), own, refs)
    for t in ctx.snap.tags():
        if t.startswith("arxiv:") and t[6:] not in _TEMPLATE_ARXIV and t[6:] not in own:
            refs.setdefault(t[6:], ("tags", 0))
    _own_papers(out, own)
    _references(ctx, out, {a: r for a, r in refs.items() if a not in own})
    if soon and not any(k == "docs.paper" for k, *_ in own.values()):
        _paper_pending(ctx, out, soon[0])


def _linked_papers(ctx: EvidenceContext, stem: str, own: _Own, refs: _Refs) -> None:
    """Links to arXiv, to a technical report or to a paper page: the model's own (`_own_link`) or a reference."""
    blocks = {(b.line, b.section): b.text for b in ctx.card.blocks}
    reports = 0
    for link in ctx.card.links:
        aid = arxiv_id(link.url)
        is_report = not aid and bool(_REPORT_RE.search(link.url) or _REPORT_RE.search(link.text))
        block = blocks.get((link.line, link.section), link.text)
        is_paper_page = not aid and not is_report and bool(_PAPER_WORD.search(link.text) or _FIELD_RE.search(block))
        if not (aid or is_report or is_paper_page) or aid in _TEMPLATE_ARXIV:
            continue
        why = _own_link(link, block, stem)
        pointer = ctx.body_pointer(link.section.heading, link.line)
        if why is None:
            if aid:
                refs.setdefault(aid, (pointer, link.line))
            continue
        if aid:
            own.setdefault(aid, ("docs.paper", why, pointer, ctx.line_url(link.line)))
        elif is_report and reports < 1:
            reports += 1
            own.setdefault(link.url, ("docs.tech-report", why, pointer, ctx.line_url(link.line)))
        elif is_paper_page:
            own.setdefault(link.url, ("docs.paper", why, pointer, ctx.line_url(link.line)))


def _cited_papers(ctx: EvidenceContext, stem: str, soon: bool, own: _Own, refs: _Refs) -> None:
    """Citation blocks: the model's own when the title names it or its family and no paper is "coming soon"."""
    for fence in ctx.card.fences:
        if "@" not in fence.text:
            continue
        for entry in _BIB_ENTRY.split(fence.text)[1:]:
            tm, am = _BIB_TITLE.search(entry), _BIB_ARXIV.search(entry)
            if am is None or am.group(1) in _TEMPLATE_ARXIV:
                continue
            aid = am.group(1)
            title = re.sub(r"[{}]", "", tm.group(1)).rstrip(' ",') if tm else ""
            head = _TITLE_CUT.split(title, maxsplit=1)[0]
            pointer = ctx.body_pointer(fence.section.heading, fence.line)
            if title and _names_family(head, stem) and not soon:
                why = f"the citation block's title “{title[:100]}” names the model or its family"
                own.setdefault(aid, ("docs.paper", why, pointer, ctx.line_url(fence.line)))
            else:
                refs.setdefault(aid, (pointer, fence.line))


@emits("docs.paper", "docs.tech-report")
def _own_papers(out: EvidenceList, own: _Own) -> None:
    for key, (kind, why, pointer, url) in own.items():
        aid = key if kind == "docs.paper" and not key.startswith("http") else None
        if kind == "docs.paper":
            value = {"arxiv": aid, "url": None if aid else key, "via": "card", "why": why}
            shown = f"arXiv {aid}" if aid else key[:100]
            out.add(kind, value, source="card.body", pointer=pointer,
                    url=f"https://arxiv.org/abs/{aid}" if aid else key,
                    summary=f"The model's paper: {shown} ({why}).")
        else:
            out.add(kind, {"url": key, "why": why}, source="card.body", pointer=pointer, url=url,
                    confidence="detected", summary=f"The model's technical report: {key[:100]} ({why}).")


@emits("docs.reference")
def _references(ctx: EvidenceContext, out: EvidenceList, refs: _Refs) -> None:
    if refs:
        ids = sorted(refs)
        pointer, line = refs[ids[0]]
        out.add("docs.reference", {"arxiv": ids[:30]}, source="card.body" if line else "api", pointer=pointer,
                url=ctx.line_url(line) if line else ctx.snap.repo_url(), confidence="detected",
                summary=(f"The card cites {len(ids)} paper(s) it does not present as this model's own "
                         f"(references, e.g. benchmarks or datasets): {', '.join('arXiv ' + i for i in ids[:6])}."))


@emits("docs.paper-pending")
def _paper_pending(ctx: EvidenceContext, out: EvidenceList, s0: Sentence) -> None:
    out.add("docs.paper-pending", {"text": s0.text[:200]}, source="card.body",
            pointer=ctx.body_pointer(s0.section.heading, s0.line), url=ctx.line_url(s0.line),
            confidence="detected", summary=f"The card says the model's paper is still to come: “{s0.text[:120]}”")
