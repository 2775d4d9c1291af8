"""What the publisher calls the model: an "open source" claim in the card, a tag or the name.

`claim.open-source` {text, where}: the first place the model is called "open source", "fully
open" or "open-source AI". "Open weights" is not such a claim, nor is "open-source" said of a
library, a tool or the community, nor a negated one ("not open source"). Whether the claim holds
is decided by the `open-source-claim` flag (criteria/flags.yaml) against the licence, the gate and
the data and code verdicts.
"""

from __future__ import annotations

import re

from openaudit.evidence import EvidenceContext
from openaudit.evidence.kinds import emits
from openaudit.evidence.model import EvidenceList

# Said of the model, not of data, code or a community: "fully open", "an open-source model / LLM /
# AI / release / weights", "is open source", "we open-source X", "open-sourced". Linear: literal
# alternatives, bounded repeats.
_CLAIM_RE = re.compile(
    r"\bfully[- ]open\b"
    r"|\bopen[- ]?source[ds]?[ -](?:[\w.'-]{1,30}\s)?(?:[\w.'-]{1,30}\s)?"
    r"(?:models?|llms?|ai|language models?|releases?|checkpoints?|weights|foundation)\b"
    r"|\b(?:is|are|be|been|being|as|truly|completely|100%)\s+open[- ]?source\b"
    r"|\b(?:we|has|have|had|to|and)\s+open[- ]?source[ds]?\b|\bopen[- ]?sourced\b",
    re.IGNORECASE)
_NEGATED_RE = re.compile(r"(?:\bnot|n't|\bnever|\bnor|\bno longer)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)
_NAME_RE = re.compile(r"open[-_ ]?source|fully[-_ ]?open", re.IGNORECASE)


# Said of other models ("outperforms comparable open-source models", "among open-source LLMs"): a
# comparison, not the model calling itself open source.
_OTHERS_RE = re.compile(r"\b(?:other|comparable|similar|existing|leading|popular|many|most|previous|prior|than|"
                        r"versus|vs\.?|among|against|outperforms?|surpass\w*|beats?)\s+(?:\w+\s+){0,2}$",
                        re.IGNORECASE)


def _claim_in(text: str) -> bool:
    for m in _CLAIM_RE.finditer(text):
        before = text[max(0, m.start() - 40): m.start()]
        if not _NEGATED_RE.search(before) and not _OTHERS_RE.search(before):
            return True
    return False


@emits("claim.open-source")
def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    snap = ctx.snap
    name = snap.repo_id.split("/")[-1]
    if _NAME_RE.search(name):
        out.add("claim.open-source", {"text": name, "where": "name"}, source="api", pointer="id",
                url=snap.repo_url(), confidence="declared", summary=f"The model's name calls it open source: “{name}”.")
        return
    tag = next((t for t in snap.tags() if _NAME_RE.search(t) and ":" not in t), None)
    if tag is not None:
        out.add("claim.open-source", {"text": tag, "where": "tag"}, source=ctx.meta_source(),
                pointer=ctx.meta_pointer("tags"), url=ctx.meta_url("tags"), confidence="declared",
                summary=f"A tag calls the model open source: “{tag}”.")
        return
    for s in ctx.card.sentences(_CLAIM_RE.pattern):
        if _claim_in(s.text):
            out.add("claim.open-source", {"text": s.text[:240], "where": "card"}, source="card.body",
                    pointer=ctx.body_pointer(s.section.heading, s.line), url=ctx.line_url(s.line),
                    confidence="detected", summary=f"The card calls it open source: “{s.text[:200]}”")
            return
