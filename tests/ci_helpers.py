"""Shared by the CI tests (policy, exit codes, diff, outputs): the store, a CLI runner, fixed clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
STORE = ROOT / "tests" / "store"
EXAMPLES = ROOT / "examples"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
TODAY = date(2025, 1, 15)


def run(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    from openaudit.cli import app

    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def audit_args(*ids: str) -> list[str]:
    return ["audit", *ids, "--snapshots", str(STORE), "-q"]
