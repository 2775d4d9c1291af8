"""Verdicts an expert would sign once the card's links outside the Hub are read (issue 25).

Each fixture (`openaudit-fixtures/*` in the store, its records in tests/store_build/external_records.py)
copies a pattern of real releases from model-facts.md. Each test audits it from the store with the
records replayed, and without them (`--no-external`: the card's word alone), and checks the verdict
an expert reading the repository, paper or record would give, and that the rationale says why.
The last test records the same models through the fake Hub and fake hosts and gets the store back:
the fixtures are one set, shared by the store and tests/fakeext.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from openaudit import api
from openaudit.report import Subject

STORE = Path(__file__).parents[1] / "store"
pytestmark = pytest.mark.skipif(not (STORE / "github").is_dir(), reason="fixture store not generated")
FX = "openaudit-fixtures/"
MODELS = [FX + n for n in ("Quill-7B", "Bright-3B", "Papyrus-1B", "Vintage-2B", "TerraSeg-base")]


@cache
def audit(repo_id: str, external: bool = True) -> Subject:
    (subject,) = api.audit_models([repo_id], snapshots=STORE, external=external).subjects
    assert subject.status == "audited", subject.reason
    return subject


def finding(repo_id: str, criterion: str, external: bool = True) -> tuple[str, str]:
    f = next(f for f in audit(repo_id, external).findings if f.criterion == criterion)
    return f.outcome, f.rationale


def ev(repo_id: str, kind: str) -> list[Any]:
    return [e for e in audit(repo_id).evidence if e.kind == kind]


def test_a_training_code_link_to_a_repository_holding_no_code_is_not_training_code() -> None:
    # DeepSeek-R1's pattern: the linked repository holds a README, a report PDF, a figure, a licence.
    rid = FX + "Quill-7B"
    assert finding(rid, "OA-COD-001", external=False)[0] == "open"  # the card's word alone
    outcome, why = finding(rid, "OA-COD-001")
    assert outcome == "closed" and "github.com/openaudit-fixtures/quill-train" in why
    (link,) = ev(rid, "code.link")
    assert link.value["role"] == "no-code" and link.value["card_role"] == "training"
    assert "holds no code" in link.summary and "quill_report.pdf" not in link.value.get("found", [])
    assert audit(rid).dimensions["code"].verdict == "closed"
    assert audit(rid).frameworks["mof"].components["MOF-C07"] == "closed"
    assert audit(rid).frameworks["osai-index"].components["OSAI-TC"] == "closed"
    assert finding(rid, "OSAI-CD")[0] == "closed"  # no code, so no code documentation


def test_apache_code_beside_research_only_weights() -> None:
    # DeepSeek-V3's pattern (code and weights under different licences): the code repository is
    # Apache-2.0 and holds the pre-training pipeline; the weights are research-only.
    rid = FX + "Bright-3B"
    s = audit(rid)
    (repo,) = ev(rid, "code.repo")
    assert repo.value["license_host"] == "Apache-2.0" and repo.value["license_text"] == "Apache-2.0"
    assert {"training", "evaluation", "data-processing"} <= set(repo.value["kinds"])
    assert repo.url and repo.url.startswith(f"https://github.com/openaudit-fixtures/bright-lm/blob/{repo.value['commit']}/")
    (code_lic,) = ev(rid, "license.code")
    assert code_lic.value["key"] == "Apache-2.0" and code_lic.value["from"] == "linked-repo"
    # The training code is open under its own licence; the weights' licence is not open.
    assert s.dimensions["code"].verdict == "open"
    outcome, why = finding(rid, "MOF-C07")
    assert outcome == "open" and "training code's own repository" in why
    assert finding(rid, "MOF-C07", external=False)[0] == "unknown"  # the weights' licence is all the card gives
    assert s.dimensions["license"].verdict != "open" and finding(rid, "OA-LIC-001")[0] != "open"
    assert s.license is None or s.license.key != "Apache-2.0"


def test_of_three_cited_papers_the_one_arxiv_says_names_the_model_is_its_own() -> None:
    # Pythia's (its paper and the Pile's) and Falcon's (RefinedWeb's) pattern.
    rid = FX + "Papyrus-1B"
    metas = {e.value["arxiv"]: e.value for e in ev(rid, "docs.paper-meta")}
    assert set(metas) == {"2406.01111", "2310.02222", "2205.03333"}
    assert [a for a, v in metas.items() if v["own"]] == ["2406.01111"]
    assert [e.value["arxiv"] for e in ev(rid, "docs.paper")] == ["2406.01111"]
    assert finding(rid, "MOF-C21", external=False)[0] == "closed"
    outcome, why = finding(rid, "MOF-C21")
    assert outcome == "open" and "2406.01111" in why
    assert finding(rid, "OSAI-PP")[0] == "partial" and finding(rid, "OSAI-PP", external=False)[0] == "closed"
    # The OSAI Index's "paper" (peer reviewed): decided by arXiv's journal reference, closed on the card alone.
    outcome, why = finding(rid, "OSAI-PA")
    assert outcome == "partial" and "Transactions on Machine Learning Research" in why
    assert finding(rid, "OSAI-PA", external=False)[0] == "closed"


def test_a_paper_arxiv_knows_no_published_version_of_is_not_called_unreviewed() -> None:
    # DeepSeek-R1's paper at the snapshot (March 2025): an arXiv preprint with no journal reference. It
    # may yet be published: peer review stays undecided, never "closed".
    outcome, why = finding("deepseek-ai/DeepSeek-R1", "OSAI-PA")
    assert outcome == "unknown" and "2501.12948" in why and "no published version" in why


def test_an_archived_repository_is_still_published_code_and_an_archived_empty_one_is_not() -> None:
    # meta-llama/llama3's and allenai/OLMo-Eval's pattern: a retired repository stays readable.
    rid = FX + "Vintage-2B"
    links = {e.value["repo"]: e for e in ev(rid, "code.link")}
    code = links["github.com/openaudit-fixtures/vintage"]
    assert code.value["archived"] is True and "(archived)" in code.summary
    assert code.value["role"] == "training"  # the card says "training and inference"; the tree has train.py
    outcome, why = finding(rid, "OA-COD-001")
    assert outcome == "open" and "vintage/train.py" in why
    data = links["github.com/openaudit-fixtures/vintage-data"]
    assert data.value["role"] == "no-code" and "(archived)" in data.summary
    assert finding(rid, "MOF-C16")[0] == "closed"  # the data-processing link holds nothing
    assert finding(rid, "MOF-C16", external=False)[0] != "closed"  # the card's word alone


def test_a_training_dataset_on_zenodo_is_looked_up_and_another_host_is_linked_not_verified() -> None:
    rid = FX + "TerraSeg-base"
    assert finding(rid, "OA-DAT-001", external=False)[0] == "closed"
    by_host = {e.value["host"]: e for e in ev(rid, "data.external")}
    z = by_host["zenodo"]
    assert z.value["exists"] is True and z.value["license"] == "cc-by-4.0" and z.value["dataset"] is True
    assert z.url == "https://zenodo.org/records/7654321"
    other = by_host["data.geodata.example"]
    assert other.value["exists"] is None and "linked, not verified" in other.summary
    outcome, why = finding(rid, "OA-DAT-001")
    assert outcome == "partial" and "7654321" in why


@pytest.mark.slow
def test_recording_the_fixtures_through_the_fakes_gives_back_the_store(tmp_path: Path, fakehub: Any) -> None:
    from tests.fakeext import running

    hub = fakehub(STORE)
    with running() as f:
        r = subprocess.run([sys.executable, "-m", "openaudit.cli", "snapshot", *MODELS, "-o", str(tmp_path), "-q"],
                           capture_output=True, text=True, timeout=180,
                           env={**os.environ, "HF_ENDPOINT": hub.url, **f.env()})
    assert r.returncode == 0, r.stderr
    recorded = sorted(p.relative_to(tmp_path) for p in tmp_path.glob("*/**/info.json")
                      if p.relative_to(tmp_path).parts[0] in ("github", "arxiv", "zenodo"))
    assert len(recorded) == 8
    for rel in recorded:
        got = json.loads((tmp_path / rel).read_text())
        want = json.loads((STORE / rel).read_text())
        assert got["revision"] == want["revision"] and got["status"] == want["status"], rel
        assert got["files"] == want["files"], rel
        for name in got["files"]:
            mine, theirs = tmp_path / rel.parent / "files" / name, STORE / rel.parent / "files" / name
            assert mine.read_text() == theirs.read_text(), (rel, name)
        if got["host"] == "github":
            def tree(doc: dict[str, Any]) -> list[tuple[str, str, Any]]:
                return sorted((e["path"], e["type"], e["size"]) for e in doc["info"]["tree"])
            assert tree(got) == tree(want), rel
            assert got["info"]["repo"]["archived"] == want["info"]["repo"]["archived"], rel
        elif got["host"] == "arxiv":
            keys = ("title", "authors", "abstract", "license", "created", "journal_ref", "doi")
            assert {k: got["info"][k] for k in keys} == {k: want["info"][k] for k in keys}, rel
        else:
            assert got["info"] == want["info"], rel
