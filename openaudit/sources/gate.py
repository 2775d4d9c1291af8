"""The request gate every Hub request goes through: global concurrency, a budget, shared pauses.

`openaudit org` and `openaudit audit` hold one :class:`RequestGate` per run. It bounds how many
requests are in flight at once (``--jobs``), stops sending once a request budget is spent
(``--max-requests``; the model being read then fails with :class:`BudgetExhausted` and is reported
``incomplete``), and keeps to what the Hub says of each bucket (``api`` or ``resolvers``, its
rate-limit windows):

* a 429 or a ``RateLimit: r=0`` header holds the whole bucket until the window's reset: every
  thread waits, not just the one that was told;
* a ``RateLimit: r=N`` header lets at most N requests of that bucket be in flight until the next
  header says more: 16 threads do not send 16 requests into a window with 3 left;
* when a window the Hub told of has reset, at most its quota (``RateLimit-Policy: q=``) is sent
  before a response says what is left, or one request when no quota was given: the threads held
  by the pause do not all fire into the new window at once.

A Hub that sends no ``RateLimit`` header is not held at all, beyond ``--jobs``.

How many requests are in flight at once is a fixed ``--jobs N`` when the user gives one, else
:class:`Concurrency` adapts it (``RequestGate(None)``): from 8, one more every quarter-limit of
answers while more requests wait than are let through, up to 32, as long as the windows the Hub
tells of are far from spent (at least half their quota left) and latency holds (under 1.5x the
lowest seen); fewer when a window is near spent (under a quarter left), latency has passed 2.5x
the lowest, or a 429 comes (half, and no growth for a while).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from huggingface_hub.utils import parse_ratelimit_headers

from openaudit import errors
from openaudit.sources.pace import ADAPTIVE_START


class BudgetExhausted(errors.FetchError):
    """--max-requests is spent: what was not fetched is reported incomplete."""

    kind = "budget"
    status = "incomplete"


@dataclass
class _Window:
    """What the Hub last said of one bucket's window, and this run's requests in it not yet answered."""

    remaining: int | None = None  # None: never told (no RateLimit header): not held
    reset_at: float = 0.0  # time.monotonic() of the window's reset
    quota: int | None = None  # requests per window (RateLimit-Policy q=), when told (0 is taken as not told)
    in_flight: int = 0

    def admits(self, now: float) -> bool:
        if self.remaining is None:
            return True
        if now >= self.reset_at:  # a new window: its quota, or one request to learn what is left
            self.remaining = self.quota if self.quota else 1
            self.reset_at = float("inf")  # until a response says when this one resets
        # The in-flight requests are counted as spent: the last header may predate them.
        return self.remaining - self.in_flight > 0


# Two responses whose resets are this close are of one window (the Hub gives `t` in whole seconds).
_SAME_WINDOW_S = 1.5


class Concurrency:
    """How many requests may be in flight: fixed (``--jobs N``), or adapted to what the Hub says of its
    windows and to how fast it answers (AIMD, as TCP's congestion window, with a latency brake).

    * **grows** by one every `limit // 4` answers (at least one), only while the limit is what holds
      requests back (more were waiting), no window the Hub told of is past its first half, and the
      smoothed latency is under RISING x the lowest seen (plus 2 ms: a loopback's 1 ms is noise);
    * **holds** while a window is between a quarter and half spent, or latency is rising;
    * **shrinks** by a quarter (at most once per round trip) while a window is near spent (under a
      quarter of its quota left; with no quota told, fewer left than twice the limit) or latency has
      passed CONGESTED x the lowest, never under FLOOR;
    * **halves** on a 429, and does not grow again for a few seconds.
    """

    START = ADAPTIVE_START
    CEILING = 32
    FLOOR = 2
    FAR = 0.5  # of a window's quota left: growth allowed
    NEAR = 0.25  # under this: fewer in flight
    RISING = 1.5
    CONGESTED = 2.5
    SLACK_S = 0.002
    HOLD_AFTER_429_S = 2.0

    def __init__(self, fixed: int | None = None, *, start: int = START, ceiling: int = CEILING,
                 floor: int = FLOOR) -> None:
        self.adaptive = fixed is None
        if fixed is not None:
            self.ceiling = self.floor = self.limit = max(1, int(fixed))
        else:
            self.ceiling = max(1, int(ceiling))
            self.floor = max(1, min(int(floor), self.ceiling))
            self.limit = max(self.floor, min(int(start), self.ceiling))
        # By bucket (the Hub's API, its file resolvers, GitHub: each answers at its own pace): the
        # smoothed latency (EWMA) and the lowest smoothed latency seen (it drifts up slowly).
        self.recent: dict[str, float] = {}
        self.base: dict[str, float] = {}
        self._credit = 0
        self._no_growth_until = 0.0
        self._last_cut = float("-inf")
        self._room: dict[str, tuple[str, float]] = {}  # bucket -> ("far"|"mid"|"near", until when it holds)
        self.peak = self.limit

    def _rtt(self) -> float:
        return max(0.02, max(self.recent.values(), default=0.0))

    def _cut(self, now: float, to: int) -> None:
        if now - self._last_cut < self._rtt():  # one cut per round trip: answers of one burst cut once
            return
        self._last_cut = now
        self._credit = 0
        self.limit = max(self.floor, min(self.limit, to))

    def window(self, bucket: str, remaining: int, quota: int | None, reset_at: float, now: float) -> None:
        """A response said `remaining` requests are left in `bucket`'s window (of `quota`), until `reset_at`."""
        if not self.adaptive:
            return
        if quota:
            state = "far" if remaining >= self.FAR * quota else "near" if remaining < self.NEAR * quota else "mid"
        else:
            state = "far" if remaining >= 4 * self.limit else "near" if remaining < 2 * self.limit else "mid"
        self._room[bucket] = (state, reset_at)
        if state == "near":  # the window's own bound (at most `remaining` in flight) is RequestGate's
            self._cut(now, self.limit * 3 // 4)

    def throttled(self, now: float) -> None:
        """A 429: half as many, and no growth for a while (the window it closed has to reset first)."""
        if not self.adaptive:
            return
        self._last_cut = float("-inf")
        self._cut(now, self.limit // 2)
        self._no_growth_until = now + max(self.HOLD_AFTER_429_S, 8 * self._rtt())

    def answered(self, bucket: str, latency: float, waiting: bool, now: float) -> None:
        """A request of `bucket` was answered after `latency` seconds; `waiting`: others were held by the limit."""
        recent = self.recent[bucket] = 0.8 * self.recent.get(bucket, latency) + 0.2 * latency
        base = self.base.get(bucket, recent)
        base = self.base[bucket] = min(base + 0.0001 * (recent - base), recent)  # forgets over ~10,000 answers
        if not self.adaptive:
            return
        if recent > self.CONGESTED * base + self.SLACK_S:
            self._cut(now, self.limit * 3 // 4)
            return
        if recent > self.RISING * base + self.SLACK_S:
            self._credit = 0
            return
        if not waiting or now < self._no_growth_until or self.limit >= self.ceiling:
            return
        if any(state != "far" and now < until for state, until in self._room.values()):
            return
        self._credit += 1
        if self._credit >= max(1, self.limit // 4):
            self._credit = 0
            self.limit += 1
            self.peak = max(self.peak, self.limit)


class RequestGate:
    """Global concurrency, a request budget, and per-bucket windows and pauses shared by every thread."""

    def __init__(self, jobs: int | None = 8, max_requests: int | None = None):
        """`jobs`: at most that many requests in flight; None: as many as :class:`Concurrency` finds."""
        self.control = Concurrency(jobs)
        self.jobs = self.control.ceiling  # the most that can ever be in flight: threads to give it
        self.max_requests = max_requests
        self._active = 0  # requests in flight, every bucket
        self._queued = 0  # threads waiting for the concurrency limit
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a window told more, or a request answered
        self._slot_free = threading.Condition(self._lock)  # fewer in flight than the limit
        self._paused: dict[str, float] = {}
        self._windows: dict[str, _Window] = {}
        self.sent = 0
        self.by_bucket: dict[str, int] = {"api": 0, "resolvers": 0}
        self.rate_limited = 0

    @contextmanager
    def slot(self, bucket: str, repo_id: str, max_wait: float | None = None) -> Iterator[None]:
        """One request. A request that would go past the budget is not made."""
        while True:
            self.wait(bucket, repo_id, max_wait)
            self._take_slot()
            # A pause set while this thread queued for a slot holds it too, as does a window with
            # nothing left for it: it gives the slot back (another bucket's request may use it) and waits.
            if self._admit(bucket):
                break
            self._give_slot()
            self._wait_for_room(bucket)
        window = self._windows[bucket]
        answered = False
        started = time.monotonic()
        try:
            with self._lock:
                if self.max_requests is not None and self.sent >= self.max_requests:
                    raise BudgetExhausted(
                        repo_id, f"request budget of {self.max_requests} spent (--max-requests); not fetched"
                    )
                self.sent += 1
                self.by_bucket[bucket] = self.by_bucket.get(bucket, 0) + 1
            yield
            answered = True
        finally:
            with self._lock:
                window.in_flight -= 1
                self._changed.notify_all()
                if answered:  # a failed request's time (a timeout, a reset) says nothing of the Hub's pace
                    now = time.monotonic()
                    self.control.answered(bucket, now - started, self._queued > 0, now)
                self._give_slot_locked()

    def _take_slot(self) -> None:
        """One of the `control.limit` requests in flight (the limit may change while this waits)."""
        with self._lock:
            self._queued += 1
            try:
                while self._active >= self.control.limit:
                    self._slot_free.wait(timeout=1.0)
            finally:
                self._queued -= 1
            self._active += 1

    def _give_slot(self) -> None:
        with self._lock:
            self._give_slot_locked()

    def _give_slot_locked(self) -> None:
        # As many waiters woken as there are free slots (the limit may have grown), as a semaphore
        # would: not every one of up to 32 threads at each answer, to find the slot taken.
        self._active -= 1
        self._slot_free.notify(max(1, self.control.limit - self._active))

    def throttled(self) -> None:
        """The Hub answered 429: fewer requests in flight from now on (when not fixed by --jobs)."""
        with self._lock:
            self.rate_limited += 1
            self.control.throttled(time.monotonic())

    def _admit(self, bucket: str) -> bool:
        """Count one more request in flight in `bucket` if neither a pause nor its window holds it."""
        with self._lock:
            now = time.monotonic()
            window = self._windows.setdefault(bucket, _Window())
            if self._paused.get(bucket, 0.0) > now or not window.admits(now):
                return False
            window.in_flight += 1
            return True

    def _wait_for_room(self, bucket: str) -> None:
        """Until an answer or the window's reset may have made room. A spent window is a pause too
        (note: r=0), and `wait` is what fails a pause longer than max_wait."""
        with self._lock:
            window = self._windows.setdefault(bucket, _Window())
            now = time.monotonic()
            if self._paused.get(bucket, 0.0) > now or window.admits(now):
                return
            self._changed.wait(timeout=max(0.01, min(window.reset_at - now, 1.0)))

    def wait(self, bucket: str, repo_id: str = "", max_wait: float | None = None) -> None:
        """Until the bucket's pause is over; a pause longer than `max_wait` fails at once instead
        (a window that resets in 10 minutes is not waited out, as a 429 saying so is not)."""
        while True:
            with self._lock:
                until = self._paused.get(bucket, 0.0)
            delay = until - time.monotonic()
            if delay <= 0:
                return
            if max_wait is not None and delay > max_wait:
                raise errors.RateLimited(
                    repo_id, f"rate limited: the Hub's '{bucket}' window resets in {delay:.0f} s, longer than the "
                    f"{max_wait:.0f} s waited at most; not fetched")
            time.sleep(min(delay, 1.0))

    def pause(self, bucket: str, seconds: float) -> None:
        with self._lock:
            self._paused[bucket] = max(self._paused.get(bucket, 0.0), time.monotonic() + seconds)
            self._changed.notify_all()

    def note(self, bucket: str, headers: Any) -> None:
        """What a response's RateLimit headers say of its bucket's window: what is left (at most that
        many requests in flight), when it resets, its quota; spent (r=0): hold the whole bucket until then."""
        info = parse_ratelimit_headers(headers)
        if info is None:
            with self._lock:
                window = self._windows.get(bucket)
                if window is not None and window.reset_at == float("inf"):
                    window.remaining = None  # a new window the Hub says nothing of: not held
                    self._changed.notify_all()
            return
        reset_in = float(info.reset_in_seconds) + 0.1  # `t` is whole seconds, rounded up: past the reset
        with self._lock:
            window = self._windows.setdefault(bucket, _Window())
            reset_at = time.monotonic() + reset_in
            if window.remaining is not None and abs(reset_at - window.reset_at) < _SAME_WINDOW_S:
                window.remaining = min(window.remaining, info.remaining)  # an older answer arriving late
            else:
                window.remaining = info.remaining
            window.reset_at = reset_at
            if info.limit is not None:
                window.quota = info.limit
            self.control.window(bucket, info.remaining, window.quota, reset_at, time.monotonic())
            self._changed.notify_all()
        if info.remaining == 0:
            self.pause(bucket, reset_in)
