"""Test-shop tables (PrestaShop 8.1/9.0 definitions): configuration, shops, localisation, taxes,
groups, carriers, order states.

Written from the 8.1-upgraded and 9.0.0 schema dumps: columns present in both, the narrower width
where they differ, same nullability and defaults.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, MetaData, Numeric, String, Table

from bridge.testshop.coltypes import (
    DATETIME,
    INT,
    MEDIUMTEXT,
    OPTS,
    SMALL,
    TINY,
    UINT,
    UTINY,
    ix,
)


def define(md: MetaData, p: str) -> None:
    Table(
        p + "configuration",
        md,
        Column("id_configuration", UINT, primary_key=True, autoincrement=True),
        Column("id_shop_group", UINT, nullable=True),
        Column("id_shop", UINT, nullable=True),
        Column("name", String(254), nullable=False),
        Column("value", MEDIUMTEXT, nullable=True),
        Column("date_add", DATETIME, nullable=False),
        Column("date_upd", DATETIME, nullable=False),
        Index(ix(p, "configuration", "id_shop"), "id_shop"),
        Index(ix(p, "configuration", "id_shop_group"), "id_shop_group"),
        Index(ix(p, "configuration", "name"), "name"),
        **OPTS,
    )
    Table(
        p + "shop",
        md,
        Column("id_shop", INT, primary_key=True, autoincrement=True),
        Column("id_shop_group", INT, nullable=False),
        Column("name", String(64), nullable=False),
        Column("color", String(50), nullable=False),
        Column("id_category", INT, nullable=False),
        Column("theme_name", String(255), nullable=False),
        Column("active", TINY, nullable=False),
        Column("deleted", TINY, nullable=False),
        Index(ix(p, "shop", "IDX_CBDFBB9EF5C9E40"), "id_shop_group"),
        **OPTS,
    )
    Table(
        p + "shop_group",
        md,
        Column("id_shop_group", INT, primary_key=True, autoincrement=True),
        Column("name", String(64), nullable=False),
        Column("color", String(50), nullable=False),
        Column("share_customer", TINY, nullable=False),
        Column("share_order", TINY, nullable=False),
        Column("share_stock", TINY, nullable=False),
        Column("active", TINY, nullable=False),
        Column("deleted", TINY, nullable=False),
        **OPTS,
    )
    Table(
        p + "lang",
        md,
        Column("id_lang", INT, primary_key=True, autoincrement=True),
        Column("name", String(32), nullable=False),
        Column("active", TINY, nullable=False),
        Column("iso_code", String(2), nullable=False),
        Column("language_code", String(5), nullable=False),
        Column("locale", String(5), nullable=False),
        Column("date_format_lite", String(32), nullable=False),
        Column("date_format_full", String(32), nullable=False),
        Column("is_rtl", TINY, nullable=False),
        **OPTS,
    )
    Table(
        p + "lang_shop",
        md,
        Column("id_lang", INT, primary_key=True, autoincrement=False),
        Column("id_shop", INT, primary_key=True, autoincrement=False),
        Index(ix(p, "lang_shop", "IDX_2F43BFC7274A50A0"), "id_shop"),
        Index(ix(p, "lang_shop", "IDX_2F43BFC7BA299860"), "id_lang"),
        **OPTS,
    )
    Table(
        p + "currency",
        md,
        Column("id_currency", UINT, primary_key=True, autoincrement=True),
        Column("iso_code", String(3), nullable=False, server_default="0"),
        Column("numeric_iso_code", String(3), nullable=True),
        Column("precision", INT, nullable=False, server_default="6"),
        Column("conversion_rate", Numeric(13, 6), nullable=False),
        Column("deleted", UTINY, nullable=False, server_default="0"),
        Column("active", UTINY, nullable=False, server_default="1"),
        Column("unofficial", UTINY, nullable=False, server_default="0"),
        Column("modified", UTINY, nullable=False, server_default="0"),
        Index(ix(p, "currency", "currency_iso_code"), "iso_code"),
        **OPTS,
    )
    Table(
        p + "currency_lang",
        md,
        Column("id_currency", UINT, primary_key=True, autoincrement=False),
        Column("id_lang", UINT, primary_key=True, autoincrement=False),
        Column("name", String(255), nullable=False),
        Column("symbol", String(255), nullable=False),
        Column("pattern", String(255), nullable=True),
        **OPTS,
    )
    Table(
        p + "currency_shop",
        md,
        Column("id_currency", UINT, primary_key=True, autoincrement=False),
        Column("id_shop", UINT, primary_key=True, autoincrement=False),
        Column("conversion_rate", Numeric(13, 6), nullable=False),
        Index(ix(p, "currency_shop", "id_shop"), "id_shop"),
        **OPTS,
    )
    Table(
        p + "zone",
        md,
        Column("id_zone", UINT, primary_key=True, autoincrement=True),
        Column("name", String(64), nullable=False),
        Column("active", UTINY, nullable=False, server_default="0"),
        **OPTS,
    )
    Table(
        p + "zone_shop",
        md,
        Column("id_zone", UINT, primary_key=True, autoincrement=False),
        Column("id_shop", UINT, primary_key=True, autoincrement=False),
        Index(ix(p, "zone_shop", "id_shop"), "id_shop"),
        **OPTS,
    )
    Table(
        p + "country",
        md,
        Column("id_country", UINT, primary_key=True, autoincrement=True),
        Column("id_zone", UINT, nullable=False),
        Column("id_currency", UINT, nullable=False, server_default="0"),
        Column("iso_code", String(3), nullable=False),
        Column("call_prefix", INT, nullable=False, server_default="0"),
        Column("active", UTINY, nullable=False, server_default="0"),
        Column("contains_states", TINY, nullable=False, server_default="0"),
        Column("need_identification_number", TINY, nullable=False, server_default="0"),
        Column("need_zip_code", TINY, nullable=False, server_default="1"),
        Column("zip_code_format", String(12), nullable=False, server_default=""),
        Column("display_tax_label", TINY, nullable=False),
        Index(ix(p, "country", "country_"), "id_zone"),
        Index(ix(p, "country", "country_iso_code"), "iso_code"),
        **OPTS,
    )
    Table(
        p + "country_lang",
        md,
        Column("id_country", UINT, primary_key=True, autoincrement=False),
        Column("id_lang", UINT, primary_key=True, autoincrement=False),
        Column("name", String(64), nullable=False),
        **OPTS,
    )
    Table(
        p + "country_shop",
        md,
        Column("id_country", UINT, primary_key=True, autoincrement=False),
        Column("id_shop", UINT, primary_key=True, autoincrement=False),
        Index(ix(p, "country_shop", "id_shop"), "id_shop"),
        **OPTS,
    )
    Table(
        p + "state",
        md,
        Column("id_state", UINT, primary_key=True, autoincrement=True),
        Column("id_country", UINT, nullable=False),
        Column("id_zone", UINT, nullable=False),
        Column("name", String(80), nullable=False),
        Column("iso_code", String(7), nullable=False),
        Column("tax_behavior", SMALL, nullable=False, server_default="0"),
        Column("active", TINY, nullable=False, server_default="0"),
        Index(ix(p, "state", "id_country"), "id_country"),
        Index(ix(p, "state", "id_zone"), "id_zone"),
        Index(ix(p, "state", "name"), "name"),
        **OPTS,
    )
    Table(
        p + "tax",
        md,
        Column("id_tax", UINT, primary_key=True, autoincrement=True),
        Column("rate", Numeric(10, 3), nullable=False),
        Column("active", UTINY, nullable=False, server_default="1"),
        Column("deleted", UTINY, nullable=False, server_default="0"),
        **OPTS,
    )
    Table(
        p + "tax_rule",
        md,
        Column("id_tax_rule", INT, primary_key=True, autoincrement=True),
        Column("id_tax_rules_group", INT, nullable=False),
        Column("id_country", INT, nullable=False),
        Column("id_state", INT, nullable=False),
        Column("zipcode_from", String(12), nullable=False),
        Column("zipcode_to", String(12), nullable=False),
        Column("id_tax", INT, nullable=False),
        Column("behavior", INT, nullable=False),
        Column("description", String(100), nullable=False),
        Index(
            ix(p, "tax_rule", "category_getproducts"),
            "id_tax_rules_group",
            "id_country",
            "id_state",
            "zipcode_from",
        ),
        Index(ix(p, "tax_rule", "id_tax"), "id_tax"),
        Index(ix(p, "tax_rule", "id_tax_rules_group"), "id_tax_rules_group"),
        **OPTS,
    )
    Table(
        p + "tax_rules_group",
        md,
        Column("id_tax_rules_group", INT, primary_key=True, autoincrement=True),
        Column("name", String(50), nullable=False),
        Column("active", INT, nullable=False),
        Column("deleted", UTINY, nullable=False),
        Column("date_add", DATETIME, nullable=False),
        Column("date_upd", DATETIME, nullable=False),
        **OPTS,
    )
    Table(
        p + "group",
        md,
        Column("id_group", UINT, primary_key=True, autoincrement=True),
        Column("reduction", Numeric(5, 2), nullable=False, server_default="0.00"),
        Column("price_display_method", TINY, nullable=False, server_default="0"),
        Column("show_prices", UTINY, nullable=False, server_default="1"),
        Column("date_add", DATETIME, nullable=False),
        Column("date_upd", DATETIME, nullable=False),
        **OPTS,
    )
    Table(
        p + "group_shop",
        md,
        Column("id_group", UINT, primary_key=True, autoincrement=False),
        Column("id_shop", UINT, primary_key=True, autoincrement=False),
        Index(ix(p, "group_shop", "id_shop"), "id_shop"),
        **OPTS,
    )
    Table(
        p + "group_reduction",
        md,
        Column("id_group_reduction", UINT, primary_key=True, autoincrement=True),
        Column("id_group", UINT, nullable=False),
        Column("id_category", UINT, nullable=False),
        Column("reduction", Numeric(5, 4), nullable=False),
        Index(ix(p, "group_reduction", "id_group"), "id_group", "id_category", unique=True),
        **OPTS,
    )
    Table(
        p + "carrier",
        md,
        Column("id_carrier", UINT, primary_key=True, autoincrement=True),
        Column("id_reference", UINT, nullable=False),
        Column("name", String(64), nullable=False),
        Column("url", String(255), nullable=True),
        Column("active", UTINY, nullable=False, server_default="0"),
        Column("deleted", UTINY, nullable=False, server_default="0"),
        Column("shipping_handling", UTINY, nullable=False, server_default="1"),
        Column("range_behavior", UTINY, nullable=False, server_default="0"),
        Column("is_module", UTINY, nullable=False, server_default="0"),
        Column("is_free", UTINY, nullable=False, server_default="0"),
        Column("shipping_external", UTINY, nullable=False, server_default="0"),
        Column("need_range", UTINY, nullable=False, server_default="0"),
        Column("external_module_name", String(64), nullable=True),
        Column("shipping_method", INT, nullable=False, server_default="0"),
        Column("position", UINT, nullable=False, server_default="0"),
        Column("max_width", INT, nullable=True, server_default="0"),
        Column("max_height", INT, nullable=True, server_default="0"),
        Column("max_depth", INT, nullable=True, server_default="0"),
        Column("max_weight", Numeric(20, 6), nullable=True, server_default="0.000000"),
        Column("grade", INT, nullable=True, server_default="0"),
        Index(ix(p, "carrier", "deleted"), "deleted", "active"),
        Index(ix(p, "carrier", "reference"), "id_reference", "deleted", "active"),
        **OPTS,
    )
    Table(
        p + "carrier_lang",
        md,
        Column("id_carrier", UINT, primary_key=True, autoincrement=False),
        Column("id_shop", UINT, primary_key=True, autoincrement=False, server_default="1"),
        Column("id_lang", UINT, primary_key=True, autoincrement=False),
        Column("delay", String(512), nullable=True),
        **OPTS,
    )
    Table(
        p + "carrier_shop",
        md,
        Column("id_carrier", UINT, primary_key=True, autoincrement=False),
        Column("id_shop", UINT, primary_key=True, autoincrement=False),
        Index(ix(p, "carrier_shop", "id_shop"), "id_shop"),
        **OPTS,
    )
    Table(
        p + "carrier_tax_rules_group_shop",
        md,
        Column("id_carrier", UINT, primary_key=True, autoincrement=False),
        Column("id_tax_rules_group", UINT, primary_key=True, autoincrement=False),
        Column("id_shop", UINT, primary_key=True, autoincrement=False),
        **OPTS,
    )
    Table(
        p + "order_state",
        md,
        Column("id_order_state", UINT, primary_key=True, autoincrement=True),
        Column("invoice", UTINY, nullable=True, server_default="0"),
        Column("send_email", UTINY, nullable=False, server_default="0"),
        Column("module_name", String(255), nullable=True),
        Column("color", String(32), nullable=True),
        Column("unremovable", UTINY, nullable=False),
        Column("hidden", UTINY, nullable=False, server_default="0"),
        Column("logable", TINY, nullable=False, server_default="0"),
        Column("delivery", UTINY, nullable=False, server_default="0"),
        Column("shipped", UTINY, nullable=False, server_default="0"),
        Column("paid", UTINY, nullable=False, server_default="0"),
        Column("pdf_invoice", UTINY, nullable=False, server_default="0"),
        Column("pdf_delivery", UTINY, nullable=False, server_default="0"),
        Column("deleted", UTINY, nullable=False, server_default="0"),
        Index(ix(p, "order_state", "module_name"), "module_name"),
        **OPTS,
    )
    Table(
        p + "order_state_lang",
        md,
        Column("id_order_state", UINT, primary_key=True, autoincrement=False),
        Column("id_lang", UINT, primary_key=True, autoincrement=False),
        Column("name", String(64), nullable=False),
        Column("template", String(64), nullable=False),
        **OPTS,
    )
    Table(
        p + "stock_mvt_reason",
        md,
        Column("id_stock_mvt_reason", UINT, primary_key=True, autoincrement=True),
        Column("sign", TINY, nullable=False, server_default="1"),
        Column("date_add", DATETIME, nullable=False),
        Column("date_upd", DATETIME, nullable=False),
        Column("deleted", UTINY, nullable=False, server_default="0"),
        **OPTS,
    )
    Table(
        p + "stock_mvt_reason_lang",
        md,
        Column("id_stock_mvt_reason", UINT, primary_key=True, autoincrement=False),
        Column("id_lang", UINT, primary_key=True, autoincrement=False),
        Column("name", String(255), nullable=False),
        **OPTS,
    )
