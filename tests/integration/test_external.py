"""Issue 25: links outside the Hub (GitHub, arXiv, Zenodo) read by the real client against tests/fakeext.py,
recorded into a store and replayed, and the verdicts they change."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from openaudit import errors
from openaudit.sources.external import (
    CachedExternal,
    ExternalSource,
    StoreExternal,
    external_ref,
    linked_refs,
    write_external,
)
from tests.fakeext import FakeExt, running


@pytest.fixture(scope="module")
def fake() -> Any:
    with running() as f:
        yield f


def client(fake: FakeExt, **kw: Any) -> ExternalSource:
    return ExternalSource(bases=fake.bases(), backoff=0.01, **kw)


def test_only_allow_listed_hosts_are_followed() -> None:
    assert external_ref("https://github.com/allenai/OLMo/tree/main/scripts") == ("github", "allenai/OLMo")
    assert external_ref("https://github.com/allenai/OLMo.git") == ("github", "allenai/OLMo")
    assert external_ref("https://arxiv.org/pdf/2402.00838v2") == ("arxiv", "2402.00838")
    assert external_ref("https://zenodo.org/records/7654321") == ("zenodo", "7654321")
    assert external_ref("https://doi.org/10.5281/zenodo.7654321") == ("zenodo", "7654321")
    # Not on the allow-list, or not a repository: recorded as a link by the card, never fetched.
    for url in ("https://example.com/github.com/a/b", "https://github.com/orgs/acme", "https://gitee.com/a/b",
                "http://169.254.169.254/latest", "https://raw.githubusercontent.com/a/b/main/x"):
        assert external_ref(url) is None, url
    # Each repository once, however it is spelled; a card of fifty links does not cost fifty fetches.
    refs = linked_refs(["https://github.com/A/b", "https://github.com/a/B/blob/main/x.py"]
                       + [f"https://github.com/o/r{i}" for i in range(20)])
    assert refs[0] == ("github", "A/b") and len(refs) == 6


def test_readme_only_repo_is_read_at_its_commit(fake: FakeExt) -> None:
    snap = client(fake).get("github", "openaudit-fixtures/quill-train")
    assert snap.status == "ok" and snap.revision and len(snap.revision) == 40
    assert sorted(e["path"] for e in snap.info["tree"] if e["type"] == "blob") == [
        ".github/workflows/stale.yml", "LICENSE", "README.md", "figures/benchmark.jpg", "quill_report.pdf"]
    assert "Coming soon" in snap.files["README.md"].text
    assert snap.info["repo"]["license"]["spdx_id"] == "MIT"
    assert snap.file_url("README.md") == f"https://github.com/openaudit-fixtures/quill-train/blob/{snap.revision}/README.md"


def test_gitlab_tree_is_read_across_its_pages(fake: FakeExt) -> None:
    assert external_ref("https://gitlab.com/lumen/lumen-train/-/tree/main") == ("gitlab", "lumen/lumen-train")
    before = len(fake.log)
    snap = client(fake).get("gitlab", "lumen/lumen-train")
    pages = [r for r in fake.log[before:] if "/repository/tree" in r["path"]]
    assert len(pages) == 3 and not snap.info["truncated"]
    assert "zz_recipes/pretrain_lumen.py" in [e["path"] for e in snap.info["tree"]]  # on the last page
    assert "Pre-training" in snap.files["README.md"].text and "LICENSE" in snap.files
    assert snap.file_url("LICENSE") == f"https://gitlab.com/lumen/lumen-train/-/blob/{snap.revision}/LICENSE"
    assert client(fake).get("gitlab", "lumen/gone").status == "not-found"


def test_only_documents_and_images_make_a_repository_hold_no_code() -> None:
    from datetime import UTC, datetime

    from openaudit.evidence.external import repo_facts
    from openaudit.snapshot import ExternalSnapshot

    def facts(*paths: str) -> dict[str, Any]:
        tree = [{"path": p, "type": "blob"} for p in paths]
        return repo_facts(ExternalSnapshot(host="github", id="a/b", taken_at=datetime.now(UTC), info={"tree": tree}))

    assert not facts("README.md", "LICENSE", "docs/figure.png", ".github/workflows/ci.yml")["holds_code"]
    assert not facts()["holds_code"]
    # Training configs, a Dockerfile or a Makefile are not nothing: the repository is not called empty.
    assert facts("README.md", "recipes/sft.yaml")["holds_code"]
    assert facts("README.md", "Dockerfile")["holds_code"]
    assert facts("README.md", "train.py")["kinds"] == {"training": "train.py"}


def test_a_third_partys_training_scripts_are_not_the_models_training_code(fake: FakeExt) -> None:
    from openaudit.evidence import collect_evidence
    from openaudit.snapshot import RepoSnapshot, SnapshotBundle, TextFile

    card = ("# Spark-1B\n\nA small model. We built on the ideas of https://github.com/openaudit-fixtures/bright-lm and "
            "on our own code at https://github.com/sparkai/spark-code.\n")
    from datetime import UTC, datetime

    snap = RepoSnapshot(repo_id="sparkai/Spark-1B", source="store", taken_at=datetime.now(UTC), revision="a" * 40,
                        files={"README.md": TextFile(path="README.md", text=card, size=len(card))},
                        info={"id": "sparkai/Spark-1B", "sha": "a" * 40, "siblings": [{"rfilename": "README.md"}]})
    bright = client(fake).get("github", "openaudit-fixtures/bright-lm")
    own = bright.model_copy(update={"id": "sparkai/spark-code"})
    bundle = SnapshotBundle(subject=snap, external={"github:openaudit-fixtures/bright-lm": bright,
                                                    "github:sparkai/spark-code": own})
    links = {e.value["repo"]: e.value for e in collect_evidence(bundle)[0] if e.kind == "code.link"}
    assert links["github.com/openaudit-fixtures/bright-lm"]["role"] != "training"  # someone else's
    assert "training" in links["github.com/openaudit-fixtures/bright-lm"]["found"]  # though it holds some
    assert links["github.com/sparkai/spark-code"]["role"] == "training"  # the developer's own


def test_renamed_repo_is_followed_on_the_same_host(fake: FakeExt) -> None:
    snap = client(fake).get("github", "oldcorp/vintage-tools")
    assert snap.id == "oldcorp/vintage-toolkit" and snap.info["requested"] == "oldcorp/vintage-tools"
    assert "convert.py" in [e["path"] for e in snap.info["tree"]]


def test_redirect_to_another_host_is_not_followed(fake: FakeExt) -> None:
    with pytest.raises(errors.NetworkError, match="another host"):
        client(fake).get("github", "quillai/quill-mirror")
    assert not any("steal" in r["path"] for r in fake.log)


def test_404_and_451_are_answers_and_archived_empty_is_recorded(fake: FakeExt) -> None:
    c = client(fake)
    assert c.get("github", "quillai/quill-eval").status == "not-found"
    blocked = c.get("github", "quillai/quill-legal")
    assert blocked.status == "unavailable" and "451" in blocked.detail
    empty = c.get("github", "openaudit-fixtures/vintage-data")
    assert empty.status == "ok" and empty.info["empty"] and empty.info["repo"]["archived"] is True
    assert c.get("zenodo", "7000001").status == "not-found"  # 410: deleted
    assert c.get("arxiv", "2401.99999").status == "not-found"  # OAI idDoesNotExist


def test_one_fetch_per_repository_per_run(fake: FakeExt) -> None:
    c = client(fake)
    before = len(fake.log)
    a = c.get("github", "openaudit-fixtures/bright-lm")
    b = c.get("github", "OpenAudit-Fixtures/Bright-LM")
    assert a is b
    assert len(fake.log) - before == 5  # repo, commit, tree, README, LICENSE


def test_rate_limit_is_an_error_never_an_answer_and_the_token_goes_to_github_only() -> None:
    token = "ghp_" + "s3cr3t" * 6
    with running(rate_limited=True) as f:
        c = client(f, token=token)
        with pytest.raises(errors.RateLimited) as e:
            c.get("github", "openaudit-fixtures/bright-lm")
        assert "resets in" in str(e.value) and token not in str(e.value)
        n = len(f.log)
        with pytest.raises(errors.RateLimited):  # the window is spent: the next repository costs no request
            c.get("github", "openaudit-fixtures/vintage")
        assert len(f.log) == n
        c.get("arxiv", "2406.01111")  # other hosts are not held
        c.get("zenodo", "7654321")
        gh = [r for r in f.log if r["path"].startswith("/repos/")]
        others = [r for r in f.log if not r["path"].startswith("/repos/")]
        assert gh and all(r["authorization"] == f"Bearer {token}" for r in gh)
        assert others and not any(r["auth"] for r in others)
    # Without a token the message says how to get a larger allowance.
    with running(rate_limited=True) as f, pytest.raises(errors.RateLimited, match="GITHUB_TOKEN"):
        client(f).get("github", "openaudit-fixtures/bright-lm")


def test_a_secondary_rate_limit_is_not_a_blocked_repository() -> None:
    with running(secondary_limit=True) as f, pytest.raises(errors.RateLimited, match="retry after 60 s"):
        client(f).get("github", "openaudit-fixtures/quill-train")


def test_a_body_over_the_cap_is_cut_while_streaming() -> None:
    with running(huge_file=64 * 1024 * 1024) as f:
        snap = client(f).get("github", "openaudit-fixtures/quill-train")
    assert "README.md" not in snap.files and "LICENSE" in snap.files  # the licence is still read


def test_the_shared_budget_bounds_external_requests(fake: FakeExt) -> None:
    from openaudit.sources.gate import RequestGate

    gate = RequestGate(2, max_requests=3)
    with pytest.raises(errors.FetchError, match="budget"):
        client(fake, gate=gate).get("github", "openaudit-fixtures/bright-lm")
    assert gate.sent == 3 and gate.by_bucket["external"] == 3


def test_unreachable_host_is_retried_then_incomplete() -> None:
    c = ExternalSource(bases={"github": "http://127.0.0.1:9"}, backoff=0.01, retries=1, timeout=2)
    with pytest.raises(errors.NetworkError):
        c.get("github", "a/b")


def test_papers_and_records(fake: FakeExt) -> None:
    c = client(fake)
    p = c.get("arxiv", "2406.01111")
    assert p.info["title"].startswith("Papyrus:") and p.info["authors"][0] == "Ada Moreau"
    assert p.info["license"] == "http://creativecommons.org/licenses/by/4.0/"
    z = c.get("zenodo", "7654321")
    assert z.info["license"] == "cc-by-4.0" and len(z.info["files"]) == 2


def test_store_round_trip(fake: FakeExt, tmp_path: Path) -> None:
    c = client(fake)
    for host, rid in (("github", "openaudit-fixtures/bright-lm"), ("github", "quillai/quill-eval"),
                      ("arxiv", "2406.01111"),
                      ("zenodo", "7654321")):
        write_external(tmp_path, c.get(host, rid))
    assert (tmp_path / "github" / "openaudit-fixtures" / "bright-lm" / "files" / "LICENSE").is_file()
    back = StoreExternal(tmp_path)
    again = back.get("github", "openaudit-fixtures/bright-lm")
    assert again.revision == c.get("github", "openaudit-fixtures/bright-lm").revision
    assert again.files["README.md"].text == c.get("github", "openaudit-fixtures/bright-lm").files["README.md"].text
    assert back.get("github", "quillai/quill-eval").status == "not-found"
    assert back.get("arxiv", "2406.01111").info["title"].startswith("Papyrus")
    # What the store did not record was not followed: absent, not an error, and no request.
    got, errs = back.follow(["https://github.com/nobody/nothing"])
    assert got == {} and errs == {}


def test_the_cache_keeps_a_repository_read_at_its_commit(fake: FakeExt, tmp_path: Path) -> None:
    client(fake, cache_dir=tmp_path).get("github", "openaudit-fixtures/bright-lm")
    before = len(fake.log)
    again = client(fake, cache_dir=tmp_path).get("github", "openaudit-fixtures/bright-lm")
    assert len(fake.log) - before == 2  # the repo's metadata and its commit; tree and files from the cache
    assert "README.md" in again.files


def test_following_is_off_in_the_test_suite_unless_a_test_turns_it_on() -> None:
    assert os.environ.get("OPENAUDIT_EXTERNAL") == "off"
    assert ExternalSource.from_env() is None


# -- end to end: cards on a fake Hub, their links on the fake hosts, recorded, replayed ---------------------

CARDS = {
    # "Training code" that is a README-only repository; evaluation scripts at a repository that is gone.
    "quillai/Quill-7B": ("---\nlicense: apache-2.0\nlibrary_name: transformers\n---\n# Quill-7B\n\n"
                         "Quill-7B is a seven-billion-parameter decoder-only model from Quill AI, pre-trained on "
                         "two trillion tokens of web text and code.\n\n## Training\n\nThe model was pre-trained on "
                         "256 GPUs for three weeks. Training code: "
                         "[quill-train](https://github.com/openaudit-fixtures/quill-train).\n\n## Evaluation\n\n"
                         "Our evaluation scripts are at https://github.com/quillai/quill-eval.\n", None),
    # Apache-2.0 code, custom non-commercial weights licence.
    "brightwave/Bright-3B": ("---\nlicense: other\nlicense_name: bright-community-license\nlicense_link: LICENSE\n"
                             "library_name: transformers\n---\n# Bright-3B\n\nBright-3B is a small bilingual model "
                             "by Brightwave Labs.\n\n## Code\n\nEverything we used is in "
                             "https://github.com/openaudit-fixtures/bright-lm.\n\n## License\n\nThe weights are "
                             "released "
                             "under the Bright Community License (research and non-commercial use only).\n",
                             "Bright Community License\n\nYou may use the Bright weights for research and other "
                             "non-commercial purposes only. Commercial use requires a separate agreement.\n"),
    # Three papers cited, one of them its own: only arXiv's metadata tells which.
    "papyrus/Papyrus-1B": ("---\nlicense: apache-2.0\nlibrary_name: transformers\n---\n# Papyrus-1B\n\n"
                           "A one-billion-parameter model trained on public-domain books.\n\n## References\n\n"
                           "1. https://arxiv.org/abs/2406.01111\n2. https://arxiv.org/abs/2310.02222\n"
                           "3. https://arxiv.org/abs/2205.03333\n", None),
    # An archived repository with code, a renamed one, and an archived empty one.
    "oldcorp/Vintage-2B": ("---\nlicense: mit\n---\n# Vintage-2B\n\nTraining and inference code: "
                           "https://github.com/openaudit-fixtures/vintage (no longer maintained).\n\nConversion tools: "
                           "https://github.com/oldcorp/vintage-tools\n\nData processing scripts: "
                           "https://github.com/openaudit-fixtures/vintage-data\n", None),
    "oldcorp/Vintage-2B-Chat": ("---\nlicense: mit\nbase_model: oldcorp/Vintage-2B\n---\n# Vintage-2B-Chat\n\n"
                                "Chat-tuned Vintage-2B. Training code: "
                                "https://github.com/openaudit-fixtures/vintage\n", None),
    # Training code on GitLab (a tree of three pages).
    "lumen/Lumen-1B": ("---\nlicense: apache-2.0\n---\n# Lumen-1B\n\nA small model. The code is at "
                       "https://gitlab.com/lumen/lumen-train.\n", None),
    # A training dataset on Zenodo.
    "geodata/TerraSeg-base": ("---\nlicense: cc-by-4.0\n---\n# TerraSeg-base\n\nA land-cover segmentation model "
                              "trained on TerraScenes (https://zenodo.org/records/7654321). Extra validation tiles "
                              "are in our data release at https://data.geodata.example/terra/val/.\n", None),
}


def hub_store(root: Path, writer: Any) -> Path:
    for i, (rid, (card, lic)) in enumerate(CARDS.items()):
        files = {"README.md": card, **({"LICENSE": lic} if lic else {})}
        sibs = [{"rfilename": p} for p in files] + [{"rfilename": "config.json", "size": 600},
                                                     {"rfilename": "model.safetensors", "size": 4_000_000_000}]
        meta = card.split("---\n")[1]
        card_data = {k.strip(): v.strip() for k, v in (ln.split(":", 1) for ln in meta.splitlines() if ":" in ln)}
        writer(root, rid, {"sha": f"{i + 1:x}" * 40, "gated": False, "private": False, "siblings": sibs,
                           "lastModified": "2025-02-01T00:00:00.000Z", "cardData": card_data,
                           "tags": [f"license:{card_data['license']}"]}, files)
    return root


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openaudit.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **env}, timeout=180)


def finding(subject: dict[str, Any], criterion: str) -> dict[str, Any]:
    return next(f for f in subject["findings"] if f["criterion"] == criterion)


def ev(subject: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in subject["evidence"] if e["kind"] == kind]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, fakehub: Any, repo_writer: Any, fake: FakeExt) -> Any:
    root = tmp_path_factory.mktemp("ext")
    hub = fakehub(hub_store(root / "hub", repo_writer))
    env = {"HF_ENDPOINT": hub.url, **fake.env()}
    out = root / "rec"
    r = cli("snapshot", *CARDS, "-o", str(out), "-q", env=env)
    assert r.returncode == 0, r.stderr
    n = len(fake.log)
    report = json.loads(cli("audit", *CARDS, "--snapshots", str(out), "-f", "json", "-q", env=fake.env()).stdout)
    assert len(fake.log) == n  # a replay sends nothing, even with following on
    bare = json.loads(cli("audit", *CARDS, "--snapshots", str(out), "-f", "json", "-q", "--no-external",
                          env={}).stdout)
    by = {s["repo_id"]: s for s in report["subjects"]}
    by_bare = {s["repo_id"]: s for s in bare["subjects"]}
    return out, by, by_bare, hub, env, root


@pytest.mark.slow
def test_snapshot_records_each_host_in_its_folder(recorded: Any) -> None:
    out = recorded[0]
    info = json.loads((out / "github" / "openaudit-fixtures" / "quill-train" / "info.json").read_text())
    assert info["status"] == "ok" and len(info["revision"]) == 40 and info["files"] == ["LICENSE", "README.md"]
    assert json.loads((out / "github" / "quillai" / "quill-eval" / "info.json").read_text())["status"] == "not-found"
    assert (out / "arxiv" / "2406.01111" / "info.json").is_file()
    assert json.loads((out / "zenodo" / "7654321" / "info.json").read_text())["info"]["license"] == "cc-by-4.0"


@pytest.mark.slow
def test_a_training_link_to_a_readme_only_repo_is_not_training_code(recorded: Any) -> None:
    _, by, bare, *_ = recorded
    assert finding(bare["quillai/Quill-7B"], "OA-COD-001")["outcome"] == "open"  # the card's word alone
    s = by["quillai/Quill-7B"]
    assert finding(s, "OA-COD-001")["outcome"] == "closed"
    links = {e["value"]["repo"]: e for e in ev(s, "code.link")}
    train = links["github.com/openaudit-fixtures/quill-train"]
    assert train["value"]["role"] == "no-code" and train["value"]["card_role"] == "training"
    assert "holds no code" in train["summary"] and train["url"] == "https://github.com/openaudit-fixtures/quill-train"
    gone = links["github.com/quillai/quill-eval"]
    assert gone["value"]["role"] == "not-found" and "does not exist" in gone["summary"]


@pytest.mark.slow
def test_apache_code_beside_custom_weights_and_training_code_found_in_the_tree(recorded: Any) -> None:
    _, by, bare, *_ = recorded
    s = by["brightwave/Bright-3B"]
    (repo,) = ev(s, "code.repo")
    assert repo["value"]["license_host"] == "Apache-2.0" and repo["value"]["license_text"] == "Apache-2.0"
    assert {"training", "evaluation", "data-processing"} <= set(repo["value"]["kinds"])
    assert repo["url"].startswith(f"https://github.com/openaudit-fixtures/bright-lm/blob/{repo['value']['commit']}/")
    assert s["license"]["key"] != "Apache-2.0"  # the weights are not under the code's licence
    # The card never says "training code": the tree does.
    assert finding(bare["brightwave/Bright-3B"], "OA-COD-001")["outcome"] == "partial"
    assert finding(s, "OA-COD-001")["outcome"] == "open"
    assert "scripts/train.py" in finding(s, "OA-COD-001")["rationale"]
    assert finding(s, "OSAI-CD")["outcome"] != "unknown"


@pytest.mark.slow
def test_of_three_cited_papers_the_one_naming_the_model_is_its_own(recorded: Any) -> None:
    _, by, bare, *_ = recorded
    s = by["papyrus/Papyrus-1B"]
    metas = {e["value"]["arxiv"]: e["value"] for e in ev(s, "docs.paper-meta")}
    assert set(metas) == {"2406.01111", "2310.02222", "2205.03333"}
    assert [a for a, v in metas.items() if v["own"]] == ["2406.01111"]
    assert [e["value"]["arxiv"] for e in ev(s, "docs.paper")] == ["2406.01111"]
    assert finding(bare["papyrus/Papyrus-1B"], "OSAI-PA")["outcome"] == "closed"
    assert finding(s, "OSAI-PA")["outcome"] != "closed" and finding(s, "OSAI-PP")["outcome"] == "partial"
    # MOF's research-paper component: closed on the card alone, included once arXiv names the paper.
    assert finding(bare["papyrus/Papyrus-1B"], "MOF-C21")["outcome"] == "closed"
    assert finding(s, "MOF-C21")["outcome"] not in ("closed", "unknown")
    assert "2406.01111" in finding(s, "MOF-C21")["rationale"]


@pytest.mark.slow
def test_archived_renamed_and_archived_empty_repositories(recorded: Any) -> None:
    _, by, *_ = recorded
    s = by["oldcorp/Vintage-2B"]
    links = {e["value"]["repo"]: e for e in ev(s, "code.link")}
    main = links["github.com/openaudit-fixtures/vintage"]
    assert main["value"]["archived"] is True and "(archived)" in main["summary"]
    assert main["value"]["role"] == "training"
    assert links["github.com/oldcorp/vintage-tools"]["value"]["checked"] == "ok"  # followed to vintage-toolkit
    empty = links["github.com/openaudit-fixtures/vintage-data"]
    assert empty["value"]["role"] == "no-code" and "(archived)" in empty["summary"]
    assert "no longer counted" not in empty["summary"] and "holds no code" in empty["summary"]


@pytest.mark.slow
def test_a_gitlab_repository_is_read_like_a_github_one(recorded: Any) -> None:
    _, by, *_ = recorded
    s = by["lumen/Lumen-1B"]
    (repo,) = ev(s, "code.repo")
    assert repo["value"]["host"] == "gitlab" and repo["value"]["license_host"] == "Apache-2.0"
    assert "training" in repo["value"]["kinds"]
    (link,) = ev(s, "code.link")
    assert link["value"]["checked"] == "ok" and "zz_recipes/pretrain_lumen.py" in link["summary"]
    assert link["url"] == f"https://gitlab.com/lumen/lumen-train/-/blob/{link['value']['commit']}/zz_recipes/pretrain_lumen.py"
    assert finding(s, "OA-COD-001")["outcome"] == "open"


@pytest.mark.slow
def test_a_dataset_on_zenodo_is_looked_up(recorded: Any) -> None:
    _, by, bare, *_ = recorded
    assert finding(bare["geodata/TerraSeg-base"], "OA-DAT-001")["outcome"] == "closed"  # the card alone
    z, other = sorted(ev(by["geodata/TerraSeg-base"], "data.external"), key=lambda e: e["value"]["host"])[::-1]
    assert other["value"]["exists"] is None and "linked, not verified" in other["summary"]
    assert other["value"]["host"] == "data.geodata.example"
    assert z["value"]["exists"] is True and z["value"]["license"] == "cc-by-4.0"
    assert z["url"] == "https://zenodo.org/records/7654321" and z["value"]["dataset"] is True
    rationale = finding(by["geodata/TerraSeg-base"], "OA-DAT-001")["rationale"]
    assert finding(by["geodata/TerraSeg-base"], "OA-DAT-001")["outcome"] == "partial" and "7654321" in rationale


@pytest.mark.slow
def test_org_reads_a_repository_many_models_link_once(recorded: Any, fake: FakeExt) -> None:
    *_, env, root = recorded
    n = len(fake.log)
    r = cli("org", "oldcorp", "--cache-dir", str(root / "cache"), "-f", "json", "-q", env=env)
    assert r.returncode in (0, 1), r.stderr
    report = json.loads(r.stdout)
    assert {s["repo_id"] for s in report["subjects"]} == {"oldcorp/Vintage-2B", "oldcorp/Vintage-2B-Chat"}
    assert all(ev(s, "code.link") for s in report["subjects"])
    hits = [x for x in fake.log[n:] if x["path"] == "/repos/openaudit-fixtures/vintage"]
    assert len(hits) == 1


@pytest.mark.slow
def test_the_report_with_external_evidence_is_schema_valid(recorded: Any) -> None:
    import jsonschema

    from openaudit.report import SCHEMA_PATH

    out = recorded[0]
    report = json.loads(cli("audit", *CARDS, "--snapshots", str(out), "-f", "json", "-q", env={}).stdout)
    jsonschema.validate(report, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert any(e["kind"] == "code.repo" for s in report["subjects"] for e in s["evidence"])


def test_offline_and_replay_never_follow_live(tmp_path: Path, fake: FakeExt, monkeypatch: pytest.MonkeyPatch) -> None:
    from openaudit import api

    for k, v in fake.env().items():
        monkeypatch.setenv(k, v)
    # Offline: only what the cache kept (its seals checked, tests/integration/test_external_seal.py), never the network.
    assert isinstance(getattr(api.make_source(offline=True, cache_dir=tmp_path), "external", None), CachedExternal)
    assert getattr(api.make_source(offline=True, cache_dir=tmp_path, external=False), "external", None) is None
    (tmp_path / "store").mkdir()
    assert isinstance(getattr(api.make_source(tmp_path / "store"), "external", None), StoreExternal)
    assert getattr(api.make_source(tmp_path / "store", external=False), "external", None) is None
    assert getattr(api.make_source(tmp_path / "store", depth="card"), "external", None) is None
    # Live, with following on, the reader is the real client pointed at the fake.
    live = getattr(api.make_source(cache_dir=tmp_path / "c"), "external", None)
    assert isinstance(live, ExternalSource) and live.bases["github"] == fake.url


def test_a_hostile_arxiv_answer_is_not_expanded() -> None:
    from openaudit.sources.external import parse_arxiv_oai

    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><x>&b;</x></OAI-PMH>')
    assert parse_arxiv_oai(bomb) is None
    assert parse_arxiv_oai(b"not xml at all") is None


@pytest.mark.slow
def test_a_rate_limited_host_makes_the_audit_incomplete_never_closed(recorded: Any, tmp_path: Path) -> None:
    *_, env, _root = recorded
    token = "ghp_" + "T0k3n" * 7
    with running(rate_limited=True) as limited:
        r = cli("audit", "quillai/Quill-7B", "--cache-dir", str(tmp_path), "-f", "json", "-q",
                env={**env, **limited.env(), "GITHUB_TOKEN": token})
        assert {x["authorization"] for x in limited.log} == {f"Bearer {token}"}  # honoured, GitHub only
    assert r.returncode == 3, r.stderr
    assert token not in r.stdout and token not in r.stderr
    assert "GITHUB_TOKEN" not in r.stdout  # with a token, no advice to set one
    (s,) = json.loads(r.stdout)["subjects"]
    assert s["status"] == "incomplete" and "rate-limited" in s["reason"]
    assert "github:openaudit-fixtures/quill-train" in s["reason"]
    assert finding(s, "OA-COD-001")["outcome"] == "open"  # the card's word stands; nothing read says otherwise
    assert ev(s, "external.unread")


@pytest.mark.slow
def test_every_output_format_shows_what_the_repository_holds(recorded: Any, tmp_path: Path) -> None:
    out = recorded[0]
    files = {f: tmp_path / f"r.{f}" for f in ("html", "md", "sarif")}
    args = [a for f, p in files.items() for a in ("-f", f, "-o", str(p))]
    r = cli("audit", "quillai/Quill-7B", "--snapshots", str(out), "-q", "-v", *args, env={})
    assert r.returncode in (0, 1), r.stderr
    assert "holds no code" in files["html"].read_text() and "holds no code" in files["md"].read_text()
    json.loads(files["sarif"].read_text())


@pytest.mark.slow
def test_snapshot_names_the_links_a_rate_limit_kept_it_from_recording(recorded: Any, tmp_path: Path) -> None:
    *_, env, _root = recorded
    with running(rate_limited=True) as limited:
        r = cli("snapshot", "quillai/Quill-7B", "-o", str(tmp_path / "rec"), "-q", env={**env, **limited.env()})
    assert r.returncode == 3 and "github:openaudit-fixtures/quill-train (rate-limited" in r.stderr, r.stderr
    assert (tmp_path / "rec" / "models" / "quillai" / "Quill-7B" / "info.json").is_file()
    assert not (tmp_path / "rec" / "github").exists()  # a rate limit is not an answer: nothing recorded


def test_github_token_goes_to_no_overridden_base_but_this_machines(monkeypatch: pytest.MonkeyPatch) -> None:
    # The base override is for a fake on this machine; pointed anywhere else it must not carry the token.
    from openaudit.sources.external import ExternalSource

    monkeypatch.setenv("OPENAUDIT_EXTERNAL", "on")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    monkeypatch.setenv("OPENAUDIT_GITHUB_API", "https://api.github.example.net")
    src = ExternalSource.from_env()
    assert src is not None and src._token is None
    monkeypatch.setenv("OPENAUDIT_GITHUB_API", "http://127.0.0.1:9")
    assert ExternalSource.from_env()._token == "ghp_secret"  # type: ignore[union-attr]
    monkeypatch.delenv("OPENAUDIT_GITHUB_API")
    assert ExternalSource.from_env()._token == "ghp_secret"  # type: ignore[union-attr]


# -- a quota that runs out (issue 25, item 3) ------------------------------------------------------------------

def test_the_hosts_count_is_honoured_no_request_goes_out_after_the_last_one() -> None:
    # A window of five: bright-lm's record costs exactly five (repo, commit, tree, README, LICENSE); the answer
    # to the fifth says none are left, so the next repository is not asked for at all.
    with running(quota=5) as f:
        c = client(f)
        assert c.get("github", "openaudit-fixtures/bright-lm").files  # read whole, within the window
        with pytest.raises(errors.RateLimited) as e:
            c.get("github", "openaudit-fixtures/vintage")
        assert f.github_used == 5 and c.rate_limited_hosts == {"github"}
    assert "resets in" in str(e.value) and "GITHUB_TOKEN" in str(e.value) and "--no-external" in str(e.value)


QUOTA_CARDS = {
    # Two models link the same repository; the org's run reads it once.
    "nimbus/Nimbus-3B": "# Nimbus-3B\n\nTraining code: https://github.com/openaudit-fixtures/bright-lm\n",
    "nimbus/Nimbus-3B-Chat": "# Nimbus-3B-Chat\n\nTraining code: https://github.com/openaudit-fixtures/bright-lm\n",
    "nimbus/Nimbus-7B": "# Nimbus-7B\n\nTraining code: https://github.com/openaudit-fixtures/quill-train\n",
    "nimbus/Nimbus-1B": "# Nimbus-1B\n\nTraining code: https://github.com/openaudit-fixtures/vintage\n",
}


@pytest.mark.slow
def test_an_org_run_that_spends_githubs_quota_is_incomplete_never_closed_and_says_what_to_do(
        tmp_path: Path, fakehub: Any, repo_writer: Any) -> None:
    for i, (rid, body) in enumerate(QUOTA_CARDS.items()):
        card = "---\nlicense: apache-2.0\n---\n" + body
        repo_writer(tmp_path / "hub", rid, {"sha": f"{i + 1:x}" * 40, "gated": False, "private": False,
                                            "siblings": [{"rfilename": "README.md"},
                                                         {"rfilename": "model.safetensors", "size": 4_000_000_000}],
                                            "lastModified": "2025-02-01T00:00:00.000Z",
                                            "cardData": {"license": "apache-2.0"}, "tags": ["license:apache-2.0"]},
                    {"README.md": card})
    hub = fakehub(tmp_path / "hub", fresh=True)
    # Seven requests: one repository read whole (five), the next one cut off after two; nothing after that.
    with running(quota=7) as f:
        r = cli("org", "nimbus", "--jobs", "1", "--cache-dir", str(tmp_path / "cache"), "-f", "json",
                env={"HF_ENDPOINT": hub.url, **f.env(), "GITHUB_TOKEN": ""})
        log = [x["path"] for x in f.log if x["path"].startswith("/repos/")]
    assert r.returncode == 3, r.stderr
    assert len(log) == 7 and f.github_used == 7  # the host's count honoured: no request past the last
    metas = [p for p in log if p.count("/") == 3]  # /repos/O/R: one per repository, shared across models
    assert len(metas) == len(set(metas)) == 2
    by = {s["repo_id"]: s for s in json.loads(r.stdout)["subjects"]}
    read = {p.removeprefix("/repos/") for p in metas[:1]}
    for rid, s in by.items():
        linked = QUOTA_CARDS[rid].split("github.com/")[1].strip()
        if linked in read:
            assert s["status"] == "audited", s["reason"]
            continue
        # Not read: incomplete, with the reason; the card's word stands, nothing says "no code".
        assert s["status"] == "incomplete" and "rate-limited" in s["reason"] and f"github:{linked}" in s["reason"]
        assert finding(s, "OA-COD-001")["outcome"] == "open"
        assert all(e["value"]["role"] not in ("no-code", "not-found") for e in ev(s, "code.link"))
    assert sum(s["status"] == "audited" for s in by.values()) == (2 if read == {"openaudit-fixtures/bright-lm"} else 1)
    # One line says what happened and the two ways out; the run's provenance counts the requests.
    notes = [ln for ln in r.stderr.splitlines() if "rate limit ran out" in ln]
    assert len(notes) == 1 and "GITHUB_TOKEN" in notes[0] and "--no-external" in notes[0]
    assert "7 requests to hosts outside the Hub" in r.stderr


@pytest.mark.slow
def test_audit_says_once_what_a_spent_github_quota_cost_and_counts_its_requests(recorded: Any, tmp_path: Path) -> None:
    *_, env, _root = recorded
    with running(rate_limited=True) as limited:
        r = cli("audit", "quillai/Quill-7B", "--cache-dir", str(tmp_path), "-f", "json",
                env={**env, **limited.env(), "GITHUB_TOKEN": ""})
        sent = len([x for x in limited.log if x["path"].startswith("/repos/")])
    assert r.returncode == 3, r.stderr
    notes = [ln for ln in r.stderr.splitlines() if "rate limit ran out" in ln]
    assert len(notes) == 1 and "set GITHUB_TOKEN" in notes[0] and "--no-external" in notes[0]
    # One refused request: the host said its window is spent, so the second repository was not asked.
    assert sent == 1 and "1 request to hosts outside the Hub" in r.stderr


def test_links_over_a_hosts_cap_are_said_not_checked_and_leave_the_audit_complete(fake: FakeExt) -> None:
    """A card of many GitHub links: the first MAX_LINKS_PER_HOST are read, the rest are named as not
    checked (never silently dropped), and they do not make the audit incomplete: a run again would not
    read them either."""
    from openaudit import api
    from openaudit.snapshot import SnapshotBundle
    from openaudit.sources.external import MAX_LINKS_PER_HOST

    cap = MAX_LINKS_PER_HOST["github"]
    urls = ["https://github.com/openaudit-fixtures/bright-lm"] + [f"https://github.com/o/r{i}" for i in range(cap + 1)]
    got, errs = client(fake).follow(urls)
    assert len(got) == cap and "github:openaudit-fixtures/bright-lm" in got
    over = [f"github:o/r{i}" for i in range(cap - 1, cap + 1)]
    assert sorted(errs) == over and all(errs[k].startswith("capped:") for k in over)
    assert not any("/repos/o/r" + str(cap) in r["path"] for r in fake.log)  # never asked
    snap = api.make_source(str(Path(__file__).resolve().parents[1] / "store")).model("mistralai/Mistral-7B-v0.1")
    s = api.audit_bundle(SnapshotBundle(subject=snap, external=got, external_errors=errs), api.resolve_profiles(None))
    assert s.status == "audited", s.reason
    unread = {e.value["link"]: e.summary for e in s.evidence if e.kind == "external.unread"}
    assert set(unread) == set(over) and all("was linked but not checked" in t for t in unread.values())
