"""``build_test_shop``: create the PrestaShop tables and seed a small, coherent shop.

Tests never hard-code ids: they read them from the returned :class:`TestShop`. The sample catalogue
(keys of ``TestShop.products``; the key is the reference except where noted):

- ``TSHIRT``  20.00 € excl., 20 % tax, 4 combinations S/M × Blue/Red (``TSHIRT-S-BLUE`` ...; M costs
  +2.00), stock 5/3/0/10; specific price: 2.00 € off tax incl. (amount, all combinations)
- ``MUG``     8.25 €, stock 12; specific price: 20 % off
- ``SOCKS``   7.50 €, stock 40; specific price: fixed price 5.00 €
- ``BOOK``    10.00 €, 5.5 % tax group, stock 7; 10 % off only in January 2024 (expired)
- ``EBOOK``   virtual product, 4.99 €, stock 100
- ``LAMP``    disabled (active = 0), stock 4
- ``POSTER``  available_for_order = 0 (catalogue only), stock 9
- ``NOREF``   empty reference '', stock 2
- ``DUP-1`` / ``DUP-2``  two products with the same reference ``DUP``, stock 1 and 6
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import MetaData
from sqlalchemy.engine import Connection, Engine

from bridge.testshop import data
from bridge.testshop.products import ATTRIBUTES, Combo, ProductIds, add_product, add_specific_price, ean13
from bridge.testshop.schema import shop_metadata
from bridge.testshop.seed_base import (
    insert,
    seed_carriers,
    seed_configuration,
    seed_localisation,
    seed_shops,
    seed_states_and_reasons,
    seed_taxes_and_groups,
)

DEFAULT_VERSION = "8.1.7"


@dataclass(frozen=True)
class CarrierIds:
    id_carrier: int  # the current (not deleted) version
    id_reference: int
    deleted_ids: tuple[int, ...] = ()  # older versions with the same id_reference, deleted = 1


@dataclass(frozen=True)
class TestShop:
    """Ids of everything the builder seeded."""

    __test__ = False  # not a pytest test class

    prefix: str
    version: str
    id_shop: int
    id_shop_group: int
    shop_ids: tuple[int, ...]
    share_stock: bool
    langs: Mapping[str, int]  # iso -> id_lang
    currencies: Mapping[str, int]  # iso -> id_currency
    countries: Mapping[str, int]  # iso -> id_country
    taxes: Mapping[str, int]  # "FR 20%" -> id_tax
    tax_rules_groups: Mapping[str, int]  # "standard" (FR 20 %, BE 21 %, DE 19 %), "reduced" (FR 5.5 %)
    groups: Mapping[str, int]  # visitor, guest, customer
    order_states: Mapping[str, int]  # PS_OS_* -> id_order_state
    stock_reasons: Mapping[str, int]  # "order", "cancel"
    carriers: Mapping[str, CarrierIds]  # "colissimo", "dhl"
    products: Mapping[str, ProductIds] = field(default_factory=dict)
    specific_prices: Mapping[str, int] = field(default_factory=dict)  # by label (see module doc)
    initial_stock: Mapping[tuple[int, int], int] = field(default_factory=dict)  # (id_product, id_pa) -> qty

    @property
    def multishop(self) -> bool:
        return len(self.shop_ids) > 1

    def product(self, key: str) -> ProductIds:
        return self.products[key]


def create_shop_tables(bind: Engine | Connection, prefix: str = "ps_") -> MetaData:
    md = shop_metadata(prefix)
    md.create_all(bind)
    return md


def build_test_shop(
    engine: Engine | Connection,
    *,
    prefix: str = "ps_",
    multishop: bool = False,
    products: bool = True,
    version: str = DEFAULT_VERSION,
    create_tables: bool = True,
) -> TestShop:
    """Create the tables (in one transaction/connection) and seed the shop. Returns the ids."""
    if isinstance(engine, Connection):
        return _build(engine, prefix, multishop, products, version, create_tables)
    with engine.begin() as conn:
        return _build(conn, prefix, multishop, products, version, create_tables)


def _build(
    conn: Connection, p: str, multishop: bool, with_products: bool, version: str, create: bool
) -> TestShop:
    md = create_shop_tables(conn, p) if create else shop_metadata(p)
    shop_ids = (1, 2) if multishop else (1,)
    seed_shops(conn, md, p, shop_ids, share_stock=multishop)
    seed_localisation(conn, md, p, shop_ids)
    seed_taxes_and_groups(conn, md, p, shop_ids)
    seed_carriers(conn, md, p, shop_ids)
    seed_states_and_reasons(conn, md, p)
    config = data.configuration(version)
    if multishop:
        config["PS_MULTISHOP_FEATURE_ACTIVE"] = "1"
    seed_configuration(conn, md, p, config)
    _seed_attributes(conn, md, p, shop_ids)
    carriers = {
        key: CarrierIds(
            id_carrier=next(c[0] for c in data.CARRIERS if c[1] == ref and not c[5]),
            id_reference=ref,
            deleted_ids=tuple(c[0] for c in data.CARRIERS if c[1] == ref and c[5]),
        )
        for key, ref in data.CARRIER_KEYS.items()
    }
    shop = TestShop(
        prefix=p,
        version=version,
        id_shop=1,
        id_shop_group=1,
        shop_ids=shop_ids,
        share_stock=multishop,
        langs={lang[1]: lang[0] for lang in data.LANGS},
        currencies={c[1]: c[0] for c in data.CURRENCIES},
        countries={c[1]: c[0] for c in data.COUNTRIES},
        taxes={t[2]: t[0] for t in data.TAXES},
        tax_rules_groups={g[1]: g[0] for g in data.TAX_RULES_GROUPS},
        groups={g[1]: g[0] for g in data.GROUPS},
        order_states={s[1]: s[0] for s in data.ORDER_STATES} | {"PS_OS_OUTOFSTOCK": 9},
        stock_reasons={"order": 1, "cancel": 2},
        carriers=carriers,
    )
    if not with_products:
        return shop
    products, prices = _seed_catalogue(conn, shop)
    stock = {(pid.id_product, 0): q for pid, q in ((products[k], q) for k, q in _SIMPLE_STOCK.items())}
    tshirt = products["TSHIRT"]
    stock[(tshirt.id_product, 0)] = sum(c.quantity for c in _TSHIRT_COMBOS)
    stock.update(
        {
            (tshirt.id_product, tshirt.combinations[c.reference].id_product_attribute): c.quantity
            for c in _TSHIRT_COMBOS
        }
    )
    return TestShop(
        **{**shop.__dict__, "products": products, "specific_prices": prices, "initial_stock": stock}
    )


def _seed_attributes(conn: Connection, md: MetaData, p: str, shop_ids: tuple[int, ...]) -> None:
    groups = ((1, "select", 0, ("Size", "Taille")), (2, "color", 1, ("Color", "Couleur")))
    insert(
        conn,
        md,
        p,
        "attribute_group",
        [
            dict(id_attribute_group=g, is_color_group=color, group_type=kind, position=g - 1)
            for g, kind, color, _n in groups
        ],
    )
    insert(
        conn,
        md,
        p,
        "attribute_group_lang",
        [
            dict(id_attribute_group=g, id_lang=lang, name=names[k], public_name=names[k])
            for g, _kind, _c, names in groups
            for k, lang in enumerate((1, 2))
        ],
    )
    insert(
        conn,
        md,
        p,
        "attribute",
        [dict(id_attribute=i, id_attribute_group=g, color="", position=i) for i, g in ATTRIBUTES.values()],
    )
    fr = {"Blue": "Bleu", "Red": "Rouge", "Black": "Noir", "White": "Blanc"}
    insert(
        conn,
        md,
        p,
        "attribute_lang",
        [
            dict(id_attribute=i, id_lang=lang, name=name if lang == 1 else fr.get(name, name))
            for name, (i, _g) in ATTRIBUTES.items()
            for lang in (1, 2)
        ],
    )


_TSHIRT_COMBOS = (
    Combo("TSHIRT-S-BLUE", ("S", "Blue"), 5, Decimal(0), ean13(376000000101), default=True),
    Combo("TSHIRT-S-RED", ("S", "Red"), 3, Decimal(0), ean13(376000000102)),
    Combo("TSHIRT-M-BLUE", ("M", "Blue"), 0, Decimal("2.00"), ean13(376000000103)),
    Combo("TSHIRT-M-RED", ("M", "Red"), 10, Decimal("2.00"), ean13(376000000104)),
)
_SIMPLE_STOCK = {
    "MUG": 12,
    "SOCKS": 40,
    "BOOK": 7,
    "EBOOK": 100,
    "LAMP": 4,
    "POSTER": 9,
    "NOREF": 2,
    "DUP-1": 1,
    "DUP-2": 6,
}


def _seed_catalogue(conn: Connection, shop: TestShop) -> tuple[dict[str, ProductIds], dict[str, int]]:
    simple = {  # key: (reference, name, price, extra)
        "MUG": ("MUG", "Mug", "8.25", {}),
        "SOCKS": ("SOCKS", "Socks", "7.50", {}),
        "BOOK": ("BOOK", "Book", "10.00", {"id_tax_rules_group": shop.tax_rules_groups["reduced"]}),
        "EBOOK": ("EBOOK", "E-book", "4.99", {"is_virtual": True}),
        "LAMP": ("LAMP", "Old lamp", "30.00", {"active": False}),
        "POSTER": ("POSTER", "Poster", "12.00", {"available_for_order": False}),
        "NOREF": ("", "No reference", "3.00", {}),
        "DUP-1": ("DUP", "Duplicate one", "4.00", {}),
        "DUP-2": ("DUP", "Duplicate two", "6.00", {}),
    }
    products = {
        "TSHIRT": add_product(
            conn,
            shop,
            reference="TSHIRT",
            name="T-shirt",
            names_fr="T-shirt",
            price="20.00",
            combinations=_TSHIRT_COMBOS,
            ean13_code=ean13(376000000100),
        )
    }
    for n, (key, (ref, name, price, extra)) in enumerate(simple.items(), start=1):
        products[key] = add_product(
            conn,
            shop,
            reference=ref,
            name=name,
            price=price,
            quantity=_SIMPLE_STOCK[key],
            ean13_code=ean13(376000000200 + n) if ref else None,
            **extra,  # type: ignore[arg-type]
        )
    pid = {key: ids.id_product for key, ids in products.items()}
    prices = {
        "TSHIRT-2EUR-OFF": add_specific_price(
            conn,
            shop,
            id_product=pid["TSHIRT"],
            reduction="2.000000",
            reduction_type="amount",
            reduction_tax=1,
        ),
        "MUG-20PCT": add_specific_price(
            conn, shop, id_product=pid["MUG"], reduction="0.200000", reduction_type="percentage"
        ),
        "SOCKS-FIXED-5": add_specific_price(
            conn, shop, id_product=pid["SOCKS"], price="5.000000", reduction="0", reduction_type="amount"
        ),
        "BOOK-JAN-2024": add_specific_price(
            conn,
            shop,
            id_product=pid["BOOK"],
            reduction="0.100000",
            reduction_type="percentage",
            from_=datetime(2024, 1, 1),
            to=datetime(2024, 1, 31, 23, 59, 59),
        ),
    }
    return products, prices
