"""SQL invariants of an order written into PrestaShop (reusable by every suite that writes orders).

Each ``check_*`` function takes a connection, the table prefix and an ``id_order`` and returns a list
of violations (empty = fine); :func:`order_invariants` runs them all. Amount comparisons are to the
cent. Stock checks need the quantities before the order: take :func:`stock_snapshot` first.

    before = stock_snapshot(conn, "ps_", product_ids)
    ... write the order ...
    assert order_invariants(conn, "ps_", id_order) == []
    assert check_stock_decrement(conn, "ps_", id_order, before) == []
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from bridge.shop.schema import ShopTables, reflect_shop_tables

_TABLES: dict[tuple[int, str], ShopTables] = {}
CENT = Decimal("0.01")
Key = tuple[int, int]


def tables(conn: Connection, prefix: str) -> ShopTables:
    key = (id(conn.engine), prefix)
    if key not in _TABLES:
        _TABLES[key] = reflect_shop_tables(conn, prefix)
    return _TABLES[key]


def _d(value: Any) -> Decimal:
    return Decimal(str(value or 0))


def _cents(value: Any) -> Decimal:
    return _d(value).quantize(CENT)


def _order(conn: Connection, t: ShopTables, id_order: int) -> Any:
    row = conn.execute(select(t.orders).where(t.orders.c.id_order == id_order)).first()
    if row is None:
        raise AssertionError(f"order {id_order} does not exist")
    return row._mapping


def check_totals(conn: Connection, prefix: str, id_order: int) -> list[str]:
    """Totals = sum of the details (+ shipping, wrapping − discounts), tax excluded and included."""
    t = tables(conn, prefix)
    o, od, oc = _order(conn, t, id_order), t.order_detail, t.order_carrier
    te, ti = conn.execute(select(func.sum(od.c.total_price_tax_excl), func.sum(od.c.total_price_tax_incl))
                          .where(od.c.id_order == id_order)).one()
    problems = []
    pairs = [
        ("total_products", o["total_products"], te),
        ("total_products_wt", o["total_products_wt"], ti),
        ("total_paid_tax_excl", o["total_paid_tax_excl"], _d(o["total_products"]) + _d(o["total_shipping_tax_excl"])
         + _d(o["total_wrapping_tax_excl"]) - _d(o["total_discounts_tax_excl"])),
        ("total_paid_tax_incl", o["total_paid_tax_incl"], _d(o["total_products_wt"]) + _d(o["total_shipping_tax_incl"])
         + _d(o["total_wrapping_tax_incl"]) - _d(o["total_discounts_tax_incl"])),
        ("total_paid", o["total_paid"], o["total_paid_tax_incl"]),
        ("total_shipping", o["total_shipping"], o["total_shipping_tax_incl"]),
        ("total_discounts", o["total_discounts"], o["total_discounts_tax_incl"]),
        ("total_wrapping", o["total_wrapping"], o["total_wrapping_tax_incl"]),
    ]
    carrier = conn.execute(select(oc.c.shipping_cost_tax_excl, oc.c.shipping_cost_tax_incl)
                           .where(oc.c.id_order == id_order)).all()
    if o["id_carrier"]:
        if len(carrier) != 1:
            problems.append(f"{len(carrier)} order_carrier rows (1 expected)")
        else:
            pairs += [("order_carrier.shipping_cost_tax_excl", carrier[0][0], o["total_shipping_tax_excl"]),
                      ("order_carrier.shipping_cost_tax_incl", carrier[0][1], o["total_shipping_tax_incl"])]
    for name, actual, expected in pairs:
        if _cents(actual) != _cents(expected):
            problems.append(f"{name} = {_cents(actual)}, expected {_cents(expected)}")
    if _d(o["total_products"]) > _d(o["total_products_wt"]):
        problems.append("total_products (tax excl.) above total_products_wt")
    return problems


def check_detail_taxes(conn: Connection, prefix: str, id_order: int) -> list[str]:
    """order_detail_tax: per line Σ total_amount = incl − excl; per order = total_products_wt − total_products."""
    t = tables(conn, prefix)
    o, od, odt = _order(conn, t, id_order), t.order_detail, t.order_detail_tax
    rows = conn.execute(
        select(od.c.id_order_detail, od.c.total_price_tax_excl, od.c.total_price_tax_incl,
               od.c.unit_price_tax_excl, od.c.unit_price_tax_incl, od.c.product_quantity,
               func.sum(odt.c.total_amount), func.sum(odt.c.unit_amount), func.count(odt.c.id_tax))
        .select_from(od.outerjoin(odt, odt.c.id_order_detail == od.c.id_order_detail))
        .where(od.c.id_order == id_order).group_by(od.c.id_order_detail, od.c.total_price_tax_excl,
                                                   od.c.total_price_tax_incl, od.c.unit_price_tax_excl,
                                                   od.c.unit_price_tax_incl, od.c.product_quantity)
    ).all()
    problems = []
    total = Decimal(0)
    for id_od, te, ti, ute, uti, qty, tax_total, tax_unit, n in rows:
        tax = _d(ti) - _d(te)
        total += _d(tax_total)
        if n == 0 and _cents(tax) != 0:
            problems.append(f"order_detail {id_od}: tax {tax} but no order_detail_tax row")
        elif _cents(tax_total) != _cents(tax):
            problems.append(f"order_detail {id_od}: Σ order_detail_tax.total_amount {_d(tax_total)} != {tax}")
        if n and abs(_d(tax_unit) - (_d(uti) - _d(ute))) > CENT:
            problems.append(f"order_detail {id_od}: Σ unit_amount {_d(tax_unit)} != {_d(uti) - _d(ute)}")
        if abs(_d(ute) * qty - _d(te)) > CENT * qty or abs(_d(uti) * qty - _d(ti)) > CENT * qty:
            problems.append(f"order_detail {id_od}: unit prices × quantity do not give the line totals")
    if _cents(total) != _cents(_d(o["total_products_wt"]) - _d(o["total_products"])):
        problems.append(f"Σ order_detail_tax {total} != total_products_wt − total_products")
    return problems


def history_states(conn: Connection, prefix: str, id_order: int) -> list[int]:
    t = tables(conn, prefix)
    oh = t.order_history
    return [int(r[0]) for r in conn.execute(select(oh.c.id_order_state).where(oh.c.id_order == id_order)
                                            .order_by(oh.c.date_add, oh.c.id_order_history))]


def check_history(conn: Connection, prefix: str, id_order: int) -> list[str]:
    """The last history row is the current state; valid = that state's logable."""
    t = tables(conn, prefix)
    o, os_ = _order(conn, t, id_order), t.order_state
    states = history_states(conn, prefix, id_order)
    if not states:
        return ["no order_history row"]
    problems = []
    if states[-1] != o["current_state"]:
        problems.append(f"current_state {o['current_state']} != last history state {states[-1]}")
    logable = conn.execute(select(os_.c.logable).where(os_.c.id_order_state == o["current_state"])).scalar()
    if logable is None:
        problems.append(f"current_state {o['current_state']} is not an order_state")
    elif bool(logable) != bool(o["valid"]):
        problems.append(f"valid = {o['valid']} but the state's logable = {logable}")
    return problems


def check_links(conn: Connection, prefix: str, id_order: int) -> list[str]:
    """Customer, addresses, cart, carrier, payment and messages all point at each other."""
    t = tables(conn, prefix)
    o = _order(conn, t, id_order)
    problems = []
    cust = conn.execute(select(t.customer.c.id_customer, t.customer.c.secure_key, t.customer.c.id_default_group)
                        .where(t.customer.c.id_customer == o["id_customer"])).first()
    if cust is None:
        return [f"customer {o['id_customer']} does not exist"]
    if cust[1] != o["secure_key"]:
        problems.append("orders.secure_key differs from the customer's")
    groups = {int(r[0]) for r in conn.execute(select(t.customer_group.c.id_group)
                                              .where(t.customer_group.c.id_customer == o["id_customer"]))}
    if int(cust[2]) not in groups:
        problems.append("the customer's default group has no customer_group row")
    for col in ("id_address_delivery", "id_address_invoice"):
        a = conn.execute(select(t.address.c.id_customer, t.address.c.id_country)
                         .where(t.address.c.id_address == o[col])).first()
        if a is None or a[0] != o["id_customer"]:
            problems.append(f"{col} {o[col]} missing or not the customer's")
    cart = conn.execute(select(t.cart).where(t.cart.c.id_cart == o["id_cart"])).first()
    if cart is None:
        problems.append(f"cart {o['id_cart']} missing")
    else:
        c = cart._mapping
        for col in ("id_customer", "id_address_delivery", "id_address_invoice", "id_currency", "id_carrier"):
            if c[col] != o[col]:
                problems.append(f"cart.{col} {c[col]} != orders.{col} {o[col]}")
        problems += _cart_matches_details(conn, t, o)
    oc = conn.execute(select(t.order_carrier.c.id_carrier).where(t.order_carrier.c.id_order == id_order)).all()
    if o["id_carrier"] and [r[0] for r in oc] != [o["id_carrier"]]:
        problems.append(f"order_carrier {[r[0] for r in oc]} != orders.id_carrier {o['id_carrier']}")
    op = t.order_payment
    paid = conn.execute(select(func.coalesce(func.sum(op.c.amount), 0), func.count())
                        .where(op.c.order_reference == o["reference"])).one()
    if _cents(paid[0]) != _cents(o["total_paid_real"]):
        problems.append(f"Σ order_payment {_d(paid[0])} != total_paid_real {_d(o['total_paid_real'])}")
    if o["valid"] and _cents(o["total_paid_real"]) != _cents(o["total_paid_tax_incl"]):
        problems.append("a valid order is not paid in full (total_paid_real != total_paid_tax_incl)")
    return problems


def _cart_matches_details(conn: Connection, t: ShopTables, o: Any) -> list[str]:
    cp, od = t.cart_product, t.order_detail
    cart = {(int(a), int(b)): int(q) for a, b, q in conn.execute(
        select(cp.c.id_product, cp.c.id_product_attribute, func.sum(cp.c.quantity))
        .where(cp.c.id_cart == o["id_cart"]).group_by(cp.c.id_product, cp.c.id_product_attribute))}
    details = {(int(a), int(b)): int(q) for a, b, q in conn.execute(
        select(od.c.product_id, od.c.product_attribute_id, func.sum(od.c.product_quantity))
        .where(od.c.id_order == o["id_order"]).group_by(od.c.product_id, od.c.product_attribute_id))}
    return [] if cart == details else [f"cart_product {cart} != order_detail quantities {details}"]


def check_invoice(conn: Connection, prefix: str, id_order: int) -> list[str]:
    """An invoice exists iff a state of the history has invoice = 1, with the order's totals and links."""
    t = tables(conn, prefix)
    o, os_, oi = _order(conn, t, id_order), t.order_state, t.order_invoice
    states = history_states(conn, prefix, id_order)
    wants = bool(states) and bool(conn.execute(
        select(func.max(os_.c.invoice)).where(os_.c.id_order_state.in_(states))).scalar())
    invoices = conn.execute(select(oi).where(oi.c.id_order == id_order)).all()
    if not wants:
        return [f"{len(invoices)} invoice(s) but no state asks for one"] if invoices else []
    if len(invoices) != 1:
        return [f"{len(invoices)} invoices, 1 expected"]
    inv = invoices[0]._mapping
    problems = [f"order_invoice.{a} {_d(inv[a])} != orders.{b} {_d(o[b])}" for a, b in (
        ("total_paid_tax_excl", "total_paid_tax_excl"), ("total_paid_tax_incl", "total_paid_tax_incl"),
        ("total_products", "total_products"), ("total_products_wt", "total_products_wt"),
        ("total_shipping_tax_excl", "total_shipping_tax_excl"),
        ("total_shipping_tax_incl", "total_shipping_tax_incl")) if _cents(inv[a]) != _cents(o[b])]
    if inv["number"] and o["invoice_number"] != inv["number"]:
        problems.append(f"orders.invoice_number {o['invoice_number']} != order_invoice.number {inv['number']}")
    od = t.order_detail
    bad = conn.execute(select(func.count()).where(od.c.id_order == id_order,
                                                  od.c.id_order_invoice != inv["id_order_invoice"])).scalar()
    if bad:
        problems.append(f"{bad} order_detail rows not linked to the invoice")
    oc = t.order_carrier
    bad = conn.execute(select(func.count()).where(oc.c.id_order == id_order,
                                                  oc.c.id_order_invoice != inv["id_order_invoice"])).scalar()
    if bad:
        problems.append("order_carrier not linked to the invoice")
    if o["total_paid_real"]:
        oip = t.order_invoice_payment
        n = conn.execute(select(func.count()).where(oip.c.id_order == id_order,
                                                    oip.c.id_order_invoice == inv["id_order_invoice"])).scalar()
        if not n:
            problems.append("the payment is not linked to the invoice (order_invoice_payment)")
    return problems


def _stock_where(t: ShopTables, conn: Connection, id_order: int) -> Any:
    o = _order(conn, t, id_order)
    sa, sh, sg = t.stock_available, t.shop, t.shop_group
    share = conn.execute(select(sg.c.share_stock).select_from(sh.join(sg, sg.c.id_shop_group == sh.c.id_shop_group))
                         .where(sh.c.id_shop == o["id_shop"])).scalar()
    if share:
        return and_(sa.c.id_shop == 0, sa.c.id_shop_group == o["id_shop_group"])
    return and_(sa.c.id_shop == o["id_shop"], sa.c.id_shop_group == 0)


def stock_snapshot(conn: Connection, prefix: str, product_ids: Iterable[int], *, id_shop: int = 1,
                   id_shop_group: int = 0) -> dict[Key, int]:
    """Quantities of every stock_available row of the products, for the given shop restriction."""
    t = tables(conn, prefix)
    sa = t.stock_available
    return {(int(a), int(b)): int(q) for a, b, q in conn.execute(
        select(sa.c.id_product, sa.c.id_product_attribute, sa.c.quantity)
        .where(sa.c.id_product.in_(sorted(set(product_ids))), sa.c.id_shop == id_shop,
               sa.c.id_shop_group == id_shop_group))}


def check_stock_decrement(conn: Connection, prefix: str, id_order: int, before: dict[Key, int],
                          *, factor: int = 1) -> list[str]:
    """Each ordered row went down by ``factor`` × its quantity (once), product rows = Σ combinations.

    ``factor=0`` checks that nothing moved (e.g. after a cancellation gave the stock back).
    """
    t = tables(conn, prefix)
    od, sa = t.order_detail, t.stock_available
    ordered: dict[Key, int] = {}
    for a, b, q in conn.execute(select(od.c.product_id, od.c.product_attribute_id, od.c.product_quantity)
                                .where(od.c.id_order == id_order)):
        ordered[(int(a), int(b))] = ordered.get((int(a), int(b)), 0) + int(q)
    where = _stock_where(t, conn, id_order)
    ids = sorted({k[0] for k in ordered})
    after = {(int(a), int(b)): int(q) for a, b, q in conn.execute(
        select(sa.c.id_product, sa.c.id_product_attribute, sa.c.quantity).where(where, sa.c.id_product.in_(ids)))}
    problems = []
    for key, qty in ordered.items():
        expected = before.get(key, 0) - factor * qty
        if after.get(key) != expected:
            problems.append(f"stock {key}: {after.get(key)} expected {expected} (before {before.get(key)})")
    for idp in ids:
        combos = [q for (p, a), q in after.items() if p == idp and a]
        if combos and after.get((idp, 0)) != sum(combos):
            problems.append(f"product {idp}: product row {after.get((idp, 0))} != Σ combinations {sum(combos)}")
        if not combos and (idp, 0) not in ordered and after.get((idp, 0)) != before.get((idp, 0)):
            problems.append(f"product {idp}: product row changed without being ordered")
    return problems


def check_reserved(conn: Connection, prefix: str, id_order: int) -> list[str]:
    """Where the columns exist: reserved = units of open orders (not shipped, not cancelled/error),
    physical = quantity + reserved, for every row of the order's products."""
    t = tables(conn, prefix)
    if not t.has_column("stock_available", "reserved_quantity"):
        return []
    sa, od, o, os_, cfg = t.stock_available, t.order_detail, t.orders, t.order_state, t.configuration
    cfg_ids = {n: int(v) for n, v in conn.execute(select(cfg.c.name, cfg.c.value)
                                                  .where(cfg.c.name.in_(["PS_OS_ERROR", "PS_OS_CANCELED"])))}
    ids = [int(r[0]) for r in conn.execute(select(od.c.product_id).where(od.c.id_order == id_order).distinct())]
    open_units = {(int(a), int(b)): int(q) for a, b, q in conn.execute(
        select(od.c.product_id, od.c.product_attribute_id,
               func.sum(od.c.product_quantity - od.c.product_quantity_refunded))
        .select_from(o.join(od, od.c.id_order == o.c.id_order).join(os_, os_.c.id_order_state == o.c.current_state))
        .where(od.c.product_id.in_(ids), os_.c.shipped != 1,
               (o.c.valid == 1) | (os_.c.id_order_state.notin_([cfg_ids.get("PS_OS_ERROR", -1),
                                                                 cfg_ids.get("PS_OS_CANCELED", -1)])))
        .group_by(od.c.product_id, od.c.product_attribute_id))}
    problems = []
    where = _stock_where(t, conn, id_order)
    for a, b, q, r, p in conn.execute(select(sa.c.id_product, sa.c.id_product_attribute, sa.c.quantity,
                                             sa.c.reserved_quantity, sa.c.physical_quantity)
                                      .where(where, sa.c.id_product.in_(ids))):
        want = open_units.get((int(a), int(b)), 0)
        if int(r) != want:
            problems.append(f"stock ({a}, {b}): reserved {r}, expected {want}")
        if int(p) != int(q) + int(r):
            problems.append(f"stock ({a}, {b}): physical {p} != quantity {q} + reserved {r}")
    return problems


def order_invariants(conn: Connection, prefix: str, id_order: int) -> list[str]:
    """All the order-level invariants (stock decrement needs a snapshot: see check_stock_decrement)."""
    out: list[str] = []
    for check in (check_totals, check_detail_taxes, check_history, check_links, check_invoice, check_reserved):
        out += [f"{check.__name__}: {p}" for p in check(conn, prefix, id_order)]
    return out
