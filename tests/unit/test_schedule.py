"""Schedules in words, crontab lines and next runs (explicit time zone, crontab weekday numbers)."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bridge.config import config_from_dict
from bridge.cronexpr import apscheduler_expr, next_fire
from bridge.schedule import cmd_crontab, crontab_lines, describe_cron, format_table, scheduled_tasks

PARIS = ZoneInfo("Europe/Paris")


def config(*platforms: dict, tz: str = "Europe/Paris") -> object:
    plats = list(platforms) or [{}]
    raw = {
        "shop": {"database_url": "mysql+pymysql://u@127.0.0.1/ps"},
        "daemon": {"timezone": tz},
        "platforms": [
            {"code": p.get("code", f"p{i}"), "api_url": "https://x.mirakl.net", "api_key_env": "KEY",
             **{k: v for k, v in p.items() if k != "code"}}
            for i, p in enumerate(plats)
        ],
    }
    return config_from_dict(raw, {"KEY": "k"})


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("0 * * * mon-fri", "at minute 0 of every hour, Monday to Friday"),
        ("0 * * * *", "at minute 0 of every hour"),
        ("20 * * * *", "at minute 20 of every hour"),
        ("*/5 * * * *", "every 5 minutes"),
        ("0 6 * * *", "at 06:00 every day"),
        ("30 8,14 * * 1-5", "at 08:30 and 14:30, Monday to Friday"),
        ("15,45 * * * *", "at minutes 15 and 45 of every hour"),
        ("0 */2 * * *", "at minute 0 of every 2 hours"),
        ("0 9-18 * * *", "at minute 0 of every hour from 09:00 to 18:59"),
        ("*/10 9-18 * * 1-5", "every 10 minutes from 09:00 to 18:59, Monday to Friday"),
        ("0 0 * * 0,6", "at 00:00, on Saturday and Sunday"),
        ("0 0 * * 7", "at 00:00, on Sunday"),
        ("0 3 1 * *", "at 03:00, on day 1 of the month"),
        ("0 0 * jun-aug *", "at 00:00, from June to August"),
        ("", "off"),
    ],
)
def test_a_cron_expression_is_said_in_words(expr: str, words: str) -> None:
    assert describe_cron(expr) == words


def test_an_expression_it_cannot_read_is_shown_as_is() -> None:
    assert describe_cron("0 * L * *") == "cron 0 * L * *"


def test_weekday_numbers_are_read_as_crontab_reads_them_not_as_apscheduler_3_does() -> None:
    # crontab: 0 and 7 are Sunday, 1 is Monday; APScheduler 3 would read 1-5 as Tuesday-Saturday
    assert apscheduler_expr("0 * * * 1-5") == "0 * * * mon,tue,wed,thu,fri"
    assert apscheduler_expr("0 8 * * 0,7") == "0 8 * * sun"
    assert apscheduler_expr("0 * * * *") == "0 * * * *"
    friday_evening = datetime(2026, 3, 6, 22, 30, tzinfo=PARIS)  # a Friday
    assert next_fire("0 * * * 1-5", "Europe/Paris", friday_evening) == datetime(2026, 3, 6, 23, 0, tzinfo=PARIS)
    last_friday_hour = datetime(2026, 3, 6, 23, 0, tzinfo=PARIS)
    assert next_fire("0 * * * 1-5", "Europe/Paris", last_friday_hour) == datetime(2026, 3, 9, 0, 0, tzinfo=PARIS)


def test_next_runs_are_computed_in_the_configured_time_zone() -> None:
    # 06:10 UTC on 2 March 2026 is 07:10 in Paris (CET, UTC+1): the next "0 8 * * *" is 08:00 Paris = 07:00 UTC
    after = datetime(2026, 3, 2, 6, 10, tzinfo=timezone.utc)
    nxt = next_fire("0 8 * * *", "Europe/Paris", after)
    assert nxt is not None and nxt.astimezone(timezone.utc) == datetime(2026, 3, 2, 7, 0, tzinfo=timezone.utc)
    # the same schedule in New York (EST, UTC-5): 08:00 there is 13:00 UTC
    nxt_ny = next_fire("0 8 * * *", "America/New_York", after)
    assert nxt_ny is not None and nxt_ny.astimezone(timezone.utc) == datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc)


def test_the_clock_change_does_not_skip_the_import_run() -> None:
    # 29 March 2026, Paris goes from 02:00 CET to 03:00 CEST; the 03:20 run exists, 02:20 does not
    after = datetime(2026, 3, 29, 1, 30, tzinfo=PARIS)
    assert next_fire("20 * * * *", "Europe/Paris", after) == datetime(2026, 3, 29, 3, 20, tzinfo=PARIS)


def test_the_seed_defaults_give_one_job_per_task_and_platform() -> None:
    cfg = config({"code": "carrefour"}, {"code": "fnac"})
    jobs = [(p.code, t, e) for p, t, e in scheduled_tasks(cfg)]
    assert jobs == [
        ("carrefour", "offers", "0 * * * mon-fri"), ("carrefour", "accept", "0 * * * *"),
        ("carrefour", "import", "20 * * * *"), ("carrefour", "ship", "40 * * * *"),
        ("fnac", "offers", "0 * * * mon-fri"), ("fnac", "accept", "0 * * * *"),
        ("fnac", "import", "20 * * * *"), ("fnac", "ship", "40 * * * *"),
    ]


def test_an_empty_schedule_or_a_disabled_task_is_not_scheduled() -> None:
    cfg = config({"code": "carrefour", "schedule": {"ship": ""}, "acceptance": {"enabled": False}})
    assert [t for _, t, _ in scheduled_tasks(cfg)] == ["offers", "import"]


def test_crontab_lines_call_run_task_with_the_config_and_the_time_zone() -> None:
    cfg = config({"code": "carrefour", "schedule": {"ship": ""}}, tz="Europe/Paris")
    lines = crontab_lines(cfg, executable="/opt/mb/bin/mirakl-bridge", config_path="/etc/mirakl bridge/config.toml")
    assert "CRON_TZ=Europe/Paris" in lines
    entries = [line for line in lines if not line.startswith("#") and "=" not in line.split()[0]]
    assert entries == [
        "0 * * * mon-fri  /opt/mb/bin/mirakl-bridge --config '/etc/mirakl bridge/config.toml' "
        "run-task offers --platform carrefour",
        "0 * * * *  /opt/mb/bin/mirakl-bridge --config '/etc/mirakl bridge/config.toml' "
        "run-task accept --platform carrefour",
        "20 * * * *  /opt/mb/bin/mirakl-bridge --config '/etc/mirakl bridge/config.toml' "
        "run-task import --platform carrefour",
    ]
    assert "# ship for carrefour: off (schedule.ship is empty)" in lines
    assert "# offers for carrefour: at minute 0 of every hour, Monday to Friday " \
           "(recommended: hourly on working days)" in lines


def test_a_percent_sign_is_escaped_because_cron_reads_it_as_a_newline() -> None:
    cfg = config({"code": "carrefour"})
    lines = crontab_lines(cfg, executable="mirakl-bridge", config_path="/etc/mb/100%.toml")
    assert any("/etc/mb/100\\%.toml" in line for line in lines if line.startswith("0 * * * *"))


def test_cmd_crontab_writes_absolute_config_paths(tmp_path) -> None:
    cfg = config({"code": "carrefour"})
    out = io.StringIO()
    assert cmd_crontab(cfg, str(tmp_path / "config.toml"), out) == 0
    assert f"--config {tmp_path}/config.toml run-task accept --platform carrefour" in out.getvalue()


def test_the_text_table_shows_schedule_words_recommendation_and_last_error() -> None:
    when = datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
    rows = [
        {"platform": "carrefour", "task": "accept", "enabled": True, "state": "scheduled", "cron": "0 * * * *",
         "words": "at minute 0 of every hour", "recommended": "hourly", "next_run": when, "last_run": None,
         "last_status": None, "last_error": None},
        {"platform": "carrefour", "task": "import", "enabled": True, "state": "scheduled", "cron": "20 * * * *",
         "words": "at minute 20 of every hour", "recommended": "hourly, 20 minutes after accept",
         "next_run": when, "last_run": when, "last_status": "failed", "last_error": "MiraklRetriableError: boom"},
    ]
    text = format_table(rows, "Europe/Paris")
    assert text.splitlines()[0] == "Times in Europe/Paris."
    assert "carrefour  accept  0 * * * *   2026-03-02 10:00  -                 never run" in text
    assert "at minute 20 of every hour (recommended: hourly, 20 minutes after accept)" in text
    assert "last error: MiraklRetriableError: boom" in text
