"""change_state on the test shop: shipping, cancelling (stock back exactly once), re-validating, paying."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bridge.shop.order_state import change_state
from bridge.shop.order_writer import OrderWriter, WrittenOrder
from bridge.shop.shop import Shop
from tests import invariants as inv
from tests.order_samples import NOW, D, line, order, platform

pytestmark = pytest.mark.db


@pytest.fixture
def ps(shop: Any) -> Shop:
    return Shop.from_engine(shop.engine, shop.prefix, shop.ids.id_shop)


def imported(ps: Shop, order_id: str, **orders: Any) -> tuple[WrittenOrder, dict[tuple[int, int], int]]:
    writer = OrderWriter(ps)
    with ps.engine.begin() as conn:
        prepared = writer.prepare(conn, order(order_id, line("TSHIRT-S-RED", 2, "24.00", shipping="4.90"),
                                              line("MUG", 1, "9.90")), platform(**orders))
        before = inv.stock_snapshot(conn, ps.prefix, {k[0] for k in prepared.draft.quantities})
        written = writer.write(conn, prepared, flag_out_of_stock=True, now=NOW)
    return written, before


def move(ps: Shop, id_order: int, id_state: int) -> Any:
    with ps.engine.begin() as conn:
        return change_state(conn, ps, id_order, id_state, NOW)


def stock_row(ps: Shop, id_product: int, id_pa: int) -> dict[str, Any]:
    sa = ps.tables.stock_available
    with ps.engine.connect() as conn:
        return dict(conn.execute(select(sa).where(sa.c.id_product == id_product,
                                                  sa.c.id_product_attribute == id_pa)).one()._mapping)


def table_rows(ps: Shop, table: str, **where: Any) -> list[dict[str, Any]]:
    t = ps.tables[table]
    with ps.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t).where(*[t.c[k] == v for k, v in where.items()]))]


def check(ps: Shop, id_order: int) -> list[str]:
    with ps.engine.connect() as conn:
        return inv.order_invariants(conn, ps.prefix, id_order)


def test_shipping_moves_units_out_of_reserved_and_logs_movements(shop: Any, ps: Shop) -> None:
    states = shop.ids.order_states
    written, before = imported(ps, "S1-A")
    tshirt = shop.ids.product("TSHIRT")
    red_s = tshirt.combinations["TSHIRT-S-RED"].id_product_attribute  # stock 3
    assert stock_row(ps, tshirt.id_product, red_s)["reserved_quantity"] == 2
    change = move(ps, written.id_order, states["PS_OS_SHIPPING"])
    assert change.changed and change.movements == 2 and change.stock_delta == 0
    assert check(ps, written.id_order) == []
    with ps.engine.connect() as conn:
        assert inv.check_stock_decrement(conn, ps.prefix, written.id_order, before) == []
    sa = stock_row(ps, tshirt.id_product, red_s)
    assert (sa["quantity"], sa["reserved_quantity"], sa["physical_quantity"]) == (1, 0, 1)
    mvts = table_rows(ps, "stock_mvt", id_order=written.id_order)
    assert sorted((m["physical_quantity"], m["sign"], m["id_stock_mvt_reason"]) for m in mvts) == [
        (1, -1, shop.ids.stock_reasons["order"]), (2, -1, shop.ids.stock_reasons["order"])]


def test_cancelling_gives_the_stock_back_exactly_once(shop: Any, ps: Shop) -> None:
    states = shop.ids.order_states
    written, before = imported(ps, "S2-A")
    tshirt, mug = shop.ids.product("TSHIRT"), shop.ids.product("MUG")
    first = move(ps, written.id_order, states["PS_OS_CANCELED"])
    again = move(ps, written.id_order, states["PS_OS_CANCELED"])
    assert first.changed and first.stock_delta == 3
    assert not again.changed and again.stock_delta == 0
    assert check(ps, written.id_order) == []
    with ps.engine.connect() as conn:
        assert inv.check_stock_decrement(conn, ps.prefix, written.id_order, before, factor=0) == []
        assert inv.history_states(conn, ps.prefix, written.id_order) == [states["PS_OS_PAYMENT"],
                                                                          states["PS_OS_CANCELED"]]
    o = table_rows(ps, "orders", id_order=written.id_order)[0]
    assert (o["current_state"], o["valid"]) == (states["PS_OS_CANCELED"], 0)
    assert [(s["quantity"], s["sale_nbr"]) for s in table_rows(ps, "product_sale", id_product=mug.id_product)] == [
        (0, 0)]
    total = stock_row(ps, tshirt.id_product, 0)
    assert (total["quantity"], total["reserved_quantity"]) == (18, 0)  # 5 + 3 + 0 + 10 again


def test_revalidating_a_cancelled_order_takes_the_stock_again(shop: Any, ps: Shop) -> None:
    states = shop.ids.order_states
    written, before = imported(ps, "S3-A")
    move(ps, written.id_order, states["PS_OS_CANCELED"])
    change = move(ps, written.id_order, states["PS_OS_PAYMENT"])
    assert change.stock_delta == -3
    assert check(ps, written.id_order) == []
    with ps.engine.connect() as conn:
        assert inv.check_stock_decrement(conn, ps.prefix, written.id_order, before) == []


def test_cancelling_a_shipped_order_reverses_the_movement(shop: Any, ps: Shop) -> None:
    states = shop.ids.order_states
    written, before = imported(ps, "S4-A")
    move(ps, written.id_order, states["PS_OS_SHIPPING"])
    change = move(ps, written.id_order, states["PS_OS_CANCELED"])
    assert change.stock_delta == 3 and change.movements == 2
    signs = sorted((m["sign"], m["id_stock_mvt_reason"]) for m in table_rows(ps, "stock_mvt", id_order=written.id_order))
    assert signs == [(-1, shop.ids.stock_reasons["order"])] * 2 + [(1, shop.ids.stock_reasons["cancel"])] * 2
    with ps.engine.connect() as conn:
        assert inv.check_stock_decrement(conn, ps.prefix, written.id_order, before, factor=0) == []
    assert check(ps, written.id_order) == []


def test_paying_an_order_waiting_for_payment_creates_invoice_and_payment(shop: Any, ps: Shop) -> None:
    states = shop.ids.order_states
    written, _ = imported(ps, "S5-A", order_state="PS_OS_CHEQUE")
    assert table_rows(ps, "order_invoice", id_order=written.id_order) == []
    change = move(ps, written.id_order, states["PS_OS_PAYMENT"])
    assert change.invoice_created
    assert check(ps, written.id_order) == []
    o = table_rows(ps, "orders", id_order=written.id_order)[0]
    assert (o["valid"], o["total_paid_real"]) == (1, D("62.80"))
    assert len(table_rows(ps, "order_payment", order_reference=o["reference"])) == 1
    mug = shop.ids.product("MUG")
    assert [s["quantity"] for s in table_rows(ps, "product_sale", id_product=mug.id_product)] == [1]
