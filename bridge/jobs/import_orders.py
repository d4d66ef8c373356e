"""Task ``import``: Mirakl orders in the importable states become PrestaShop orders, each exactly once.

1. gather: the OR11 window (bridge.domain.import_window: cursor - overlap, daily catch-up) and the
   held orders whose retry is due, re-read by id whatever their state;
2. per order, ONE transaction: claim the order-map row (UNIQUE platform + order id, row lock), prepare,
   shortage policy, write the PrestaShop rows, mark ``imported``, commit. A crash anywhere rolls all of
   it back; a second process waits on the claim, then sees ``imported`` and skips;
3. SkippableError (unknown SKU, unmapped country/currency/carrier, shortage with ``on_shortage=hold``)
   -> the order is held in its own small transaction with a retry date (shortage: next run; else a
   back-off from 30 min to 12 h). A database error on one order (after 3 tries for deadlocks) is
   reported and held for the next run. An unparseable order is reported and held by its id;
4. the cursor moves to the greatest ``last_updated_date`` seen, after the window's orders are all
   imported, skipped or held (held orders come back through their retry date, not the window). Only
   an unparseable order without an id keeps the cursor where it was. A failed page fetch fails the run.

The orders of a run share one connection (:class:`RunConnection`, replaced after a database error),
each order in its own transaction.

Dry run: each order goes through its whole transaction and is rolled back; nothing is held, no cursor moves.
Test hook: ``BRIDGE_FAULT_POINT=import.after_write`` or ``import.before_commit`` (optionally ``:N``,
the N-th order) makes the process SIGKILL itself there; inert when unset.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Self

import structlog
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from bridge.domain.import_window import held_order_due, import_window, next_cursor, retry_delay
from bridge.domain.orders import DEAD_LINE_STATES, MiraklOrder
from bridge.errors import SkippableError
from bridge.faults import fault_point
from bridge.jobs.context import TaskContext
from bridge.shop.order_writer import OrderWriter
from bridge.shop.rows import BATCHES, allow_batches
from bridge.state import orders as omap

log = structlog.get_logger(__name__)

CURSOR, CATCHUP_CURSOR = "import", "import_catchup"
SHORTAGE, FAILED = "stock_shortage", "import_failed"
TRANSIENT_DB_ERRORS = (1205, 1213)  # lock wait timeout, deadlock: the whole order is tried again
DB_ATTEMPTS = 3


def run(ctx: TaskContext) -> None:
    p, state, now = ctx.platform, ctx.app.state, ctx.now()
    cursor = state.get_cursor(p.code, CURSOR)
    window = import_window(now=now, cursor=cursor, last_catchup=state.get_cursor(p.code, CATCHUP_CURSOR),
                           overlap=timedelta(minutes=p.orders.overlap_min), catchup_days=p.orders.catchup_days)
    ctx.report.extra["window"] = {"since": window.since.isoformat(), "kind": window.kind}
    orders: dict[str, MiraklOrder] = {}
    complete = True
    for page in ctx.mirakl.iter_order_pages(states=p.orders.import_states, start_update_date=window.since,
                                            tax_mode=p.orders.tax_mode):
        complete &= _invalid(ctx, page.invalid)
        orders.update((o.order_id, o) for o in page.orders)
    writer = OrderWriter(ctx.app.shop)
    known: dict[str, omap.OrderRow] = {}
    if orders:  # set-based reads for the whole run: order-map rows, SKUs and product rows
        with ctx.app.engine.connect() as conn:
            known = omap.get_orders(conn, state.t, p.code, orders)
            writer.warm(conn, orders.values(), p)
    with RunConnection(ctx.app.engine) as link:
        for order in orders.values():
            ctx.check_stop()
            _process(ctx, writer, order, link, known=known)
        _retry_held(ctx, writer, link, done=set(orders))
    if ctx.report.counts.get("held"):
        ctx.report.status = "partial"
    if ctx.dry_run:
        return
    new = next_cursor(cursor, (o.last_updated_date for o in orders.values()), complete=complete)
    if new is not None and new != cursor:
        _save_cursor(ctx, CURSOR, new)
        log.info("import.cursor_moved", previous=cursor, cursor=new, window=window.kind)
    if window.catchup and complete:
        _save_cursor(ctx, CATCHUP_CURSOR, now)
    if not complete:
        ctx.report.extra["cursor_kept"] = "an unparseable order without an id: the window is read again"


class RunConnection:
    """The connection the orders of a run are imported on, one transaction per order.

    Checking a connection out of the pool for every order cost two round trips (the pre-ping, and the
    rollback that resets it on return). A database error on an order discards this connection (it may
    be dead, e.g. killed or the server restarted): the next order gets a fresh, pinged one from the pool.
    On MariaDB/MySQL the connection has the server's multi-statement option on (``allow_batches``: the
    tail of each order in one round trip, docs/security.md); it is therefore closed at the end, never
    returned to the pool.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    def get(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self.discard()
            self._conn = self._engine.connect()
            allow_batches(self._conn)  # MariaDB/MySQL: this connection only, never returned to the pool
        return self._conn

    def discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                if conn.info.get(BATCHES) and not conn.invalidated:
                    conn.invalidate()  # the multi-statement option stays with it: closed, not pooled
                conn.close()
            except DBAPIError:  # already dead: the pool drops it
                pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.discard()


def _process(ctx: TaskContext, writer: OrderWriter, order: MiraklOrder, link: RunConnection, *,
             due: bool = False, known: dict[str, omap.OrderRow] | None = None) -> None:
    """Import one order unless it is done or waiting; it always ends imported, skipped or held.

    ``known``: the order-map rows read for the whole run before its first order (an order missing
    from it had no row then); the claim in ``_import`` stays the authority under concurrency."""
    ref = order.order_id
    if known is not None:
        row = known.get(ref)
    else:
        with ctx.app.engine.connect() as conn:
            row = omap.get_order(conn, ctx.app.state.t, ctx.platform.code, ref)
    if row is not None and (row.status in omap.HAS_SHOP_ORDER or row.id_order is not None):
        ctx.report.count("skipped")
        ctx.report.add("skipped", order_id=ref, id_order=row.id_order, reason="already imported")
        return
    if row is not None and row.status == omap.HELD and not due and not held_order_due(
            now=ctx.now(), next_attempt_at=row.next_attempt_at, held_at=row.updated_at,
            mirakl_updated=order.last_updated_date):
        ctx.report.count("held_waiting")
        return
    live = replace(order, lines=order.live_lines)
    if not live.lines:
        ctx.report.add("skipped", order_id=ref, reason="no live line (all refused or cancelled)")
        return
    for attempt in range(1, DB_ATTEMPTS + 1):
        try:
            return _import(ctx, writer, live, link.get())
        except SkippableError as exc:
            return _hold(ctx, order, exc.code, exc.reason, at_once=exc.code == SHORTAGE)
        except DBAPIError as exc:
            link.discard()
            if _transient(exc) and attempt < DB_ATTEMPTS:
                continue
            message = str(exc.orig or exc)[:500]
            log.error("order.import_failed", order_id=ref, error=message)
            ctx.report.error(f"order {ref}", message, code=FAILED)
            return _hold(ctx, order, FAILED, message, at_once=True, report=False)


def _import(ctx: TaskContext, writer: OrderWriter, order: MiraklOrder, conn: Connection) -> None:
    p, t, now, ref = ctx.platform, ctx.app.state.t, ctx.now(), order.order_id
    with conn.begin() as trans:
        if not omap.claim_new_for_import_sent(conn, t, p.code, ref, now=now, mirakl_state=order.state,
                                         mirakl_created_at=order.created_date):
            ctx.report.count("skipped")
            ctx.report.add("skipped", order_id=ref, reason="imported by another process")
            return
        prepared = writer.prepare(conn, order, p)
        short = [{"sku": s, "wanted": w, "available": a} for s, w, a in prepared.shortages]
        if short and p.orders.on_shortage == "hold":
            raise SkippableError(ref, "stock short: " + ", ".join(
                f"{s['sku']} wanted {s['wanted']}, available {s['available']}" for s in short), code=SHORTAGE)
        written = writer.write(conn, prepared, flag_out_of_stock=p.orders.flag_out_of_stock, now=now)
        fault_point("import.after_write")
        if not omap.mark_imported_sent(conn, t, p.code, ref, id_order=written.id_order,
                                       reference=written.reference, id_customer=written.id_customer, now=now):
            raise AssertionError(f"order map row of {ref} left 'importing' under our lock")
        fault_point("import.before_commit")
        if ctx.dry_run:
            trans.rollback()
    kind = "would_import" if ctx.dry_run else "imported"
    ctx.report.count(kind)
    ctx.report.add(kind, order_id=ref, id_order=written.id_order, reference=written.reference,
                   shortages=short, warnings=list(written.warnings))
    if short:
        ctx.report.count("imported_short")
    if not ctx.dry_run:
        log.info("order.imported", order_id=ref, id_order=written.id_order, reference=written.reference,
                 lines=len(order.lines), total=str(order.total_price), shortages=len(short))


def _hold(ctx: TaskContext, order: MiraklOrder | str, code: str, message: str, *, at_once: bool = False,
          report: bool = True) -> None:
    """Hold an order in its own transaction; retried at the next run (``at_once``) or after a back-off."""
    ref = order if isinstance(order, str) else order.order_id
    if report:
        ctx.report.count("held")
        ctx.report.add("held", order_id=ref, code=code, message=message)
        log.warning("order.held", order_id=ref, code=code, message=message)
    if ctx.dry_run:
        return
    t, now = ctx.app.state.t, ctx.now()
    with ctx.app.engine.begin() as conn:
        row = omap.get_order(conn, t, ctx.platform.code, ref, for_update=True)
        next_at = now if at_once else now + retry_delay((row.attempts if row else 0) + 1)
        omap.hold_order(conn, t, ctx.platform.code, ref, code=code, message=message, now=now,
                        next_attempt_at=next_at, mirakl_state="" if isinstance(order, str) else order.state)


def _invalid(ctx: TaskContext, invalid: list[SkippableError]) -> bool:
    """Unparseable orders: reported, held by id (retried with the held orders); False when one has no id."""
    complete = True
    for exc in invalid:
        ctx.report.error(exc.item_ref, exc.reason, code=exc.code)
        order_id = exc.item_ref.removeprefix("order ")
        if order_id.startswith("?"):
            complete = False
        else:
            _hold(ctx, order_id, exc.code, exc.reason, report=False)
    return complete


def _retry_held(ctx: TaskContext, writer: OrderWriter, link: RunConnection, *, done: set[str]) -> None:
    """Held orders whose retry date has come, re-read by id: imported, held again, or dropped if cancelled."""
    t, code = ctx.app.state.t, ctx.platform.code
    with ctx.app.engine.connect() as conn:
        ids = [r.mirakl_order_id for r in omap.held_due(conn, t, code, ctx.now()) if r.mirakl_order_id not in done]
    found: set[str] = set()
    for page in ctx.mirakl.iter_order_pages(order_ids=ids, tax_mode=ctx.platform.orders.tax_mode) if ids else ():
        _invalid(ctx, page.invalid)
        found.update(e.item_ref.removeprefix("order ") for e in page.invalid)
        for order in page.orders:
            ctx.check_stop()
            found.add(order.order_id)
            if order.state in ctx.platform.orders.import_states:
                _process(ctx, writer, order, link, due=True)
            elif order.state not in DEAD_LINE_STATES:
                _hold(ctx, order, "not_importable_state", f"Mirakl state is {order.state}")
            elif not ctx.dry_run:
                with ctx.app.engine.begin() as conn:
                    omap.set_status(conn, t, code, order.order_id, status=omap.CANCELLED, now=ctx.now(),
                                    expected=[omap.HELD], cancelled_at=ctx.now())
                ctx.report.add("dropped", order_id=order.order_id, reason=f"Mirakl state is {order.state}")
    for missing in (i for i in ids if i not in found):
        _hold(ctx, missing, "not_found", "OR11 does not return this order")


def _save_cursor(ctx: TaskContext, name: str, value: datetime) -> None:
    """set_cursor, tried again after a deadlock (two first inserts of the row when the runner lock is bypassed)."""
    for attempt in range(1, DB_ATTEMPTS + 1):
        try:
            return ctx.app.state.set_cursor(ctx.platform.code, name, value, ctx.now())
        except DBAPIError as exc:
            if not _transient(exc) or attempt == DB_ATTEMPTS:
                raise


def _transient(exc: DBAPIError) -> bool:
    args: tuple[object, ...] = tuple(getattr(exc.orig, "args", ()))
    return bool(args) and args[0] in TRANSIENT_DB_ERRORS
