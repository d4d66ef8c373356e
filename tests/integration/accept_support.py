"""Helpers for the accept-task tests: config for the test shop + simulator, map reads, stock writes."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select

from bridge.config import Config, config_from_dict
from bridge.state import orders as omap
from bridge.state.tables import bridge_tables
from bridge.testshop.products import set_stock

SIM_KEY = "sim-key-accept-0123"
CODE = "mkp"


def raw_config(db_url: str, prefix: str, platforms: dict[str, str], **acceptance: Any) -> dict[str, Any]:
    """``platforms``: code -> simulator URL. ``stock_buffer`` goes to offers, the rest to acceptance."""
    buffer = acceptance.pop("stock_buffer", 0)
    return {
        "shop": {"database_url": db_url, "table_prefix": prefix},
        "daemon": {"min_manual_interval_s": 0},
        "platforms": [
            {
                "code": code,
                "api_url": url,
                "api_key_env": "TEST_MIRAKL_KEY",
                "max_attempts": 3,
                "max_retry_s": 10,
                "read_timeout_s": 10,
                "offers": {"stock_buffer": buffer},
                "acceptance": dict(acceptance),
            }
            for code, url in platforms.items()
        ],
    }


def make_config(db_url: str, prefix: str, sim_url: str, **acceptance: Any) -> Config:
    return config_from_dict(
        raw_config(db_url, prefix, {CODE: sim_url}, **copy.deepcopy(acceptance)), {"TEST_MIRAKL_KEY": SIM_KEY}
    )


def map_row(engine: Any, prefix: str, order_id: str, platform: str = CODE) -> omap.OrderRow | None:
    with engine.connect() as conn:
        return omap.get_order(conn, bridge_tables(prefix), platform, order_id)


def line_rows(engine: Any, prefix: str, order_id: str, platform: str = CODE) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return omap.decisions_of(conn, bridge_tables(prefix), platform, order_id)


def reserved(engine: Any, prefix: str) -> dict[tuple[int, int], int]:
    with engine.connect() as conn:
        return omap.reserved_units(conn, bridge_tables(prefix))


def stock_of(engine: Any, prefix: str, key: tuple[int, int]) -> int:
    """quantity of the single-shop stock row (id_shop 1, group 0)."""
    from bridge.testshop.schema import cached_metadata

    sa = cached_metadata(prefix).tables[prefix + "stock_available"]
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(sa.c.quantity).where(
                    sa.c.id_product == key[0],
                    sa.c.id_product_attribute == key[1],
                    sa.c.id_shop == 1,
                    sa.c.id_shop_group == 0,
                )
            ).scalar_one()
        )


def put_stock(engine: Any, prefix: str, key: tuple[int, int], qty: int) -> None:
    with engine.begin() as conn:
        set_stock(conn, key[0], key[1], qty, prefix=prefix)


def answers(sim: Any, order_id: str) -> list[dict[str, bool]]:
    """Every OR21 the simulator applied for the order, as {line id: accepted}."""
    return [
        {ln["id"]: ln["accepted"] for ln in body["order_lines"]} for body in sim.decisions.get(order_id, [])
    ]
