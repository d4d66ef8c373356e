"""Catalogue reads + offer builder on the real test shop (MariaDB): stock rows, prices, exclusions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import insert, update

from bridge.domain.offer_builder import OfferBuilder
from bridge.domain.offers import OfferLine, OfferPlanner, OfferRules
from bridge.shop.catalog import excluded_products, load_pricing, shop_timezone, stream_catalog
from bridge.shop.shop import Shop
from bridge.testshop.products import add_specific_price, set_stock

pytestmark = pytest.mark.db
NOW = datetime.now(timezone.utc)


def offers(db: Any, *, country: str = "FR", currency: str = "EUR", id_shop: int = 1,
           rules: OfferRules = OfferRules(), categories: tuple[int, ...] = ()) -> tuple[dict[str, Any], list[Any]]:
    """sku -> OfferLine for sellable rows, plus (reason, id_product, ipa) for the others."""
    s = Shop.from_engine(db.engine, db.prefix, id_shop)
    with s.engine.connect() as conn:
        pricing = load_pricing(conn, s.tables, s.context, country_iso=country, currency_iso=currency, now=NOW)
        builder = OfferBuilder(rules=rules, pricing=pricing, tz=shop_timezone(s.context), now=NOW,
                               excluded_products=excluded_products(conn, s.tables, categories))
        lines: dict[str, Any] = {}
        others: list[Any] = []
        for chunk in stream_catalog(conn, s.tables, s.context, chunk_rows=3):
            for row in chunk:
                out = builder.build(row)
                if isinstance(out, OfferLine):
                    lines.setdefault(out.sku, []).append(out)
                else:
                    others.append((out, row[0], row[1]))
    return lines, others


def one(lines: dict[str, Any], sku: str) -> OfferLine:
    (line,) = lines[sku]
    return line


def test_single_shop_catalogue_gives_prestashop_prices_and_stock(shop: Any) -> None:
    lines, others = offers(shop)
    tshirt = shop.ids.product("TSHIRT").combinations
    # T-shirt S: 20 x 1.2 = 24 - 2.00 (tax incl, permanent) = 22.00 ; M: (20 + 2) x 1.2 = 26.40 - 2 = 24.40
    assert [(one(lines, k).price, one(lines, k).quantity) for k in
            ("TSHIRT-S-BLUE", "TSHIRT-S-RED", "TSHIRT-M-BLUE", "TSHIRT-M-RED")] == [
        (D("22.00"), 5), (D("22.00"), 3), (D("24.40"), 0), (D("24.40"), 10)]
    assert (one(lines, "TSHIRT-S-BLUE").product_id, one(lines, "TSHIRT-S-BLUE").product_id_type) == (
        tshirt["TSHIRT-S-BLUE"].ean13, "EAN")
    # MUG 8.25 x 1.2 = 9.90 x 0.8 = 7.92 ; SOCKS fixed 5 x 1.2 = 6.00 ; BOOK 10 x 1.055 = 10.55 (Jan 2024 over)
    assert (one(lines, "MUG").price, one(lines, "MUG").quantity, one(lines, "MUG").discount_price) == (
        D("7.92"), 12, None)
    assert one(lines, "SOCKS").price == D("6.00")
    assert one(lines, "BOOK").price == D("10.55")
    # the two DUP products both come out (the planner refuses the duplicate)
    assert sorted(line.id_product for line in lines["DUP"]) == sorted(
        [shop.ids.product("DUP-1").id_product, shop.ids.product("DUP-2").id_product])
    reasons = {(r, pid) for r, pid, _ipa in others}
    pid = {k: shop.ids.product(k).id_product for k in ("EBOOK", "LAMP", "POSTER", "NOREF")}
    assert reasons == {("virtual", pid["EBOOK"]), ("inactive", pid["LAMP"]),
                       ("not_available_for_order", pid["POSTER"]), ("empty_sku", pid["NOREF"])}


def test_second_tax_country_uses_its_own_rules(shop: Any) -> None:
    lines, _ = offers(shop, country="DE")
    # DE 19 %: T-shirt S 20 x 1.19 = 23.80 - 2 = 21.80 ; MUG 8.25 x 1.19 = 9.8175 x 0.8 = 7.854 -> 7.85
    # BOOK: the reduced group has no DE rule -> 10.00
    assert (one(lines, "TSHIRT-S-BLUE").price, one(lines, "MUG").price, one(lines, "BOOK").price) == (
        D("21.80"), D("7.85"), D("10.00"))


def test_other_currency_is_converted(shop: Any) -> None:
    lines, _ = offers(shop, currency="USD")
    # SOCKS fixed 5 (all currencies) x 1.08 = 5.40 x 1.2 = 6.48 ; BOOK 10 x 1.08 x 1.055 = 11.394 -> 11.39
    assert (one(lines, "SOCKS").price, one(lines, "BOOK").price) == (D("6.48"), D("11.39"))


def test_time_bounded_country_reduction_becomes_a_discount_and_priorities_pick_the_row(shop: Any) -> None:
    ids = shop.ids
    fr, mug, book = ids.countries["FR"], ids.product("MUG").id_product, ids.product("BOOK").id_product
    tz_now = NOW.astimezone(shop_timezone_of(shop)).replace(tzinfo=None)
    end = (tz_now + timedelta(days=10)).replace(hour=23, minute=59, second=59, microsecond=0)
    with shop.engine.begin() as conn:
        # MUG: 50 % for France until end of day +10 -> beats the all-countries 20 % (country scores 4)
        add_specific_price(conn, ids, id_product=mug, reduction="0.5", reduction_type="percentage",
                           from_=tz_now - timedelta(days=1), to=end, id_country=fr)
        # BOOK: shop row 10 % vs France row 30 %; default priorities put country (4) above shop (2)
        add_specific_price(conn, ids, id_product=book, reduction="0.1", reduction_type="percentage", id_shop=1)
        add_specific_price(conn, ids, id_product=book, reduction="0.3", reduction_type="percentage", id_country=fr)
    lines, _ = offers(shop)
    mug_line = one(lines, "MUG")
    # 9.90 before reduction, 9.90 x 0.5 = 4.95 as discount until the local end date
    assert (mug_line.price, mug_line.discount_price, mug_line.discount_end) == (D("9.90"), D("4.95"), end.date())
    # 10.55 x 0.7 = 7.385 -> 7.39
    assert one(lines, "BOOK").price == D("7.39")
    with shop.engine.begin() as conn:
        conn.execute(insert(Shop.from_engine(shop.engine, shop.prefix, 1).tables.specific_price_priority).values(
            id_product=book, priority="id_shop;id_country;id_currency;id_group"))
    lines, _ = offers(shop)
    # shop now weighs 16 > country 8: 10.55 x 0.9 = 9.495 -> 9.50
    assert one(lines, "BOOK").price == D("9.50")
    # in Germany the French row does not apply: 9.8175 x 0.8 -> 7.85, no discount
    de_lines, _ = offers(shop, country="DE")
    assert (one(de_lines, "MUG").price, one(de_lines, "MUG").discount_price) == (D("7.85"), None)


def shop_timezone_of(shop: Any) -> Any:
    return shop_timezone(Shop.from_engine(shop.engine, shop.prefix, 1).context)


def test_rules_buffer_cap_exclusions_and_id_skus(shop: Any) -> None:
    mug = shop.ids.product("MUG").id_product
    rules = OfferRules(sku="id", stock_buffer=2, max_quantity=8, exclude_references=frozenset({"SOCKS"}))
    lines, others = offers(shop, rules=rules, categories=(99,))
    # MUG stock 12 - 2 = 10, capped at 8
    assert one(lines, f"{mug}-0").quantity == 8
    assert ("excluded_reference", shop.ids.product("SOCKS").id_product, 0) in others
    lines, others = offers(shop, categories=(2,))  # every test product is in category 2
    assert not lines and {r for r, *_ in others} >= {"excluded_category"}


def test_multishop_with_shared_stock_reads_the_group_row_and_the_shop_price(multishop: Any) -> None:
    ids = multishop.ids
    mug = ids.product("MUG").id_product
    with multishop.engine.begin() as conn:
        set_stock(conn, mug, 0, 30, prefix=multishop.prefix)
        ps = Shop.from_engine(multishop.engine, multishop.prefix, 1).tables.product_shop
        conn.execute(update(ps).where(ps.c.id_product == mug, ps.c.id_shop == 2).values(price=D("10.00")))
    shop1, _ = offers(multishop, id_shop=1)
    shop2, _ = offers(multishop, id_shop=2)
    # both shops read the shared group row (id_shop 0, group 1): 30 units
    assert (one(shop1, "MUG").quantity, one(shop2, "MUG").quantity) == (30, 30)
    # shop 1: 7.92 ; shop 2 own price 10 x 1.2 = 12 x 0.8 = 9.60
    assert (one(shop1, "MUG").price, one(shop2, "MUG").price) == (D("7.92"), D("9.60"))
    assert one(shop2, "TSHIRT-M-RED").quantity == 10


@pytest.mark.parametrize(("country", "currency", "rules"), [
    ("FR", "EUR", OfferRules()),
    ("DE", "EUR", OfferRules(price_rounding=".99", price_multiplier=D("1.1"))),
    ("FR", "USD", OfferRules(price_rounding=".x0", price_addition=D("0.5"), floor_price=D("7"))),
    ("FR", "EUR", OfferRules(send_discounts=False, sku="id")),
])
def test_the_price_cache_gives_the_same_lines_as_computing_every_row(shop: Any, country: str, currency: str,
                                                                      rules: OfferRules) -> None:
    """The builder's per-run price cache changes nothing: same lines, reasons and next change, row by row."""
    ids = shop.ids
    tz_now = NOW.astimezone(shop_timezone_of(shop)).replace(tzinfo=None)
    with shop.engine.begin() as conn:  # a running discount (discount dates sent) and a future one
        add_specific_price(conn, ids, id_product=ids.product("MUG").id_product, reduction="1.5", reduction_type="amount",
                           from_=tz_now - timedelta(days=1), to=tz_now + timedelta(days=3))
        add_specific_price(conn, ids, id_product=ids.product("TSHIRT").id_product, reduction="0.1",
                           reduction_type="percentage", from_=tz_now + timedelta(days=2), to=tz_now + timedelta(days=9))
    s = Shop.from_engine(shop.engine, shop.prefix, 1)
    outputs = []
    for cache in (False, True):
        with s.engine.connect() as conn:
            pricing = load_pricing(conn, s.tables, s.context, country_iso=country, currency_iso=currency, now=NOW)
            builder = OfferBuilder(rules=rules, pricing=pricing, tz=shop_timezone(s.context), now=NOW,
                                   cache_prices=cache)
            rows = [row for chunk in stream_catalog(conn, s.tables, s.context) for row in chunk]
            outputs.append(([builder.build(row) for row in rows * 2], builder.next_change_at))  # twice: hits
    assert outputs[0] == outputs[1]
    assert any(isinstance(o, OfferLine) and o.discount_price is not None for o in outputs[0][0]) == rules.send_discounts


def _plan(shop: Any, stored: dict[str, object], now: datetime, *, skip: bool, full: bool = False,
          rules: OfferRules | None = None) -> tuple[Any, ...]:
    """One pass as the task makes it: rows whose inputs digest matches are skipped when ``skip``."""
    rules = rules or OfferRules()
    s = Shop.from_engine(shop.engine, shop.prefix, 1)
    with s.engine.connect() as conn:
        pricing = load_pricing(conn, s.tables, s.context, country_iso="FR", currency_iso="EUR", now=now)
        builder = OfferBuilder(rules=rules, pricing=pricing, tz=shop_timezone(s.context), now=now, salt="s")
        planner = OfferPlanner(dict(stored), full=full, salt="s")
        decisions: dict[str, Any] = {}
        skipped = 0
        for chunk in stream_catalog(conn, s.tables, s.context):
            for row in chunk:
                key = builder.inputs(row)
                if skip and key is not None and not full and planner.skip_unchanged(key[0], row[0], row[1], key[1]):
                    decisions[key[0]] = None
                    skipped += 1
                    continue
                out = builder.build(row)
                if isinstance(out, OfferLine):
                    decisions[out.sku] = planner.consider(out, key[1] if key is not None else 0)
    sm = planner.finish()
    return decisions, (sm.new, sm.changed, sm.unchanged, sm.resent, sm.disappeared), builder.next_change_at, skipped


def test_rows_skipped_on_their_inputs_digest_give_the_decisions_of_building_every_row(shop: Any) -> None:
    """The unchanged-row shortcut of a delta run: same decisions, counts and next price change as
    building and comparing every line, including prices that move by date alone."""
    ids = shop.ids
    local_now = NOW.astimezone(shop_timezone_of(shop)).replace(tzinfo=None)
    mug, tshirt = ids.product("MUG").id_product, ids.product("TSHIRT").id_product
    with shop.engine.begin() as conn:  # a discount ending in 2 days, another starting in 2 days
        add_specific_price(conn, ids, id_product=mug, reduction="1.5", reduction_type="amount",
                           from_=local_now - timedelta(days=1), to=local_now + timedelta(days=2))
        add_specific_price(conn, ids, id_product=tshirt, reduction="0.1", reduction_type="percentage",
                           from_=local_now + timedelta(days=2), to=local_now + timedelta(days=9))
    first, counts, _, _ = _plan(shop, {}, NOW, skip=True)
    first = {sku: d for sku, d in first.items() if d is not None}  # duplicated SKUs of the test shop left out
    assert counts[0] >= len(first) > 5
    stored = {sku: d[1] for sku, d in first.items()}  # what Mirakl accepted (line digest + inputs digest)
    # nothing changed: every row skipped, nothing to send
    again = _plan(shop, stored, NOW, skip=True)
    assert again == (*_plan(shop, stored, NOW, skip=False)[:3], len(first))
    assert set(again[0].values()) == {None}
    # a stock change, and 3 days later: the mug's discount is over, the T-shirt's has begun
    with shop.engine.begin() as conn:
        set_stock(conn, mug, 0, 77, prefix=shop.prefix)
    later = NOW + timedelta(days=3)
    fast, slow = _plan(shop, stored, later, skip=True), _plan(shop, stored, later, skip=False)
    assert fast[:3] == slow[:3]
    changed = {sku for sku, d in fast[0].items() if d is not None}
    assert "MUG" in changed and {sku for sku in changed if sku.startswith("TSHIRT")} == set(
        ids.product("TSHIRT").combinations)
    assert all(d is None or d[0] == "changed" for d in fast[0].values())
    assert 0 < fast[3] == len(first) - len(changed)
    # other rules: no row is skipped on a digest computed under the old ones
    dearer = OfferRules(price_multiplier=D("1.1"))
    assert _plan(shop, stored, NOW, skip=True, rules=dearer)[3] == 0
    assert _plan(shop, stored, NOW, skip=True, rules=dearer)[:3] == _plan(shop, stored, NOW, skip=False,
                                                                          rules=dearer)[:3]


def test_a_full_resync_records_lines_whose_inputs_digest_is_missing(shop: Any) -> None:
    first = {sku: d for sku, d in _plan(shop, {}, NOW, skip=False)[0].items() if d is not None}
    old_style = {sku: d[1][:8] + bytes(8) for sku, d in first.items()}  # digests stored before inputs digests
    delta = _plan(shop, old_style, NOW, skip=True)
    assert delta[3] == 0 and set(delta[0].values()) == {None}  # nothing skipped, nothing sent
    full = _plan(shop, old_style, NOW, skip=True, full=True)
    sent = {sku: d for sku, d in full[0].items() if sku in first}
    assert {d[0] for d in sent.values()} == {"refreshed"}  # sent, and recorded with its inputs digest
    refreshed = {sku: d[1] for sku, d in sent.items()}
    assert _plan(shop, refreshed, NOW, skip=True)[3] == len(first)


def test_the_cells_built_with_a_line_are_its_line_cells(shop: Any) -> None:
    """``build_cells`` formats amounts and days once per price (price cache): the same cells as
    :func:`line_cells` of the same line, for every row of the test shop, twice (cache hits)."""
    from bridge.domain.offers import line_cells

    s = Shop.from_engine(shop.engine, shop.prefix, 1)
    with s.engine.connect() as conn:
        pricing = load_pricing(conn, s.tables, s.context, country_iso="FR", currency_iso="EUR", now=NOW)
        for rules in (OfferRules(), OfferRules(sku="id", product_id="sku"), OfferRules(sku="ean13", product_id="none"),
                      OfferRules(product_id="upc", fallback_product_id_type="")):
            builder = OfferBuilder(rules=rules, pricing=pricing, tz=shop_timezone(s.context), now=NOW)
            rows = [row for chunk in stream_catalog(conn, s.tables, s.context) for row in chunk]
            built = [builder.build_cells(row) for row in rows * 2]
            lines = [b for b in built if not isinstance(b, str)]
            assert len(lines) > 10
            assert all(cells == line_cells(line) for line, cells in lines)
            assert [b if isinstance(b, str) else b[0] for b in built] == [builder.build(row) for row in rows * 2]


@pytest.mark.parametrize("fixture", ["shop", "multishop"])
def test_the_packed_read_gives_the_rows_of_the_plain_select(request: Any, fixture: str) -> None:
    """On MariaDB the catalogue's numbers come as one text per row (``packed_select``): the same rows as the
    plain SELECT through SQLAlchemy, amounts as their text, NULLs kept (no stock row, no manufacturer, a
    product row's combination columns), identifiers with the packing's separator untouched."""
    from sqlalchemy import delete

    from bridge.shop.catalog import catalog_select

    db = request.getfixturevalue(fixture)
    s = Shop.from_engine(db.engine, db.prefix, 1)
    product, stock = s.tables.product, s.tables.stock_available
    mug = db.ids.product("MUG").id_product
    with s.engine.begin() as conn:
        conn.execute(update(product).where(product.c.id_product == mug).values(
            reference="MUG,1\t\"2\"", ean13=None, id_manufacturer=None))
        conn.execute(delete(stock).where(stock.c.id_product == mug))  # no stock row: quantity NULL
    with s.engine.connect() as conn:
        packed = [row for chunk in stream_catalog(conn, s.tables, s.context, chunk_rows=4, inputs_key="k")
                  for row in chunk]
        plain = conn.execute(catalog_select(s.tables, s.context, inputs_key="k")).all()
    assert conn.dialect.name in ("mysql", "mariadb")  # the packed read is MariaDB/MySQL's

    def as_text(row: Any) -> tuple[Any, ...]:
        return tuple(str(v) if isinstance(v, D) else v for v in row)

    assert sorted(packed) == sorted(as_text(r) for r in plain) and len(packed) > 10
    by_ref = {(r[0], r[1]): r for r in packed}
    assert by_ref[(mug, 0)][5] == "MUG,1\t\"2\"" and by_ref[(mug, 0)][8] is None and by_ref[(mug, 0)][19] is None
    assert any(r[1] == 0 and r[15] is None for r in packed) and any(r[1] and r[15] is not None for r in packed)
