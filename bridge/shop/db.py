"""Engine creation and named locks. Dialect differences (MariaDB/MySQL vs the demo's SQLite) live here."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Select, create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from bridge.errors import LockBusyError

# Our own connections use a known, strict-enough mode whatever the server default is.
SESSION_SQL_MODE = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
SESSION_STATEMENTS = (
    "SET SESSION sql_mode = '" + SESSION_SQL_MODE + "'",
    "SET SESSION time_zone = '+00:00'",  # our DATETIME columns hold UTC; NOW() agrees
)


def make_engine(url: str, *, connect_timeout_s: int = 10, pool_size: int = 5, echo: bool = False) -> Engine:
    """Engine for the shop database: pymysql, utf8mb4, pool_pre_ping, UTC session time zone."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _rec: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=3600,
        connect_args={"charset": "utf8mb4", "connect_timeout": connect_timeout_s},
    )

    @event.listens_for(engine, "connect")
    def _session_setup(dbapi_conn: Any, _rec: Any) -> None:
        cur = dbapi_conn.cursor()
        for statement in SESSION_STATEMENTS:
            cur.execute(statement)
        cur.close()

    return engine


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


# --- named locks ---------------------------------------------------------------------------------

_local_locks: dict[str, threading.Lock] = {}
_local_guard = threading.Lock()


@contextlib.contextmanager
def named_lock(engine: Engine, name: str, *, timeout_s: float = 0) -> Iterator[Connection]:
    """Hold a server-wide named lock (MySQL GET_LOCK) for the duration of the block.

    The lock lives on a dedicated connection, so it also excludes other processes and the legacy
    PHP module if it uses the same name. Raises LockBusyError when another session holds it.
    On SQLite (single-process demo) a process-local lock stands in.
    """
    name = name[:64]
    if is_sqlite(engine):
        with _local_guard:
            lock = _local_locks.setdefault(name, threading.Lock())
        if not lock.acquire(timeout=timeout_s if timeout_s > 0 else -1) if timeout_s > 0 else not lock.acquire(
            blocking=False
        ):
            raise LockBusyError(name)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            lock.release()
        return
    conn = engine.connect()
    try:
        got = conn.execute(text("SELECT GET_LOCK(:n, :t)"), {"n": name, "t": timeout_s}).scalar()
        conn.commit()
        if got != 1:
            raise LockBusyError(name)
        try:
            yield conn
        finally:
            with contextlib.suppress(Exception):
                conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": name})
                conn.commit()
    finally:
        conn.close()


def stream_rows(conn: Connection, query: Select[Any], chunk_rows: int) -> Iterator[Sequence[Sequence[Any]]]:
    """The rows of a large SELECT in chunks, streamed (the result is never held whole); each row a
    sequence in the SELECT's column order.

    On PyMySQL the statement SQLAlchemy compiled (bound parameters) runs through ``exec_driver_sql`` --
    the Connection's transaction, events, logging and error handling apply -- on an unbuffered
    ``SSCursor`` (the connection's cursor class for that one call), and the rows are then taken from
    that cursor as plain tuples: no SQLAlchemy row objects (measured: ~15 % of a full offers run's CPU)
    and no result processing, for queries whose columns need none (ints, strings, Decimals; not our
    UTC DATETIME type). Driver errors while fetching are raised as SQLAlchemy's. Other drivers run the
    Core statement streamed (SQLite needs the Numeric processors). Close the iterator (or exhaust it)
    before the connection's next statement.
    """
    if conn.dialect.driver != "pymysql":
        result = conn.execution_options(stream_results=True, yield_per=chunk_rows).execute(query)
        try:
            yield from result.partitions(chunk_rows)
        finally:
            result.close()
        return
    import pymysql.cursors  # type: ignore[import-untyped]

    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    sql, params = compiled.string, compiled.params
    raw: Any = conn.connection.driver_connection
    default_class = raw.cursorclass
    raw.cursorclass = pymysql.cursors.SSCursor  # a plain (not "server side") execution: SQLAlchemy reads nothing ahead
    try:
        result = conn.exec_driver_sql(sql, params)
    finally:
        raw.cursorclass = default_class
    try:
        cursor = result.cursor
        try:
            rows = cursor.fetchmany(chunk_rows)
            while rows:
                yield rows
                rows = cursor.fetchmany(chunk_rows)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error) from exc
    finally:
        result.close()
