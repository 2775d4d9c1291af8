"""Framework profiles on the fixture store (reference/model-facts.md), each expectation with its reason.

Where the issue's expectation and the fixture disagree, the test states what the fixture carries
and why the result differs.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from openaudit import api
from openaudit.criteria import BUILTIN_PROFILES, load_profile
from openaudit.render.criteria import render_explain
from openaudit.report import FrameworkResult, Subject

STORE = Path(__file__).parents[1] / "store"
pytestmark = pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not built")
FULLY_OPEN = ["allenai/OLMo-2-1124-7B", "LLM360/Amber"]


@cache
def audit(repo_id: str) -> Subject:
    report = api.audit_models([repo_id], snapshots=STORE)
    return report.subjects[0]


def fw(repo_id: str, profile: str) -> FrameworkResult:
    return audit(repo_id).frameworks[profile]


def outcome(repo_id: str, cid: str) -> str:
    return next(f.outcome for f in audit(repo_id).findings if f.criterion == cid)


# ---------------------------------------------------------------- MOF
def test_mof_olmo2_class_i() -> None:
    # Training code (github.com/allenai/OLMo), data (olmo-mix/dolmino-mix on the Hub, ODC-BY),
    # data-processing code (Dolma, linked from olmo-mix's card), intermediate checkpoints as
    # branches, paper arXiv 2501.00656: every Class I component is there; Apache-2.0 on weights
    # is MOT's type-mismatch warning only.
    r = fw("allenai/OLMo-2-1124-7B", "mof")
    assert r.mof_class == "I", r.missing
    assert r.progress == {"III": 100.0, "II": 100.0, "I": 100.0}
    assert any("Model parameters (Final)" in w for w in r.warnings)
    assert "Strict reading (type-appropriate licences required): none." in r.reasons


def test_mof_amber_class_i() -> None:
    # amber-train, amber-data-prep, Analysis360, LLM360/AmberDatasets (ODC-BY), ckpt_* branches, arXiv 2312.06550.
    assert fw("LLM360/Amber", "mof").mof_class == "I"


def test_mof_pythia_class_ii() -> None:
    # Training code (github.com/EleutherAI/pythia, "how to reproduce it"), inference (transformers),
    # evaluation code (lm-evaluation-harness), 154 checkpoints as branches, paper arXiv 2304.01373.
    # MOT records Pythia as Class I; this fixture does not carry one Class I fact: `datasets:
    # the_pile` does not resolve on the Hub (hosting withdrawn; model-facts cross-cutting case 11),
    # so the datasets' availability and licence are undetermined. So Class II, with that blocker
    # named. The data-preprocessing code is found where the card's link leads (issue 25): GPT-NeoX,
    # EleutherAI's own repository, read at its commit, holds prepare_data.py.
    r = fw("EleutherAI/pythia-1b", "mof")
    assert r.mof_class == "II", r.missing
    assert r.missing["I"] == ["Datasets (undetermined)"]
    assert outcome("EleutherAI/pythia-1b", "MOF-C16") == "open"
    # The arXiv PDF is the research paper, not a separate technical report: the paper stands in for
    # the report (one component, counted once), so 12 of 13 Class I requirements are met.
    assert r.progress["I"] == pytest.approx(round(100 * 12 / 13, 1))


def test_mof_llama31_no_class_custom_licence() -> None:
    # Llama 3.1 Community License is custom (not OSI/FSF/open-data): weights "invalid" in MOT terms.
    r = fw("meta-llama/Llama-3.1-8B", "mof")
    assert r.mof_class == "none"
    assert "Model parameters (Final) (included, licence not open)" in r.missing["III"]
    assert r.progress["II"] == 0.0 and r.progress["I"] == 0.0


def test_mof_deepseek_r1_no_class_blockers_named() -> None:
    # MIT weights, but no data card (the card names no training data), no training code, no datasets.
    r = fw("deepseek-ai/DeepSeek-R1", "mof")
    assert r.mof_class == "none"
    assert "Data card (not found on the Hub)" in r.missing["III"]
    assert "Training code (not found on the Hub)" in r.missing["II"]
    assert "Datasets (not found on the Hub)" in r.missing["I"]


def test_mof_deepseek_r1_weights_mit_open() -> None:
    # MIT on the weights: open (Class III is blocked by the data card alone).
    assert outcome("deepseek-ai/DeepSeek-R1", "MOF-C10") == "open"
    assert fw("deepseek-ai/DeepSeek-R1", "mof").missing["III"] == ["Data card (not found on the Hub)"]


# ---------------------------------------------------------------- OSAID
@pytest.mark.parametrize("repo_id", FULLY_OPEN)
def test_osaid_fully_open_likely_meet(repo_id: str) -> None:
    # OSI's validation list: OLMo and Amber passed. Data declared and public, training code linked, Apache-2.0.
    r = fw(repo_id, "osaid")
    assert r.verdict == "likely-meets", r.reasons
    assert not any("certif" in t.lower() for t in r.reasons)


def test_osaid_pythia_likely_meets() -> None:
    # OSI's validation list: Pythia passed. The Pile is declared and described (OSAID asks for data
    # information, not for the data to be hosted), training code linked, Apache-2.0 weights.
    assert fw("EleutherAI/pythia-1b", "osaid").verdict == "likely-meets"


@pytest.mark.parametrize(("repo_id", "missing"), [
    # Custom licence with AUP; data "publicly available online data"; no training code.
    ("meta-llama/Llama-3.1-8B", {"Data information", "Code", "Parameters"}),
    # Apache-2.0 weights, but no data information and no training code (OSI's reading of Mixtral).
    ("mistralai/Mixtral-8x7B-v0.1", {"Data information", "Code"}),
    # MIT weights, but the synthetic/filtered data is not listed and no training code is released.
    ("microsoft/phi-2", {"Code"}),
])
def test_osaid_likely_fails_with_missing_items(repo_id: str, missing: set[str]) -> None:
    r = fw(repo_id, "osaid")
    assert r.verdict == "likely-fails"
    assert missing <= set(r.missing["likely-fails"])


# ---------------------------------------------------------------- OSAI Index
@pytest.mark.parametrize("repo_id", FULLY_OPEN)
def test_osai_index_fully_open_above_80(repo_id: str) -> None:
    r = fw(repo_id, "osai-index")
    assert r.score is not None and r.score > 80, r.reasons
    # Peer review is not decided from what was read: unknown, with a reason.
    assert outcome(repo_id, "OSAI-PA") == "unknown"
    # Code documentation: OLMo's linked repositories are in the store (issue 25) and document their code
    # in a README (partial: whether that is comprehensive, the index's "open", is not judged); Amber's
    # repositories were not recorded, so its links rest on the card's words (unknown).
    assert outcome(repo_id, "OSAI-CD") == {"allenai/OLMo-2-1124-7B": "partial", "LLM360/Amber": "unknown"}[repo_id]
    assert r.coverage is not None and r.coverage < 1


@pytest.mark.parametrize("repo_id", ["meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1",
                                     "deepseek-ai/DeepSeek-R1"])
def test_osai_index_open_weights_models_below_50(repo_id: str) -> None:
    r = fw(repo_id, "osai-index")
    assert r.score is not None and r.score < 50


def test_osai_index_base_model_followed() -> None:
    # Llama-3.1-8B-Instruct declares base_model meta-llama/Meta-Llama-3.1-8B (old name): the base
    # dimensions are judged on that repo (gated → partial weights, no data → closed).
    subj = audit("meta-llama/Llama-3.1-8B-Instruct")
    assert any(e.kind == "base.model" for e in subj.evidence)
    assert outcome("meta-llama/Llama-3.1-8B-Instruct", "OSAI-WB") == "partial"
    assert outcome("meta-llama/Llama-3.1-8B-Instruct", "OSAI-DSB") == "closed"


def test_osai_index_from_scratch_mirrors_end_model() -> None:
    # OLMo 2 declares no base: base = end model.
    assert outcome("allenai/OLMo-2-1124-7B", "OSAI-WB") == outcome("allenai/OLMo-2-1124-7B", "OSAI-WE") == "open"


# ---------------------------------------------------------------- EU AI Act
def test_eu_llama31_likely_not_exempt() -> None:
    r = fw("meta-llama/Llama-3.1-8B", "eu-ai-act")
    assert r.verdict == "likely-not-exempt"
    assert outcome("meta-llama/Llama-3.1-8B", "EU-LIC") == "closed"
    text = " ".join(r.reasons).lower()
    assert "acceptable-use" in text or "acceptable use" in text
    assert "700m" in text or "user" in text


def test_eu_mistral_likely_exempt_but_summary_missing() -> None:
    r = fw("mistralai/Mistral-7B-v0.1", "eu-ai-act")
    assert r.verdict == "likely-exempt"
    assert outcome("mistralai/Mistral-7B-v0.1", "EU-LIC") == "open"
    assert outcome("mistralai/Mistral-7B-v0.1", "EU-SUM") == "closed"
    assert "Training-content summary (Art. 53(1)(d))" in r.missing["likely-exempt"]
    # Mistral discloses no token count, but 6 x 7.24B x 100T tokens (more than any disclosed run)
    # is still below 10^25 FLOP: the bound decides it, and says so.
    assert outcome("mistralai/Mistral-7B-v0.1", "EU-RISK") == "open"
    risk = next(f for f in audit("mistralai/Mistral-7B-v0.1").findings if f.criterion == "EU-RISK")
    assert "not disclosed, but even at 100T tokens" in risk.rationale
    assert not any("legal advice" in t.lower() and "this is legal advice" in t.lower() for t in r.reasons)


def test_eu_deepseek_r1_summary_missing_and_compute_undetermined() -> None:
    # The R1 fixture card discloses no training-token count, so compute is undetermined.
    assert outcome("deepseek-ai/DeepSeek-R1", "EU-SUM") == "closed"
    subj = audit("deepseek-ai/DeepSeek-R1")
    has_tokens = any(e.kind == "data.tokens" for e in subj.evidence)
    assert outcome("deepseek-ai/DeepSeek-R1", "EU-RISK") == ("unknown" if not has_tokens else "open")


def test_eu_deepseek_r1_open_licence_but_systemic_risk_undetermined_in_the_headline() -> None:
    # MIT, weights public, config.json, usage recommendations: the other Art. 53(2) conditions are
    # met; but with no token count for a 37B-active model compute could cross 10^25 FLOP, and the
    # verdict itself says so (not "likely-exempt" with a footnote).
    assert outcome("deepseek-ai/DeepSeek-R1", "EU-LIC") == "open"
    r = fw("deepseek-ai/DeepSeek-R1", "eu-ai-act")
    assert r.verdict == "undetermined"
    assert r.reasons[0].startswith("Systemic risk not checked")
    assert "Training-content summary (Art. 53(1)(d))" in r.missing["undetermined"]


# ---------------------------------------------------------------- profiles, explain, mof-yaml
@pytest.mark.parametrize("name", [p for p in BUILTIN_PROFILES if p != "openaudit"])
def test_every_criterion_explains(name: str) -> None:
    prof = load_profile(name)
    assert prof.references and prof.version
    for c in prof.criteria:
        text = render_explain(c.id)
        assert text.startswith(c.id) and c.question.split()[0] in text


def test_mof_has_17_components() -> None:
    prof = load_profile("mof")
    assert len(prof.criteria) == 17
    assert {c.content_type for c in prof.criteria} == {"code", "data", "document"}


def test_no_certified_wording_anywhere() -> None:
    for name in ("osaid", "eu-ai-act"):
        text = (Path(load_profile(name).path)).read_text(encoding="utf-8").lower()
        assert "certified" not in text


def test_report_records_profile_versions_and_digests() -> None:
    report = api.audit_models(["LLM360/Amber"], snapshots=STORE)
    ids = {p.id for p in report.profiles}
    assert {"mof", "osaid", "osai-index", "eu-ai-act"} <= ids
    assert all(len(p.sha256) == 64 for p in report.profiles)


def test_mof_yaml_record() -> None:
    import yaml

    from openaudit.render.mof_yaml import render

    report = api.audit_models(["allenai/OLMo-2-1124-7B", "meta-llama/Llama-3.1-8B"], snapshots=STORE, jobs=1)
    docs = list(yaml.safe_load_all(render(report)))
    assert len(docs) == 2
    olmo, llama = docs
    assert olmo["framework"] == {"name": "Model Openness Framework", "version": "1.0", "date": "2024-12-15"}
    comps = {c["name"]: c for c in olmo["release"]["components"]}
    assert comps["Model parameters (Final)"]["license_name"] == "Apache-2.0"
    assert comps["Datasets"]["license_name"] == "ODC-By-1.0"
    assert set(olmo["release"]) >= {"name", "version", "date", "architecture", "origin", "producer", "contact"}
    for c in olmo["release"]["components"]:
        assert set(c) == {"name", "description", "location", "license_name", "license_path"}
    lcomps = {c["name"]: c for c in llama["release"]["components"]}
    assert "Training code" not in lcomps  # missing components are left out (MOT: missing)
    assert lcomps["Model parameters (Final)"]["license_name"] == "Llama 3.1 Community License Agreement"
