"""Checks on the realistic snapshot store in tests/store/ and on its generator.

The store is a contract (DESIGN.md §2): every other test that replays the Hub offline, and the
fake hub, read it. These tests make sure it stays internally consistent and true to
/work/shared/reference/model-facts.md.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

TESTS = Path(__file__).resolve().parents[1]
STORE = TESTS / "store"
GENERATOR = TESTS / "store_build" / "build_store.py"
SHA_RE = re.compile(r"^[0-9a-f]{40}$")

FACT_REPOS = [
    "meta-llama/Llama-3.1-8B",
    "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/Llama-3.2-1B",
    "meta-llama/Llama-2-7b-hf",
    "mistralai/Mistral-7B-v0.1",
    "mistralai/Mistral-7B-Instruct-v0.3",
    "mistralai/Mixtral-8x7B-v0.1",
    "deepseek-ai/DeepSeek-R1",
    "deepseek-ai/DeepSeek-V3",
    "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
    "allenai/OLMo-2-1124-7B",
    "EleutherAI/pythia-1b",
    "bigscience/bloom-560m",
    "google/gemma-2-9b",
    "microsoft/phi-2",
    "Qwen/Qwen2.5-7B",
    "tiiuae/falcon-7b",
    "HuggingFaceTB/SmolLM2-1.7B",
    "LLM360/Amber",
    "ibm-granite/granite-3.0-8b-base",
]
FIXTURES = [
    "apache-tag-llama-license",
    "llama-finetune-mit",
    "no-card",
    "placeholder-card",
    "bad-yaml",
    "cycle-a",
    "cycle-b",
    "missing-base",
    "gguf-only",
    "eval-datasets-invalid",
]
GATED_FACT_REPOS = {
    "meta-llama/Llama-3.1-8B",
    "meta-llama/Llama-3.1-8B-Instruct",
    "meta-llama/Llama-3.2-1B",
    "meta-llama/Llama-2-7b-hf",
    "mistralai/Mistral-7B-v0.1",
    "mistralai/Mistral-7B-Instruct-v0.3",
    "mistralai/Mixtral-8x7B-v0.1",
    "google/gemma-2-9b",
}
LFS_SUFFIXES = (".safetensors", ".bin", ".pth", ".gguf", ".onnx", ".msgpack", ".parquet", ".zst", ".gz")


# --------------------------------------------------------------------------- helpers
def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def repo_dirs(kind: str) -> list[Path]:
    """Every repo directory (owner/name) of a kind, at its current revision."""
    root = STORE / kind
    return sorted(p.parent for p in root.glob("*/*/info.json"))


def all_snapshot_dirs() -> list[Path]:
    """Every Hub directory holding an info.json: current revisions and older revisions (the records of
    hosts outside the Hub, github/ arxiv/ ..., are checked by test_external_records_*)."""
    return sorted(p.parent for sub in ("models", "datasets") for p in (STORE / sub).rglob("info.json"))


def load(d: Path) -> dict[str, Any]:
    return json.loads((d / "info.json").read_text(encoding="utf-8"))


# Gated fixtures recorded as without a token (repos.py `not_stored`): their texts are listed, not stored.
UNREAD_WITHOUT_TOKEN = {"openaudit-fixtures/gated-no-token": {"README.md", "LICENSE.txt", "USE_POLICY.md"}}


def unread(d: Path) -> set[str]:
    info = load(d)
    return UNREAD_WITHOUT_TOKEN.get(info["id"], set()) if info.get("gated") else set()


def stored_files(d: Path) -> dict[str, bytes]:
    root = d / "files"
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def model_dir(repo_id: str) -> Path:
    return STORE / "models" / repo_id


def front_matter(readme: str) -> tuple[bool, Any]:
    m = re.match(r"\A---\n(.*?)\n---\n", readme, re.DOTALL)
    if not m:
        return True, None
    try:
        return True, yaml.safe_load(m.group(1))
    except yaml.YAMLError:
        return False, None


def store_id(d: Path) -> str:
    """owner/name of the repo a snapshot directory belongs to."""
    rel = d.relative_to(STORE).parts
    return f"{rel[1]}/{rel[2]}"


SNAPSHOTS = all_snapshot_dirs()
SNAP_IDS = [d.relative_to(STORE).as_posix() for d in SNAPSHOTS]


# --------------------------------------------------------------------------- presence
def test_all_fact_repos_and_fixtures_are_present() -> None:
    models = {store_id(d) for d in repo_dirs("models")}
    missing = [r for r in FACT_REPOS if r not in models]
    assert not missing, f"repos from model-facts.md missing from the store: {missing}"
    missing_fx = [f for f in FIXTURES if f"openaudit-fixtures/{f}" not in models]
    assert not missing_fx


def test_referenced_repos_are_present_and_the_pile_is_not() -> None:
    for rid in ("meta-llama/Meta-Llama-3.1-8B", "mistralai/Mistral-7B-v0.3", "Qwen/Qwen2.5-Math-7B"):
        assert (model_dir(rid) / "info.json").exists(), rid
    for did in (
        "allenai/olmo-mix-1124",
        "allenai/dolmino-mix-1124",
        "tiiuae/falcon-refinedweb",
        "LLM360/AmberDatasets",
    ):
        assert (STORE / "datasets" / did / "info.json").exists(), did
    # pythia declares `the_pile`, whose hosting was withdrawn: resolving it must fail, and the store
    # records that the Hub answered 404 (not-found.json instead of info.json), as `snapshot` does.
    for gone in (STORE / "datasets" / "the_pile", model_dir("openaudit-fixtures/does-not-exist")):
        assert not (gone / "info.json").exists() and (gone / "not-found.json").is_file(), gone
        assert [p.name for p in gone.iterdir()] == ["not-found.json"]
    assert not list((STORE / "datasets").glob("*/the_pile*"))


# --------------------------------------------------------------------------- info.json shape
@pytest.mark.parametrize("d", SNAPSHOTS, ids=SNAP_IDS)
def test_info_json_has_hub_shape(d: Path) -> None:
    info = load(d)
    kind = d.relative_to(STORE).parts[0]
    assert isinstance(info["id"], str) and info["id"].count("/") == 1
    assert SHA_RE.match(info["sha"]), info["sha"]
    assert re.fullmatch(r"[0-9a-f]{24}", info["_id"])
    assert info["author"] == info["id"].split("/")[0]
    assert info["private"] is False and info["disabled"] is False
    assert info["gated"] in (False, "auto", "manual")
    assert isinstance(info["tags"], list) and "region:us" in info["tags"]
    assert info["createdAt"] <= info["lastModified"]
    names = [s["rfilename"] for s in info["siblings"]]
    assert names == sorted(names) and len(names) == len(set(names))
    for s in info["siblings"]:
        assert SHA_RE.match(s["blobId"]) and isinstance(s["size"], int) and s["size"] >= 0
    if kind == "models":
        assert info["modelId"] == info["id"]
        assert info["spaces"] == []
        assert isinstance(info["config"], dict)
        assert info["usedStorage"] >= sum(s["size"] for s in info["siblings"])
    else:
        assert "description" in info and "cardData" in info


@pytest.mark.parametrize(
    "d",
    repo_dirs("models") + repo_dirs("datasets"),
    ids=[store_id(d) for d in repo_dirs("models") + repo_dirs("datasets")],
)
def test_id_matches_path_except_redirects(d: Path) -> None:
    info = load(d)
    if store_id(d) == "meta-llama/Meta-Llama-3.1-8B":
        # Old name: the API answers with the canonical repo.
        assert info == load(model_dir("meta-llama/Llama-3.1-8B"))
        assert stored_files(d) == stored_files(model_dir("meta-llama/Llama-3.1-8B"))
    else:
        assert info["id"] == store_id(d)


def test_revisions_directories_are_named_by_their_sha_and_older() -> None:
    revs = sorted(STORE.glob("models/*/*/revisions/*/info.json"))
    assert {store_id(p.parent) for p in revs} == {"microsoft/phi-2", "tiiuae/falcon-7b"}
    for p in revs:
        old = json.loads(p.read_text())
        cur = load(p.parents[2])
        assert p.parent.name == old["sha"] != cur["sha"]
        assert old["id"] == cur["id"]
        assert old["lastModified"] < cur["lastModified"]


def test_licence_changes_are_visible_between_revisions() -> None:
    phi_old_dir = next(model_dir("microsoft/phi-2").glob("revisions/*"))
    phi_old, phi_new = load(phi_old_dir), load(model_dir("microsoft/phi-2"))
    assert phi_old["cardData"]["license"] == "other"
    assert phi_old["cardData"]["license_name"] == "microsoft-research-license"
    assert "license:other" in phi_old["tags"]
    assert phi_new["cardData"]["license"] == "mit" and "license:mit" in phi_new["tags"]
    old_lic = (phi_old_dir / "files" / "LICENSE").read_text()
    assert "MICROSOFT RESEARCH LICENSE" in old_lic and "non-commercial" in old_lic.lower()
    assert (model_dir("microsoft/phi-2") / "files" / "LICENSE").read_text().startswith("MIT License")

    fal_old_dir = next(model_dir("tiiuae/falcon-7b").glob("revisions/*"))
    assert load(fal_old_dir)["cardData"]["license"] == "other"
    assert "TII Falcon LLM License" in (fal_old_dir / "files" / "LICENSE.txt").read_text()
    assert load(model_dir("tiiuae/falcon-7b"))["cardData"]["license"] == "apache-2.0"


# --------------------------------------------------------------------------- card == cardData
@pytest.mark.parametrize("d", SNAPSHOTS, ids=SNAP_IDS)
def test_readme_front_matter_equals_card_data(d: Path) -> None:
    info = load(d)
    files = stored_files(d)
    names = {s["rfilename"] for s in info["siblings"]}
    if "README.md" not in names:
        assert "README.md" not in files
        assert "cardData" not in info
        return
    if "README.md" in unread(d):
        assert "README.md" not in files and info["cardData"]  # the API still serves the metadata
        return
    readme = files["README.md"].decode("utf-8")
    ok, meta = front_matter(readme)
    if not ok:
        assert info["cardData"] == {}, "an unparseable front matter gives empty cardData on the Hub"
    else:
        assert info["cardData"] == (meta or {})


def test_bad_yaml_fixture_really_is_bad_yaml() -> None:
    readme = (model_dir("openaudit-fixtures/bad-yaml") / "files" / "README.md").read_text()
    assert readme.startswith("---\n")
    ok, _ = front_matter(readme)
    assert not ok
    assert load(model_dir("openaudit-fixtures/bad-yaml"))["cardData"] == {}


def test_no_card_fixture_has_weights_but_no_readme() -> None:
    info = load(model_dir("openaudit-fixtures/no-card"))
    names = [s["rfilename"] for s in info["siblings"]]
    assert "README.md" not in names and any(n.endswith(".safetensors") for n in names)


def test_placeholder_card_is_the_unfilled_template() -> None:
    text = (model_dir("openaudit-fixtures/placeholder-card") / "files" / "README.md").read_text()
    assert text.count("[More Information Needed]") >= 30
    for heading in (
        "## Model Details",
        "## Uses",
        "## Bias, Risks, and Limitations",
        "## Training Details",
        "### Training Data",
        "### Training Procedure",
        "## Evaluation",
        "## Citation",
    ):
        assert heading in text


def test_synthetic_fixtures_say_so() -> None:
    for name in FIXTURES:
        if name == "no-card":
            continue
        text = (model_dir(f"openaudit-fixtures/{name}") / "files" / "README.md").read_text().lower()
        assert "synthetic test fixture" in text, name


# --------------------------------------------------------------------------- gating
def test_gated_repos_are_the_ones_the_facts_say() -> None:
    gated = {store_id(d) for d in repo_dirs("models") if load(d)["gated"]}
    facts_gated = {r for r in gated if r in FACT_REPOS}
    assert facts_gated == GATED_FACT_REPOS
    # Llama is screened by Meta; Mistral and Gemma approve automatically.
    for rid in GATED_FACT_REPOS:
        expected = "manual" if rid.startswith("meta-llama/") else "auto"
        assert load(model_dir(rid))["gated"] == expected, rid
    assert not any(load(model_dir(f"openaudit-fixtures/{f}"))["gated"] for f in FIXTURES)


@pytest.mark.parametrize("rid", sorted(GATED_FACT_REPOS))
def test_gated_repos_keep_files_and_public_card_data(rid: str) -> None:
    d = model_dir(rid)
    assert "README.md" in stored_files(d)
    assert load(d)["cardData"], "the Hub serves card metadata publicly even for gated repos"


# --------------------------------------------------------------------------- blobs and files
@pytest.mark.parametrize("d", SNAPSHOTS, ids=SNAP_IDS)
def test_stored_files_are_listed_small_text_with_git_blob_ids(d: Path) -> None:
    info = load(d)
    sib = {s["rfilename"]: s for s in info["siblings"]}
    for path, data in stored_files(d).items():
        assert path in sib, f"{path} stored but not listed in siblings"
        assert "lfs" not in sib[path], f"{path} is an LFS file: weights are never stored"
        assert sib[path]["size"] == len(data)
        assert sib[path]["blobId"] == git_blob_sha1(data)
        assert len(data) < 2 * 1024 * 1024
        assert b"\x00" not in data
        data.decode("utf-8")


@pytest.mark.parametrize("d", SNAPSHOTS, ids=SNAP_IDS)
def test_text_files_of_interest_are_stored(d: Path) -> None:
    snapshot = pytest.importorskip("openaudit.snapshot")
    files = stored_files(d)
    for s in load(d)["siblings"]:
        if snapshot.is_text_file_of_interest(s["rfilename"]) and "lfs" not in s:
            assert (s["rfilename"] in files) != (s["rfilename"] in unread(d)), f"{s['rfilename']}"


@pytest.mark.parametrize("d", SNAPSHOTS, ids=SNAP_IDS)
def test_lfs_siblings_are_consistent_pointers(d: Path) -> None:
    for s in load(d)["siblings"]:
        if s["rfilename"].endswith(LFS_SUFFIXES):
            assert "lfs" in s, s["rfilename"]
        if "lfs" not in s:
            continue
        lfs = s["lfs"]
        assert re.fullmatch(r"[0-9a-f]{64}", lfs["sha256"])
        assert lfs["size"] == s["size"]
        pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{lfs['sha256']}\nsize {s['size']}\n".encode()
        assert lfs["pointerSize"] == len(pointer)
        assert s["blobId"] == git_blob_sha1(pointer)


def test_identical_files_share_blob_ids_across_the_store() -> None:
    by_blob: dict[str, bytes] = {}
    for d in SNAPSHOTS:
        for data in stored_files(d).values():
            blob = git_blob_sha1(data)
            assert by_blob.setdefault(blob, data) == data
    # The DeepSeek MIT text is byte-identical wherever it appears.
    mit_paths = [
        model_dir("deepseek-ai/DeepSeek-R1") / "files" / "LICENSE",
        model_dir("deepseek-ai/DeepSeek-R1-Distill-Llama-8B") / "files" / "LICENSE",
        model_dir("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B") / "files" / "LICENSE",
        model_dir("deepseek-ai/DeepSeek-V3") / "files" / "LICENSE-CODE",
    ]
    assert len({p.read_bytes() for p in mit_paths}) == 1
    blob_ids = set()
    for p in mit_paths:
        rel = p.relative_to(p.parents[1] / "files").as_posix()
        info = load(p.parents[1])
        blob_ids.add(next(s["blobId"] for s in info["siblings"] if s["rfilename"] == rel))
    assert blob_ids == {git_blob_sha1(mit_paths[0].read_bytes())}
    assert len(mit_paths[0].read_bytes()) == 1064
    # The licence-mismatch fixture ships Meta's exact LICENSE bytes.
    assert (model_dir("openaudit-fixtures/apache-tag-llama-license") / "files" / "LICENSE").read_bytes() == (
        model_dir("meta-llama/Llama-3.1-8B") / "files" / "LICENSE"
    ).read_bytes()


def test_weights_and_parameter_counts_are_realistic() -> None:
    llama = load(model_dir("meta-llama/Llama-3.1-8B"))
    shards = [
        s["size"] for s in llama["siblings"] if re.fullmatch(r"model-0000\d-of-00004\.safetensors", s["rfilename"])
    ]
    assert len(shards) == 4 and abs(sum(shards) - 16_060_522_496) < 5_000_000
    assert any(s["rfilename"] == "original/consolidated.00.pth" and s["size"] > 16 * 10**9 for s in llama["siblings"])
    qwen_distill = {
        s["rfilename"]: s["size"] for s in load(model_dir("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"))["siblings"]
    }
    assert qwen_distill["model-00001-of-000002.safetensors"] == 8_606_596_466
    assert qwen_distill["model-00002-of-000002.safetensors"] == 6_624_675_384
    r1 = load(model_dir("deepseek-ai/DeepSeek-R1"))
    assert sum(1 for s in r1["siblings"] if s["rfilename"].endswith("-of-000163.safetensors")) == 163
    assert r1["config"]["quantization_config"]["quant_method"] == "fp8"
    for d in repo_dirs("models"):
        info = load(d)
        has_st = any(s["rfilename"].endswith(".safetensors") for s in info["siblings"])
        assert ("safetensors" in info) == has_st, store_id(d)
        if has_st:
            st = info["safetensors"]
            assert st["total"] == sum(st["parameters"].values()) > 0
    gguf = load(model_dir("openaudit-fixtures/gguf-only"))
    assert gguf["gguf"]["total"] > 0 and "safetensors" not in gguf
    assert gguf["cardData"]["base_model_relation"] == "quantized"


# --------------------------------------------------------------------------- facts
def card(rid: str) -> dict[str, Any]:
    return load(model_dir(rid)).get("cardData", {})


def names(rid: str) -> set[str]:
    return {s["rfilename"] for s in load(model_dir(rid))["siblings"]}


def test_licence_metadata_and_files_match_the_facts() -> None:
    expected = {
        "meta-llama/Llama-3.1-8B": "llama3.1",
        "meta-llama/Llama-3.1-8B-Instruct": "llama3.1",
        "meta-llama/Llama-3.2-1B": "llama3.2",
        "meta-llama/Llama-2-7b-hf": "llama2",
        "mistralai/Mistral-7B-v0.1": "apache-2.0",
        "mistralai/Mistral-7B-Instruct-v0.3": "apache-2.0",
        "mistralai/Mixtral-8x7B-v0.1": "apache-2.0",
        "deepseek-ai/DeepSeek-R1": "mit",
        "deepseek-ai/DeepSeek-R1-Distill-Llama-8B": "mit",
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B": "mit",
        "allenai/OLMo-2-1124-7B": "apache-2.0",
        "EleutherAI/pythia-1b": "apache-2.0",
        "bigscience/bloom-560m": "bigscience-bloom-rail-1.0",
        "google/gemma-2-9b": "gemma",
        "microsoft/phi-2": "mit",
        "Qwen/Qwen2.5-7B": "apache-2.0",
        "tiiuae/falcon-7b": "apache-2.0",
        "HuggingFaceTB/SmolLM2-1.7B": "apache-2.0",
        "LLM360/Amber": "apache-2.0",
        "ibm-granite/granite-3.0-8b-base": "apache-2.0",
    }
    for rid, lic in expected.items():
        assert card(rid).get("license") == lic, rid
        assert f"license:{lic}" in load(model_dir(rid))["tags"], rid
    # DeepSeek-V3: no licence key; two licence files with different scopes; no plain LICENSE.
    assert "license" not in card("deepseek-ai/DeepSeek-V3")
    assert {"LICENSE-CODE", "LICENSE-MODEL"} <= names("deepseek-ai/DeepSeek-V3")
    assert "LICENSE" not in names("deepseek-ai/DeepSeek-V3")
    model_lic = (model_dir("deepseek-ai/DeepSeek-V3") / "files" / "LICENSE-MODEL").read_text()
    assert "DEEPSEEK LICENSE AGREEMENT" in model_lic and "Version 1.0, 23 October 2023" in model_lic
    assert "Attachment A" in model_lic and "distillation" in model_lic
    # Licence only in metadata: Mistral and Gemma ship no licence file.
    for rid in (
        "mistralai/Mistral-7B-v0.1",
        "mistralai/Mistral-7B-Instruct-v0.3",
        "mistralai/Mixtral-8x7B-v0.1",
        "mistralai/Mistral-7B-v0.3",
        "google/gemma-2-9b",
    ):
        assert not any(n.upper().startswith("LICENSE") for n in names(rid)), rid
    # Non-default licence file names.
    assert "LICENSE.txt" in names("meta-llama/Llama-3.2-1B") and "LICENSE" not in names("meta-llama/Llama-3.2-1B")
    llama31 = (model_dir("meta-llama/Llama-3.1-8B") / "files" / "LICENSE").read_text()
    assert "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT" in llama31 and "July 23, 2024" in llama31
    assert "700 million" in llama31 and "Built with Llama" in llama31
    rail = (model_dir("bigscience/bloom-560m") / "files" / "LICENSE").read_text()
    assert rail.startswith("BigScience RAIL License v1.0")


def test_lineage_metadata_matches_the_facts() -> None:
    assert card("meta-llama/Llama-3.1-8B-Instruct")["base_model"] == "meta-llama/Meta-Llama-3.1-8B"
    assert card("mistralai/Mistral-7B-Instruct-v0.3")["base_model"] == "mistralai/Mistral-7B-v0.3"
    for rid in (
        "deepseek-ai/DeepSeek-R1",
        "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
    ):
        assert "base_model" not in card(rid), rid
    prose = (model_dir("deepseek-ai/DeepSeek-R1-Distill-Llama-8B") / "files" / "README.md").read_text()
    assert "Llama3.1-8B-Base" in prose and "llama3.1 license" in prose
    assert "https://arxiv.org/abs/2501.12948" in prose
    assert card("openaudit-fixtures/cycle-a")["base_model"] == "openaudit-fixtures/cycle-b"
    assert card("openaudit-fixtures/cycle-b")["base_model"] == "openaudit-fixtures/cycle-a"
    assert card("openaudit-fixtures/llama-finetune-mit")["base_model"] == "meta-llama/Llama-3.1-8B"


def test_declared_datasets_resolve_or_fail_as_intended() -> None:
    unresolvable = {"the_pile", "not a valid id!"}
    for d in repo_dirs("models"):
        for ds in card(store_id(d)).get("datasets") or []:
            exists = (STORE / "datasets" / ds / "info.json").exists() if "/" in ds else False
            assert exists == (ds not in unresolvable), (store_id(d), ds)
    for d in repo_dirs("datasets"):
        info = load(d)
        lic = info["cardData"]["license"]
        for item in lic if isinstance(lic, list) else [lic]:
            assert f"license:{item}" in info["tags"]


def test_cards_carry_the_facts_an_auditor_needs() -> None:
    def readme(rid: str) -> str:
        return (model_dir(rid) / "files" / "README.md").read_text()

    llama = readme("meta-llama/Llama-3.1-8B")
    for heading in (
        "## Model Information",
        "## Intended Use",
        "## Hardware and Software",
        "## Training Data",
        "## Benchmark scores",
        "## Responsibility & Safety",
    ):
        assert heading in llama
    assert "15 trillion tokens" in llama and "1.46M" in llama and "publicly available" in llama
    assert "training data" not in readme("mistralai/Mistral-7B-v0.1").lower()
    assert "https://github.com/allenai/OLMo" in readme("allenai/OLMo-2-1124-7B")
    assert "https://github.com/EleutherAI/pythia" in readme("EleutherAI/pythia-1b")
    assert "https://github.com/LLM360/amber-train" in readme("LLM360/Amber")
    assert "ckpt_" in readme("LLM360/Amber") and "step143000" in readme("EleutherAI/pythia-1b")
    v3 = readme("deepseek-ai/DeepSeek-V3")
    assert "MIT License" in v3 and "Model License" in v3 and "14.8 trillion" in v3


def test_standard_licence_texts_are_recognised() -> None:
    askalono = pytest.importorskip("askalono")
    for rid, path, spdx in (
        ("deepseek-ai/DeepSeek-R1", "LICENSE", "MIT"),
        ("microsoft/phi-2", "LICENSE", "MIT"),
        ("Qwen/Qwen2.5-7B", "LICENSE", "Apache-2.0"),
    ):
        text = (model_dir(rid) / "files" / path).read_text()
        result = str(askalono.identify(text))
        assert result.startswith(spdx + " "), (rid, result)


# --------------------------------------------------------------------------- generator
def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_generator_reproduces_the_store_byte_for_byte(tmp_path: Path) -> None:
    out = tmp_path / "store"
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out)], check=True)
    expected, actual = _tree(STORE), _tree(out)
    assert sorted(actual) == sorted(expected)
    changed = [k for k in expected if expected[k] != actual[k]]
    assert not changed, f"generator output differs from the checked-in store: {changed[:10]}"


# --------------------------------------------------------------------------- hosts outside the Hub (issue 25)
def test_external_records_replay_as_the_client_recorded_them() -> None:
    """Every github/ and arxiv/ record reads back through openaudit's own store reader, pinned to a commit,
    with the texts it lists stored and a tree whose sizes match them."""
    from openaudit.sources.external import StoreExternal

    reader = StoreExternal(STORE)
    infos = sorted((STORE / "github").glob("*/*/info.json")) + sorted((STORE / "arxiv").glob("*/info.json"))
    assert len(infos) >= 15
    for path in infos:
        doc = load(path.parent)
        snap = reader.get(doc["host"], doc["id"])
        assert snap.status == "ok" and snap.id == doc["id"]
        if doc["host"] == "github" and snap.info["empty"]:  # archived empty: no commit, nothing read
            assert snap.revision is None and not snap.files and not snap.info["tree"]
        elif doc["host"] == "github":
            assert snap.revision and SHA_RE.match(snap.revision), doc["id"]
            sizes = {e["path"]: e["size"] for e in snap.info["tree"] if e["type"] == "blob"}
            assert set(snap.files) <= set(sizes) and any(p.lower().startswith("readme") for p in snap.files)
            for name, f in snap.files.items():
                assert sizes[name] == len(f.text.encode("utf-8")), (doc["id"], name)
        else:
            assert snap.info["title"] and snap.info["authors"], doc["id"]


def test_deepseek_r1_github_repository_holds_only_its_readme_paper_and_licence() -> None:
    # model-facts DR1: README.md, LICENSE (MIT), DeepSeek_R1.pdf, figures/, a stale-bot workflow.
    doc = load(STORE / "github" / "deepseek-ai" / "DeepSeek-R1")
    blobs = sorted(e["path"] for e in doc["info"]["tree"] if e["type"] == "blob")
    assert blobs == [".github/workflows/stale.yml", "DeepSeek_R1.pdf", "LICENSE", "README.md", "figures/benchmark.jpg"]
    assert doc["info"]["repo"]["license"]["spdx_id"] == "MIT"
