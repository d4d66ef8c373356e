"""systemd notifications on a real datagram socket; report counts turned into Prometheus series."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta, timezone

from bridge.jobs.report import TaskReport
from bridge.metrics import Metrics
from bridge.sdnotify import Notifier


def test_notifications_are_datagrams_to_the_abstract_notify_socket() -> None:
    name = f"mb-unit-{uuid.uuid4().hex[:10]}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        n = Notifier({"NOTIFY_SOCKET": "@" + name})
        assert n.ready("scheduling 4\njobs")
        assert sock.recv(1024) == b"READY=1\nSTATUS=scheduling 4 jobs"
        assert n.stopping()
        assert sock.recv(1024) == b"STOPPING=1\nSTATUS=stopping"


def test_without_notify_socket_nothing_is_sent_and_nothing_fails() -> None:
    n = Notifier({})
    assert not n.enabled and n.ready("x") is False and n.watchdog_interval_s is None


def test_the_watchdog_pings_at_half_the_systemd_period_for_this_process_only() -> None:
    assert Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "120000000"}).watchdog_interval_s == 60.0
    mine = Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid())})
    assert mine.watchdog_interval_s == 5.0
    other = Notifier({"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"})
    assert other.watchdog_interval_s is None


def report(task: str, status: str, counts: dict[str, int], *, dry_run: bool = False, hour: int = 9) -> TaskReport:
    start = datetime(2026, 3, 2, hour, 0, tzinfo=timezone.utc)
    r = TaskReport(task=task, platform="carrefour", run_id="r", started_at=start, dry_run=dry_run, counts=counts)
    r.status = status  # type: ignore[assignment]
    return r.finish(start + timedelta(seconds=12))


def sample(m: Metrics, name: str, **labels: str) -> float | None:
    return m.registry.get_sample_value(name, labels)


def test_report_counts_become_order_and_offer_counters_and_last_success() -> None:
    m = Metrics()
    m.observe(report("accept", "ok", {"accepted": 3, "refused": 1, "left_pending": 2, "waiting": 6}))
    m.observe(report("import", "partial", {"imported": 4, "held": 1, "skipped": 9}))
    m.observe(report("offers", "ok", {"sent": 120, "accepted": 118, "rejected": 2}))
    m.observe(report("offers", "failed", {}, hour=10))
    m.observe(report("import", "ok", {"would_import": 5}, dry_run=True))
    m.observe(report("ship", "ok", {"checked": 7, "confirmed": 5, "cancelled": 1, "waiting_for_tracking": 1}))
    orders = {o: sample(m, "mirakl_bridge_orders_total", platform="carrefour", outcome=o)
              for o in ("accepted", "refused", "left", "imported", "held", "shipped", "cancelled")}
    assert orders == {"accepted": 3.0, "refused": 1.0, "left": 2.0, "imported": 4.0, "held": 1.0, "shipped": 5.0,
                      "cancelled": 1.0}
    assert sample(m, "mirakl_bridge_offers_total", platform="carrefour", outcome="sent") == 120.0
    assert sample(m, "mirakl_bridge_offers_total", platform="carrefour", outcome="rejected") == 2.0
    assert sample(m, "mirakl_bridge_task_runs_total", platform="carrefour", task="offers", status="failed") == 1.0
    assert sample(m, "mirakl_bridge_task_duration_seconds_sum", platform="carrefour", task="accept") == 12.0
    nine = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc).timestamp()
    assert sample(m, "mirakl_bridge_task_last_success_timestamp_seconds", platform="carrefour", task="import") == nine
    # a failed run is a run, not a success
    ten = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc).timestamp()
    assert sample(m, "mirakl_bridge_task_last_run_timestamp_seconds", platform="carrefour", task="offers") == ten
    assert sample(m, "mirakl_bridge_task_last_success_timestamp_seconds", platform="carrefour", task="offers") == nine


def test_mirakl_requests_are_counted_by_endpoint_and_status() -> None:
    m = Metrics()
    hook = m.request_hook("fnac")
    hook("OR11", 200, 0.2)
    hook("OR11", 200, 0.3)
    hook("OR21", None, 10.0)
    assert sample(m, "mirakl_bridge_mirakl_requests_total", platform="fnac", endpoint="OR11", status="200") == 2.0
    assert sample(m, "mirakl_bridge_mirakl_requests_total", platform="fnac", endpoint="OR21", status="error") == 1.0
