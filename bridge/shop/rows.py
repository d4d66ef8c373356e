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

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.types import Date, DateTime, Integer, Numeric, String

from bridge.shop.schema import ShopDateTime

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


# --- statements compiled once, executed through the driver -------------------------------------------
#
# An order writes ~20 small statements. Through Core each execution builds the statement, its cache
# key, an execution context with parameter processing, and (for several rows) the insertmanyvalues
# batches: about as much Python as the round trip itself. On MariaDB/MySQL the SQL text below is
# compiled once by SQLAlchemy (bound parameters, reflected identifiers) and executed with
# ``exec_driver_sql`` -- still through the Connection, so its transaction, events and error handling
# apply. It is used only when no parameter of the statement needs a type processor (PyMySQL takes
# the values as they are: int, str, Decimal, datetime); otherwise, and on SQLite (Decimal needs the
# column type's processor), the Core statement runs as before.


def _compiled(conn: Any, table: Table, key: tuple[Any, ...], build: Callable[[], Any]) -> tuple[str, Any] | None:
    """``(sql, parameters)`` of the statement ``build()`` for this dialect -- ``parameters(values)`` gives
    what the driver takes, constants of the statement included -- or None when it must go through Core."""
    if conn.dialect.name != "mysql":
        return None
    store = table.info.setdefault("bridge_driver_sql", {})
    full = (conn.dialect.name, *key)
    if full not in store:
        compiled = build().compile(dialect=conn.dialect)
        binds = compiled.binds
        plain = not compiled.escaped_bind_names and all(
            not b.expanding and not b.literal_execute and b.callable is None and passes_through(b.type, conn.dialect)
            for b in binds.values())
        constants = {name: b.value for name, b in binds.items() if not b.required}
        order = tuple(compiled.positiontup or ()) if compiled.positional else None

        def parameters(values: dict[str, Any]) -> Any:
            merged = {**constants, **values} if constants else values
            return tuple(merged[name] for name in order) if order is not None else merged

        store[full] = (compiled.string, parameters) if plain else None
    return store[full]  # type: ignore[no-any-return]


_QUEUED = object()  # outcome of a statement queued in a Batch


def _send(conn: Any, table: Table, key: tuple[Any, ...] | None, build: Callable[[], Any],
          params: Callable[[], dict[str, Any]]) -> tuple[Any, Any]:
    """``(connection, outcome)`` of the statement ``build()`` (cached under ``table`` and ``key``; ``key``
    None: Core only). Outcome: ``_QUEUED`` when a :class:`Batch` queued it, the driver's result when it
    went through the driver, None when the caller must run it through Core on the returned connection
    (a Batch is flushed first, so the statements keep their order)."""
    if isinstance(conn, Batch):
        fast = _compiled(conn.conn, table, key, build) if key is not None else None
        if fast is not None and conn.queue(fast[0], fast[1](params())):
            return conn.conn, _QUEUED
        conn.flush()
        conn = conn.conn
    fast = _compiled(conn, table, key, build) if key is not None else None
    return conn, (None if fast is None else conn.exec_driver_sql(fast[0], fast[1](params())))


def execute(conn: Any, table: Table, key: tuple[Any, ...], build: Callable[[], Any], params: dict[str, Any]) -> Any:
    """Run the statement ``build()`` (cached under ``table`` and ``key``) with ``params``: through the driver
    when it can (see above), else through Core. The result's rows are not type-processed on the driver path."""
    conn, out = _send(conn, table, key, build, lambda: params)
    if out is _QUEUED:
        return None
    return out if out is not None else conn.execute(cached(table, key, build), params)


def passes_through(type_: Any, dialect: Any) -> bool:
    """Does a value of this type reach the driver unchanged? True without a bind processor, and for the
    shop's date types on MariaDB/MySQL (``ShopDateTime.process_bind_param`` converts for SQLite only)."""
    if type_._cached_bind_processor(dialect) is None:
        return True
    return (isinstance(type_, ShopDateTime) and dialect.name != "sqlite"
            and type(type_).process_bind_param is ShopDateTime.process_bind_param
            and type_.load_dialect_impl(dialect)._cached_bind_processor(dialect) is None)


def _values_statement(table: Table, cols: tuple[str, ...], n: int) -> Any:
    values = [{c: bindparam(f"r{i}_{j}", type_=table.c[c].type) for j, c in enumerate(cols)} for i in range(n)]
    return insert(table).values(values[0] if n == 1 else values)


def _flat(rows: list[dict[str, Any]], cols: tuple[str, ...]) -> dict[str, Any]:
    return {f"r{i}_{j}": row[c] for i, row in enumerate(rows) for j, c in enumerate(cols)}


def _same_columns(rows: list[dict[str, Any]]) -> tuple[str, ...] | None:
    cols = tuple(rows[0])
    return cols if all(len(r) == len(cols) and all(c in r for c in cols) for r in rows) else None


def insert_row(conn: Any, table: Table, row: dict[str, Any]) -> int:
    """Insert one row; its auto-increment id (0 when the table has none, or when queued in a :class:`Batch`)."""
    cols = tuple(row)
    conn, out = _send(conn, table, ("insert", cols, 1), lambda: _values_statement(table, cols, 1),
                      lambda: _flat([row], cols))
    if out is _QUEUED:
        return 0
    if out is not None:
        return int(out.lastrowid or 0)
    result = conn.execute(cached(table, ("insert",), lambda: insert(table)), row)
    pk = result.inserted_primary_key if table.autoincrement_column is not None else None
    return int(pk[0]) if pk and pk[0] is not None else 0


def insert_rows(conn: Any, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows in one statement (one multi-row VALUES)."""
    if not rows:
        return
    cols = _same_columns(rows)
    conn, out = _send(conn, table, ("insert", cols, len(rows)) if cols else None,
                      lambda: _values_statement(table, cols, len(rows)),  # type: ignore[arg-type]
                      lambda: _flat(rows, cols))  # type: ignore[arg-type]
    if out is None:
        conn.execute(cached(table, ("insert",), lambda: insert(table)), rows)


def insert_returning_ids(conn: Any, table: Table, rows: list[dict[str, Any]]) -> list[int] | None:
    """Insert rows in one round trip and return their auto-increment ids in the rows' order, or None
    (nothing written) when the server cannot (``INSERT … RETURNING``: MariaDB 10.5+, SQLite)."""
    if not getattr(conn.dialect, "insert_executemany_returning_sort_by_parameter_order", False):
        return None
    pk = table.autoincrement_column
    if pk is None:
        raise ValueError(f"{table.name} has no auto-increment column")
    cols = _same_columns(rows)
    fast = _compiled(conn, table, ("insert_returning", cols, len(rows)),
                     lambda: _values_statement(table, cols, len(rows)).returning(pk)) if cols else None
    if fast is not None:
        # one multi-row VALUES: MariaDB returns the rows in VALUES order (what SQLAlchemy's
        # sort_by_parameter_order relies on for this dialect)
        result = conn.exec_driver_sql(fast[0], fast[1](_flat(rows, cols)))  # type: ignore[arg-type]
    else:
        stmt = cached(table, ("insert_returning",), lambda: insert(table).returning(pk, sort_by_parameter_order=True))
        result = conn.execute(stmt, rows)
    return sorted(int(r[0]) for r in result)  # ids are given in VALUES order (what SQLAlchemy sorts on too)


# --- several statements in one round trip, on a connection that allows it ------------------------------
#
# The tail of an order (detail taxes, carrier, payment, history, message, sales, stock) is ~9 inserts and
# updates whose results nothing reads but their errors: each a round trip of its own. On a connection
# where :func:`allow_batches` switched on the server's multi-statement option (the import run's own
# connection only; see docs/security.md, "Multi-statement batches"), :class:`Batch` queues the statements
# that take the driver path and sends them as one ``exec_driver_sql`` (SQL texts compiled once and joined
# with ``;``, every value a bound parameter). Their results are read at once inside SQLAlchemy's execution
# (``after_cursor_execute``), so an error of any of them (deadlock, lost connection, constraint) is raised
# there and wrapped like any other. Elsewhere (SQLite, pooled connections, Core-path statements) a Batch
# runs each statement at once, in the same order.

BATCHES = "bridge_batches"  # conn.info key: multi-statement option on for this connection
_BATCH_RESULTS = "bridge_batch_results"  # execution option: the list receiving (rowcount, lastrowid) per statement


def allow_batches(conn: Any) -> bool:
    """Switch the server's multi-statement option on for ``conn`` (MariaDB/MySQL, ``COM_SET_OPTION``) and
    read batch results on it. The connection must not go back to the pool afterwards (invalidate it)."""
    if conn.dialect.name != "mysql" or conn.info.get(BATCHES):
        return bool(conn.info.get(BATCHES))
    import struct

    from pymysql.constants import COMMAND
    from sqlalchemy import event

    raw = conn.connection.driver_connection
    if not hasattr(raw, "_execute_command"):  # not PyMySQL
        return False
    from pymysql.err import Error as DriverError

    try:
        raw._execute_command(COMMAND.COM_SET_OPTION, struct.pack("<H", 0))  # MYSQL_OPTION_MULTI_STATEMENTS_ON
        packet = raw._read_packet()  # an error packet raises here (read whole: the connection stays usable)
    except DriverError:  # a server or proxy refusing it: statements go one by one
        return False
    if not (packet.is_eof_packet() or packet.is_ok_packet()):
        raise RuntimeError("unexpected answer to COM_SET_OPTION")
    event.listen(conn, "after_cursor_execute", _read_batch_results)
    conn.info[BATCHES] = True
    return True


def _read_batch_results(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                        executemany: bool) -> None:
    out = context.execution_options.get(_BATCH_RESULTS) if context is not None else None
    if out is None:
        return
    out.append((cursor.rowcount, cursor.lastrowid))
    while cursor.nextset():  # raises the error of a later statement (the server stops at the first one)
        out.append((cursor.rowcount, cursor.lastrowid))


_PYFORMAT = re.compile(r"%%|%\((\w+)\)s")
_RENAMED: dict[tuple[str, int], str] = {}


def _renamed(sql: str, i: int) -> str:
    """``sql`` (PyMySQL's pyformat) with its parameter names prefixed ``s<i>_`` (``%%`` left as it is)."""
    key = (sql, i)
    found = _RENAMED.get(key)
    if found is None:
        found = _PYFORMAT.sub(lambda m: m.group(0) if m.group(1) is None else f"%(s{i}_{m.group(1)})s", sql)
        _RENAMED[key] = found
    return found


class Batch:
    """Statements of one transaction sent together when the connection allows it (see above), else one by one.

    ``insert_row`` / ``insert_rows`` / ``execute`` of this module accept a Batch in place of the connection;
    ``deferring`` tells whether ids of queued inserts are unknown (0) until :meth:`flush`."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.deferring = bool(conn.info.get(BATCHES))
        self._sql: list[str] = []
        self._params: list[Any] = []
        self.results: list[tuple[int, int]] = []  # (rowcount, lastrowid) of every queued statement sent so far

    def queue(self, sql: str, params: Any) -> bool:
        """Queue a driver-path statement; False (nothing queued) when it must run now."""
        if not self.deferring or not isinstance(params, dict):
            return False
        i = len(self._sql)
        self._sql.append(_renamed(sql, i))
        self._params.append({f"s{i}_{k}": v for k, v in params.items()})
        return True

    def flush(self) -> list[tuple[int, int]]:
        """Send what is queued (one round trip); ``(rowcount, lastrowid)`` per statement."""
        sql, params = self._sql, self._params
        self._sql, self._params = [], []
        if not sql:
            return []
        out: list[tuple[int, int]] = []
        merged = {k: v for p in params for k, v in p.items()}
        self.conn.exec_driver_sql(";\n".join(sql), merged, execution_options={_BATCH_RESULTS: out})
        if len(out) != len(sql):
            raise RuntimeError(f"a batch of {len(sql)} statements gave {len(out)} results")
        self.results += out
        return out

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        """``Connection.execute`` after what is queued (keeps the statements' order)."""
        self.flush()
        return self.conn.execute(*args, **kwargs)
