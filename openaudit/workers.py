"""Where an organisation's audits run: worker processes when that is safe, else one thread.

An audit is pure CPU (~15 ms: the card's Markdown, evidence, five profiles, flags) and holds the
GIL; the reads it waits for are network. Audits run in the same threads as the reads, each
slowed the other: at 16 threads a warm run (no request at all) took twice as long as at one. So
the reads stay on their threads and the audits go to a pool of their own:

* **worker processes** (Linux, forked while this process has a single thread, so that no lock
  another thread holds is copied into a child): every core audits, and the parent's threads
  never wait on an audit for the GIL. A bundle goes in pickled (~18 KB), a `Packed` subject comes
  back (~8 KB of compressed JSON); the parent never builds the subject's objects at all.
* **one thread**, everywhere else (another start method would re-import everything in each
  worker, which costs more than a small organisation's audits), and when a worker process dies:
  the audits it had are done again in the thread, so no model is lost.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from openaudit.criteria import Profile
from openaudit.snapshot import SnapshotBundle

AuditFn = Callable[..., Any]  # fn(bundle, profiles, strict, *args) -> a picklable result
MAX_PROCESSES = 4  # beyond this, pickling and the parent's reads are the limit, not the audits

# Set in each worker process before its first task (inherited through fork, never pickled).
_WORKER: tuple[AuditFn, Sequence[Profile], bool] | None = None


def _init_worker(fn: AuditFn, profiles: Sequence[Profile], strict: bool) -> None:
    global _WORKER
    _WORKER = (fn, profiles, strict)
    # Ctrl-C reaches the whole process group: the parent handles it (exit 130, nothing written);
    # a worker must not print a traceback of its own. SIGTERM ends a worker at once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _run_in_worker(bundle: SnapshotBundle, *args: Any) -> Any:
    assert _WORKER is not None, "worker not initialised"
    fn, profiles, strict = _WORKER
    return fn(bundle, profiles, strict, *args)


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def can_fork() -> bool:
    """Forking is safe here: Linux, and no thread but this one and openaudit's licence-matcher thread
    (which a fork waits for, see openaudit.licenses.identify), so no lock is copied held into a child."""
    import multiprocessing

    from openaudit.licenses.identify import ASKALONO_THREAD_NAME

    others = [t for t in threading.enumerate()
              if t is not threading.current_thread() and not t.name.startswith(ASKALONO_THREAD_NAME)]
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and threading.current_thread() is threading.main_thread() and not others)


def default_processes() -> int:
    """Worker processes for audits: one per core (at most MAX_PROCESSES); 0 (a thread) on one core."""
    cpus = available_cpus()
    return 0 if cpus < 2 else min(cpus, MAX_PROCESSES)


class Auditors:
    """Runs `fn(bundle, profiles, strict, *args)` off the calling threads; `submit` returns a Future of its result."""

    def __init__(self, fn: AuditFn, profiles: Sequence[Profile], strict: bool, processes: int | None = None,
                 warm_up: Callable[[], Any] | None = None):
        self.fn, self.profiles, self.strict = fn, list(profiles), strict
        want = default_processes() if processes is None else max(0, processes)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="openaudit-audit")
        self._procs: Executor | None = None
        if want > 0 and can_fork():
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            if warm_up is not None:
                # What every audit loads on first use (the licence knowledge base, compiled fingerprints
                # and regexes: ~0.3 s) is loaded once here and inherited, instead of once per worker.
                warm_up()

            self._procs = ProcessPoolExecutor(max_workers=want, mp_context=multiprocessing.get_context("fork"),
                                              initializer=_init_worker, initargs=(fn, self.profiles, strict))
            # Fork every worker now, while this is still the only thread (the pool forks them all on
            # its first task, before starting its own management thread).
            self._procs.submit(int).result()
        self.processes = want if self._procs is not None else 0

    def submit(self, bundle: SnapshotBundle, *args: Any) -> Future[Any]:
        if self._procs is None:
            return self._thread.submit(self.fn, bundle, self.profiles, self.strict, *args)
        out: Future[Any] = Future()
        try:
            inner = self._procs.submit(_run_in_worker, bundle, *args)
        except (BrokenProcessPool, RuntimeError):
            return self._in_thread(out, bundle, *args)

        def settle(f: Future[Any]) -> None:
            if f.cancelled():
                out.cancel()
                out.set_running_or_notify_cancel()
                return
            err = f.exception()
            if isinstance(err, BrokenProcessPool):  # a worker died (killed, out of memory): audit it here
                self._in_thread(out, bundle, *args)
            elif err is not None:
                out.set_exception(err)
            else:
                out.set_result(f.result())

        inner.add_done_callback(settle)
        return out

    def _in_thread(self, out: Future[Any], bundle: SnapshotBundle, *args: Any) -> Future[Any]:
        def relay(f: Future[Any]) -> None:
            err = f.exception() if not f.cancelled() else None
            if f.cancelled():
                out.cancel()
                out.set_running_or_notify_cancel()
            elif err is not None:
                out.set_exception(err)
            else:
                out.set_result(f.result())

        try:
            self._thread.submit(self.fn, bundle, self.profiles, self.strict, *args).add_done_callback(relay)
        except RuntimeError as e:  # shut down: the run is being interrupted
            out.set_exception(e)
        return out

    def shutdown(self, cancel: bool = False) -> None:
        if self._procs is not None:
            self._procs.shutdown(wait=not cancel, cancel_futures=cancel)
        self._thread.shutdown(wait=not cancel, cancel_futures=cancel)

    def __enter__(self) -> Auditors:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown(cancel=exc[0] is not None)
