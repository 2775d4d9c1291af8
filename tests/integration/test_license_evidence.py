"""Licence evidence on small hand-built snapshots, and on the fixture store when present."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from openaudit.evidence import context_for
from openaudit.evidence import license as lic
from openaudit.evidence.model import Evidence, EvidenceList
from openaudit.licenses import license_changes
from openaudit.snapshot import RepoSnapshot, SnapshotBundle, TextFile, Unreadable, UnreadableFile

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "license_corpus"
STORE = ROOT / "tests" / "store"
SHA = "0123456789abcdef0123456789abcdef01234567"
MIT = (CORPUS / "mit.txt").read_text()
APACHE = (CORPUS / "apache-2.0.txt").read_text()
LLAMA31 = (CORPUS / "llama3.1-excerpt.txt").read_text()
DEEPSEEK = (CORPUS / "deepseek-excerpt.txt").read_text()


def snap(repo_id: str, *, readme: str | None = None, files: dict[str, str] | None = None,
         siblings: list[str] | None = None, card_data: dict[str, Any] | None = None,
         tags: list[str] | None = None, unreadable: dict[str, Unreadable] | None = None) -> RepoSnapshot:
    fs: dict[str, TextFile] = {}
    if readme is not None:
        fs["README.md"] = TextFile(path="README.md", text=readme, size=len(readme))
    for p, t in (files or {}).items():
        fs[p] = TextFile(path=p, text=t, size=len(t))
    names = [*(siblings or []), *fs, *(unreadable or {}), "config.json", "model.safetensors"]
    info: dict[str, Any] = {"id": repo_id, "sha": SHA, "tags": tags or [],
                            "siblings": [{"rfilename": n} for n in dict.fromkeys(names)]}
    if card_data is not None:
        info["cardData"] = card_data
    return RepoSnapshot(repo_id=repo_id, source="store", revision=SHA, taken_at=datetime(2026, 1, 1, tzinfo=UTC),
                        info=info, files=fs,
                        unreadable={p: UnreadableFile(path=p, reason=r) for p, r in (unreadable or {}).items()})


def run(subject: RepoSnapshot, related: dict[str, RepoSnapshot] | None = None,
        lineage: list[dict[str, Any]] | None = None) -> list[Evidence]:
    bundle = SnapshotBundle(subject=subject, related={f"model:{k}": v for k, v in (related or {}).items()})
    out = EvidenceList()
    for v in lineage or []:  # what the lineage extractor would have emitted
        out.add("lineage.base_model", v, source="card.metadata", pointer="README.md:L3 (base_model)")
    lic.extract(context_for(bundle), out)
    return out.items


def values(items: list[Evidence], kind: str) -> list[Any]:
    return [e.value for e in items if e.kind == kind]


def effective(items: list[Evidence]) -> dict[str, Any]:
    eff = values(items, "license.effective")
    assert len(eff) == 1, "exactly one license.effective"
    return eff[0]


def card(meta: str, body: str = "# Model\n") -> str:
    return f"---\n{meta}\n---\n{body}"


# ------------------------------------------------------------------------------------ basics
def test_llama_tag_and_file_agree() -> None:
    items = run(snap("meta-llama/X", readme=card("license: llama3.1"), files={"LICENSE": LLAMA31}))
    eff = effective(items)
    assert eff["key"] == "llama-3.1-license-2024" and eff["category"] == "custom-community"
    assert set(eff["restrictions"]) == {"acceptable-use-policy", "user-cap", "naming-attribution"}
    assert eff["user_cap"] == 700_000_000
    assert {v["restriction"] for v in values(items, "license.restriction")} == set(eff["restrictions"])
    assert not values(items, "license.mismatch") and not values(items, "license.file-missing")
    tag = values(items, "license.tag")[0]
    assert tag["key"] == "llama-3.1-license-2024" and tag["known"] is True
    ev = next(e for e in items if e.kind == "license.tag")
    assert ev.pointer == "README.md:L2 (license)" and ev.url and ev.url.endswith("#L2")


def test_tag_without_file_is_file_missing_but_still_decides() -> None:
    items = run(snap("mistralai/M", readme=card("license: apache-2.0")))
    eff = effective(items)
    assert eff["key"] == "Apache-2.0" and eff["from"] == "tag" and eff["osi_approved"] is True
    assert values(items, "license.file-missing") == [{"tag": "Apache-2.0", "standard": True}]
    assert not values(items, "license.unknown")


def test_tag_falls_back_to_api_tags() -> None:
    items = run(snap("a/b", tags=["license:mit"], files={"LICENSE": MIT}))
    ev = next(e for e in items if e.kind == "license.tag")
    assert ev.value["key"] == "MIT" and ev.source == "api"


def test_apache_tag_with_llama_licence_text_is_a_mismatch() -> None:
    items = run(snap("x/y", readme=card("license: apache-2.0"), files={"LICENSE": LLAMA31}))
    mm = values(items, "license.mismatch")
    assert mm and mm[0]["tag"] == "Apache-2.0" and mm[0]["file"] == "llama-3.1-license-2024"
    assert mm[0]["path"] == "LICENSE"
    # the binding text is stricter than the tag: the effective licence follows the text
    assert effective(items)["key"] == "llama-3.1-license-2024"


def test_code_weights_split_is_not_a_mismatch() -> None:
    body = ("# DeepSeek-V3\n\n## License\nThis code repository is licensed under [the MIT License](LICENSE-CODE). "
            "The use of DeepSeek-V3 Base/Chat models is subject to [the Model License](LICENSE-MODEL).\n")
    items = run(snap("deepseek-ai/DeepSeek-V3", readme=card("library_name: transformers", body),
                     files={"LICENSE-CODE": MIT, "LICENSE-MODEL": DEEPSEEK}))
    eff = effective(items)
    assert eff["key"] == "deepseek-la-1.0" and eff["scope"] == "weights" and eff["path"] == "LICENSE-MODEL"
    assert "field-of-use" in eff["restrictions"]
    assert values(items, "license.code") == [
        {"key": "MIT", "name": "MIT License", "category": "permissive", "from": "file", "path": "LICENSE-CODE"}]
    assert {(v["path"], v["scope"]) for v in values(items, "license.file")} == {
        ("LICENSE-CODE", "code"), ("LICENSE-MODEL", "weights")}
    cards = {(v["key"], v["scope"]) for v in values(items, "license.card")}
    assert ("MIT", "code") in cards and ("deepseek-la-1.0", "weights") in cards
    assert not values(items, "license.mismatch")


def test_mit_tag_on_a_code_weights_split_is_read_as_the_code_licence() -> None:
    items = run(snap("d/V3", readme=card("license: mit"), files={"LICENSE-CODE": MIT, "LICENSE-MODEL": DEEPSEEK}))
    assert effective(items)["key"] == "deepseek-la-1.0"
    assert not values(items, "license.mismatch")


R1_LICENSE_SECTION = """# DeepSeek-R1

## 7. License
This code repository and the model weights are licensed under the [MIT License](LICENSE).
DeepSeek-R1 series support commercial use. Please note that:

- DeepSeek-R1-Distill-Qwen-1.5B, DeepSeek-R1-Distill-Qwen-7B are derived from [Qwen-2.5 series](https://x.org/q), \
which are originally licensed under [Apache 2.0 License](https://example.org), and now finetuned with 800k samples \
curated with DeepSeek-R1.
- DeepSeek-R1-Distill-Llama-8B is derived from Llama3.1-8B-Base and is originally licensed under [llama3.1 license](https://example.org).
"""


def test_deepseek_r1_is_mit_without_restrictions_or_inheritance() -> None:
    items = run(snap("deepseek-ai/DeepSeek-R1", readme=card("license: mit", R1_LICENSE_SECTION),
                     files={"LICENSE": MIT}))
    eff = effective(items)
    assert eff["key"] == "MIT" and eff["restrictions"] == [] and eff["category"] == "permissive"
    assert not values(items, "license.restriction")
    assert not values(items, "license.inherited") and not values(items, "license.mismatch")


def test_distill_llama_inherits_llama_obligations_from_prose() -> None:
    items = run(snap("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", readme=card("license: mit", R1_LICENSE_SECTION),
                     files={"LICENSE": MIT}))
    inh = values(items, "license.inherited")
    assert len(inh) == 1 and inh[0]["base_license"] == "llama-3.1-license-2024" and inh[0]["declared"] == "MIT"
    assert inh[0]["via"] == "card"
    restr = [v for v in values(items, "license.restriction") if v["inherited"]]
    assert {v["restriction"] for v in restr} == {"acceptable-use-policy", "user-cap", "naming-attribution"}
    assert effective(items)["key"] == "MIT" and not values(items, "license.mismatch")


def test_distill_qwen_mit_on_apache_base_is_not_inherited() -> None:
    items = run(snap("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", readme=card("license: mit", R1_LICENSE_SECTION),
                     files={"LICENSE": MIT}))
    assert not values(items, "license.inherited") and not values(items, "license.mismatch")


def test_inherited_through_lineage_metadata() -> None:
    base = snap("meta-llama/Llama-3.1-8B", card_data={"license": "llama3.1"}, tags=["license:llama3.1"])
    child = snap("someone/finetune", readme=card("license: apache-2.0\nbase_model: meta-llama/Llama-3.1-8B"),
                 files={"LICENSE": APACHE})
    items = run(child, {"meta-llama/Llama-3.1-8B": base},
                [{"id": "meta-llama/Llama-3.1-8B", "relation": "finetune", "via": "metadata", "depth": 1,
                  "found": True}])
    inh = values(items, "license.inherited")
    assert inh and inh[0]["base"] == "meta-llama/Llama-3.1-8B" and inh[0]["via"] == "metadata"
    assert inh[0]["base_license"] == "llama-3.1-license-2024"


def test_base_not_found_is_not_compared() -> None:
    child = snap("someone/finetune", readme=card("license: apache-2.0"), files={"LICENSE": APACHE})
    items = run(child, {}, [{"id": "meta-llama/Llama-3.1-8B", "relation": None, "via": "metadata", "depth": 1,
                             "found": False}])
    assert not values(items, "license.inherited")


def test_permissive_base_under_permissive_child_is_not_inherited() -> None:
    base = snap("Qwen/Qwen2.5-7B", card_data={"license": "apache-2.0"})
    child = snap("x/distill", readme=card("license: mit"), files={"LICENSE": MIT})
    items = run(child, {"Qwen/Qwen2.5-7B": base},
                [{"id": "Qwen/Qwen2.5-7B", "relation": None, "via": "prose", "depth": 1, "found": True}])
    assert not values(items, "license.inherited")


# ------------------------------------------------------------------------------ undecided
def test_gated_files_and_no_tag_is_unknown() -> None:
    s = snap("g/m", unreadable={"LICENSE": Unreadable.GATED, "README.md": Unreadable.GATED})
    items = run(s)
    assert effective(items)["key"] is None and effective(items)["category"] == "unknown"
    assert values(items, "license.file-unreadable") == [{"path": "LICENSE", "reason": "gated"}]
    assert "gated" in values(items, "license.unknown")[0]["reason"]


@pytest.mark.parametrize(("meta", "phrase"), [
    ("license: other", "license_name"),
    ("license: my-own-thing", "my-own-thing"),
    ("license: MIT AND (", "not a valid SPDX expression"),
    ("license: unknown", "unknown"),
])
def test_undecidable_tags_give_license_unknown(meta: str, phrase: str) -> None:
    items = run(snap("u/m", readme=card(meta)))
    assert effective(items)["key"] is None
    reasons = values(items, "license.unknown")
    assert reasons and phrase in reasons[0]["reason"]


def test_other_with_link_to_a_licence_file_is_decided_by_the_file() -> None:
    items = run(snap("o/m", readme=card("license: other\nlicense_link: LICENSE"), files={"LICENSE": DEEPSEEK}))
    eff = effective(items)
    assert eff["key"] == "deepseek-la-1.0" and eff["from"] == "file"


def test_nothing_declared_is_none_not_unknown() -> None:
    items = run(snap("n/m", readme="# A model\n\nNo words about terms.\n"))
    assert effective(items)["category"] == "none" and not values(items, "license.unknown")


@pytest.mark.parametrize(("content", "reason"), [
    ("", "empty"),
    ("x" * 10_000_000, "no known licence"),
])
def test_degenerate_licence_files_never_crash(content: str, reason: str) -> None:
    items = run(snap("d/m", readme=card("license: mit"), files={"LICENSE": content}))
    f = values(items, "license.file")[0]
    assert f["key"] is None and reason in f["reason"]
    assert effective(items)["key"] == "MIT"  # the tag still decides


def test_binary_licence_file_is_reported_unreadable() -> None:
    items = run(snap("b/m", readme=card("license: mit"), unreadable={"LICENSE": Unreadable.BINARY}))
    assert values(items, "license.file-unreadable") == [{"path": "LICENSE", "reason": "binary"}]
    assert not values(items, "license.file-missing")


def test_binary_text_in_a_readable_file_is_not_identified() -> None:
    items = run(snap("b/m", readme=card("license: mit"), files={"LICENSE": "\x00\x01\x02" * 1000}))
    assert values(items, "license.file")[0]["key"] is None


def test_use_policy_is_policy_scope_and_not_a_mismatch() -> None:
    aup = (CORPUS / "llama3.1-use-policy.md").read_text()
    items = run(snap("m/l", readme=card("license: llama3.1"), files={"LICENSE": LLAMA31, "USE_POLICY.md": aup}))
    scopes = {v["path"]: v["scope"] for v in values(items, "license.file")}
    assert scopes == {"LICENSE": "all", "USE_POLICY.md": "policy"}
    assert not values(items, "license.mismatch")


def test_gemma_tag_only() -> None:
    items = run(snap("google/gemma-2-9b", readme=card("license: gemma")))
    eff = effective(items)
    assert "remote-restriction" in eff["restrictions"] and values(items, "license.file-missing")


def test_cc_family_is_unknown_with_reason() -> None:
    items = run(snap("c/m", readme=card("license: cc")))
    assert effective(items)["category"] == "unknown" and values(items, "license.unknown")


# ------------------------------------------------------------------------------------ history
def test_license_changes_between_revisions() -> None:
    old = run(snap("microsoft/phi-2", readme=card("license: other\nlicense_name: microsoft-research-license")))
    new = run(snap("microsoft/phi-2", readme=card("license: mit"), files={"LICENSE": MIT}))
    ch = license_changes(old, new)
    assert len(ch) == 1 and ch[0]["from"] == "LicenseRef-openaudit-microsoft-research-license"
    assert ch[0]["to"] == "MIT" and ch[0]["direction"] == "more-open"
    assert "non-commercial" in ch[0]["restrictions_removed"]
    assert license_changes(new, new) == []
    assert license_changes([e.model_dump() for e in new], [e.model_dump() for e in old])[0]["direction"] == \
        "more-restrictive"


# --------------------------------------------------------------------------------- fixture store
def _store_items(repo_id: str, bases: tuple[str, ...] = ()) -> list[Evidence]:
    from openaudit.evidence import lineage
    from openaudit.sources.store import StoreSource

    src = StoreSource(STORE)
    related = {}
    for b in bases:
        with contextlib.suppress(Exception):
            related[f"model:{b}"] = src.model(b)
    bundle = SnapshotBundle(subject=src.model(repo_id), related=related)
    ctx = context_for(bundle)
    out = EvidenceList()
    lineage.extract(ctx, out)
    lic.extract(ctx, out)
    return out.items


needs_store = pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not present")


@needs_store
def test_store_llama_31_8b() -> None:
    eff = effective(_store_items("meta-llama/Llama-3.1-8B"))
    assert eff["key"] == "llama-3.1-license-2024" and eff["category"] == "custom-community"
    assert {"acceptable-use-policy", "user-cap", "naming-attribution"} <= set(eff["restrictions"])


@needs_store
def test_store_mistral_7b_v01() -> None:
    items = _store_items("mistralai/Mistral-7B-v0.1")
    eff = effective(items)
    assert eff["key"] == "Apache-2.0" and eff["from"] == "tag" and values(items, "license.file-missing")


@needs_store
def test_store_deepseek_r1() -> None:
    items = _store_items("deepseek-ai/DeepSeek-R1")
    eff = effective(items)
    assert eff["key"] == "MIT" and eff["restrictions"] == [] and not values(items, "license.inherited")


@needs_store
def test_store_deepseek_v3() -> None:
    items = _store_items("deepseek-ai/DeepSeek-V3")
    eff = effective(items)
    assert eff["key"] == "deepseek-la-1.0" and eff["restrictions"]
    assert values(items, "license.code")[0]["key"] == "MIT" and not values(items, "license.mismatch")


@needs_store
def test_store_r1_distill_llama_8b() -> None:
    items = _store_items("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", ("meta-llama/Llama-3.1-8B",))
    inh = values(items, "license.inherited")
    assert inh and inh[0]["base_license"] == "llama-3.1-license-2024" and inh[0]["declared"] == "MIT"


@needs_store
def test_store_r1_distill_qwen_7b() -> None:
    items = _store_items("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", ("Qwen/Qwen2.5-Math-7B",))
    assert effective(items)["key"] == "MIT" and not values(items, "license.inherited")
    assert not values(items, "license.mismatch")


@needs_store
def test_store_gemma_2_9b() -> None:
    eff = effective(_store_items("google/gemma-2-9b"))
    assert "remote-restriction" in eff["restrictions"]


@needs_store
def test_store_bloom_560m() -> None:
    eff = effective(_store_items("bigscience/bloom-560m"))
    assert eff["category"] == "use-restricted" and eff["key"] == "bigscience-rail-1.0"


@needs_store
def test_store_apache_tag_llama_license() -> None:
    items = _store_items("openaudit-fixtures/apache-tag-llama-license")
    mm = values(items, "license.mismatch")
    assert mm and mm[0]["tag"] == "Apache-2.0" and mm[0]["file"] == "llama-3.1-license-2024"


@needs_store
@pytest.mark.parametrize("repo_id", sorted(
    f"{p.parent.name}/{p.name}" for p in (STORE / "models").glob("*/*") if (p / "info.json").is_file()
) if (STORE / "models").is_dir() else [])
def test_store_every_repo_has_exactly_one_effective_licence(repo_id: str) -> None:
    items = _store_items(repo_id)
    effective(items)
    assert not [e for e in items if e.kind == "extractor.error"]


@needs_store
def test_store_llama_finetune_tagged_mit_inherits_via_metadata() -> None:
    items = _store_items("openaudit-fixtures/llama-finetune-mit", ("meta-llama/Llama-3.1-8B",))
    inh = values(items, "license.inherited")
    assert inh and inh[0]["via"] == "metadata" and inh[0]["base_license"] == "llama-3.1-license-2024"


def _revision_items(repo_id: str, revision: str | None) -> list[Evidence]:
    from openaudit.sources.store import StoreSource

    bundle = SnapshotBundle(subject=StoreSource(STORE).model(repo_id, revision))
    out = EvidenceList()
    lic.extract(context_for(bundle), out)
    return out.items


@needs_store
@pytest.mark.parametrize(("repo_id", "old_key"), [
    ("microsoft/phi-2", "LicenseRef-openaudit-microsoft-research-license"),
    ("tiiuae/falcon-7b", "LicenseRef-openaudit-tii-falcon-llm-1.0"),
])
def test_store_licence_changed_after_release(repo_id: str, old_key: str) -> None:
    revs = sorted(p.name for p in (STORE / "models" / repo_id / "revisions").iterdir())
    if not revs:
        pytest.skip("no old revision stored")
    ch = license_changes(_revision_items(repo_id, revs[0]), _revision_items(repo_id, None))
    assert ch and ch[0]["from"] == old_key and ch[0]["direction"] == "more-open"
