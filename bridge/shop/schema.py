"""What the bridge uses of the PrestaShop schema, and one-shot reflection of it.

``REQUIRED`` lists, per logical table (no prefix), the columns the bridge reads or writes that exist
in every supported version (1.6.1.24 → 9.0, checked against the real schema dumps). For the tables
the order writer inserts into, *every* common column is listed, so the writer knows all the NOT NULL
columns it has to fill. ``OPTIONAL`` lists version-dependent columns: code branches on
``tables.has_column(...)``, never on the version string. ``OPTIONAL_TABLES`` are tables that only
some versions have.

Date/datetime columns are reflected with :class:`ShopDateTime`: PrestaShop's zero dates
(``'0000-00-00 00:00:00'``) read as ``None``, and strings or naive datetimes (shop local time) can be
written on MariaDB and SQLite alike (``ShopDate`` for DATE columns reads ``datetime.date``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, MetaData, String, Table, event, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.types import TypeDecorator

from bridge.errors import ShopSchemaError

_C = tuple[str, ...]

# fmt: off
REQUIRED: dict[str, _C] = {
    # --- shop, configuration, localisation ---------------------------------------------------------
    "configuration": (
        "id_configuration", "id_shop_group", "id_shop", "name", "value", "date_add", "date_upd",
    ),
    "shop": ("id_shop", "id_shop_group", "name", "active", "deleted"),
    "shop_group": (
        "id_shop_group", "name", "share_customer", "share_order", "share_stock", "active", "deleted",
    ),
    "lang": ("id_lang", "name", "active", "iso_code", "language_code"),
    "currency": ("id_currency", "iso_code", "conversion_rate", "deleted", "active"),
    "currency_shop": ("id_currency", "id_shop", "conversion_rate"),
    "country": (
        "id_country", "id_zone", "id_currency", "iso_code", "call_prefix", "active", "contains_states",
        "need_identification_number", "need_zip_code", "zip_code_format",
    ),
    "country_lang": ("id_country", "id_lang", "name"),
    "state": ("id_state", "id_country", "id_zone", "name", "iso_code", "active"),
    "zone": ("id_zone", "name", "active"),
    # --- taxes ---------------------------------------------------------------------------------------
    "tax": ("id_tax", "rate", "active", "deleted"),
    "tax_rule": (
        "id_tax_rule", "id_tax_rules_group", "id_country", "id_state", "zipcode_from", "zipcode_to",
        "id_tax", "behavior", "description",
    ),
    "tax_rules_group": ("id_tax_rules_group", "name", "active", "deleted"),
    # --- catalogue -----------------------------------------------------------------------------------
    "product": (
        "id_product", "id_supplier", "id_manufacturer", "id_category_default", "id_shop_default",
        "id_tax_rules_group", "ean13", "upc", "ecotax", "price", "wholesale_price", "reference",
        "supplier_reference", "weight", "out_of_stock", "active", "available_for_order", "condition",
        "show_price", "visibility", "cache_is_pack", "is_virtual", "cache_default_attribute",
        "advanced_stock_management", "pack_stock_type", "date_add", "date_upd",
    ),
    "product_shop": (
        "id_product", "id_shop", "id_category_default", "id_tax_rules_group", "ecotax", "price",
        "wholesale_price", "additional_shipping_cost", "active", "available_for_order", "available_date",
        "condition", "show_price", "visibility", "cache_default_attribute", "advanced_stock_management",
        "date_upd",
    ),
    "product_lang": ("id_product", "id_shop", "id_lang", "name", "link_rewrite", "description_short"),
    "product_attribute": (
        "id_product_attribute", "id_product", "reference", "supplier_reference", "ean13", "upc",
        "wholesale_price", "price", "ecotax", "weight", "default_on",
    ),
    "product_attribute_shop": (
        "id_product", "id_product_attribute", "id_shop", "wholesale_price", "price", "ecotax", "weight",
        "default_on",
    ),
    "product_attribute_combination": ("id_attribute", "id_product_attribute"),
    "attribute": ("id_attribute", "id_attribute_group", "position"),
    "attribute_lang": ("id_attribute", "id_lang", "name"),
    "attribute_group": ("id_attribute_group", "position"),  # order of "Size: M, Color: Blue" in order lines
    "attribute_group_lang": ("id_attribute_group", "id_lang", "name", "public_name"),
    "category_product": ("id_category", "id_product", "position"),
    # --- prices --------------------------------------------------------------------------------------
    "specific_price": (
        "id_specific_price", "id_specific_price_rule", "id_cart", "id_product", "id_shop", "id_shop_group",
        "id_currency", "id_country", "id_group", "id_customer", "id_product_attribute", "price",
        "from_quantity", "reduction", "reduction_tax", "reduction_type", "from", "to",
    ),
    "specific_price_priority": ("id_specific_price_priority", "id_product", "priority"),
    "group": ("id_group", "reduction", "price_display_method", "show_prices"),
    "group_shop": ("id_group", "id_shop"),
    "group_reduction": ("id_group_reduction", "id_group", "id_category", "reduction"),
    "product_group_reduction_cache": ("id_product", "id_group", "reduction"),
    # --- stock ---------------------------------------------------------------------------------------
    "stock_available": (
        "id_stock_available", "id_product", "id_product_attribute", "id_shop", "id_shop_group", "quantity",
        "depends_on_stock", "out_of_stock",
    ),
    "stock_mvt": (
        "id_stock_mvt", "id_stock", "id_order", "id_supply_order", "id_stock_mvt_reason", "id_employee",
        "employee_lastname", "employee_firstname", "physical_quantity", "date_add", "sign", "price_te",
        "last_wa", "current_wa", "referer",
    ),
    "stock_mvt_reason": ("id_stock_mvt_reason", "sign", "deleted"),
    "product_sale": ("id_product", "quantity", "sale_nbr", "date_upd"),
    # --- customers and carts (written by the order writer: every common column) ----------------------
    "customer": (
        "id_customer", "id_shop_group", "id_shop", "id_gender", "id_default_group", "id_lang", "id_risk",
        "company", "siret", "ape", "firstname", "lastname", "email", "passwd", "last_passwd_gen", "birthday",
        "newsletter", "ip_registration_newsletter", "newsletter_date_add", "optin", "website",
        "outstanding_allow_amount", "show_public_prices", "max_payment_days", "secure_key", "note", "active",
        "is_guest", "deleted", "date_add", "date_upd",
    ),
    "customer_group": ("id_customer", "id_group"),
    "address": (
        "id_address", "id_country", "id_state", "id_customer", "id_manufacturer", "id_supplier",
        "id_warehouse", "alias", "company", "lastname", "firstname", "address1", "address2", "postcode",
        "city", "other", "phone", "phone_mobile", "vat_number", "dni", "date_add", "date_upd", "active",
        "deleted",
    ),
    "cart": (
        "id_cart", "id_shop_group", "id_shop", "id_carrier", "delivery_option", "id_lang",
        "id_address_delivery", "id_address_invoice", "id_currency", "id_customer", "id_guest", "secure_key",
        "recyclable", "gift", "gift_message", "mobile_theme", "allow_seperated_package", "date_add",
        "date_upd",
    ),
    "cart_product": (
        "id_cart", "id_product", "id_address_delivery", "id_shop", "id_product_attribute", "quantity",
        "date_add",
    ),
    # --- orders (written by the order writer: every common column) ----------------------------------
    "orders": (
        "id_order", "reference", "id_shop_group", "id_shop", "id_carrier", "id_lang", "id_customer",
        "id_cart",
        "id_currency", "id_address_delivery", "id_address_invoice", "current_state", "secure_key", "payment",
        "conversion_rate", "module", "recyclable", "gift", "gift_message", "mobile_theme", "total_discounts",
        "total_discounts_tax_incl", "total_discounts_tax_excl", "total_paid", "total_paid_tax_incl",
        "total_paid_tax_excl", "total_paid_real", "total_products", "total_products_wt", "total_shipping",
        "total_shipping_tax_incl", "total_shipping_tax_excl", "carrier_tax_rate", "total_wrapping",
        "total_wrapping_tax_incl", "total_wrapping_tax_excl", "round_mode", "round_type", "invoice_number",
        "delivery_number", "invoice_date", "delivery_date", "valid", "date_add", "date_upd",
    ),
    "order_detail": (
        "id_order_detail", "id_order", "id_order_invoice", "id_warehouse", "id_shop", "product_id",
        "product_attribute_id", "product_name", "product_quantity", "product_quantity_in_stock",
        "product_quantity_refunded", "product_quantity_return", "product_quantity_reinjected",
        "product_price", "reduction_percent", "reduction_amount", "reduction_amount_tax_incl",
        "reduction_amount_tax_excl", "group_reduction", "product_quantity_discount", "product_ean13",
        "product_upc", "product_reference", "product_supplier_reference", "product_weight",
        "id_tax_rules_group", "tax_computation_method", "tax_name", "tax_rate", "ecotax", "ecotax_tax_rate",
        "discount_quantity_applied", "download_hash", "download_nb", "download_deadline",
        "total_price_tax_incl", "total_price_tax_excl", "unit_price_tax_incl", "unit_price_tax_excl",
        "total_shipping_price_tax_incl", "total_shipping_price_tax_excl", "purchase_supplier_price",
        "original_product_price", "original_wholesale_price",
    ),
    "order_detail_tax": ("id_order_detail", "id_tax", "unit_amount", "total_amount"),
    "order_carrier": (
        "id_order_carrier", "id_order", "id_carrier", "id_order_invoice", "weight", "shipping_cost_tax_excl",
        "shipping_cost_tax_incl", "tracking_number", "date_add",
    ),
    "order_payment": (
        "id_order_payment", "order_reference", "id_currency", "amount", "payment_method", "conversion_rate",
        "transaction_id", "card_number", "card_brand", "card_expiration", "card_holder", "date_add",
    ),
    "order_history": ("id_order_history", "id_employee", "id_order", "id_order_state", "date_add"),
    "order_state": (
        "id_order_state", "invoice", "send_email", "module_name", "color", "unremovable", "hidden", "logable",
        "delivery", "shipped", "paid", "pdf_invoice", "pdf_delivery", "deleted",
    ),
    "order_state_lang": ("id_order_state", "id_lang", "name", "template"),
    "order_invoice": (
        "id_order_invoice", "id_order", "number", "delivery_number", "delivery_date",
        "total_discount_tax_excl", "total_discount_tax_incl", "total_paid_tax_excl", "total_paid_tax_incl",
        "total_products", "total_products_wt", "total_shipping_tax_excl", "total_shipping_tax_incl",
        "shipping_tax_computation_method", "total_wrapping_tax_excl", "total_wrapping_tax_incl",
        "shop_address", "note", "date_add",
    ),
    "order_invoice_tax": ("id_order_invoice", "type", "id_tax", "amount"),
    "order_invoice_payment": ("id_order_invoice", "id_order_payment", "id_order"),
    "message": (
        "id_message", "id_cart", "id_customer", "id_employee", "id_order", "message", "private", "date_add",
    ),
    # --- carriers ------------------------------------------------------------------------------------
    "carrier": (
        "id_carrier", "id_reference", "name", "url", "active", "deleted", "is_module", "is_free",
        "shipping_external", "external_module_name", "position",
    ),
    "carrier_lang": ("id_carrier", "id_shop", "id_lang", "delay"),
    "carrier_shop": ("id_carrier", "id_shop"),
    "carrier_tax_rules_group_shop": ("id_carrier", "id_tax_rules_group", "id_shop"),
}

OPTIONAL: dict[str, _C] = {
    "shop": ("color", "theme_name", "id_theme"),
    "shop_group": ("color",),
    "lang": ("locale",),
    "currency": ("name", "precision", "numeric_iso_code", "decimals", "sign"),  # name: 1.6 and 9.0 only
    "product": (
        "isbn", "mpn", "product_type", "state", "low_stock_threshold", "low_stock_alert", "unit_price",
        "id_type_redirected", "id_product_redirected", "show_condition",
    ),
    "product_shop": ("low_stock_threshold", "low_stock_alert", "unit_price", "show_condition"),
    "product_lang": ("delivery_in_stock", "delivery_out_stock"),
    "product_attribute": ("isbn", "mpn", "quantity", "location", "low_stock_threshold", "low_stock_alert"),
    "stock_available": ("physical_quantity", "reserved_quantity", "location"),  # 1.7.2+ / 1.7.5+
    "customer": ("reset_password_token", "reset_password_validity"),
    "cart": ("checkout_session_data",),
    "cart_product": ("id_customization",),
    "orders": ("note", "shipping_number"),  # note 1.7.8+, shipping_number <= 1.7
    "order_detail": (
        "id_customization", "product_isbn", "product_mpn", "total_refunded_tax_excl",
        "total_refunded_tax_incl",
    ),
    "order_payment": ("id_employee",),  # 8.1+
    "order_invoice": ("invoice_address", "delivery_address"),  # 1.6 only
    "carrier": ("id_tax_rules_group",),  # <= 1.7
    "currency_lang": ("id_currency", "id_lang", "name", "symbol", "pattern"),
    "tax_lang": ("id_tax", "id_lang", "name"),
}

# Tables that exist only in some versions (reflected when present).
# tax_lang: tax names for order_detail.tax_name (every version has it; the test shop does not need it).
OPTIONAL_TABLES: frozenset[str] = frozenset({"currency_lang", "tax_lang"})
# fmt: on

_ZERO_DATES = ("0000-00-00", "0000-00-00 00:00:00")


class _SqliteDateTimeText(String):
    """Text storage named DATETIME in SQLite DDL, so that reflection still sees a date column."""

    __visit_name__ = "DATETIME"


class _SqliteDateText(String):
    __visit_name__ = "DATE"


class ShopDateTime(TypeDecorator[Any]):
    """PrestaShop datetime: zero dates read as None; str or naive datetime (shop local time) on write."""

    impl = DateTime
    cache_ok = True
    _sqlite_impl: type[String] = _SqliteDateTimeText

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name == "sqlite":  # SQLite's own DATETIME rejects str binds and zero dates
            return dialect.type_descriptor(self._sqlite_impl())
        return dialect.type_descriptor(self.impl_instance)

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if dialect.name != "sqlite" or value is None or isinstance(value, str):
            return value
        if isinstance(value, datetime):
            return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
        if isinstance(value, date):
            return value.isoformat()
        return value

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        if value is None or isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        text = str(value).strip()
        if not text or text.startswith("0000-00-00"):
            return None
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None


class ShopDate(ShopDateTime):
    """PrestaShop date: zero dates read as None, values as ``datetime.date``."""

    impl = Date  # type: ignore[assignment]
    cache_ok = True
    _sqlite_impl = _SqliteDateText

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        result = super().process_result_value(value, dialect)
        return result.date() if isinstance(result, datetime) else result


@dataclass(frozen=True)
class ShopTables:
    """Reflected PrestaShop tables by logical name: ``tables.product`` or ``tables["order_detail"]``."""

    tables: Mapping[str, Table]
    prefix: str

    def __getattr__(self, name: str) -> Table:
        if name.startswith("_") or name in ("tables", "prefix"):
            raise AttributeError(name)
        try:
            return self.tables[name]
        except KeyError:
            raise AttributeError(f"PrestaShop table {name!r} is not reflected") from None

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    def __contains__(self, name: object) -> bool:
        return name in self.tables

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def has_table(self, table: str) -> bool:
        return table in self.tables

    def has_column(self, table: str, column: str) -> bool:
        t = self.tables.get(table)
        return t is not None and column in t.c


def _swap_date_types(_inspector: Any, _table: Any, column_info: dict[str, Any]) -> None:
    reflected = column_info["type"]
    if isinstance(reflected, DateTime):
        column_info["type"] = ShopDateTime()
    elif isinstance(reflected, Date):
        column_info["type"] = ShopDate()


def needed_tables() -> list[str]:
    return sorted(set(REQUIRED) | OPTIONAL_TABLES)


def reflect_shop_tables(bind: Engine | Connection, prefix: str) -> ShopTables:
    """Reflect every table the bridge uses in one pass; ShopSchemaError lists everything missing."""
    existing = set(inspect(bind).get_table_names())
    wanted = {name: prefix + name for name in needed_tables()}
    present = [full for full in wanted.values() if full in existing]
    md = MetaData()
    event.listen(md, "column_reflect", _swap_date_types)
    if present:
        md.reflect(bind=bind, only=present, resolve_fks=False)
    problems: list[str] = []
    for name in sorted(REQUIRED):
        full = wanted[name]
        if full not in md.tables:
            problems.append(f"table {full} missing")
            continue
        cols = md.tables[full].c
        problems += [f"{full}.{col} missing" for col in REQUIRED[name] if col not in cols]
    if problems:
        hint = ""
        if not any(wanted[n] in md.tables for n in REQUIRED):
            hint = f"\nno PrestaShop table found with prefix {prefix!r}: is table_prefix right?"
        raise ShopSchemaError(
            f"the database is not a PrestaShop schema the bridge can use ({len(problems)} problems):\n  "
            + "\n  ".join(problems)
            + hint
        )
    return ShopTables({name: md.tables[full] for name, full in wanted.items() if full in md.tables}, prefix)


def detect_version(conn: Connection, tables: ShopTables) -> str:
    """``PS_VERSION_DB`` from the global configuration row, else ``"unknown"``."""
    cfg = tables.configuration
    row = conn.execute(
        select(cfg.c.value)
        .where(cfg.c.name == "PS_VERSION_DB")
        .where((cfg.c.id_shop.is_(None)) | (cfg.c.id_shop == 0))
        .where((cfg.c.id_shop_group.is_(None)) | (cfg.c.id_shop_group == 0))
        .limit(1)
    ).first()
    return str(row[0]) if row and row[0] else "unknown"
