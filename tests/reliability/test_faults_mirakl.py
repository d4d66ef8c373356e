"""Mirakl misbehaves while accept and import run: 429 storms, 5xx, timeouts, truncated or non-JSON
bodies, a paginator that repeats its first page, OR21 applied but answered 500.

Every scenario attacks accept (on OR11 and on OR21) and then import (on OR11), lets the bridge
settle with clean runs, and audits the end state (``harness.audit``): no duplicate, no lost order,
no partial order, nothing accepted beyond stock, stock = initial - imported units.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bridge.sandbox.mirakl_sim import MiraklSimulator
from tests.reliability.harness import (
    SCARCE_STOCK,
    Runs,
    assert_clean,
    audit,
    make_app,
    prepare,
    rng_for,
    settle,
    shipping_orders,
    waiting_orders,
)

pytestmark = pytest.mark.db

READ_TIMEOUT_S = 0.4
SLOW_S = 1.0  # > READ_TIMEOUT_S: the client gives up, the simulator still applies the request
Inject = Callable[[MiraklSimulator, str], None]

FAULTS: dict[str, Inject] = {
    "429 storm": lambda sim, ep: sim.fail_next(9, status=429, retry_after=0, endpoint=ep),
    "5xx": lambda sim, ep: (sim.fail_next(2, status=500, endpoint=ep), sim.fail_next(2, status=502, endpoint=ep),
                            sim.fail_next(2, status=503, endpoint=ep), sim.fail_next(1, status=504, endpoint=ep)),
    "timeouts": lambda sim, ep: sim.slow_next(2, delay_s=SLOW_S, endpoint=ep),
    "truncated JSON": lambda sim, ep: sim.truncate_next(5, endpoint=ep),
    "non-JSON body": lambda sim, ep: sim.malformed_next(5, endpoint=ep),
    "OR21 applied, answered 500": lambda sim, ep: sim.fail_after_apply_next(3, endpoint="OR21"),
}


def _app(shop: Any, sim: MiraklSimulator) -> Any:
    return make_app(shop, sim, platform={"read_timeout_s": READ_TIMEOUT_S})


@pytest.mark.parametrize("fault", list(FAULTS))
def test_no_order_is_duplicated_lost_or_half_written_when_mirakl_misbehaves(
        shop: Any, sim: MiraklSimulator, fault: str) -> None:
    initial = prepare(shop, sim, waiting_orders(12, seed=len(fault)), SCARCE_STOCK)
    app, runs = _app(shop, sim), Runs()
    try:
        for endpoint in ("OR11", "OR21"):
            FAULTS[fault](sim, endpoint)
            runs.run(app, "accept")
            runs.run(app, "accept")
        sim.advance()
        FAULTS[fault](sim, "OR11")
        runs.run(app, "import")
        runs.run(app, "import")
        settle(app, sim, runs)
    finally:
        app.close()
    tally = audit(shop, sim, scenario=f"Mirakl: {fault}", runs=runs, initial=initial)
    assert_clean(tally)
    assert tally.extra["accepted_by_bridge"] > 0


def test_a_paginator_that_repeats_its_first_page_loses_and_duplicates_nothing(
        shop: Any, sim: MiraklSimulator) -> None:
    # more than one page (100 orders) in each state, so that the repeated page matters; the stock is
    # scarce, so most waiting orders are left pending and the run stays short
    waiting = waiting_orders(101, seed=7)
    shipping = shipping_orders(101, seed=8)
    initial = prepare(shop, sim, [*waiting, *shipping], SCARCE_STOCK)
    app, runs = _app(shop, sim), Runs()
    try:
        sim.repeat_page(True)
        first_accept = runs.run(app, "accept")
        first_import = runs.run(app, "import")
        settle(app, sim, runs)
    finally:
        app.close()
    assert first_accept.status == "failed" and "pagination loop" in (first_accept.reason or "")
    assert first_import.status == "failed" and "pagination loop" in (first_import.reason or "")
    tally = audit(shop, sim, scenario="Mirakl: page repeated", runs=runs, initial=initial)
    assert_clean(tally)
    assert tally.extra["imported"] == len(shipping) + tally.extra["accepted_by_bridge"]


CHAOS_SEEDS = range(6)


def _random_fault(sim: MiraklSimulator, rng: Any) -> str:
    kind = rng.choice(list(FAULTS))
    endpoint = "OR21" if kind.startswith("OR21") else rng.choice(["OR11", "OR21", "OR11"])
    FAULTS[kind](sim, endpoint)
    return f"{kind}@{endpoint}"


@pytest.mark.parametrize("seed", CHAOS_SEEDS)
def test_random_mixes_of_mirakl_faults_over_several_runs_leave_a_consistent_shop(
        shop: Any, sim: MiraklSimulator, seed: int) -> None:
    rng = rng_for(seed, "chaos")
    orders = waiting_orders(12, seed=100 + seed)
    initial = prepare(shop, sim, orders[:8], SCARCE_STOCK)
    app, runs = _app(shop, sim), Runs()
    injected: list[str] = []
    try:
        for round_no in range(4):
            if round_no == 2:
                sim.add_orders(orders[8:])  # new orders arrive in the middle of the storm
            for _ in range(rng.randint(1, 3)):
                injected.append(_random_fault(sim, rng))
            runs.run(app, "accept")
            if rng.random() < 0.6:
                sim.advance()
            runs.run(app, "import")
        settle(app, sim, runs)
    finally:
        app.close()
    tally = audit(shop, sim, scenario="Mirakl: random fault mix", runs=runs, initial=initial,
                  extra={"seed": seed, "faults": injected})
    assert_clean(tally)
