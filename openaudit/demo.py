"""The demo's data: the flagship models, and the snapshot store bundled with the package (offline)."""

from __future__ import annotations

from pathlib import Path

FLAGSHIPS = ("meta-llama/Llama-3.1-8B", "mistralai/Mistral-7B-v0.1", "deepseek-ai/DeepSeek-R1",
             "allenai/OLMo-2-1124-7B")


def bundled_store() -> Path:
    """The snapshots packaged as openaudit/_snapshots (in a wheel), else the source tree's tests/store."""
    from importlib import resources

    packaged = Path(str(resources.files("openaudit").joinpath("_snapshots")))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "tests" / "store"
