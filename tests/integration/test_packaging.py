"""The installed wheel carries its criteria, templates, schema and the demo snapshots.

A checkout can hide packaging mistakes (files found relative to the source tree), so this builds
the real wheel, unpacks it into an empty directory, and runs the package from there only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


BSD = (ROOT / "tests" / "license_corpus" / "bsd-3-clause.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        pytest.fail(f"wheel build failed:\n{r.stderr[-2000:]}")
    (whl,) = out.glob("openaudit_ai-*.whl")  # the distribution openaudit-ai (see pyproject.toml)
    return whl


def test_wheel_contains_data_files(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in ("openaudit/_criteria/openaudit.yaml", "openaudit/_criteria/flags.yaml",
                     "openaudit/_criteria/license-texts/Apache-2.0.txt", "openaudit/schema/report.v1.json",
                     "openaudit/_criteria/license-index/spdx-bigrams.bin"):
        assert required in names, required
    assert any(n.startswith("openaudit/_snapshots/models/meta-llama/Llama-3.1-8B/") for n in names)
    # ... and what the flagships' cards link outside the Hub (issue 25), so the demo shows the same evidence.
    assert {"openaudit/_snapshots/github/allenai/OLMo/info.json",
            "openaudit/_snapshots/arxiv/2501.12948/info.json"} <= names
    assert not any(n.startswith("tests/") for n in names), "tests are not shipped"


def test_installed_wheel_loads_criteria_and_runs_the_demo(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "import openaudit, sys\n"
        "from openaudit.criteria import criteria_dir, available_profiles, load_profile\n"
        f"assert str(criteria_dir()).startswith({str(site)!r}), criteria_dir()\n"
        "for p in available_profiles(): load_profile(p)\n"
        "from openaudit.licenses import load_kb\n"
        "kb = load_kb()\n"
        "assert kb.where.startswith('openaudit/_criteria/'), kb.where\n"
        "assert {k for k, _, _ in kb.license_texts} >= {'MIT'}\n"
        "from openaudit.licenses import identify_text, similarity\n"
        f"assert str(similarity.index_path()).startswith({str(site)!r}), similarity.index_path()\n"
        f"ident = identify_text({BSD!r})\n"
        "assert ident is not None and (ident.key, ident.method) == ('BSD-3-Clause', 'spdx-similarity'), ident\n"
        "from openaudit.demo import bundled_store, FLAGSHIPS\n"
        f"assert str(bundled_store()).startswith({str(site)!r}), bundled_store()\n"
        "from openaudit import api\n"
        "r = api.audit_models(list(FLAGSHIPS), snapshots=bundled_store())\n"
        "print(sorted(s.status for s in r.subjects), len(available_profiles()))\n"
        "assert any(e.kind == 'code.repo' for s in r.subjects for e in s.evidence), 'no linked-repo evidence'\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}
    # Run from an empty directory so nothing resolves relative to the checkout.
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "skipped" not in r.stdout and "'audited'" in r.stdout
