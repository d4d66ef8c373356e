"""``Order::setInvoice`` for an order entering a state with ``invoice = 1``.

The invoice copies the order's totals; its number is ``PS_INVOICE_START_NUMBER`` when set (the key is
then cleared, as PrestaShop does) or ``MAX(number) + 1`` (per year with ``PS_INVOICE_RESET``), and only
when ``PS_INVOICE`` is on (otherwise 0). Like PrestaShop, the number is not locked: the import job
holds the shop-wide import lock, so two bridge processes never number concurrently. The order writer
keeps the greatest number across its orders and reads only the invoices added since (:class:`InvoiceNumbers`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from bridge.domain.order_draft import DraftTax, OrderDraft
from bridge.shop.context import ShopContext
from bridge.shop.rows import cached, complete, execute, insert_row, insert_rows
from bridge.shop.schema import ShopTables

START_KEY = "PS_INVOICE_START_NUMBER"


def _scope(t: ShopTables, ctx: ShopContext):  # type: ignore[no-untyped-def]
    cfg = t.configuration
    zero_shop = or_(cfg.c.id_shop.is_(None), cfg.c.id_shop == 0)
    zero_group = or_(cfg.c.id_shop_group.is_(None), cfg.c.id_shop_group == 0)
    return or_(cfg.c.id_shop == ctx.id_shop, and_(cfg.c.id_shop_group == ctx.id_shop_group, zero_shop),
               and_(zero_shop, zero_group))


def _start_number(conn: Connection, t: ShopTables, ctx: ShopContext) -> int:
    """Live value (the cached context would miss a clear done earlier in the run)."""
    cfg = t.configuration
    rows = conn.execute(select(cfg.c.value, cfg.c.id_shop, cfg.c.id_shop_group)
                        .where(cfg.c.name == START_KEY, _scope(t, ctx))).all()
    best = sorted(rows, key=lambda r: 2 if r[1] else (1 if r[2] else 0), reverse=True)
    raw = str(best[0][0] or "").strip() if best else ""
    return int(raw) if raw.isdigit() else 0


def _max_number(t: ShopTables, ctx: ShopContext, now_local: datetime) -> Any:
    oi = t.order_invoice
    q = select(func.max(oi.c.number))
    if ctx.config_bool("PS_INVOICE_RESET"):
        q = q.where(oi.c.date_add >= datetime(now_local.year, 1, 1))
    return q


def _use_start(conn: Connection, t: ShopTables, ctx: ShopContext, start: int, max_number: Any) -> int:
    if start > 0:  # used once, then cleared (Order::setLastInvoiceNumber)
        cfg = t.configuration
        conn.execute(update(cfg).where(cfg.c.name == START_KEY, _scope(t, ctx)).values(value=""))
        return start
    return int(max_number or 0) + 1


def next_invoice_number(conn: Connection, t: ShopTables, ctx: ShopContext, now_local: datetime) -> int:
    if not ctx.config_bool("PS_INVOICE"):
        return 0
    start = _start_number(conn, t, ctx)
    max_number = conn.execute(_max_number(t, ctx, now_local)).scalar() if start <= 0 else 0
    return _use_start(conn, t, ctx, start, max_number)


def reference_and_number(conn: Connection, t: ShopTables, ctx: ShopContext, *, reference: str,
                         with_invoice: bool, now_local: datetime) -> tuple[bool, int]:
    """One round trip: is ``reference`` already used, and the next invoice number (0 when none).

    The invoice number is only consumed (start number cleared) when the reference is free.
    """
    numbering = numbering_on(ctx, with_invoice)
    key = ("reference_and_number", numbering, ctx.config_bool("PS_INVOICE_RESET"), ctx.id_shop, ctx.id_shop_group)
    q = cached(t.orders, key, lambda: select(*reference_and_number_columns(t, ctx, numbering)))
    row = conn.execute(q, reference_params(reference, now_local)).one()
    return taken_and_number(conn, t, ctx, row, numbering)


def numbering_on(ctx: ShopContext, with_invoice: bool) -> bool:
    return with_invoice and ctx.config_bool("PS_INVOICE")


def reference_params(reference: str, now_local: datetime) -> dict[str, Any]:
    return {"b_ref": reference, "b_year_start": datetime(now_local.year, 1, 1)}


def taken_and_number(conn: Connection, t: ShopTables, ctx: ShopContext, row: Any, numbering: bool,
                     max_number: Any = None) -> tuple[bool, int]:
    """From a row holding :func:`reference_and_number_columns`: is the reference taken, and the invoice
    number (0 when none); the number is only consumed (start number cleared) when the reference is free.
    ``max_number``: the greatest invoice number when the caller knows it better than ``row.max_number``."""
    if row.taken or not numbering:
        return bool(row.taken), 0
    raw = next((str(v).strip() for v in (row.start0, row.start1, row.start2) if v is not None), "")
    return False, _use_start(conn, t, ctx, int(raw) if raw.isdigit() else 0,
                             row.max_number if max_number is None else max_number)


def reference_and_number_columns(t: ShopTables, ctx: ShopContext, numbering: bool, *,
                                 since_id: bool = False) -> list[Any]:
    """Scalar subqueries (parameters ``b_ref``, ``b_year_start``): ``taken``, and with ``numbering``
    ``max_number`` and the start number at each configuration level (``start0``..``start2``).

    ``since_id``: ``max_number`` only over the invoices whose id is above ``b_after_id``, plus ``max_id``
    (the greatest invoice id): see :class:`InvoiceNumbers`."""
    o, cfg, oi = t.orders, t.configuration, t.order_invoice
    cols: list[Any] = [select(func.count()).select_from(o).where(o.c.reference == bindparam("b_ref"))
                       .scalar_subquery().label("taken")]
    if numbering:
        zero_shop = or_(cfg.c.id_shop.is_(None), cfg.c.id_shop == 0)
        zero_group = or_(cfg.c.id_shop_group.is_(None), cfg.c.id_shop_group == 0)
        levels = (cfg.c.id_shop == ctx.id_shop, and_(cfg.c.id_shop_group == ctx.id_shop_group, zero_shop),
                  and_(zero_shop, zero_group))
        max_q = select(func.max(oi.c.number))
        if ctx.config_bool("PS_INVOICE_RESET"):
            max_q = max_q.where(oi.c.date_add >= bindparam("b_year_start"))
        if since_id:
            max_q = max_q.where(oi.c.id_order_invoice > bindparam("b_after_id"))
            cols.append(select(func.max(oi.c.id_order_invoice)).scalar_subquery().label("max_id"))
        cols.append(max_q.scalar_subquery().label("max_number"))
        cols += [select(cfg.c.value).where(cfg.c.name == START_KEY, level).limit(1).scalar_subquery()
                 .label(f"start{k}") for k, level in enumerate(levels)]
    return cols


class InvoiceNumbers:
    """The greatest invoice number, kept across the orders of one writer instead of ``MAX(number)`` over
    every invoice of the shop for each order (``order_invoice.number`` has no index: that read grew with
    the shop's invoices, ~0.15 ms per 1,000 here).

    Each read takes ``MAX(number)`` of the invoices above the last id seen (minus ``RESCAN`` ids, so that
    an invoice of another writer committed a little late is still counted) and the greatest id; the
    number used is the greater of that and the greatest number seen before. Only committed invoices are
    seen (the read precedes the order's own invoice), so an order rolled back leaves nothing behind. A
    writer's first read (``after`` 0) is the full ``MAX(number)`` as before. Kept per year start (the
    ``PS_INVOICE_RESET`` numbering counts from January 1).
    """

    RESCAN = 100

    def __init__(self) -> None:
        self._seen: dict[datetime, tuple[int, int | None]] = {}  # year start -> (greatest id, greatest number)

    def after_id(self, year_start: datetime) -> int:
        seen = self._seen.get(year_start)
        return max(0, seen[0] - self.RESCAN) if seen else 0

    def greatest(self, year_start: datetime, row: Any) -> int | None:
        """The greatest number now, from a row with ``max_id`` / ``max_number`` (read with ``after_id``)."""
        _id, before = self._seen.get(year_start, (0, None))
        found = row.max_number
        best = found if before is None else (before if found is None else max(before, int(found)))
        self._seen[year_start] = (int(row.max_id or 0), best)
        return best


def shop_address(ctx: ShopContext) -> str:
    city = " ".join(p for p in (ctx.config_str("PS_SHOP_CODE"), ctx.config_str("PS_SHOP_CITY")) if p)
    parts = [ctx.config_str("PS_SHOP_NAME"), ctx.config_str("PS_SHOP_ADDR1"), ctx.config_str("PS_SHOP_ADDR2"), city]
    return "<br />".join(p for p in parts if p)


@dataclass(frozen=True)
class InvoiceTotals:
    """What an invoice copies from its order."""

    total_paid_tax_excl: Decimal
    total_paid_tax_incl: Decimal
    total_products: Decimal
    total_products_wt: Decimal
    total_shipping_tax_excl: Decimal
    total_shipping_tax_incl: Decimal
    total_discount_tax_excl: Decimal = Decimal(0)
    total_discount_tax_incl: Decimal = Decimal(0)
    total_wrapping_tax_excl: Decimal = Decimal(0)
    total_wrapping_tax_incl: Decimal = Decimal(0)
    shipping_tax_computation_method: int = 0
    shipping_taxes: tuple[DraftTax, ...] = ()

    @classmethod
    def from_draft(cls, d: OrderDraft) -> InvoiceTotals:
        return cls(d.total_paid_te, d.total_paid_ti, d.total_products, d.total_products_wt, d.shipping_te,
                   d.shipping_ti, shipping_tax_computation_method=d.shipping_tax_method,
                   shipping_taxes=d.shipping_taxes)

    @classmethod
    def from_order(cls, o: Mapping[str, Any]) -> InvoiceTotals:
        def d(col: str) -> Decimal:
            return Decimal(str(o[col]))

        return cls(d("total_paid_tax_excl"), d("total_paid_tax_incl"), d("total_products"),
                   d("total_products_wt"), d("total_shipping_tax_excl"), d("total_shipping_tax_incl"),
                   d("total_discounts_tax_excl"), d("total_discounts_tax_incl"), d("total_wrapping_tax_excl"),
                   d("total_wrapping_tax_incl"))


def insert_invoice(conn: Connection, t: ShopTables, ctx: ShopContext, totals: InvoiceTotals, *, id_order: int,
                   number: int, now_local: datetime) -> int:
    oi = t.order_invoice
    row = {
        "id_order": id_order, "number": number, "delivery_number": 0, "delivery_date": "0000-00-00 00:00:00",
        "total_discount_tax_excl": totals.total_discount_tax_excl,
        "total_discount_tax_incl": totals.total_discount_tax_incl,
        "total_paid_tax_excl": totals.total_paid_tax_excl, "total_paid_tax_incl": totals.total_paid_tax_incl,
        "total_products": totals.total_products, "total_products_wt": totals.total_products_wt,
        "total_shipping_tax_excl": totals.total_shipping_tax_excl,
        "total_shipping_tax_incl": totals.total_shipping_tax_incl,
        "shipping_tax_computation_method": totals.shipping_tax_computation_method,
        "total_wrapping_tax_excl": totals.total_wrapping_tax_excl,
        "total_wrapping_tax_incl": totals.total_wrapping_tax_incl, "shop_address": shop_address(ctx),
        "note": "", "date_add": now_local,
    }
    id_invoice = insert_row(conn, oi, complete(oi, row))
    taxes = [{"id_order_invoice": id_invoice, "type": "shipping", "id_tax": tax.id_tax,
              "amount": tax.total_amount} for tax in totals.shipping_taxes if tax.total_amount != Decimal(0)]
    if taxes and t.has_table("order_invoice_tax"):
        insert_rows(conn, t.order_invoice_tax, taxes)
    return id_invoice


def link_payment(conn: Connection, t: ShopTables, *, id_order_invoice: int, id_order_payment: int,
                 id_order: int) -> None:
    insert_row(conn, t.order_invoice_payment, {"id_order_invoice": id_order_invoice,
                                               "id_order_payment": id_order_payment, "id_order": id_order})


def link_last_payment(conn: Any, t: ShopTables, *, id_order_invoice: int, id_order: int) -> None:
    """:func:`link_payment` to the order_payment row inserted just before on this connection
    (``LAST_INSERT_ID()``, MariaDB/MySQL): for a payment insert queued in a :class:`~bridge.shop.rows.Batch`."""
    oip = t.order_invoice_payment
    execute(conn, oip, ("link_last_payment",), lambda: insert(oip).values(
        id_order_invoice=bindparam("b_oi"), id_order_payment=func.last_insert_id(), id_order=bindparam("b_order")),
        {"b_oi": id_order_invoice, "b_order": id_order})
