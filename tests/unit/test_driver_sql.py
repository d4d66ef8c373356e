"""Which values may go to the driver as they are (the order writer's statements compiled once)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import Boolean, Enum, Integer, Numeric, String
from sqlalchemy.dialects.mysql import pymysql as mysql_pymysql
from sqlalchemy.dialects.sqlite import pysqlite

from bridge.shop.rows import passes_through
from bridge.shop.schema import ShopDate, ShopDateTime

MYSQL, SQLITE = mysql_pymysql.dialect(), pysqlite.dialect()


@pytest.mark.parametrize("type_", [Integer(), Numeric(20, 6), String(32), ShopDateTime(), ShopDate()])
def test_plain_and_shop_date_types_reach_mysql_unchanged(type_: object) -> None:
    assert passes_through(type_, MYSQL)
    process = type_._cached_bind_processor(MYSQL)  # type: ignore[attr-defined]
    for value in (datetime(2026, 3, 2, 10, 30), date(2026, 3, 2), "0000-00-00 00:00:00", None, 7):
        assert (process(value) if process else value) == value


@pytest.mark.parametrize("type_", [Boolean(), Enum("a", "b")])
def test_types_with_a_bind_processor_go_through_core(type_: object) -> None:
    assert not passes_through(type_, MYSQL)


def test_shop_dates_are_converted_for_sqlite() -> None:
    assert not passes_through(ShopDateTime(), SQLITE)
    assert not passes_through(ShopDate(), SQLITE)
