"""Facts the framework profiles need that no other extractor records.

- `data.dataset-code`: code linked from a resolved training dataset's own card (e.g. the
  deduplication and filtering toolkit named on allenai/olmo-mix-1124), classified by role the
  same way as the model card's links. MOF "Data preprocessing code", OSAI Index "Training code".
- `docs.benchmarks`: public evaluation benchmarks named in the card's evaluation sections or in
  model-index metadata. MOF "Evaluation data".
- `base.model`: what the bundle holds about the nearest declared base model (weights, gate,
  datasets), for the OSAI Index base-model dimensions. Absent when no base is declared: the
  profile then mirrors the end model (a from-scratch model is its own base).

Pure: reads only the bundle, like every extractor.
"""

from __future__ import annotations

import re
from typing import Any

from openaudit.evidence import EvidenceContext, context_for
from openaudit.evidence._util import git_repo
from openaudit.evidence.code import classify_link
from openaudit.evidence.data import DATA_SECTIONS, VAGUE_RE, declared_datasets, valid_dataset_id
from openaudit.evidence.kinds import emits
from openaudit.evidence.model import EvidenceList
from openaudit.evidence.weights import quantised_formats, weight_files
from openaudit.snapshot import RepoSnapshot, SnapshotBundle, not_checked_why

_BENCHMARKS = [
    "MMLU-Pro", "MMLU", "HellaSwag", "HSwag", "ARC", "ARC-Challenge", "ARC-Easy", "WinoGrande", "WinoG", "TruthfulQA",
    "GSM8K", "GSM8k", "HumanEval", "MBPP", "PIQA", "BoolQ", "LAMBADA", "DROP", "TriviaQA", "NaturalQuestions",
    "AGIEval", "MATH-500", "MATH", "BBH", "BIG-Bench", "GPQA", "AIME", "LiveCodeBench", "SciQ", "OpenBookQA",
    "SIQA", "IFEval", "MGSM", "CommonsenseQA", "SWE-bench", "AlpacaEval", "MT-Bench",
]
_BENCH_RE = re.compile(r"(?<![\w-])(" + "|".join(re.escape(b) for b in _BENCHMARKS) + r")(?![\w-])")
_EVAL_SECTIONS = r"evaluation|benchmark|results|performance"


def _card_of(snap: RepoSnapshot) -> tuple[dict[str, Any], Any]:
    ctx = context_for(SnapshotBundle(subject=snap))
    return ctx.metadata, ctx.card


@emits("data.dataset-code")
def _dataset_code(ctx: EvidenceContext, out: EvidenceList) -> None:
    seen: set[str] = set()
    for did, _via in declared_datasets(ctx.metadata, ctx.snap.tags()):
        ds = ctx.bundle.get("dataset", did) if valid_dataset_id(did) else None
        if ds is None:
            continue
        _meta, card = _card_of(ds)
        sentences = {(b.line, b.section): b.text for b in card.blocks}
        for link in card.links:
            repo = git_repo(link.url)
            if repo is None or repo in seen:
                continue
            seen.add(repo)
            role = classify_link(f"{link.text} {repo} " + sentences.get((link.line, link.section), ""))
            url = ds.file_url("README.md")
            out.add("data.dataset-code", {"dataset": did, "url": link.url, "repo": repo, "role": role},
                    source="linked-repo", pointer=f"{did}:README.md:L{link.line}", confidence="detected",
                    url=f"{url}#L{link.line}" if url else ds.repo_url(),
                    summary=f"The card of dataset {did} links {repo} ({role} code).")


@emits("docs.benchmarks")
def _benchmarks(ctx: EvidenceContext, out: EvidenceList) -> None:
    names: dict[str, int] = {}
    for b in ctx.card.blocks_in(_EVAL_SECTIONS):
        for m in _BENCH_RE.finditer(b.text):
            names.setdefault(m.group(1), b.line)
    mi = ctx.metadata.get("model-index")
    from_index = False
    if isinstance(mi, list):
        for entry in mi:
            for res in (entry.get("results") or []) if isinstance(entry, dict) else []:
                ds = res.get("dataset") if isinstance(res, dict) else None
                name = (ds.get("name") or ds.get("type")) if isinstance(ds, dict) else None
                if isinstance(name, str) and name:
                    names.setdefault(name[:60], 0)
                    from_index = True
    if not names:
        return
    line = next((ln for ln in names.values() if ln), 0)
    listed = sorted(names)
    out.add("docs.benchmarks", {"names": listed[:30], "from": "model-index" if from_index else "card"},
            source=ctx.meta_source() if from_index else "card.body",
            pointer=ctx.meta_pointer("model-index") if from_index else f"README.md:L{line}",
            url=ctx.meta_url("model-index") if from_index else ctx.line_url(line), confidence="detected",
            summary=f"Evaluated on public benchmarks: {', '.join(listed[:8])}.")


@emits("base.model")
def _base(ctx: EvidenceContext, out: EvidenceList) -> None:
    bases = [e for e in out.items if e.kind == "lineage.base_model" and isinstance(e.value, dict)
             and e.value.get("depth") == 1]
    if not bases:
        return
    # A declared base (metadata or tag) beats one only named in prose.
    first = sorted(bases, key=lambda e: e.value.get("via") == "prose")[0]
    bid = str(first.value["id"])
    snap = ctx.bundle.get("model", bid)
    value: dict[str, Any] = {"id": bid, "via": first.value.get("via"), "found": snap is not None}
    if snap is None:
        unchecked = not_checked_why(ctx.bundle.related_errors.get(f"model:{bid}"), ctx.snap.source) is not None
        said = "was not checked" if unchecked else "could not be read"
        if unchecked:
            value["checked"] = False  # criteria on the base are undetermined for want of access
        out.add("base.model", value, source="linked-repo", pointer=first.pointer, confidence="inferred",
                summary=f"Base model {bid} {said}; its weights and data are undetermined.")
        return
    meta, card = _card_of(snap)
    files = weight_files(snap.siblings())
    full = set(files) - quantised_formats()
    gated = snap.gated()
    datasets = [d for d, _ in declared_datasets(meta, snap.tags()) if valid_dataset_id(d)]
    resolved = [ctx.bundle.get("dataset", d) for d in datasets]
    public = [r for r in resolved if r is not None and not r.gated() and not r.info.get("private")]
    value.update(
        repo_id=snap.repo_id, private=bool(snap.info.get("private")), gated=gated if isinstance(gated, str) else False,
        weights=bool(files), full_precision=bool(full), datasets=len(datasets), datasets_public=len(public),
        data_section=bool(card.blocks_in(DATA_SECTIONS)),
        data_vague=bool(card.sentences(VAGUE_RE, within=DATA_SECTIONS)),
    )
    state = ("no weights" if not files else "weights gated" if value["gated"] else "weights public")
    out.add("base.model", value, source="linked-repo", pointer=f"{snap.repo_id}", url=snap.repo_url(),
            confidence="declared" if first.value.get("via") != "prose" else "detected",
            summary=f"Base model {snap.repo_id}: {state}; {len(datasets)} declared dataset(s), "
            f"{len(public)} public on the Hub.")


def extract(ctx: EvidenceContext, out: EvidenceList) -> None:
    _dataset_code(ctx, out)
    _benchmarks(ctx, out)
    _base(ctx, out)
