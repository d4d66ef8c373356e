"""Prometheus metrics of one bridge process, on its own registry (never the global one).

Fed by two hooks: an observer on ``app.observers`` (every task report) and the Mirakl client's
``on_request(endpoint_code, status_or_None, duration_s)`` callback. Report counts become order and
offer counters through :data:`ORDER_COUNTS` / :data:`OFFER_COUNTS` (missing keys count as 0).

Families (all prefixed ``mirakl_bridge_``):

- ``task_runs_total{platform,task,status}``            runs by final status (ok/partial/skipped/failed)
- ``task_duration_seconds{platform,task}``             histogram of run durations (skipped runs excluded)
- ``task_last_success_timestamp_seconds{platform,task}`` last ok/partial run start (Unix time); set from the
                                                        task-run table at start-up
- ``task_last_run_timestamp_seconds{platform,task}``   last run start, whatever its status
- ``task_missed_total{platform,task,reason}``          scheduled runs not started (misfire, already running)
- ``orders_total{platform,outcome}``                   accepted / refused / left / imported / held / shipped /
                                                        cancelled
- ``offers_total{platform,outcome}``                   sent / rejected
- ``mirakl_requests_total{platform,endpoint,status}``  every Mirakl HTTP attempt (status "error": no answer)
- ``mirakl_request_duration_seconds{platform,endpoint}`` histogram of those attempts
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bridge.config import TASKS

if TYPE_CHECKING:
    from bridge.jobs.report import TaskReport
    from bridge.wiring import App

NS = "mirakl_bridge"
CONTENT_TYPE = CONTENT_TYPE_LATEST
SUCCESS = frozenset({"ok", "partial"})

# report.counts key -> outcome label, per task. Keys a task does not report simply count 0.
ORDER_COUNTS: dict[str, dict[str, str]] = {
    "accept": {"accepted": "accepted", "refused": "refused", "left_pending": "left"},
    "import": {"imported": "imported", "held": "held"},
    "ship": {"confirmed": "shipped", "cancelled": "cancelled"},
}
OFFER_COUNTS: dict[str, dict[str, str]] = {
    "offers": {"sent": "sent", "rejected": "rejected"},
}
TASK_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
REQUEST_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.runs = Counter(f"{NS}_task_runs_total", "Task runs by final status", ["platform", "task", "status"],
                            registry=r)
        self.duration = Histogram(f"{NS}_task_duration_seconds", "Duration of task runs", ["platform", "task"],
                                  buckets=TASK_BUCKETS, registry=r)
        self.last_success = Gauge(f"{NS}_task_last_success_timestamp_seconds",
                                  "Start of the last ok or partial run (Unix time)", ["platform", "task"], registry=r)
        self.last_run = Gauge(f"{NS}_task_last_run_timestamp_seconds", "Start of the last run (Unix time)",
                              ["platform", "task"], registry=r)
        self.missed = Counter(f"{NS}_task_missed_total", "Scheduled runs that did not start",
                              ["platform", "task", "reason"], registry=r)
        self.orders = Counter(f"{NS}_orders_total", "Orders by outcome", ["platform", "outcome"], registry=r)
        self.offers = Counter(f"{NS}_offers_total", "Offers by outcome", ["platform", "outcome"], registry=r)
        self.requests = Counter(f"{NS}_mirakl_requests_total", "Mirakl API attempts by endpoint and HTTP status",
                                ["platform", "endpoint", "status"], registry=r)
        self.request_duration = Histogram(f"{NS}_mirakl_request_duration_seconds", "Mirakl API attempt durations",
                                          ["platform", "endpoint"], buckets=REQUEST_BUCKETS, registry=r)

    # --- hooks -------------------------------------------------------------------------------------

    def observe(self, report: TaskReport) -> None:
        """Observer for ``app.observers``: one call per finished (or skipped) run."""
        labels = (report.platform, report.task)
        self.runs.labels(*labels, report.status).inc()
        if report.status == "skipped":
            return
        self.duration.labels(*labels).observe(max(0.0, report.duration_s))
        started = report.started_at.timestamp()
        self.last_run.labels(*labels).set(started)
        if report.status in SUCCESS and not report.dry_run:
            self.last_success.labels(*labels).set(started)
        if report.dry_run:
            return
        for key, outcome in ORDER_COUNTS.get(report.task, {}).items():
            n = int(report.counts.get(key, 0) or 0)
            if n > 0:
                self.orders.labels(report.platform, outcome).inc(n)
        for key, outcome in OFFER_COUNTS.get(report.task, {}).items():
            n = int(report.counts.get(key, 0) or 0)
            if n > 0:
                self.offers.labels(report.platform, outcome).inc(n)

    def request_hook(self, platform: str) -> Callable[[str, int | None, float], None]:
        """``on_request`` callback for one platform's Mirakl client."""

        def _on_request(endpoint: str, status: int | None, duration_s: float) -> None:
            self.requests.labels(platform, endpoint, str(status) if status is not None else "error").inc()
            self.request_duration.labels(platform, endpoint).observe(max(0.0, duration_s))

        return _on_request

    def missed_run(self, platform: str, task: str, reason: str) -> None:
        self.missed.labels(platform, task, reason).inc()

    # --- wiring ------------------------------------------------------------------------------------

    def attach(self, app: App) -> None:
        """Observe every report of ``app`` and count the Mirakl requests of its clients.

        Mirakl requests are counted through ``app.request_hooks``, called by every client the app builds.
        """
        if self.observe not in app.observers:
            app.observers.append(self.observe)
        if self.on_mirakl_request not in app.request_hooks:
            app.request_hooks.append(self.on_mirakl_request)

    def on_mirakl_request(self, platform: str, endpoint: str, status: int | None, duration_s: float) -> None:
        self.request_hook(platform)(endpoint, status, duration_s)

    def load_last_success(self, app: App) -> None:
        """Initialise the last-success and last-run gauges from the task-run table."""
        for platform in app.config.platforms:
            for task in TASKS:
                ok = app.state.last_run(platform.code, task, status_in=tuple(SUCCESS))
                if ok is not None:
                    self.last_success.labels(platform.code, task).set(ok.started_at.timestamp())
                last = app.state.last_run(platform.code, task, exclude_skipped=True)
                if last is not None:
                    self.last_run.labels(platform.code, task).set(last.started_at.timestamp())

    def render(self) -> bytes:
        return generate_latest(self.registry)
