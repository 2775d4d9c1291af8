"""Code: modelling/inference code in the repo, training code in the repo, and code linked from the card.

Links are classified by what the card says they hold (the sentence around the link, the link
text and the repository name), not fetched: nothing outside the Hub is read here.
"""

from __future__ import annotations

import re

from openaudit.evidence import EvidenceContext
from openaudit.evidence._util import git_repo
from openaudit.evidence.model import EvidenceList

_MODELING_RE = re.compile(r"(^|/)(modeling|modelling|configuration|tokenization)_[\w]+\.py$")
_TRAINING_FILE_RE = re.compile(
    r"(^|/)(train|training|pretrain|finetune|fine_tune|sft|dpo|rlhf)[\w-]*\.(py|sh|ya?ml|json)$"
    r"|(^|/)(recipes?|training|train_configs?)/", re.IGNORECASE
)
# Role words, checked in this order on the link's sentence + text + repo name.
_ROLES: list[tuple[str, re.Pattern[str]]] = [
    ("data-processing", re.compile(r"data[- ]?(prep|processing|pipeline|curation|cleaning|toolkit)|dedup|"
                                   r"tokeni[sz]ation pipeline|data-prep", re.I)),
    ("training", re.compile(r"\b(pre-?train(ing|ed)?|training code|training (codebase|framework|pipeline|repo\w*|"
                            r"procedure|scripts?|configs?|recipes?|setup)|train(ed)? (with|using)|reproduc\w*|"
                            r"from scratch|\w+-train\b|training, inference|config files)", re.I)),
    ("evaluation", re.compile(r"\beval(uation|s)?\b|benchmark harness|lm-evaluation|lighteval|analysis", re.I)),
    ("fine-tuning", re.compile(r"fine-?tun|recipes?|post-?training|instruct(ion)?[- ]tun|alignment", re.I)),
    ("inference", re.compile(r"inference|run(ning)? the model|serv(e|ing)|deploy|demo|generate|usage|"
                             r"reference (code|implementation)|download", re.I)),
]


def classify_link(context: str) -> str:
    for role, rx in _ROLES:
        if rx.search(context):
            return role
    return "unspecified"


def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    snap = ctx.snap
    names = snap.sibling_names()
    modeling = [n for n in names if _MODELING_RE.search(n)]
    if modeling:
        out.add("code.modeling", {"files": modeling}, source="api", pointer=f"siblings[{modeling[0]}]",
                summary=f"Modelling code in the repository: {', '.join(modeling[:4])}.",
                url=snap.file_url(modeling[0]))
    other_py = [n for n in names if n.endswith(".py") and n not in modeling and not _TRAINING_FILE_RE.search(n)]
    if other_py:
        out.add("code.inference-file", {"files": other_py[:20]}, source="api", pointer=f"siblings[{other_py[0]}]",
                summary=f"Other code in the repository: {', '.join(other_py[:4])}.",
                url=snap.file_url(other_py[0]))
    training = [n for n in names if _TRAINING_FILE_RE.search(n)]
    if training:
        out.add("code.training-file", {"files": training[:20]}, source="api", pointer=f"siblings[{training[0]}]",
                summary=f"Training code or configs in the repository: {', '.join(training[:4])}.",
                url=snap.file_url(training[0]))

    library = ctx.metadata.get("library_name") or snap.info.get("library_name")
    if isinstance(library, str) and library:
        out.add("code.library", {"library": library}, source=ctx.meta_source() if ctx.metadata.get(
            "library_name") else "api", pointer=ctx.meta_pointer("library_name"),
                summary=f"Loads with the public '{library}' library (inference code exists).",
                url=ctx.meta_url("library_name"))
    elif isinstance(snap.info.get("transformersInfo"), dict):
        out.add("code.library", {"library": "transformers"}, source="api", pointer="transformersInfo",
                summary="Loads with the public 'transformers' library (inference code exists).",
                url=snap.repo_url())

    seen: set[str] = set()
    sentences = {(b.line, b.section): b.text for b in ctx.card.blocks}
    for link in ctx.card.links:
        repo = git_repo(link.url)
        if repo is None or repo in seen:
            continue
        seen.add(repo)
        context = " ".join([sentences.get((link.line, link.section), ""), link.text, repo,
                            " ".join(link.section.path)])
        role = classify_link(f"{link.text} {repo} " + sentences.get((link.line, link.section), ""))
        if role == "unspecified":
            role = classify_link(context)
        out.add("code.link", {"url": link.url, "repo": repo, "role": role, "line": link.line},
                source="card.body", pointer=ctx.body_pointer(link.section.heading, link.line),
                summary=f"Card links {repo} ({role} code, as the card describes it).",
                confidence="detected", url=ctx.line_url(link.line))
