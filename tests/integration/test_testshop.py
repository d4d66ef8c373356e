"""The test-shop builder: coherent stock, identifiers, specific prices, bulk catalogues, SQLite demo."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bridge.shop.db import make_engine
from bridge.shop.schema import reflect_shop_tables
from bridge.shop.shop import Shop
from bridge.testshop.bulk import generate_catalog
from bridge.testshop.products import ean13, set_stock
from bridge.testshop.seed import build_test_shop


def _ean_is_valid(code: str) -> bool:
    digits = [int(d) for d in code]
    return len(digits) == 13 and sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0


def test_ean13_check_digits_are_valid() -> None:
    assert ean13(400638133393) == "4006381333931"  # a published example
    assert _ean_is_valid(ean13(376000000101))


@pytest.mark.db
def test_the_product_level_stock_row_is_the_sum_of_its_combinations(shop) -> None:
    tshirt = shop.ids.products["TSHIRT"]
    s_red = tshirt.combinations["TSHIRT-S-RED"].id_product_attribute
    with shop.engine.begin() as conn:
        set_stock(conn, tshirt.id_product, s_red, 7, prefix=shop.prefix)
        sa = reflect_shop_tables(conn, shop.prefix).stock_available
        rows = dict(
            conn.execute(
                select(sa.c.id_product_attribute, sa.c.quantity).where(sa.c.id_product == tshirt.id_product)
            ).all()
        )
        physical = conn.execute(
            select(sa.c.physical_quantity).where(
                sa.c.id_product == tshirt.id_product, sa.c.id_product_attribute == 0
            )
        ).scalar_one()
    assert rows[s_red] == 7
    assert rows[0] == 5 + 7 + 0 + 10
    assert physical == 22


@pytest.mark.db
def test_seeded_identifiers_include_duplicates_an_empty_reference_and_valid_eans(shop) -> None:
    products = shop.ids.products
    assert products["DUP-1"].reference == products["DUP-2"].reference == "DUP"
    assert products["NOREF"].reference == ""
    codes = [p.ean13 for p in products.values() if p.ean13]
    codes += [c.ean13 for c in products["TSHIRT"].combinations.values() if c.ean13]
    assert codes and all(_ean_is_valid(code) for code in codes)
    assert shop.ids.carriers["colissimo"].deleted_ids == (1,)
    assert shop.ids.initial_stock[(products["MUG"].id_product, 0)] == 12


@pytest.mark.db
def test_generate_catalog_adds_products_combinations_and_coherent_stock(shop) -> None:
    stats = generate_catalog(shop.engine, 200, 4.5, specific_price_ratio=0.5, seed=3)
    assert stats.combinations == 900 and stats.offers == 900
    with shop.engine.connect() as conn:
        t = reflect_shop_tables(conn, shop.prefix)
        sa, pa = t.stock_available, t.product_attribute
        new = sa.c.id_product >= stats.first_id_product
        combos = conn.execute(
            select(func.count()).where(pa.c.id_product >= stats.first_id_product)
        ).scalar_one()
        parent_total = conn.execute(
            select(func.sum(sa.c.quantity)).where(new, sa.c.id_product_attribute == 0)
        )
        combo_total = conn.execute(select(func.sum(sa.c.quantity)).where(new, sa.c.id_product_attribute != 0))
        assert parent_total.scalar_one() == combo_total.scalar_one()
    assert combos == 900


@pytest.mark.db
def test_generated_catalogue_is_sellable_in_both_shops_with_shared_stock_and_dated_specific_prices(
    multishop,
) -> None:
    stats = generate_catalog(multishop.engine, 300, 4.5, specific_price_ratio=0.5, seed=5)
    first = stats.first_id_product
    with multishop.engine.connect() as conn:
        t = reflect_shop_tables(conn, multishop.prefix)
        ps, sa, pa, sp = t.product_shop, t.stock_available, t.product_attribute, t.specific_price
        per_shop = dict(
            conn.execute(
                select(ps.c.id_shop, func.sum(ps.c.active))
                .where(ps.c.id_product >= first, ps.c.available_for_order == 1)
                .group_by(ps.c.id_shop)
            ).all()
        )
        locations = conn.execute(
            select(sa.c.id_shop, sa.c.id_shop_group, func.count())
            .where(sa.c.id_product >= first, sa.c.id_product_attribute != 0)
            .group_by(sa.c.id_shop, sa.c.id_shop_group)
        ).all()
        eans = conn.execute(select(pa.c.ean13).where(pa.c.id_product >= first)).scalars().all()
        starts = conn.execute(select(sp.c["from"]).where(sp.c.id_product >= first)).scalars().all()
        priorities = conn.execute(select(func.count()).select_from(t.specific_price_priority)).scalar_one()
    assert per_shop == {1: 300, 2: 300}  # every product active and orderable in both shops
    assert locations == [(0, 1, 1350)]  # one shared stock row per combination (300 x 4.5)
    assert len(eans) == 1350 and all(_ean_is_valid(code) for code in eans)
    assert stats.specific_prices == len(starts) > 150
    assert any(s is None for s in starts) and any(s is not None for s in starts)  # open and dated rows
    assert priorities == stats.priorities > 0


def test_the_demo_shop_builds_and_connects_on_sqlite(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = make_engine(url)
    try:
        ids = build_test_shop(engine, multishop=True)
        generate_catalog(engine, 50, 2)
    finally:
        engine.dispose()
    s = Shop.connect(url, "ps_", ids.shop_ids[1])
    try:
        assert s.dialect == "sqlite"
        assert s.context.share_stock and s.context.stock_row_filter.id_shop == 0
        with s.engine.connect() as conn:
            sp = s.tables.specific_price
            dates = conn.execute(select(sp.c["from"], sp.c.to).order_by(sp.c.id_specific_price)).all()
        assert dates[0] == (None, None)  # zero dates read as None
        assert dates[3][0].year == 2024
    finally:
        s.dispose()
