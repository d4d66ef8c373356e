"""Large generated catalogues for benchmarks: bulk multi-row inserts, chunked, deterministic (seeded).

``generate_catalog(engine, 40_000, 4.5)`` adds 40,000 products with 180,000 combinations (each with
two attributes, a reference and an EAN-13), their shop/lang/category/stock rows, and specific
prices on ``specific_price_ratio`` of the products, in a few seconds on MariaDB.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.engine import Connection, Engine

from bridge.testshop.products import ATTRIBUTES, ZERO_DATE, ean13
from bridge.testshop.schema import cached_metadata
from bridge.testshop.seed_base import SEED_TIME

PRODUCTS_PER_CHUNK = 2_000
_SIZES = [ATTRIBUTES[n][0] for n in ("S", "M", "L", "XL")]
_COLORS = [ATTRIBUTES[n][0] for n in ("Blue", "Red", "Black", "White")]
MAX_COMBINATIONS = len(_SIZES) * len(_COLORS)


@dataclass(frozen=True)
class CatalogStats:
    first_id_product: int
    products: int
    combinations: int
    specific_prices: int
    simple_products: int  # products without combinations

    @property
    def offers(self) -> int:
        """One offer per combination, plus one per product without combinations."""
        return self.combinations + self.simple_products


@dataclass(frozen=True)
class _Layout:
    shop_ids: tuple[int, ...]
    stock_locations: tuple[tuple[int, int], ...]


def generate_catalog(
    engine: Engine,
    n_products: int,
    n_combinations_each: float,
    *,
    specific_price_ratio: float = 0.1,
    seed: int = 0,
    prefix: str = "ps_",
    reference_prefix: str = "GEN",
) -> CatalogStats:
    """Append a generated catalogue to the test shop in ``engine`` (one transaction)."""
    if not 0 <= n_combinations_each <= MAX_COMBINATIONS:
        raise ValueError(f"n_combinations_each must be between 0 and {MAX_COMBINATIONS}")
    rng = random.Random(seed)
    md = cached_metadata(prefix)
    with engine.begin() as conn:
        if conn.dialect.name in ("mysql", "mariadb"):
            conn.exec_driver_sql("SET SESSION unique_checks = 0, foreign_key_checks = 0")
        layout = _read_layout(conn, md, prefix)
        first_pid = _max(conn, md.tables[prefix + "product"].c.id_product) + 1
        next_ipa = _max(conn, md.tables[prefix + "product_attribute"].c.id_product_attribute) + 1
        next_sp = _max(conn, md.tables[prefix + "specific_price"].c.id_specific_price) + 1
        n_combos = n_sp = n_simple = 0
        for start in range(0, n_products, PRODUCTS_PER_CHUNK):
            count = min(PRODUCTS_PER_CHUNK, n_products - start)
            rows = _Rows()
            for i in range(start, start + count):
                k = int((i + 1) * n_combinations_each) - int(i * n_combinations_each)
                made = rows.product(first_pid + i, next_ipa, k, i, rng, layout, reference_prefix)
                next_ipa += made
                n_combos += made
                n_simple += made == 0
                if rng.random() < specific_price_ratio:
                    rows.specific_price(next_sp, first_pid + i, rng)
                    next_sp += 1
                    n_sp += 1
            rows.insert(conn, md, prefix)
        _derive_rows(conn, md, prefix, first_pid, layout)
        if conn.dialect.name in ("mysql", "mariadb"):
            conn.exec_driver_sql("SET SESSION unique_checks = 1, foreign_key_checks = 1")
    return CatalogStats(first_pid, n_products, n_combos, n_sp, n_simple)


class _Rows:
    """Client-side rows of one chunk (only what cannot be derived on the server)."""

    def __init__(self) -> None:
        self.by_table: dict[str, list[dict[str, Any]]] = {}

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.by_table.setdefault(table, []).append(row)

    def product(
        self,
        pid: int,
        first_ipa: int,
        n_combos: int,
        i: int,
        rng: random.Random,
        layout: _Layout,
        ref_prefix: str,
    ) -> int:
        reference = f"{ref_prefix}-{i + 1:06d}"
        self.add(
            "product",
            dict(
                id_product=pid,
                id_shop_default=layout.shop_ids[0],
                id_category_default=2,
                id_tax_rules_group=1,
                reference=reference,
                ean13=ean13(200_000_000_000 + pid * 100),
                price=str(Decimal(rng.randint(199, 19_999)) / 100),
                cache_default_attribute=first_ipa if n_combos else 0,
                product_type="combinations" if n_combos else "standard",
                date_add=SEED_TIME,
                date_upd=SEED_TIME,
            ),
        )
        for c in range(n_combos):
            ipa = first_ipa + c
            self.add(
                "product_attribute",
                dict(
                    id_product=pid,
                    id_product_attribute=ipa,
                    reference=f"{reference}-{c + 1:02d}",
                    ean13=ean13(200_000_000_000 + pid * 100 + c + 1),
                    price=str(c % 3),
                    default_on=1 if c == 0 else None,
                ),
            )
            self.add(
                "product_attribute_combination", dict(id_attribute=_SIZES[c // 4], id_product_attribute=ipa)
            )
            self.add(
                "product_attribute_combination", dict(id_attribute=_COLORS[c % 4], id_product_attribute=ipa)
            )
        return n_combos

    def specific_price(self, id_sp: int, pid: int, rng: random.Random) -> None:
        self.add(
            "specific_price",
            dict(
                id_specific_price=id_sp,
                id_specific_price_rule=0,
                id_cart=0,
                id_product=pid,
                id_shop=0,
                id_shop_group=0,
                id_currency=0,
                id_country=0,
                id_group=0,
                id_customer=0,
                id_product_attribute=0,
                price="-1",
                from_quantity=1,
                reduction=str(Decimal(rng.choice((5, 10, 15, 20, 30))) / 100),
                reduction_tax=1,
                reduction_type="percentage",
                **{"from": ZERO_DATE, "to": ZERO_DATE},
            ),
        )

    def insert(self, conn: Connection, md: Any, prefix: str) -> None:
        for table, rows in self.by_table.items():
            conn.execute(md.tables[prefix + table].insert(), rows)


def _derive_rows(conn: Connection, md: Any, p: str, first_pid: int, layout: _Layout) -> None:
    """Shop, lang, category and stock rows, computed by the server from the new products/combinations."""
    t = md.tables
    prod, pa, sa = t[p + "product"], t[p + "product_attribute"], t[p + "stock_available"]
    new = prod.c.id_product >= first_pid
    shop_cols = (
        "id_category_default",
        "id_tax_rules_group",
        "price",
        "wholesale_price",
        "active",
        "available_for_order",
        "show_price",
        "visibility",
        "cache_default_attribute",
        "redirect_type",
        "date_add",
        "date_upd",
    )
    for s in layout.shop_ids:
        conn.execute(
            t[p + "product_shop"]
            .insert()
            .from_select(
                ["id_product", "id_shop", *shop_cols],
                select(prod.c.id_product, literal(s), *(prod.c[c] for c in shop_cols)).where(new),
            )
        )
        for lang in (1, 2):
            conn.execute(
                t[p + "product_lang"]
                .insert()
                .from_select(
                    ["id_product", "id_shop", "id_lang", "name", "link_rewrite", "description_short"],
                    select(
                        prod.c.id_product,
                        literal(s),
                        literal(lang),
                        literal("Generated ").concat(prod.c.reference),
                        func.lower(prod.c.reference),
                        literal(""),
                    ).where(new),
                )
            )
        pas_cols = (
            "id_product",
            "id_product_attribute",
            "price",
            "wholesale_price",
            "ecotax",
            "weight",
            "unit_price_impact",
            "default_on",
            "minimal_quantity",
        )
        conn.execute(
            t[p + "product_attribute_shop"]
            .insert()
            .from_select(
                [*pas_cols, "id_shop"],
                select(*(pa.c[c] for c in pas_cols), literal(s)).where(pa.c.id_product >= first_pid),
            )
        )
    conn.execute(
        t[p + "category_product"]
        .insert()
        .from_select(
            ["id_category", "id_product", "position"],
            select(literal(2), prod.c.id_product, prod.c.id_product).where(new),
        )
    )
    cols = ["id_product", "id_product_attribute", "id_shop", "id_shop_group", "quantity", "physical_quantity"]
    for shop, group in layout.stock_locations:
        combo_qty = (pa.c.id_product_attribute * 7) % 11
        conn.execute(
            sa.insert().from_select(
                cols,
                select(
                    pa.c.id_product,
                    pa.c.id_product_attribute,
                    literal(shop),
                    literal(group),
                    combo_qty,
                    combo_qty,
                ).where(pa.c.id_product >= first_pid),
            )
        )
        simple_qty = (prod.c.id_product * 3) % 9
        conn.execute(
            sa.insert().from_select(
                cols,
                select(
                    prod.c.id_product,
                    literal(0),
                    literal(shop),
                    literal(group),
                    simple_qty,
                    simple_qty,
                ).where(new, prod.c.product_type == "standard"),
            )
        )
        combos = sa.alias("combos")
        total = func.sum(combos.c.quantity)
        conn.execute(
            sa.insert().from_select(
                cols,
                select(
                    combos.c.id_product,
                    literal(0),
                    literal(shop),
                    literal(group),
                    total,
                    total,
                )
                .where(
                    combos.c.id_product >= first_pid,
                    combos.c.id_product_attribute != 0,
                    combos.c.id_shop == shop,
                    combos.c.id_shop_group == group,
                )
                .group_by(combos.c.id_product),
            )
        )


def _max(conn: Connection, column: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(column), 0))).scalar_one())


def _read_layout(conn: Connection, md: Any, prefix: str) -> _Layout:
    shop, group = md.tables[prefix + "shop"], md.tables[prefix + "shop_group"]
    rows = conn.execute(
        select(shop.c.id_shop, shop.c.id_shop_group, group.c.share_stock)
        .join_from(shop, group, group.c.id_shop_group == shop.c.id_shop_group)
        .order_by(shop.c.id_shop)
    ).all()
    if not rows:
        raise ValueError("no shop in the database: run build_test_shop first")
    shop_ids = tuple(int(r[0]) for r in rows)
    shared = sorted({int(r[1]) for r in rows if r[2]})
    locations = tuple((0, g) for g in shared) + tuple((int(r[0]), 0) for r in rows if not r[2])
    return _Layout(shop_ids, locations)
