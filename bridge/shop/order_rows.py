"""The rows ``PaymentModule::validateOrder`` writes, built from an :class:`OrderDraft`.

Each function inserts one kind of row (lines in one executemany) and returns the ids it needs to
hand on. Column sets vary by version: optional columns are only set when reflected, and
:func:`bridge.shop.rows.complete` fills NOT NULL columns a version adds.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.engine import Connection

from bridge.domain.order_draft import DraftLine, OrderDraft
from bridge.shop.context import ShopContext
from bridge.shop.rows import (
    ZERO_DATETIME,
    blank_to_null,
    complete,
    execute,
    fit,
    insert_returning_ids,
    insert_row,
    insert_rows,
)
from bridge.shop.schema import ShopTables

Key = tuple[int, int]


@dataclass(frozen=True)
class OrderIds:
    id_customer: int
    secure_key: str
    id_address_delivery: int
    id_address_invoice: int
    id_cart: int
    id_currency: int
    id_carrier: int
    id_lang: int


def insert_cart(conn: Connection, t: ShopTables, ctx: ShopContext, *, ids: OrderIds, draft: OrderDraft,
                now_local: datetime) -> int:
    cart = t.cart
    row = {
        "id_shop_group": ctx.id_shop_group, "id_shop": ctx.id_shop, "id_carrier": ids.id_carrier,
        "delivery_option": json.dumps({str(ids.id_address_delivery): f"{ids.id_carrier},"}),
        "id_lang": ids.id_lang, "id_address_delivery": ids.id_address_delivery,
        "id_address_invoice": ids.id_address_invoice, "id_currency": ids.id_currency,
        "id_customer": ids.id_customer, "id_guest": 0, "secure_key": ids.secure_key, "recyclable": 0, "gift": 0,
        "gift_message": "", "mobile_theme": 0, "allow_seperated_package": 0, "date_add": now_local,
        "date_upd": now_local, "checkout_session_data": None,
    }
    id_cart = insert_row(conn, cart, complete(cart, row))
    cp = t.cart_product
    insert_rows(conn, cp, [complete(cp, {
        "id_cart": id_cart, "id_product": line.id_product, "id_address_delivery": ids.id_address_delivery,
        "id_shop": ctx.id_shop, "id_product_attribute": line.id_product_attribute, "id_customization": 0,
        "quantity": line.quantity, "date_add": now_local,
    }) for line in draft.lines])
    return id_cart


_LETTERS = string.ascii_uppercase


def random_reference() -> str:
    """``Order::generateReference``: 9 random letters A-Z (the caller checks it is unused)."""
    return "".join(secrets.choice(_LETTERS) for _ in range(9))


def new_reference(conn: Connection, t: ShopTables) -> str:
    """A reference no other order uses."""
    o = t.orders
    while True:
        candidates = [random_reference() for _ in range(3)]
        taken = {r[0] for r in conn.execute(select(o.c.reference).where(o.c.reference.in_(candidates)))}
        for ref in candidates:
            if ref not in taken:
                return ref


def insert_order(conn: Connection, t: ShopTables, ctx: ShopContext, *, ids: OrderIds, draft: OrderDraft,
                 reference: str, payment: str, module: str, conversion_rate: Decimal, state: int, valid: bool,
                 total_paid_real: Decimal, invoice_number: int, invoice_date: datetime | None,
                 now_local: datetime, warnings: list[str]) -> int:
    o = t.orders
    row = {
        "reference": reference, "id_shop_group": ctx.id_shop_group, "id_shop": ctx.id_shop,
        "id_carrier": ids.id_carrier, "id_lang": ids.id_lang, "id_customer": ids.id_customer,
        "id_cart": ids.id_cart, "id_currency": ids.id_currency, "id_address_delivery": ids.id_address_delivery,
        "id_address_invoice": ids.id_address_invoice, "current_state": state, "secure_key": ids.secure_key,
        "payment": fit(o, "payment", payment, warnings, "payment label"),
        "module": fit(o, "module", module, warnings, "payment module"),
        "conversion_rate": conversion_rate, "recyclable": 0, "gift": 0, "gift_message": "", "mobile_theme": 0,
        "total_discounts": 0, "total_discounts_tax_incl": 0, "total_discounts_tax_excl": 0,
        "total_paid": draft.total_paid_ti, "total_paid_tax_incl": draft.total_paid_ti,
        "total_paid_tax_excl": draft.total_paid_te, "total_paid_real": total_paid_real,
        "total_products": draft.total_products, "total_products_wt": draft.total_products_wt,
        "total_shipping": draft.shipping_ti, "total_shipping_tax_incl": draft.shipping_ti,
        "total_shipping_tax_excl": draft.shipping_te, "carrier_tax_rate": draft.carrier_tax_rate,
        "total_wrapping": 0, "total_wrapping_tax_incl": 0, "total_wrapping_tax_excl": 0,
        "round_mode": draft.rounding.mode, "round_type": draft.rounding.type,
        "invoice_number": invoice_number, "delivery_number": 0,
        "invoice_date": invoice_date or ZERO_DATETIME, "delivery_date": ZERO_DATETIME,
        "valid": 1 if valid else 0, "date_add": now_local, "date_upd": now_local,
    }
    return insert_row(conn, o, complete(o, row))


def _detail_row(t: ShopTables, ctx: ShopContext, line: DraftLine, *, id_order: int, id_order_invoice: int,
                in_stock: int, warnings: list[str]) -> dict[str, Any]:
    od = t.order_detail
    row: dict[str, Any] = {
        "id_order": id_order, "id_order_invoice": id_order_invoice, "id_warehouse": 0, "id_shop": ctx.id_shop,
        "product_id": line.id_product, "product_attribute_id": line.id_product_attribute, "id_customization": 0,
        "product_name": fit(od, "product_name", line.name, warnings, f"{line.sku} product_name"),
        "product_quantity": line.quantity, "product_quantity_in_stock": in_stock,
        "product_quantity_refunded": 0, "product_quantity_return": 0, "product_quantity_reinjected": 0,
        "product_price": line.unit_price_te, "reduction_percent": 0, "reduction_amount": 0,
        "reduction_amount_tax_incl": 0, "reduction_amount_tax_excl": 0, "group_reduction": 0,
        "product_quantity_discount": 0, "product_weight": line.weight,
        "id_tax_rules_group": line.id_tax_rules_group, "tax_computation_method": line.tax_computation_method,
        "tax_name": fit(od, "tax_name", line.tax_name), "tax_rate": line.tax_rate, "ecotax": 0,
        "ecotax_tax_rate": 0, "discount_quantity_applied": 0, "download_hash": "", "download_nb": 0,
        "download_deadline": None if od.c.download_deadline.nullable else ZERO_DATETIME,
        "total_price_tax_incl": line.total_price_ti, "total_price_tax_excl": line.total_price_te,
        "unit_price_tax_incl": line.unit_price_ti, "unit_price_tax_excl": line.unit_price_te,
        "total_shipping_price_tax_incl": 0, "total_shipping_price_tax_excl": 0,
        "purchase_supplier_price": line.purchase_supplier_price,
        "original_product_price": line.original_product_price,
        "original_wholesale_price": line.original_wholesale_price,
        "total_refunded_tax_excl": 0, "total_refunded_tax_incl": 0,
    }
    for field in ("ean13", "upc", "isbn", "mpn", "reference", "supplier_reference"):
        col = f"product_{field}"
        if col in od.c:
            row[col] = blank_to_null(fit(od, col, getattr(line, field), warnings, f"{line.sku} {col}"))
    return complete(od, row)


def insert_details(conn: Connection, t: ShopTables, ctx: ShopContext, draft: OrderDraft, *, id_order: int,
                   id_order_invoice: int, in_stock: dict[Key, int], warnings: list[str]) -> dict[Key, int]:
    """order_detail rows (one executemany) and their ids by (product, combination)."""
    od = t.order_detail
    rows = [_detail_row(t, ctx, line, id_order=id_order, id_order_invoice=id_order_invoice,
                        in_stock=in_stock.get(line.key, 0), warnings=warnings) for line in draft.lines]
    ids = insert_returning_ids(conn, od, rows)  # MariaDB 10.5+/SQLite: one round trip
    if ids is not None:
        return {line.key: i for line, i in zip(draft.lines, ids, strict=True)}
    insert_rows(conn, od, rows)
    q = select(od.c.id_order_detail, od.c.product_id, od.c.product_attribute_id).where(od.c.id_order == id_order)
    return {(int(r[1]), int(r[2])): int(r[0]) for r in conn.execute(q)}


def insert_detail_taxes(conn: Connection, t: ShopTables, draft: OrderDraft, detail_ids: dict[Key, int]) -> None:
    rows = [{"id_order_detail": detail_ids[line.key], "id_tax": tax.id_tax, "unit_amount": tax.unit_amount,
             "total_amount": tax.total_amount} for line in draft.lines for tax in line.taxes]
    insert_rows(conn, t.order_detail_tax, rows)


def insert_carrier(conn: Connection, t: ShopTables, draft: OrderDraft, *, id_order: int, id_carrier: int,
                   id_order_invoice: int | None, now_local: datetime) -> int:
    oc = t.order_carrier
    row = {"id_order": id_order, "id_carrier": id_carrier, "id_order_invoice": id_order_invoice or 0,
           "weight": draft.total_weight, "shipping_cost_tax_excl": draft.shipping_te,
           "shipping_cost_tax_incl": draft.shipping_ti, "tracking_number": "", "date_add": now_local}
    return insert_row(conn, oc, complete(oc, row))


def insert_payment(conn: Connection, t: ShopTables, *, reference: str, id_currency: int, amount: Decimal,
                   method: str, transaction_id: str, now_local: datetime, warnings: list[str],
                   conversion_rate: Decimal = Decimal(1)) -> int:
    """``Order::addOrderPayment``: conversion_rate 1 at validation (no currency object passed)."""
    op = t.order_payment
    row = {"order_reference": reference, "id_currency": id_currency, "amount": amount,
           "payment_method": fit(op, "payment_method", method), "conversion_rate": conversion_rate,
           "transaction_id": fit(op, "transaction_id", transaction_id, warnings, "transaction_id"),
           "card_number": None, "card_brand": None, "card_expiration": None, "card_holder": None,
           "date_add": now_local, "id_employee": None}
    return insert_row(conn, op, complete(op, row))


def insert_history(conn: Connection, t: ShopTables, *, id_order: int, states: Sequence[int],
                   now_local: datetime) -> None:
    insert_rows(conn, t.order_history, [
        {"id_employee": 0, "id_order": id_order, "id_order_state": s, "date_add": now_local} for s in states])


def insert_message(conn: Connection, t: ShopTables, *, id_cart: int, id_customer: int, id_order: int,
                   text: str, now_local: datetime) -> None:
    m = t.message
    insert_row(conn, m, complete(m, {
        "id_cart": id_cart, "id_customer": id_customer, "id_employee": 0, "id_order": id_order,
        "message": text, "private": 1, "date_add": now_local}))


def add_product_sales(conn: Connection, t: ShopTables, quantities: dict[int, int], today: Any,
                      sign: int = 1) -> None:
    """``ProductSale::addProductSale`` / ``removeProductSale``: quantity and sale_nbr per product."""
    if not quantities:
        return
    ps = t.product_sale
    if sign < 0:
        qty: Any = bindparam("b_qty")
        stmt: Any = (update(ps).where(ps.c.id_product == bindparam("b_id"))
                .values(quantity=case((ps.c.quantity > qty, ps.c.quantity - qty), else_=0),
                        sale_nbr=case((ps.c.sale_nbr > 0, ps.c.sale_nbr - 1), else_=0), date_upd=today))
        conn.execute(stmt, [{"b_id": k, "b_qty": q} for k, q in sorted(quantities.items())])
        return
    values = [{"id_product": k, "quantity": q, "sale_nbr": 1, "date_upd": today}
              for k, q in sorted(quantities.items())]
    if conn.dialect.name == "sqlite":
        ins = sqlite.insert(ps)
        upsert: Any = ins.on_conflict_do_update(index_elements=[ps.c.id_product], set_={
            "quantity": ps.c.quantity + ins.excluded.quantity, "sale_nbr": ps.c.sale_nbr + ins.excluded.sale_nbr,
            "date_upd": ins.excluded.date_upd})
        conn.execute(upsert, values)
        return
    cols, n = ("id_product", "quantity", "sale_nbr", "date_upd"), len(values)

    def build() -> Any:  # one multi-row VALUES; the update part refers to the inserted values only
        mins = mysql.insert(ps).values([{c: bindparam(f"r{i}_{j}", type_=ps.c[c].type) for j, c in enumerate(cols)}
                                        for i in range(n)])
        return mins.on_duplicate_key_update(quantity=ps.c.quantity + mins.inserted.quantity,
                                            sale_nbr=ps.c.sale_nbr + mins.inserted.sale_nbr,
                                            date_upd=mins.inserted.date_upd)

    execute(conn, ps, ("add_product_sales", n), build,
            {f"r{i}_{j}": row[c] for i, row in enumerate(values) for j, c in enumerate(cols)})


def set_invoice_on_rows(conn: Connection, t: ShopTables, *, id_order: int, id_order_invoice: int) -> None:
    """``Order::setInvoice``: link the lines and the carrier row to the invoice."""
    conn.execute(update(t.order_detail).where(t.order_detail.c.id_order == id_order)
                 .values(id_order_invoice=id_order_invoice))
    conn.execute(update(t.order_carrier).where(t.order_carrier.c.id_order == id_order)
                 .values(id_order_invoice=id_order_invoice))
