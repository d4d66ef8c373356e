"""The import window, cursor and retry rules (pure, no services)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bridge.domain.import_window import (
    CATCHUP,
    FIRST_RUN,
    INCREMENTAL,
    held_order_due,
    import_window,
    next_cursor,
    retry_delay,
)

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=timezone.utc)
TWO_HOURS = timedelta(hours=2)


def test_the_first_run_reads_the_catch_up_days_and_counts_as_the_catch_up() -> None:
    w = import_window(now=NOW, cursor=None, last_catchup=None, overlap=TWO_HOURS, catchup_days=7)
    assert w.since == datetime(2025, 6, 3, 12, 0, tzinfo=timezone.utc)
    assert w.kind == FIRST_RUN
    assert w.catchup is True


def test_a_later_run_reads_from_the_cursor_minus_the_overlap() -> None:
    cursor = datetime(2025, 6, 10, 11, 20, tzinfo=timezone.utc)
    w = import_window(
        now=NOW, cursor=cursor, last_catchup=NOW - timedelta(hours=5), overlap=TWO_HOURS, catchup_days=7
    )
    assert w.since == datetime(2025, 6, 10, 9, 20, tzinfo=timezone.utc)
    assert w.kind == INCREMENTAL
    assert w.catchup is False


def test_a_zero_overlap_reads_from_the_cursor_itself() -> None:
    cursor = datetime(2025, 6, 10, 11, 20, tzinfo=timezone.utc)
    w = import_window(now=NOW, cursor=cursor, last_catchup=NOW, overlap=timedelta(0), catchup_days=7)
    assert w.since == cursor


def test_the_catch_up_is_due_once_a_day_and_reads_the_catch_up_days() -> None:
    cursor = datetime(2025, 6, 10, 11, 0, tzinfo=timezone.utc)
    w = import_window(
        now=NOW, cursor=cursor, last_catchup=NOW - timedelta(days=1), overlap=TWO_HOURS, catchup_days=3
    )
    assert w.since == datetime(2025, 6, 7, 12, 0, tzinfo=timezone.utc)
    assert w.kind == CATCHUP
    assert w.catchup is True


def test_the_catch_up_is_not_due_23_hours_after_the_last_one() -> None:
    w = import_window(
        now=NOW, cursor=NOW, last_catchup=NOW - timedelta(hours=23), overlap=TWO_HOURS, catchup_days=3
    )
    assert w.kind == INCREMENTAL


def test_a_catch_up_without_a_catch_up_cursor_is_due_at_once() -> None:
    w = import_window(
        now=NOW, cursor=NOW - timedelta(minutes=5), last_catchup=None, overlap=TWO_HOURS, catchup_days=7
    )
    assert w.kind == CATCHUP
    assert w.since == datetime(2025, 6, 3, 12, 0, tzinfo=timezone.utc)


def test_a_cursor_older_than_the_catch_up_days_wins_over_the_catch_up_window() -> None:
    cursor = datetime(2025, 5, 20, 0, 0, tzinfo=timezone.utc)  # the bridge was stopped for 3 weeks
    w = import_window(now=NOW, cursor=cursor, last_catchup=None, overlap=TWO_HOURS, catchup_days=7)
    assert w.since == datetime(2025, 5, 19, 22, 0, tzinfo=timezone.utc)


def test_a_cursor_ahead_of_the_local_clock_never_asks_for_the_future() -> None:
    cursor = NOW + timedelta(hours=3)  # Mirakl's clock ahead of ours
    w = import_window(now=NOW, cursor=cursor, last_catchup=NOW, overlap=TWO_HOURS, catchup_days=7)
    assert w.since == NOW


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        import_window(
            now=NOW.replace(tzinfo=None), cursor=None, last_catchup=None, overlap=TWO_HOURS, catchup_days=7
        )


def test_the_cursor_moves_to_the_greatest_update_seen_when_the_window_is_complete() -> None:
    old = datetime(2025, 6, 10, 8, 0, tzinfo=timezone.utc)
    seen = [
        datetime(2025, 6, 10, 9, 0, tzinfo=timezone.utc),
        datetime(2025, 6, 10, 10, 30, tzinfo=timezone.utc),
        datetime(2025, 6, 10, 7, 0, tzinfo=timezone.utc),
    ]
    assert next_cursor(old, seen, complete=True) == datetime(2025, 6, 10, 10, 30, tzinfo=timezone.utc)


def test_the_cursor_stays_when_one_order_of_the_window_was_not_accounted_for() -> None:
    old = datetime(2025, 6, 10, 8, 0, tzinfo=timezone.utc)
    seen = [datetime(2025, 6, 10, 9, 0, tzinfo=timezone.utc)]
    assert next_cursor(old, seen, complete=False) == old


def test_the_cursor_never_moves_backwards() -> None:
    old = datetime(2025, 6, 10, 8, 0, tzinfo=timezone.utc)
    assert next_cursor(old, [datetime(2025, 6, 9, 8, 0, tzinfo=timezone.utc)], complete=True) == old


def test_an_empty_window_leaves_a_missing_cursor_missing() -> None:
    assert next_cursor(None, [], complete=True) is None


def test_retry_delays_double_from_half_an_hour_up_to_twelve_hours() -> None:
    assert [retry_delay(n) for n in (1, 2, 3, 4, 5, 6, 40)] == [
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=4),
        timedelta(hours=8),
        timedelta(hours=12),
        timedelta(hours=12),
    ]


def test_a_held_order_is_due_when_its_retry_date_has_passed() -> None:
    assert held_order_due(now=NOW, next_attempt_at=NOW, held_at=NOW - timedelta(hours=1))
    assert held_order_due(now=NOW, next_attempt_at=None, held_at=NOW - timedelta(hours=1))
    assert not held_order_due(now=NOW, next_attempt_at=NOW + timedelta(minutes=1), held_at=NOW)


def test_a_held_order_changed_on_mirakl_since_the_hold_is_due_at_once() -> None:
    held_at = NOW - timedelta(minutes=10)
    assert held_order_due(
        now=NOW,
        next_attempt_at=NOW + timedelta(hours=1),
        held_at=held_at,
        mirakl_updated=NOW - timedelta(minutes=5),
    )
    assert not held_order_due(
        now=NOW,
        next_attempt_at=NOW + timedelta(hours=1),
        held_at=held_at,
        mirakl_updated=NOW - timedelta(minutes=15),
    )
