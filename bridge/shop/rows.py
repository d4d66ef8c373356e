"""Row helpers for writing PrestaShop tables whose exact columns vary between versions.

- ``fit`` makes a text value storable: 4-byte characters dropped when the table is utf8mb3 (1.6),
  truncated to the column's length, with a warning naming the column.
- ``complete`` fills every NOT NULL column without a server default that a row leaves out with the
  neutral value PrestaShop's ObjectModel would write ('' / 0 / zero date), so that a column added by
  some version never makes an insert fail.
- ``local_naive`` converts an aware UTC datetime to the shop's local time (``PS_TIMEZONE``).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table
from sqlalchemy.types import Date, DateTime, Integer, Numeric, String

ZERO_DATETIME = "0000-00-00 00:00:00"
ZERO_DATE = "0000-00-00"
_NON_BMP = re.compile("[\U00010000-\U0010FFFF]")
_DEFAULTS_CACHE: weakref.WeakKeyDictionary[Table, dict[str, Any]] = weakref.WeakKeyDictionary()


def local_naive(now: datetime, tz_name: str) -> datetime:
    """``now`` (aware) in the shop's time zone, naive, to the second (PrestaShop's date columns)."""
    if now.tzinfo is None:
        raise ValueError("an aware datetime is required")
    try:
        tz: Any = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        tz = UTC
    return now.astimezone(tz).replace(tzinfo=None, microsecond=0)


def is_utf8mb3(table: Table) -> bool:
    charset = str(table.dialect_kwargs.get("mysql_default charset", "") or "").lower()
    return charset in ("utf8", "utf8mb3")


def column_length(table: Table, column: str) -> int | None:
    col = table.c.get(column)
    length = getattr(col.type, "length", None) if col is not None else None
    return int(length) if length else None


def storable(table: Table, text: str | None) -> str:
    """``text`` without the 4-byte characters a utf8mb3 table (1.6) cannot store."""
    return _NON_BMP.sub("", text or "") if is_utf8mb3(table) else (text or "")


def fit(table: Table, column: str, value: str | None, warnings: list[str] | None = None,
        label: str = "") -> str:
    """``value`` cut to what ``table.column`` stores (characters, and utf8mb3 without 4-byte chars)."""
    text = value or ""
    if is_utf8mb3(table) and _NON_BMP.search(text):
        text = _NON_BMP.sub("", text)
        if warnings is not None:
            warnings.append(f"{label or column}: 4-byte characters dropped ({table.name} is utf8mb3)")
    length = column_length(table, column)
    if length and len(text) > length:
        if warnings is not None:
            warnings.append(f"{label or column}: truncated to {length} characters ({table.name}.{column})")
        text = text[:length].rstrip()
    return text


def _neutral(col: Any) -> Any:
    t = col.type
    if isinstance(t, DateTime):
        return ZERO_DATETIME
    if isinstance(t, Date):
        return ZERO_DATE
    if isinstance(t, Numeric) and not isinstance(t, Integer):
        return Decimal(0)
    if isinstance(t, Integer):
        return 0
    if isinstance(t, String) or hasattr(t, "length"):
        return ""
    return 0


def _missing_defaults(table: Table) -> dict[str, Any]:
    cached = _DEFAULTS_CACHE.get(table)
    if cached is None:
        auto = table.autoincrement_column
        cached = {
            c.name: _neutral(c)
            for c in table.columns
            if not c.nullable and c.server_default is None and c is not auto
        }
        _DEFAULTS_CACHE[table] = cached
    return cached


def complete(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` restricted to the table's columns, plus neutral values for unset NOT NULL columns."""
    out = {k: v for k, v in _missing_defaults(table).items() if k not in row}
    out.update({k: v for k, v in row.items() if k in table.c})
    return out


def cached(table: Table, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    """A statement built once per reflected table and ``key`` (kept in ``table.info``).

    Reusing the same statement object spares SQLAlchemy the construction and the cache-key
    computation on every order; variable parts are ``bindparam``s (``expanding`` for IN lists).
    """
    store = table.info.setdefault("bridge_statements", {})
    if key not in store:
        store[key] = build()
    return store[key]


def new_id(result: Any) -> int:
    """The auto-increment id of a single-row INSERT."""
    pk = result.inserted_primary_key
    if pk is None or pk[0] is None:
        raise RuntimeError("the insert returned no primary key")
    return int(pk[0])


def blank_to_null(value: str | None) -> str | None:
    return value if value else None
