"""Issue 19, class 9: a local folder's declared base models and datasets are looked up on the Hub.

A publisher audits a model folder before uploading it. What its card links to (`base_model:`,
`datasets:`, a base named in prose) is asked of the Hub through the source used for Hub ids (the
real huggingface_hub path, here against tests/fakehub.py), so the base's licence, `license-inherited`
and the datasets' existence and licences are judged as they would be once the model is published.
When the lookup cannot be done (offline and not cached, the Hub unreachable, rate limited) each link
is "not checked" with the reason, never "not found" and never `lineage-broken`; the Hub's 404 is
"not found".

The fixture base is written after Qwen2.5-3B (model-facts.md §17: the 3B size is under the
non-commercial Qwen Research licence while its siblings are Apache-2.0); the folder is a fine-tune
of it that declares MIT, the pattern the distills of model-facts.md §10-11 show on the Hub.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from openaudit import api
from openaudit.render import html, markdown
from openaudit.report import Report, Subject

TESTS = Path(__file__).parents[1]
STORE = TESTS / "store"
TEXTS = TESTS / "store_build" / "texts"
BASE = "Qwen/Qwen2.5-3B"
DATASET = "HuggingFaceFW/fineweb-edu"
RESEARCH = "LicenseRef-openaudit-qwen-research"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
pytestmark = pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not generated")

BASE_CARD = """---
license: other
license_name: qwen-research
license_link: https://huggingface.co/Qwen/Qwen2.5-3B/blob/main/LICENSE
language:
- en
pipeline_tag: text-generation
library_name: transformers
---

# Qwen2.5-3B

## Introduction

Qwen2.5 is a series of language models released in sizes from 0.5 to 72 billion parameters,
each as a pretrained base model and an instruction-tuned one. This repository holds the **3B
pretrained base model**: a causal decoder with RoPE, SwiGLU, RMSNorm and grouped-query
attention, 36 layers, and a context of 32,768 tokens.

We do not recommend chatting with a base model. Apply further training first, such as
supervised fine-tuning or RLHF, or continued pretraining.

## Requirements

The code of Qwen2.5 is in recent versions of Hugging Face transformers; with versions before
4.37.0 loading fails with `KeyError: 'qwen2'`.

## Citation

If our work helps you, please cite the Qwen2.5 technical report.
"""

# A short paraphrase written for these tests, carrying the real agreement's title and its key term.
RESEARCH_LICENSE = """Qwen RESEARCH LICENSE AGREEMENT

Qwen RESEARCH LICENSE AGREEMENT Release Date: September 19, 2024

By using or distributing any part of the Qwen Materials you agree to this Agreement.

1. Grant. You are granted a non-exclusive, worldwide, non-transferable, royalty-free licence to
use, reproduce, modify and distribute the Materials solely for non-commercial research purposes.
Any commercial use requires a separate licence from Alibaba Cloud.

2. Redistribution. If you distribute the Materials or a derivative of them, you must include a
copy of this Agreement and state prominently that the work is "Built with Qwen".

(A short paraphrase written for openaudit's test fixtures; not the official text.)
"""

FOLDER_CARD = """---
license: mit
base_model: {base}
datasets:
- {dataset}
language:
- en
pipeline_tag: text-generation
library_name: transformers
---

# tutor-3b

tutor-3b continues the training of {base} on school-level explanations, so that it answers a
pupil's question in short numbered steps and says when it is unsure.

## Training data

About 2 billion tokens of educational web pages from {dataset}, filtered to pages scored 4
or higher by its quality classifier. No other data was used.

## Limitations

It was only checked on English questions and still makes arithmetic mistakes.
"""


def _safetensors(path: Path, n_params: int) -> None:
    header = json.dumps({"w": {"dtype": "BF16", "shape": [n_params], "data_offsets": [0, 2 * n_params]}}).encode()
    with path.open("wb") as fh:
        fh.write(struct.pack("<Q", len(header)) + header)
        fh.truncate(8 + len(header) + 2 * n_params)  # sparse: the size of real weights, no disk


def make_folder(root: Path, base: str = BASE, dataset: str = DATASET) -> Path:
    folder = root / "tutor-3b"
    folder.mkdir(parents=True)
    (folder / "README.md").write_text(FOLDER_CARD.format(base=base, dataset=dataset), encoding="utf-8")
    (folder / "LICENSE").write_text((TEXTS / "licenses" / "mit.txt").read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"}))
    _safetensors(folder / "model.safetensors", 1_000_000)
    return folder


# Qwen2.5-3B's Hub metadata (model-facts.md §17), as the fake Hub serves it.
BASE_INFO: dict[str, Any] = {
    "author": "Qwen", "private": False, "gated": False, "disabled": False,
    "lastModified": "2024-09-25T12:32:50.000Z", "createdAt": "2024-09-15T12:17:40.000Z",
    "library_name": "transformers", "pipeline_tag": "text-generation",
    "tags": ["transformers", "safetensors", "qwen2", "text-generation", "en", "license:other", "region:us"],
    "config": {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"},
    "cardData": {"license": "other", "license_name": "qwen-research",
                 "license_link": "https://huggingface.co/Qwen/Qwen2.5-3B/blob/main/LICENSE",
                 "language": ["en"], "pipeline_tag": "text-generation", "library_name": "transformers"},
    "safetensors": {"parameters": {"BF16": 3_085_938_688}, "total": 3_085_938_688},
    "siblings": [{"rfilename": ".gitattributes"}, {"rfilename": "LICENSE"}, {"rfilename": "README.md"},
                 {"rfilename": "config.json"}, {"rfilename": "generation_config.json"},
                 {"rfilename": "model-00001-of-00002.safetensors", "size": 3_968_658_944},
                 {"rfilename": "model-00002-of-00002.safetensors", "size": 2_203_268_048},
                 {"rfilename": "model.safetensors.index.json"}, {"rfilename": "tokenizer.json"}],
}


@pytest.fixture(scope="module")
def hub_store(tmp_path_factory: pytest.TempPathFactory, repo_writer: Any) -> Path:
    """A Hub holding the research-licensed base, a public dataset and a gated base (Llama 3.1)."""
    store = tmp_path_factory.mktemp("folder-links-store")
    shutil.copytree(STORE / "datasets" / DATASET, store / "datasets" / DATASET)
    shutil.copytree(STORE / "models" / "meta-llama" / "Llama-3.1-8B", store / "models" / "meta-llama" / "Llama-3.1-8B")
    repo_writer(store, BASE, BASE_INFO, {"README.md": BASE_CARD, "LICENSE": RESEARCH_LICENSE})
    return store


def ev(s: Subject, kind: str) -> list[Any]:
    return [e for e in s.evidence if e.kind == kind]


def flag(s: Subject, fid: str) -> Any:
    return next((f for f in s.flags if f.id == fid), None)


def audit(folder: Path, **kw: Any) -> Subject:
    (s,) = api.audit_models([str(folder)], **kw).subjects
    return s


def lineage_shown(s: Subject) -> list[str]:
    """The lineage as the Markdown report writes it, checked against the HTML page's list of it."""
    report = Report(generated_at=NOW, subjects=[s])
    line = next(x for x in markdown.render(report).splitlines() if x.startswith("**Lineage:**"))
    chain = line.removeprefix("**Lineage:** ").split("; ")
    page = html.render(report)
    items = re.findall(r"<li><code>[^<]*</code> is [^<]* from <code>([^<]*)</code> \(declared via [^)]*\)</li>", page)
    assert len(items) == len(chain) and all(i in c for i, c in zip(items, chain, strict=True)), (items, chain)
    for c in chain:  # the state of a base that was not found, or not checked, is the same on the page
        for state in ("not found", "not checked"):
            assert (f"({state})" in c) == (f"; {state})</li>" in page), (state, c)
    return [c.replace("`", "") for c in chain]


def test_a_folder_fine_tuned_from_a_research_only_base_inherits_its_licence(
        fakehub: Any, hub_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = fakehub(hub_store)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    mark = hub.mark()
    s = audit(make_folder(tmp_path), cache_dir=tmp_path / "cache")
    assert s.source == "localdir" and s.status == "audited"
    asked = {r["path"].split("?")[0] for r in hub.since(mark)}
    assert f"/api/models/{BASE}" in asked and f"/api/datasets/{DATASET}" in asked  # the real client asked the Hub

    inherited = flag(s, "license-inherited")
    assert inherited is not None and BASE in inherited.message and RESEARCH in inherited.message
    (lic,) = ev(s, "license.inherited")
    assert lic.value["base_license"] == RESEARCH and lic.value["declared"] == "MIT"
    assert [(e.id, e.found) for e in s.lineage] == [(BASE, True)]
    (base,) = ev(s, "base.model")
    assert base.value["found"] is True and base.url and BASE in base.url
    assert not ev(s, "lineage.unchecked-base") and flag(s, "lineage-broken") is None

    (ds,) = ev(s, "data.dataset")  # data evidence as for a Hub model
    assert ds.value["found"] is True and ds.value["license"] == "odc-by" and "is on the Hub" in ds.summary
    assert s.dimensions["data"].verdict == "open"
    assert s.dimensions["weights"].verdict == "open"  # judged from the folder's own files
    assert lineage_shown(s) == [f"{s.repo_id} ← derived ← {BASE}"]


def test_offline_the_folders_links_come_from_the_cache_a_live_run_filled(
        fakehub: Any, hub_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = fakehub(hub_store)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    folder = make_folder(tmp_path)
    audit(folder, cache_dir=tmp_path / "cache")
    mark = hub.mark()
    s = audit(folder, cache_dir=tmp_path / "cache", offline=True)
    assert hub.since(mark) == []
    assert flag(s, "license-inherited") is not None and [(e.id, e.found) for e in s.lineage] == [(BASE, True)]
    assert ev(s, "data.dataset")[0].value["found"] is True


def test_offline_and_not_cached_the_links_are_not_checked_with_the_reason(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there: any request would fail
    s = audit(make_folder(tmp_path), cache_dir=tmp_path / "empty-cache", offline=True)
    assert s.status == "audited"  # asked to send no request: nothing was lost
    (unchecked,) = ev(s, "lineage.unchecked-base")
    assert unchecked.value["reason"].startswith("offline:")
    assert unchecked.summary.startswith(f"Declared base model {BASE} was not checked (offline:")
    (ds,) = ev(s, "data.dataset")
    assert ds.value["checked"] is False and ds.summary.startswith(f"Declared dataset {DATASET} was not checked")
    assert not ev(s, "lineage.missing-base") and flag(s, "lineage-broken") is None
    assert flag(s, "license-inherited") is None  # nothing is known of the base: no claim either way
    text = s.model_dump_json()
    for wrong in ("could not be found", "could not be read", "could not be resolved"):
        assert wrong not in text, wrong
    said = [e.summary for e in s.evidence] + [f.rationale for f in s.findings] + [f.message for f in s.flags]
    assert not [x for x in said if (BASE in x or DATASET in x) and "not found" in x]
    assert lineage_shown(s) == [f"{s.repo_id} ← derived ← {BASE} (not checked)"]
    assert "not checked" in s.dimensions["data"].rationale


def test_a_base_and_a_dataset_the_hub_does_not_have_are_not_found_on_the_hub(
        fakehub: Any, hub_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = fakehub(hub_store)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    s = audit(make_folder(tmp_path, base="tutor-labs/tutor-3b-draft", dataset="tutor-labs/school-pages"),
              cache_dir=tmp_path / "cache")
    assert s.status == "audited"  # an answer, not a lost lookup
    (missing,) = ev(s, "lineage.missing-base")
    assert missing.value["reason"].startswith("not-found:")
    assert "tutor-labs/tutor-3b-draft was not found (model 'tutor-labs/tutor-3b-draft' not found on http://127.0.0.1" \
        in missing.summary
    assert not ev(s, "lineage.unchecked-base")
    assert flag(s, "lineage-broken") is not None  # a base_model that names no repository: fix it before uploading
    (ds,) = ev(s, "data.dataset")
    assert ds.value["found"] is False and ds.value["checked"] is True and "could not be found on the Hub" in ds.summary
    assert lineage_shown(s) == [f"{s.repo_id} ← derived ← tutor-labs/tutor-3b-draft (not found)"]


def test_a_gated_base_is_judged_from_its_public_metadata(fakehub: Any, hub_store: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Llama 3.1's metadata is public while its files need an accepted licence: the base is found and
    its declared licence binds the folder, as for a Hub fine-tune of it."""
    hub = fakehub(hub_store)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    s = audit(make_folder(tmp_path, base="meta-llama/Llama-3.1-8B"), cache_dir=tmp_path / "cache")
    assert [(e.id, e.found) for e in s.lineage] == [("meta-llama/Llama-3.1-8B", True)]
    (lic,) = ev(s, "license.inherited")
    assert lic.value["base_license"] == "llama-3.1-license-2024" and flag(s, "lineage-broken") is None


def test_a_rate_limited_lookup_is_not_checked_and_the_audit_incomplete(
        fakehub: Any, hub_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = fakehub(hub_store, rate_limit="0/600", fresh=True)  # every API request: 429, reset in 10 minutes
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    s = audit(make_folder(tmp_path), cache_dir=tmp_path / "cache")
    (unchecked,) = ev(s, "lineage.unchecked-base")
    assert unchecked.value["reason"].startswith("rate-limited:") and "not checked (" in unchecked.summary
    assert ev(s, "data.dataset")[0].value["checked"] is False
    assert flag(s, "lineage-broken") is None
    assert lineage_shown(s) == [f"{s.repo_id} ← derived ← {BASE} (not checked)"]
    # Run again later and it may say more (a license-inherited error): the audit says it is incomplete.
    assert s.status == "incomplete" and "linked repos not fetched" in (s.reason or "")


def test_when_the_hub_cannot_be_reached_one_link_waits_and_the_others_are_not_asked(tmp_path: Path) -> None:
    from openaudit.sources.folderlinks import FolderLinkSource
    from openaudit.sources.hub import HubSource

    built: list[HubSource] = []

    def make() -> HubSource:
        built.append(HubSource(endpoint="http://127.0.0.1:9", max_retries=0))
        return built[-1]

    s = audit(make_folder(tmp_path), source=FolderLinkSource(make))
    assert len(built) == 1
    (ds,) = ev(s, "data.dataset")
    assert ds.value["checked"] is False and "cannot reach http://127.0.0.1:9" in ds.value["reason"]
    (unchecked,) = ev(s, "lineage.unchecked-base")
    assert "not asked: an earlier lookup could not reach the Hub" in unchecked.value["reason"]
    assert built[0].gate.sent == 1  # the base was not asked: it would have waited through the same retries
    assert flag(s, "lineage-broken") is None and s.status == "incomplete"


def test_a_folder_that_names_nothing_builds_no_hub_source(tmp_path: Path) -> None:
    from openaudit.sources.folderlinks import FolderLinkSource

    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# plain\n\nA small model trained from scratch.\n")

    def make() -> Any:
        raise AssertionError("no lookup: nothing to look up")

    s = audit(folder, source=FolderLinkSource(make))
    assert s.status == "audited" and not s.lineage


def test_a_folder_without_weights_is_not_said_to_be_a_repository_on_the_hub(tmp_path: Path) -> None:
    """A publisher checking a folder before upload: every weights rationale names where it looked."""
    folder = tmp_path / "card-only"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: mit\n---\n# card only\n\nWeights come later.\n")
    (folder / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    s = api.audit_models([str(folder)], offline=True,
                         profiles=["openaudit", "mof", "osaid", "osai-index", "eu-ai-act"]).subjects[0]
    (none,) = ev(s, "weights.none")
    assert none.summary.startswith("None of the 2 files in the folder is a weight file")
    weights = [f for f in s.findings if none.id in f.evidence and f.outcome == "closed"]
    assert {f.profile for f in weights} == {"openaudit", "mof", "osaid", "osai-index", "eu-ai-act"}
    for f in weights:
        assert "on the Hub" not in f.rationale and "in the folder" in f.rationale, f.rationale


@pytest.mark.slow
def test_the_cli_without_a_reachable_hub_reports_not_checked_never_not_found(tmp_path: Path) -> None:
    """The default path (`openaudit audit FOLDER`): the Hub it would ask is down."""
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "XDG_CACHE_HOME": str(tmp_path / "xdg"),
           "HF_HUB_DISABLE_TELEMETRY": "1"}
    env.pop("HF_HUB_OFFLINE", None)
    folder = make_folder(tmp_path)
    r = subprocess.run([sys.executable, "-m", "openaudit", "audit", str(folder), "-f", "json", "-q"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 3, r.stderr  # incomplete: run again with the network, or pass --offline
    (subject,) = json.loads(r.stdout)["subjects"]
    kinds = {e["kind"]: e for e in subject["evidence"]}
    assert "lineage.unchecked-base" in kinds and "lineage.missing-base" not in kinds
    assert "network:" in kinds["lineage.unchecked-base"]["value"]["reason"]
    assert not any(f["id"] == "lineage-broken" for f in subject["flags"])
    assert "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "openaudit", "audit", str(folder), "-f", "json", "-q", "--offline"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "was not checked (offline:" in r.stdout


PROSE_CARD = """---
license: mit
language:
- en
library_name: transformers
---

# tutor-3b-mini

This model is a fine-tuned version of [Qwen/Qwen2.5-3B](https://huggingface.co/Qwen/Qwen2.5-3B) on a
few thousand worked answers to school maths questions, written by teachers for this project.

## Intended uses

Homework help with a human checking the answers.
"""


def test_a_base_named_only_in_the_cards_prose_is_looked_up_too(fakehub: Any, hub_store: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    hub = fakehub(hub_store)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    folder = make_folder(tmp_path)
    (folder / "README.md").write_text(PROSE_CARD, encoding="utf-8")
    mark = hub.mark()
    s = audit(folder, cache_dir=tmp_path / "cache")
    assert f"/api/models/{BASE}" in {r["path"] for r in hub.since(mark)}
    (prose,) = [e for e in ev(s, "lineage.base_model") if e.value["via"] == "prose"]
    assert prose.value["found"] is True and "checked" not in prose.value
    assert flag(s, "base-undeclared") is not None
    assert flag(s, "license-inherited") is not None and ev(s, "license.inherited")[0].value["base_license"] == RESEARCH
    # Offline with nothing cached, the same prose base is "not checked" wherever it is shown.
    s = audit(folder, cache_dir=tmp_path / "empty-cache", offline=True)
    (prose,) = [e for e in ev(s, "lineage.base_model") if e.value["via"] == "prose"]
    assert prose.value["found"] is False and prose.value["checked"] is False
    assert lineage_shown(s) == [f"{s.repo_id} ← finetune ← {BASE} (not checked)"]
    (base,) = ev(s, "base.model")
    assert "was not checked;" in base.summary and flag(s, "lineage-broken") is None


def test_the_folders_links_outside_the_hub_are_followed_as_a_hub_models_are(
        fakehub: Any, hub_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakeext import running

    hub = fakehub(hub_store)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    folder = make_folder(tmp_path)
    card = (folder / "README.md").read_text(encoding="utf-8")
    (folder / "README.md").write_text(card + "\n## Code\n\nThe training scripts are at "
                                      "[openaudit-fixtures/bright-lm](https://github.com/openaudit-fixtures/bright-lm).\n")
    with running() as fake:
        for k, v in fake.env().items():
            monkeypatch.setenv(k, v)
        s = audit(folder, cache_dir=tmp_path / "cache")
        assert any("/repos/openaudit-fixtures/bright-lm" in r["path"] for r in fake.log)
    (repo,) = [e for e in ev(s, "code.repo") if "openaudit-fixtures/bright-lm" in str(e.value)]
    assert repo.value["commit"] and "training" in repo.value["kinds"]  # read at its commit, as for a Hub model
    assert flag(s, "license-inherited") is not None  # and the Hub links as before


def test_the_lookup_sends_the_token_ids_are_read_with(fakehub: Any, hub_store: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_TOKEN (as --token or the stored login) opens a gated base's files for the folder's lookup too."""
    hub = fakehub(hub_store)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    folder = make_folder(tmp_path, base="meta-llama/Llama-3.1-8B")
    licence = "/meta-llama/Llama-3.1-8B/resolve/"

    def licence_reads(**kw: Any) -> list[int]:
        mark = hub.mark()
        audit(folder, cache_dir=tmp_path / f"cache-{len(kw)}", **kw)
        return [r["status"] for r in hub.since(mark)
                if r["path"].startswith(licence) and r["path"].endswith("/LICENSE")]

    assert licence_reads() == []  # anonymous: the gated files are not asked for
    monkeypatch.setenv("HF_TOKEN", "hf_" + "x" * 34)
    assert licence_reads(jobs=2) == [200]


def test_the_request_budget_covers_the_folders_lookups(fakehub: Any, hub_store: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    hub = fakehub(hub_store)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    stats: dict[str, Any] = {}
    s = audit(make_folder(tmp_path), cache_dir=tmp_path / "cache", max_requests=2, stats=stats)
    assert stats["requests"] == 2  # the dataset's metadata and README, then the budget is spent
    (unchecked,) = ev(s, "lineage.unchecked-base")
    assert unchecked.value["reason"].startswith("budget:") and flag(s, "lineage-broken") is None
    assert s.status == "incomplete"
