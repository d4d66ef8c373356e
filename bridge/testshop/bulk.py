"""Large generated catalogues for benchmarks: derived server-side, deterministic (seeded).

``generate_catalog(engine, 40_000, 4.5)`` adds 40,000 products with 180,000 combinations (each with
two attributes, a reference and a valid EAN-13), their shop/lang/category/stock rows for every shop
of the test shop (one stock row per shop group when the group shares its stock), and specific
prices on ``specific_price_ratio`` of the products, in a few seconds on MariaDB.

How: the client writes one small row per product into a helper table (id, number of combinations,
first combination id, price, tax rules group); every PrestaShop row is then made by the server
with ``INSERT … SELECT`` from that table joined to a 16-row table of combination numbers. The
helpers are dropped at the end. Products are active and available for order.

Specific prices (few rows, written by the client) mix what ``getSpecificPrice`` has to weigh:
percentage / amount (tax included or not) / fixed price, all combinations or one, shop, country,
group and currency restrictions, open / running / future / expired date ranges, a second
competing row on some products, and ``specific_price_priority`` rows on some products.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    case,
    cast,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

from bridge.testshop import data
from bridge.testshop.products import ATTRIBUTES, ZERO_DATE
from bridge.testshop.schema import cached_metadata
from bridge.testshop.seed_base import SEED_TIME

PRODUCTS_PER_CHUNK = 5_000
_SIZES = [ATTRIBUTES[n][0] for n in ("S", "M", "L", "XL")]
_COLORS = [ATTRIBUTES[n][0] for n in ("Blue", "Red", "Black", "White")]
MAX_COMBINATIONS = len(_SIZES) * len(_COLORS)
EAN_BASE = 200_000_000_000
_PRIORITY_FIELDS = ("id_shop", "id_currency", "id_country", "id_group")
_SP_UNIQUE = (
    "id_product",
    "id_shop",
    "id_shop_group",
    "id_currency",
    "id_country",
    "id_group",
    "id_customer",
    "id_product_attribute",
    "from_quantity",
    "id_specific_price_rule",
    "id_cart",
    "from",
    "to",
)
_COUNTRY = {iso: c[0] for c in data.COUNTRIES for iso in (c[1],)}


@dataclass(frozen=True)
class CatalogStats:
    first_id_product: int
    products: int
    combinations: int
    specific_prices: int
    simple_products: int  # products without combinations
    priorities: int = 0  # specific_price_priority rows

    @property
    def offers(self) -> int:
        """One offer per combination, plus one per product without combinations."""
        return self.combinations + self.simple_products


@dataclass(frozen=True)
class _Layout:
    shop_ids: tuple[int, ...]
    stock_locations: tuple[tuple[int, int], ...]


def _helpers(prefix: str) -> tuple[Table, Table]:
    md = MetaData()
    gen = Table(
        f"{prefix}mb_gen_product",
        md,
        Column("n", Integer, primary_key=True, autoincrement=False),
        Column("id_product", Integer, nullable=False),
        Column("k", Integer, nullable=False),  # number of combinations
        Column("first_ipa", Integer, nullable=False),
        Column("price", Numeric(20, 6), nullable=False),
        Column("id_tax_rules_group", Integer, nullable=False),
    )
    combo = Table(
        f"{prefix}mb_gen_combo",
        md,
        Column("c", Integer, primary_key=True, autoincrement=False),
        Column("size", Integer, nullable=False),
        Column("color", Integer, nullable=False),
    )
    return gen, combo


def generate_catalog(
    engine: Engine,
    n_products: int,
    n_combinations_each: float,
    *,
    specific_price_ratio: float = 0.1,
    seed: int = 0,
    prefix: str = "ps_",
    reference_prefix: str = "GEN",
    now: datetime | None = None,
) -> CatalogStats:
    """Append a generated catalogue to the test shop in ``engine`` (one transaction).

    ``now`` (shop-local, naive; default: the current time) anchors the specific prices' dates.
    """
    if not 0 <= n_combinations_each <= MAX_COMBINATIONS:
        raise ValueError(f"n_combinations_each must be between 0 and {MAX_COMBINATIONS}")
    rng = random.Random(seed)
    now = (now or datetime.now()).replace(microsecond=0)
    md = cached_metadata(prefix)
    gen, combo = _helpers(prefix)
    mysql = engine.dialect.name in ("mysql", "mariadb")
    try:
        with engine.begin() as conn:
            if mysql:
                conn.exec_driver_sql("SET SESSION unique_checks = 0, foreign_key_checks = 0")
            gen.metadata.drop_all(conn)
            gen.metadata.create_all(conn)
            layout = _read_layout(conn, md, prefix)
            first_pid = _max(conn, md.tables[prefix + "product"].c.id_product) + 1
            next_ipa = _max(conn, md.tables[prefix + "product_attribute"].c.id_product_attribute) + 1
            conn.execute(
                combo.insert(),
                [{"c": c, "size": _SIZES[c // 4], "color": _COLORS[c % 4]} for c in range(MAX_COMBINATIONS)],
            )
            plan: list[tuple[int, int, int]] = []  # (id_product, k, first_ipa)
            rows: list[dict[str, Any]] = []
            for i in range(n_products):
                k = int((i + 1) * n_combinations_each) - int(i * n_combinations_each)
                pid = first_pid + i
                rows.append(
                    {
                        "n": i,
                        "id_product": pid,
                        "k": k,
                        "first_ipa": next_ipa,
                        "price": Decimal(rng.randint(199, 19_999)) / 100,
                        "id_tax_rules_group": 2 if i % 10 == 9 else 1,
                    }
                )
                plan.append((pid, k, next_ipa))
                next_ipa += k
                if len(rows) == PRODUCTS_PER_CHUNK:
                    conn.execute(gen.insert(), rows)
                    rows = []
            if rows:
                conn.execute(gen.insert(), rows)
            _insert_catalogue(conn, md, prefix, gen, combo, layout, reference_prefix)
            _derive_rows(conn, md, prefix, first_pid, layout, gen)
            n_sp, n_prio = _specific_prices(conn, md, prefix, plan, rng, specific_price_ratio, layout, now)
            if mysql:
                conn.exec_driver_sql("SET SESSION unique_checks = 1, foreign_key_checks = 1")
    finally:
        with engine.begin() as conn:
            gen.metadata.drop_all(conn)
    n_combos = sum(k for _, k, _ in plan)
    n_simple = sum(1 for _, k, _ in plan if k == 0)
    return CatalogStats(first_pid, n_products, n_combos, n_sp, n_simple, n_prio)


def _ean13(base: ColumnElement[Any]) -> ColumnElement[Any]:
    """SQL for :func:`bridge.testshop.products.ean13` of a 12-digit integer expression."""
    total: ColumnElement[Any] = literal(0)
    for i in range(12):  # i-th digit from the left, weight 1, 3, 1, 3, ...
        total = total + ((base // 10 ** (11 - i)) % 10) * (3 if i % 2 else 1)
    check = (10 - total % 10) % 10
    return cast(base, String).concat(cast(check, String))


def _padded(value: ColumnElement[Any], width: int) -> ColumnElement[Any]:
    return func.substr(literal("0" * width).concat(cast(value, String)), -width)


def _insert_catalogue(
    conn: Connection, md: Any, p: str, gen: Table, combo: Table, layout: _Layout, ref_prefix: str
) -> None:
    """Products, combinations and their attributes, made by the server from the helper tables."""
    t = md.tables
    g, c = gen.c, combo.c
    reference = literal(ref_prefix + "-").concat(_padded(g.n + 1, 6))
    conn.execute(
        t[p + "product"]
        .insert()
        .from_select(
            [
                "id_product",
                "id_shop_default",
                "id_category_default",
                "id_tax_rules_group",
                "reference",
                "ean13",
                "price",
                "cache_default_attribute",
                "product_type",
                "active",
                "available_for_order",
                "show_price",
                "date_add",
                "date_upd",
            ],
            select(
                g.id_product,
                literal(layout.shop_ids[0]),
                literal(2),
                g.id_tax_rules_group,
                reference,
                _ean13(literal(EAN_BASE) + g.id_product * 100),
                g.price,
                case((g.k > 0, g.first_ipa), else_=0),
                case((g.k > 0, literal("combinations")), else_=literal("standard")),
                literal(1),
                literal(1),
                literal(1),
                literal(SEED_TIME),
                literal(SEED_TIME),
            ),
        )
    )
    joined = gen.join(combo, c.c < g.k)
    ipa = g.first_ipa + c.c
    conn.execute(
        t[p + "product_attribute"]
        .insert()
        .from_select(
            ["id_product", "id_product_attribute", "reference", "ean13", "price", "default_on"],
            select(
                g.id_product,
                ipa,
                reference.concat("-").concat(_padded(c.c + 1, 2)),
                _ean13(literal(EAN_BASE) + g.id_product * 100 + c.c + 1),
                c.c % 3,
                case((c.c == 0, literal(1)), else_=None),
            ).select_from(joined),
        )
    )
    conn.execute(
        t[p + "product_attribute_combination"]
        .insert()
        .from_select(
            ["id_attribute", "id_product_attribute"],
            union_all(*(select(attr, ipa).select_from(joined) for attr in (c.size, c.color))),
        )
    )


def _specific_prices(
    conn: Connection,
    md: Any,
    p: str,
    plan: list[tuple[int, int, int]],
    rng: random.Random,
    ratio: float,
    layout: _Layout,
    now: datetime,
) -> tuple[int, int]:
    """Client-side rows (few): see the module docstring. Returns (specific prices, priority rows)."""
    sp_t, prio_t = md.tables[p + "specific_price"], md.tables[p + "specific_price_priority"]
    next_sp = _max(conn, sp_t.c.id_specific_price) + 1
    sps: list[dict[str, Any]] = []
    prios: list[dict[str, Any]] = []
    for pid, k, first_ipa in plan:
        if rng.random() >= ratio:
            continue
        keys = set()
        for _ in range(2 if rng.random() < 0.3 else 1):
            row = _one_specific_price(next_sp, pid, k, first_ipa, rng, layout, now)
            key = tuple(row[c] for c in _SP_UNIQUE)
            if key not in keys:  # PrestaShop's unique key over the restrictions and dates
                keys.add(key)
                sps.append(row)
                next_sp += 1
        if rng.random() < 0.5:
            fields = list(_PRIORITY_FIELDS)
            rng.shuffle(fields)
            prios.append({"id_product": pid, "priority": ";".join(fields)})
    for i in range(0, len(sps), PRODUCTS_PER_CHUNK):
        conn.execute(sp_t.insert(), sps[i : i + PRODUCTS_PER_CHUNK])
    if prios:
        conn.execute(prio_t.insert(), prios)
    return len(sps), len(prios)


def _one_specific_price(
    id_sp: int, pid: int, k: int, first_ipa: int, rng: random.Random, layout: _Layout, now: datetime
) -> dict[str, Any]:
    kind = rng.random()
    if kind < 0.6:
        price, reduction, rtype, rtax = (
            "-1",
            str(Decimal(rng.choice((5, 10, 15, 20, 30))) / 100),
            "percentage",
            1,
        )
    elif kind < 0.8:
        price, reduction, rtype, rtax = (
            "-1",
            str(Decimal(rng.randint(50, 500)) / 100),
            "amount",
            rng.randint(0, 1),
        )
    else:
        price, reduction, rtype, rtax = str(Decimal(rng.randint(150, 15_000)) / 100), "0", "amount", 1
    when = rng.random()
    start: datetime | str
    end: datetime | str
    if when < 0.5:  # open
        start, end = ZERO_DATE, ZERO_DATE
    elif when < 0.75:  # running now
        start, end = (
            now - timedelta(days=rng.randint(1, 20)),
            now + timedelta(days=rng.randint(1, 30), hours=7),
        )
    elif when < 0.9:  # starts later: the price moves by date alone
        begins = now + timedelta(days=rng.randint(1, 10), minutes=rng.randint(0, 1439))
        start, end = begins, begins + timedelta(days=rng.randint(1, 14))
    else:  # expired
        start, end = now - timedelta(days=60), now - timedelta(days=rng.randint(1, 30))
    return {
        "id_specific_price": id_sp,
        "id_specific_price_rule": 0,
        "id_cart": 0,
        "id_product": pid,
        "id_shop": rng.choice((0, 0, layout.shop_ids[0])),
        "id_shop_group": 0,
        "id_currency": rng.choice((0, 0, 0, 1)),
        "id_country": rng.choice((0, 0, _COUNTRY["FR"], _COUNTRY["DE"])),
        "id_group": rng.choice((0, 0, 1)),
        "id_customer": 0,
        "id_product_attribute": first_ipa + rng.randrange(k) if k and rng.random() < 0.3 else 0,
        "price": price,
        "from_quantity": 1,
        "reduction": reduction,
        "reduction_tax": rtax,
        "reduction_type": rtype,
        "from": start,
        "to": end,
    }


def _derive_rows(conn: Connection, md: Any, p: str, first_pid: int, layout: _Layout, gen: Table) -> None:
    """Shop, lang, category and stock rows, computed by the server from the new products/combinations.

    One INSERT … SELECT per table (shops, languages and stock locations joined in), so that MariaDB
    can use its bulk path when the table was empty.
    """
    t = md.tables
    prod, pa, sa = t[p + "product"], t[p + "product_attribute"], t[p + "stock_available"]
    new = prod.c.id_product >= first_pid
    shops = _values("shop", ("id_shop",), [(s,) for s in layout.shop_ids])
    shop_langs = _values(
        "shop_lang", ("id_shop", "id_lang"), [(s, lang) for s in layout.shop_ids for lang in (1, 2)]
    )
    locs = _values("loc", ("id_shop", "id_shop_group"), list(layout.stock_locations))
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
    conn.execute(
        t[p + "product_shop"]
        .insert()
        .from_select(
            ["id_product", "id_shop", *shop_cols],
            select(prod.c.id_product, shops.c.id_shop, *(prod.c[c] for c in shop_cols))
            .select_from(prod.join(shops, true()))
            .where(new),
        )
    )
    conn.execute(
        t[p + "product_lang"]
        .insert()
        .from_select(
            ["id_product", "id_shop", "id_lang", "name", "link_rewrite", "description_short"],
            select(
                prod.c.id_product,
                shop_langs.c.id_shop,
                shop_langs.c.id_lang,
                literal("Generated ").concat(prod.c.reference),
                func.lower(prod.c.reference),
                literal(""),
            )
            .select_from(prod.join(shop_langs, true()))
            .where(new),
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
            select(*(pa.c[c] for c in pas_cols), shops.c.id_shop)
            .select_from(pa.join(shops, true()))
            .where(pa.c.id_product >= first_pid),
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
    # stock: each combination, each product without combinations, and each product's total of its combinations
    g = gen.c
    combo_qty = (pa.c.id_product_attribute * 7) % 11
    simple_qty = (g.id_product * 3) % 9
    totals = (
        select(pa.c.id_product, func.sum(combo_qty).label("qty"))
        .where(pa.c.id_product >= first_pid)
        .group_by(pa.c.id_product)
        .subquery("totals")
    )
    rows = union_all(
        select(pa.c.id_product, pa.c.id_product_attribute, combo_qty.label("qty")).where(
            pa.c.id_product >= first_pid
        ),
        select(g.id_product, literal(0), simple_qty).where(g.k == 0),
        select(totals.c.id_product, literal(0), totals.c.qty),
    ).subquery("stock_rows")
    conn.execute(
        sa.insert().from_select(
            [
                "id_product",
                "id_product_attribute",
                "id_shop",
                "id_shop_group",
                "quantity",
                "physical_quantity",
            ],
            select(
                rows.c.id_product,
                rows.c.id_product_attribute,
                locs.c.id_shop,
                locs.c.id_shop_group,
                rows.c.qty,
                rows.c.qty,
            ).select_from(rows.join(locs, true())),
        )
    )


def _values(name: str, cols: tuple[str, ...], rows: list[tuple[int, ...]]) -> Any:
    """A small constant table (``SELECT 1 UNION ALL SELECT 2``) to join in."""
    selects = [select(*(literal(v).label(c) for v, c in zip(row, cols, strict=True))) for row in rows]
    return (union_all(*selects) if len(selects) > 1 else selects[0]).subquery(name)


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
