"""The run's deadline (`--timeout`, issue 26): every Hub request after it fails at once, and the
requests under way are cut when it comes. No import beyond the standard library: the CLI sets it
before it knows whether the run will reach the Hub at all."""

from __future__ import annotations

import time

from openaudit.errors import UsageError

DEFAULT_RUN_TIMEOUT = 3 * 3600.0  # seconds; `--timeout 0`: no deadline

_run = {"deadline": float("inf")}


def run_deadline(seconds: float | None) -> None:
    """Set the run's deadline, `seconds` from now (None or 0: none)."""
    if seconds is not None and not seconds >= 0:
        raise UsageError(f"--timeout must be 0 (none) or more seconds; got {seconds}")
    _run["deadline"] = float("inf") if not seconds else time.monotonic() + max(0.0, seconds)


def deadline() -> float:
    """The run's deadline, a time.monotonic() value (inf: none)."""
    return _run["deadline"]


def run_time_left() -> float:
    return _run["deadline"] - time.monotonic()
