"""Shop context: configuration precedence, share_stock, errors; the Shop facade on the test shop."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import insert

from bridge.errors import ShopDataError
from bridge.shop.context import load_shop_context
from bridge.shop.schema import reflect_shop_tables
from bridge.shop.shop import Shop

pytestmark = pytest.mark.db
NOW = datetime(2024, 2, 1, 12, 0, 0)


def _config_row(
    name: str, value: str, *, id_shop: int | None, id_shop_group: int | None
) -> dict[str, object]:
    return dict(
        name=name, value=value, id_shop=id_shop, id_shop_group=id_shop_group, date_add=NOW, date_upd=NOW
    )


def test_shop_connect_reflects_tables_and_loads_the_single_shop_context(shop) -> None:
    s = Shop.connect(shop.url, shop.prefix, shop.ids.id_shop)
    try:
        ctx = s.context
        assert (ctx.id_shop, ctx.id_shop_group, ctx.share_stock) == (1, 1, False)
        assert ctx.id_lang == shop.ids.langs["en"]
        assert (ctx.currency.iso_code, ctx.currency.precision) == ("EUR", 2)
        assert ctx.version == "8.1.7"
        assert ctx.timezone == "Europe/Paris"
        assert ctx.config_int("PS_OS_PAYMENT") == shop.ids.order_states["PS_OS_PAYMENT"]
        assert ctx.config_str("PS_SPECIFIC_PRICE_PRIORITIES") == "id_group;id_currency;id_country;id_shop"
        assert ctx.config_int("NO_SUCH_KEY", 7) == 7
        assert (ctx.stock_row_filter.id_shop, ctx.stock_row_filter.id_shop_group) == (1, 0)
        assert s.dialect == "mysql" and s.prefix == "ps_"
        assert s.tables.has_column("stock_available", "physical_quantity")
        assert not s.tables.has_column("orders", "shipping_number")
    finally:
        s.dispose()


def test_configuration_precedence_is_shop_then_group_then_global(multishop) -> None:
    with multishop.engine.begin() as conn:
        tables = reflect_shop_tables(conn, multishop.prefix)
        cfg = tables.configuration
        conn.execute(
            insert(cfg),
            [
                _config_row("MB_KEY_A", "global", id_shop=None, id_shop_group=None),
                _config_row("MB_KEY_A", "group", id_shop=None, id_shop_group=1),
                _config_row("MB_KEY_A", "shop2", id_shop=2, id_shop_group=1),
                _config_row("MB_KEY_B", "global", id_shop=0, id_shop_group=0),
                _config_row("MB_KEY_B", "group", id_shop=0, id_shop_group=1),
                _config_row("MB_KEY_C", "global", id_shop=None, id_shop_group=None),
                _config_row("MB_KEY_C", "other-shop", id_shop=1, id_shop_group=1),
            ],
        )
        shop2 = load_shop_context(conn, tables, id_shop=2)
        shop1 = load_shop_context(conn, tables, id_shop=1)
    assert shop2.config["MB_KEY_A"] == "shop2"
    assert shop1.config["MB_KEY_A"] == "group"
    assert shop2.config["MB_KEY_B"] == "group"
    assert shop2.config["MB_KEY_C"] == "global"
    assert shop1.config["MB_KEY_C"] == "other-shop"


def test_multishop_with_shared_stock_reads_the_group_stock_rows(multishop) -> None:
    with multishop.engine.connect() as conn:
        tables = reflect_shop_tables(conn, multishop.prefix)
        ctx = load_shop_context(conn, tables, id_shop=2)
    assert ctx.share_stock is True
    assert (ctx.stock_row_filter.id_shop, ctx.stock_row_filter.id_shop_group) == (0, 1)


def test_an_unknown_shop_or_language_is_a_shop_data_error(shop) -> None:
    with shop.engine.connect() as conn:
        tables = reflect_shop_tables(conn, shop.prefix)
        with pytest.raises(ShopDataError, match="shop 7 does not exist in ps_shop"):
            load_shop_context(conn, tables, id_shop=7)
        with pytest.raises(ShopDataError, match="language 9"):
            load_shop_context(conn, tables, id_shop=1, id_lang=9)


def test_an_explicit_language_wins_over_ps_lang_default(shop) -> None:
    with shop.engine.connect() as conn:
        tables = reflect_shop_tables(conn, shop.prefix)
        ctx = load_shop_context(conn, tables, id_shop=1, id_lang=shop.ids.langs["fr"])
    assert ctx.id_lang == 2
