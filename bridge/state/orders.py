"""Order map and acceptance decisions (shared by accept, import, ship and the support commands).

Every function takes the caller's Connection so that the order-map change is part of the same
transaction as the PrestaShop writes it describes. Claims are conditional statements whose row
count says whether this process won (healthchecks' pattern); the UNIQUE (platform, mirakl_order_id)
key makes a second insert of the same order impossible.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, null, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.types import DateTime

from bridge.state.tables import BridgeTables

# order-map statuses
SEEN = "seen"
ACCEPTING = "accepting"  # decision recorded, OR21 about to be / being sent
ACCEPTED = "accepted"  # Mirakl confirmed (or re-read) the acceptance; stock not yet touched in PrestaShop
REFUSED = "refused"
IMPORTING = "importing"
IMPORTED = "imported"
HELD = "held"  # import held back (shortage with on_shortage=hold, unknown SKU, unmapped country...)
SHIPPED = "shipped"
CANCELLED = "cancelled"

# units still to be taken from PrestaShop stock: accepted on Mirakl, not yet imported
RESERVING_STATUSES = (ACCEPTING, ACCEPTED, HELD)


@dataclass(frozen=True)
class OrderRow:
    id: int
    platform: str
    mirakl_order_id: str
    status: str
    mirakl_state: str
    id_order: int | None
    reference: str | None
    attempts: int
    error_code: str | None
    last_error: str | None
    next_attempt_at: datetime | None
    accepted_at: datetime | None
    imported_at: datetime | None
    shipped_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class LineDecision:
    order_line_id: str
    offer_sku: str
    quantity: int
    decision: str  # accept | refuse | leave
    reason: str = ""
    units_reserved: int = 0
    id_product: int | None = None
    id_product_attribute: int | None = None


def _row(m: Any) -> OrderRow:
    return OrderRow(**{k: m[k] for k in OrderRow.__dataclass_fields__})


def get_order(conn: Connection, t: BridgeTables, platform: str, order_id: str, *,
              for_update: bool = False) -> OrderRow | None:
    q = select(t.order).where(t.order.c.platform == platform, t.order.c.mirakl_order_id == order_id)
    if for_update and conn.dialect.name != "sqlite":
        q = q.with_for_update()
    m = conn.execute(q).mappings().first()
    return _row(m) if m else None


def get_orders(conn: Connection, t: BridgeTables, platform: str, order_ids: Iterable[str]) -> dict[str, OrderRow]:
    ids = list(order_ids)
    out: dict[str, OrderRow] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        for m in conn.execute(
            select(t.order).where(t.order.c.platform == platform, t.order.c.mirakl_order_id.in_(chunk))
        ).mappings():
            out[m["mirakl_order_id"]] = _row(m)
    return out


def orders_with_status(conn: Connection, t: BridgeTables, platform: str, statuses: Sequence[str]) -> list[OrderRow]:
    rows = conn.execute(
        select(t.order).where(t.order.c.platform == platform, t.order.c.status.in_(list(statuses)))
        .order_by(t.order.c.id)
    ).mappings()
    return [_row(m) for m in rows]


# InnoDB and SQLite roll back only the failing statement on a duplicate key; the transaction goes on
STATEMENT_ROLLBACK_DIALECTS = ("mysql", "sqlite")


def insert_order(conn: Connection, t: BridgeTables, platform: str, order_id: str, *, status: str,
                 now: datetime, mirakl_state: str = "", mirakl_created_at: datetime | None = None) -> bool:
    """Insert the order-map row; False when it already exists (another process or an earlier run).

    On MariaDB a concurrent insert of the same key blocks until the other transaction ends, then
    fails with a duplicate key: the loser sees False and leaves the order alone.
    """
    stmt = insert(t.order).values(
        platform=platform, mirakl_order_id=order_id, status=status, mirakl_state=mirakl_state,
        mirakl_created_at=mirakl_created_at, attempts=0, created_at=now, updated_at=now,
    )
    try:
        if conn.dialect.name in STATEMENT_ROLLBACK_DIALECTS:
            conn.execute(stmt)  # a duplicate key undoes this statement only: no savepoint round trips
        else:
            with conn.begin_nested():
                conn.execute(stmt)
        return True
    except IntegrityError:
        return False


def set_status(conn: Connection, t: BridgeTables, platform: str, order_id: str, *, status: str, now: datetime,
               expected: Sequence[str] | None = None, **fields: Any) -> bool:
    """Conditional status change: True when this call changed the row (rowcount == 1)."""
    cond = [t.order.c.platform == platform, t.order.c.mirakl_order_id == order_id]
    if expected is not None:
        cond.append(t.order.c.status.in_(list(expected)))
    res = conn.execute(update(t.order).where(and_(*cond)).values(status=status, updated_at=now, **fields))
    return bool(res.rowcount == 1)


def note_failure(conn: Connection, t: BridgeTables, platform: str, order_id: str, *, status: str, code: str,
                 message: str, now: datetime, next_attempt_at: datetime | None = None) -> None:
    conn.execute(
        update(t.order).where(t.order.c.platform == platform, t.order.c.mirakl_order_id == order_id).values(
            status=status, error_code=code[:64], last_error=message[:4000], attempts=t.order.c.attempts + 1,
            next_attempt_at=next_attempt_at, updated_at=now,
        )
    )


# --- acceptance decisions ------------------------------------------------------------------------


def record_decisions(conn: Connection, t: BridgeTables, platform: str, order_id: str,
                     decisions: Sequence[LineDecision], *, phase: str, now: datetime) -> None:
    """Insert or overwrite the per-line decisions of one order (one row per line)."""
    ol = t.order_line
    existing = {
        r[0] for r in conn.execute(
            select(ol.c.order_line_id).where(ol.c.platform == platform, ol.c.mirakl_order_id == order_id)
        )
    }
    for d in decisions:
        values = dict(
            offer_sku=d.offer_sku[:128], quantity=d.quantity, decision=d.decision, reason=d.reason[:64],
            units_reserved=d.units_reserved, id_product=d.id_product, id_product_attribute=d.id_product_attribute,
            phase=phase, updated_at=now,
        )
        if d.order_line_id in existing:
            conn.execute(
                update(ol).where(
                    ol.c.platform == platform, ol.c.mirakl_order_id == order_id, ol.c.order_line_id == d.order_line_id
                ).values(**values)
            )
        else:
            conn.execute(insert(ol).values(platform=platform, mirakl_order_id=order_id,
                                           order_line_id=d.order_line_id, created_at=now, **values))


def set_decisions_phase(conn: Connection, t: BridgeTables, platform: str, order_id: str, *, phase: str,
                        now: datetime) -> None:
    ol = t.order_line
    conn.execute(update(ol).where(ol.c.platform == platform, ol.c.mirakl_order_id == order_id)
                 .values(phase=phase, updated_at=now))


def decisions_of(conn: Connection, t: BridgeTables, platform: str, order_id: str) -> list[dict[str, Any]]:
    ol = t.order_line
    rows = conn.execute(
        select(ol).where(ol.c.platform == platform, ol.c.mirakl_order_id == order_id).order_by(ol.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def reserved_units(conn: Connection, t: BridgeTables, *, exclude: tuple[str, str] | None = None,
                   products: Iterable[int] | None = None) -> dict[tuple[int, int], int]:
    """Units accepted on Mirakl (any platform of this shop) but not yet imported into PrestaShop.

    Keyed by (id_product, id_product_attribute). ``exclude`` = (platform, order_id) leaves one order out
    (the import of that order is about to take its units from PrestaShop's stock itself). ``products``:
    only the rows of these products (same figures for their keys; the accept task reads per order, and
    the whole set grows with every accepted-not-imported order).
    """
    if products is not None:
        ids = sorted(set(products))
        out: dict[tuple[int, int], int] = {}
        for i in range(0, len(ids), 1000):
            out.update(_reserved(conn, t, exclude, ids[i:i + 1000]))  # disjoint products: no overlap
        return out
    return _reserved(conn, t, exclude, None)


def _reserved(conn: Connection, t: BridgeTables, exclude: tuple[str, str] | None,
              ids: list[int] | None) -> dict[tuple[int, int], int]:
    if ids is not None and not ids:
        return {}
    ol, o = t.order_line, t.order
    q = (
        select(ol.c.id_product, ol.c.id_product_attribute, func.sum(ol.c.units_reserved))
        .select_from(ol.join(o, and_(o.c.platform == ol.c.platform, o.c.mirakl_order_id == ol.c.mirakl_order_id)))
        .where(
            ol.c.decision == "accept",
            ol.c.phase.in_(("intended", "sent", "confirmed")),
            o.c.status.in_(RESERVING_STATUSES),
            ol.c.id_product.is_not(None),
        )
        .group_by(ol.c.id_product, ol.c.id_product_attribute)
    )
    if exclude is not None:
        q = q.where(~and_(ol.c.platform == exclude[0], ol.c.mirakl_order_id == exclude[1]))
    if ids is not None:
        q = q.where(ol.c.id_product.in_(ids))
    out: dict[tuple[int, int], int] = defaultdict(int)
    for idp, ipa, n in conn.execute(q):
        out[(int(idp), int(ipa or 0))] += int(n or 0)
    return dict(out)


# --- import claims (task ``import``) -------------------------------------------------------------

# statuses of an order that already has its PrestaShop order: never imported again
HAS_SHOP_ORDER = (IMPORTED, SHIPPED)


def claim_for_import(conn: Connection, t: BridgeTables, platform: str, order_id: str, *, now: datetime,
                     mirakl_state: str = "", mirakl_created_at: datetime | None = None) -> bool:
    """Inside the caller's transaction: make the order-map row ``importing``; False when not ours to import.

    A new row is inserted (the UNIQUE key makes a concurrent inserter wait for our commit, then fail);
    an existing row is locked ``FOR UPDATE`` (a concurrent importer waits for our commit, then sees
    ``imported``). Rows that already have a PrestaShop order (status imported/shipped or an
    ``id_order``) are never claimed. The claim is rolled back with the PrestaShop rows on any failure.
    """
    if insert_order(conn, t, platform, order_id, status=IMPORTING, now=now, mirakl_state=mirakl_state,
                    mirakl_created_at=mirakl_created_at):
        return True
    return _claim_existing(conn, t, platform, order_id, now=now, mirakl_state=mirakl_state)


def _claim_existing(conn: Connection, t: BridgeTables, platform: str, order_id: str, *, now: datetime,
                    mirakl_state: str) -> bool:
    """The claim of an order whose row exists: locked, taken unless it already has a shop order."""
    row = get_order(conn, t, platform, order_id, for_update=True)
    if row is None or row.status in HAS_SHOP_ORDER or row.id_order is not None:
        return False
    return set_status(conn, t, platform, order_id, status=IMPORTING, now=now, expected=[row.status],
                      mirakl_state=mirakl_state or row.mirakl_state)


def mark_imported(conn: Connection, t: BridgeTables, platform: str, order_id: str, *, id_order: int,
                  reference: str, id_customer: int | None, now: datetime) -> bool:
    """``importing`` -> ``imported`` with the PrestaShop ids, in the transaction that wrote the order."""
    return set_status(
        conn, t, platform, order_id, status=IMPORTED, now=now, expected=[IMPORTING], id_order=id_order,
        reference=reference[:255], id_customer=id_customer, imported_at=now, error_code=None, last_error=None,
        next_attempt_at=None,
    )


def hold_order(conn: Connection, t: BridgeTables, platform: str, order_id: str, *, code: str, message: str,
               now: datetime, next_attempt_at: datetime | None, mirakl_state: str = "",
               mirakl_created_at: datetime | None = None) -> bool:
    """Record a held import (attempts + 1, error, retry date); False when the order was imported meanwhile."""
    insert_order(conn, t, platform, order_id, status=HELD, now=now, mirakl_state=mirakl_state,
                 mirakl_created_at=mirakl_created_at)
    values: dict[str, Any] = {
        "status": HELD, "error_code": code[:64], "last_error": message[:4000], "attempts": t.order.c.attempts + 1,
        "next_attempt_at": next_attempt_at, "updated_at": now,
    }
    if mirakl_state:
        values["mirakl_state"] = mirakl_state
    res = conn.execute(
        update(t.order).where(
            t.order.c.platform == platform, t.order.c.mirakl_order_id == order_id,
            t.order.c.status.not_in(HAS_SHOP_ORDER), t.order.c.id_order.is_(None),
        ).values(**values)
    )
    return bool(res.rowcount == 1)


def held_due(conn: Connection, t: BridgeTables, platform: str, now: datetime) -> list[OrderRow]:
    """Held imports whose retry date has come (or that have none)."""
    o = t.order
    rows = conn.execute(
        select(o).where(o.c.platform == platform, o.c.status == HELD,
                        (o.c.next_attempt_at.is_(None)) | (o.c.next_attempt_at <= now))
        .order_by(o.c.id)
    ).mappings()
    return [_row(m) for m in rows]


def make_due(conn: Connection, t: BridgeTables, platform: str, order_id: str, *, now: datetime) -> bool:
    """A held order becomes due now (support ``orders retry``); False when it is not held."""
    return set_status(conn, t, platform, order_id, status=HELD, now=now, expected=[HELD], next_attempt_at=now)


# --- batched acceptance (task ``accept``: one decision transaction and one confirmation per batch) --


@dataclass(frozen=True)
class NewOrder:
    """An order-map row to insert when missing (status ``seen``)."""

    mirakl_order_id: str
    mirakl_state: str = ""
    mirakl_created_at: datetime | None = None


def lock_orders(conn: Connection, t: BridgeTables, platform: str, orders: Sequence[NewOrder], *,
                now: datetime) -> dict[str, OrderRow]:
    """Inside the caller's transaction: insert the missing rows (``seen``) and lock every row of ``orders``.

    The batch form of :func:`insert_order` + ``get_order(for_update=True)``. On MariaDB/MySQL one
    multi-row ``INSERT … ON DUPLICATE KEY UPDATE`` (a no-op update) inserts the missing rows and
    locks the existing ones, in order-id order (two runs locking overlapping batches wait for each
    other instead of deadlocking), then one ``SELECT … FOR UPDATE`` reads them all. Other dialects
    take the per-order path. A concurrent transaction holding one of the rows makes this wait for
    its commit. Returns the rows by order id (every order of ``orders``).
    """
    if not orders:
        return {}
    todo = sorted(orders, key=lambda o: o.mirakl_order_id)
    o = t.order
    if conn.dialect.name == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        stmt = mysql_insert(o).on_duplicate_key_update(updated_at=o.c.updated_at)
        conn.execute(stmt, [
            {"platform": platform, "mirakl_order_id": n.mirakl_order_id, "status": SEEN,
             "mirakl_state": n.mirakl_state, "mirakl_created_at": n.mirakl_created_at, "attempts": 0,
             "created_at": now, "updated_at": now}
            for n in todo
        ])
        ids = [n.mirakl_order_id for n in todo]
        out: dict[str, OrderRow] = {}
        for i in range(0, len(ids), 500):
            q = select(o).where(o.c.platform == platform, o.c.mirakl_order_id.in_(ids[i : i + 500])).with_for_update()
            for m in conn.execute(q).mappings():
                out[m["mirakl_order_id"]] = _row(m)
        return out
    out = {}
    for n in todo:
        insert_order(conn, t, platform, n.mirakl_order_id, status=SEEN, now=now, mirakl_state=n.mirakl_state,
                     mirakl_created_at=n.mirakl_created_at)
        row = get_order(conn, t, platform, n.mirakl_order_id, for_update=True)
        if row is not None:
            out[n.mirakl_order_id] = row
    return out


def record_batch_decisions(conn: Connection, t: BridgeTables, platform: str,
                           decisions: Mapping[str, Sequence[LineDecision]], *, phase: str, now: datetime) -> None:
    """:func:`record_decisions` for several orders: one SELECT, one multi-row INSERT of the new lines.

    Lines that already exist (an order decided again after a released attempt) are updated one by one.
    """
    if not decisions:
        return
    ol = t.order_line
    ids = list(decisions)
    existing: set[tuple[str, str]] = set()
    for i in range(0, len(ids), 500):
        existing.update(
            (r[0], r[1]) for r in conn.execute(
                select(ol.c.mirakl_order_id, ol.c.order_line_id)
                .where(ol.c.platform == platform, ol.c.mirakl_order_id.in_(ids[i : i + 500]))
            )
        )
    new_rows: list[dict[str, Any]] = []
    for order_id, lines in decisions.items():
        for d in lines:
            values = {
                "offer_sku": d.offer_sku[:128], "quantity": d.quantity, "decision": d.decision,
                "reason": d.reason[:64], "units_reserved": d.units_reserved, "id_product": d.id_product,
                "id_product_attribute": d.id_product_attribute, "phase": phase, "updated_at": now,
            }
            if (order_id, d.order_line_id) in existing:
                conn.execute(
                    update(ol).where(
                        ol.c.platform == platform, ol.c.mirakl_order_id == order_id,
                        ol.c.order_line_id == d.order_line_id,
                    ).values(**values)
                )
            else:
                values.update(platform=platform, mirakl_order_id=order_id, order_line_id=d.order_line_id,
                              created_at=now)
                new_rows.append(values)
    if new_rows:
        conn.execute(insert(ol), new_rows)


def set_batch_status(conn: Connection, t: BridgeTables, platform: str, order_ids: Sequence[str], *, status: str,
                     now: datetime, expected: Sequence[str] | None = None, **fields: Any) -> int:
    """:func:`set_status` for several orders with the same values, one UPDATE; returns the rows changed."""
    if not order_ids:
        return 0
    o, changed = t.order, 0
    ids = list(order_ids)
    for i in range(0, len(ids), 500):
        cond = [o.c.platform == platform, o.c.mirakl_order_id.in_(ids[i : i + 500])]
        if expected is not None:
            cond.append(o.c.status.in_(list(expected)))
        changed += int(conn.execute(update(o).where(and_(*cond)).values(status=status, updated_at=now,
                                                                           **fields)).rowcount)
    return changed


def set_batch_problems(conn: Connection, t: BridgeTables, platform: str, problems: Mapping[str, tuple[str, str]],
                       *, status: str, now: datetime, expected: Sequence[str] | None = None,
                       mirakl_state: str | None = None) -> None:
    """Several orders to ``status`` with their own (error_code, last_error), one UPDATE (CASE on the id)."""
    if not problems:
        return
    o = t.order
    ids = list(problems)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        codes = case({k: problems[k][0][:64] for k in chunk}, value=o.c.mirakl_order_id)
        messages = case({k: problems[k][1][:4000] for k in chunk}, value=o.c.mirakl_order_id)
        cond = [o.c.platform == platform, o.c.mirakl_order_id.in_(chunk)]
        if expected is not None:
            cond.append(o.c.status.in_(list(expected)))
        values: dict[str, Any] = {"status": status, "updated_at": now, "error_code": codes, "last_error": messages}
        if mirakl_state is not None:
            values["mirakl_state"] = mirakl_state
        conn.execute(update(o).where(and_(*cond)).values(**values))


def set_batch_decisions_phase(conn: Connection, t: BridgeTables, platform: str, order_ids: Sequence[str], *,
                              phase: str, now: datetime) -> None:
    """:func:`set_decisions_phase` for several orders, one UPDATE."""
    ol = t.order_line
    ids = list(order_ids)
    for i in range(0, len(ids), 500):
        conn.execute(update(ol).where(ol.c.platform == platform, ol.c.mirakl_order_id.in_(ids[i : i + 500]))
                     .values(phase=phase, updated_at=now))


# --- the import's claim and mark sent through the driver (MariaDB/MySQL) -------------------------------
#
# ``claim_for_import`` / ``mark_imported`` build their statement on every call and go through Core's
# parameter processing (the bridge's datetime columns convert aware UTC datetimes, ``UtcDateTime``); the
# import runs them for every order. The two functions below write the same rows with the conversion done
# here (naive UTC, what ``UtcDateTime.process_bind_param`` hands the driver) and the statement compiled
# once and sent with ``exec_driver_sql`` (``bridge.shop.rows.execute``); other dialects take those two.


def utc_naive(value: datetime | None) -> datetime | None:
    """What ``UtcDateTime`` stores for ``value`` (aware): the UTC time without its zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def claim_new_for_import_sent(conn: Connection, t: BridgeTables, platform: str, order_id: str, *, now: datetime,
                              mirakl_state: str = "", mirakl_created_at: datetime | None = None) -> bool:
    """:func:`claim_for_import` (same row) with its INSERT sent through the driver on MariaDB/MySQL."""
    if conn.dialect.name != "mysql":
        return claim_for_import(conn, t, platform, order_id, now=now, mirakl_state=mirakl_state,
                                    mirakl_created_at=mirakl_created_at)
    from bridge.shop.rows import execute

    o = t.order
    plain = DateTime()
    try:
        execute(conn, o, ("claim_sent",), lambda: insert(o).values(
            platform=bindparam("b_platform"), mirakl_order_id=bindparam("b_id"), status=IMPORTING,
            mirakl_state=bindparam("b_state"), mirakl_created_at=bindparam("b_created", type_=plain), attempts=0,
            created_at=bindparam("b_now", type_=plain), updated_at=bindparam("b_now", type_=plain)),
            {"b_platform": platform, "b_id": order_id, "b_state": mirakl_state,
             "b_created": utc_naive(mirakl_created_at), "b_now": utc_naive(now)})  # a duplicate undoes this only
        return True
    except IntegrityError:
        pass
    return _claim_existing(conn, t, platform, order_id, now=now, mirakl_state=mirakl_state)


def mark_imported_sent(conn: Connection, t: BridgeTables, platform: str, order_id: str, *, id_order: int,
                       reference: str, id_customer: int | None, now: datetime) -> bool:
    """:func:`mark_imported` (same row) with its UPDATE sent through the driver on MariaDB/MySQL."""
    if conn.dialect.name != "mysql":
        return mark_imported(conn, t, platform, order_id, id_order=id_order, reference=reference,
                                  id_customer=id_customer, now=now)
    from bridge.shop.rows import execute

    o = t.order
    plain = DateTime()
    res = execute(conn, o, ("mark_imported_sent",), lambda: update(o).where(
        o.c.platform == bindparam("b_platform"), o.c.mirakl_order_id == bindparam("b_id"), o.c.status == IMPORTING,
    ).values(status=IMPORTED, updated_at=bindparam("b_now", type_=plain), id_order=bindparam("b_order"),
             reference=bindparam("b_ref"), id_customer=bindparam("b_customer"),
             imported_at=bindparam("b_now", type_=plain), error_code=null(), last_error=null(),
             next_attempt_at=null()),
        {"b_platform": platform, "b_id": order_id, "b_now": utc_naive(now), "b_order": id_order,
         "b_ref": reference[:255], "b_customer": id_customer})
    return bool(res.rowcount == 1)
