"""The request gate every Hub request goes through: global concurrency, a budget, shared pauses.

`openaudit org` and `openaudit audit` hold one :class:`RequestGate` per run. It bounds how many
requests are in flight at once (``--jobs``), stops sending once a request budget is spent
(``--max-requests``; the model being read then fails with :class:`BudgetExhausted` and is reported
``incomplete``), and holds a whole bucket (``api`` or ``resolvers``, the Hub's two rate-limit
windows) when a 429 or a ``RateLimit: r=0`` header says its window is spent: every thread waits,
not just the one that was told.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from huggingface_hub.utils import parse_ratelimit_headers

from openaudit import errors


class BudgetExhausted(errors.FetchError):
    """--max-requests is spent: what was not fetched is reported incomplete."""

    kind = "budget"
    status = "incomplete"


class RequestGate:
    """Global concurrency, a request budget, and per-bucket pauses shared by every thread."""

    def __init__(self, jobs: int = 8, max_requests: int | None = None):
        self.jobs = max(1, int(jobs))
        self.max_requests = max_requests
        self._sem = threading.BoundedSemaphore(self.jobs)
        self._lock = threading.Lock()
        self._paused: dict[str, float] = {}
        self.sent = 0
        self.by_bucket: dict[str, int] = {"api": 0, "resolvers": 0}
        self.rate_limited = 0

    @contextmanager
    def slot(self, bucket: str, repo_id: str, max_wait: float | None = None) -> Iterator[None]:
        """One request. A request that would go past the budget is not made."""
        while True:
            self.wait(bucket, repo_id, max_wait)
            self._sem.acquire()
            # A pause set while this thread queued for a slot holds it too: it gives the slot back
            # (another bucket's request may use it) and waits.
            if not self._paused_now(bucket):
                break
            self._sem.release()
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
            self._sem.release()

    def _paused_now(self, bucket: str) -> bool:
        with self._lock:
            return self._paused.get(bucket, 0.0) > time.monotonic()

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

    def note(self, bucket: str, headers: Any) -> None:
        """A response said the window is spent (RateLimit r=0): hold the whole bucket until its reset."""
        info = parse_ratelimit_headers(headers)
        if info is not None and info.remaining == 0:
            self.pause(bucket, float(info.reset_in_seconds) + 0.1)
