"""Documentation: the card's presence and sections, placeholders, evaluation results, papers, hardware."""

from __future__ import annotations

import re

from openaudit.evidence import EvidenceContext
from openaudit.evidence._util import arxiv_id
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
# The Hugging Face card template cites the ML CO2 calculator paper; it says nothing about the model.
_TEMPLATE_ARXIV = {"1910.09700"}
_REPORT_RE = re.compile(r"technical[- ]report|tech report|whitepaper|\.pdf($|\?)", re.IGNORECASE)


def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
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
    placeholders = [b for b in card.blocks if PLACEHOLDER in b.text]
    if placeholders:
        out.add("docs.placeholder", {"count": len(placeholders)}, source="card.body",
                pointer=ctx.body_pointer(placeholders[0].section.heading, placeholders[0].line),
                url=ctx.line_url(placeholders[0].line),
                summary=f"{len(placeholders)} template placeholder(s) “{PLACEHOLDER}” left in the card.")

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
        eval_blocks = card.blocks_in(TOPICS["evaluation"])
        numeric = [b for b in eval_blocks if re.search(r"\d+(\.\d+)?\s*%?", b.text)]
        if len(numeric) >= 3:
            b = numeric[0]
            out.add("docs.eval-results", {"count": len(numeric), "from": "card"}, source="card.body",
                    pointer=ctx.body_pointer(b.section.heading, b.line), url=ctx.line_url(b.line),
                    confidence="detected", summary=f"Evaluation results reported in the card ({len(numeric)} entries).")

    papers: dict[str, tuple[str, str, str | None]] = {}
    for t in snap.tags():
        if t.startswith("arxiv:") and t[6:] not in _TEMPLATE_ARXIV:
            papers.setdefault(t[6:], ("tag", "tags", snap.repo_url()))
    for link in card.links:
        aid = arxiv_id(link.url)
        if aid and aid not in _TEMPLATE_ARXIV:
            papers.setdefault(aid, ("card.body", ctx.body_pointer(link.section.heading, link.line),
                                    ctx.line_url(link.line)))
    for aid, (via, pointer, _url) in papers.items():
        out.add("docs.paper", {"arxiv": aid, "via": via}, source="api" if via == "tag" else "card.body",
                pointer=pointer, url=f"https://arxiv.org/abs/{aid}", summary=f"Paper: arXiv {aid}.")
    for link in card.links:
        if _REPORT_RE.search(link.url) or _REPORT_RE.search(link.text):
            out.add("docs.tech-report", {"url": link.url, "text": link.text[:120]}, source="card.body",
                    pointer=ctx.body_pointer(link.section.heading, link.line), url=ctx.line_url(link.line),
                    confidence="detected", summary=f"Technical report linked: {link.text[:80] or link.url}.")
            break

    co2 = ctx.metadata.get("co2_eq_emissions")
    hw = co2.get("hardware_used") if isinstance(co2, dict) else None
    if hw:
        out.add("docs.hardware", {"text": str(hw)[:200], "from": "metadata"}, source=ctx.meta_source(),
                pointer=ctx.meta_pointer("co2_eq_emissions"), url=ctx.meta_url("co2_eq_emissions"),
                summary=f"Training hardware declared: {str(hw)[:80]}.")
    else:
        for s in card.sentences(_HARDWARE_RE):
            out.add("docs.hardware", {"text": s.text, "from": "card"}, source="card.body",
                    pointer=ctx.body_pointer(s.section.heading, s.line), url=ctx.line_url(s.line),
                    confidence="detected", summary=f"Training hardware described: “{s.text[:140]}”")
            break
