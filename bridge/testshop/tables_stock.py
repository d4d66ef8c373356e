"""Test-shop tables (PrestaShop 8.1/9.0 definitions): Specific prices, group reductions, stock, sales.

Written from the 8.1-upgraded and 9.0.0 schema dumps: columns present in both, the narrower width
where they differ, same nullability and defaults.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, MetaData, Numeric, String, Table

from bridge.testshop.coltypes import (
    BIG,
    DATE,
    DATETIME,
    INT,
    REDUCTION_TYPE,
    SMALL,
    TINY,
    UINT,
    UTINY,
    OPTS,
    ix,
)


def define(md: MetaData, p: str) -> None:
    Table(p + "specific_price", md,
        Column("id_specific_price", UINT, primary_key=True, autoincrement=True),
        Column("id_specific_price_rule", UINT, nullable=False),
        Column("id_cart", UINT, nullable=False),
        Column("id_product", UINT, nullable=False),
        Column("id_shop", UINT, nullable=False, server_default="1"),
        Column("id_shop_group", UINT, nullable=False),
        Column("id_currency", UINT, nullable=False),
        Column("id_country", UINT, nullable=False),
        Column("id_group", UINT, nullable=False),
        Column("id_customer", UINT, nullable=False),
        Column("id_product_attribute", UINT, nullable=False),
        Column("price", Numeric(20, 6), nullable=False),
        Column("from_quantity", UINT, nullable=False),
        Column("reduction", Numeric(20, 6), nullable=False),
        Column("reduction_tax", TINY, nullable=False, server_default="1"),
        Column("reduction_type", REDUCTION_TYPE, nullable=False),
        Column("from", DATETIME, nullable=False),
        Column("to", DATETIME, nullable=False),
        Index(ix(p, "specific_price", "from"), "from"),
        Index(ix(p, "specific_price", "from_quantity"), "from_quantity"),
        Index(ix(p, "specific_price", "id_cart"), "id_cart"),
        Index(ix(p, "specific_price", "id_customer"), "id_customer"),
        Index(ix(p, "specific_price", "id_product"), "id_product", "id_shop", "id_currency", "id_country", "id_group", "id_customer", "from_quantity", "from", "to"),
        Index(ix(p, "specific_price", "id_product_2"), "id_product", "id_product_attribute", "id_customer", "id_cart", "from", "to", "id_shop", "id_shop_group", "id_currency", "id_country", "id_group", "from_quantity", "id_specific_price_rule", unique=True),
        Index(ix(p, "specific_price", "id_product_attribute"), "id_product_attribute"),
        Index(ix(p, "specific_price", "id_shop"), "id_shop"),
        Index(ix(p, "specific_price", "id_specific_price_rule"), "id_specific_price_rule"),
        Index(ix(p, "specific_price", "to"), "to"),
        **OPTS,
    )
    Table(p + "specific_price_priority", md,
        Column("id_specific_price_priority", INT, primary_key=True, autoincrement=True),
        # PrestaShop's PK is (id_specific_price_priority, id_product); SQLite cannot autoincrement a
        # composite key, and id_product is unique anyway.
        Column("id_product", INT, nullable=False),
        Column("priority", String(80), nullable=False),
        Index(ix(p, "specific_price_priority", "id_product"), "id_product", unique=True),
        **OPTS,
    )
    Table(p + "product_group_reduction_cache", md,
        Column("id_product", UINT, primary_key=True, autoincrement=False),
        Column("id_group", UINT, primary_key=True, autoincrement=False),
        Column("reduction", Numeric(5, 4), nullable=False),
        **OPTS,
    )
    Table(p + "stock_available", md,
        Column("id_stock_available", UINT, primary_key=True, autoincrement=True),
        Column("id_product", UINT, nullable=False),
        Column("id_product_attribute", UINT, nullable=False),
        Column("id_shop", UINT, nullable=False),
        Column("id_shop_group", UINT, nullable=False),
        Column("quantity", INT, nullable=False, server_default="0"),
        Column("physical_quantity", INT, nullable=False, server_default="0"),
        Column("reserved_quantity", INT, nullable=False, server_default="0"),
        Column("depends_on_stock", UTINY, nullable=False, server_default="0"),
        Column("out_of_stock", UTINY, nullable=False, server_default="0"),
        Column("location", String(255), nullable=False, server_default=""),
        Index(ix(p, "stock_available", "id_product"), "id_product"),
        Index(ix(p, "stock_available", "id_product_attribute"), "id_product_attribute"),
        Index(ix(p, "stock_available", "id_shop"), "id_shop"),
        Index(ix(p, "stock_available", "id_shop_group"), "id_shop_group"),
        Index(ix(p, "stock_available", "product_sqlstock"), "id_product", "id_product_attribute", "id_shop", "id_shop_group", unique=True),
        **OPTS,
    )
    Table(p + "stock_mvt", md,
        Column("id_stock_mvt", BIG, primary_key=True, autoincrement=True),
        Column("id_stock", INT, nullable=False),
        Column("id_order", INT, nullable=True),
        Column("id_supply_order", INT, nullable=True, server_default="0"),
        Column("id_stock_mvt_reason", INT, nullable=False),
        Column("id_employee", INT, nullable=False),
        Column("employee_lastname", String(255), nullable=True),
        Column("employee_firstname", String(255), nullable=True),
        Column("physical_quantity", UINT, nullable=False),
        Column("date_add", DATETIME, nullable=False),
        Column("sign", SMALL, nullable=False, server_default="1"),
        Column("price_te", Numeric(20, 6), nullable=True, server_default="0.000000"),
        Column("last_wa", Numeric(20, 6), nullable=True, server_default="0.000000"),
        Column("current_wa", Numeric(20, 6), nullable=True, server_default="0.000000"),
        Column("referer", BIG, nullable=True),
        Index(ix(p, "stock_mvt", "id_stock"), "id_stock"),
        Index(ix(p, "stock_mvt", "id_stock_mvt_reason"), "id_stock_mvt_reason"),
        **OPTS,
    )
    Table(p + "product_sale", md,
        Column("id_product", UINT, primary_key=True, autoincrement=False),
        Column("quantity", UINT, nullable=False, server_default="0"),
        Column("sale_nbr", UINT, nullable=False, server_default="0"),
        Column("date_upd", DATE, nullable=True),
        Index(ix(p, "product_sale", "quantity"), "quantity"),
        **OPTS,
    )
