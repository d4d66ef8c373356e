"""run_task: the one path every task run takes (CLI run-task, daemon schedule, HTTP trigger)."""

from __future__ import annotations

import contextlib
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from importlib import import_module

import structlog

from bridge.config import TASKS
from bridge.errors import (
    BridgeError,
    ConfigError,
    LockBusyError,
    MiraklAuthError,
    MiraklError,
    ShopError,
    StopRequested,
)
from bridge.jobs.context import TaskContext
from bridge.jobs.progress import NullProgress, Progress
from bridge.jobs.report import TaskReport
from bridge.logging import scrub
from bridge.shop.db import named_lock
from bridge.wiring import App

log = structlog.get_logger(__name__)

TASK_MODULES = {
    "offers": "bridge.jobs.offers",
    "accept": "bridge.jobs.accept",
    "import": "bridge.jobs.import_orders",
    "ship": "bridge.jobs.ship",
}
ORDER_TASKS = frozenset({"accept", "import", "ship"})  # they write order state: never concurrently
ORDERS_LOCK_WAIT_S = 30.0


def task_function(task: str) -> Callable[[TaskContext], None]:
    if task not in TASK_MODULES:
        raise ConfigError([f"task: unknown task {task!r} (known: {', '.join(TASKS)})"])
    return import_module(TASK_MODULES[task]).run  # type: ignore[no-any-return]


def _enabled(app: App, task: str, code: str) -> tuple[bool, str]:
    p = app.config.platform(code)
    if task == "accept" and not p.acceptance.enabled:
        return False, "disabled in config (acceptance.enabled = false)"
    if task == "ship" and not p.ship.enabled:
        return False, "disabled in config (ship.enabled = false)"
    return True, ""


def run_task(
    app: App,
    task: str,
    platform_code: str,
    *,
    dry_run: bool = False,
    force: bool = False,
    trigger: str = "manual",
    stop: threading.Event | None = None,
    clock: Callable[[], datetime] | None = None,
    progress: Progress | None = None,
) -> TaskReport:
    """Run one task once for one platform and return its report (never raises for run failures)."""
    if task not in TASK_MODULES:
        raise ConfigError([f"task: unknown task {task!r} (known: {', '.join(TASKS)})"])
    platform = app.config.platform(platform_code)
    clock = clock or app.clock
    run_id = uuid.uuid4().hex[:16]
    report = TaskReport(task=task, platform=platform.code, run_id=run_id, started_at=clock(), dry_run=dry_run)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(platform=platform.code, task=task, run_id=run_id)
    row_id: int | None = None
    error_text: str | None = None
    try:
        ok, why = _enabled(app, task, platform.code)
        if not ok:
            report.status, report.reason = "skipped", why
            return report
        if not force and not dry_run and trigger in ("manual", "http"):
            why = too_soon(app, task, platform.code, report.started_at)
            if why:
                report.status, report.reason = "skipped", why
                return report
        with _locks(app, task, platform.code):
            row_id = app.state.start_run(
                platform=platform.code, task=task, run_id=run_id, trigger=trigger, started_at=report.started_at
            )
            fn = task_function(task)
            log.info("task.started", trigger=trigger, dry_run=dry_run)
            ctx = TaskContext(
                app=app, platform=platform, mirakl=app.mirakl(platform.code), report=report, run_id=run_id,
                dry_run=dry_run, clock=clock, stop=stop or threading.Event(), progress=progress or NullProgress(),
                log=log,
            )
            fn(ctx)
    except ImportError as exc:
        report.status, report.reason = "failed", f"task {task!r} is not available: {TASK_MODULES[task]} ({exc})"
        error_text = report.reason
        log.error("task.unavailable", error=str(exc))
    except LockBusyError as exc:
        report.status, report.reason = "skipped", f"locked: another run holds {exc.name}"
    except StopRequested:
        report.status, report.reason = "partial", "stopped on request; what was done is committed"
    except MiraklAuthError as exc:
        error_text = str(exc)
        report.status, report.reason = "failed", f"Mirakl refused the API key: {exc}"
        log.error("task.auth_failed", error=str(exc))
    except (MiraklError, ShopError, BridgeError) as exc:
        error_text = str(exc)
        report.status, report.reason = "failed", f"{type(exc).__name__}: {exc}"
        log.error("task.failed", error_type=type(exc).__name__, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - the run wrapper is where unexpected errors stop
        error_text = scrub("".join(traceback.format_exception(exc))[-4000:])
        report.status, report.reason = "failed", f"unexpected {type(exc).__name__}: {scrub(str(exc))}"
        log.exception("task.crashed")
    finally:
        report.finish(clock())
        if row_id is not None:
            with contextlib.suppress(Exception):
                app.state.finish_run(
                    row_id, finished_at=report.finished_at or clock(), status=report.status,
                    duration_s=report.duration_s, report=report.to_dict(), error=error_text or report.reason or None,
                )
        log.info(
            "task.finished", status=report.status, reason=report.reason, duration_s=report.duration_s,
            counts=report.counts, errors=len(report.errors), dry_run=dry_run,
        )
        with contextlib.suppress(Exception):
            app.notify(report)
        structlog.contextvars.clear_contextvars()
    return report


def too_soon(app: App, task: str, code: str, now: datetime) -> str:
    """Why a manual/HTTP run is refused as too soon after the last one, or "" when it may run."""
    min_s = app.config.daemon.min_manual_interval_s
    if min_s <= 0:
        return ""
    last = app.state.last_run(code, task, exclude_skipped=True)
    if last is None:
        return ""
    age = (now - last.started_at).total_seconds()
    if age < min_s:
        return f"too soon: last run started {age:.0f} s ago (< daemon.min_manual_interval_s = {min_s}); use --force"
    return ""


@contextlib.contextmanager
def _locks(app: App, task: str, code: str) -> Iterator[None]:
    with named_lock(app.engine, app.lock_name("task", task, code)):
        if task in ORDER_TASKS:
            with named_lock(app.engine, app.lock_name("orders"), timeout_s=ORDERS_LOCK_WAIT_S):
                yield
        else:
            yield
