"""The bridge's clock jumps backwards and forwards by hours between runs (NTP step, VM resume, a wrong
time zone fixed by hand) while orders keep arriving on Mirakl, whose own clock is right.

The import window is anchored on Mirakl's ``last_updated_date`` (cursor - overlap) and on the bridge's
clock only for the first run and the daily catch-up, so no jump may make it miss or repeat an order.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
    waiting_orders,
)

pytestmark = pytest.mark.db

# bridge clock offsets of the successive rounds, in hours
JUMPS = {
    "backwards then forwards": [0, -3, -3, +5, -26, +30, 0],
    "forwards past the catch-up then back": [+30, +30, -2, -50, 0, +1],
    "random": None,
}


class JumpingClock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.mark.parametrize("name", list(JUMPS))
def test_every_order_is_accepted_and_imported_once_whatever_the_bridge_clock_does(
        shop: Any, sim: MiraklSimulator, name: str) -> None:
    rng = rng_for(len(name), "clock")
    offsets = JUMPS[name] or [rng.choice([-48, -25, -7, -1, 0, 1, 6, 25, 49]) for _ in range(7)]
    orders = waiting_orders(4 * len(offsets), seed=600 + len(name))
    clock = JumpingClock()
    initial = prepare(shop, sim, [], SCARCE_STOCK)
    app, runs = make_app(shop, sim, clock=clock), Runs()
    try:
        for i, hours in enumerate(offsets):
            sim.add_orders(orders[4 * i: 4 * i + 4])  # new orders between the runs
            clock.offset = timedelta(hours=hours)
            runs.run(app, "accept")
            sim.advance()
            runs.run(app, "import")
        clock.offset = timedelta(0)
        settle(app, sim, runs)
    finally:
        app.close()
    tally = audit(shop, sim, scenario="Clock jumps", runs=runs, initial=initial,
                  extra={"offsets_h": offsets})
    assert_clean(tally)
