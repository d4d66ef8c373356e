"""Runs started by the daemon (schedule or HTTP): tracked so a stop can wait for them, guarded so a
task that cannot even be loaded is still a recorded ``failed`` run instead of a crash.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.exc import SQLAlchemyError

from bridge.jobs.report import TaskReport
from bridge.jobs.runner import TASK_MODULES, run_task
from bridge.logging import scrub

if TYPE_CHECKING:
    from bridge.wiring import App

log = structlog.get_logger(__name__)


class Closed(Exception):
    """The daemon is stopping: no new run may start."""


class RunTracker:
    """The runs in flight. ``close()`` refuses new ones; ``wait_idle()`` waits for the others."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running: dict[int, tuple[str, str, str]] = {}
        self._next = 0
        self.closed = False

    @contextlib.contextmanager
    def track(self, task: str, platform: str, trigger: str) -> Iterator[None]:
        with self._cond:
            if self.closed:
                raise Closed()
            self._next += 1
            key = self._next
            self._running[key] = (task, platform, trigger)
        try:
            yield
        finally:
            with self._cond:
                del self._running[key]
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def running(self) -> list[dict[str, str]]:
        with self._cond:
            return [{"task": t, "platform": p, "trigger": tr} for t, p, tr in self._running.values()]

    def wait_idle(self, timeout_s: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._running, timeout=timeout_s)


def run_guarded(app: App, task: str, code: str, **kwargs: Any) -> TaskReport:
    """``run_task``, except that a task module which cannot be imported gives a recorded failed run."""
    try:
        return run_task(app, task, code, **kwargs)
    except ImportError as exc:
        reason = (f"task {task!r} is not available in this installation: module {TASK_MODULES.get(task, task)} "
                  f"cannot be loaded ({type(exc).__name__}: {scrub(str(exc))})")
        return record_outcome(app, task, code, "failed", reason, trigger=kwargs.get("trigger", "manual"),
                              record=True)


def record_outcome(app: App, task: str, code: str, status: str, reason: str, *, trigger: str,
                   record: bool) -> TaskReport:
    """A report for a run that did not reach the task (failed to load, too soon...), told to observers.

    ``record``: also write it to the task-run table (failures are; skips are not, like the runner's).
    """
    now: datetime = app.clock()
    report = TaskReport(task=task, platform=code, run_id=uuid.uuid4().hex[:16], started_at=now)
    report.status, report.reason = status, reason  # type: ignore[assignment]
    report.finish(now)
    level = log.error if status == "failed" else log.info
    level("task.finished", platform=code, task=task, run_id=report.run_id, trigger=trigger, status=status,
          reason=reason)
    if record:
        try:
            row = app.state.start_run(platform=code, task=task, run_id=report.run_id, trigger=trigger, started_at=now)
            app.state.finish_run(row, finished_at=now, status=status, duration_s=0.0, report=report.to_dict(),
                                 error=reason)
        except SQLAlchemyError as exc:  # the database may be the problem; the report still goes out
            log.warning("task.record_failed", platform=code, task=task, error=scrub(str(exc))[:300])
    with contextlib.suppress(Exception):
        app.notify(report)
    return report
