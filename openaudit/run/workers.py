"""Where an organisation's audits run: worker processes when that is safe, else one thread.

An audit is pure CPU (~15 ms: the card's Markdown, evidence, five profiles, flags) and holds the
GIL; the reads it waits for are network. Audits run in the same threads as the reads, each
slowed the other: at 16 threads a warm run (no request at all) took twice as long as at one. So
the reads stay on their threads and the audits go to a pool of their own:

* **worker processes** (Linux, forked while this process has a single thread, native threads
  included, so that no lock another thread holds is copied into a child and no thread pool a
  library keeps is missing in it: the CLI always qualifies; a library user's process does until
  it has matched a licence text, as askalono keeps two threads): every core audits, and the
  parent's threads never wait on an audit for the GIL. A bundle goes in pickled (~18 KB), a `Packed` subject comes
  back (~8 KB of compressed JSON); the parent never builds the subject's objects at all.
* **one thread**, everywhere else (another start method would re-import everything in each
  worker, which costs more than a small organisation's audits), and when a worker process dies:
  the audits it had are done again in the thread, so no model is lost.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any

from openaudit import gctune
from openaudit.criteria import Profile
from openaudit.snapshot import SnapshotBundle

AuditFn = Callable[..., Any]  # fn(bundle, profiles, strict, *args) -> a picklable result
MAX_PROCESSES = 16  # beyond this, pickling and the parent's reads are the limit, not the audits

# Set in each worker process before its first task (inherited through fork, never pickled).
_WORKER: tuple[AuditFn, Sequence[Profile], bool] | None = None


def _stop(pool: Executor) -> None:
    """An interrupted run: the workers are stopped now, not after the audits they hold, and the pool's
    manager thread has ended before the interpreter exits (left running, CPython 3.11's exit hook can
    wake it through a pipe it has just closed, and print a traceback after "interrupted")."""
    # Both are taken before shutdown(), which drops the pool's references to them.
    workers = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers:
        with contextlib.suppress(Exception):
            proc.terminate()
    if manager is not None:
        manager.join(timeout=5)


# The pid of the process that forks the workers (set just before it does): a worker whose parent is
# no longer that one was orphaned before it could ask to die with it.
_PARENT: int | None = None
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask the kernel to SIGKILL this worker when its parent dies (prctl PR_SET_PDEATHSIG, Linux; the
    workers are forked by the parent's main thread, whose end the signal follows), so that a parent
    killed with SIGKILL leaves no orphans auditing on. If the parent is already gone, exit now."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl here: the pool's own pipes end the workers eventually
        pass
    if _PARENT is not None and os.getppid() != _PARENT:
        os._exit(1)


def _init_worker(fn: AuditFn, profiles: Sequence[Profile], strict: bool) -> None:
    global _WORKER
    if sys.platform.startswith("linux"):
        _die_with_parent()
    _WORKER = (fn, profiles, strict)
    gctune.tune()  # an audit's ~100,000 short-lived objects are freed by reference counting
    # Ctrl-C reaches the whole process group: the parent handles it (exit 130, nothing written);
    # a worker must not print a traceback of its own. SIGTERM ends a worker at once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _relay(src: Future[Any], out: Future[Any]) -> None:
    """Give `out` the outcome of `src`."""
    if src.cancelled():
        out.cancel()
        out.set_running_or_notify_cancel()
    elif (err := src.exception()) is not None:
        out.set_exception(err)
    else:
        out.set_result(src.result())


def _run_in_worker(bundle: SnapshotBundle, *args: Any) -> Any:
    assert _WORKER is not None, "worker not initialised"
    fn, profiles, strict = _WORKER
    return fn(bundle, profiles, strict, *args)


def available_cpus() -> int:
    from openaudit.cores import available_cores  # affinity, within the cgroup's CPU quota

    return available_cores()


def os_thread_count() -> int:
    """Threads of this process as the kernel counts them: native ones too (askalono's Rust thread pool
    starts two on first use, and a forked child calling it would wait for them forever)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _fork_platform() -> bool:
    import multiprocessing

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def can_fork() -> bool:
    """Forking is safe here: Linux, and this process has no thread but this one, so no lock can be
    copied held into a child and no thread pool a child relies on is missing there."""
    return _fork_platform() and threading.active_count() == 1 and os_thread_count() == 1


def default_processes() -> int:
    """Worker processes for audits: one per core up to 4, one core left to the parent's reads beyond
    (at most MAX_PROCESSES); 0 (a thread) on one core."""
    cpus = available_cpus()
    return 0 if cpus < 2 else min(cpus if cpus <= 4 else cpus - 1, MAX_PROCESSES)


def settle_threads(before: int, timeout: float = 1.0) -> None:
    """Wait (bounded) until the kernel counts no more than `before` threads again. A thread just
    joined can still be in its exit for a moment (seen: 20-120 times in 2,000 joins under load), and
    `can_fork` would then refuse to fork for a thread that is already done. `before` is the count
    taken before that thread started: native threads a library keeps are not waited for."""
    deadline = time.monotonic() + timeout
    while os_thread_count() > before and time.monotonic() < deadline:
        time.sleep(0.001)


def _wanted(processes: int | None) -> int:
    return default_processes() if processes is None else max(0, processes)


def forks(processes: int | None) -> bool:
    """Whether `Auditors(processes=...)` would fork workers here, were this thread alone by then: a
    caller can warm up (see Auditors) while a thread of its own still waits on the network."""
    return _wanted(processes) > 0 and _fork_platform() and os_thread_count() <= threading.active_count()


class Auditors:
    """Runs `fn(bundle, profiles, strict, *args)` off the calling threads; `submit` returns a Future of its result."""

    def __init__(self, fn: AuditFn, profiles: Sequence[Profile], strict: bool, processes: int | None = None,
                 warm_up: Callable[[], Any] | None = None):
        self.fn, self.profiles, self.strict = fn, list(profiles), strict
        want = _wanted(processes)
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="openaudit-audit")
        self._procs: Executor | None = None
        self._restore = contextlib.ExitStack()  # what shutdown() puts back as it was
        if want > 0 and can_fork() and warm_up is not None:
            # What every audit loads on first use (the licence knowledge base, compiled fingerprints
            # and regexes: ~0.3 s) is loaded once here and inherited, instead of once per worker.
            warm_up()
        if want > 0 and can_fork():  # (checked again: the warm-up must not have started a thread)
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # Frozen, what the workers inherit is never walked by their collector: collections stay
            # small and do not write to (and so copy) the shared pages. The parent thaws at once
            # (unless its own process had frozen objects before: then it is left as it was).
            thaw = gc.get_freeze_count() == 0
            gc.freeze()
            global _PARENT
            _PARENT = os.getpid()
            self._procs = ProcessPoolExecutor(max_workers=want, mp_context=multiprocessing.get_context("fork"),
                                              initializer=_init_worker,
                                              initargs=(fn, self.profiles, strict))
            # Fork every worker now, while this is still the only thread (the pool forks them all on
            # its first task, before starting its own management thread).
            try:
                self._procs.submit(int).result()
            finally:
                if thaw:
                    gc.unfreeze()
        self.processes = want if self._procs is not None else 0

    def submit(self, bundle: SnapshotBundle, *args: Any) -> Future[Any]:
        if self._procs is None:
            return self._thread.submit(self.fn, bundle, self.profiles, self.strict, *args)
        from concurrent.futures.process import BrokenProcessPool  # here: multiprocessing costs a 1-model run ~5 ms

        out: Future[Any] = Future()
        try:
            inner = self._procs.submit(_run_in_worker, bundle, *args)
        except (BrokenProcessPool, RuntimeError):
            return self._in_thread(out, bundle, *args)

        def settle(f: Future[Any]) -> None:
            if not f.cancelled() and isinstance(f.exception(), BrokenProcessPool):
                self._in_thread(out, bundle, *args)  # a worker died (killed, out of memory): audit it here
            else:
                _relay(f, out)

        inner.add_done_callback(settle)
        return out

    def _in_thread(self, out: Future[Any], bundle: SnapshotBundle, *args: Any) -> Future[Any]:
        try:
            self._thread.submit(self.fn, bundle, self.profiles, self.strict, *args).add_done_callback(
                lambda f: _relay(f, out))
        except RuntimeError as e:  # shut down: the run is being interrupted
            out.set_exception(e)
        return out

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:
            # The thread first: a worker stopped now must not have its audit redone here (as a dead
            # worker's is); its future fails instead.
            self._thread.shutdown(wait=False, cancel_futures=True)
        if self._procs is not None:
            if cancel:
                _stop(self._procs)
            else:
                self._procs.shutdown(wait=True)
        self._thread.shutdown(wait=not cancel, cancel_futures=cancel)
        self._restore.close()

    def __enter__(self) -> Auditors:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown(cancel=exc[0] is not None)
