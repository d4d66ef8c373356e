"""Crash tests: the import process is SIGKILLed during a 50-order import, then run again.

Each seed kills the worker twice, then lets a third run finish. The kills land either at a random
moment (after a random number of committed orders plus a random few milliseconds: anywhere in an
order's transaction, between orders, during an HTTP call) or at a test hook inside the transaction
(``BRIDGE_FAULT_POINT=import.after_write:N`` / ``import.before_commit:N``: the N-th order, after its
PrestaShop rows are written but before the commit). After every kill and at the end:

* every PrestaShop order belongs to exactly one Mirakl order, and at the end every Mirakl order
  has exactly one PrestaShop order;
* no orphan rows (cart, customer, address, detail, history, carrier, payment, message without their
  order; no order-map row left ``importing``);
* stock = initial - units of the imported orders.
"""

from __future__ import annotations

import json
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bridge.sandbox.mirakl_sim import MiraklSimulator
from tests.e2e.import_support import (
    API_KEY,
    SKUS,
    config_dict,
    live_units,
    map_rows,
    orphan_counts,
    ps_orders_by_mirakl_id,
    recent_orders,
    set_stock,
    stock_by_sku,
)
from tests.e2e.test_import_concurrency import SAFETY_TIMEOUT_S, last_json_line, start_worker
from tests.invariants import order_invariants

pytestmark = [pytest.mark.db, pytest.mark.slow]

N_ORDERS = 50
SEEDS = [101, 102, 103, 104, 105, 106]
POLL_S = 0.005


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=API_KEY) as s:
        yield s


def _imported_count(shop: Any) -> int:
    with shop.engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT COUNT(*) FROM ps_mirakl_bridge_order WHERE status = 'imported'")
            ).scalar()
            or 0
        )


def _kill_at_random_moment(shop: Any, config: Path, rng: random.Random, log: Path) -> str:
    """Start a worker, SIGKILL it once ``k`` more orders are committed plus a few ms; returns what happened."""
    start = _imported_count(shop)
    k = rng.randint(0, max(0, N_ORDERS - start - 1))
    extra_ms = rng.uniform(0, 40)
    worker = start_worker(config, stderr_path=log)
    deadline = time.monotonic() + SAFETY_TIMEOUT_S
    while worker.poll() is None and _imported_count(shop) < start + k and time.monotonic() < deadline:
        time.sleep(POLL_S)
    time.sleep(extra_ms / 1000)
    if worker.poll() is not None:
        worker.communicate()
        return f"finished before the kill (after {k} orders + {extra_ms:.0f} ms)"
    worker.send_signal(signal.SIGKILL)
    worker.communicate(timeout=SAFETY_TIMEOUT_S)
    return f"killed after {_imported_count(shop) - start} orders + {extra_ms:.0f} ms (aimed at {k})"


def _kill_at_fault_point(config: Path, rng: random.Random, log: Path) -> str:
    point = rng.choice(["import.after_write", "import.before_commit"])
    nth = rng.randint(1, 20)
    worker = start_worker(config, env={"BRIDGE_FAULT_POINT": f"{point}:{nth}"}, stderr_path=log)
    worker.communicate(timeout=SAFETY_TIMEOUT_S)
    outcome = "killed itself" if worker.returncode == -signal.SIGKILL else f"exited {worker.returncode}"
    return f"{outcome} at {point}:{nth}"


def _run_to_completion(config: Path, log: Path) -> dict[str, Any]:
    """Run until the report is not 'skipped' (the killed session's named lock may linger an instant)."""
    for _ in range(100):
        worker = start_worker(config, stderr_path=log)
        out, _err = worker.communicate(timeout=SAFETY_TIMEOUT_S)
        report = last_json_line(out)
        if report["status"] != "skipped":
            assert worker.returncode == 0, log.read_text()
            return report
        time.sleep(0.1)
    raise AssertionError("the import stayed locked after the crash")


def _check_consistent(shop: Any, orders: list[dict[str, Any]], before: dict[str, int]) -> set[str]:
    """Whole orders or nothing: returns the Mirakl ids imported so far."""
    with shop.engine.connect() as conn:
        per_id = ps_orders_by_mirakl_id(conn)
        rows = map_rows(conn)
        orphans = orphan_counts(conn)
    imported = {oid for oid, r in rows.items() if r["status"] == "imported"}
    assert set(per_id) == imported, "PrestaShop orders and order-map rows disagree"
    assert all(n == 1 for n in per_id.values()), {k: n for k, n in per_id.items() if n != 1}
    assert orphans == dict.fromkeys(orphans, 0), orphans
    units = live_units(o for o in orders if o["order_id"] in imported)
    assert stock_by_sku(shop.engine, shop.ids, SKUS) == {sku: before[sku] - units[sku] for sku in SKUS}
    return imported


@pytest.mark.parametrize("seed", SEEDS)
def test_an_import_killed_at_random_points_and_run_again_imports_every_order_exactly_once(
    shop: Any, sim: MiraklSimulator, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    set_stock(shop.engine, shop.ids, {sku: 1000 for sku in SKUS})
    before = stock_by_sku(shop.engine, shop.ids, SKUS)
    orders = recent_orders(N_ORDERS, seed=seed)
    sim.add_orders(orders)
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            config_dict(shop.url, sim.url, carrier_reference=shop.ids.carriers["colissimo"].id_reference)
        ),
        encoding="utf-8",
    )

    story = []
    for attempt in (1, 2):
        log = tmp_path / f"run{attempt}.log"
        if rng.random() < 0.5:
            story.append(_kill_at_random_moment(shop, config, rng, log))
        else:
            story.append(_kill_at_fault_point(config, rng, log))
        done = _check_consistent(shop, orders, before)
        story[-1] += f" -> {len(done)} imported"
    report = _run_to_completion(config, tmp_path / "final.log")
    print(
        f"seed {seed}: " + "; ".join(story) + f"; final run imported {report['counts'].get('imported', 0)}, "
        f"skipped {report['counts'].get('skipped', 0)}"
    )

    assert report["status"] == "ok", report
    done = _check_consistent(shop, orders, before)
    assert done == {o["order_id"] for o in orders}
    with shop.engine.connect() as conn:
        for row in map_rows(conn).values():
            assert order_invariants(conn, shop.prefix, row["id_order"]) == []
