"""One daemon thread that runs queued jobs in arrival order (the simulator's asynchronous imports).

A job stays in the queue while it runs, so ``wait_idle`` returns only once everything queued so far
is done. ``hold``/``release`` keep the worker from starting the next job (tests use it to see a
queued import). ``stop`` never waits on a queued job: what is still queued stays queued.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class ImportQueue(Generic[T]):
    def __init__(self, run: Callable[[T], None], name: str = "mirakl-sim-imports") -> None:
        self._run = run
        self._name = name
        self._jobs: deque[T] = deque()
        self._cond = threading.Condition()
        self._held = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()  # one per worker thread, so a restart never runs two

    def start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._loop, args=(self._stop,), name=self._name, daemon=True
            )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            thread, self._thread = self._thread, None
            self._stop.set()
            self._cond.notify_all()
        if thread is not None:
            thread.join(timeout)

    def put(self, job: T) -> None:
        with self._cond:
            self._jobs.append(job)
            self._cond.notify_all()

    def hold(self, held: bool = True) -> None:
        """While held, the worker starts no new job (the one running, if any, finishes)."""
        with self._cond:
            self._held = held
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is queued or running; False if that did not happen within ``timeout``."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._jobs, timeout)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._jobs)

    def _next(self, stop: threading.Event) -> T | None:
        with self._cond:
            self._cond.wait_for(lambda: stop.is_set() or (bool(self._jobs) and not self._held))
            return None if stop.is_set() else self._jobs[0]

    def _loop(self, stop: threading.Event) -> None:
        while (job := self._next(stop)) is not None:
            try:
                self._run(job)
            finally:
                with self._cond:
                    self._jobs.popleft()
                    self._cond.notify_all()
