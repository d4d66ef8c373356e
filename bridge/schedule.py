"""What runs when: the task table (``mirakl-bridge tasks``) and crontab lines (``mirakl-bridge crontab``).

The original module listed "all the tasks you must configure" with their recommended frequency;
``tasks`` keeps that list and adds what the daemon knows: next run, last run, last status, last error.
``crontab`` prints the same schedules as system-cron lines calling ``run-task``, for hosts that
prefer cron to the daemon (never both: the per-task lock would just skip one of them).
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from bridge.config import DEFAULT_SCHEDULES, RECOMMENDED, TASKS, Config, PlatformConfig
from bridge.cronexpr import describe, next_fire, split
from bridge.jobs.report import json_default
from bridge.logging import scrub

if TYPE_CHECKING:
    from bridge.wiring import App

SUCCESS_STATUSES = ("ok", "partial")
"""A run that went through (``partial``: some items failed or were held) counts as a success."""


def describe_cron(expr: str) -> str:
    """A crontab expression in words (see :func:`bridge.cronexpr.describe`)."""
    return describe(expr)


def task_state(platform: PlatformConfig, task: str) -> tuple[bool, str]:
    """(scheduled, why not): the daemon schedules a task when it has a cron and is enabled."""
    if not platform.schedule.for_task(task):
        return False, f"off (schedule.{task} is empty)"
    if task == "accept" and not platform.acceptance.enabled:
        return False, "disabled (acceptance.enabled = false)"
    if task == "ship" and not platform.ship.enabled:
        return False, "disabled (ship.enabled = false)"
    return True, ""


def scheduled_tasks(config: Config) -> Iterator[tuple[PlatformConfig, str, str]]:
    """(platform, task, cron) for every job the daemon runs."""
    for platform in config.platforms:
        for task in TASKS:
            on, _ = task_state(platform, task)
            if on:
                yield platform, task, platform.schedule.for_task(task)


def task_table(app: App, now: datetime) -> list[dict[str, Any]]:
    """One row per (platform, task): schedule, in words, recommended, next run, last run/status/error.

    Datetimes are aware, in ``daemon.timezone``. When the bridge tables cannot be read, the
    ``last_*`` fields are None and ``history_error`` says why.
    """
    tz_name = app.config.daemon.timezone
    tz = ZoneInfo(tz_name)
    rows = []
    for platform in app.config.platforms:
        for task in TASKS:
            expr = platform.schedule.for_task(task)
            on, why = task_state(platform, task)
            nxt = next_fire(expr, tz_name, now) if on else None
            rows.append({
                "platform": platform.code,
                "task": task,
                "enabled": on,
                "state": "scheduled" if on else why,
                "cron": expr,
                "words": describe(expr) if expr else "off",
                "recommended": RECOMMENDED[task],
                "default_cron": DEFAULT_SCHEDULES[task],
                "timezone": tz_name,
                "next_run": nxt.astimezone(tz) if nxt else None,
                "alert_after_min": platform.alerts.for_task(task),
                **_history(app, platform.code, task, tz),
            })
    return rows


def _history(app: App, code: str, task: str, tz: ZoneInfo) -> dict[str, Any]:
    empty: dict[str, Any] = {"last_run": None, "last_trigger": None, "last_status": None, "last_duration_s": None,
                             "last_error": None, "last_success": None}
    try:
        last = app.state.last_run(code, task)
        ok = app.state.last_run(code, task, status_in=SUCCESS_STATUSES)
    except SQLAlchemyError as exc:
        return {**empty, "history_error": scrub(f"cannot read the task runs: {type(exc).__name__}")}
    if last is None:
        return empty
    return {
        "last_run": last.started_at.astimezone(tz),
        "last_trigger": last.trigger,
        "last_status": last.status,
        "last_duration_s": last.duration_s,
        "last_error": scrub(last.error) if last.error and last.status != "ok" else None,
        "last_success": ok.started_at.astimezone(tz) if ok else None,
    }


# --- mirakl-bridge tasks -------------------------------------------------------------------------


def cmd_tasks(app: App, as_json: bool, out: TextIO) -> int:
    """Print the task table (text or JSON). Exit 1 when the run history could not be read."""
    now = app.clock()
    rows = task_table(app, now)
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False, default=json_default), file=out)
    else:
        print(format_table(rows, app.config.daemon.timezone), file=out)
    return 1 if any("history_error" in r for r in rows) else 0


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def format_table(rows: list[dict[str, Any]], tz_name: str) -> str:
    """Human table: one line per task, then its schedule in words and its last error."""
    head = ("PLATFORM", "TASK", "SCHEDULE", "NEXT RUN", "LAST RUN", "STATUS")
    lines = [head]
    notes: list[list[str]] = [[]]
    for r in rows:
        status = r["last_status"] or ("never run" if "history_error" not in r else "?")
        lines.append((r["platform"], r["task"], r["cron"] or "off", _when(r["next_run"]), _when(r["last_run"]), status))
        sub = [f"{r['words']} (recommended: {r['recommended']})" if r["enabled"] else r["state"]]
        if r["last_error"]:
            sub.append(f"last error: {_short(r['last_error'])}")
        if "history_error" in r:
            sub.append(r["history_error"])
        notes.append(sub)
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    out = [f"Times in {tz_name}."]
    for line, sub in zip(lines, notes, strict=True):
        out.append("  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
        indent = " " * (widths[0] + 2)
        out.extend(indent + s for s in sub)
    return "\n".join(out)


def _short(text: str, limit: int = 160) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 3] + "..."


# --- mirakl-bridge crontab -----------------------------------------------------------------------


def crontab_lines(config: Config, *, executable: str, config_path: str) -> list[str]:
    """System-cron lines calling ``run-task`` for every scheduled task, in the config's time zone."""
    tz = config.daemon.timezone
    cmd = f"{executable} --config {shlex.quote(config_path)}"
    lines = [
        "# mirakl-bridge scheduled tasks, generated by `mirakl-bridge crontab`.",
        "# Use these lines OR the daemon (`mirakl-bridge run`), not both.",
        f"# Schedules are in {tz}: CRON_TZ is honoured by cronie (RHEL, Fedora, Arch); with Debian/Ubuntu cron",
        "# the system time zone applies instead. cron mails any output; append >>FILE 2>&1 to keep it in a file.",
        f"CRON_TZ={tz}",
    ]
    for platform in config.platforms:
        for task in TASKS:
            expr = platform.schedule.for_task(task)
            on, why = task_state(platform, task)
            label = f"# {task} for {platform.code}"
            if not on:
                lines.append(f"{label}: {why}")
                continue
            if len(expr.split()) == 6:
                lines.append(f"{label}: {expr!r} has a seconds field, which cron cannot express; not listed")
                continue
            lines.append(f"{label}: {describe(expr)} (recommended: {RECOMMENDED[task]})")
            _, _, _, day, _, dow = split(expr)
            if day != "*" and dow != "*":
                lines.append("#   note: cron runs when EITHER the day of month OR the weekday matches; the daemon "
                             "needs both")
            run = f"{cmd} run-task {task} --platform {shlex.quote(platform.code)}"
            lines.append(f"{expr}  {run.replace('%', chr(92) + '%')}")
    return lines


def default_executable() -> str:
    """How cron should call the bridge: this installation's ``mirakl-bridge``, else ``python -m bridge``."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "mirakl-bridge" and argv0.exists():
        return shlex.quote(str(argv0.resolve()))
    found = shutil.which("mirakl-bridge")
    if found:
        return shlex.quote(found)
    return f"{shlex.quote(sys.executable)} -m bridge"


def cmd_crontab(config: Config, config_path: str | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    path = config_path or config.source_path or "config.toml"
    lines = crontab_lines(config, executable=default_executable(), config_path=str(Path(path).resolve()))
    print("\n".join(lines), file=out)
    return 0
