"""Shared pieces of the import tests: config, generated orders, and SQL checks of the shop afterwards.

Every check is plain SQL on the shop database, independent of the code under test: PrestaShop
orders are linked to their Mirakl order through ``ps_order_payment.transaction_id`` (the order
reference joins payment and order), orphan rows are looked for table by table.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from bridge.config import Config, config_from_dict
from bridge.sandbox.orders_gen import generate_order, generate_orders

CODE = "sim"
API_KEY = "sim-key"
ENV = {"SIM_MIRAKL_KEY": API_KEY}
# SKUs of the seeded test shop (bridge.testshop.seed), reference rule
SKUS = ("TSHIRT-S-BLUE", "TSHIRT-S-RED", "TSHIRT-M-RED", "MUG", "SOCKS", "BOOK")


def config_dict(
    db_url: str, sim_url: str, *, carrier_reference: int, prefix: str = "ps_", id_shop: int = 1, **orders: Any
) -> dict[str, Any]:
    return {
        "shop": {"database_url": db_url, "table_prefix": prefix, "id_shop": id_shop},
        "daemon": {"min_manual_interval_s": 0},
        "platforms": [
            {
                "code": CODE,
                "label": "Simulated marketplace",
                "api_url": sim_url,
                "api_key_env": "SIM_MIRAKL_KEY",
                "max_attempts": 3,
                "max_retry_s": 5,
                "orders": {"carriers": {"STD": carrier_reference}, **orders},
            }
        ],
    }


def make_config(
    db_url: str, sim_url: str, *, carrier_reference: int, prefix: str = "ps_", id_shop: int = 1, **orders: Any
) -> Config:
    raw = config_dict(
        db_url, sim_url, carrier_reference=carrier_reference, prefix=prefix, id_shop=id_shop, **orders
    )
    return config_from_dict(raw, ENV)


def recent_orders(
    n: int,
    *,
    seed: int,
    skus: Sequence[str] = SKUS,
    hours_ago: float = 10,
    currencies: Sequence[str] = ("EUR",),
    lines: tuple[int, int] = (1, 3),
) -> list[dict[str, Any]]:
    """``n`` SHIPPING orders created from ``hours_ago`` on (7 minutes apart): inside a first run's window.

    Italian orders are left out: the test shop has no 22 % tax, so they would (rightly) be held.
    """
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=hours_ago)
    generated = generate_orders(
        3 * n + 10, list(skus), seed=seed, state="SHIPPING", start=start, currencies=currencies, lines=lines
    )
    kept = [o for o in generated if o["customer"]["shipping_address"]["country_iso_code"] != "ITA"]
    return kept[:n]


def one_order(
    skus: Sequence[str],
    quantities: Sequence[int],
    *,
    seed: int,
    currency: str = "EUR",
    prices: Mapping[str, Decimal] | None = None,
    state: str = "SHIPPING",
    countries: Sequence[str] = ("FRA", "BEL", "DEU", "ESP"),
) -> dict[str, Any]:
    """One order with one line per SKU (in this order), created an hour ago, shipped to one of ``countries``."""
    created = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    for attempt in range(200):
        order = generate_order(
            random.Random(seed * 1000 + attempt),
            list(skus),
            state=state,
            currency=currency,
            n_lines=len(skus),
            created=created,
            prices=prices,
            quantities=list(quantities),
        )
        if order["customer"]["shipping_address"]["country_iso_code"] in countries:
            return order
    raise AssertionError(f"no order shipped to {countries} in 200 attempts")


def live_units(orders: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """Units per SKU of the lines that are not refused or cancelled (computed from the raw dicts)."""
    units: Counter[str] = Counter()
    for order in orders:
        for line in order["order_lines"]:
            if line["order_line_state"] not in ("REFUSED", "CANCELED"):
                units[line["offer_sku"]] += int(line["quantity"])
    return units


# --- SQL checks ---------------------------------------------------------------------------------


def ps_orders_by_mirakl_id(conn: Connection, prefix: str = "ps_") -> Counter[str]:
    """How many PrestaShop orders carry each Mirakl order id (through their payment's transaction_id)."""
    rows = conn.execute(
        text(
            f"SELECT op.`transaction_id`, COUNT(DISTINCT o.`id_order`) FROM `{prefix}orders` o "
            f"JOIN `{prefix}order_payment` op ON op.`order_reference` = o.`reference` GROUP BY op.`transaction_id`"
        )
    )
    return Counter({str(tid): int(n) for tid, n in rows})


def map_rows(conn: Connection, prefix: str = "ps_") -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        text(
            f"SELECT `mirakl_order_id`, `status`, `id_order`, `reference`, `attempts`, `error_code`, `last_error` "
            f"FROM `{prefix}mirakl_bridge_order` WHERE `platform` = :p"
        ),
        {"p": CODE},
    ).mappings()
    return {r["mirakl_order_id"]: dict(r) for r in rows}


# (table, SQL counting its rows that belong to no order) -- run after an import
_ORPHANS: tuple[tuple[str, str], ...] = (
    (
        "cart",
        (
            "SELECT COUNT(*) FROM `{p}cart` c WHERE NOT EXISTS "
            "(SELECT 1 FROM `{p}orders` o WHERE o.`id_cart` = c.`id_cart`)"
        ),
    ),
    (
        "cart_product",
        (
            "SELECT COUNT(*) FROM `{p}cart_product` cp WHERE NOT EXISTS "
            "(SELECT 1 FROM `{p}orders` o WHERE o.`id_cart` = cp.`id_cart`)"
        ),
    ),
    (
        "customer",
        (
            "SELECT COUNT(*) FROM `{p}customer` c WHERE NOT EXISTS "
            "(SELECT 1 FROM `{p}orders` o WHERE o.`id_customer` = c.`id_customer`)"
        ),
    ),
    (
        "address",
        (
            "SELECT COUNT(*) FROM `{p}address` a WHERE a.`id_customer` > 0 AND NOT EXISTS "
            "(SELECT 1 FROM `{p}orders` o WHERE o.`id_address_delivery` = a.`id_address` "
            "OR o.`id_address_invoice` = a.`id_address`)"
        ),
    ),
    (
        "order_detail",
        (
            "SELECT COUNT(*) FROM `{p}order_detail` d WHERE NOT EXISTS "
            "(SELECT 1 FROM `{p}orders` o WHERE o.`id_order` = d.`id_order`)"
        ),
    ),
    (
        "order_history",
        (
            "SELECT COUNT(*) FROM `{p}order_history` h WHERE NOT EXISTS "
            "(SELECT 1 FROM `{p}orders` o WHERE o.`id_order` = h.`id_order`)"
        ),
    ),
    (
        "order_carrier",
        (
            "SELECT COUNT(*) FROM `{p}order_carrier` c WHERE NOT EXISTS "
            "(SELECT 1 FROM `{p}orders` o WHERE o.`id_order` = c.`id_order`)"
        ),
    ),
    (
        "order_payment",
        (
            "SELECT COUNT(*) FROM `{p}order_payment` op WHERE NOT EXISTS "
            "(SELECT 1 FROM `{p}orders` o WHERE o.`reference` = op.`order_reference`)"
        ),
    ),
    (
        "message",
        (
            "SELECT COUNT(*) FROM `{p}message` m WHERE m.`id_order` > 0 AND NOT EXISTS "
            "(SELECT 1 FROM `{p}orders` o WHERE o.`id_order` = m.`id_order`)"
        ),
    ),
    (
        "bridge customer map",
        (
            "SELECT COUNT(*) FROM `{p}mirakl_bridge_customer` bc WHERE NOT EXISTS "
            "(SELECT 1 FROM `{p}customer` c WHERE c.`id_customer` = bc.`id_customer`)"
        ),
    ),
    ("map row importing", ("SELECT COUNT(*) FROM `{p}mirakl_bridge_order` WHERE `status` = 'importing'")),
    (
        "map row imported without order",
        (
            "SELECT COUNT(*) FROM `{p}mirakl_bridge_order` b WHERE "
            "b.`status` = 'imported' AND NOT EXISTS "
            "(SELECT 1 FROM `{p}orders` o WHERE o.`id_order` = b.`id_order`)"
        ),
    ),
)


def orphan_counts(conn: Connection, prefix: str = "ps_") -> dict[str, int]:
    """Rows of each table that belong to no order (the test shop seeds none of these)."""
    return {name: int(conn.execute(text(sql.format(p=prefix))).scalar() or 0) for name, sql in _ORPHANS}


def stock_by_sku(engine: Engine, ids: Any, skus: Iterable[str]) -> dict[str, int]:
    """``stock_available.quantity`` of the row each SKU (reference) sells from."""
    out: dict[str, int] = {}
    with engine.connect() as conn:
        for sku in skus:
            id_product, id_pa = sku_ref(ids, sku)
            out[sku] = int(
                conn.execute(
                    text(
                        f"SELECT SUM(`quantity`) FROM `{ids.prefix}stock_available` WHERE `id_product` = :p "
                        f"AND `id_product_attribute` = :a AND `id_shop` IN (0, :s)"
                    ),
                    {"p": id_product, "a": id_pa, "s": ids.id_shop},
                ).scalar()
                or 0
            )
    return out


def sku_ref(ids: Any, sku: str) -> tuple[int, int]:
    for product in ids.products.values():
        if product.reference == sku and not product.combinations:
            return product.id_product, 0
        if sku in product.combinations:
            return product.id_product, product.combinations[sku].id_product_attribute
    raise KeyError(sku)


def set_stock(engine: Engine, ids: Any, quantities: Mapping[str, int]) -> None:
    from bridge.testshop.products import set_stock as _set

    with engine.begin() as conn:
        for sku, qty in quantities.items():
            id_product, id_pa = sku_ref(ids, sku)
            _set(conn, id_product, id_pa, qty, prefix=ids.prefix)


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))
