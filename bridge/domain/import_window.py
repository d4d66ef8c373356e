"""Which OR11 window the import task reads, when a held order is retried, where the cursor moves.

Pure functions of values (no clock, no I/O): the import job passes ``now`` and the stored cursors.

Window rules (``mirakl-api.md`` §5.2, ``competitors.md`` §3 row 4):

* first run (no cursor): the last ``catchup_days`` -- and that run counts as the day's catch-up;
* catch-up due (no catch-up cursor, or the last one is a day old or more): the last
  ``catchup_days``, or further back when the incremental cursor is older than that;
* otherwise: the cursor minus ``overlap`` (Mirakl itself re-sends recent orders; duplicates are
  skipped through the order map).

The cursor is the greatest ``last_updated_date`` seen in a window whose orders were all accounted
for (imported, already imported, or durably held with a retry date). It never moves backwards and
never moves after a window where one order could not be accounted for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

CATCHUP_EVERY = timedelta(days=1)
RETRY_FIRST_DELAY = timedelta(minutes=30)
RETRY_MAX_DELAY = timedelta(hours=12)

FIRST_RUN = "first_run"
CATCHUP = "catchup"
INCREMENTAL = "incremental"


@dataclass(frozen=True)
class ImportWindow:
    """``since`` is sent as OR11 ``start_update_date``; ``catchup`` says the catch-up cursor moves."""

    since: datetime
    kind: str  # first_run | catchup | incremental
    catchup: bool


def import_window(
    *, now: datetime, cursor: datetime | None, last_catchup: datetime | None, overlap: timedelta,
    catchup_days: int,
) -> ImportWindow:
    """The window of this run (see the module docstring)."""
    _aware(now, cursor, last_catchup)
    catchup_since = now - timedelta(days=catchup_days)
    if cursor is None:
        return ImportWindow(since=catchup_since, kind=FIRST_RUN, catchup=True)
    incremental_since = min(cursor - overlap, now)
    if last_catchup is None or now - last_catchup >= CATCHUP_EVERY:
        return ImportWindow(since=min(catchup_since, incremental_since), kind=CATCHUP, catchup=True)
    return ImportWindow(since=incremental_since, kind=INCREMENTAL, catchup=False)


def next_cursor(current: datetime | None, seen_updates: Iterable[datetime], *, complete: bool) -> datetime | None:
    """The cursor after a window: max(current, greatest update seen) when ``complete``, else ``current``."""
    if not complete:
        return current
    best = current
    for value in seen_updates:
        _aware(value)
        if best is None or value > best:
            best = value
    return best


def retry_delay(attempts: int) -> timedelta:
    """Delay before the next try of an order held ``attempts`` times (30 min, 1 h, 2 h ... 12 h)."""
    if attempts <= 1:
        return RETRY_FIRST_DELAY
    return min(RETRY_FIRST_DELAY * (1 << min(attempts - 1, 16)), RETRY_MAX_DELAY)


def held_order_due(*, now: datetime, next_attempt_at: datetime | None, held_at: datetime,
                   mirakl_updated: datetime | None = None) -> bool:
    """A held order is tried again when its retry date passed, or when Mirakl changed it since the hold."""
    if next_attempt_at is None or next_attempt_at <= now:
        return True
    return mirakl_updated is not None and mirakl_updated > held_at


def _aware(*values: datetime | None) -> None:
    for value in values:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime: the import window works in aware UTC")
