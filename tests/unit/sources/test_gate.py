"""The request gate (openaudit/sources/gate.py): a window the Hub says is spent holds every reading
thread, not just the one it told, and only in that bucket (the Hub's `api` and `resolvers` windows
are separate). Seen from the Hub: no request sent into a window known to be closed, so no 429 that
the run could have avoided. The fake Hub answers every thread at once, so these are asserted here,
on the gate, with threads whose order the test controls."""

from __future__ import annotations

import threading
import time
from typing import Any

from openaudit.sources.gate import Concurrency, RequestGate

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


def _hold(gate: RequestGate, bucket: str, name: str, entered: dict[str, float], go_on: threading.Event,
          answer: dict[str, str] | None = None) -> threading.Thread:
    """A request that is in flight until `go_on`, then answered with `answer` (RateLimit headers)."""
    def go() -> None:
        with gate.slot(bucket, f"org/{name}"):
            entered[name] = time.monotonic()
            go_on.wait(10)
            if answer is not None:
                gate.note(bucket, answer)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def _until(done: Any, seconds: float = 5.0) -> None:
    """Until `done()` (threads on a loaded CI runner may take a while to start), at most `seconds`."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        time.sleep(0.02)


def _left(n: int, reset: int = 1, quota: int | None = None) -> dict[str, str]:
    headers = {"RateLimit": f'"resolvers";r={n};t={reset}'}
    if quota is not None:
        headers["RateLimit-Policy"] = f'"fixed window";"resolvers";q={quota};w={reset}'
    return headers


def test_a_window_with_two_left_has_two_requests_in_flight_and_the_third_waits_for_its_reset() -> None:
    """`r=2`: 2 of 3 threads send; the third is not sent into the window the first two spend (the
    Hub would answer 429), however many slots --jobs has: it goes once the window has reset."""
    gate = RequestGate(jobs=8)
    told = time.monotonic()
    gate.note("resolvers", _left(2, reset=3))  # a window long enough for a loaded runner
    entered: dict[str, float] = {}
    go_on = threading.Event()
    first = [_hold(gate, "resolvers", n, entered, go_on, _left(left)) for n, left in (("a", 1), ("b", 0))]
    _until(lambda: len(entered) == 2)
    third = _hold(gate, "resolvers", "c", entered, go_on)
    time.sleep(0.3)
    assert sorted(entered) == ["a", "b"]  # held while two are in flight
    go_on.set()  # answered: 1 left, then none (a pause until the reset)
    for t in first:
        t.join(10)
    time.sleep(0.2)
    assert "c" not in entered
    third.join(10)
    assert entered["c"] - told >= 1.0


def test_after_a_reset_the_held_threads_send_the_windows_quota_not_all_at_once() -> None:
    """Six threads held by a spent window whose quota is 2: once it resets, 2 are sent, and the other
    four wait for what the Hub answers them (here: none left, so the next reset)."""
    gate = RequestGate(jobs=8)
    told = time.monotonic()
    gate.note("resolvers", _left(0, reset=1, quota=2))
    entered: dict[str, float] = {}
    go_on = threading.Event()
    threads = [_hold(gate, "resolvers", f"m{i}", entered, go_on, _left(0, reset=1, quota=2)) for i in range(6)]
    _until(lambda: len(entered) >= 2)
    time.sleep(0.3)
    assert len(entered) == 2 and min(entered.values()) - told >= 1.0  # the quota of the new window
    go_on.set()
    for t in threads:
        t.join(10)
    assert len(entered) == 6
    later = sorted(entered.values())[2:]
    assert min(later) - told >= 2.0  # the rest went in the windows after


def test_after_a_reset_with_no_quota_told_one_request_learns_what_is_left_before_the_rest_go() -> None:
    gate = RequestGate(jobs=8)
    gate.note("resolvers", _left(0, reset=1))  # no RateLimit-Policy: the quota is not known
    entered: dict[str, float] = {}
    go_on = threading.Event()
    threads = [_hold(gate, "resolvers", f"m{i}", entered, go_on, _left(100, reset=60)) for i in range(4)]
    _until(lambda: bool(entered))
    time.sleep(0.3)
    assert len(entered) == 1  # the one request sent into the new window
    go_on.set()  # it is answered: 100 left
    for t in threads:
        t.join(10)
    assert len(entered) == 4


def test_a_hub_that_sends_no_ratelimit_header_is_held_by_jobs_only() -> None:
    gate = RequestGate(jobs=3)
    entered: dict[str, float] = {}
    go_on = threading.Event()
    threads = [_hold(gate, "resolvers", f"m{i}", entered, go_on, {}) for i in range(5)]
    _until(lambda: len(entered) == 3)
    time.sleep(0.2)
    assert len(entered) == 3
    go_on.set()
    for t in threads:
        t.join(10)
    assert len(entered) == 5 and gate.sent == 5


# ---- how many in flight: fixed by --jobs, else adapted (Concurrency) -------------------------------
RTT = 0.05  # the fake Hub's latency in the benchmarks


def _answers(c: Concurrency, n: int, now: float, latency: float = RTT, waiting: bool = True,
             bucket: str = "resolvers") -> float:
    """`n` answers, one round trip apart each `c.limit` of them; returns the time after the last."""
    for i in range(n):
        c.answered(bucket, latency, waiting, now)
        if (i + 1) % max(1, c.limit) == 0:
            now += latency
    return now


def _far(c: Concurrency, now: float, bucket: str = "resolvers") -> None:
    c.window(bucket, 900, 1000, now + 60, now)


def test_a_window_far_from_spent_lets_more_requests_in_flight_up_to_the_ceiling_and_no_further() -> None:
    c = Concurrency()
    assert c.limit == Concurrency.START
    now = 0.0
    _far(c, now)
    now = _answers(c, 40, now)
    assert Concurrency.START < c.limit < Concurrency.CEILING  # grows, step by step
    for _ in range(50):
        _far(c, now)
        now = _answers(c, 50, now)
    assert c.limit == Concurrency.CEILING


def test_no_growth_while_the_limit_is_not_what_holds_requests_back() -> None:
    """A run that never has more requests waiting than the limit lets through does not raise it: a
    larger limit would not be used, and would be a burst later."""
    c = Concurrency()
    _answers(c, 500, 0.0, waiting=False)
    assert c.limit == Concurrency.START


def test_a_window_near_spent_means_fewer_in_flight_but_never_none() -> None:
    c = Concurrency(start=24)
    now = 0.0
    c.window("resolvers", 400, 1000, now + 60, now)  # between a quarter and half left: held
    now = _answers(c, 100, now)
    assert c.limit == 24
    c.window("resolvers", 200, 1000, now + 60, now)  # under a quarter left
    assert c.limit < 24
    for left in range(199, 0, -1):  # one answer a round trip, each saying one fewer is left
        now += RTT
        c.window("resolvers", left, 1000, now + 60, now)
        _answers(c, 1, now)
    assert c.limit == Concurrency.FLOOR


def test_a_near_spent_window_cuts_once_per_round_trip_not_once_per_answer() -> None:
    """The answers of one burst all say the window is near spent: that is one signal, not twenty."""
    c = Concurrency(start=20)
    for left in range(200, 180, -1):
        c.window("resolvers", left, 1000, 60.0, 1.0)  # the same instant
    assert c.limit == 15


def test_rising_latency_stops_the_growth_and_doubled_latency_reverses_it() -> None:
    c = Concurrency()
    now = _answers(c, 20, 0.0)  # the lowest latency seen: 50 ms
    grown = c.limit
    now = _answers(c, 200, now, latency=RTT * 1.8)  # the Hub (or this host) answers slower
    assert c.limit <= grown + 1  # smoothed, latency takes a few answers to count as risen: one step at most
    held = c.limit
    now = _answers(c, 200, now, latency=RTT * 1.8)
    assert c.limit == held
    _answers(c, 200, now, latency=RTT * 4)
    assert c.limit < held


def test_a_429_halves_the_limit_and_holds_growth_for_a_while() -> None:
    c = Concurrency(start=20)
    now = 10.0
    c.throttled(now)
    assert c.limit == 10
    _far(c, now)
    _answers(c, 60, now)  # all within the hold (0.3 s): a new window, far from spent
    assert c.limit == 10
    now += Concurrency.HOLD_AFTER_429_S + 0.1
    _far(c, now)
    _answers(c, 60, now)
    assert c.limit > 10
    c.throttled(now)
    c.throttled(now)  # a second 429 of the same burst halves again: each says the Hub is over its limit
    assert c.limit >= Concurrency.FLOOR


def test_jobs_fixes_the_limit_whatever_the_hub_says() -> None:
    c = Concurrency(5)
    now = 0.0
    _far(c, now)
    now = _answers(c, 500, now)
    c.window("resolvers", 1, 1000, 60.0, now)
    c.throttled(now)
    _answers(c, 100, now, latency=RTT * 5)
    assert c.limit == 5 and c.ceiling == 5


def test_a_slow_bucket_does_not_count_as_the_hubs_latency_rising() -> None:
    """GitHub (bucket `external`) answers in 300 ms while the Hub's files come in 50: each bucket's
    latency is compared with its own lowest, not with the other's."""
    c = Concurrency()
    now = 0.0
    for _ in range(40):
        c.answered("external", 0.3, True, now)
        now = _answers(c, 10, now)
    assert c.limit > Concurrency.START


def test_the_adaptive_gate_keeps_in_flight_to_its_limit_and_a_429_halves_it() -> None:
    gate = RequestGate(None)
    assert gate.jobs == Concurrency.CEILING  # the threads a caller gives it
    entered: dict[str, float] = {}
    go_on = threading.Event()
    threads = [_hold(gate, "resolvers", f"m{i}", entered, go_on) for i in range(12)]
    _until(lambda: len(entered) >= Concurrency.START)
    time.sleep(0.3)
    assert len(entered) == Concurrency.START  # the other four wait for a slot
    gate.throttled()
    assert gate.rate_limited == 1 and gate.control.limit == Concurrency.START // 2
    go_on.set()
    for t in threads:
        t.join(10)
    assert len(entered) == 12 and gate.sent == 12
