"""Minimal rows an order needs in a *real* PrestaShop schema dump (structure only), for any version.

``seed_for_orders(conn, prefix, version)`` inserts, through the reflected tables: shop/group/lang,
configuration (PS_OS_* with the version's numbering, rounding, invoice and stock keys), EUR + USD,
France with a 20 % tax rule, customer groups, order states 1-10 with PrestaShop's install flags, stock
movement reasons, one carrier, a product with one combination ("TEE" / "TEE-M") and a simple product
("CUP") with their stock rows. NOT NULL columns a version adds are filled with neutral values
(:func:`bridge.shop.rows.complete`). Run it in PrestaShop's ``sql_mode=''`` session (the dumps carry
zero-date defaults); the writer itself runs in the bridge's strict session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import Connection

from bridge.shop.rows import complete
from bridge.shop.schema import ShopTables, reflect_shop_tables

NOW = datetime(2026, 1, 15, 12, 0, 0)

# (id, config key, logable, invoice, shipped, paid, delivery) -- install-dev/data/xml/order_state.xml
ORDER_STATES = (
    (1, "PS_OS_CHEQUE", 0, 0, 0, 0, 0),
    (2, "PS_OS_PAYMENT", 1, 1, 0, 1, 0),
    (3, "PS_OS_PREPARATION", 1, 1, 0, 1, 1),
    (4, "PS_OS_SHIPPING", 1, 1, 1, 1, 1),
    (5, "PS_OS_DELIVERED", 1, 1, 1, 1, 1),
    (6, "PS_OS_CANCELED", 0, 0, 0, 0, 0),
    (7, "PS_OS_REFUND", 0, 1, 0, 0, 0),
    (8, "PS_OS_ERROR", 0, 0, 0, 0, 0),
    (9, "PS_OS_OUTOFSTOCK_PAID", 0, 1, 0, 1, 0),
    (10, "PS_OS_BANKWIRE", 0, 0, 0, 0, 0),
)


@dataclass(frozen=True)
class SeededShop:
    version: str
    id_shop: int = 1
    id_country_fr: int = 8
    id_currency_eur: int = 1
    id_currency_usd: int = 2
    id_tax: int = 1
    id_tax_rules_group: int = 1
    id_carrier: int = 1
    id_carrier_reference: int = 1
    tee: int = 1  # id_product with one combination
    tee_m: int = 10  # its id_product_attribute
    cup: int = 2  # simple product
    stock: tuple[tuple[tuple[int, int], int], ...] = (((1, 0), 7), ((1, 10), 7), ((2, 0), 12))

    def state(self, key: str) -> int:
        return next(s[0] for s in ORDER_STATES if s[1] == key)


def _major(version: str) -> tuple[int, int]:
    parts = [int(p) for p in version.split(".")[:2] if p.isdigit()]
    return (parts + [0, 0])[0], (parts + [0, 0])[1]


def _configuration(version: str) -> dict[str, str]:
    v16 = _major(version) < (1, 7)
    values = {
        "PS_VERSION_DB": version, "PS_SHOP_DEFAULT": "1", "PS_LANG_DEFAULT": "1", "PS_CURRENCY_DEFAULT": "1",
        "PS_COUNTRY_DEFAULT": "8", "PS_TIMEZONE": "Europe/Paris", "PS_TAX": "1",
        "PS_TAX_ADDRESS_TYPE": "id_address_delivery", "PS_PRICE_ROUND_MODE": "2", "PS_ROUND_TYPE": "2",
        "PS_PRICE_DISPLAY_PRECISION": "2", "PS_STOCK_MANAGEMENT": "1", "PS_ADVANCED_STOCK_MANAGEMENT": "0",
        "PS_ORDER_OUT_OF_STOCK": "0", "PS_UNIDENTIFIED_GROUP": "1", "PS_GUEST_GROUP": "2",
        "PS_CUSTOMER_GROUP": "3", "PS_GUEST_CHECKOUT_ENABLED": "1", "PS_INVOICE": "1",
        "PS_INVOICE_START_NUMBER": "1", "PS_INVOICE_RESET": "0", "PS_SHOP_NAME": "Real schema shop",
        "PS_STOCK_CUSTOMER_ORDER_REASON": "3" if v16 else "1", "PS_STOCK_CUSTOMER_ORDER_CANCEL_REASON": "2",
        "PS_OS_OUTOFSTOCK": "9",
    }
    values.update({key: str(i) for i, key, *_ in ORDER_STATES})
    values.update({"PS_OS_WS_PAYMENT": "12", "PS_OS_OUTOFSTOCK_UNPAID": "13", "PS_OS_COD_VALIDATION": "14"}
                  if v16 else
                  {"PS_OS_WS_PAYMENT": "11", "PS_OS_OUTOFSTOCK_UNPAID": "12", "PS_OS_COD_VALIDATION": "13"})
    return values


def _put(conn: Connection, t: ShopTables, table: str, rows: list[dict[str, Any]]) -> None:
    if table not in t:
        return
    tbl = t[table]
    conn.execute(insert(tbl), [complete(tbl, r) for r in rows])


def seed_for_orders(conn: Connection, prefix: str, version: str) -> SeededShop:
    conn.execute(text("SET SESSION sql_mode = ''"))
    t = reflect_shop_tables(conn, prefix)
    s = SeededShop(version)
    extra = ["tax_lang", "lang_shop", "carrier_lang", "product_attribute_shop", "attribute_group",
             "stock_mvt_reason_lang", "order_state_lang", "country_shop", "currency_lang"]
    t = _with_tables(conn, t, prefix, extra)
    _put(conn, t, "shop_group", [{"id_shop_group": 1, "name": "Default", "share_stock": 0, "active": 1}])
    _put(conn, t, "shop", [{"id_shop": 1, "id_shop_group": 1, "name": "Shop", "id_category": 2, "active": 1}])
    _put(conn, t, "lang", [{"id_lang": 1, "name": "English", "active": 1, "iso_code": "en", "language_code": "en-us"}])
    _put(conn, t, "lang_shop", [{"id_lang": 1, "id_shop": 1}])
    _put(conn, t, "configuration", [{"name": k, "value": v, "id_shop": None, "id_shop_group": None, "date_add": NOW,
                                         "date_upd": NOW} for k, v in _configuration(version).items()])
    precision = {"precision": 2} if t.has_column("currency", "precision") else {}
    _put(conn, t, "currency", [
        dict(id_currency=1, iso_code="EUR", name="Euro", conversion_rate=1, active=1, deleted=0, **precision),
        dict(id_currency=2, iso_code="USD", name="Dollar", conversion_rate="1.08", active=1, deleted=0,
             **precision)])
    _put(conn, t, "currency_shop", [{"id_currency": c, "id_shop": 1, "conversion_rate": r}
                                    for c, r in ((1, 1), (2, "1.08"))])
    _put(conn, t, "zone", [{"id_zone": 1, "name": "Europe", "active": 1}])
    _put(conn, t, "country", [{"id_country": 8, "id_zone": 1, "iso_code": "FR", "call_prefix": 33, "active": 1,
                                   "contains_states": 0, "need_zip_code": 1, "zip_code_format": "NNNNN"}])
    _put(conn, t, "country_lang", [{"id_country": 8, "id_lang": 1, "name": "France"}])
    _put(conn, t, "country_shop", [{"id_country": 8, "id_shop": 1}])
    _put(conn, t, "tax", [{"id_tax": 1, "rate": "20.000", "active": 1, "deleted": 0}])
    _put(conn, t, "tax_lang", [{"id_tax": 1, "id_lang": 1, "name": "TVA FR 20%"}])
    _put(conn, t, "tax_rules_group", [{"id_tax_rules_group": 1, "name": "FR 20%", "active": 1, "deleted": 0,
                                           "date_add": NOW, "date_upd": NOW}])
    _put(conn, t, "tax_rule", [{"id_tax_rule": 1, "id_tax_rules_group": 1, "id_country": 8, "id_state": 0,
                                    "zipcode_from": "0", "zipcode_to": "0", "id_tax": 1, "behavior": 0, "description": ""}])
    _put(conn, t, "group", [{"id_group": g, "reduction": 0, "price_display_method": 0, "show_prices": 1,
                                 "date_add": NOW, "date_upd": NOW} for g in (1, 2, 3)])
    _put(conn, t, "group_shop", [{"id_group": g, "id_shop": 1} for g in (1, 2, 3)])
    _put(conn, t, "order_state", [{"id_order_state": i, "logable": lg, "invoice": inv, "shipped": sh, "paid": pd,
                                       "delivery": dl, "send_email": 0, "module_name": "", "color": "#000000",
                                       "unremovable": 1, "hidden": 0, "pdf_invoice": 0, "pdf_delivery": 0, "deleted": 0}
                                  for i, _k, lg, inv, sh, pd, dl in ORDER_STATES])
    _put(conn, t, "order_state_lang", [{"id_order_state": i, "id_lang": 1, "name": k, "template": ""}
                                       for i, k, *_ in ORDER_STATES])
    _put(conn, t, "stock_mvt_reason", [{"id_stock_mvt_reason": i, "sign": sg, "date_add": NOW, "date_upd": NOW,
                                            "deleted": 0} for i, sg in ((1, -1), (2, 1), (3, -1))])
    _put(conn, t, "carrier", [{"id_carrier": 1, "id_reference": 1, "name": "Colissimo", "url": "", "active": 1, "deleted": 0,
                                   "is_module": 0, "is_free": 0, "shipping_external": 0, "external_module_name": "",
                                   "position": 0}])
    _put(conn, t, "carrier_shop", [{"id_carrier": 1, "id_shop": 1}])
    _put(conn, t, "carrier_lang", [{"id_carrier": 1, "id_shop": 1, "id_lang": 1, "delay": "2 days"}])
    _put(conn, t, "carrier_tax_rules_group_shop", [{"id_carrier": 1, "id_tax_rules_group": 1, "id_shop": 1}])
    _seed_products(conn, t)
    return s


def _with_tables(conn: Connection, t: ShopTables, prefix: str, names: list[str]) -> ShopTables:
    """The reflected tables plus a few the bridge does not need but a coherent shop has."""
    from sqlalchemy import MetaData, inspect

    existing = set(inspect(conn).get_table_names())
    md = MetaData()
    wanted = [prefix + n for n in names if prefix + n in existing and n not in t]
    if wanted:
        md.reflect(bind=conn, only=wanted, resolve_fks=False)
    return ShopTables({**t.tables, **{n: md.tables[prefix + n] for n in names if prefix + n in md.tables}},
                      prefix)


def _seed_products(conn: Connection, t: ShopTables) -> None:
    common = {"id_supplier": 0, "id_manufacturer": 0, "id_category_default": 2, "id_shop_default": 1,
                  "id_tax_rules_group": 1, "on_sale": 0, "online_only": 0, "ecotax": 0, "quantity": 0, "minimal_quantity": 1,
                  "unity": "", "unit_price_ratio": 0, "additional_shipping_cost": 0, "width": 0, "height": 0, "depth": 0,
                  "out_of_stock": 2, "quantity_discount": 0, "customizable": 0, "uploadable_files": 0, "text_fields": 0,
                  "active": 1, "available_for_order": 1, "condition": "new", "show_price": 1, "indexed": 1, "visibility": "both",
                  "cache_is_pack": 0, "cache_has_attachments": 0, "is_virtual": 0, "advanced_stock_management": 0,
                  "pack_stock_type": 3, "date_add": NOW, "date_upd": NOW}
    products = [
        dict(id_product=1, reference="TEE", ean13="3760000001000", price="20.000000", wholesale_price="5.000000",
             weight="0.500000", cache_default_attribute=10, **common),
        dict(id_product=2, reference="CUP", ean13="3760000002000", price="8.250000", wholesale_price="2.000000",
             weight="0.300000", cache_default_attribute=0, **common),
    ]
    _put(conn, t, "product", products)
    _put(conn, t, "product_shop", [dict(p, id_shop=1) for p in products])
    _put(conn, t, "product_lang", [{"id_product": i, "id_shop": 1, "id_lang": 1, "name": n, "link_rewrite": n.lower(),
                                        "description_short": ""} for i, n in ((1, "Tee"), (2, "Cup"))])
    _put(conn, t, "attribute_group", [{"id_attribute_group": 1, "is_color_group": 0, "group_type": "select",
                                           "position": 0}])
    _put(conn, t, "attribute_group_lang", [{"id_attribute_group": 1, "id_lang": 1, "name": "Size", "public_name": "Size"}])
    _put(conn, t, "attribute", [{"id_attribute": 1, "id_attribute_group": 1, "color": "", "position": 0}])
    _put(conn, t, "attribute_lang", [{"id_attribute": 1, "id_lang": 1, "name": "M"}])
    combo = {"id_product_attribute": 10, "id_product": 1, "reference": "TEE-M", "supplier_reference": "",
                 "ean13": "3760000001017", "upc": "", "wholesale_price": 0, "price": "2.000000", "ecotax": 0, "weight": "0.100000",
                 "unit_price_impact": 0, "minimal_quantity": 1, "default_on": 1}
    _put(conn, t, "product_attribute", [combo])
    _put(conn, t, "product_attribute_shop", [dict(combo, id_shop=1)])
    _put(conn, t, "product_attribute_combination", [{"id_attribute": 1, "id_product_attribute": 10}])
    _put(conn, t, "stock_available", [
        {"id_product": p, "id_product_attribute": a, "id_shop": 1, "id_shop_group": 0, "quantity": q, "physical_quantity": q,
             "reserved_quantity": 0, "depends_on_stock": 0, "out_of_stock": 2}
        for (p, a), q in SeededShop("").stock])
