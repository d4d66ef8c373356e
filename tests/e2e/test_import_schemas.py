"""Task ``import`` against every real PrestaShop schema dump (``BRIDGE_PS_SCHEMAS``: 1.6.1.24 -> 9.0.0).

Each dump is loaded into a fresh database and seeded with the minimal rows of :mod:`tests.ps_seed`;
orders come from the simulator through ``run_task``. The imported orders must satisfy the SQL
invariants (:mod:`tests.invariants`), a second run imports nothing twice, and nothing is left orphaned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bridge.jobs.runner import run_task
from bridge.sandbox.mirakl_sim import MiraklSimulator
from bridge.shop.db import make_engine
from bridge.state.tables import bridge_tables
from bridge.wiring import App
from tests import invariants as inv
from tests.e2e.import_support import (
    API_KEY,
    CODE,
    make_config,
    map_rows,
    one_order,
    orphan_counts,
    ps_orders_by_mirakl_id,
)
from tests.integration.test_schema_conformance import DUMPS, NO_DUMPS, SCHEMAS_DIR, VERSIONS, load_dump
from tests.ps_seed import SeededShop, seed_for_orders

pytestmark = [pytest.mark.db, pytest.mark.schemas]
PREFIX = "ps_"


def _dumps() -> list[Any]:
    if SCHEMAS_DIR and not DUMPS:
        return [pytest.param(Path(SCHEMAS_DIR) / "*.sql", id="no-sql-files")]  # fails: set but empty
    if not DUMPS:
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_DUMPS), id="no-dumps")]
    return [pytest.param(path, id=path.stem) for path in DUMPS]


@pytest.fixture(params=_dumps())
def real_shop(
    request: pytest.FixtureRequest, make_db: Callable[[str], str]
) -> Iterator[tuple[str, SeededShop]]:
    dump: Path = request.param
    url = make_db("import")
    load_dump(url, dump)
    seeding = create_engine(url)  # PrestaShop's sql_mode='' session, for the seed rows only
    try:
        with seeding.begin() as conn:
            seeded = seed_for_orders(conn, PREFIX, VERSIONS.get(dump.stem, dump.stem))
    finally:
        seeding.dispose()
    engine = make_engine(url)
    try:
        bridge_tables(PREFIX).metadata.create_all(engine)
    finally:
        engine.dispose()
    yield url, seeded


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=API_KEY) as s:
        yield s


def _stock(engine: Any) -> dict[tuple[int, int], int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(f"SELECT id_product, id_product_attribute, quantity FROM {PREFIX}stock_available")
        )
        return {(int(p), int(a)): int(q) for p, a, q in rows}


def test_imported_orders_satisfy_the_invariants_on_every_real_schema(
    real_shop: tuple[str, SeededShop], sim: MiraklSimulator, schemas_checked: list[str]
) -> None:
    url, seeded = real_shop
    prices = {"TEE-M": Decimal("26.40"), "CUP": Decimal("9.90")}
    orders = [
        one_order(["TEE-M", "CUP"], [1, 2], seed=51, prices=prices, countries=("FRA",)),
        one_order(["CUP"], [1], seed=52, prices=prices, countries=("FRA",), currency="USD"),
        one_order(
            ["TEE-M", "TEE-M"], [1, 1], seed=53, prices={"TEE-M": Decimal("26.40")}, countries=("FRA",)
        ),
    ]
    sim.add_orders(orders)
    app = App(make_config(url, sim.url, carrier_reference=seeded.id_carrier_reference))
    try:
        before = _stock(app.engine)
        first = run_task(app, "import", CODE, force=True)
        second = run_task(app, "import", CODE, force=True)
        after = _stock(app.engine)
        with app.engine.connect() as conn:
            per_id = ps_orders_by_mirakl_id(conn)
            rows = map_rows(conn)
            problems = {oid: inv.order_invariants(conn, PREFIX, r["id_order"]) for oid, r in rows.items()}
            orphans = orphan_counts(conn)
    finally:
        app.close()
    ids = {o["order_id"] for o in orders}
    assert first.status == "ok", first.to_json()
    assert {i["order_id"] for i in first.items["imported"]} == ids
    assert second.counts.get("imported", 0) == 0 and second.counts.get("skipped") == len(orders)
    assert per_id == dict.fromkeys(ids, 1)
    assert problems == {oid: [] for oid in ids}
    assert orphans == dict.fromkeys(orphans, 0)
    units: dict[tuple[int, int], int] = {}
    for o in orders:
        for line in o["order_lines"]:
            key = (seeded.tee, seeded.tee_m) if line["offer_sku"] == "TEE-M" else (seeded.cup, 0)
            units[key] = units.get(key, 0) + int(line["quantity"])
    assert (
        after[(seeded.tee, seeded.tee_m)]
        == before[(seeded.tee, seeded.tee_m)] - units[(seeded.tee, seeded.tee_m)]
    )
    assert after[(seeded.cup, 0)] == before[(seeded.cup, 0)] - units[(seeded.cup, 0)]
    schemas_checked.append(f"{seeded.version} (import)")
