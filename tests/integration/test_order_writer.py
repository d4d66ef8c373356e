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


def customer_of(ps: Shop, written: WrittenOrder) -> dict[str, Any]:
    return row(ps, "customer", id_customer=written.id_customer)


def test_accents_emoji_quotes_and_backslashes_survive(ps: Shop) -> None:
    street = 'Rue de l\'Église 😀 \\ "B"'
    ship = address(firstname="Zoé 😀", lastname='D\'Arc\\"Q', street_1=street, city="Saint-Étienne")
    written, before = write(ps, order("B1-A", line("MUG", 1, "9.90"), firstname="Zoé 😀", lastname='D\'Arc\\"Q',
                                      shipping_address=ship))
    assert_consistent(ps, written, before)
    cust = customer_of(ps, written)
    assert (cust["firstname"], cust["lastname"]) == ("Zoé 😀", "D'Arc Q")
    o = row(ps, "orders", id_order=written.id_order)
    addr = row(ps, "address", id_address=o["id_address_delivery"])
    assert (addr["address1"], addr["city"], addr["firstname"]) == (street, "Saint-Étienne", "Zoé 😀")


def test_overlong_fields_are_truncated_with_warnings(ps: Shop) -> None:
    long_name, long_street, long_city = "Abcdefghij" * 30, "Rue " + "x" * 200, "Ville" * 20
    ship = address(lastname=long_name, street_1=long_street, city=long_city)
    written, before = write(ps, order("B2-A", line("MUG", 1, "9.90"), lastname=long_name, shipping_address=ship))
    assert_consistent(ps, written, before)
    addr = row(ps, "address", id_address=row(ps, "orders", id_order=written.id_order)["id_address_delivery"])
    assert (len(addr["lastname"]), len(addr["address1"]), len(addr["city"])) == (255, 128, 64)
    assert addr["address1"] == long_street[:128]
    assert len(customer_of(ps, written)["lastname"]) == 255
    assert any(w.startswith("customer lastname: truncated to 255") for w in written.warnings)
    assert any("address1" in w and "truncated" in w for w in written.warnings)
    assert any("city" in w for w in written.warnings)


def test_missing_phone_and_company_are_stored_empty(ps: Shop) -> None:
    ship = address(phone="", phone_secondary="", company="")
    written, before = write(ps, order("B3-A", line("MUG", 1, "9.90"), shipping_address=ship))
    assert_consistent(ps, written, before)
    addr = row(ps, "address", id_address=row(ps, "orders", id_order=written.id_order)["id_address_delivery"])
    assert (addr["phone"], addr["phone_mobile"], addr["company"]) == ("", "", "")


def test_a_different_billing_address_gets_its_own_row(ps: Shop) -> None:
    bill = address(lastname="Martin", street_1="1 place Bellecour", zip_code="69002", city="Lyon",
                   company="ACME SARL")
    written, before = write(ps, order("B4-A", line("MUG", 1, "9.90"), billing_address=bill))
    assert_consistent(ps, written, before)
    o = row(ps, "orders", id_order=written.id_order)
    assert o["id_address_delivery"] != o["id_address_invoice"]
    invoice = row(ps, "address", id_address=o["id_address_invoice"])
    assert (invoice["city"], invoice["company"], invoice["lastname"]) == ("Lyon", "ACME SARL", "Martin")


def test_several_lines_of_one_product_make_one_detail_and_one_decrement(shop: Any, ps: Shop) -> None:
    tshirt = shop.ids.product("TSHIRT")
    blue_s = tshirt.combinations["TSHIRT-S-BLUE"].id_product_attribute
    written, before = write(ps, order("B5-A", line("TSHIRT-S-BLUE", 1, "24.00", line_id="L1"),
                                      line("TSHIRT-S-BLUE", 2, "24.00", line_id="L2")))
    assert_consistent(ps, written, before)
    detail = row(ps, "order_detail", id_order=written.id_order)
    assert (detail["product_quantity"], detail["total_price_tax_incl"]) == (3, D("72.00"))
    assert row(ps, "stock_available", id_product=tshirt.id_product, id_product_attribute=blue_s)["quantity"] == 2
    assert row(ps, "stock_available", id_product=tshirt.id_product, id_product_attribute=0)["quantity"] == 15


def test_free_shipping_books_zero_shipping(ps: Shop) -> None:
    written, before = write(ps, order("B6-A", line("MUG", 2, "9.90")))
    assert_consistent(ps, written, before)
    o = row(ps, "orders", id_order=written.id_order)
    assert (o["total_shipping_tax_excl"], o["total_shipping_tax_incl"], o["total_paid_tax_incl"]) == (
        D("0"), D("0"), D("19.80"))
    carrier = row(ps, "order_carrier", id_order=written.id_order)
    assert carrier["shipping_cost_tax_incl"] == D("0") and carrier["weight"] == D("1.0")  # 2 x 0.5 kg


def test_an_order_in_dollars_keeps_the_conversion_rate(shop: Any, ps: Shop) -> None:
    written, before = write(ps, order("B7-A", line("MUG", 1, "10.80", shipping="5.40"), currency="USD"))
    assert_consistent(ps, written, before)
    o = row(ps, "orders", id_order=written.id_order)
    assert o["id_currency"] == shop.ids.currencies["USD"] and o["conversion_rate"] == D("1.08")
    # 10.80 / 1.2 = 9.00 ; 5.40 / 1.2 = 4.50 (amounts stay in dollars)
    assert (o["total_products"], o["total_shipping_tax_excl"], o["total_paid_tax_incl"]) == (
        D("9.00"), D("4.50"), D("16.20"))
    payment = row(ps, "order_payment", order_reference=o["reference"])
    assert payment["id_currency"] == shop.ids.currencies["USD"] and payment["conversion_rate"] == D("1")
    detail = row(ps, "order_detail", id_order=written.id_order)
    assert detail["original_product_price"] == D("8.91")  # 8.25 EUR x 1.08


def test_a_tax_excluded_payload_adds_mirakl_taxes(ps: Shop) -> None:
    mo = order("B8-A", line("MUG", 2, "8.25", taxes=(("3.30", "20"),), shipping="4.00",
                            shipping_taxes=(("0.80", "20"),)), tax_mode="TAX_EXCLUDED")
    written, before = write(ps, mo)
    assert_consistent(ps, written, before)
    o = row(ps, "orders", id_order=written.id_order)
    # products 16.50 + 3.30 = 19.80 ; shipping 4.00 + 0.80 = 4.80 ; paid 24.60
    assert (o["total_products"], o["total_products_wt"]) == (D("16.50"), D("19.80"))
    assert (o["total_shipping_tax_excl"], o["total_shipping_tax_incl"], o["total_paid_tax_incl"]) == (
        D("4.00"), D("4.80"), D("24.60"))
    detail = row(ps, "order_detail", id_order=written.id_order)
    assert (detail["unit_price_tax_excl"], detail["unit_price_tax_incl"]) == (D("8.25"), D("9.90"))


def test_mirakl_taxes_are_used_when_present_and_the_product_rule_otherwise(shop: Any, ps: Shop) -> None:
    # BOOK is in the 5.5 % group; the first line says Mirakl charged 20 %, the second sends no taxes
    with_taxes = order("B9-A", line("BOOK", 1, "12.00", taxes=(("2.00", "20"),)))
    without = order("B9-B", line("BOOK", 1, "12.00"))
    w1, b1 = write(ps, with_taxes)
    assert_consistent(ps, w1, b1)
    w2, b2 = write(ps, without)
    assert_consistent(ps, w2, b2)
    d1 = row(ps, "order_detail", id_order=w1.id_order)
    d2 = row(ps, "order_detail", id_order=w2.id_order)
    assert (d1["total_price_tax_excl"], d1["tax_rate"]) == (D("10.00"), D("20.000"))
    assert [t["id_tax"] for t in rows(ps, "order_detail_tax", id_order_detail=d1["id_order_detail"])] == [
        shop.ids.taxes["FR 20%"]]
    # 12.00 / 1.055 = 11.3744 -> 11.37
    assert (d2["total_price_tax_excl"], d2["tax_rate"]) == (D("11.37"), D("5.500"))
    assert d2["id_tax_rules_group"] == d1["id_tax_rules_group"] == shop.ids.tax_rules_groups["reduced"]


def test_the_same_mirakl_customer_is_reused(ps: Shop) -> None:
    w1, _ = write(ps, order("C1-A", line("MUG", 1, "9.90"), customer_id="CUST-7"))
    w2, _ = write(ps, order("C2-A", line("SOCKS", 1, "6.00"), customer_id="CUST-7"))
    assert w1.id_customer == w2.id_customer
    cust = customer_of(ps, w1)
    assert cust["is_guest"] == 1 and cust["email"] == "cust-7@testmp.mirakl.invalid"
    assert len(rows(ps, "customer_group", id_customer=w1.id_customer)) == 1
    w3, _ = write(ps, order("C3-A", line("MUG", 1, "9.90"), customer_id="CUST-8",
                            email="abc@notification.mirakl.net"), platform(guest=False))
    assert w3.id_customer != w1.id_customer
    assert customer_of(ps, w3)["is_guest"] == 0 and customer_of(ps, w3)["email"] == "abc@notification.mirakl.net"


def test_a_shortage_is_reported_and_flagged_with_the_out_of_stock_state(shop: Any, ps: Shop) -> None:
    tshirt = shop.ids.product("TSHIRT")
    m_blue = tshirt.combinations["TSHIRT-M-BLUE"].id_product_attribute  # stock 0
    writer = OrderWriter(ps)
    with ps.engine.begin() as conn:
        prepared = writer.prepare(conn, order("D1-A", line("TSHIRT-M-BLUE", 1, "26.40")), platform())
        assert prepared.shortages == [("TSHIRT-M-BLUE", 1, 0)]
        before = inv.stock_snapshot(conn, ps.prefix, [tshirt.id_product])
        written = writer.write(conn, prepared, flag_out_of_stock=True, now=NOW)
    assert_consistent(ps, written, before)
    with ps.engine.connect() as conn:
        assert inv.history_states(conn, ps.prefix, written.id_order) == [
            shop.ids.order_states["PS_OS_PAYMENT"], shop.ids.order_states["PS_OS_OUTOFSTOCK_PAID"]]
    detail = row(ps, "order_detail", id_order=written.id_order)
    assert detail["product_quantity_in_stock"] == 0
    # the back-order state is not logable: the order is not valid and its sale is not counted
    assert row(ps, "orders", id_order=written.id_order)["valid"] == 0
    assert rows(ps, "product_sale", id_product=tshirt.id_product) == []
    assert row(ps, "stock_available", id_product=tshirt.id_product, id_product_attribute=m_blue)["quantity"] == -1


def test_a_shortage_without_flagging_keeps_the_configured_state(shop: Any, ps: Shop) -> None:
    written, before = write(ps, order("D2-A", line("TSHIRT-M-BLUE", 2, "26.40")), flag_out_of_stock=False)
    assert_consistent(ps, written, before)
    with ps.engine.connect() as conn:
        assert inv.history_states(conn, ps.prefix, written.id_order) == [shop.ids.order_states["PS_OS_PAYMENT"]]


def test_a_state_without_invoice_and_not_logable_books_no_invoice_and_no_payment(shop: Any, ps: Shop) -> None:
    written, before = write(ps, order("D3-A", line("MUG", 1, "9.90")), platform(order_state="PS_OS_CHEQUE"))
    assert_consistent(ps, written, before)
    o = row(ps, "orders", id_order=written.id_order)
    assert (o["valid"], o["total_paid_real"], o["invoice_number"]) == (0, D("0"), 0)
    assert rows(ps, "order_invoice", id_order=written.id_order) == []
    assert rows(ps, "order_payment", order_reference=o["reference"]) == []
    assert row(ps, "order_detail", id_order=written.id_order)["id_order_invoice"] == 0


def test_a_shipped_initial_state_writes_stock_movements_on_8x(shop: Any, ps: Shop) -> None:
    mug = shop.ids.product("MUG")
    written, before = write(ps, order("D4-A", line("MUG", 3, "9.90")), platform(order_state="PS_OS_SHIPPING"))
    assert_consistent(ps, written, before)
    mvt = row(ps, "stock_mvt", id_order=written.id_order)
    stock = row(ps, "stock_available", id_product=mug.id_product, id_product_attribute=0)
    assert (mvt["id_stock"], mvt["physical_quantity"], mvt["sign"]) == (stock["id_stock_available"], 3, -1)
    assert mvt["id_stock_mvt_reason"] == shop.ids.stock_reasons["order"] and mvt["id_employee"] == 0
    assert (stock["quantity"], stock["reserved_quantity"], stock["physical_quantity"]) == (9, 0, 9)


def test_invoice_numbers_follow_each_other(ps: Shop) -> None:
    w1, _ = write(ps, order("E1-A", line("MUG", 1, "9.90")))
    w2, _ = write(ps, order("E2-A", line("MUG", 1, "9.90")))
    numbers = [row(ps, "order_invoice", id_order=w.id_order)["number"] for w in (w1, w2)]
    assert numbers == [1, 2]


@pytest.mark.parametrize(("mirakl_order", "plat", "code"), [
    (order("F1-A", line("MUG", 1, "9.90"), currency="JPY"), None, "unknown_currency"),
    (order("F2-A", line("MUG", 1, "9.90"), shipping_type="EXPRESS"), None, "unknown_carrier"),
    (order("F3-A", line("DUP", 1, "9.90")), None, "ambiguous_sku"),
    (order("F4-A", line("MUG", 1, "9.90"), shipping_address=address(country_iso_code="USA", country="USA")),
     None, "unknown_country"),
    (order("F5-A", line("MUG", 1, "9.90", state="REFUSED")), None, "no_lines"),
    (order("F6-A", line("MUG", 1, "5.00", taxes=(("6.00", "20"),))), None, "invalid_amounts"),
])
def test_unmappable_orders_are_held_with_a_code(ps: Shop, mirakl_order: Any, plat: Any, code: str) -> None:
    written_tables = ("orders", "customer", "address", "cart", "order_detail", "message")
    sa = ps.tables.stock_available

    def state() -> tuple[Any, ...]:
        with ps.engine.connect() as conn:
            counts = [conn.execute(select(func.count()).select_from(ps.tables[n])).scalar() for n in written_tables]
            stock = conn.execute(select(func.sum(sa.c.quantity), func.sum(sa.c.reserved_quantity))).one()
        return (*counts, *stock)

    before = state()
    with pytest.raises(SkippableError) as err:
        write(ps, mirakl_order, plat)
    assert err.value.code == code and err.value.item_ref == f"order {mirakl_order.order_id}"
    assert state() == before  # nothing written


def test_an_inactive_country_holds_the_order(shop: Any, ps: Shop) -> None:
    country = ps.tables.country
    with ps.engine.begin() as conn:
        conn.execute(country.update().where(country.c.id_country == shop.ids.countries["BE"]).values(active=0))
    with pytest.raises(SkippableError) as err:
        write(ps, order("F7-A", line("MUG", 1, "9.90"),
                        shipping_address=address(country_iso_code="BEL", country="Belgique", zip_code="1000")))
    assert err.value.code == "inactive_country"


def test_the_country_label_is_used_when_the_iso_code_is_missing(shop: Any, ps: Shop) -> None:
    written, before = write(ps, order("F8-A", line("MUG", 1, "12.10"),
                                      shipping_address=address(country_iso_code="", country="Belgique",
                                                               zip_code="1000")))
    assert_consistent(ps, written, before)
    o = row(ps, "orders", id_order=written.id_order)
    assert row(ps, "address", id_address=o["id_address_delivery"])["id_country"] == shop.ids.countries["BE"]
    assert row(ps, "order_detail", id_order=written.id_order)["tax_rate"] == D("21.000")  # Belgian VAT


def test_shared_stock_of_a_shop_group_is_decremented(multishop: Any) -> None:
    ids = multishop.ids
    ps = Shop.from_engine(multishop.engine, multishop.prefix, ids.id_shop)
    assert ps.context.share_stock
    mug = ids.product("MUG")
    writer = OrderWriter(ps)
    with ps.engine.begin() as conn:
        prepared = writer.prepare(conn, order("G1-A", line("MUG", 2, "9.90")), platform())
        before = inv.stock_snapshot(conn, ps.prefix, [mug.id_product], id_shop=0, id_shop_group=ids.id_shop_group)
        written = writer.write(conn, prepared, flag_out_of_stock=True, now=NOW)
    with ps.engine.connect() as conn:
        assert inv.order_invariants(conn, ps.prefix, written.id_order) == []
        assert inv.check_stock_decrement(conn, ps.prefix, written.id_order, before) == []
    shared = row(ps, "stock_available", id_product=mug.id_product, id_shop=0, id_product_attribute=0)
    assert (shared["quantity"], shared["reserved_quantity"], shared["physical_quantity"]) == (
        before[(mug.id_product, 0)] - 2, 2, before[(mug.id_product, 0)])


def _set_config(ps: Shop, name: str, value: str) -> Shop:
    cfg = ps.tables.configuration
    with ps.engine.begin() as conn:
        conn.execute(cfg.update().where(cfg.c.name == name).values(value=value))
    return ps.reload_context()


def test_round_on_total_keeps_lines_adding_up_to_the_rounded_total(ps: Shop) -> None:
    ps = _set_config(ps, "PS_ROUND_TYPE", "3")
    written, before = write(ps, order("R1-A", line("MUG", 1, "10.01"), line("SOCKS", 1, "10.01")))
    assert_consistent(ps, written, before)
    o = row(ps, "orders", id_order=written.id_order)
    # 10.01 / 1.2 = 8.341667 twice = 16.683334 -> 16.68; the first line absorbs -0.003334
    assert (o["total_products"], o["round_type"]) == (D("16.68"), 3)
    totals = sorted(d["total_price_tax_excl"] for d in rows(ps, "order_detail", id_order=written.id_order))
    assert totals == [D("8.338333"), D("8.341667")]


def test_round_per_item_rounds_the_unit_price(ps: Shop) -> None:
    ps = _set_config(ps, "PS_ROUND_TYPE", "1")
    written, before = write(ps, order("R2-A", line("MUG", 3, "9.99")))
    assert_consistent(ps, written, before)
    detail = row(ps, "order_detail", id_order=written.id_order)
    # 9.99 / 1.2 = 8.325 -> 8.33 (half up) ; x3 = 24.99
    assert (detail["unit_price_tax_excl"], detail["total_price_tax_excl"]) == (D("8.33"), D("24.99"))
    assert row(ps, "orders", id_order=written.id_order)["total_products"] == D("24.99")


# columns that differ between two imports of the same order by construction: the new rows' ids and
# the ids pointing to them, the random reference/keys, the invoice number, texts naming the order
_PER_ORDER = {"id_order", "id_cart", "id_customer", "id_address", "id_address_delivery", "id_address_invoice",
              "id_order_detail", "id_order_invoice", "id_order_payment", "id_order_history", "id_order_carrier",
              "id_message", "id_stock_mvt", "reference", "order_reference", "secure_key", "passwd", "number",
              "invoice_number", "delivery_option", "alias", "message", "transaction_id", "email"}


def _written_rows(ps: Shop, written: WrittenOrder) -> dict[str, list[dict[str, Any]]]:
    o = row(ps, "orders", id_order=written.id_order)
    details = rows(ps, "order_detail", id_order=written.id_order)
    invoices = rows(ps, "order_invoice", id_order=written.id_order)
    found = {
        "orders": [o], "order_detail": details,
        "order_detail_tax": [r for d in details for r in rows(ps, "order_detail_tax", id_order_detail=d["id_order_detail"])],
        "order_carrier": rows(ps, "order_carrier", id_order=written.id_order),
        "order_history": rows(ps, "order_history", id_order=written.id_order),
        "order_invoice": invoices,
        "order_invoice_tax": [r for i in invoices
                              for r in rows(ps, "order_invoice_tax", id_order_invoice=i["id_order_invoice"])],
        "order_invoice_payment": rows(ps, "order_invoice_payment", id_order=written.id_order),
        "order_payment": rows(ps, "order_payment", order_reference=o["reference"]),
        "message": rows(ps, "message", id_order=written.id_order),
        "cart": rows(ps, "cart", id_cart=o["id_cart"]), "cart_product": rows(ps, "cart_product", id_cart=o["id_cart"]),
        "address": rows(ps, "address", id_customer=written.id_customer),
        "customer": rows(ps, "customer", id_customer=written.id_customer),
        "customer_group": rows(ps, "customer_group", id_customer=written.id_customer),
        "stock_mvt": rows(ps, "stock_mvt", id_order=written.id_order),
        "customer_mapping": _mapping_rows(ps, written.id_customer),
    }
    return {table: sorted(({k: v for k, v in r.items() if k not in _PER_ORDER} for r in found_rows), key=repr)
            for table, found_rows in found.items()}


def _mapping_rows(ps: Shop, id_customer: int) -> list[dict[str, Any]]:
    """The bridge's customer mapping rows of a customer (the Mirakl customer id left out: one per order here)."""
    from sqlalchemy import select

    from bridge.state.tables import bridge_tables

    m = bridge_tables(ps.prefix).customer
    with ps.engine.connect() as conn:
        found = conn.execute(select(m).where(m.c.id_customer == id_customer)).mappings().all()
    return [{k: v for k, v in r.items() if k != "mirakl_customer_id"} for r in found]


def test_statements_sent_through_the_driver_write_the_same_rows_as_core(
        shop: Any, ps: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    """The inserts go to the driver with SQL compiled once (MariaDB/MySQL); the Core path, still used on
    SQLite and for types with a bind processor, writes exactly the same rows."""
    from bridge.shop import rows as shop_rows

    lines = (line("TSHIRT-S-BLUE", 2, "24.00", shipping="4.90"), line("MUG", 1, "9.90"))
    billing = address(firstname="Paul", street_1="3 avenue Foch", zip_code="69006", city="Lyon")
    plat = platform()
    compiled, sent_keys = shop_rows._compiled, {}

    def spy(conn: Any, table: Any, key: Any, build: Any) -> Any:
        found = compiled(conn, table, key, build)
        sent_keys[key] = found is not None
        return found

    monkeypatch.setattr(shop_rows, "_compiled", spy)
    fast, _ = write(ps, order("DRV-1", *lines, billing_address=billing), plat)
    monkeypatch.setattr(shop_rows, "_compiled", lambda *_a, **_k: None)
    core, _ = write(ps, order("DRV-2", *lines, billing_address=billing), plat)
    got_fast, got_core = _written_rows(ps, fast), _written_rows(ps, core)
    assert got_fast == got_core
    for table in ("orders", "order_detail", "order_detail_tax", "order_carrier", "order_history", "order_invoice",
                  "order_payment", "order_invoice_payment", "cart", "cart_product", "customer", "customer_group",
                  "customer_mapping"):
        assert got_fast[table], f"no {table} row written: the comparison would prove nothing"
    assert len(got_fast["address"]) == 2
    if ps.engine.dialect.name == "mysql":  # the mapping row of the first order went through the driver
        assert sent_keys.get(("remember_customer_sent", False)) is True


def test_the_import_claim_and_mark_sent_through_the_driver_leave_the_same_order_map_rows(ps: Shop) -> None:
    """``claim_new_for_import_sent`` / ``mark_imported_sent`` (compiled once, sent through the driver on
    MariaDB/MySQL: used by the import task) against ``claim_for_import`` / ``mark_imported``: same rows,
    same answers on existing rows."""
    from bridge.state import orders as omap
    from bridge.state.tables import bridge_tables

    t = bridge_tables(ps.prefix)
    created = NOW.replace(hour=8)

    def state(order_id: str) -> dict[str, Any]:
        with ps.engine.connect() as conn:
            found = omap.get_order(conn, t, "testmp", order_id)
        assert found is not None
        return {k: v for k, v in found.__dict__.items() if k not in ("id", "mirakl_order_id")}

    pairs = ((omap.claim_for_import, omap.mark_imported), (omap.claim_new_for_import_sent, omap.mark_imported_sent))
    for (claim, mark), order_id in zip(pairs, ("MAP-OLD", "MAP-SENT"), strict=True):
        with ps.engine.begin() as conn:
            assert claim(conn, t, "testmp", order_id, now=NOW, mirakl_state="SHIPPING", mirakl_created_at=created)
        claimed = state(order_id)
        with ps.engine.begin() as conn:
            assert mark(conn, t, "testmp", order_id, id_order=41, reference="ABCDEFGHI", id_customer=7, now=NOW)
            assert not mark(conn, t, "testmp", order_id, id_order=41, reference="ABCDEFGHI", id_customer=7, now=NOW)
            assert not claim(conn, t, "testmp", order_id, now=NOW)  # imported: never claimed again
        if order_id == "MAP-OLD":
            old = (claimed, state(order_id))
    assert (claimed, state("MAP-SENT")) == old
    if ps.engine.dialect.name == "mysql":  # the sent variants really went through the driver
        sent = t.order.info["bridge_driver_sql"]
        assert sent[("mysql", "claim_sent")] is not None and sent[("mysql", "mark_imported_sent")] is not None
    assert old[0]["status"] == omap.IMPORTING and old[1]["status"] == omap.IMPORTED and old[1]["id_order"] == 41
    with ps.engine.begin() as conn:  # an existing held row is claimed through the lock-and-update path
        omap.insert_order(conn, t, "testmp", "MAP-HELD", status=omap.HELD, now=NOW)
        assert omap.claim_new_for_import_sent(conn, t, "testmp", "MAP-HELD", now=NOW, mirakl_state="SHIPPING")
    assert state("MAP-HELD")["status"] == omap.IMPORTING


@pytest.mark.parametrize("rescan", [0, 100])
def test_a_writer_numbers_invoices_after_every_invoice_of_the_shop_not_only_its_own(
        ps: Shop, rescan: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer reads the greatest invoice number incrementally (by invoice id) across its orders; an
    invoice the shop makes in between, with a higher or a lower number, is still counted like a full MAX.
    ``rescan`` 0: only the ids above the last one seen are read (the test shop has fewer than 100 ids)."""
    from sqlalchemy import insert

    from bridge.shop import invoice

    monkeypatch.setattr(invoice.InvoiceNumbers, "RESCAN", rescan)
    writer, plat = OrderWriter(ps), platform()

    def import_one(order_id: str) -> int:
        with ps.engine.begin() as conn:
            written = writer.write(conn, writer.prepare(conn, order(order_id, line("MUG", 1, "9.90")), plat),
                                   flag_out_of_stock=True, now=NOW)
        return int(row(ps, "order_invoice", id_order=written.id_order)["number"])

    def shop_invoice(number: int) -> None:
        oi = ps.tables.order_invoice
        with ps.engine.begin() as conn:
            conn.execute(insert(oi), {"id_order": 0, "number": number, "delivery_number": 0,
                                      "delivery_date": "0000-00-00 00:00:00", "total_discount_tax_excl": 0,
                                      "total_discount_tax_incl": 0, "total_paid_tax_excl": 0, "total_paid_tax_incl": 0,
                                      "total_products": 0, "total_products_wt": 0, "total_shipping_tax_excl": 0,
                                      "total_shipping_tax_incl": 0, "shipping_tax_computation_method": 0,
                                      "total_wrapping_tax_excl": 0, "total_wrapping_tax_incl": 0,
                                      "shop_address": "", "note": "", "date_add": "2026-03-02 10:00:00"})

    assert import_one("G1-A") == 1
    shop_invoice(40)
    assert import_one("G2-A") == 41
    shop_invoice(5)
    assert import_one("G3-A") == 42
    with pytest.raises(RuntimeError), ps.engine.begin() as conn:  # rolled back after taking number 43
        writer.write(conn, writer.prepare(conn, order("G4-A", line("MUG", 1, "9.90")), plat),
                     flag_out_of_stock=True, now=NOW)
        raise RuntimeError("rolled back")
    assert import_one("G5-A") == 43
    shop_invoice(60)
    assert import_one("G6-A") == 61


def _batched_write(ps: Shop, mirakl_order: Any, plat: Any) -> tuple[WrittenOrder, dict[tuple[int, int], int]]:
    """``write`` on a connection with multi-statement batches on (as the import run's connection)."""
    from bridge.shop.rows import allow_batches

    writer = OrderWriter(ps)
    conn = ps.engine.connect()
    try:
        assert allow_batches(conn)
        with conn.begin():
            prepared = writer.prepare(conn, mirakl_order, plat)
            before = inv.stock_snapshot(conn, ps.prefix, {k[0] for k in prepared.draft.quantities})
            written = writer.write(conn, prepared, flag_out_of_stock=True, now=NOW)
    finally:
        conn.invalidate()
        conn.close()
    return written, before


def test_the_tail_of_an_order_sent_as_one_batch_writes_the_same_rows(ps: Shop) -> None:
    """MariaDB/MySQL: customer + group + mapping (by LAST_INSERT_ID) in one multi-statement round trip,
    and detail taxes, carrier, payment (+ its invoice link by LAST_INSERT_ID), history, sales and stock in
    another, write the same rows as one by one (the mapping row included)."""
    if ps.engine.dialect.name != "mysql":
        pytest.skip("multi-statement batches are MariaDB/MySQL only")
    from sqlalchemy import event

    lines = (line("TSHIRT-S-BLUE", 2, "24.00", shipping="4.90"), line("MUG", 1, "9.90"))
    plat = platform()
    one_by_one, before1 = write(ps, order("BAT-1", *lines), plat)
    assert_consistent(ps, one_by_one, before1)
    sent: list[str] = []

    def spy(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        sent.append(sql)

    event.listen(ps.engine, "before_cursor_execute", spy)
    try:
        batched, before2 = _batched_write(ps, order("BAT-2", *lines), plat)
    finally:
        event.remove(ps.engine, "before_cursor_execute", spy)
    assert_consistent(ps, batched, before2)
    got_one, got_batched = _written_rows(ps, one_by_one), _written_rows(ps, batched)
    assert got_batched == got_one
    assert got_batched["order_invoice_payment"] and got_batched["order_detail_tax"] and got_batched["order_history"]
    payment = row(ps, "order_payment", order_reference=batched.reference)
    link = row(ps, "order_invoice_payment", id_order=batched.id_order)
    assert link["id_order_payment"] == payment["id_order_payment"]
    batches = [s for s in sent if ";\n" in s]
    assert len(batches) == 2  # customer + group + mapping, then the tail
    assert batches[0].count(";\n") == 2 and "last_insert_id()" in batches[0].lower()
    assert batches[1].count(";\n") >= 5


def test_an_error_in_a_later_statement_of_a_batch_is_raised_and_rolls_the_transaction_back(ps: Shop) -> None:
    if ps.engine.dialect.name != "mysql":
        pytest.skip("multi-statement batches are MariaDB/MySQL only")
    from sqlalchemy.exc import IntegrityError

    from bridge.shop.rows import Batch, allow_batches, insert_row

    cg = ps.tables["customer_group"]
    conn = ps.engine.connect()
    try:
        assert allow_batches(conn)
        with pytest.raises(IntegrityError), conn.begin():
            batch = Batch(conn)
            assert insert_row(batch, cg, {"id_customer": 987654, "id_group": 1}) == 0  # queued
            insert_row(batch, cg, {"id_customer": 987654, "id_group": 2})
            insert_row(batch, cg, {"id_customer": 987654, "id_group": 1})  # duplicate key: the third statement
            batch.flush()
    finally:
        conn.invalidate()
        conn.close()
    assert rows(ps, "customer_group", id_customer=987654) == []
