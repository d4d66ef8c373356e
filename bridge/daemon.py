"""``mirakl-bridge run``: every (task, platform) on its cron schedule, until SIGTERM.

Start-up, in order:

1. take the single-instance lock (MySQL ``GET_LOCK`` on a dedicated connection, held for the daemon's
   life): busy -> message on stderr, exit 3 (``EXIT_ALREADY_RUNNING``);
2. close the runs a killed process left ``running`` (marked failed, "interrupted");
3. metrics: observer on every report, Mirakl request hook, last-success gauges from the task-run table;
4. the HTTP endpoint when ``[http] enabled`` (bind failure: exit 1);
5. APScheduler 3 with one job per (task, platform): ``CronTrigger`` in ``daemon.timezone``,
   ``coalesce=True``, ``max_instances=1``, ``misfire_grace_time=daemon.misfire_grace_s``, each job a
   ``run_task(trigger="schedule")`` inside a guard that no failure escapes;
6. ``READY=1`` to systemd (``Type=notify``), then the main loop: signals, watchdog pings, lock check.

The scheduler runs in its own thread (``BackgroundScheduler``) and the main thread keeps the loop:
signal handlers then only set a flag, and everything else (``scheduler.shutdown``, waiting for runs)
happens in ordinary main-thread code, never inside a handler that interrupted APScheduler's locks.

Stopping (SIGTERM or SIGINT): the stop event is set (tasks stop between orders/pages and commit what
is done), no new run starts (scheduler shut down, HTTP answers 503), running runs get up to
``daemon.stop_timeout_s`` seconds, then exit 0 — or 1 if they did not finish in time (their rows are
marked interrupted at the next start). A second signal exits at once with 130.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import structlog
from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from bridge import __version__
from bridge.cronexpr import trigger as cron_trigger
from bridge.errors import LockBusyError
from bridge.inflight import Closed, RunTracker, run_guarded
from bridge.jobs.report import TaskReport
from bridge.logging import scrub
from bridge.metrics import Metrics
from bridge.schedule import scheduled_tasks
from bridge.sdnotify import Notifier
from bridge.shop.db import is_sqlite, named_lock
from bridge.wiring import App

log = structlog.get_logger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
"""Start-up failed (database, HTTP port), the lock was lost, or runs outlived ``stop_timeout_s``."""
EXIT_ALREADY_RUNNING = 3
"""Another daemon holds this shop's lock (the unit's ``RestartPreventExitStatus=3``)."""
EXIT_SECOND_SIGNAL = 130

LOCK_WAIT_S = 5.0
"""Seconds to wait for the single-instance lock: covers a restart racing the old process's exit."""
LOCK_CHECK_S = 60.0
"""Seconds between checks that the single-instance lock is still ours (a dropped DB connection loses it)."""
TICK_S = 1.0
"""Longest sleep of the main loop (it wakes at once on a signal)."""


class Daemon:
    def __init__(
        self,
        app: App,
        *,
        stop_event: threading.Event | None = None,
        scheduler_factory: Callable[..., Any] | None = None,
        notifier: Notifier | None = None,
        hard_exit: Callable[[int], Any] = os._exit,
        stderr: TextIO | None = None,
    ) -> None:
        self.app = app
        self.config = app.config
        self.stop = stop_event or threading.Event()
        self._scheduler_factory = scheduler_factory or BackgroundScheduler
        self.notifier = notifier or Notifier()
        self._hard_exit = hard_exit
        self._stderr = stderr or sys.stderr
        self.tz = ZoneInfo(self.config.daemon.timezone)
        self.tracker = RunTracker()
        self.metrics = Metrics()
        self.scheduler: Any = None
        self.http: Any = None
        self.ready = threading.Event()
        self._signals = 0
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self.lock_name = self.config.daemon.lock_name or app.lock_name("daemon")

    # --- public ------------------------------------------------------------------------------------

    def run(self) -> int:
        try:
            return self._run()
        finally:
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)

    def request_stop(self) -> None:
        """Ask the main loop to stop (any thread; also what the first signal does)."""
        self._signals = max(self._signals, 1)
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"s")

    def fire_now(self, task: str, code: str) -> None:
        """Run a scheduled job as soon as possible (tests, and a future ``kick`` command)."""
        self.scheduler.modify_job(job_id(task, code), next_run_time=datetime.now(self.tz))
        self.scheduler.wakeup()

    # --- start-up ----------------------------------------------------------------------------------

    def _run(self) -> int:
        with contextlib.ExitStack() as stack:
            try:
                lock_conn = stack.enter_context(named_lock(self.app.engine, self.lock_name, timeout_s=LOCK_WAIT_S))
            except LockBusyError:
                log.error("daemon.already_running", lock=self.lock_name)
                print(f"mirakl-bridge: another daemon is already running for this shop database (lock "
                      f"{self.lock_name!r} is held). Stop it first, or use run-task for a one-off run.",
                      file=self._stderr)
                return EXIT_ALREADY_RUNNING
            except SQLAlchemyError as exc:
                log.error("daemon.database_unreachable", error=scrub(str(exc))[:500])
                print(f"mirakl-bridge: cannot reach the shop database: {scrub(str(exc))[:300]}", file=self._stderr)
                return EXIT_FAILED
            code = EXIT_FAILED
            try:
                code = self._run_locked(lock_conn)
            finally:
                log.info("daemon.stopped", exit_code=code)
            return code
        raise AssertionError("unreachable")

    def _run_locked(self, lock_conn: Connection) -> int:
        started = self.app.clock()
        try:
            closed = self.app.state.mark_interrupted_runs(started)
        except SQLAlchemyError as exc:
            log.error("daemon.state_unreadable", error=scrub(str(exc))[:500])
            print("mirakl-bridge: cannot read the bridge tables (run `mirakl-bridge migrate`?): "
                  f"{scrub(str(exc))[:300]}", file=self._stderr)
            return EXIT_FAILED
        if closed:
            log.warning("daemon.interrupted_runs_closed", count=closed)
        self.metrics.attach(self.app)
        try:
            self.metrics.load_last_success(self.app)
        except SQLAlchemyError as exc:
            log.warning("daemon.metrics_history_unreadable", error=scrub(str(exc))[:300])
        self.app.observers.append(self._status_observer)
        if self.config.http.enabled:
            try:
                self._start_http()
            except OSError as exc:
                log.error("daemon.http_bind_failed", bind=self.config.http.bind, port=self.config.http.port,
                          error=str(exc))
                print(f"mirakl-bridge: cannot listen on {self.config.http.bind}:{self.config.http.port}: {exc}",
                      file=self._stderr)
                return EXIT_FAILED
        self._start_scheduler()
        previous = self._install_signals()
        try:
            jobs = [{"job": j.id, "next_run": j.next_run_time.isoformat() if j.next_run_time else None}
                    for j in self.scheduler.get_jobs()]
            log.info("daemon.started", version=__version__, pid=os.getpid(), timezone=self.config.daemon.timezone,
                     jobs=jobs, http=self._http_address())
            self.notifier.ready(f"scheduling {len(jobs)} jobs")
            self.ready.set()
            reason = self._main_loop(lock_conn)
            return self._shutdown(reason)
        finally:
            self._restore_signals(previous)

    def _start_http(self) -> None:
        from bridge.httpd import BridgeHTTPServer

        http = self.config.http
        self.http = BridgeHTTPServer((http.bind, http.port), self.app, metrics=self.metrics, tracker=self.tracker,
                                     stop=self.stop, started_at=self.app.clock())
        threading.Thread(target=self.http.serve_forever, name="http", daemon=True).start()

    def _http_address(self) -> str | None:
        if self.http is None:
            return None
        host, port = self.http.server_address[:2]
        return f"http://{host}:{port}"

    def _start_scheduler(self) -> None:
        d = self.config.daemon
        workers = max(2, len(self.config.platforms) + 1)
        self.scheduler = self._scheduler_factory(
            timezone=self.tz,
            executors={"default": ThreadPoolExecutor(max_workers=workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": d.misfire_grace_s},
        )
        for platform, task, expr in scheduled_tasks(self.config):
            self.scheduler.add_job(
                self._job, cron_trigger(expr, d.timezone), args=(task, platform.code), id=job_id(task, platform.code),
                name=f"{task} for {platform.code}", replace_existing=True,
            )
        self.scheduler.add_listener(self._missed, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        self.scheduler.start()

    # --- jobs --------------------------------------------------------------------------------------

    def _job(self, task: str, code: str) -> None:
        """One scheduled run. Nothing escapes: a failing task or platform never stops the others."""
        if self.stop.is_set():
            log.info("daemon.run_not_started", task=task, platform=code, reason="stopping")
            return
        try:
            with self.tracker.track(task, code, "schedule"):
                run_guarded(self.app, task, code, trigger="schedule", stop=self.stop)
        except Closed:
            log.info("daemon.run_not_started", task=task, platform=code, reason="stopping")
        except BaseException:  # noqa: BLE001 - the scheduler thread must survive anything a run throws
            log.exception("daemon.job_crashed", task=task, platform=code)

    def _missed(self, event: JobEvent) -> None:
        task, _, code = event.job_id.partition(":")
        reason = "misfire" if event.code == EVENT_JOB_MISSED else "still_running"
        self.metrics.missed_run(code, task, reason)
        log.warning("daemon.run_missed", task=task, platform=code, reason=reason,
                    scheduled_for=str(getattr(event, "scheduled_run_time", "")))

    def _status_observer(self, report: TaskReport) -> None:
        self.notifier.status(f"last run: {report.task} {report.platform} {report.status} "
                             f"at {report.started_at.astimezone(self.tz):%H:%M}")

    # --- main loop and signals ---------------------------------------------------------------------

    def _install_signals(self) -> dict[int, Any]:
        if threading.current_thread() is not threading.main_thread():
            return {}
        previous = {}
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, self._on_signal)
        return previous

    def _restore_signals(self, previous: dict[int, Any]) -> None:
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        # async-signal context: no locks, no logging; the main loop does the work
        self._signals += 1
        if self._signals >= 2:
            with contextlib.suppress(OSError):
                os.write(2, b"mirakl-bridge: second signal, exiting now\n")
            self._hard_exit(EXIT_SECOND_SIGNAL)
            return
        self._last_signal = signum
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"s")

    def _wait(self, timeout_s: float) -> None:
        with contextlib.suppress(InterruptedError, OSError, ValueError):
            ready, _, _ = select.select([self._wake_r], [], [], max(0.0, timeout_s))
            if ready:
                os.read(self._wake_r, 64)

    def _main_loop(self, lock_conn: Connection) -> str:
        """Sleep until asked to stop; ping the watchdog; check the lock. Returns why it stopped."""
        watchdog = self.notifier.watchdog_interval_s
        tick = min(TICK_S, watchdog) if watchdog else TICK_S
        next_ping = next_check = time.monotonic()
        while True:
            if self._signals:
                sig = getattr(self, "_last_signal", None)
                return signal.Signals(sig).name if sig else "stop requested"
            if self.stop.is_set():
                return "stop requested"
            now = time.monotonic()
            if watchdog and now >= next_ping:
                self.notifier.watchdog()
                next_ping = now + watchdog
            if now >= next_check:
                next_check = now + LOCK_CHECK_S
                if not self._lock_held(lock_conn):
                    return "lock lost"
            self._wait(tick)

    def _lock_held(self, conn: Connection) -> bool:
        if is_sqlite(conn):
            return True
        try:
            held = conn.execute(text("SELECT IS_USED_LOCK(:n) = CONNECTION_ID()"), {"n": self.lock_name[:64]}).scalar()
            conn.commit()
        except SQLAlchemyError as exc:
            log.error("daemon.lock_lost", lock=self.lock_name, error=scrub(str(exc))[:300])
            return False
        if held != 1:
            log.error("daemon.lock_lost", lock=self.lock_name, error="the lock is no longer held by this process")
            return False
        return True

    # --- stopping ----------------------------------------------------------------------------------

    def _shutdown(self, reason: str) -> int:
        budget = float(self.config.daemon.stop_timeout_s)
        running = self.tracker.running()
        log.info("daemon.stopping", reason=reason, running=running, stop_timeout_s=budget)
        self.notifier.stopping(f"stopping ({reason}); waiting for {len(running)} run(s)")
        self.stop.set()
        self.tracker.close()
        with contextlib.suppress(Exception):
            self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + budget
        while not self.tracker.wait_idle(timeout_s=min(TICK_S, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                log.error("daemon.stop_timeout", running=self.tracker.running(), stop_timeout_s=budget)
                self._close_http()
                self._flush()
                self._hard_exit(EXIT_FAILED)
                return EXIT_FAILED
            if self.notifier.watchdog_interval_s:
                self.notifier.watchdog()
        self._close_http()
        return EXIT_FAILED if reason == "lock lost" else EXIT_OK

    def _close_http(self) -> None:
        if self.http is not None:
            with contextlib.suppress(Exception):
                self.http.shutdown()
                self.http.server_close()

    def _flush(self) -> None:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()


def job_id(task: str, code: str) -> str:
    return f"{task}:{code}"


def run_daemon(app: App, *, stop_event: threading.Event | None = None,
               scheduler_factory: Callable[..., Any] | None = None) -> int:
    """Run the daemon until stopped; returns the exit code (see the module docstring)."""
    return Daemon(app, stop_event=stop_event, scheduler_factory=scheduler_factory).run()
