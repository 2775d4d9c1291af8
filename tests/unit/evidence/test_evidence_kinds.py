"""The evidence-kind registry: every kind a profile or flags.yaml names is one an extractor declares
(`@emits`), and every kind an extractor adds is one it declares."""

from __future__ import annotations

import ast
import importlib
import shutil
from pathlib import Path

import pytest

from openaudit.criteria import BUILTIN_PROFILES, criteria_dir, kinds_named, load_profile
from openaudit.errors import ConfigFileError
from openaudit.evidence.kinds import declared_kinds

EVIDENCE = Path(__file__).parents[3] / "openaudit" / "evidence"
STORE = Path(__file__).parents[2] / "store"


@pytest.mark.parametrize("name", BUILTIN_PROFILES)
def test_every_kind_a_builtin_profile_names_is_declared(name: str) -> None:
    named = {k for _, k in kinds_named(load_profile(name))}
    assert named, name
    assert named <= set(declared_kinds()), sorted(named - set(declared_kinds()))


def test_every_kind_flags_yaml_names_is_declared() -> None:
    from openaudit.flags import load_flags
    from openaudit.predicates import kinds_referenced

    named = {k for f in load_flags().flags for p in (f.when, *(b.when for b in f.because)) for k in kinds_referenced(p)}
    assert "license.mismatch" in named
    assert named <= set(declared_kinds()), sorted(named - set(declared_kinds()))


def _literal_adds(fn: ast.FunctionDef) -> set[str]:
    return {n.args[0].value for n in ast.walk(fn)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "add"
            and isinstance(n.func.value, ast.Name) and n.func.value.id == "out"
            and n.args and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)}


@pytest.mark.parametrize("module", sorted(p.stem for p in EVIDENCE.glob("*.py")
                                          if p.stem not in ("__init__", "kinds", "model", "_util")))
def test_each_extractor_function_declares_the_kinds_it_adds(module: str) -> None:
    mod = importlib.import_module(f"openaudit.evidence.{module}")
    tree = ast.parse((EVIDENCE / f"{module}.py").read_text(encoding="utf-8"))
    for fn in (n for n in tree.body if isinstance(n, ast.FunctionDef)):
        added = _literal_adds(fn)
        if added:
            declared = set(getattr(getattr(mod, fn.name), "emits", ()))
            assert added <= declared, f"{module}.{fn.name} adds {sorted(added - declared)} without @emits"


@pytest.mark.skipif(not (STORE / "models").is_dir(), reason="fixture store not built")
def test_every_kind_the_fixture_audits_emit_is_declared() -> None:
    from openaudit import api

    ids = sorted(f"{o.name}/{m.name}" for o in (STORE / "models").iterdir() for m in o.iterdir()
                 if (m / "info.json").is_file())
    report = api.audit_models(ids, snapshots=STORE)
    emitted = {e.kind for s in report.subjects for e in s.evidence}
    assert {"access.gated", "docs.tech-report", "license.effective"} <= emitted  # dynamic and literal kinds
    assert emitted <= set(declared_kinds()), sorted(emitted - set(declared_kinds()))


def test_flags_yaml_naming_an_unknown_kind_fails_at_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import openaudit.flags as flags

    folder = tmp_path / "criteria"
    shutil.copytree(criteria_dir(), folder)
    text = (folder / "flags.yaml").read_text(encoding="utf-8")
    assert "license.mismatch" in text
    (folder / "flags.yaml").write_text(text.replace("license.mismatch", "license.missmatch", 1), encoding="utf-8")
    monkeypatch.setattr(flags, "criteria_dir", lambda: folder)
    flags.load_flags.cache_clear()
    try:
        with pytest.raises(ConfigFileError) as err:
            flags.load_flags()
    finally:
        flags.load_flags.cache_clear()
    msg = str(err.value)
    assert str(folder / "flags.yaml") in msg and "unknown evidence kind 'license.missmatch'" in msg
    assert "field 'flags." in msg, msg
