"""Stock side of an order, as PrestaShop's StockAvailable / StockManager do it.

- ``lock_stock``: every ``stock_available`` row (the shop's rows, ``StockAvailable::addSqlShopRestriction``)
  of the ordered products, read FOR UPDATE: the combination rows and the product row (id_pa = 0).
- ``update_stock``: ``quantity += delta`` on the ordered rows; the product row of a product with
  combinations is then set to the sum of its combination rows (``StockAvailable::postSave``), the
  product row of a simple product is the ordered row itself. Then, as
  ``Adapter\\StockManager::updatePhysicalProductQuantity``: reserved = units of the shop's orders not
  shipped and not cancelled/in error, physical = quantity + reserved (COALESCE 0: the core relies on
  ``sql_mode=''``), for every row of the products. Shared-stock rows (id_shop = 0) are refreshed too,
  from the orders of the whole shop group (the core skips them, see the reference §1.3).
- ``movements``: ``stock_mvt`` rows (id_stock = id_stock_available, sign ±1, id_employee 0).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from bridge.shop.context import ShopContext
from bridge.shop.rows import cached, complete, execute, insert_rows
from bridge.shop.schema import ShopTables

Key = tuple[int, int]


@dataclass(frozen=True)
class StockRow:
    id_stock_available: int
    id_product: int
    id_product_attribute: int
    quantity: int
    depends_on_stock: bool
    out_of_stock: int


def ps_version(version: str) -> tuple[int, ...]:
    parts = []
    for piece in (version or "").split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def lock_stock(conn: Connection, t: ShopTables, ctx: ShopContext, product_ids: Iterable[int]) -> dict[Key, StockRow]:
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    sa, filt = t.stock_available, ctx.stock_row_filter
    lock = conn.dialect.name != "sqlite"

    def build() -> Any:
        q = (select(sa.c.id_stock_available, sa.c.id_product, sa.c.id_product_attribute, sa.c.quantity,
                    sa.c.depends_on_stock, sa.c.out_of_stock)
             .where(filt.clause(sa), sa.c.id_product.in_([bindparam(f"b_p{i}") for i in range(len(ids))]))
             .order_by(sa.c.id_stock_available))
        return q.with_for_update() if lock else q

    found = execute(conn, sa, ("lock_stock", filt, lock, len(ids)), build, {f"b_p{i}": p for i, p in enumerate(ids)})
    return {(int(r[1]), int(r[2])): StockRow(int(r[0]), int(r[1]), int(r[2]), int(r[3]), bool(r[4]), int(r[5]))
            for r in found}


def _new_quantities(deltas: Mapping[Key, int], rows: Mapping[Key, StockRow]) -> dict[Key, int]:
    """Rows whose quantity changes: the ordered rows, and product rows set to the sum of their combinations."""
    current = {k: r.quantity for k, r in rows.items()}
    changed: dict[Key, int] = {}
    for key, delta in deltas.items():
        if delta:
            current[key] = current.get(key, 0) + delta
            changed[key] = current[key]
    for idp in sorted({k[0] for k in deltas if k[1]}):
        total = sum(q for (p, a), q in current.items() if p == idp and a)
        if current.get((idp, 0)) != total or (idp, 0) not in rows:
            changed[(idp, 0)] = total
    return changed


def _reserved_subquery(t: ShopTables, ctx: ShopContext) -> Any:
    """``updatePhysicalProductQuantity``'s reserved units of one stock row (COALESCE: strict sql_mode)."""
    error = ctx.config_int("PS_OS_ERROR", -1)
    canceled = ctx.config_int("PS_OS_CANCELED", -1)
    key = ("reserved", ctx.share_stock, ctx.id_shop, ctx.id_shop_group, error, canceled)
    return cached(t.stock_available, key, lambda: _build_reserved(t, ctx, error, canceled))


def _build_reserved(t: ShopTables, ctx: ShopContext, error: int, canceled: int) -> Any:
    sa, o, od, os_ = t.stock_available, t.orders, t.order_detail, t.order_state
    shop_clause = (o.c.id_shop_group == ctx.id_shop_group) if ctx.share_stock else (o.c.id_shop == ctx.id_shop)
    return (
        select(func.coalesce(func.sum(od.c.product_quantity - od.c.product_quantity_refunded), 0))
        .select_from(o.join(od, od.c.id_order == o.c.id_order)
                     .join(os_, os_.c.id_order_state == o.c.current_state))
        .where(shop_clause, os_.c.shipped != 1,
               or_(o.c.valid == 1, and_(os_.c.id_order_state != error, os_.c.id_order_state != canceled)),
               od.c.product_id == sa.c.id_product, od.c.product_attribute_id == sa.c.id_product_attribute)
        .scalar_subquery()
    )


def _has_reserved(t: ShopTables) -> bool:
    return t.has_column("stock_available", "reserved_quantity") and t.has_column("stock_available",
                                                                                  "physical_quantity")


def update_stock(conn: Connection, t: ShopTables, ctx: ShopContext, deltas: Mapping[Key, int],
                 rows: Mapping[Key, StockRow], product_ids: Iterable[int]) -> None:
    """``quantity += delta`` per (product, combination), product rows = Σ combinations, then reserved and
    physical of every row of ``product_ids`` recomputed — one UPDATE on MariaDB/MySQL.

    ``rows`` is the locked snapshot of :func:`lock_stock` taken in the same transaction; missing rows
    are created (PrestaShop creates them on the first stock change too).
    """
    sa, filt = t.stock_available, ctx.stock_row_filter
    changed = _new_quantities(deltas, rows)
    inserts = [complete(sa, {"id_product": k[0], "id_product_attribute": k[1], "id_shop": filt.id_shop,
                             "id_shop_group": filt.id_shop_group, "quantity": q, "depends_on_stock": 0,
                             "out_of_stock": rows[(k[0], 0)].out_of_stock if (k[0], 0) in rows else 2})
               for k, q in changed.items() if k not in rows]
    if inserts:
        conn.execute(insert(sa), inserts)
    by_id = sorted((rows[k].id_stock_available, q) for k, q in changed.items() if k in rows)
    params: dict[str, Any] = {f"b_id{i}": sid for i, (sid, _q) in enumerate(by_id)}
    params.update({f"b_q{i}": q for i, (_sid, q) in enumerate(by_id)})
    products = sorted(set(product_ids) | {k[0] for k in changed})
    params.update({f"b_p{i}": p for i, p in enumerate(products)})
    n, m, mysql = len(by_id), len(products), conn.dialect.name == "mysql"
    key = ("update_stock", filt, n, m, mysql, _has_reserved(t))
    for i, stmt in enumerate(cached(sa, key, lambda: _stock_statements(t, ctx, n, m, mysql))):
        execute(conn, sa, (*key, i), lambda stmt=stmt: stmt, params)


def _stock_statements(t: ShopTables, ctx: ShopContext, n: int, m: int, mysql: bool) -> list[Any]:
    """The UPDATEs of :func:`update_stock` for ``n`` changed rows (parameters ``b_id<i>``/``b_q<i>``) of
    ``m`` products (``b_p<i>``)."""
    sa, filt = t.stock_available, ctx.stock_row_filter
    quantity: Any = sa.c.quantity
    if n:
        quantity = case(*[(sa.c.id_stock_available == bindparam(f"b_id{i}"), bindparam(f"b_q{i}"))
                          for i in range(n)], else_=sa.c.quantity)
    set_quantity = update(sa).where(sa.c.id_stock_available.in_([bindparam(f"b_id{i}") for i in range(n)])) \
        .values(quantity=quantity)
    if not _has_reserved(t):
        return [set_quantity] if n else []
    where = and_(filt.clause(sa), sa.c.id_product.in_([bindparam(f"b_p{i}") for i in range(m)]))
    if mysql:
        # single-table UPDATE assigns left to right (the bridge's session has no SIMULTANEOUS_ASSIGNMENT):
        # physical sees the new quantity and reserved
        return [update(sa).where(where).ordered_values(
            (sa.c.quantity, quantity), (sa.c.reserved_quantity, _reserved_subquery(t, ctx)),
            (sa.c.physical_quantity, sa.c.quantity + sa.c.reserved_quantity))]
    return ([set_quantity] if n else []) + [
        update(sa).where(where).values(reserved_quantity=_reserved_subquery(t, ctx)),
        update(sa).where(where).values(physical_quantity=sa.c.quantity + sa.c.reserved_quantity)]


def refresh_reserved(conn: Connection, t: ShopTables, ctx: ShopContext, product_ids: Iterable[int]) -> None:
    """Recompute reserved_quantity and physical_quantity of the products' rows (1.7.2+ columns)."""
    update_stock(conn, t, ctx, {}, {}, product_ids)


def movements(conn: Connection, t: ShopTables, *, id_order: int, lines: Iterable[tuple[Key, int]],
              rows: Mapping[Key, StockRow], sign: int, id_reason: int, now_local: datetime) -> int:
    """Insert one stock_mvt per (product, combination) line; returns the number of rows written."""
    mvt = t.stock_mvt
    values: list[dict[str, Any]] = []
    for key, qty in lines:
        row = rows.get(key)
        if row is None or qty <= 0:
            continue
        values.append(complete(mvt, {
            "id_stock": row.id_stock_available, "id_order": id_order, "id_supply_order": 0,
            "id_stock_mvt_reason": id_reason, "id_employee": 0, "employee_lastname": "",
            "employee_firstname": "", "physical_quantity": qty, "date_add": now_local, "sign": sign,
            "price_te": 0, "last_wa": 0, "current_wa": 0, "referer": None,
        }))
    insert_rows(conn, mvt, values)
    return len(values)


def movement_at_creation(version: str, initial_shipped: bool) -> bool:
    """Does validateOrder write a stock_mvt for this version? 1.6 no (ASM only), 1.7 always, 8+/9 if shipped."""
    v = ps_version(version)
    if not v or v[0] >= 8:
        return initial_shipped
    return v[:2] == (1, 7)
