"""The request gate (openaudit/sources/gate.py): a window the Hub says is spent holds every reading
thread, not just the one it told, and only in that bucket (the Hub's `api` and `resolvers` windows
are separate). Seen from the Hub: no request sent into a window known to be closed, so no 429 that
the run could have avoided. The fake Hub answers every thread at once, so these are asserted here,
on the gate, with threads whose order the test controls."""

from __future__ import annotations

import threading
import time

from openaudit.sources.gate import RequestGate

SPENT = {"RateLimit": '"resolvers";r=0;t=1'}  # a 200 (or 429) saying: none left, reset in 1 s


def _enter(gate: RequestGate, bucket: str, entered: dict[str, float], name: str) -> threading.Thread:
    def go() -> None:
        with gate.slot(bucket, f"org/{name}"):
            entered[name] = time.monotonic()

    t = threading.Thread(target=go)
    t.start()
    return t


def test_a_spent_window_told_to_one_thread_holds_the_others_in_that_bucket_only() -> None:
    gate = RequestGate(jobs=4)
    told = time.monotonic()
    gate.note("resolvers", SPENT)  # this thread's response said so
    entered: dict[str, float] = {}
    threads = [_enter(gate, "resolvers", entered, "file"), _enter(gate, "api", entered, "metadata")]
    for t in threads:
        t.join(timeout=10)
    assert entered["file"] - told >= 1.0  # held until the window's reset
    assert entered["metadata"] < entered["file"]  # the api window was not spent: not held
    assert gate.by_bucket == {"api": 1, "resolvers": 1}


def test_a_thread_queued_for_a_slot_when_the_window_closes_is_held_too() -> None:
    """--jobs 1: a thread waits for the one slot while the request holding it learns the window is
    spent. Given the slot, it must not send into the closed window."""
    gate = RequestGate(jobs=1)
    holding, told = threading.Event(), threading.Event()
    at: dict[str, float] = {}

    def first() -> None:
        with gate.slot("resolvers", "org/a"):
            holding.set()
            told.wait(10)
            at["told"] = time.monotonic()
            gate.note("resolvers", SPENT)

    a = threading.Thread(target=first)
    a.start()
    assert holding.wait(10)
    entered: dict[str, float] = {}
    b = _enter(gate, "resolvers", entered, "b")
    time.sleep(0.2)  # b has found no pause and queues for the slot
    told.set()
    a.join(timeout=10)
    b.join(timeout=10)
    assert entered["b"] - at["told"] >= 1.0
    assert gate.sent == 2


def test_a_queued_thread_gives_its_slot_back_while_its_bucket_is_paused() -> None:
    """The slot a held `resolvers` request gave back serves an `api` request meanwhile."""
    gate = RequestGate(jobs=1)
    gate.note("resolvers", SPENT)
    entered: dict[str, float] = {}
    file = _enter(gate, "resolvers", entered, "file")
    time.sleep(0.2)
    metadata = _enter(gate, "api", entered, "metadata")
    metadata.join(timeout=10)
    assert "metadata" in entered and "file" not in entered  # the api request went first
    file.join(timeout=10)
    assert entered["file"] > entered["metadata"]
