"""``OrderHistory::changeIdOrderState`` for the states the bridge moves orders to (shipped, cancelled).

For a change from the current state to ``id_order_state`` (8.1.3 ``classes/order/OrderHistory.php``):

- sales: becoming logable adds ``product_sale``, leaving a logable state removes it;
- stock: entering ``PS_OS_CANCELED``/``PS_OS_ERROR`` from any other state gives the ordered units back
  (``+qty`` on the combination row, product row = sum of combinations); leaving them for a logable
  state takes the units again. Lines with ``depends_on_stock`` are left alone before 9.0;
- movements: ``shipped`` flipping 0 → 1 writes ``-qty`` movements with ``PS_STOCK_CUSTOMER_ORDER_REASON``,
  1 → 0 writes ``+qty`` with ``PS_STOCK_CUSTOMER_ORDER_CANCEL_REASON`` — on 8.x/9.x. 1.7 already wrote
  the movement when the order was created, 1.6 writes them only with advanced stock management;
- an ``order_history`` row, ``orders.current_state``, ``orders.valid = logable``, ``date_upd``;
- entering an ``invoice = 1`` state creates the invoice if the order has none; entering a ``paid`` state
  books a payment for what is still unpaid;
- then reserved/physical quantities are recomputed (``updatePhysicalProductQuantity``).

The stock rows of the order's products, then the order row, are locked FOR UPDATE first; asking for the state the order is already in changes
nothing, so a retried call never gives the stock back twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from bridge.errors import ShopDataError
from bridge.shop import invoice as inv
from bridge.shop import order_rows as rows
from bridge.shop.order_reads import StateFlags, order_states
from bridge.shop.rows import local_naive
from bridge.shop.shop import Shop
from bridge.shop.stock_writer import lock_stock, movements, ps_version, update_stock

Key = tuple[int, int]


@dataclass(frozen=True)
class StateChange:
    id_order: int
    old_state: int
    new_state: int
    changed: bool
    stock_delta: int = 0  # units given back (> 0) or taken again (< 0)
    movements: int = 0
    invoice_created: bool = False


def _lock_order(conn: Connection, shop: Shop, id_order: int) -> Any:
    o = shop.tables.orders
    q = select(o).where(o.c.id_order == id_order)
    if conn.dialect.name != "sqlite":
        q = q.with_for_update()
    row = conn.execute(q).first()
    if row is None:
        raise ShopDataError(f"order {id_order} does not exist in {o.name}")
    return row._mapping


def _lines(conn: Connection, shop: Shop, id_order: int) -> dict[Key, int]:
    od = shop.tables.order_detail
    out: dict[Key, int] = {}
    for p, a, q in conn.execute(select(od.c.product_id, od.c.product_attribute_id, od.c.product_quantity)
                                .where(od.c.id_order == id_order)):
        out[(int(p), int(a))] = out.get((int(p), int(a)), 0) + int(q)
    return out


def _movements_on_shipping(version: str) -> bool:
    v = ps_version(version)
    return not v or v[0] >= 8


def change_state(conn: Connection, shop: Shop, id_order: int, id_order_state: int, now: datetime) -> StateChange:
    """Move an order to ``id_order_state`` in the caller's transaction (never commits)."""
    t, ctx = shop.tables, shop.context
    # same lock order as the order writer (stock rows, then orders): no deadlock between import and ship
    lines = _lines(conn, shop, id_order)
    stock = lock_stock(conn, t, ctx, {k[0] for k in lines}) if lines else {}
    order = _lock_order(conn, shop, id_order)
    old_id = int(order["current_state"])
    if old_id == id_order_state:
        return StateChange(id_order, old_id, id_order_state, changed=False)
    flags = order_states(conn, t, [old_id, id_order_state])
    new = flags.get(id_order_state)
    if new is None or new.deleted:
        raise ShopDataError(f"order state {id_order_state} does not exist or is deleted")
    old = flags.get(old_id) or StateFlags(old_id, False, False, False, False, False, False)
    now_local = local_naive(now, ctx.timezone)
    dead = {ctx.config_int("PS_OS_CANCELED", -1), ctx.config_int("PS_OS_ERROR", -1)}

    sales: dict[int, int] = {}
    for (idp, _ipa), qty in lines.items():
        sales[idp] = sales.get(idp, 0) + qty
    if new.logable and not old.logable:
        rows.add_product_sales(conn, t, sales, now_local.date())
    elif old.logable and not new.logable:
        rows.add_product_sales(conn, t, sales, now_local.date(), sign=-1)

    sign = 0
    if new.id_order_state in dead and old.id_order_state not in dead:
        sign = 1  # give the units back
    elif old.id_order_state in dead and new.logable:
        sign = -1  # take them again
    version = ps_version(ctx.version)
    movable = {k: q for k, q in lines.items()
               if not (k in stock and stock[k].depends_on_stock and version and version[0] < 9)}

    written = 0
    if new.shipped != old.shipped and _movements_on_shipping(ctx.version):
        mvt_sign = -1 if new.shipped else 1
        reason = ctx.config_int("PS_STOCK_CUSTOMER_ORDER_REASON" if new.shipped
                                else "PS_STOCK_CUSTOMER_ORDER_CANCEL_REASON", 0)
        written = movements(conn, t, id_order=id_order, lines=list(movable.items()), rows=stock, sign=mvt_sign,
                            id_reason=reason, now_local=now_local)

    invoice_created = _invoice_and_payment(conn, shop, order, new, now_local)
    rows.insert_history(conn, t, id_order=id_order, states=[id_order_state], now_local=now_local)
    o = t.orders
    conn.execute(update(o).where(o.c.id_order == id_order)
                 .values(current_state=id_order_state, valid=1 if new.logable else 0, date_upd=now_local))
    deltas = {k: sign * q for k, q in movable.items()} if sign else {}
    update_stock(conn, t, ctx, deltas, stock, {k[0] for k in lines})  # after current_state: reserved needs it
    return StateChange(id_order, old_id, id_order_state, changed=True,
                       stock_delta=sign * sum(movable.values()), movements=written, invoice_created=invoice_created)


def _invoice_and_payment(conn: Connection, shop: Shop, order: Any, new: StateFlags, now_local: datetime) -> bool:
    """``Order::setInvoice`` when entering an invoice state without an invoice; pay the rest on paid."""
    t, ctx = shop.tables, shop.context
    id_order = int(order["id_order"])
    oi = t.order_invoice
    id_invoice = conn.execute(select(oi.c.id_order_invoice).where(oi.c.id_order == id_order)
                              .order_by(oi.c.id_order_invoice).limit(1)).scalar()
    created = False
    if new.invoice and id_invoice is None:
        number = inv.next_invoice_number(conn, t, ctx, now_local)
        id_invoice = inv.insert_invoice(conn, t, ctx, inv.InvoiceTotals.from_order(order), id_order=id_order,
                                        number=number, now_local=now_local)
        rows.set_invoice_on_rows(conn, t, id_order=id_order, id_order_invoice=id_invoice)
        o = t.orders
        values: dict[str, Any] = {"invoice_date": now_local}
        if number:
            values["invoice_number"] = number
        conn.execute(update(o).where(o.c.id_order == id_order).values(**values))
        op = t.order_payment
        for (id_payment,) in conn.execute(select(op.c.id_order_payment)
                                          .where(op.c.order_reference == order["reference"])):
            inv.link_payment(conn, t, id_order_invoice=id_invoice, id_order_payment=int(id_payment),
                             id_order=id_order)
        created = True
    rest = Decimal(str(order["total_paid_tax_incl"])) - Decimal(str(order["total_paid_real"]))
    if new.paid and rest > 0:
        id_payment = rows.insert_payment(conn, t, reference=str(order["reference"]),
                                         id_currency=int(order["id_currency"]), amount=rest,
                                         method=str(order["payment"]), transaction_id="", now_local=now_local,
                                         warnings=[], conversion_rate=Decimal(str(order["conversion_rate"])))
        if id_invoice is not None:
            inv.link_payment(conn, t, id_order_invoice=int(id_invoice), id_order_payment=id_payment,
                             id_order=id_order)
        o = t.orders
        conn.execute(update(o).where(o.c.id_order == id_order)
                     .values(total_paid_real=o.c.total_paid_real + rest))
    return created
