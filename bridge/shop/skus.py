"""Targeted SKU → product/combination lookup and stock reading (accept and import).

The SKU rule is the one the offers task uses to build SKUs (``offers.sku``):
- ``reference`` / ``ean13``: the combination's identifier first; a combination with an empty identifier
  falls back to its product's; a product without combinations uses its own;
- ``id``: ``<id_product>-<id_product_attribute>``.
A SKU matching zero rows is unknown; matching several rows is ambiguous (the offers task never sends
duplicated SKUs, so an order for one is reported, not guessed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, func, literal, select, union_all
from sqlalchemy.engine import Connection

SkuRule = Literal["reference", "ean13", "id"]
_ID_SKU = re.compile(r"^(\d{1,10})-(\d{1,10})$")


@dataclass(frozen=True)
class ProductRef:
    id_product: int
    id_product_attribute: int

    @property
    def key(self) -> tuple[int, int]:
        return (self.id_product, self.id_product_attribute)


@dataclass(frozen=True)
class SkuMatch:
    sku: str
    refs: tuple[ProductRef, ...]

    @property
    def ref(self) -> ProductRef | None:
        return self.refs[0] if len(self.refs) == 1 else None

    @property
    def problem(self) -> str:
        if not self.refs:
            return "unknown_sku"
        if len(self.refs) > 1:
            return "ambiguous_sku"
        return ""


@dataclass(frozen=True)
class StockLevel:
    quantity: int
    out_of_stock: int  # 0 deny, 1 allow, 2 shop default (already resolved to 0/1 by stock_levels)
    id_stock_available: int | None = None

    @property
    def allows_backorder(self) -> bool:
        return self.out_of_stock == 1


def resolve_skus(conn: Connection, tables: Any, *, id_shop: int, rule: SkuRule,
                 skus: Iterable[str]) -> dict[str, SkuMatch]:
    """One set-based lookup for all the SKUs of a run (chunks of 500)."""
    wanted = sorted({s for s in skus if s})
    found: dict[str, set[ProductRef]] = {s: set() for s in wanted}
    if rule == "id":
        pairs = {s: _ID_SKU.match(s) for s in wanted}
        ids = {s: (int(m.group(1)), int(m.group(2))) for s, m in pairs.items() if m}
        existing = _existing_pairs(conn, tables, id_shop, set(ids.values()))
        for s, key in ids.items():
            if key in existing:
                found[s].add(ProductRef(*key))
    else:
        col = rule
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            for sku, idp, ipa in conn.execute(_by_identifier(tables, id_shop, col, chunk)):
                if sku in found:
                    found[sku].add(ProductRef(int(idp), int(ipa)))
    return {s: SkuMatch(s, tuple(sorted(refs, key=lambda r: r.key))) for s, refs in found.items()}


def _by_identifier(t: Any, id_shop: int, col: str, chunk: list[str]) -> Any:
    p, ps, pa, pas = t["product"], t["product_shop"], t["product_attribute"], t["product_attribute_shop"]
    # combinations: own identifier, or the product's when the combination has none
    # (= COALESCE(NULLIF(pa.col, ''), p.col) IN chunk, written as two branches that can use the
    # reference indexes instead of scanning every combination of the shop for each order)
    combo_from = (
        pa.join(p, p.c.id_product == pa.c.id_product)
        .join(ps, and_(ps.c.id_product == p.c.id_product, ps.c.id_shop == id_shop))
        .join(pas, and_(pas.c.id_product_attribute == pa.c.id_product_attribute, pas.c.id_shop == id_shop))
    )
    own = (
        select(pa.c[col].label("sku"), pa.c.id_product, pa.c.id_product_attribute)
        .select_from(combo_from)
        .where(pa.c[col].in_(chunk))
    )
    inherited = (
        select(p.c[col].label("sku"), pa.c.id_product, pa.c.id_product_attribute)
        .select_from(combo_from)
        .where(p.c[col].in_(chunk), func.coalesce(pa.c[col], "") == "")
    )
    has_combo = select(pas.c.id_product_attribute).where(
        pas.c.id_product == p.c.id_product, pas.c.id_shop == id_shop
    ).exists()
    simple = (
        select(p.c[col].label("sku"), p.c.id_product, literal(0).label("id_product_attribute"))
        .select_from(p.join(ps, and_(ps.c.id_product == p.c.id_product, ps.c.id_shop == id_shop)))
        .where(p.c[col].in_(chunk), ~has_combo)
    )
    return union_all(own, inherited, simple)


def _existing_pairs(conn: Connection, t: Any, id_shop: int, keys: set[tuple[int, int]]) -> set[tuple[int, int]]:
    if not keys:
        return set()
    ps, pas = t["product_shop"], t["product_attribute_shop"]
    ids = sorted({k[0] for k in keys})
    out: set[tuple[int, int]] = set()
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        simple = {int(r[0]) for r in conn.execute(select(ps.c.id_product).where(ps.c.id_shop == id_shop,
                                                                                  ps.c.id_product.in_(chunk)))}
        combos: dict[int, set[int]] = {}
        for idp, ipa in conn.execute(select(pas.c.id_product, pas.c.id_product_attribute)
                                     .where(pas.c.id_shop == id_shop, pas.c.id_product.in_(chunk))):
            combos.setdefault(int(idp), set()).add(int(ipa))
        for idp, ipa in keys:
            if idp not in simple:
                continue
            if ipa == 0 and idp not in combos:
                out.add((idp, 0))
            elif ipa in combos.get(idp, set()):
                out.add((idp, ipa))
    return out


def stock_filter(sa: Any, *, id_shop: int, id_shop_group: int, share_stock: bool) -> Any:
    """The stock_available row PrestaShop sells against (StockAvailable::addSqlShopRestriction)."""
    if share_stock:
        return and_(sa.c.id_shop == 0, sa.c.id_shop_group == id_shop_group)
    return and_(sa.c.id_shop == id_shop, sa.c.id_shop_group == 0)


def stock_levels(conn: Connection, tables: Any, *, id_shop: int, id_shop_group: int, share_stock: bool,
                 refs: Iterable[ProductRef], default_out_of_stock: int = 0,
                 for_update: bool = False) -> dict[tuple[int, int], StockLevel]:
    """Quantity and out-of-stock rule of each (product, combination); missing rows read as 0 / deny.

    ``out_of_stock`` comes from the product-level row (id_product_attribute = 0), 2 resolved to the
    shop default (PS_ORDER_OUT_OF_STOCK). ``for_update`` locks the rows (import).
    """
    keys = sorted({r.key for r in refs})
    if not keys:
        return {}
    sa = tables["stock_available"]
    where_shop = stock_filter(sa, id_shop=id_shop, id_shop_group=id_shop_group, share_stock=share_stock)
    ids = sorted({k[0] for k in keys})
    rows: dict[tuple[int, int], tuple[int, int, int]] = {}
    for i in range(0, len(ids), 500):
        q = select(sa.c.id_stock_available, sa.c.id_product, sa.c.id_product_attribute, sa.c.quantity,
                   sa.c.out_of_stock).where(where_shop, sa.c.id_product.in_(ids[i : i + 500]))
        if for_update and conn.dialect.name != "sqlite":
            q = q.with_for_update()
        for sid, idp, ipa, qty, oos in conn.execute(q):
            rows[(int(idp), int(ipa))] = (int(sid), int(qty), int(oos))
    out = {}
    for key in keys:
        sid, qty, _ = rows.get(key, (None, 0, 0))
        product_oos = rows.get((key[0], 0), (None, 0, 0))[2]
        oos = default_out_of_stock if product_oos == 2 else product_oos
        out[key] = StockLevel(quantity=qty, out_of_stock=1 if oos == 1 else 0, id_stock_available=sid)
    return out


def available_units(level: StockLevel, *, reserved: int, buffer: int) -> int:
    """Units that may still be promised: PrestaShop's quantity − accepted-not-imported − buffer, ≥ 0."""
    return max(0, level.quantity - reserved - buffer)


def merge_counts(*maps: Mapping[tuple[int, int], int]) -> dict[tuple[int, int], int]:
    out: dict[tuple[int, int], int] = {}
    for m in maps:
        for k, v in m.items():
            out[k] = out.get(k, 0) + v
    return out


__all__ = ["ProductRef", "SkuMatch", "StockLevel", "available_units", "merge_counts", "resolve_skus",
           "stock_filter", "stock_levels"]
