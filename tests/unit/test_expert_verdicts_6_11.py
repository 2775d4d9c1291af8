"""Issue 19, classes 6-11: verdicts an expert would sign, on fixtures written after real cards.

6 weights in any format in use; 7 training compute of mixture-of-experts models and the token
count stated for this model; 8 missing access is not evidence; 9 local folders; 10 flags that
discriminate; 11 the "open source" claim itself.
"""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from openaudit import api
from openaudit.diff import diff_reports
from openaudit.evidence import collect_evidence
from openaudit.evidence.claims import _claim_in
from openaudit.evidence.weights import unrecognised_binaries, weight_files
from openaudit.report import Report, Subject
from openaudit.snapshot import RepoSnapshot, SnapshotBundle, TextFile, Unreadable, UnreadableFile
from openaudit.sources.store import StoreSource

STORE = Path(__file__).parents[1] / "store"
FIX = "openaudit-fixtures"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
pytestmark = pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not generated")


@cache
def audit(repo_id: str) -> Subject:
    (subject,) = api.audit_models([repo_id], snapshots=STORE).subjects
    return subject


def dims(s: Subject) -> dict[str, str]:
    return {d: r.verdict for d, r in s.dimensions.items()}


def ev(s: Subject, kind: str) -> list[Any]:
    return [e for e in s.evidence if e.kind == kind]


def flag(s: Subject, fid: str) -> Any:
    return next((f for f in s.flags if f.id == fid), None)


def snapshot(repo_id: str, readme: str, *, config: dict[str, Any] | None = None, params: int | None = None,
             siblings: list[tuple[str, int]] | None = None) -> RepoSnapshot:
    info: dict[str, Any] = {"id": repo_id, "sha": "a" * 40, "gated": False, "tags": [],
                            "siblings": [{"rfilename": "README.md", "size": len(readme)},
                                         *({"rfilename": n, "size": z} for n, z in siblings or [])]}
    if config is not None:
        info["config"] = config
    if params is not None:
        info["safetensors"] = {"parameters": {"BF16": params}, "total": params}
    return RepoSnapshot(repo_id=repo_id, source="store", revision="a" * 40, taken_at=NOW, info=info,
                        files={"README.md": TextFile(path="README.md", text=readme, size=len(readme))})


def evidence_of(snap: RepoSnapshot) -> dict[str, Any]:
    items, _ = collect_evidence(SnapshotBundle(subject=snap))
    out: dict[str, Any] = {}
    for e in items:
        out.setdefault(e.kind, e)
    return out


# ------------------------------------------------------------------ 6. weights in the formats in use
def test_an_executorch_program_is_published_weights_in_a_quantised_form() -> None:
    s = audit(f"{FIX}/executorch-pte")
    assert not ev(s, "weights.none")
    assert ev(s, "weights.format")[0].value["format"] == "executorch"
    # The card declares base_model_relation: quantized: a derivative, not the full-precision model.
    assert dims(s)["weights"] == "partial"
    assert "quantised" in s.dimensions["weights"].rationale and "executorch" in s.dimensions["weights"].rationale


def test_gemma_cpp_weights_are_weights_behind_a_gate_not_absent() -> None:
    s = audit(f"{FIX}/gemma-cpp-sbs")
    assert ev(s, "weights.format")[0].value["names"] == ["2b-it-sfp.sbs"]
    assert dims(s)["weights"] == "partial" and "gate" in s.dimensions["weights"].rationale
    assert s.findings and next(f for f in s.findings if f.criterion == "EU-WGT").outcome != "closed"


def test_a_large_file_of_unknown_format_makes_weights_unknown_never_closed() -> None:
    s = audit(f"{FIX}/unknown-weights-format")
    assert dims(s)["weights"] == "unknown"
    assert "kestrel-3b.weights" in s.dimensions["weights"].rationale
    for cid in ("EU-WGT", "MOF-C10", "OSAID-PARAMS", "OSAI-WE"):
        assert next(f for f in s.findings if f.criterion == cid).outcome == "unknown", cid


@pytest.mark.parametrize(("name", "fmt"), [
    ("model.safetensors", "safetensors"), ("pytorch_model-00001-of-00002.bin", "pytorch"),
    ("consolidated.00.pth", "pytorch"), ("model-q4_k_m.gguf", "gguf"), ("ggml-model-q4_0.bin", "ggml"),
    ("model.onnx", "onnx"), ("onnx/model.onnx_data", "onnx"), ("model.tflite", "tflite"),
    ("llama3_2-1b.pte", "executorch"), ("2b-it-sfp.sbs", "gemma.cpp"), ("parakeet.nemo", "nemo"),
    ("weights.npz", "numpy"), ("model.engine", "tensorrt"), ("rank0.plan", "tensorrt"),
    ("openvino_model.bin", "openvino"), ("tf_model.h5", "tensorflow"), ("flax_model.msgpack", "flax"),
    ("Model.mlpackage/Data/com.apple.CoreML/weights/weight.bin", "coreml"),
])
def test_weight_formats_are_recognised_from_criteria_data(name: str, fmt: str) -> None:
    assert list(weight_files([{"rfilename": name, "size": 50_000_000}])) == [fmt]


def test_large_data_and_text_files_are_not_taken_for_weights() -> None:
    sibs = [{"rfilename": "train.jsonl", "size": 900_000_000}, {"rfilename": "tokenizer.json", "size": 80_000_000},
            {"rfilename": "optimizer.pt", "size": 900_000_000}, {"rfilename": "demo.mp4", "size": 300_000_000}]
    assert weight_files(sibs) == {}  # optimizer.pt is training state, not weights
    assert not unrecognised_binaries(sibs)


# ------------------------------------------------------------------ 7. training compute
def test_moe_compute_uses_active_parameters_and_this_models_token_count() -> None:
    s = audit(f"{FIX}/Maverick-MoE-17B-128E")
    tokens = ev(s, "data.tokens")[0].value["tokens"]
    assert tokens == 22e12  # Maverick's, not Scout's 40T named first in the same sentence
    est = ev(s, "compute.estimate")[0].value
    assert est["params"] == 17e9 and est["above_threshold"] is False  # 6 x 17B x 22T ≈ 2.2e24
    # With total parameters (401.6B) it would read 5.3e25: "systemic risk presumed", the worst error.
    assert s.frameworks["eu-ai-act"].verdict == "likely-exempt"


def test_the_other_model_of_a_two_model_sentence_gets_its_own_count() -> None:
    card = ("# Scout-MoE-17B-16E\n\nScout was pretrained on about 40 trillion tokens and Maverick on about "
            "22 trillion tokens of text and images.\n\nEach has 17B active parameters.\n")
    e = evidence_of(snapshot("x/Scout-MoE-17B-16E", card, config={"model_type": "llama4"}, params=108_641_793_536))
    assert e["data.tokens"].value["tokens"] == 40e12
    assert e["compute.estimate"].value["params"] == 17e9


def test_moe_active_parameters_from_the_repo_name() -> None:
    card = "# Model\n\nPretrained on 36 trillion tokens covering 119 languages.\n"
    e = evidence_of(snapshot("x/Qwen3-30B-A3B", card, config={"model_type": "qwen3_moe"}, params=30_532_122_624))
    assert e["compute.active-parameters"].value["active"] == 3e9
    assert e["compute.estimate"].value["above_threshold"] is False


def test_active_parameters_in_the_card_mark_a_moe_even_without_a_config() -> None:
    # A GGUF re-upload: no config.json, parameters from the GGUF header, the card's own words.
    card = "# X\n\nIt has 37B activated parameters per token and was pretrained on 14.8 trillion tokens.\n"
    e = evidence_of(snapshot("x/Big-GGUF", card, params=671_026_419_200))
    assert e["compute.active-parameters"].value["moe"] == "the card states active parameters"
    assert e["compute.estimate"].value["above_threshold"] is False


def test_moe_without_an_active_count_above_the_line_is_undetermined_not_systemic() -> None:
    card = "# Big\n\nA sparse Mixture-of-Experts model pretrained on 12 trillion tokens.\n"
    e = evidence_of(snapshot("x/Big-MoE", card, config={"model_type": "mixtral"}, params=140_620_634_112))
    assert "compute.estimate" not in e
    assert e["compute.undisclosed"].value["missing"].startswith("active parameters")


def test_dense_model_above_the_line_is_still_presumed_systemic() -> None:
    card = "# Dense\n\nThe model was pretrained on 15 trillion tokens.\n"
    e = evidence_of(snapshot("x/Dense-405B", card, config={"model_type": "llama"}, params=405_853_388_800))
    assert e["compute.estimate"].value["above_threshold"] is True  # 6 x 405.9B x 15T ≈ 3.7e25


def test_a_source_table_total_and_a_hyperparameter_table_give_the_estimate() -> None:
    # LLM360 Amber: no safetensors (PyTorch .bin), a "Tokens (Billion)" table with a Total row, and
    # "| Total Parameters | 6.7B |": 6 x 6.7B x 1.259T ≈ 5.1e22 FLOP, not "cannot be estimated".
    s = audit("LLM360/Amber")
    assert ev(s, "data.tokens")[0].value["tokens"] == pytest.approx(1259.13e9)
    assert ev(s, "weights.parameters")[0].value == {"total": 6.7e9, "by_dtype": {}, "from": "card"}
    assert 4.9e22 < ev(s, "compute.estimate")[0].value["flops"] < 5.2e22
    assert s.frameworks["eu-ai-act"].verdict == "likely-exempt"


# ------------------------------------------------------------------ 8. missing access is not evidence
def test_a_gated_repo_read_without_token_leaves_card_dependent_dimensions_unknown() -> None:
    s = audit(f"{FIX}/gated-no-token")
    d = dims(s)
    assert d["weights"] == "partial"  # the file list and the gate are public
    assert d["code"] == d["data"] == d["license"] == d["documentation"] == "unknown"
    assert "gated" in s.dimensions["license"].rationale and "LICENSE.txt" in s.dimensions["license"].rationale
    assert "could not be read (gated)" in s.dimensions["data"].rationale
    assert s.frameworks["eu-ai-act"].verdict == "undetermined"


def _without_token(snap: RepoSnapshot) -> RepoSnapshot:
    """The same repo as the Hub serves it with no token: metadata and file list, no text files."""
    gone = {p: UnreadableFile(path=p, reason=Unreadable.GATED) for p in snap.files}
    return snap.model_copy(update={"files": {}, "unreadable": gone})


@pytest.mark.parametrize("repo_id", ["meta-llama/Llama-3.2-1B", "meta-llama/Llama-3.1-8B"])
def test_the_score_never_rises_because_something_could_not_be_read(repo_id: str) -> None:
    snap = StoreSource(STORE).model(repo_id)
    profiles = api.resolve_profiles(None)
    readable = api.audit_bundle(SnapshotBundle(subject=snap), profiles)
    blind = api.audit_bundle(SnapshotBundle(subject=_without_token(snap)), profiles)
    assert readable.score is not None and blind.score is not None
    assert blind.score <= readable.score
    assert dims(blind)["license"] == "unknown" and dims(readable)["license"] == "partial"
    osai_a, osai_b = readable.frameworks["osai-index"].score, blind.frameworks["osai-index"].score
    assert osai_a is not None and osai_b is not None and osai_b <= osai_a


def test_diff_reports_a_change_of_access_as_such_never_as_regression() -> None:
    snap = StoreSource(STORE).model("meta-llama/Llama-3.2-1B")
    profiles = api.resolve_profiles(None)
    with_token = Report(generated_at=NOW, subjects=[api.audit_bundle(SnapshotBundle(subject=snap), profiles)])
    no_token = Report(generated_at=NOW, subjects=[api.audit_bundle(SnapshotBundle(subject=_without_token(snap)),
                                                                   profiles)])
    for a, b in ((with_token, no_token), (no_token, with_token)):
        d = diff_reports(a, b)
        (m,) = d["models"]
        assert m["changes"][0]["field"] == "access" and "gated" in m["changes"][0]["summary"]
        assert d["regressions"] == d["improvements"] == 0
        assert all(c["direction"] == "changed" for c in m["changes"])
        assert any(c["field"].startswith("dimensions.") for c in m["changes"])


# ------------------------------------------------------------------ 9. local folders
def _safetensors(path: Path, n_params: int) -> None:
    header = json.dumps({"w": {"dtype": "BF16", "shape": [n_params], "data_offsets": [0, 2 * n_params]}}).encode()
    with path.open("wb") as fh:
        fh.write(struct.pack("<Q", len(header)) + header)
        fh.truncate(8 + len(header) + 2 * n_params)  # sparse: the size of real weights, no disk


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "README.md").write_text(
        "---\nlicense: apache-2.0\nbase_model: HuggingFaceTB/SmolLM2-1.7B\ndatasets:\n- HuggingFaceFW/fineweb-edu\n"
        "---\n# my-model\n\nA fine-tune of SmolLM2-1.7B on educational web text.\n", encoding="utf-8")
    (folder / "LICENSE").write_text((STORE.parent / "store_build/texts/licenses/apache-2.0.txt").read_text())
    _safetensors(folder / "model.safetensors", 1_000_000)
    return folder


def test_a_local_folder_with_weights_is_judged_from_its_files_and_its_links_are_not_checked(tmp_path: Path) -> None:
    # Offline and nothing cached: its links cannot be looked up (tests/integration/test_folder_links.py: the Hub path).
    (s,) = api.audit_models([str(_folder(tmp_path))], offline=True, cache_dir=tmp_path / "cache").subjects
    assert s.source == "localdir"
    assert not ev(s, "access.private")
    assert dims(s)["weights"] == "open"
    text = s.model_dump_json()
    assert "could not be found" not in text and "could not be read" not in text
    (ds,) = ev(s, "data.dataset")
    assert ds.value["checked"] is False and "not checked (" in ds.summary
    assert ev(s, "lineage.unchecked-base") and not ev(s, "lineage.missing-base")
    assert flag(s, "lineage-broken") is None
    assert "not checked" in s.dimensions["data"].rationale


def test_a_local_folder_looks_its_links_up_when_a_source_is_given(tmp_path: Path) -> None:
    (s,) = api.audit_models([str(_folder(tmp_path))], snapshots=STORE).subjects
    (ds,) = ev(s, "data.dataset")
    assert ds.value["found"] is True and "is on the Hub" in ds.summary
    assert any(b.value["found"] for b in ev(s, "lineage.base_model"))
    assert flag(s, "lineage-broken") is None


# ------------------------------------------------------------------ 10. flags that discriminate
def test_license_file_missing_is_a_note_for_a_standard_spdx_licence() -> None:
    f = flag(audit("mistralai/Mistral-7B-v0.1"), "license-file-missing")
    assert f is not None and f.severity == "note" and "spdx.org/licenses/Apache-2.0" in f.message


@pytest.mark.parametrize("repo_id", [f"{FIX}/other-license-no-file", f"{FIX}/gemma-cpp-sbs"])
def test_license_file_missing_stays_a_warning_for_custom_and_other_licences(repo_id: str) -> None:
    f = flag(audit(repo_id), "license-file-missing")
    assert f is not None and f.severity == "warning" and "cannot be read from the repository" in f.message


# ------------------------------------------------------------------ 11. the "open source" claim
def test_a_model_named_open_source_under_a_non_commercial_licence_is_flagged() -> None:
    f = flag(audit(f"{FIX}/Vega-7B-OpenSource"), "open-source-claim")
    assert f is not None and f.severity == "warning"
    assert "“Vega-7B-OpenSource”" in f.message
    assert "licence is not an open-source licence" in f.message and "Non Commercial" in f.message


def test_an_open_source_claim_with_closed_data_names_the_data() -> None:
    f = flag(audit("deepseek-ai/DeepSeek-R1"), "open-source-claim")
    assert f is not None and "we open-source DeepSeek-R1-Zero" in f.message
    assert "names obtainable training data" in f.message and "no training code" in f.message
    assert "licence" not in f.message.split("But", 1)[1]  # MIT: the licence is not what contradicts it


@pytest.mark.parametrize("repo_id", [f"{FIX}/Maverick-MoE-17B-128E", "allenai/OLMo-2-1124-7B", "microsoft/phi-2",
                                     "tiiuae/falcon-7b"])
def test_no_open_source_claim_flag_without_a_claim_or_a_contradiction(repo_id: str) -> None:
    # Maverick says "open weights" (not a claim); OLMo is what it says; phi-2 makes no claim; Falcon
    # compares itself with "comparable open-source models", which is not calling itself one.
    assert flag(audit(repo_id), "open-source-claim") is None


@pytest.mark.parametrize(("text", "claim"), [
    ("We release the weights as open weights.", False),
    ("a mix of open source and proprietary data", False),
    ("We use open-source libraries such as vLLM.", False),
    ("This model is not open source.", False),
    ("OLMo is a series of fully open language models.", True),
    ("the best open-source model for code", True),
    ("We open-source the 7B and 70B checkpoints.", True),
    ("an open-source AI system", True),
    ("It outperforms comparable open-source models (e.g.", False),
    ("the strongest among open-source LLMs of its size", False),
])
def test_what_counts_as_an_open_source_claim(text: str, claim: bool) -> None:
    assert _claim_in(text) is claim


@pytest.mark.parametrize("body", [
    "open-source" + "-" * 200_000 + "x",
    "open source " + " " * 200_000 + "x",
    "1" * 200_000 + " tokens",
    "7" * 200_000 + "B activ",
    "| a | b |\n|---|---|\n| total | " + "9" * 200_000 + " |\n",
    "We open-source " + "x " * 100_000,
])
def test_claim_and_compute_patterns_are_linear_on_hostile_text(body: str) -> None:
    import re
    import time

    from openaudit.evidence import compute

    t = time.perf_counter()
    _claim_in(body)
    for rx in (compute._TOKENS, compute._ACTIVE_BEFORE, compute._ACTIVE_AFTER, re.compile(compute._ACTIVE_SENTENCE),
               compute._NAME_ACTIVE):
        list(rx.finditer(body))
    compute._table_value(compute._tables(body), re.compile("b"), {"x"}, "x")
    assert time.perf_counter() - t < 10  # generous: a backtracking pattern takes minutes on these
