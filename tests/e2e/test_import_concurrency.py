"""Two processes import the same orders at the same moment: every order exactly once.

Both workers call the job function directly (``import_worker.py --direct``), bypassing the runner's
named locks, so that what keeps them apart is the database claim alone: the UNIQUE (platform, Mirakl
order id) key of the order map and the row lock taken in the order's transaction.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.sandbox.mirakl_sim import MiraklSimulator
from tests.e2e.import_support import (
    API_KEY,
    ENV,
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

pytestmark = [pytest.mark.db, pytest.mark.slow]

WORKER = Path(__file__).with_name("import_worker.py")
ROOT = Path(__file__).resolve().parents[2]
SAFETY_TIMEOUT_S = 300  # a hung worker fails the test instead of blocking the suite


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=API_KEY) as s:
        yield s


def start_worker(
    config_path: Path, *extra: str, env: dict[str, str] | None = None, stderr_path: Path | None = None
) -> subprocess.Popen[str]:
    full_env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT), **(env or {})}
    stderr = open(stderr_path, "w", encoding="utf-8") if stderr_path else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(config_path), *extra],
        cwd=ROOT,
        env=full_env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
    )


def last_json_line(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)  # type: ignore[no-any-return]
    raise AssertionError(f"no report in the worker's output: {stdout[-2000:]!r}")


@pytest.mark.parametrize("seed", [41, 42])
def test_two_processes_importing_the_same_orders_import_each_exactly_once(
    shop: Any, sim: MiraklSimulator, tmp_path: Path, seed: int
) -> None:
    set_stock(shop.engine, shop.ids, {sku: 1000 for sku in SKUS})
    before = stock_by_sku(shop.engine, shop.ids, SKUS)
    orders = recent_orders(40, seed=seed)
    sim.add_orders(orders)
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            config_dict(shop.url, sim.url, carrier_reference=shop.ids.carriers["colissimo"].id_reference)
        ),
        encoding="utf-8",
    )

    workers = [
        start_worker(config, "--direct", "--wait-go", stderr_path=tmp_path / f"w{i}.log") for i in (1, 2)
    ]
    for w in workers:
        assert w.stdout is not None and w.stdout.readline().strip() == "ready"
    for w in workers:  # both start together
        assert w.stdin is not None
        w.stdin.write("go\n")
        w.stdin.flush()
    results = [w.communicate(timeout=SAFETY_TIMEOUT_S) for w in workers]
    reports = [last_json_line(out) for out, _err in results]
    assert [w.returncode for w in workers] == [0, 0], [(tmp_path / f"w{i}.log").read_text() for i in (1, 2)]

    imported = [{i["order_id"] for i in r["items"].get("imported", [])} for r in reports]
    print(
        f"seed {seed}: worker 1 imported {len(imported[0])}, worker 2 imported {len(imported[1])}, "
        f"skipped {[r['counts'].get('skipped', 0) for r in reports]}, errors {[len(r['errors']) for r in reports]}"
    )
    assert imported[0].isdisjoint(imported[1])
    assert imported[0] | imported[1] == {o["order_id"] for o in orders}
    with shop.engine.connect() as conn:
        assert ps_orders_by_mirakl_id(conn) == {o["order_id"]: 1 for o in orders}
        assert {k: r["status"] for k, r in map_rows(conn).items()} == {
            o["order_id"]: "imported" for o in orders
        }
        assert orphan_counts(conn) == dict.fromkeys(orphan_counts(conn), 0)
    units = live_units(orders)
    assert stock_by_sku(shop.engine, shop.ids, SKUS) == {sku: before[sku] - units[sku] for sku in SKUS}
