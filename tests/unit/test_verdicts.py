"""Expected verdicts of the default profile on the fixture store (issue 3), each with its reason.

These are the claims a journalist would check: if one changes, a user would notice.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from openaudit import api
from openaudit.report import Subject

STORE = Path(__file__).parents[1] / "store"
pytestmark = pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not generated")


@cache
def audit(repo_id: str) -> Subject:
    report = api.audit_models([repo_id], snapshots=STORE, profiles=["openaudit"])
    (subject,) = report.subjects
    assert subject.status in ("audited", "incomplete"), subject.reason
    return subject


def verdicts(repo_id: str) -> dict[str, str]:
    return {d: r.verdict for d, r in audit(repo_id).dimensions.items()}


def kinds(repo_id: str) -> set[str]:
    return {e.kind for e in audit(repo_id).evidence}


def flags(repo_id: str) -> set[str]:
    return {f.id for f in audit(repo_id).flags}


def test_llama_31_8b() -> None:
    v = verdicts("meta-llama/Llama-3.1-8B")
    assert v["weights"] == "partial", "gated (manual): downloadable only after Meta approves the request"
    assert v["code"] == "partial", "modelling code via transformers and inference/recipe repos, no training code"
    assert v["data"] == "closed", "'a new mix of publicly available online data', no dataset named"
    assert v["documentation"] in ("partial", "open"), "detailed card, Llama 3 paper referenced"
    assert "gated-access" in flags("meta-llama/Llama-3.1-8B")


def test_mistral_7b() -> None:
    v = verdicts("mistralai/Mistral-7B-v0.1")
    assert v["weights"] == "partial", "a contact-information gate stands in front of Apache-2.0 weights"
    # Issue 19: loading with the public transformers library is not code Mistral published.
    assert v["code"] == "closed", "no code of Mistral's own linked or in the repo; transformers runs it"
    assert v["data"] == "closed", "the card says nothing about training data"
    assert v["documentation"] == "partial", "architecture notes and a paper, no training/evaluation sections"


def test_deepseek_r1() -> None:
    v = verdicts("deepseek-ai/DeepSeek-R1")
    assert v["weights"] == "open", "MIT weights, not gated"
    assert v["code"] == "partial", "modeling_deepseek.py for inference; no training code"
    assert v["data"] == "closed", "RL and SFT data described only qualitatively"
    assert v["documentation"] == "open", "paper (arXiv 2501.12948), evaluation tables, limitations"


@pytest.mark.parametrize("repo_id", ["allenai/OLMo-2-1124-7B", "EleutherAI/pythia-1b", "LLM360/Amber",
                                     "HuggingFaceTB/SmolLM2-1.7B"])
def test_fully_open_reference_models(repo_id: str) -> None:
    v = verdicts(repo_id)
    assert v["weights"] == "open", "ungated weights"
    assert v["code"] == "open", "training code published and linked from the card"
    assert v["data"] in ("open", "partial"), "data published (partial where a source is no longer hosted)"
    # Issue 3 expected "open" documentation for all four. Two cards, read closely, do not earn it:
    # Amber's card has no limitations section at all, and SmolLM2's Nov-2024 card cites no paper
    # (its arXiv paper, 2502.02737, came three months later). Claiming "open" would overstate them.
    expected_docs = {"LLM360/Amber": "partial", "HuggingFaceTB/SmolLM2-1.7B": "partial"}.get(repo_id, "open")
    assert v["documentation"] == expected_docs, "paper and a card covering training, evaluation, limitations"


def test_pythia_data_is_partial_because_the_pile_is_gone() -> None:
    # `datasets: [the_pile]` names The Pile, whose Hub hosting was withdrawn: documented, not downloadable.
    subject = audit("EleutherAI/pythia-1b")
    assert subject.dimensions["data"].verdict == "partial"
    ds = [e for e in subject.evidence if e.kind == "data.dataset"]
    assert ds and not ds[0].value["found"]


def test_smollm2_data_is_named_in_prose_only() -> None:
    # No `datasets:` key, but the card links FineWeb-Edu, DCLM and The Stack: named, not declared.
    subject = audit("HuggingFaceTB/SmolLM2-1.7B")
    assert subject.dimensions["data"].verdict == "partial"
    named = next(e for e in subject.evidence if e.kind == "data.source-named")
    assert "HuggingFaceFW/fineweb-edu" in named.value["sources"]


def test_deepseek_r1_family_card_does_not_make_r1_a_llama_derivative() -> None:
    # R1's card describes the distills too ("...-Distill-Llama-8B is derived from Llama3.1-8B"):
    # those sentences are about the distills, so R1 has no Llama lineage and no inherited licence.
    subject = audit("deepseek-ai/DeepSeek-R1")
    bases = {e.value["id"] for e in subject.evidence if e.kind == "lineage.base_model"}
    assert "meta-llama/Llama-3.1-8B" not in bases
    assert "license-inherited" not in flags("deepseek-ai/DeepSeek-R1")
    assert subject.dimensions["license"].verdict == "open", "MIT on the weights, no restrictions"


def test_native_fp8_is_not_a_quantised_derivative() -> None:
    published = next(e for e in audit("deepseek-ai/DeepSeek-R1").evidence if e.kind == "weights.published")
    assert published.value["full_precision"] is True


def test_distill_llama_base_undeclared() -> None:
    # The card says it is fine-tuned from Llama-3.1-8B; the metadata has no base_model.
    assert "base-undeclared" in flags("deepseek-ai/DeepSeek-R1-Distill-Llama-8B")


def test_every_verdict_names_evidence_that_exists() -> None:
    subject = audit("meta-llama/Llama-3.1-8B")
    ids = {e.id for e in subject.evidence}
    for name, dim in subject.dimensions.items():
        if dim.verdict != "unknown":
            assert dim.rationale, name
        assert set(dim.evidence) <= ids, name


def test_evidence_points_at_the_pinned_commit() -> None:
    subject = audit("deepseek-ai/DeepSeek-R1")
    urls = [e.url for e in subject.evidence if e.url and "/blob/" in e.url and e.url.startswith("https://huggingface.co/")]
    assert urls and all(f"/blob/{subject.revision}/" in u for u in urls)
    # Evidence read in a linked repository (issue 25) points to the file at the commit that was read.
    linked = [e for e in subject.evidence if e.kind == "code.repo" and e.url and "/blob/" in e.url]
    assert linked and all(f"/blob/{e.value['commit']}/" in e.url for e in linked)


@pytest.mark.parametrize(("repo_id", "expect"), [
    ("openaudit-fixtures/no-card", "docs.card-missing"),
    ("openaudit-fixtures/bad-yaml", "docs.metadata-invalid"),
    ("openaudit-fixtures/placeholder-card", "docs.placeholder"),
    ("openaudit-fixtures/eval-datasets-invalid", "data.dataset-invalid"),
    ("openaudit-fixtures/missing-base", "lineage.missing-base"),
    ("openaudit-fixtures/cycle-a", "lineage.cycle"),
])
def test_bad_input_becomes_evidence_and_a_finished_audit(repo_id: str, expect: str) -> None:
    assert expect in kinds(repo_id)
    assert audit(repo_id).dimensions, "the audit finished with verdicts"


def test_bad_metadata_raises_the_flag() -> None:
    assert "card-metadata-invalid" in flags("openaudit-fixtures/bad-yaml")
    assert "card-metadata-invalid" in flags("openaudit-fixtures/eval-datasets-invalid")


def test_placeholder_card_is_closed_documentation() -> None:
    assert verdicts("openaudit-fixtures/placeholder-card")["documentation"] == "closed"


def test_gguf_only_weights_are_partial() -> None:
    assert verdicts("openaudit-fixtures/gguf-only")["weights"] == "partial"


def test_renamed_base_is_followed() -> None:
    # Llama-3.1-8B-Instruct declares the pre-rename id meta-llama/Meta-Llama-3.1-8B.
    subject = audit("meta-llama/Llama-3.1-8B-Instruct")
    bases = [e.value for e in subject.evidence if e.kind == "lineage.base_model"]
    assert bases and bases[0]["found"] and bases[0]["canonical_id"] == "meta-llama/Llama-3.1-8B"


@pytest.mark.parametrize(("text", "tokens"), [
    ("Each model saw 299,892,736,000 tokens during training, at a batch size of 2M tokens.", 299_892_736_000),
    ("Training tokens: 1.4T tokens", 1.4e12),
    ("Pretraining on 14.8T diverse and high-quality tokens", 14.8e12),
    ("trained on 15 trillion tokens", 15e12),
    ("a batch size of 2M tokens", None),
    ("Context length: 2048 tokens", None),
])
def test_training_token_counts_ignore_batch_sizes_and_context(text: str, tokens: float | None) -> None:
    from openaudit.evidence.data import parse_tokens

    assert parse_tokens(text) == tokens


def test_compute_estimates_use_the_training_token_count() -> None:
    # Pythia-1b: 6 x 1.01B x 299.9B ≈ 1.8e21 FLOP, the figure EleutherAI publishes.
    est = next(e for e in audit("EleutherAI/pythia-1b").evidence if e.kind == "compute.estimate")
    assert 1.5e21 < est.value["flops"] < 2.2e21 and est.value["above_threshold"] is False


def test_mixture_of_experts_compute_uses_the_active_parameters() -> None:
    # DeepSeek-V3: 6 x 671B total x 14.8T ≈ 6e25 would cross 10^25, but only 37B are active per token
    # (the card says so): 6 x 37B x 14.8T ≈ 3.3e24, below the presumption.
    ev = {e.kind: e for e in audit("deepseek-ai/DeepSeek-V3").evidence}
    assert ev["compute.active-parameters"].value["active"] == 37e9
    assert "37B are activated for each token" in ev["compute.active-parameters"].summary
    est = ev["compute.estimate"].value
    assert est["params"] == 37e9 and est["tokens"] == 14.8e12 and est["above_threshold"] is False
    assert 3.2e24 < est["flops"] < 3.4e24
