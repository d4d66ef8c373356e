"""``GET /health``: per task its last run, last success and next run, and whether it is stale.

A scheduled task is **stale** when the first scheduled run after its last success (or after the
daemon started, if it never succeeded) is more than ``alerts.<task>_after_min`` minutes in the past.
Counting from the schedule rather than from the success itself keeps working-day schedules quiet on
week-ends (offers ``0 * * * mon-fri``: Friday 23:00's success is next due Monday 00:00). A success is
an ``ok`` or ``partial`` run. Tasks that are off or disabled are listed and never stale.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bridge import __version__
from bridge.cronexpr import next_fire
from bridge.schedule import task_table

if TYPE_CHECKING:
    from bridge.wiring import App


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def health_report(app: App, now: datetime, started_at: datetime) -> tuple[bool, dict[str, Any]]:
    """(healthy, JSON body). Unhealthy: a stale task, or the run history cannot be read."""
    tz = app.config.daemon.timezone
    tasks = []
    stale: list[str] = []
    history_error = ""
    for row in task_table(app, now):
        due = overdue = None
        is_stale = False
        if row["enabled"] and "history_error" not in row:
            base = row["last_success"] or started_at
            due = next_fire(row["cron"], tz, base)
            if due is not None:
                overdue = now - due
                is_stale = overdue > timedelta(minutes=row["alert_after_min"])
        history_error = history_error or row.get("history_error", "")
        if is_stale:
            stale.append(f"{row['platform']}/{row['task']}")
        tasks.append({
            "platform": row["platform"],
            "task": row["task"],
            "enabled": row["enabled"],
            "schedule": row["cron"],
            "last_run": _iso(row["last_run"]),
            "last_status": row["last_status"],
            "last_error": row["last_error"],
            "last_success": _iso(row["last_success"]),
            "next_run": _iso(row["next_run"]),
            "due_since": _iso(due) if due is not None and due <= now else None,
            "alert_after_min": row["alert_after_min"],
            "stale": is_stale,
        })
    healthy = not stale and not history_error
    body: dict[str, Any] = {
        "status": "ok" if healthy else ("error" if history_error else "stale"),
        "version": __version__,
        "now": now.isoformat(),
        "started_at": started_at.isoformat(),
        "stale": stale,
        "tasks": tasks,
    }
    if history_error:
        body["error"] = history_error
    return healthy, body
