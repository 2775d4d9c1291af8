"""Code: modelling/inference code in the repo, training code in the repo, and code linked from the card.

Links are classified by what the card says they hold, not fetched: nothing outside the Hub is read
here. Every mention of a repository is classified, nearest words first (the link's own text and the
repository name, then the sentence holding the link, then its paragraph, then the headings above
it), and a repository keeps the strongest role any mention gives it: a training repository first
linked under a "Fine-tuning" heading is still the training repository.

A public library that can run the weights (transformers, vLLM, llama.cpp...) is not code the
developer published: it is recorded (`code.library`, or a link with role `library`) but does not make
the code dimension more than closed on its own.
"""

from __future__ import annotations

import re
from typing import Any

from openaudit.card import Link, ParsedCard
from openaudit.evidence import EvidenceContext
from openaudit.evidence._util import git_repo
from openaudit.evidence.kinds import emits
from openaudit.evidence.model import EvidenceList

_MODELING_RE = re.compile(r"(^|/)(modeling|modelling|configuration|tokenization)_[\w]+\.py$")
_TRAINING_FILE_RE = re.compile(
    r"(^|/)(train|training|pretrain|finetune|fine_tune|sft|dpo|rlhf)[\w-]*\.(py|sh|ya?ml|json)$"
    r"|(^|/)(recipes?|training|train_configs?)/", re.IGNORECASE
)
# Role words, checked in this order on one context (the most specific first). "deduped" (a data
# variant) and "reproduce these results" (an evaluation claim) are not role words.
_ROLES: list[tuple[str, re.Pattern[str]]] = [
    ("data-processing", re.compile(r"\bdata[- ]?(prep\w*|processing|pipeline|curation|cleaning|toolkit|filtering)|"
                                   r"\bdedup(lication)? (code|pipeline|tool\w*|scripts?)|\btokeni[sz]ation pipeline|"
                                   r"\b(deduplicated|filtered|cleaned|processed)( and \w+)? (with|using)\b|"
                                   r"\b(code|scripts?|tools?) (to|that) "
                                   r"(produce|prepare|build|process|clean|filter)\w* "
                                   r"the (data|dataset|corpus)",
                                   re.I)),
    ("training", re.compile(r"\b(pre-?training (code|codebase|framework|pipeline|scripts?|configs?|repo\w*)|"
                            r"pre-?train(ed)? (with|using)\b|training code|training (codebase|framework|software|"
                            r"pipeline|repo\w*|procedure|scripts?|configs?|recipes?|setup)|train(ed)? (with|using)|"
                            r"reproduc\w* (the )?(pre-?)?training|from scratch|\w+-train\b|training, inference|"
                            r"config files)", re.I)),
    ("evaluation", re.compile(r"\beval(uation|s)? (code|harness|suite|framework|scripts?|library|repo\w*)|"
                              r"\bevaluat\w* (with|using)\b|benchmark harness|lm-evaluation|lighteval|"
                              r"-eval\b|\banalysis\w*|\bevaluation code", re.I)),
    ("fine-tuning", re.compile(r"\bfine-?tun\w* (code|scripts?|recipes?|repo\w*|library|framework|toolkit|guide)|"
                               r"\brecipes?\b|\bpost-?training (code|recipes?|scripts?|repo\w*)|"
                               r"alignment (code|recipes?|handbook)|open-instruct", re.I)),
    ("inference", re.compile(r"inference|\brun(ning)? the models?|\bserv(e|ing)\b|deploy|\bdemo\b|"
                             r"reference (code|implementation)|\blocally\b", re.I)),
]
# Headings name what a section is about, not what a link holds: one word is enough there.
_HEADING_ROLES: list[tuple[str, re.Pattern[str]]] = [
    ("data-processing", re.compile(r"data (prep\w*|processing|pipeline|curation)", re.I)),
    ("fine-tuning", re.compile(r"fine-?tun|post-?training", re.I)),
    ("evaluation", re.compile(r"\beval", re.I)),
    ("inference", re.compile(r"inference|usage|how to (use|run)|quick ?start|deploy|run(ning)? locally", re.I)),
]
# Strength of a role when one repository is mentioned several times.
ROLE_STRENGTH = {"training": 5, "data-processing": 4, "fine-tuning": 3, "inference": 2, "evaluation": 1,
                 "unspecified": 0}
# General-purpose libraries and runtimes: linking one says how the model can be run or was built,
# not that the developer published code of its own.
LIBRARIES = frozenset({
    "huggingface/transformers", "huggingface/accelerate", "huggingface/peft", "huggingface/trl",
    "huggingface/optimum", "huggingface/text-generation-inference", "huggingface/lighteval",
    "vllm-project/vllm", "sgl-project/sglang", "ggerganov/llama.cpp", "ggml-org/llama.cpp", "ggerganov/ggml",
    "ggml-org/ggml", "ollama/ollama", "mlc-ai/mlc-llm", "nvidia/tensorrt-llm", "nvidia/megatron-lm",
    "pytorch/pytorch", "pytorch/executorch", "pytorch/torchtune", "google/jax", "jax-ml/jax",
    "tensorflow/tensorflow", "keras-team/keras", "microsoft/deepspeed", "hazyresearch/flash-attention",
    "dao-ailab/flash-attention", "openai/triton", "triton-lang/triton", "timdettmers/bitsandbytes",
    "bitsandbytes-foundation/bitsandbytes", "eleutherai/lm-evaluation-harness", "ml-explore/mlx",
    "ml-explore/mlx-examples", "lm-sys/fastchat", "nvidia/apex",
})
# A link to a file that is not code (a licence, a PDF, an image, a document) is not a mention of code.
_NOT_CODE_NAME = re.compile(r"^(LICEN[CS]E|COPYING|USE_POLICY|NOTICE)|\.(pdf|png|jpe?g|gif|svg|webp)$", re.IGNORECASE)


def _not_code_file(url: str) -> bool:
    if "/blob/" not in url and "/raw/" not in url:
        return False
    name = url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return bool(_NOT_CODE_NAME.search(name)) or (name.lower().endswith(".md") and not name.upper().startswith("README"))


_LICENCE_HEADING = re.compile(r"licen[cs]", re.I)
# Clauses: sentences, and the parts of a sentence between semicolons.
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|;\s+")


def classify_link(context: str) -> str:
    for role, rx in _ROLES:
        if rx.search(context):
            return role
    return "unspecified"


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def family_stem(model_name: str) -> str:
    """The family word of a model name: Qwen2.5-7B -> qwen, OLMo-2-1124-7B -> olmo, Llama-3.1-8B -> llama."""
    first = re.split(r"[-_ ]", model_name, maxsplit=1)[0]
    return first.rstrip("0123456789.").lower() or first.lower()  # not a regex: `[\d.]+$` is quadratic


def is_developer_repo(repo: str, model_id: str) -> bool:
    """Whether a git repository (host/owner/name) plausibly belongs to the model's developer."""
    parts = repo.split("/")
    if len(parts) < 3:
        return False
    owner, name = _norm(parts[1]), _norm(parts[2])
    m_owner, _, m_name = model_id.partition("/")
    mo, stem = _norm(m_owner), _norm(family_stem(m_name))
    if len(mo) >= 3 and len(owner) >= 3 and (mo in owner or owner in mo):
        return True
    return len(stem) >= 3 and (stem in name or stem in owner)


def _mention_role(link: Link, block_text: str, repo: str, alone: bool = True) -> tuple[str, str]:
    """(role, where it was read) for one mention: link text + repo name, the clause holding the link, the
    paragraph (only when no other repository is linked in it: its words may be about the other one),
    then the headings above."""
    own = f"{link.text if link.text != link.url else ''} {repo.split('/', 1)[-1]}"
    role = classify_link(own)
    if role != "unspecified":
        return role, "link"
    if any(_LICENCE_HEADING.search(h) for h in link.section.path):
        return "unspecified", ""  # a licence paragraph names where models come from, not what code holds
    needle = link.text if link.text and link.text != link.url else link.url
    for sentence in _SENTENCE_SPLIT.split(block_text):
        if needle and needle in sentence:
            role = classify_link(sentence)
            if role != "unspecified":
                return role, "sentence"
            break
    role = classify_link(block_text) if alone else "unspecified"
    if role != "unspecified":
        return role, "paragraph"
    for heading in reversed(link.section.path):
        role = classify_link(heading)
        if role == "unspecified":
            role = next((r for r, rx in _HEADING_ROLES if rx.search(heading)), "unspecified")
        if role != "unspecified":
            return role, "heading"
    return "unspecified", ""


def classify_repos(card: ParsedCard) -> dict[str, tuple[str, list[str], Link]]:
    """repo -> (strongest role, every role found, the mention that gave the strongest role)."""
    blocks = {(b.line, b.section): b.text for b in card.blocks}
    repos_in_block: dict[tuple[int, Any], set[str]] = {}
    for link in card.links:
        if (r := git_repo(link.url)) is not None:
            repos_in_block.setdefault((link.line, link.section), set()).add(r)
    out: dict[str, tuple[str, list[str], Link]] = {}
    for link in card.links:
        repo = git_repo(link.url)
        if repo is None or _not_code_file(link.url):
            continue
        alone = len(repos_in_block.get((link.line, link.section), set())) <= 1
        role, _where = _mention_role(link, blocks.get((link.line, link.section), ""), repo, alone)
        prev = out.get(repo)
        if prev is None:
            out[repo] = (role, [role] if role != "unspecified" else [], link)
            continue
        roles = prev[1] + ([role] if role != "unspecified" and role not in prev[1] else [])
        if ROLE_STRENGTH[role] > ROLE_STRENGTH[prev[0]]:
            out[repo] = (role, roles, link)
        else:
            out[repo] = (prev[0], roles, prev[2])
    return out


@emits("code.link", "code.library", "code.inference-file", "code.modeling", "code.training-file")
def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    snap = ctx.snap
    names = snap.sibling_names()
    modeling = [n for n in names if _MODELING_RE.search(n)]
    if modeling:
        out.add("code.modeling", {"files": modeling}, source="api", pointer=f"siblings[{modeling[0]}]",
                summary=f"Custom modelling code in the repository: {', '.join(modeling[:4])}.",
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
        from_card = bool(ctx.metadata.get("library_name"))
        out.add("code.library", {"library": library[:100]}, source=ctx.meta_source() if from_card else "api",
                pointer=ctx.meta_pointer("library_name") if from_card else "library_name",
                summary=(f"The weights load with the public '{library[:100]}' library "
                         f"({'library_name in the card' if from_card else 'library the Hub names'}); "
                         "that is not code the developer published."),
                url=ctx.meta_url("library_name") if from_card else snap.repo_url())
    elif isinstance(snap.info.get("transformersInfo"), dict):
        out.add("code.library", {"library": "transformers"}, source="api", pointer="transformersInfo",
                summary="The weights load with the public 'transformers' library (transformersInfo from the Hub); "
                        "that is not code the developer published.",
                url=snap.repo_url())

    for repo, (role, roles, link) in classify_repos(ctx.card).items():
        short = repo.split("/", 1)[-1].lower()
        lib = short in LIBRARIES
        developer = not lib and is_developer_repo(repo, snap.repo_id)
        shown = "library" if lib else role
        where = f"README.md line {link.line}"
        if lib:
            summary = (f"Card links the public library {repo} (line {link.line}"
                       + (f", as {'/'.join(roles)} code" if roles else "") + "); not the developer's own code.")
        elif role == "unspecified":
            summary = (f"Card links {repo} ({where}) without saying what code it holds"
                       + ("; it belongs to the developer." if developer else "."))
        else:
            quote = link.text if link.text and link.text != link.url else repo
            summary = f"Card links {repo} as {role} code (“{quote[:80]}”, {where})."
        value: dict[str, Any] = {"url": link.url, "repo": repo, "role": shown, "roles": roles or [],
                                 "developer": developer, "line": link.line}
        url = ctx.line_url(link.line)
        if not lib and (read := _as_read(ctx, repo)) is not None:
            value, summary, url = _checked(value, summary, read, url)
        out.add("code.link", value, source="card.body", pointer=ctx.body_pointer(link.section.heading, link.line),
                summary=summary, confidence="detected", url=url)


def _as_read(ctx: EvidenceContext, repo: str) -> Any:
    """The repository as sources/external.py read it (GitHub), or None when it was not followed."""
    host, _, rid = repo.partition("/")
    if host not in ("github.com", "gitlab.com"):
        return None
    from openaudit.evidence.external import find_external

    return find_external(ctx, host.removesuffix(".com"), rid)


def _checked(value: dict[str, Any], summary: str, ext: Any, url: str | None) -> tuple[dict[str, Any], str, str | None]:
    """A code link corrected by what the repository holds at the commit read: a repository that is gone
    or holds no code is not code, whatever the card calls it; training code found in the tree is
    training code even when the card does not say so. `checked` says what was read."""
    from openaudit.evidence.external import repo_facts

    said = value["role"]
    if ext.status != "ok":
        what = "does not exist" if ext.status == "not-found" else "is not available"
        return ({**value, "role": ext.status, "roles": [], "checked": ext.status, "card_role": said},
                f"{summary[:-1]}; but the repository {what} ({ext.detail}), so it is not published code.", url)
    facts = repo_facts(ext)
    kinds: dict[str, str] = facts["kinds"]
    at = f"{ext.id}@{(ext.revision or '')[:12]}"
    value = {**value, "checked": "ok", "commit": ext.revision, "archived": facts["archived"],
             "found": sorted(kinds), "card_role": said}
    if not facts["holds_code"]:  # only documents, images and licences: conservative on purpose
        only = ", ".join(facts["sample"][:4]) or "nothing"
        return ({**value, "role": "no-code", "roles": [], "checked": "no-code"},
                f"{summary[:-1]}; but the repository holds no code at {at}"
                f"{' (archived)' if facts['archived'] else ''}: only {only}.", ext.url())
    # What the tree holds adds to what the card says only for the developer's own repository: a third
    # party's benchmark scripts are not this model's evaluation code.
    roles = list(dict.fromkeys([*value["roles"], *(kinds if value["developer"] else ())]))
    role = said
    # Only the developer's own repository becomes the training code by what it holds: a third party's
    # training scripts (nanoGPT linked as "inspired by") are not this model's.
    # A repository the card calls fine-tuning code keeps that role: tuning code has train scripts too.
    if "training" in kinds and value["developer"] and ROLE_STRENGTH.get(said, 0) < ROLE_STRENGTH["fine-tuning"]:
        role = "training"
    found = (", ".join(f"{k} ({p})" for k, p in kinds.items()) if kinds
             else "code, but no training, evaluation or data-processing script recognised")
    note = f" Read at {at}{' (archived)' if facts['archived'] else ''}: {found}."
    first = kinds.get(role) or next(iter(kinds.values()), None)
    return ({**value, "role": role, "roles": roles}, summary + note,
            ext.file_url(first) if first else url)
