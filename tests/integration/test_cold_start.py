"""What a one-model `audit` leaves out of its start (issue 23 item 4), and that leaving it out
changes nothing a user sees. CPU figures are in benchmarks/cold_start.py, not asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from openaudit.policy import find_policy, load_policy

ROOT = Path(__file__).resolve().parents[2]
STORE = ROOT / "tests" / "store"


def test_a_policy_table_spelled_with_an_escape_is_still_found(tmp_path: Path) -> None:
    """pyproject.toml is not parsed when it never names openaudit; a key spelled with \\u still is."""
    py = tmp_path / "pyproject.toml"
    py.write_text('[project]\nname = "x"\n\n[tool."open\\u0061udit"]\nversion = 1\n', encoding="utf-8")
    assert find_policy(tmp_path) == py
    assert load_policy(py, None).version == 1
    py.write_text('[project]\nname = "x"\n\n[tool.ruff]\nline-length = 100\n', encoding="utf-8")
    assert find_policy(tmp_path) is None


def test_one_model_audit_imports_no_process_pool_terminal_view_or_plugins(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['openaudit', 'audit', 'deepseek-ai/DeepSeek-R1', '--snapshots', {str(STORE)!r}, "
        f"'-f', 'json', '-o', {str(out)!r}]\n"
        "try:\n"
        "    runpy.run_module('openaudit', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "import os\n"
        "print(code, sorted(m for m in ('multiprocessing', 'rich', 'openaudit.render.terminal', 'tomllib',"
        " 'importlib.metadata', 'xml.etree.ElementTree')"
        " if m in sys.modules), os.environ.get('PYDANTIC_DISABLE_PLUGINS'), file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    res = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    last = res.stderr.strip().splitlines()[-1]
    # Older typer (the lowest version allowed, in CI's second run) imports rich itself: not ours to avoid.
    typer_loads_rich = subprocess.run([sys.executable, "-c", "import sys, typer; print('rich' in sys.modules)"],
                                      capture_output=True, text=True, timeout=60).stdout.strip() == "True"
    expected = "0 ['rich'] __all__" if typer_loads_rich else "0 [] __all__"
    assert last == expected, res.stderr[-2000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [(s["repo_id"], s["status"]) for s in report["subjects"]] == [("deepseek-ai/DeepSeek-R1", "audited")]


def test_plugins_are_still_loaded_when_the_user_enables_them(tmp_path: Path) -> None:
    """The stand-in for pydantic's plugin loader is used only when every plugin is disabled; a user who
    sets PYDANTIC_DISABLE_PLUGINS otherwise gets pydantic's own loader (and the audit is the same)."""
    out = tmp_path / "r.json"
    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['openaudit', 'audit', 'deepseek-ai/DeepSeek-R1', '--snapshots', {str(STORE)!r}, "
        f"'-f', 'json', '-o', {str(out)!r}]\n"
        "try:\n"
        "    runpy.run_module('openaudit', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "loader = sys.modules['pydantic.plugin._loader']\n"
        # pydantic's own loader is a module with a file (the stand-in has none); its names differ by version
        "print(code, 'importlib.metadata' in sys.modules, bool(getattr(loader, '__file__', None)), file=sys.stderr)\n"
    )
    env = {**os.environ, "PYDANTIC_DISABLE_PLUGINS": "some-plugin"}
    res = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.stderr.strip().splitlines()[-1] == "0 True True", res.stderr[-2000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert [(s["repo_id"], s["status"]) for s in report["subjects"]] == [("deepseek-ai/DeepSeek-R1", "audited")]


def test_the_plugin_loader_stand_in_answers_like_the_real_one() -> None:
    probe = (
        "import sys, types\n"
        "from openaudit.__main__ import _no_plugin_loader\n"
        "_no_plugin_loader()\n"
        "from pydantic import BaseModel\n"
        "class M(BaseModel):\n"
        "    x: int\n"
        "from pydantic.plugin._loader import get_plugins\n"
        "stub = sys.modules['pydantic.plugin._loader']\n"
        "print(M(x=1).x, list(get_plugins()), 'importlib.metadata' in sys.modules, file=sys.stderr)\n"
        "print(stub.PYDANTIC_ENTRY_POINT_GROUP, file=sys.stderr)\n"  # another name: the real module
    )
    res = subprocess.run([sys.executable, "-c", probe], env={**os.environ, "PYDANTIC_DISABLE_PLUGINS": "__all__"},
                         capture_output=True, text=True, timeout=60)
    assert res.stderr.strip().splitlines()[-2:] == ["1 [] False", "pydantic"], res.stderr[-2000:]
