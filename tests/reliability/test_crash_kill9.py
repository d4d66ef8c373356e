"""The bridge process is SIGKILLed at random points of accept and of import (20 seeds each).

Each seed kills a child process (``crash_worker.py``) once or twice at a point drawn from the seed:
one of the bridge's own fault points (``accept.after_or21``, ``import.after_write:N``,
``import.before_commit:N``) or "M statements after the N-th COMMIT" (anywhere in the run: inside an
order's transaction, between OR21 and its record, in the cursor update...). Then clean runs settle
the shop and the audit checks that nothing was duplicated, lost, half-written or oversold.
"""

from __future__ import annotations

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.sandbox.mirakl_sim import MiraklSimulator
from tests.e2e.import_support import ENV, ps_orders_by_mirakl_id
from tests.reliability.harness import (
    PLENTY_STOCK,
    SCARCE_STOCK,
    Runs,
    assert_clean,
    audit,
    make_app,
    prepare,
    raw_config,
    rng_for,
    settle,
    shipping_orders,
    waiting_orders,
)

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("crash_worker.py")
SEEDS = range(20)
ACCEPT_ORDERS, IMPORT_ORDERS = 12, 20
ACCEPT_BATCH_SIZES = (1, 5, 100)
KILLED = (-9, 137)  # SIGKILL, or os._exit(137) of the accept fault point
SAFETY_TIMEOUT_S = 120


def run_child(task: str, config: Path, kill: list[str], fault: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "BRIDGE_FAULT_POINT"}
    env.update(ENV, PYTHONPATH=str(ROOT))
    if fault:
        env["BRIDGE_FAULT_POINT"] = fault
    return subprocess.run([sys.executable, str(WORKER), task, str(config), *kill], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=SAFETY_TIMEOUT_S, check=False)


def kill_plan(task: str, rng: random.Random, todo: int, batch_size: int = 1) -> tuple[list[str], str | None, str]:
    """(worker arguments, BRIDGE_FAULT_POINT, label) of one kill; ``todo``: orders the run will handle.

    Import: every order commits at least once, so "M statements after the N-th commit" with
    N <= todo - 3, M <= 40 (less than the statements of three orders) is always reached. Accept: a
    run commits 3 times before its first batch and every batch of ``batch_size`` orders commits its
    decision transaction (at least 2 statements, and the run's 3 closing commits follow), so
    N <= 2 + number of batches, M <= 5 is always reached.
    """
    if task == "accept":
        if rng.random() < 0.25:
            return [], "accept.after_or21", "accept.after_or21"
        n, m = rng.randint(1, 2 + math.ceil(todo / batch_size)), rng.randint(0, 5)
    else:
        r = rng.random()
        if r < 0.4:
            point = rng.choice(["import.after_write", "import.before_commit"])
            k = rng.randint(1, todo)
            return [], f"{point}:{k}", f"{point}:{k}"
        n, m = rng.randint(1, max(1, todo - 3)), rng.randint(0, 40)
    return ["--kill-after-commit", str(n), "--then", str(m)], None, f"commit {n} + {m} statements"


def _todo(shop: Any, sim: MiraklSimulator, task: str) -> int:
    """Orders the next run has to handle: still waiting on Mirakl (accept), not yet in PrestaShop (import)."""
    orders = sim.orders
    if task == "accept":
        return sum(1 for o in orders.values() if o["order_state"] == "WAITING_ACCEPTANCE")
    with shop.engine.connect() as conn:
        done = set(ps_orders_by_mirakl_id(conn, shop.prefix))
    return sum(1 for oid in orders if oid not in done)


def _crash_then_settle(shop: Any, sim: MiraklSimulator, tmp_path: Path, task: str, seed: int,
                       initial: dict[str, int]) -> None:
    rng = rng_for(seed, f"kill9:{task}")
    # accept: batches of one order, of a few, or one batch for the whole run (the default size)
    batch_size = rng.choice(ACCEPT_BATCH_SIZES) if task == "accept" else 1
    config = tmp_path / "config.json"
    platform = {"acceptance": {"batch_size": batch_size}} if task == "accept" else None
    config.write_text(json.dumps(raw_config(shop, sim.url, platform=platform)), encoding="utf-8")
    runs, points = Runs(), []
    for _ in range(1 if rng.random() < 0.5 else 2):
        todo = _todo(shop, sim, task)
        if todo < (2 if task == "accept" else 5):
            break
        args, fault, label = kill_plan(task, rng, todo, batch_size)
        child = run_child(task, config, args, fault)
        assert child.returncode in KILLED, f"{label}: not killed (exit {child.returncode}): {child.stderr[-2000:]}"
        runs.note("killed")
        points.append(f"{label} (batch {batch_size})" if task == "accept" else label)
        if task == "import":
            sim.advance()
    app = make_app(shop, sim)
    try:
        settle(app, sim, runs, accept=task == "accept")
    finally:
        app.close()
    tally = audit(shop, sim, scenario=f"SIGKILL during {task}", runs=runs, initial=initial,
                  extra={"seed": seed, "kill_points": points})
    assert_clean(tally)


@pytest.mark.parametrize("seed", SEEDS)
def test_accept_killed_at_a_random_point_never_answers_twice_nor_beyond_stock_nor_loses_an_order(
        shop: Any, sim: MiraklSimulator, tmp_path: Path, seed: int) -> None:
    initial = prepare(shop, sim, waiting_orders(ACCEPT_ORDERS, seed=200 + seed), SCARCE_STOCK)
    _crash_then_settle(shop, sim, tmp_path, "accept", seed, initial)


@pytest.mark.parametrize("seed", SEEDS)
def test_import_killed_at_a_random_point_leaves_no_half_order_and_the_rerun_imports_each_once(
        shop: Any, sim: MiraklSimulator, tmp_path: Path, seed: int) -> None:
    initial = prepare(shop, sim, shipping_orders(IMPORT_ORDERS, seed=300 + seed), PLENTY_STOCK)
    _crash_then_settle(shop, sim, tmp_path, "import", seed, initial)
