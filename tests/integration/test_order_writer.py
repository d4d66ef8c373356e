"""OrderWriter on the seeded test shop (PrestaShop 8.1 columns): what validateOrder would have written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bridge.errors import SkippableError
from bridge.shop.order_writer import OrderWriter, WrittenOrder
from bridge.shop.shop import Shop
from tests import invariants as inv
from tests.order_samples import NOW, D, address, line, order, platform

pytestmark = pytest.mark.db


@pytest.fixture
def ps(shop: Any) -> Shop:
    return Shop.from_engine(shop.engine, shop.prefix, shop.ids.id_shop)


def write(ps: Shop, mirakl_order: Any, plat: Any = None, *, flag_out_of_stock: bool = True,
          ) -> tuple[WrittenOrder, dict[tuple[int, int], int]]:
    writer = OrderWriter(ps)
    plat = plat or platform()
    with ps.engine.begin() as conn:
        prepared = writer.prepare(conn, mirakl_order, plat)
        before = inv.stock_snapshot(conn, ps.prefix, {k[0] for k in prepared.draft.quantities})
        written = writer.write(conn, prepared, flag_out_of_stock=flag_out_of_stock, now=NOW)
    return written, before


def assert_consistent(ps: Shop, written: WrittenOrder, before: dict[tuple[int, int], int]) -> None:
    with ps.engine.connect() as conn:
        assert inv.order_invariants(conn, ps.prefix, written.id_order) == []
        assert inv.check_stock_decrement(conn, ps.prefix, written.id_order, before) == []


def row(ps: Shop, table: str, **where: Any) -> dict[str, Any]:
    t = ps.tables[table]
    with ps.engine.connect() as conn:
        rows = conn.execute(select(t).where(*[t.c[k] == v for k, v in where.items()])).all()
    assert len(rows) == 1, f"{len(rows)} rows in {table} for {where}"
    return dict(rows[0]._mapping)


def rows(ps: Shop, table: str, **where: Any) -> list[dict[str, Any]]:
    t = ps.tables[table]
    with ps.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(t).where(*[t.c[k] == v for k, v in where.items()]))]


def test_a_two_line_order_is_booked_like_validate_order(shop: Any, ps: Shop) -> None:
    tshirt = shop.ids.product("TSHIRT")
    blue_s = tshirt.combinations["TSHIRT-S-BLUE"].id_product_attribute
    written, before = write(ps, order("A1-A", line("TSHIRT-S-BLUE", 2, "24.00", shipping="4.90"),
                                      line("MUG", 1, "9.90")))
    assert_consistent(ps, written, before)
    o = row(ps, "orders", id_order=written.id_order)
    # by hand: 48.00 / 1.2 = 40.00 ; 9.90 / 1.2 = 8.25 ; shipping 4.90 / 1.2 = 4.0833 -> 4.08
    assert o["total_products"] == D("48.25") and o["total_products_wt"] == D("57.90")
    assert o["total_shipping_tax_excl"] == D("4.08") and o["total_shipping_tax_incl"] == D("4.90")
    assert o["total_paid_tax_excl"] == D("52.33") and o["total_paid_tax_incl"] == D("62.80")
    assert o["total_paid_real"] == D("62.80") and o["carrier_tax_rate"] == D("20.000")
    assert o["current_state"] == shop.ids.order_states["PS_OS_PAYMENT"] and o["valid"] == 1
    assert len(o["reference"]) == 9 and o["reference"].isalpha() and o["reference"].isupper()
    assert o["module"] == "mirakl_bridge" and o["payment"] == "Test Marketplace"
    assert o["id_carrier"] == shop.ids.carriers["colissimo"].id_carrier
    assert str(o["date_add"]) == "2026-03-02 10:30:00"  # Europe/Paris
    assert (o["round_mode"], o["round_type"]) == (2, 2)
    shirt = row(ps, "order_detail", id_order=written.id_order, product_id=tshirt.id_product)
    assert shirt["product_attribute_id"] == blue_s
    assert shirt["product_name"] == "T-shirt (Size: S, Color: Blue)"
    assert shirt["product_reference"] == "TSHIRT-S-BLUE"
    assert (shirt["unit_price_tax_incl"], shirt["unit_price_tax_excl"]) == (D("24.00"), D("20.00"))
    assert (shirt["total_price_tax_incl"], shirt["total_price_tax_excl"]) == (D("48.00"), D("40.00"))
    assert shirt["product_quantity_in_stock"] == 2 and shirt["tax_rate"] == D("20.000")
    assert shirt["original_product_price"] == D("20.00")
    assert shirt["product_upc"] is None and shirt["id_warehouse"] == 0
    taxes = rows(ps, "order_detail_tax", id_order_detail=shirt["id_order_detail"])
    assert [(t["id_tax"], t["unit_amount"], t["total_amount"]) for t in taxes] == [
        (shop.ids.taxes["FR 20%"], D("4.00"), D("8.00"))]
    payment = row(ps, "order_payment", order_reference=o["reference"])
    assert payment["amount"] == D("62.80") and payment["transaction_id"] == "A1-A"
    assert payment["conversion_rate"] == D("1") and payment["id_currency"] == o["id_currency"]
    invoice = row(ps, "order_invoice", id_order=written.id_order)
    assert invoice["number"] == 1 and o["invoice_number"] == 1
    message = row(ps, "message", id_order=written.id_order)
    assert "A1-A" in message["message"] and message["private"] == 1
    assert row(ps, "product_sale", id_product=tshirt.id_product)["quantity"] == 2
    sa = row(ps, "stock_available", id_product=tshirt.id_product, id_product_attribute=blue_s)
    assert (sa["quantity"], sa["reserved_quantity"], sa["physical_quantity"]) == (3, 2, 5)
    assert rows(ps, "stock_mvt", id_order=written.id_order) == []  # 8.x: only when shipped


def test_an_unknown_sku_holds_the_order_and_writes_nothing(ps: Shop) -> None:
    with ps.engine.begin() as conn:
        count = conn.execute(select(func.count()).select_from(ps.tables.orders)).scalar()
    with pytest.raises(SkippableError) as err:
        write(ps, order("A2-A", line("MUG", 1, "9.90"), line("NOPE-42", 1, "5.00")))
    assert err.value.code == "unknown_sku" and "NOPE-42" in str(err.value)
    with ps.engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(ps.tables.orders)).scalar() == count
        assert conn.execute(select(func.count()).select_from(ps.tables.customer)).scalar() == 0


def test_an_unknown_country_holds_the_order(ps: Shop) -> None:
    with pytest.raises(SkippableError) as err:
        write(ps, order("A3-A", line("MUG", 1, "9.90"),
                        shipping_address=address(country="Atlantis", country_iso_code="ATL")))
    assert err.value.code == "unknown_country"
