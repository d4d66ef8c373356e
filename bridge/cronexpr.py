"""Crontab expressions: expand fields, fix APScheduler 3's weekday numbering, say them in words.

Weekday numbers follow crontab (0 or 7 = Sunday, 1 = Monday ... 6 = Saturday), because that is what
merchants copy from cron documentation and what ``mirakl-bridge crontab`` hands to system cron.
APScheduler 3.x counts 0 as *Monday* (its issue 286), so :func:`trigger` rewrites the weekday field
to names before building the trigger. Five fields are standard cron; a sixth leading field is
seconds (accepted by the config for tests, never written to a crontab).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bridge.config import cron_trigger

DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
DOW_WORDS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTH_WORDS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
               "October", "November", "December")
_WEEK_ORDER = (1, 2, 3, 4, 5, 6, 0)  # Monday first, as people say "Monday to Friday"


def expand(field: str, lo: int, hi: int, names: tuple[str, ...] = (), name_base: int = 0) -> list[int]:
    """The values a crontab field matches, sorted. Raises ValueError for what it does not know."""
    out: set[int] = set()
    for token in field.lower().split(","):
        base, _, step_txt = token.partition("/")
        step = int(step_txt) if step_txt else 1
        if step < 1:
            raise ValueError(f"bad step in {field!r}")
        if base == "*":
            first, last = lo, hi
        elif "-" in base:
            a, b = base.split("-", 1)
            first, last = _value(a, names, name_base), _value(b, names, name_base)
        else:
            first = _value(base, names, name_base)
            last = hi if step_txt else first
        if not (lo <= first <= hi and lo <= last <= hi) or first > last:
            raise ValueError(f"value out of range in {field!r}")
        out.update(range(first, last + 1, step))
    return sorted(out)


def _value(text: str, names: tuple[str, ...], name_base: int) -> int:
    if text in names:
        return names.index(text) + name_base
    if not text.isdigit():
        raise ValueError(f"unknown value {text!r}")
    return int(text)


def weekdays(field: str) -> list[int]:
    """Crontab weekday field -> crontab numbers (0 = Sunday); 7 is folded onto 0."""
    return sorted({d % 7 for d in expand(field, 0, 7, DOW_NAMES)})


def split(expr: str) -> tuple[str, str, str, str, str, str]:
    """(second, minute, hour, day, month, weekday) of a 5- or 6-field expression."""
    fields = expr.split()
    if len(fields) == 5:
        return ("0", *fields)  # type: ignore[return-value]
    if len(fields) == 6:
        return tuple(fields)  # type: ignore[return-value]
    raise ValueError(f"invalid cron expression {expr!r}: expected 5 fields (min hour day month weekday)")


def apscheduler_expr(expr: str) -> str:
    """The same schedule with the weekday field written with names (what APScheduler 3 needs)."""
    fields = expr.split()
    if len(fields) not in (5, 6):
        return expr
    try:
        days = weekdays(fields[-1])
    except ValueError:
        return expr  # let cron_trigger report it
    fields[-1] = "*" if len(days) == 7 else ",".join(DOW_NAMES[d] for d in days)
    return " ".join(fields)


def trigger(expr: str, tz: str) -> Any:
    """APScheduler CronTrigger for a crontab expression, weekday numbers read as cron reads them."""
    return cron_trigger(apscheduler_expr(expr), tz)


def next_fire(expr: str, tz: str, after: datetime) -> datetime | None:
    """First fire time strictly after ``after`` (aware), in the schedule's time zone."""
    if not expr:
        return None
    trig = trigger(expr, tz)
    return trig.get_next_fire_time(None, after + timedelta(microseconds=1))  # type: ignore[no-any-return]


# --- in words ------------------------------------------------------------------------------------


def describe(expr: str) -> str:
    """A crontab expression in English: ``0 * * * mon-fri`` -> "at minute 0 of every hour, Monday to Friday"."""
    if not expr.strip():
        return "off"
    try:
        sec_f, min_f, hour_f, day_f, month_f, dow_f = split(expr)
        seconds = expand(sec_f, 0, 59)
        minutes = expand(min_f, 0, 59)
        hours = expand(hour_f, 0, 23)
        days = expand(day_f, 1, 31)
        months = expand(month_f, 1, 12, MONTH_NAMES, 1)
        dows = weekdays(dow_f)
    except ValueError:
        return f"cron {expr}"
    text, clock_times = _time_words(minutes, hours)
    if seconds != [0]:
        text = f"at second {_list(seconds)}, " + text
    return text + _day_words(days, months, dows, clock_times=clock_times)


def _step(values: list[int], lo: int, hi: int) -> int | None:
    """Step of an arithmetic progression starting at ``lo`` and running to the end of the range."""
    if len(values) < 2 or values[0] != lo:
        return None
    step = values[1] - values[0]
    if values != list(range(lo, hi + 1, step)):
        return None
    return step


def _time_words(minutes: list[int], hours: list[int]) -> tuple[str, bool]:
    """The time-of-day part, and whether it lists clock times (then "every day" reads better)."""
    every_hour = len(hours) == 24
    during = "" if every_hour else f" {_hours_words(hours, frequency=True)}"
    if len(minutes) == 60:
        return "every minute" + during, False
    mstep = _step(minutes, 0, 59)
    if mstep:
        return f"every {mstep} minutes" + during, False
    if not every_hour and len(hours) * len(minutes) <= 4 and _step(hours, 0, 23) is None:
        return "at " + _list([f"{h:02d}:{m:02d}" for h in hours for m in minutes]), True
    at = f"at minute {minutes[0]}" if len(minutes) == 1 else f"at minutes {_list(minutes)}"
    return (f"{at} of every hour" if every_hour else f"{at} {_hours_words(hours)}"), False


def _hours_words(hours: list[int], *, frequency: bool = False) -> str:
    """Which hours: after "at minute 0" (``of every hour from ...``) or after "every 5 minutes"."""
    hstep = _step(hours, 0, 23)
    if hstep:
        return f"{'during' if frequency else 'of'} every {hstep} hours"
    if len(hours) > 2 and hours == list(range(hours[0], hours[-1] + 1)):
        span = f"from {hours[0]:02d}:00 to {hours[-1]:02d}:59"
        return span if frequency else f"of every hour {span}"
    return f"{'during' if frequency else 'of'} hour{'s' if len(hours) > 1 else ''} {_list([f'{h:02d}' for h in hours])}"


def _day_words(days: list[int], months: list[int], dows: list[int], *, clock_times: bool) -> str:
    parts = []
    if len(days) != 31:
        parts.append(f"on day{'s' if len(days) > 1 else ''} {_list(days)} of the month")
    if len(dows) != 7:
        parts.append(_weekday_words(dows))
    if len(months) != 12:
        parts.append(_ranges(months, MONTH_WORDS, 1))
    if not parts:
        return " every day" if clock_times else ""
    return ", " + ", ".join(parts)


def _weekday_words(dows: list[int]) -> str:
    ordered = [d for d in _WEEK_ORDER if d in dows]
    positions = [_WEEK_ORDER.index(d) for d in ordered]
    if len(ordered) >= 3 and positions == list(range(positions[0], positions[-1] + 1)):
        return f"{DOW_WORDS[ordered[0]]} to {DOW_WORDS[ordered[-1]]}"
    return "on " + _list([DOW_WORDS[d] for d in ordered])


def _ranges(values: list[int], words: tuple[str, ...], base: int) -> str:
    if len(values) >= 3 and values == list(range(values[0], values[-1] + 1)):
        return f"from {words[values[0] - base]} to {words[values[-1] - base]}"
    return "in " + _list([words[v - base] for v in values])


def _list(items: list[Any]) -> str:
    items = [str(i) for i in items]
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]
