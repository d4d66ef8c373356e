"""Write a Mirakl order into PrestaShop the way ``PaymentModule::validateOrder()`` does, in the caller's transaction.

``OrderWriter.prepare`` reads everything (SKUs, products, tax rules, country, currency, carrier, states,
stock locked FOR UPDATE) and computes the :class:`~bridge.domain.order_draft.OrderDraft`; any missing
mapping raises ``SkippableError`` (the job holds the order) before anything is written.
``OrderWriter.write`` then inserts customer, addresses, cart, order, lines, taxes, carrier, payment,
history, invoice, message, sales and stock. Both must run on the same connection and transaction
(the stock snapshot of ``prepare`` is what ``write`` updates); neither commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.engine import Connection

from bridge.config import PlatformConfig
from bridge.domain.order_draft import DraftError, OrderDraft
from bridge.domain.orders import MiraklOrder
from bridge.errors import SkippableError
from bridge.shop import invoice as inv
from bridge.shop import order_rows as rows
from bridge.shop.addresses import PlacedAddress, address_row, insert_address
from bridge.shop.customers import (
    KnownCustomer,
    create_customer,
    customer_columns,
    known_customer,
    remember_customer,
)
from bridge.shop.order_prepare import Preparer
from bridge.shop.order_reads import StateFlags
from bridge.shop.rows import Batch, execute, insert_returning_ids, local_naive
from bridge.shop.shop import Shop
from bridge.shop.stock_writer import (
    StockRow,
    movement_at_creation,
    movements,
    ps_version,
    refresh_reserved,
    update_stock,
)
from bridge.state.tables import bridge_tables

log = structlog.get_logger(__name__)
Key = tuple[int, int]


@dataclass(frozen=True)
class PreparedOrder:
    order: MiraklOrder
    platform: str
    draft: OrderDraft
    delivery: PlacedAddress
    invoice: PlacedAddress
    id_currency: int
    conversion_rate: Decimal
    id_carrier: int
    id_lang: int
    state: StateFlags
    out_of_stock_state: StateFlags | None
    stock: dict[Key, StockRow]
    shortages: list[tuple[str, int, int]]
    guest: bool
    payment_label: str
    payment_module: str
    private_message: str
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class WrittenOrder:
    id_order: int
    reference: str
    id_customer: int
    warnings: list[str]


class OrderWriter:
    """Prepare and write imported orders for one shop (reference data cached for the writer's life)."""

    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self._preparer = Preparer(shop)
        self._mapping = bridge_tables(shop.prefix).customer
        self._invoices = inv.InvoiceNumbers()

    def warm(self, conn: Connection, orders: Iterable[MiraklOrder], platform: PlatformConfig) -> None:
        """Read the SKUs and product rows of a run's orders in set-based queries before preparing them."""
        self._preparer.warm(conn, orders, platform)

    def prepare(self, conn: Connection, order: MiraklOrder, platform: PlatformConfig) -> PreparedOrder:
        ref = f"order {order.order_id}"
        try:
            p = self._preparer.prepare(conn, order, platform)
        except DraftError as exc:
            raise SkippableError(ref, str(exc), code=exc.code) from None
        return PreparedOrder(**p)

    def write(self, conn: Connection, prepared: PreparedOrder, *, flag_out_of_stock: bool,
              now: datetime) -> WrittenOrder:
        t, ctx = self.shop.tables, self.shop.context
        p, d = prepared, prepared.draft
        warnings = list(p.warnings)
        now_local = local_naive(now, ctx.timezone)
        states = [p.state]
        if p.shortages and flag_out_of_stock and p.out_of_stock_state is not None:
            states.append(p.out_of_stock_state)
        final = states[-1]
        with_invoice = any(s.invoice for s in states)
        paid = p.state.logable
        reference, number, customer = self._first_read(conn, p, with_invoice=with_invoice, now_local=now_local)
        id_customer, secure_key = self._customer(conn, p, customer, now, now_local, warnings)
        id_delivery, id_invoice_addr = self._addresses(conn, p, id_customer, now_local, warnings)
        ids = rows.OrderIds(id_customer, secure_key, id_delivery, id_invoice_addr, 0, p.id_currency,
                            p.id_carrier, p.id_lang)
        ids = rows.OrderIds(**{**ids.__dict__, "id_cart": rows.insert_cart(conn, t, ctx, ids=ids, draft=d,
                                                                           now_local=now_local)})
        id_order = rows.insert_order(
            conn, t, ctx, ids=ids, draft=d, reference=reference, payment=p.payment_label, module=p.payment_module,
            conversion_rate=p.conversion_rate, state=final.id_order_state, valid=final.logable,
            total_paid_real=d.total_paid_ti if paid else Decimal(0), invoice_number=number,
            invoice_date=now_local if with_invoice else None, now_local=now_local, warnings=warnings)
        id_oi = inv.insert_invoice(conn, t, ctx, inv.InvoiceTotals.from_draft(d), id_order=id_order,
                                   number=number, now_local=now_local) if with_invoice else 0
        in_stock = {k: min(q, p.stock[k].quantity if k in p.stock else 0) for k, q in d.quantities.items()}
        detail_ids = rows.insert_details(conn, t, ctx, d, id_order=id_order, id_order_invoice=id_oi,
                                         in_stock=in_stock, warnings=warnings)
        # the rest reads no result: one round trip where the connection allows batches (rows.Batch)
        tail = Batch(conn)
        rows.insert_detail_taxes(tail, t, d, detail_ids)
        rows.insert_carrier(tail, t, d, id_order=id_order, id_carrier=p.id_carrier, id_order_invoice=id_oi,
                            now_local=now_local)
        if paid:
            id_payment = rows.insert_payment(tail, t, reference=reference, id_currency=p.id_currency,
                                             amount=d.total_paid_ti, method=p.payment_label,
                                             transaction_id=p.order.order_id, now_local=now_local,
                                             warnings=warnings)
            if id_oi and id_payment:
                inv.link_payment(tail, t, id_order_invoice=id_oi, id_order_payment=id_payment, id_order=id_order)
            elif id_oi:  # the payment insert is queued: its id is LAST_INSERT_ID() right after it
                inv.link_last_payment(tail, t, id_order_invoice=id_oi, id_order=id_order)
        rows.insert_history(tail, t, id_order=id_order, states=[s.id_order_state for s in states],
                            now_local=now_local)
        if p.private_message:
            rows.insert_message(tail, t, id_cart=ids.id_cart, id_customer=id_customer, id_order=id_order,
                                text=p.private_message, now_local=now_local)
        if final.logable:  # validateOrder adds the sale; a non-logable back-order state removes it again
            sales: dict[int, int] = {}
            for line in d.lines:
                sales[line.id_product] = sales.get(line.id_product, 0) + line.quantity
            rows.add_product_sales(tail, t, sales, now_local.date())
        self._stock(tail, p, id_order, now_local, warnings)
        tail.flush()
        log.info("order.written", mirakl_order_id=p.order.order_id, id_order=id_order, reference=reference,
                 lines=len(d.lines), warnings=len(warnings))
        return WrittenOrder(id_order, reference, id_customer, warnings)

    # --- steps -----------------------------------------------------------------------------------

    def _first_read(self, conn: Connection, p: PreparedOrder, *, with_invoice: bool,
                    now_local: datetime) -> tuple[str, int, KnownCustomer | None]:
        """One round trip: a free order reference, the invoice number (0 when none) and the mapped customer."""
        t, ctx = self.shop.tables, self.shop.context
        numbering = inv.numbering_on(ctx, with_invoice)
        key = ("order_first_read", numbering, ctx.config_bool("PS_INVOICE_RESET"), ctx.id_shop, ctx.id_shop_group,
               self._mapping.name)
        def build() -> Any:
            return select(*inv.reference_and_number_columns(t, ctx, numbering, since_id=True),
                          *customer_columns(t, self._mapping))

        cid = p.order.customer.customer_id
        while True:
            reference = rows.random_reference()
            params = inv.reference_params(reference, now_local)
            year = params["b_year_start"]
            row = execute(conn, t.orders, key, build, {**params, "b_after_id": self._invoices.after_id(year),
                                                      "b_platform": p.platform, "b_cid": cid}).one()
            greatest = self._invoices.greatest(year, row) if numbering else None
            taken, number = inv.taken_and_number(conn, t, ctx, row, numbering, greatest)
            if not taken:
                return reference, number, known_customer(row, cid)

    def _customer(self, conn: Connection, p: PreparedOrder, customer: KnownCustomer | None, now: datetime,
                  now_local: datetime, warnings: list[str]) -> tuple[int, str]:
        if customer is not None and customer.id_customer:
            return customer.id_customer, customer.secure_key
        d, stale = p.draft, customer is not None
        # customer, group and mapping in one round trip where the connection allows batches (rows.Batch);
        # a stale mapping is updated by the live id, so it waits for it
        batch = Batch(conn) if not stale and conn.dialect.name == "mysql" else None
        id_customer, key = create_customer(batch or conn, self.shop.tables, self.shop.context, firstname=d.firstname,
                                           lastname=d.lastname, email=d.email, guest=p.guest,
                                           now_local=now_local, warnings=warnings)
        if batch is not None and not id_customer:
            remember_customer(batch, self._mapping, platform=p.platform, mirakl_customer_id=d.customer_id,
                              id_customer=0, stale=False, now_utc=now)
            batch.flush()
            id_customer = int(batch.results[0][1])  # the first statement queued: the customer insert
            if not id_customer:
                raise RuntimeError("the customer insert returned no id")
            return id_customer, key
        remember_customer(conn, self._mapping, platform=p.platform, mirakl_customer_id=d.customer_id,
                          id_customer=id_customer, stale=stale, now_utc=now)
        return id_customer, key

    def _addresses(self, conn: Connection, p: PreparedOrder, id_customer: int, now_local: datetime,
                   warnings: list[str]) -> tuple[int, int]:
        t, oid = self.shop.tables, p.order.order_id
        delivery = address_row(t, p.delivery, id_customer=id_customer, alias=f"Delivery {oid}",
                               now_local=now_local, warnings=warnings, label="delivery")
        if p.invoice == p.delivery:
            id_delivery = insert_address(conn, t, delivery)
            return id_delivery, id_delivery
        invoice = address_row(t, p.invoice, id_customer=id_customer, alias=f"Invoice {oid}",
                              now_local=now_local, warnings=warnings, label="invoice")
        if delivery.keys() == invoice.keys():
            # MariaDB 10.5+/SQLite: both rows and their ids in one round trip, in this order
            ids = insert_returning_ids(conn, t.address, [delivery, invoice])
            if ids is not None:
                return ids[0], ids[1]
        return insert_address(conn, t, delivery), insert_address(conn, t, invoice)

    def _stock(self, conn: Connection | Batch, p: PreparedOrder, id_order: int, now_local: datetime,
               warnings: list[str]) -> None:
        t, ctx = self.shop.tables, self.shop.context
        skip_states = {ctx.config_int("PS_OS_CANCELED", -1), ctx.config_int("PS_OS_ERROR", -1)}
        quantities = p.draft.quantities
        if p.state.id_order_state not in skip_states:
            version = ps_version(ctx.version)
            deltas: dict[Key, int] = {}
            for key, qty in quantities.items():
                row = p.stock.get(key)
                if row is not None and row.depends_on_stock and version and version[0] < 9:
                    warnings.append(f"product {key[0]}-{key[1]} is managed by advanced stock management: "
                                    "stock not decremented (PrestaShop does the same)")
                    continue
                deltas[key] = -qty
            update_stock(conn, t, ctx, deltas, p.stock, {k[0] for k in quantities})
            if movement_at_creation(ctx.version, p.state.shipped):
                movements(conn, t, id_order=id_order, lines=[(k, -d) for k, d in deltas.items()],
                          rows=p.stock, sign=-1, id_reason=ctx.config_int("PS_STOCK_CUSTOMER_ORDER_REASON", 0),
                          now_local=now_local)
        else:
            refresh_reserved(conn, t, ctx, {k[0] for k in quantities})
