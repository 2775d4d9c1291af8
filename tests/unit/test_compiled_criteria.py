"""criteria/compiled.json: the built-in criteria parsed ahead of time (openaudit.compiled).

What a user would notice if it went wrong: a verdict from criteria that are not the YAML on disk.
So: every entry is exactly the YAML's parse, a text that differs by one character is parsed from
its YAML, a damaged file is ignored, and the file is fresh (else the cold start pays the YAML again).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from openaudit import compiled
from openaudit.card import SafeLoader
from openaudit.criteria import criteria_dir, load_profile_file
from openaudit.licenses.kb import parse_kb

CRITERIA = criteria_dir()
YAMLS = sorted(CRITERIA.glob("*.yaml"))


def test_every_builtin_criteria_file_is_compiled_and_fresh() -> None:
    stale = [p.name for p in YAMLS if compiled.parsed(p.read_text(encoding="utf-8")) is None]
    assert not stale, f"criteria/compiled.json is stale for {stale}: run `python -m openaudit.compiled`"


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_each_entry_is_exactly_the_yaml_parse(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    got = compiled.parsed(text)
    if got is None:
        pytest.skip("not compiled (stale: the test above says so)")
    want = yaml.load(text, Loader=SafeLoader)
    assert got == want
    assert list(got) == list(want)  # and in the same order (criteria, dimensions and classes are ordered)


def test_a_changed_text_is_parsed_from_its_yaml(tmp_path: Path) -> None:
    """An edited profile (one title changed) gives the edited title, not the compiled one."""
    text = (CRITERIA / "mof.yaml").read_text(encoding="utf-8")
    assert compiled.parsed(text) is not None
    edited = text.replace("title:", "title: EDITED", 1)
    assert compiled.parsed(edited) is None
    p = tmp_path / "mof.yaml"
    p.write_text(edited, encoding="utf-8")
    assert load_profile_file(p).title.startswith("EDITED")


def test_a_changed_licence_base_is_parsed_from_its_yaml() -> None:
    """Apache-2.0 edited to `copyleft` in the YAML is copyleft, whatever the compiled form says."""
    text = (CRITERIA / "licenses.yaml").read_text(encoding="utf-8")
    kb = parse_kb(text, "licenses.yaml", CRITERIA / "license-texts")
    assert kb.facts_for_key("Apache-2.0").category == "permissive"  # type: ignore[union-attr]
    edited = text.replace("  - key: Apache-2.0\n    hub: [apache-2.0]\n", "  - key: Apache-2.0\n    hub: [apache-2.0]\n"
                          "    category: copyleft\n", 1)
    edited = edited.replace("    category: permissive\n", "", 1)
    assert edited != text and compiled.parsed(edited) is None
    kb2 = parse_kb(edited, "licenses.yaml", CRITERIA / "license-texts")
    assert kb2.facts_for_key("Apache-2.0").category == "copyleft"  # type: ignore[union-attr]


@pytest.mark.parametrize("content", ["not json", json.dumps([1, 2]), json.dumps({"format": 99, "parsed": {}}),
                                     json.dumps({"format": compiled.FORMAT, "parsed": {"x" * 64: [1]}})])
def test_a_damaged_compiled_file_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str) -> None:
    (tmp_path / compiled.FILE_NAME).write_text(content, encoding="utf-8")
    monkeypatch.setattr(compiled, "_criteria_folder", lambda: tmp_path)
    compiled._index.cache_clear()
    try:
        assert compiled.parsed("x") is None
        assert compiled.parsed((CRITERIA / "mof.yaml").read_text(encoding="utf-8")) is None
    finally:
        compiled._index.cache_clear()


def test_the_same_verdict_inputs_with_and_without_the_compiled_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every built-in profile validates to the same model from the JSON as from the YAML."""
    from openaudit.criteria import BUILTIN_PROFILES

    fast = [load_profile_file(CRITERIA / f"{n}.yaml") for n in BUILTIN_PROFILES]
    monkeypatch.setattr(compiled, "parsed", lambda text: None)
    slow = [load_profile_file(CRITERIA / f"{n}.yaml") for n in BUILTIN_PROFILES]
    assert [p.model_dump() for p in fast] == [p.model_dump() for p in slow]
