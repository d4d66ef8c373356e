"""Bulk writes of offer-state rows with ``LOAD DATA LOCAL INFILE`` (MariaDB/MySQL through PyMySQL).

The rows come from a tab-separated file (:mod:`bridge.state.offers_sent`) and are loaded straight
into the state table when the platform has no row yet, else into a temporary staging table then
merged into the state table with one ``INSERT … SELECT … ON DUPLICATE KEY UPDATE`` compiled by
SQLAlchemy; the load and the merge are separate steps so that the load can run while Mirakl
processes the import. Values never enter SQL text: they travel in the file, in ``LOAD DATA``'s escaped format
(``\\N`` for NULL; backslash, tab, newline, carriage return and NUL escaped), and the file's name is a
bound parameter. It replaces the driver's ``executemany``, whose per-parameter escaping in Python was
most of the cost of recording a first full export (200,000 rows).

Security (docs/security.md): a client that allows ``LOAD DATA LOCAL`` lets the server ask it for
a file. Only a dedicated connection, opened for this write and closed after it, allows it, and that
connection sends only the file the bridge itself named in its statement; any other request from
the server is refused. When the server refuses ``LOCAL`` (``local_infile`` OFF), the caller falls
back to ``executemany`` (same rows).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Integer, MetaData, Table, create_engine, delete, null, select
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})

# errors meaning "not allowed here": LOCAL off (MariaDB 4166, MariaDB/MySQL 1148, MySQL 8 3948, client
# 2068), no right to create a temporary table (1044, 1142)
REFUSED_CODES = frozenset({4166, 1148, 3948, 2068, 1044, 1142})


class LoadRefused(Exception):
    """The server (or its configuration) does not accept ``LOAD DATA LOCAL``: use the other path."""


NULL = "\\N"


def escape(text: str) -> str:
    """A text value in ``LOAD DATA``'s default escaped format (most values have nothing to escape)."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text or "\0" in text:
        return text.translate(_ESCAPES)
    return text


_UNESCAPES = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r", "\\0": "\0"}
_ESCAPED = re.compile(r"\\[\\tnr0]")


def unescape(text: str) -> str:
    """The inverse of :func:`escape`."""
    return _ESCAPED.sub(lambda m: _UNESCAPES[m.group()], text) if "\\" in text else text


def tsv_cell(value: Any) -> str:
    """One value in ``LOAD DATA``'s default escaped format."""
    if value is None:
        return NULL
    if type(value) is Decimal:
        return format(value, "f")
    return escape(value if type(value) is str else str(value))


def supported(engine: Engine) -> bool:
    """PyMySQL on MariaDB/MySQL, with the two PyMySQL internals the guard overrides still present: a
    PyMySQL that renamed them gets the executemany path, never an unguarded ``local_infile``."""
    if engine.dialect.name not in ("mysql", "mariadb") or engine.dialect.driver != "pymysql":
        return False
    import pymysql.connections  # type: ignore[import-untyped]

    return hasattr(pymysql.connections.MySQLResult, "_read_load_local_packet") and hasattr(
        pymysql.connections.Connection, "_read_query_result"
    )


def _guarded_connection_class() -> type:
    import pymysql.connections  # type: ignore[import-untyped]
    from pymysql import err
    from pymysql.protocol import LoadLocalPacketWrapper  # type: ignore[import-untyped]

    class GuardedResult(pymysql.connections.MySQLResult):  # type: ignore[misc]
        def _read_load_local_packet(self, first_packet: Any) -> None:
            conn = self.connection
            asked = LoadLocalPacketWrapper(first_packet).filename
            allowed = getattr(conn, "bridge_load_file", None)
            if allowed is None or asked != allowed:
                conn.write_packet(b"")  # send nothing: the server ends the statement
                conn._read_packet()  # noqa: SLF001 - its answer (an error packet raises here)
                raise err.OperationalError(2068, f"the server asked for a file the bridge did not name: {asked!r}")
            super()._read_load_local_packet(first_packet)

    class GuardedConnection(pymysql.connections.Connection):  # type: ignore[misc]
        """PyMySQL connection that sends, on a LOAD DATA LOCAL request, only ``bridge_load_file``."""

        bridge_load_file: bytes | None = None

        def _read_query_result(self, unbuffered: bool = False) -> int:
            self._result = None
            result = GuardedResult(self)
            if unbuffered:
                result.init_unbuffered_query()
            else:
                result.read()
            self._result = result
            if result.server_status is not None:
                self.server_status = result.server_status
            return int(result.affected_rows or 0)

    return GuardedConnection


def local_infile_engine(engine: Engine) -> Engine:
    """An engine without pool whose single connection allows LOAD DATA LOCAL (guarded), with the same
    URL, character set and session settings (sql_mode, time_zone) as ``engine``'s connections."""
    cls = _guarded_connection_class()
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    cparams = {**cparams, "charset": "utf8mb4", "local_infile": True}
    cparams.setdefault("connect_timeout", 10)
    with engine.connect() as conn:
        sql_mode, time_zone = conn.exec_driver_sql("SELECT @@SESSION.sql_mode, @@SESSION.time_zone").one()

    def creator() -> Any:
        raw = cls(*cargs, **cparams)
        with raw.cursor() as cur:
            cur.execute("SET SESSION sql_mode = %s, time_zone = %s", (sql_mode, time_zone))
        return raw

    return create_engine(engine.url, creator=creator, poolclass=NullPool)


class NotAllNew(Exception):
    """A direct load met rows that already exist (or equal under the column's collation)."""


_LOAD_OPTIONS = "CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'"


@dataclass
class LoadedRows:
    """Rows loaded by :func:`load_rows` on a connection's open transaction, not merged yet."""

    table: Table  # the target itself (direct) or the temporary staging table
    target: Table
    columns: tuple[str, ...]  # every column loaded (the file's, then the constants)
    direct: bool
    count: int

    def drop(self, conn: Connection, key: str, values: Sequence[Any], **match: Any) -> int:
        """Remove the loaded rows whose ``key`` column is in ``values`` and whose ``match`` columns have
        those values (rows left out after all; a direct load shares the table with other rows)."""
        removed = 0
        column = self.table.c[key]
        same = [self.table.c[name] == value for name, value in match.items()]
        for i in range(0, len(values), 1000):
            stmt = delete(self.table).where(column.in_(list(values[i:i + 1000])), *same)
            removed += conn.execute(stmt).rowcount or 0
        self.count -= removed
        return removed

    def merge(self, conn: Connection, nulls: tuple[str, ...]) -> None:
        """Upsert staged rows into the target in file order: every column updated on an existing (primary
        key) row, ``nulls`` set to NULL -- the same result as the rows' upserts one after the other.
        Nothing to do for a direct load."""
        if self.direct:
            return
        target, table, every = self.target, self.table, self.columns
        ins = mysql.insert(target).from_select(list(every), select(*(table.c[c] for c in every)).order_by(table.c.seq))
        conn.execute(ins.on_duplicate_key_update({**{c: ins.inserted[c] for c in every if c not in ("platform", "sku")},
                                                  **{c: null() for c in nulls}}))
        conn.exec_driver_sql(f"DROP TEMPORARY TABLE `{table.name}`")


def load_rows(conn: Connection, target: Table, cols: tuple[str, ...], path: str, count: int, *,
              direct: bool = False, constants: dict[str, Any] | None = None) -> LoadedRows:
    """Load the ``count`` rows of ``cols`` in ``path`` on ``conn``'s transaction, for ``target``.

    ``constants``: columns with the same value on every row (``LOAD DATA … SET``, bound parameters).
    ``direct``: loaded straight into ``target``, for rows that cannot exist yet; ``NotAllNew`` when
    some did (a LOCAL load skips them with a warning): roll back and stage instead. Otherwise loaded
    into a temporary staging table (``CREATE TEMPORARY TABLE`` does not end the transaction) that
    :meth:`LoadedRows.merge` upserts. ``LoadRefused`` when the server does not allow it (LOCAL off,
    no right to create a temporary table).
    """
    constants = constants or {}
    every = (*cols, *constants)
    quote = conn.dialect.identifier_preparer.quote
    column_list = ", ".join(quote(c) for c in cols)  # identifiers of the reflected table only
    if direct:
        table = target
    else:
        table = Table(target.name + "_load", MetaData(), Column("seq", Integer, primary_key=True, autoincrement=True),
                      *(Column(c, target.c[c].type) for c in every), prefixes=["TEMPORARY"])
    load = f"LOAD DATA LOCAL INFILE %s INTO TABLE {quote(table.name)} {_LOAD_OPTIONS} ({column_list})"
    if constants:
        load += " SET " + ", ".join(f"{quote(c)} = %s" for c in constants)
    raw: Any = conn.connection.driver_connection
    raw.bridge_load_file = os.fsencode(path)
    try:
        if not direct:
            conn.exec_driver_sql(f"DROP TEMPORARY TABLE IF EXISTS `{table.name}`")
            table.create(conn)
        loaded = conn.exec_driver_sql(load, (path, *constants.values())).rowcount
    except DBAPIError as exc:
        code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
        if code in REFUSED_CODES:
            raise LoadRefused(str(exc.orig)) from exc
        raise
    finally:
        raw.bridge_load_file = None
    warnings = conn.exec_driver_sql("SHOW COUNT(*) WARNINGS").scalar()
    if direct and (loaded != count or warnings):
        raise NotAllNew(f"{count - loaded} of {count} rows already there")
    if loaded != count or warnings:
        raise RuntimeError(f"LOAD DATA loaded {loaded} of {count} rows with {warnings} warnings")
    return LoadedRows(table, target, every, direct, count)
