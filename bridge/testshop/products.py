"""Product helpers of the test shop: add a product (with combinations), set stock, add specific prices.

Stock rows follow PrestaShop: one row per combination plus the ``id_product_attribute = 0`` row holding
their sum, located by ``share_stock`` (shared: ``id_shop = 0, id_shop_group = G``; else per shop,
``id_shop_group = 0``); ``physical_quantity = quantity + reserved_quantity``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from bridge.testshop.schema import cached_metadata
from bridge.testshop.seed_base import SEED_TIME

ZERO_DATE = "0000-00-00 00:00:00"
# attribute value name -> (id_attribute, id_attribute_group); groups: 1 Size, 2 Color
ATTRIBUTES: Mapping[str, tuple[int, int]] = {
    "S": (1, 1),
    "M": (2, 1),
    "L": (3, 1),
    "XL": (4, 1),
    "Blue": (5, 2),
    "Red": (6, 2),
    "Black": (7, 2),
    "White": (8, 2),
}


class Layout(Protocol):
    """Where a product's rows go (TestShop is one)."""

    @property
    def prefix(self) -> str: ...
    @property
    def shop_ids(self) -> tuple[int, ...]: ...
    @property
    def id_shop_group(self) -> int: ...
    @property
    def share_stock(self) -> bool: ...


@dataclass(frozen=True)
class Combo:
    """A combination to create: attribute value names (keys of ATTRIBUTES), identifiers, impact, stock."""

    reference: str
    attributes: tuple[str, ...]
    quantity: int = 0
    price_impact: Decimal = Decimal(0)
    ean13: str | None = None
    default: bool = False


@dataclass(frozen=True)
class CombinationIds:
    id_product_attribute: int
    reference: str
    ean13: str | None
    attributes: tuple[str, ...]


@dataclass(frozen=True)
class ProductIds:
    id_product: int
    reference: str
    ean13: str | None
    combinations: Mapping[str, CombinationIds] = field(default_factory=dict)  # by combination reference

    @property
    def id_product_attributes(self) -> tuple[int, ...]:
        return tuple(c.id_product_attribute for c in self.combinations.values())


def ean13(base: int | str) -> str:
    """A valid EAN-13 for a 12-digit base (check digit computed)."""
    digits = str(base).zfill(12)[-12:]
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return digits + str((10 - total % 10) % 10)


def stock_locations(layout: Layout) -> list[tuple[int, int]]:
    """(id_shop, id_shop_group) of the stock rows of one product."""
    if layout.share_stock:
        return [(0, layout.id_shop_group)]
    return [(s, 0) for s in layout.shop_ids]


def _next_id(conn: Connection, table: Any, column: str) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c[column]), 0))).scalar_one()) + 1


def add_product(
    conn: Connection,
    layout: Layout,
    *,
    reference: str,
    name: str,
    price: Decimal | str,
    quantity: int = 0,
    combinations: Sequence[Combo] = (),
    id_tax_rules_group: int = 1,
    ean13_code: str | None = None,
    active: bool = True,
    available_for_order: bool = True,
    is_virtual: bool = False,
    out_of_stock: int = 2,
    wholesale_price: Decimal | str = "0",
    weight: Decimal | str = "0.5",
    names_fr: str | None = None,
) -> ProductIds:
    """Insert a product with its shop/lang/category/stock rows (and combinations). Returns its ids."""
    md, p = cached_metadata(layout.prefix), layout.prefix
    t = md.tables
    id_product = _next_id(conn, t[p + "product"], "id_product")
    ptype = "virtual" if is_virtual else ("combinations" if combinations else "standard")
    common = dict(
        id_category_default=2,
        id_tax_rules_group=id_tax_rules_group,
        price=str(price),
        wholesale_price=str(wholesale_price),
        active=int(active),
        available_for_order=int(available_for_order),
        show_price=1,
        visibility="both",
        cache_default_attribute=0,
        redirect_type="default",
        date_add=SEED_TIME,
        date_upd=SEED_TIME,
    )
    conn.execute(
        t[p + "product"].insert(),
        [
            dict(
                id_product=id_product,
                id_shop_default=layout.shop_ids[0],
                reference=reference,
                ean13=ean13_code,
                upc="",
                weight=str(weight),
                is_virtual=int(is_virtual),
                product_type=ptype,
                state=1,
                out_of_stock=out_of_stock,
                quantity=0,
                **common,
            )
        ],
    )
    conn.execute(
        t[p + "product_shop"].insert(),
        [dict(id_product=id_product, id_shop=s, **common) for s in layout.shop_ids],
    )
    conn.execute(
        t[p + "product_lang"].insert(),
        [
            dict(
                id_product=id_product,
                id_shop=s,
                id_lang=lang,
                name=label,
                link_rewrite=_slug(label),
                description_short="",
            )
            for s in layout.shop_ids
            for lang, label in ((1, name), (2, names_fr or name))
        ],
    )
    position = _next_id(conn, t[p + "category_product"], "position")
    conn.execute(
        t[p + "category_product"].insert(), [dict(id_category=2, id_product=id_product, position=position)]
    )
    combos = _add_combinations(conn, layout, id_product, combinations)
    stock = {0: sum(c.quantity for c in combinations) if combinations else quantity}
    stock.update({ids.id_product_attribute: c.quantity for c, ids in zip(combinations, combos.values())})
    conn.execute(
        t[p + "stock_available"].insert(),
        [
            dict(
                id_product=id_product,
                id_product_attribute=ipa,
                id_shop=shop,
                id_shop_group=group,
                quantity=qty,
                physical_quantity=qty,
                reserved_quantity=0,
                depends_on_stock=0,
                out_of_stock=out_of_stock,
                location="",
            )
            for ipa, qty in stock.items()
            for shop, group in stock_locations(layout)
        ],
    )
    return ProductIds(id_product, reference, ean13_code, combos)


def _add_combinations(
    conn: Connection, layout: Layout, id_product: int, combinations: Sequence[Combo]
) -> dict[str, CombinationIds]:
    if not combinations:
        return {}
    md, p = cached_metadata(layout.prefix), layout.prefix
    pa_table = md.tables[p + "product_attribute"]
    first = _next_id(conn, pa_table, "id_product_attribute")
    default_index = next((i for i, c in enumerate(combinations) if c.default), 0)
    pa_rows, pas_rows, pac_rows, out = [], [], [], {}
    for i, combo in enumerate(combinations):
        ipa, is_default = first + i, (1 if i == default_index else None)
        shared = dict(
            id_product=id_product,
            id_product_attribute=ipa,
            price=str(combo.price_impact),
            wholesale_price="0",
            ecotax="0",
            weight="0",
            unit_price_impact="0",
            default_on=is_default,
            minimal_quantity=1,
            available_date=None,
        )
        pa_rows.append(
            dict(shared, reference=combo.reference, ean13=combo.ean13, upc="", supplier_reference="")
        )
        pas_rows += [dict(shared, id_shop=s) for s in layout.shop_ids]
        pac_rows += [dict(id_attribute=ATTRIBUTES[a][0], id_product_attribute=ipa) for a in combo.attributes]
        out[combo.reference] = CombinationIds(ipa, combo.reference, combo.ean13, combo.attributes)
    conn.execute(pa_table.insert(), pa_rows)
    conn.execute(md.tables[p + "product_attribute_shop"].insert(), pas_rows)
    conn.execute(md.tables[p + "product_attribute_combination"].insert(), pac_rows)
    first_ipa = first + default_index
    for name in ("product", "product_shop"):
        tbl = md.tables[p + name]
        conn.execute(
            tbl.update().where(tbl.c.id_product == id_product).values(cache_default_attribute=first_ipa)
        )
    return out


def set_stock(
    conn: Connection, id_product: int, id_product_attribute: int, qty: int, *, prefix: str = "ps_"
) -> None:
    """Set ``quantity`` of the product's stock rows (every location) and keep the id_pa=0 row the sum."""
    sa = cached_metadata(prefix).tables[prefix + "stock_available"]
    row_filter = and_(sa.c.id_product == id_product, sa.c.id_product_attribute == id_product_attribute)
    conn.execute(
        sa.update().where(row_filter).values(quantity=qty, physical_quantity=qty + sa.c.reserved_quantity)
    )
    if id_product_attribute == 0:
        return
    combos = sa.alias("combos")
    total = (
        select(func.coalesce(func.sum(combos.c.quantity), 0))
        .where(
            combos.c.id_product == id_product,
            combos.c.id_product_attribute != 0,
            combos.c.id_shop == sa.c.id_shop,
            combos.c.id_shop_group == sa.c.id_shop_group,
        )
        .scalar_subquery()
    )
    parent = and_(sa.c.id_product == id_product, sa.c.id_product_attribute == 0)
    conn.execute(sa.update().where(parent).values(quantity=total))
    conn.execute(sa.update().where(parent).values(physical_quantity=sa.c.quantity + sa.c.reserved_quantity))


def add_specific_price(
    conn: Connection,
    layout: Layout,
    *,
    id_product: int,
    reduction: Decimal | str = "0",
    reduction_type: str = "amount",
    reduction_tax: int = 1,
    price: Decimal | str = "-1",
    id_product_attribute: int = 0,
    from_: datetime | str = ZERO_DATE,
    to: datetime | str = ZERO_DATE,
    from_quantity: int = 1,
    **ids: int,
) -> int:
    """Insert a ``specific_price`` row (all shops/currencies/countries/groups unless given in ``ids``)."""
    sp = cached_metadata(layout.prefix).tables[layout.prefix + "specific_price"]
    id_sp = _next_id(conn, sp, "id_specific_price")
    scope = dict(
        id_shop=0,
        id_shop_group=0,
        id_currency=0,
        id_country=0,
        id_group=0,
        id_customer=0,
        id_cart=0,
        id_specific_price_rule=0,
    )
    scope.update(ids)
    conn.execute(
        sp.insert(),
        [
            dict(
                id_specific_price=id_sp,
                id_product=id_product,
                id_product_attribute=id_product_attribute,
                price=str(price),
                from_quantity=from_quantity,
                reduction=str(reduction),
                reduction_tax=reduction_tax,
                reduction_type=reduction_type,
                **{"from": from_, "to": to},
                **scope,
            )
        ],
    )
    return id_sp


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:128] or "product"


def iter_stock(conn: Connection, prefix: str, ids: Iterable[int]) -> dict[tuple[int, int], int]:
    """(id_product, id_product_attribute) -> quantity for the given products (first location found)."""
    sa = cached_metadata(prefix).tables[prefix + "stock_available"]
    rows = conn.execute(
        select(sa.c.id_product, sa.c.id_product_attribute, sa.c.quantity).where(
            sa.c.id_product.in_(list(ids))
        )
    ).all()
    return {(int(r[0]), int(r[1])): int(r[2]) for r in rows}
