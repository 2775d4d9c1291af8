"""The collector's settings for openaudit's own processes (the command, audit workers), never a library user's.

A run builds most of its objects once and keeps them to the end (modules, pydantic schemas,
profiles, the licence knowledge base), and an audit makes ~100,000 short-lived ones (Markdown
tokens, evidence) that reference counting frees. At the default first-generation threshold (700
allocations) the collector walks all of them hundreds of times for nothing: ~0.15 s of a 0.5 s
start-up, ~0.25 s in each audit worker of a 200-model organisation. mypy tunes its command the
same way. Cycles are still collected, every 50,000 allocations instead of 700.
"""

from __future__ import annotations

import gc

THRESHOLD = (50_000, 20, 20)


def tune() -> None:
    gc.set_threshold(*THRESHOLD)
