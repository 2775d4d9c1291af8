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


class RequestGate:
    """Global concurrency, a request budget, and per-bucket windows and pauses shared by every thread."""

    def __init__(self, jobs: int = 8, max_requests: int | None = None):
        self.jobs = max(1, int(jobs))
        self.max_requests = max_requests
        self._sem = threading.BoundedSemaphore(self.jobs)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a window told more, or a request answered
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
            self._sem.acquire()
            # A pause set while this thread queued for a slot holds it too, as does a window with
            # nothing left for it: it gives the slot back (another bucket's request may use it) and waits.
            if self._admit(bucket):
                break
            self._sem.release()
            self._wait_for_room(bucket)
        window = self._windows[bucket]
        try:
            with self._lock:
                if self.max_requests is not None and self.sent >= self.max_requests:
                    raise BudgetExhausted(
                        repo_id, f"request budget of {self.max_requests} spent (--max-requests); not fetched"
                    )
                self.sent += 1
                self.by_bucket[bucket] = self.by_bucket.get(bucket, 0) + 1
            yield
        finally:
            with self._lock:
                window.in_flight -= 1
                self._changed.notify_all()
            self._sem.release()

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
            self._changed.notify_all()
        if info.remaining == 0:
            self.pause(bucket, reset_in)
