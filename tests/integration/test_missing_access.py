"""Issue 19, class 8: missing access is not evidence, for a Hub model's links as for a folder's.

A Hub model declares a base model and a training dataset. When the lookup of the base is lost (the
Hub answers 503 until the retries are spent, a rate limit, the --max-requests budget, access denied)
the base is "not checked" with the reason: no `lineage-broken`, no "not found", and the criteria
that read the base's licence (which could bind the model, `license-inherited`) are undetermined
instead of `open` from the model's own MIT tag. Only the Hub's 404 says "not found" and breaks the
lineage. `diff` between a run that could read the base and one that could not reports a change of
access, never a regression.

The base is written after Qwen2.5-3B (model-facts.md §17: research-only licence) as in
tests/integration/test_folder_links.py; the Hub model is a fine-tune of it that declares MIT and ships an MIT
LICENSE file.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from openaudit import api, diff
from openaudit.report import Report, Subject
from tests.integration.test_folder_links import (
    BASE,
    BASE_CARD,
    BASE_INFO,
    DATASET,
    FOLDER_CARD,
    RESEARCH_LICENSE,
    STORE,
    TEXTS,
    ev,
    flag,
    lineage_shown,
)

MODEL = "tutor-labs/tutor-3b"
GHOST = "tutor-labs/tutor-3b-draft"  # a base the Hub does not have
NOW = datetime(2025, 6, 1, tzinfo=UTC)
pytestmark = pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not generated")

def _tutor_info(repo_id: str, base: str) -> dict[str, Any]:
    return {
        "author": repo_id.split("/")[0], "private": False, "gated": False, "disabled": False,
        "lastModified": "2025-03-02T09:14:00.000Z", "createdAt": "2025-02-20T16:40:00.000Z",
        "library_name": "transformers", "pipeline_tag": "text-generation",
        "tags": ["transformers", "safetensors", "qwen2", "text-generation", "en", f"base_model:{base}",
                 f"base_model:finetune:{base}", f"dataset:{DATASET}", "license:mit", "region:us"],
        "config": {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"},
        "cardData": {"license": "mit", "base_model": base, "datasets": [DATASET], "language": ["en"],
                     "pipeline_tag": "text-generation", "library_name": "transformers"},
        "safetensors": {"parameters": {"BF16": 3_085_938_688}, "total": 3_085_938_688},
        "siblings": [{"rfilename": ".gitattributes"}, {"rfilename": "LICENSE"}, {"rfilename": "README.md"},
                     {"rfilename": "config.json"}, {"rfilename": "model.safetensors", "size": 6_171_877_376}],
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, repo_writer: Any) -> Path:
    """A Hub with the research-licensed base, a public dataset, the MIT fine-tune of the base and a
    fine-tune whose declared base is not on the Hub."""
    root = tmp_path_factory.mktemp("missing-access-store")
    shutil.copytree(STORE / "datasets" / DATASET, root / "datasets" / DATASET)
    repo_writer(root, BASE, BASE_INFO, {"README.md": BASE_CARD, "LICENSE": RESEARCH_LICENSE})
    mit = (TEXTS / "licenses" / "mit.txt").read_text(encoding="utf-8")
    for rid, base in ((MODEL, BASE), (GHOST + "-ft", GHOST)):
        repo_writer(root, rid, _tutor_info(rid, base),
                    {"README.md": FOLDER_CARD.format(base=base, dataset=DATASET), "LICENSE": mit})
    return root


def hub_audit(url: str, repo_id: str = MODEL, **kw: Any) -> Subject:
    """Audit a Hub id through the real huggingface_hub path against the fake Hub (short back-offs)."""
    from openaudit.sources.hub import HubSource

    src = HubSource(endpoint=url, max_retries=2, backoff=0.05, **kw)
    (s,) = api.audit_models([repo_id], source=src).subjects
    return s


def assert_base_not_checked(s: Subject, reason_starts: str) -> None:
    (unchecked,) = ev(s, "lineage.unchecked-base")
    assert unchecked.value["reason"].startswith(reason_starts), unchecked.value
    assert unchecked.summary.startswith(f"Declared base model {BASE} was not checked ({reason_starts}")
    assert not ev(s, "lineage.missing-base") and flag(s, "lineage-broken") is None
    assert flag(s, "license-inherited") is None  # nothing is known of the base's licence: no claim either way
    said = [e.summary for e in s.evidence] + [f.rationale for f in s.findings] + [f.message for f in s.flags]
    assert not [x for x in said if BASE in x and ("not found" in x or "could not be read" in x)]
    assert lineage_shown(s) == [f"{MODEL} ← finetune ← {BASE} (not checked)"]
    # The model's own MIT tag and file stand, but whatever the base's licence decides is undetermined.
    assert s.license is not None and s.license.key == "MIT"
    (lbu,) = ev(s, "license.base-unchecked")
    assert lbu.value["bases"] == [BASE] and "was not checked" in lbu.summary
    outcome = {f.criterion: f.outcome for f in s.findings}
    for cid in ("OA-LIC-001", "MOF-C10", "OSAID-PARAMS", "EU-LIC"):
        if cid in outcome:
            assert outcome[cid] == "unknown", (cid, outcome[cid])
    assert s.dimensions["license"].verdict != "open"


def test_a_base_that_answers_503_until_the_retries_are_spent_is_not_checked(
        fakehub: Any, store: Path) -> None:
    hub = fakehub(store, fail_path=r"^/api/models/Qwen/Qwen2\.5-3B", fresh=True)
    s = hub_audit(hub.url)
    fails = [r for r in hub.requests() if r["path"].startswith(f"/api/models/{BASE}")]
    assert len(fails) == 3 and {r["status"] for r in fails} == {503}  # asked, retried twice, then given up
    assert_base_not_checked(s, "network:")
    assert "503" in ev(s, "lineage.unchecked-base")[0].value["reason"]
    assert ev(s, "data.dataset")[0].value["found"] is True  # the dataset's lookup was not lost
    # Lost to the network: run again and it may say more.
    assert s.status == "incomplete" and BASE in (s.reason or "")


def test_a_rate_limited_base_is_not_checked(fakehub: Any, store: Path) -> None:
    # One API request per 10 minutes: the model's own metadata is read, its links are rate limited.
    hub = fakehub(store, rate_limit="2/600", fresh=True)
    s = hub_audit(hub.url)
    assert [r["status"] for r in hub.requests() if r["path"] == f"/api/models/{MODEL}"] == [200]
    assert_base_not_checked(s, "rate-limited:")
    (ds,) = ev(s, "data.dataset")
    assert ds.value["checked"] is False and "not checked (rate-limited:" in ds.summary
    assert "could not be resolved" not in s.model_dump_json()
    assert s.status == "incomplete"


def test_the_request_budget_leaves_the_base_not_checked(fakehub: Any, store: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    hub = fakehub(store)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    stats: dict[str, Any] = {}
    # The model's metadata, README and LICENSE, then the dataset's metadata and README: the budget is spent.
    (s,) = api.audit_models([MODEL], cache_dir=tmp_path / "cache", max_requests=5, stats=stats).subjects
    assert stats["requests"] == 5
    assert_base_not_checked(s, "budget:")
    assert s.status == "incomplete"


def test_a_base_the_hub_does_not_have_breaks_the_lineage(fakehub: Any, store: Path) -> None:
    hub = fakehub(store)
    s = hub_audit(hub.url, GHOST + "-ft")
    (missing,) = ev(s, "lineage.missing-base")
    assert missing.value["reason"].startswith("not-found:") and f"{GHOST} was not found (" in missing.summary
    assert "not found on http://127.0.0.1" in missing.summary
    assert flag(s, "lineage-broken") is not None and not ev(s, "lineage.unchecked-base")
    assert s.status == "audited"  # an answer, not a lost lookup
    assert not ev(s, "license.base-unchecked")  # a base that does not exist binds nothing: MIT stands
    assert s.dimensions["license"].verdict == "open"
    (dsb,) = [f for f in s.findings if f.criterion == "OSAI-DSB"]
    assert dsb.outcome == "unknown" and "unreadable" not in dsb.marks  # not there is an answer, not lost access


def test_a_base_denied_without_a_token_is_not_checked(fakehub: Any, store: Path) -> None:
    """A 401/403 on the base (a private or gated base, no token) is an access problem, not a missing base."""
    from openaudit.snapshot import SnapshotBundle
    from openaudit.sources.hub import HubSource

    hub = fakehub(store)
    src = HubSource(endpoint=hub.url)
    snap = src.model(MODEL)
    denied = f"access-denied: model '{BASE}': access denied by {hub.url} (HTTP 403)"
    bundle = SnapshotBundle(subject=snap, related={f"dataset:{DATASET}": src.dataset(DATASET)},
                            related_errors={f"model:{BASE}": denied})
    s = api.audit_bundle(bundle, api.resolve_profiles(None))
    assert_base_not_checked(s, "access-denied:")


def test_diff_of_a_run_with_and_without_the_base_reports_access_not_a_regression(
        fakehub: Any, store: Path) -> None:
    read = hub_audit(fakehub(store).url)
    assert flag(read, "license-inherited") is not None  # read: the research-only base binds the MIT fine-tune
    lost = hub_audit(fakehub(store, fail_path=r"^/api/models/Qwen/", fresh=True).url)
    # The score never rises because the base could not be read: its licence is counted as closed.
    assert read.dimensions["license"].verdict == "partial" and lost.dimensions["license"].verdict == "unknown"
    assert lost.score is not None and read.score is not None and lost.score <= read.score
    oi_read, oi_lost = read.frameworks["osai-index"].score, lost.frameworks["osai-index"].score
    assert oi_read is not None and oi_lost is not None and oi_lost <= oi_read
    lost_oi = {f.criterion: f for f in lost.findings if f.criterion in ("OSAI-DSB", "OSAI-WB")}
    assert lost_oi and all(f.outcome == "unknown" and "unreadable" in f.marks for f in lost_oi.values())
    for old, new in ((read, lost), (lost, read)):
        d = diff.diff_reports(Report(generated_at=NOW, subjects=[old]), Report(generated_at=NOW, subjects=[new]))
        assert d["regressions"] == 0 and d["improvements"] == 0, d
        (m,) = d["models"]
        changes = {c["field"]: c for c in m["changes"]}
        assert changes["access"]["direction"] == "changed"
        assert f"base {BASE}" in changes["access"]["summary"] and "not checked" in changes["access"]["summary"]
        assert "flags.license-inherited" in changes  # still shown, as a change of what could be read
        assert changes["flags.license-inherited"]["summary"].endswith("(access changed)")


def test_mof_missing_components_of_a_folder_are_not_found_in_the_folder(fakehub: Any, store: Path,
                                                                        tmp_path: Path) -> None:
    """The folder itself was searched: what it lacks is "not found in the folder", not "on the Hub"."""
    from tests.integration.test_folder_links import make_folder

    folder = api.audit_models([str(make_folder(tmp_path))], cache_dir=tmp_path / "c", offline=True).subjects[0]
    said = [x for items in folder.frameworks["mof"].missing.values() for x in items]
    assert any(x.endswith("(not found in the folder)") for x in said), said
    assert not [x for x in said if "on the Hub" in x]
    hub = hub_audit(fakehub(store).url)  # the same card on the Hub: its repository was searched
    said = [x for items in hub.frameworks["mof"].missing.values() for x in items]
    assert any(x.endswith("(not found on the Hub)") for x in said) and "in the folder" not in str(said)


MANY = [f"tutor-labs/worked-answers-{i:02d}" for i in range(1, 21)]  # 20 datasets, none on the Hub


@pytest.mark.parametrize("where", ["hub", "folder"])
def test_one_card_looks_up_at_most_16_hub_links_and_says_the_rest_were_not_checked(
        where: str, fakehub: Any, store: Path, repo_writer: Any, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from openaudit.linkcap import MAX_CARD_LINKS
    from tests.integration.test_folder_links import make_folder

    card = FOLDER_CARD.format(base=BASE, dataset=DATASET).replace(
        f"datasets:\n- {DATASET}\n", "datasets:\n" + "".join(f"- {d}\n" for d in MANY))
    if where == "hub":
        info = _tutor_info("tutor-labs/tutor-3b-many", BASE)
        info["cardData"]["datasets"] = MANY
        info["tags"] = [t for t in info["tags"] if not t.startswith("dataset:")] + [f"dataset:{d}" for d in MANY]
        repo_writer(store, "tutor-labs/tutor-3b-many", info, {"README.md": card})
        hub = fakehub(store, fresh=True)
        mark = hub.mark()
        s = hub_audit(hub.url, "tutor-labs/tutor-3b-many")
    else:
        folder = make_folder(tmp_path)
        (folder / "README.md").write_text(card, encoding="utf-8")
        hub = fakehub(store, fresh=True)
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        mark = hub.mark()
        (s,) = api.audit_models([str(folder)], cache_dir=tmp_path / "cache").subjects
    asked = [r["path"] for r in hub.since(mark) if r["path"].startswith(("/api/models/", "/api/datasets/"))]
    asked_links = {p for p in asked if not p.endswith(("/tutor-3b-many",))}
    assert f"/api/models/{BASE}" in asked_links  # the base is looked up first: it decides the lineage
    assert len(asked_links) == MAX_CARD_LINKS == 16
    assert flag(s, "license-inherited") is not None  # the research-only base was read
    ds = ev(s, "data.dataset")
    capped = [e for e in ds if e.value.get("checked") is False]
    assert [e.value["id"] for e in capped] == MANY[15:]
    for e in capped:
        assert "not checked (capped: the card links more than 16 repos on the Hub" in e.summary
    assert all("could not be found on the Hub" in e.summary for e in ds if e.value.get("checked") is not False)
    assert s.status == "audited"  # running again would not look them up either


# ---------------------------------------------------------------- replays of a recorded store
def _record(hub_url: str, ids: list[str], out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub_url)
    assert api.record_snapshots(ids, out, external=False) == []


def test_a_replayed_store_without_the_base_says_not_recorded_never_not_found(
        fakehub: Any, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A store someone shared lacks the base (pruned, or recorded by hand): that says nothing of the Hub."""
    recorded = tmp_path / "recorded"
    _record(fakehub(store).url, [MODEL], recorded, monkeypatch)
    shutil.rmtree(recorded / "models" / BASE)
    (s,) = api.audit_models([MODEL], snapshots=recorded).subjects
    (unchecked,) = ev(s, "lineage.unchecked-base")
    assert unchecked.value["reason"] == f"not-recorded: model '{BASE}' was not recorded in the snapshot store"
    assert str(recorded) not in s.model_dump_json()  # a shared report does not carry the recorder's paths
    assert not ev(s, "lineage.missing-base") and flag(s, "lineage-broken") is None
    assert lineage_shown(s) == [f"{MODEL} ← finetune ← {BASE} (not checked)"]
    assert ev(s, "license.base-unchecked") and s.dimensions["license"].verdict == "unknown"
    # Not a lost lookup: replaying the same store again would not say more.
    assert s.status == "audited"


def test_a_base_the_hub_answered_404_for_is_recorded_and_replays_as_not_found(
        fakehub: Any, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = tmp_path / "recorded"
    _record(fakehub(store).url, [GHOST + "-ft"], recorded, monkeypatch)
    assert (recorded / "models" / GHOST / "not-found.json").is_file()
    assert not (recorded / "models" / GHOST / "info.json").exists()
    (s,) = api.audit_models([GHOST + "-ft"], snapshots=recorded).subjects
    (missing,) = ev(s, "lineage.missing-base")
    assert missing.value["reason"].startswith(f"not-found: model '{GHOST}' was not found on the Hub when the "
                                              "snapshot store")
    assert flag(s, "lineage-broken") is not None and s.dimensions["license"].verdict == "open"
    assert "(on 20" in missing.summary and str(recorded) not in s.model_dump_json()
    # Asked for itself, the recorded 404 is the answer too.
    (gone,) = api.audit_models([GHOST], snapshots=recorded).subjects
    assert gone.status == "skipped" and gone.reason_kind == "not-found"


def test_a_base_released_by_the_same_publisher_does_not_bind_the_licence_it_declares(
        fakehub: Any, store: Path, repo_writer: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DeepSeek-R1 is MIT although DeepSeek's own V3-Base, which it is trained from, had its own
    licence: the rights holder licenses its derivative as it declares. A third party's fine-tune of the
    same base is bound by it (`test_diff_of_a_run_with...`: MODEL inherits the research licence)."""
    own = "Qwen/Qwen2.5-3B-Tutor"
    mit = (TEXTS / "licenses" / "mit.txt").read_text(encoding="utf-8")
    repo_writer(store, own, _tutor_info(own, BASE), {"README.md": FOLDER_CARD.format(base=BASE, dataset=DATASET),
                                                     "LICENSE": mit})
    hub = fakehub(store, fresh=True)
    s = hub_audit(hub.url, own)
    assert ev(s, "lineage.base_model")[0].value["found"] is True  # the base was read ...
    assert flag(s, "license-inherited") is None and not ev(s, "license.inherited")  # ... and binds nothing
    assert s.dimensions["license"].verdict == "open"
    third = hub_audit(hub.url, MODEL)
    assert flag(third, "license-inherited") is not None and third.dimensions["license"].verdict == "partial"
    # Not read (a replay without it): the publisher's own base leaves its declared licence standing.
    recorded = tmp_path / "recorded"
    _record(hub.url, [own], recorded, monkeypatch)
    shutil.rmtree(recorded / "models" / BASE)
    (r,) = api.audit_models([own], snapshots=recorded).subjects
    assert ev(r, "lineage.unchecked-base") and not ev(r, "license.base-unchecked")
    assert r.dimensions["license"].verdict == "open"


@pytest.mark.parametrize("base_card", ["other-gated", "none"])
def test_a_third_party_base_read_without_an_identifiable_licence_leaves_the_licence_undetermined(
        base_card: str, fakehub: Any, store: Path, repo_writer: Any) -> None:
    """The base was read, but its licence cannot be named: `license: other` with no name behind a gate
    whose LICENSE a reader without a token cannot open, or no licence at all (all rights reserved).
    The fine-tune's own MIT tag is then a claim nothing checked: undetermined, never open."""
    base = f"lumen-research/lumen-3b-{base_card}"
    info = {**BASE_INFO, "author": "lumen-research", "cardData": {"language": ["en"]},
            "tags": [t for t in BASE_INFO["tags"] if not t.startswith("license:")]}
    files = {"README.md": "---\nlanguage:\n- en\n---\n# Lumen 3B\n\nA base model.\n"}
    if base_card == "other-gated":
        info = {**info, "gated": "manual", "cardData": {"license": "other", "language": ["en"]},
                "tags": [*info["tags"], "license:other"]}
        files = {"README.md": "---\nlicense: other\nlanguage:\n- en\n---\n# Lumen 3B\n\nA base model.\n",
                 "LICENSE": RESEARCH_LICENSE}
    else:
        info = {**info, "siblings": [s for s in info["siblings"] if s["rfilename"] != "LICENSE"]}
    repo_writer(store, base, info, files)
    ft = f"tutor-labs/tutor-on-{base_card}"
    repo_writer(store, ft, _tutor_info(ft, base), {"README.md": FOLDER_CARD.format(base=base, dataset=DATASET),
                                                   "LICENSE": (TEXTS / "licenses" / "mit.txt").read_text("utf-8")})
    s = hub_audit(fakehub(store, fresh=True).url, ft)
    assert ev(s, "lineage.base_model")[0].value["found"] is True
    (lbu,) = ev(s, "license.base-unchecked")
    assert lbu.value["bases"] == [base]
    assert f"The licence of the base model {base} could not be identified (its card declares " in lbu.summary
    if base_card == "other-gated":
        assert "'other'; LICENSE could not be read" in lbu.summary
    else:
        assert "declares no licence)" in lbu.summary
    assert s.license is not None and s.license.key == "MIT"
    assert s.dimensions["license"].verdict == "unknown"
    assert flag(s, "license-inherited") is None  # nothing is known of its terms: no claim either way
