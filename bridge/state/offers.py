"""Offer state per platform: what Mirakl accepted (digest + values), what is pending, the imports.

All writes are set-based (executemany / one UPDATE per import; large outcomes through
``LOAD DATA LOCAL``, :mod:`bridge.state.offers_load`). Lines move from ``pending`` to
``accepted`` only when their import completed and the error report does not name them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any, NamedTuple, Self

import structlog
from sqlalchemy import and_, bindparam, case, delete, insert, null, select, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection, Engine

from bridge.domain.offers import GONE, StoredDigests
from bridge.shop.db import stream_rows
from bridge.state import offers_load, offers_sent
from bridge.state.offers_sent import SentLines
from bridge.state.tables import bridge_tables

log = structlog.get_logger(__name__)

FINAL = ("COMPLETE", "FAILED")
TOKEN_PREFIX = "run:"
CHUNK = 1000


class PendingLine(NamedTuple):
    """A line sent (or to send) and its values; a tuple (cheap to build and to spool)."""

    sku: str
    id_product: int
    id_product_attribute: int
    digest: bytes
    quantity: int
    price: Decimal
    discount_price: Decimal | None = None
    discount_start: date | None = None
    discount_end: date | None = None


@dataclass(frozen=True)
class OpenImport:
    import_id: str
    full_sync: bool
    lines: int
    submitted_at: datetime


def _day(value: date | None) -> datetime | None:
    return None if value is None else datetime.combine(value, time(0, 0), tzinfo=timezone.utc)


BULK_MIN_ROWS = 2000  # accepted lines from which LOAD DATA pays for its second connection and staging table


@dataclass
class PreparedOutcome:
    """Lines loaded on a dedicated connection's open transaction (:meth:`OfferStateRepo.prepare_outcome`);
    closing it rolls back whatever was not committed and closes the connection."""

    engine: Engine
    conn: Connection
    trans: Any
    loaded: offers_load.LoadedRows
    stamp: Any

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self.trans.is_active:
                self.trans.rollback()
            self.conn.close()
        finally:
            self.engine.dispose()


class OfferStateRepo:
    def __init__(self, engine: Engine, prefix: str, *, bulk_load: bool = True, bulk_min_rows: int = BULK_MIN_ROWS
                 ) -> None:
        self.engine = engine
        # LOAD DATA LOCAL for large outcome writes (MariaDB/MySQL through PyMySQL); turned off for the
        # rest of the run when the server refuses it
        self.bulk_load = bulk_load and offers_load.supported(engine)
        self.bulk_min_rows = bulk_min_rows
        self.t = bridge_tables(prefix)
        self.offer = self.t.offer
        self.imports = self.t.offer_import
        self._sql_cache: dict[tuple[str, ...], str] = {}
        # Decimal → what the driver takes for a NUMERIC column: PyMySQL escapes Decimal itself; others
        # (sqlite3 refuses Decimal) get the column type's own processor, as a Core execute would apply.
        dialect = engine.dialect
        self._money = (None if dialect.name in ("mysql", "mariadb")
                       else self.offer.c.price.type.bind_processor(dialect))

    def _money_rows(self, rows: list[tuple[Any, ...]], *positions: int) -> list[tuple[Any, ...]]:
        """``rows`` with the Decimal cells at ``positions`` converted for the driver (no-op on MySQL)."""
        process = self._money
        if process is None or not rows:
            return rows
        out = []
        for row in rows:
            cells = list(row)
            for i in positions:
                if cells[i] is not None:
                    cells[i] = process(cells[i])
            out.append(tuple(cells))
        return out

    # --- reading ------------------------------------------------------------------------------

    def load_digests(self, platform: str) -> dict[str, object]:
        """sku → 16-byte digest Mirakl accepted; ``b""`` when the last send was rejected; None never accepted."""
        o = self.offer
        out: dict[str, object] = {}
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=5000).execute(
                select(o.c.sku, o.c.hash, o.c.status).where(o.c.platform == platform))
            for sku, digest, status in result:
                if digest is None:
                    out[sku] = None
                elif status == "rejected":
                    out[sku] = b""
                else:
                    out[sku] = bytes.fromhex(digest)
        return out

    def load_compact_digests(self, platform: str) -> StoredDigests:
        """The same as :meth:`load_digests` in 40 bytes per SKU, in ref order (names streamed again only if needed)."""
        o = self.offer

        def rows() -> Iterator[Sequence[Sequence[Any]]]:
            """In ref order (the ref index of a delta run needs no sort then), in chunks."""
            query = (select(o.c.sku, o.c.hash, o.c.status, o.c.id_product, o.c.id_product_attribute)
                     .where(o.c.platform == platform).order_by(o.c.id_product, o.c.id_product_attribute))
            with self.engine.connect() as conn:
                yield from stream_rows(conn, query, 5000)

        def names() -> Iterator[str]:
            with self.engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=5000).execute(
                    select(o.c.sku).where(o.c.platform == platform))
                for (sku,) in result:
                    yield sku

        return StoredDigests.from_state(rows(), names)  # type: ignore[arg-type]

    def last_values(self, platform: str, skus: Sequence[str]) -> dict[str, tuple[Decimal, int, int]]:
        """sku → (last accepted price, id_product, id_product_attribute), for zeroing vanished offers."""
        o = self.offer
        out = {}
        with self.engine.connect() as conn:
            for i in range(0, len(skus), CHUNK):
                rows = conn.execute(select(o.c.sku, o.c.price, o.c.id_product, o.c.id_product_attribute).where(
                    o.c.platform == platform, o.c.sku.in_(list(skus[i:i + CHUNK])), o.c.price.is_not(None)))
                out.update({r[0]: (Decimal(r[1]), int(r[2]), int(r[3])) for r in rows})
        return out

    def open_imports(self, platform: str) -> list[OpenImport]:
        oi = self.imports
        with self.engine.connect() as conn:
            rows = conn.execute(select(oi.c.import_id, oi.c.full_sync, oi.c.lines, oi.c.submitted_at).where(
                oi.c.platform == platform, oi.c.status.not_in(FINAL)).order_by(oi.c.id)).all()
        return [OpenImport(str(r[0]), bool(r[1]), int(r[2]), r[3]) for r in rows]

    # --- pending lines ------------------------------------------------------------------------

    def _upsert(self, dialect: str, cols: tuple[str, ...] = (), nulls: tuple[str, ...] = ()) -> Any:
        """Insert, or update ``cols`` (and set ``nulls`` to NULL) when the (platform, sku) row exists."""
        o = self.offer
        ins: Any = (mysql.insert(o) if dialect in ("mysql", "mariadb") else sqlite.insert(o))
        cols = tuple(c for c in cols if c not in ("platform", "sku")) or (
            "status", "pending_hash", "pending_quantity", "pending_price", "pending_discount_price",
            "pending_discount_start", "pending_discount_end", "pending_import_id", "sent_at", "updated_at",
            "id_product", "id_product_attribute")
        if dialect in ("mysql", "mariadb"):
            return ins.on_duplicate_key_update({**{c: ins.inserted[c] for c in cols}, **{c: null() for c in nulls}})
        return ins.on_conflict_do_update(index_elements=["platform", "sku"],
                                         set_={**{c: ins.excluded[c] for c in cols}, **{c: null() for c in nulls}})

    # Columns of the three set-based row writes, in table order (the tuples below follow them).
    _PENDING_COLS = ("platform", "sku", "id_product", "id_product_attribute", "status", "pending_hash",
                     "pending_import_id", "pending_quantity", "pending_price", "pending_discount_price",
                     "pending_discount_start", "pending_discount_end", "sent_at", "updated_at")
    _ACCEPTED_COLS = ("platform", "sku", "id_product", "id_product_attribute", "hash", "quantity", "price",
                      "discount_price", "discount_start", "discount_end", "status", "sent_at", "accepted_at",
                      "updated_at")
    _REJECTED_COLS = ("platform", "sku", "id_product", "id_product_attribute", "status", "last_error", "sent_at",
                      "updated_at")
    # left out of the INSERT (NULL by default) and set to NULL on an existing row: no parameter per row
    _NO_PENDING = ("pending_hash", "pending_import_id", "pending_quantity", "pending_price", "pending_discount_price",
                   "pending_discount_start", "pending_discount_end")
    # the spool file's columns (offers_sent.COLUMNS) loaded as the pending values (record_pending)
    _PENDING_FILE_COLS = tuple(c if c in ("sku", "id_product", "id_product_attribute") else f"pending_{c}"
                               for c in offers_sent.COLUMNS)

    def _rows_sql(self, cols: tuple[str, ...], nulls: tuple[str, ...] = ()) -> str:
        """An upsert of ``cols`` (each updated on a duplicate key), compiled once, positional placeholders.

        The SQL text comes from SQLAlchemy's compiler (bound parameters, reflected identifiers); only
        the execution goes straight to the driver's ``executemany`` with tuples, which skips the
        per-row, per-parameter processing of a Core executemany (about 4/5 of this write's CPU).
        """
        text = self._sql_cache.get((*cols, "|", *nulls))
        if text is None:
            dialect = self.engine.dialect
            positional = copy.copy(dialect)
            positional.paramstyle = "format" if dialect.name in ("mysql", "mariadb") else "qmark"
            positional.positional = True
            compiled = self._upsert(dialect.name, cols, nulls).compile(dialect=positional, column_keys=list(cols))
            if tuple(compiled.positiontup or ()) != cols:
                raise AssertionError(f"unexpected parameter order {compiled.positiontup}")
            text = self._sql_cache[(*cols, "|", *nulls)] = compiled.string
        return text

    def _pending_sql(self) -> str:
        return self._rows_sql(self._PENDING_COLS)

    def _db_time(self, value: datetime | None) -> Any:
        """An aware datetime as the driver takes it for a UTC DATETIME column (converted once per value).

        MariaDB/MySQL: the text pymysql would send for the naive UTC datetime (escaping a datetime per
        row is the driver's slowest conversion); other dialects: the column type's own processor.
        """
        if value is None:
            return None
        column_type = self.offer.c.sent_at.type
        dialect = self.engine.dialect
        if dialect.name in ("mysql", "mariadb"):
            return str(column_type.process_bind_param(value, dialect))  # type: ignore[attr-defined]
        process = column_type.bind_processor(dialect)
        return process(value) if process else value

    def _db_day(self, value: date) -> Any:
        return self._db_time(_day(value))

    def _days(self, ln: PendingLine) -> tuple[Any, Any]:
        return (self._db_time(_day(ln.discount_start)) if ln.discount_start is not None else None,
                self._db_time(_day(ln.discount_end)) if ln.discount_end is not None else None)

    def write_pending(self, platform: str, lines: Iterable[PendingLine], token: str, now: datetime) -> int:
        """Queue lines as ``pending`` under ``token`` (a run token, or the import id they were sent in)."""
        stamp = self._db_time(now)
        rows = [(platform, ln.sku, ln.id_product, ln.id_product_attribute, "pending", ln.digest.hex(), token,
                 ln.quantity, ln.price, ln.discount_price, *self._days(ln), stamp, stamp) for ln in lines]
        rows = self._money_rows(rows, 8, 9)
        if rows:
            sql = self._pending_sql()
            with self.engine.begin() as conn:
                conn.exec_driver_sql(sql, rows)
        return len(rows)

    def drop_pending(self, platform: str, token: str, skus: Iterable[str] | None = None) -> None:
        """Forget lines queued under ``token`` (all of them, or only ``skus``)."""
        o = self.offer
        cond = [o.c.platform == platform, o.c.pending_import_id == token]
        with self.engine.begin() as conn:
            if skus is None:
                conn.execute(self._clear(cond))
                return
            names = list(skus)
            for i in range(0, len(names), CHUNK):
                conn.execute(self._clear([*cond, o.c.sku.in_(names[i:i + CHUNK])]))

    def _clear(self, cond: list[Any], *, status: str | None = None, error: str | None = None) -> Any:
        """Clear the pending values; ``status`` None: accepted when Mirakl has a version, else rejected."""
        o = self.offer
        new_status = status if status else case((o.c.hash.is_(None), "rejected"), else_="accepted")
        return update(o).where(and_(*cond)).values(
            status=new_status, pending_hash=None, pending_quantity=None,
            pending_price=None, pending_discount_price=None, pending_discount_start=None,
            pending_discount_end=None, pending_import_id=None, **({"last_error": error} if error else {}))

    def clear_orphans(self, platform: str, now: datetime) -> int:
        """Lines queued by a run that never uploaded its file: they are simply computed again."""
        o = self.offer
        with self.engine.begin() as conn:
            res = conn.execute(self._clear([o.c.platform == platform, o.c.pending_import_id.like(TOKEN_PREFIX + "%")],
                                           status="rejected", error="the upload did not complete")
                               .values(updated_at=now))
            return int(res.rowcount or 0)

    # --- imports --------------------------------------------------------------------------------

    def record_import(self, platform: str, *, import_id: str, lines: int, full_sync: bool, now: datetime,
                      token: str | None = None) -> None:
        """The file was accepted for processing: the import row (and lines queued under ``token``, if any,
        bound to ``import_id``)."""
        o, oi = self.offer, self.imports
        with self.engine.begin() as conn:
            conn.execute(insert(oi).values(platform=platform, import_id=import_id, status="SUBMITTED",
                                           full_sync=full_sync, lines=lines, submitted_at=now))
            if token is not None:
                conn.execute(update(o).where(o.c.platform == platform, o.c.pending_import_id == token)
                             .values(pending_import_id=import_id))

    def record_outcome(self, platform: str, import_id: str,
                       sent: SentLines | Iterable[Sequence[PendingLine]], *, status: str,
                       rejected: Sequence[tuple[str, str]], lines_in_error: int | None, now: datetime,
                       reason: str = "", prepared: PreparedOutcome | None = None) -> int:
        """The final outcome of an import sent by this run, written once per line (no pending stage).

        ``sent``: the lines of the file (the pass's :class:`SentLines`, or batches of lines). COMPLETE:
        lines not named in ``rejected`` get the values sent as accepted; rejected lines (and every
        line of a FAILED import) keep their last accepted values, status ``rejected``. Same end state
        as :meth:`write_pending` + :meth:`finish_import`, with one write per line instead of three.
        Many accepted lines on MariaDB/MySQL go through ``LOAD DATA LOCAL`` (:mod:`.offers_load`, from the
        spool file itself) -- already loaded while Mirakl processed the file when ``prepared``
        (:meth:`prepare_outcome`; closed here) --, else (or when the server refuses it) through the
        driver's ``executemany``: same rows. Returns the accepted count.
        """
        if not isinstance(sent, SentLines):
            spool = SentLines()
            try:
                for batch in sent:
                    for ln in batch:
                        spool.add_pending(ln)
                return self.record_outcome(platform, import_id, spool, status=status, rejected=rejected,
                                           lines_in_error=lines_in_error, now=now, reason=reason, prepared=prepared)
            finally:
                spool.close()
        if prepared is None and status == "COMPLETE":
            prepared = self.prepare_outcome(platform, sent, now)
        if prepared is not None:
            with prepared:
                if status == "COMPLETE":
                    return self._commit_outcome(prepared, platform, import_id, sent, rejected=rejected,
                                                lines_in_error=lines_in_error, now=now)
        return self._record_outcome_rows(platform, import_id, sent.batches(), status=status, rejected=rejected,
                                         lines_in_error=lines_in_error, now=now, reason=reason)

    def _accepted_row(self, platform: str, ln: PendingLine, stamp: Any) -> tuple[Any, ...]:
        return (platform, ln.sku, ln.id_product, ln.id_product_attribute, ln.digest.hex(), ln.quantity, ln.price,
                ln.discount_price, *self._days(ln), "accepted", stamp, stamp, stamp)

    def prepare_outcome(self, platform: str, sent: SentLines, now: datetime) -> PreparedOutcome | None:
        """The lines of ``sent`` loaded as accepted (stamped ``now``) on a dedicated connection's open
        transaction, before the outcome is known -- the job does it while Mirakl processes the import;
        :meth:`record_outcome` then drops the rejected ones and commits, or the transaction is rolled back
        (import failed, or still running at the end of the wait). None when the bulk path does not apply
        (not MariaDB/MySQL through PyMySQL, fewer than ``bulk_min_rows`` lines, ``LOCAL`` refused)."""
        stamp = self._db_time(now)
        return self._load(platform, sent, offers_sent.COLUMNS, {
            "platform": platform, "status": "accepted", "sent_at": stamp, "accepted_at": stamp, "updated_at": stamp})

    def record_pending(self, platform: str, sent: SentLines, import_id: str, now: datetime) -> int:
        """The lines of an import still running at the end of the wait, queued as ``pending`` under its id
        (:meth:`finish_import` applies the outcome in a later run): the same rows as :meth:`write_pending`
        for each batch, loaded from the spool file in one transaction when the bulk path applies."""
        stamp = self._db_time(now)
        prepared = self._load(platform, sent, self._PENDING_FILE_COLS, {
            "platform": platform, "status": "pending", "pending_import_id": import_id, "sent_at": stamp,
            "updated_at": stamp})
        if prepared is None:
            return sum(self.write_pending(platform, batch, import_id, now) for batch in sent.batches())
        with prepared:
            prepared.loaded.merge(prepared.conn, ())
            prepared.trans.commit()
            return prepared.loaded.count

    def _load(self, platform: str, sent: SentLines, cols: tuple[str, ...], constants: dict[str, Any]
              ) -> PreparedOutcome | None:
        """The spool file loaded into ``cols`` (plus ``constants``) on a dedicated connection's open
        transaction: straight into the table when the platform has no row yet, else staged for a merge.
        None when the bulk path does not apply (it is then off for the rest of the run if refused)."""
        if not self.bulk_load or sent.lines < self.bulk_min_rows:
            return None
        o = self.offer
        engine = offers_load.local_infile_engine(self.engine)
        conn = engine.connect()
        prepared = None
        try:
            with sent.load_file() as (path, count):
                for direct in (True, False):
                    trans = conn.begin()
                    direct = direct and conn.execute(
                        select(o.c.sku).where(o.c.platform == platform).limit(1)).first() is None
                    try:
                        loaded = offers_load.load_rows(conn, o, cols, path, count, direct=direct,
                                                       constants=constants)
                        prepared = PreparedOutcome(engine, conn, trans, loaded, constants["sent_at"])
                        return prepared
                    except offers_load.NotAllNew:
                        trans.rollback()  # staged and merged instead
        except offers_load.LoadRefused as exc:
            self.bulk_load = False
            log.warning("offers.bulk_load_refused", reason=str(exc)[:500])
        finally:
            if prepared is None:  # else the connection is the prepared outcome's until it is closed
                conn.close()
                engine.dispose()
        return None

    def _commit_outcome(self, prepared: PreparedOutcome, platform: str, import_id: str, sent: SentLines, *,
                        rejected: Sequence[tuple[str, str]], lines_in_error: int | None, now: datetime) -> int:
        """COMPLETE import, lines loaded: the rejected ones dropped from the load and written as rejected,
        the rest merged, the import closed; one commit."""
        conn, loaded, stamp = prepared.conn, prepared.loaded, prepared.stamp
        why = dict(rejected)
        left_out = sent.lines_of(frozenset(why))
        if left_out:
            loaded.drop(conn, "sku", [ln.sku for ln in left_out], platform=platform)
        loaded.merge(conn, (*self._NO_PENDING, "last_error"))
        if left_out:
            bad = [(platform, ln.sku, ln.id_product, ln.id_product_attribute, "rejected", why[ln.sku][:2000], stamp,
                    stamp) for ln in left_out]
            conn.exec_driver_sql(self._rows_sql(self._REJECTED_COLS, self._NO_PENDING), bad)
        self._close_import(conn, platform, import_id, status="COMPLETE", rejected=rejected,
                           lines_in_error=lines_in_error, now=now)
        prepared.trans.commit()
        return loaded.count

    def _record_outcome_rows(self, platform: str, import_id: str, sent: Iterable[Sequence[PendingLine]], *,
                             status: str, rejected: Sequence[tuple[str, str]], lines_in_error: int | None,
                             now: datetime, reason: str) -> int:
        """:meth:`record_outcome` through the driver's ``executemany``, one batch at a time."""
        why = dict(rejected)
        complete = status == "COMPLETE"
        failed_msg = f"import {import_id} {status}: {reason}"
        stamp = self._db_time(now)
        accepted = 0
        with self.engine.begin() as conn:
            for batch in sent:
                ok = [self._accepted_row(platform, ln, stamp) for ln in batch if complete and ln.sku not in why]
                bad = [(platform, ln.sku, ln.id_product, ln.id_product_attribute, "rejected",
                        (why.get(ln.sku) or failed_msg)[:2000], stamp, stamp)
                       for ln in batch if not complete or ln.sku in why]
                ok = self._money_rows(ok, 6, 7)
                if ok:
                    conn.exec_driver_sql(self._rows_sql(self._ACCEPTED_COLS, (*self._NO_PENDING, "last_error")), ok)
                    accepted += len(ok)
                if bad:
                    conn.exec_driver_sql(self._rows_sql(self._REJECTED_COLS, self._NO_PENDING), bad)
            self._close_import(conn, platform, import_id, status=status, rejected=rejected,
                               lines_in_error=lines_in_error, now=now)
        return accepted

    def _close_import(self, conn: Connection, platform: str, import_id: str, *, status: str,
                      rejected: Sequence[tuple[str, str]], lines_in_error: int | None, now: datetime) -> None:
        o, oi = self.offer, self.imports
        if rejected:  # also lines sent again unchanged (full resync), which were not queued
            stmt = update(o).where(o.c.platform == platform, o.c.sku == bindparam("b_sku")).values(
                status="rejected", last_error=bindparam("b_msg"), updated_at=now)
            conn.execute(stmt, [{"b_sku": sku, "b_msg": msg[:2000]} for sku, msg in rejected])
        conn.execute(update(oi).where(oi.c.platform == platform, oi.c.import_id == import_id).values(
            status=status, lines_in_error=lines_in_error, finished_at=now))

    def finish_import(self, platform: str, import_id: str, *, status: str, rejected: Sequence[tuple[str, str]],
                      lines_in_error: int | None, now: datetime, reason: str = "") -> int:
        """Apply the outcome: rejected SKUs keep their last accepted values, the others advance.

        Returns how many pending lines became accepted.
        """
        o, oi = self.offer, self.imports
        accepted = 0
        with self.engine.begin() as conn:
            if rejected:
                stmt = update(o).where(o.c.platform == platform, o.c.sku == bindparam("b_sku")).values(
                    status="rejected", last_error=bindparam("b_msg"), pending_hash=None, pending_quantity=None,
                    pending_price=None, pending_discount_price=None, pending_discount_start=None,
                    pending_discount_end=None, pending_import_id=None, updated_at=now)
                conn.execute(stmt, [{"b_sku": sku, "b_msg": msg[:2000]} for sku, msg in rejected])
            mine = [o.c.platform == platform, o.c.pending_import_id == import_id]
            if status == "COMPLETE":
                res = conn.execute(update(o).where(and_(*mine)).values(
                    hash=o.c.pending_hash, quantity=o.c.pending_quantity, price=o.c.pending_price,
                    discount_price=o.c.pending_discount_price, discount_start=o.c.pending_discount_start,
                    discount_end=o.c.pending_discount_end, status="accepted", last_error=None, accepted_at=now,
                    updated_at=now, pending_hash=None, pending_quantity=None, pending_price=None,
                    pending_discount_price=None, pending_discount_start=None, pending_discount_end=None,
                    pending_import_id=None))
                accepted = int(res.rowcount or 0)
            else:
                conn.execute(self._clear(mine, status="rejected", error=f"import {import_id} {status}: {reason}")
                             .values(updated_at=now))
            conn.execute(update(oi).where(oi.c.platform == platform, oi.c.import_id == import_id).values(
                status=status, lines_in_error=lines_in_error, finished_at=now))
        return accepted

    def forget(self, platform: str, skus: Sequence[str]) -> None:
        """Drop rows of SKUs never accepted by Mirakl that left the catalogue."""
        o = self.offer
        with self.engine.begin() as conn:
            for i in range(0, len(skus), CHUNK):
                conn.execute(delete(o).where(o.c.platform == platform, o.c.hash.is_(None),
                                             o.c.sku.in_(list(skus[i:i + CHUNK]))))


GONE_HEX = GONE.hex()
