"""The database connection is cut under a running task (``KILL CONNECTION`` from another session).

A test-side SQLAlchemy listener on the bridge's engine watches the statements the task sends; at the
chosen point (the N-th statement matching a pattern, or the N-th COMMIT) it kills, from a separate
root session, either the connection about to run that statement or the connection holding the
task's named locks. The task sees a real "Lost connection" / "server has gone away" error. Then
clean runs settle and the audit checks the shop.

Not exercised: a restart of the whole MariaDB server. The server on this machine is shared with the
other test suites running at the same time, so it is not restarted; killing every connection of
the bridge (the lock connection included) is what a restart does to the bridge's side.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from bridge.sandbox.mirakl_sim import MiraklSimulator
from bridge.shop.db import make_engine
from tests.e2e.import_support import set_stock, stock_by_sku
from tests.reliability.harness import (
    PLENTY_STOCK,
    SCARCE_STOCK,
    Runs,
    Tally,
    assert_clean,
    audit,
    make_app,
    prepare,
    record_tally,
    settle,
    shipping_orders,
    waiting_orders,
)

pytestmark = pytest.mark.db

COMMIT = "COMMIT"


class ConnectionKiller:
    """Kills a bridge connection from another session at the ``nth`` statement matching ``pattern``.

    ``target="current"``: the connection about to run that statement; ``"locks"``: the connections
    that took a named lock (GET_LOCK) in this run -- the lock is released, the task goes on.
    """

    def __init__(self, url: str, pattern: str, nth: int, *, target: str = "current") -> None:
        self.admin = make_engine(url)
        self.pattern = re.compile(pattern, re.IGNORECASE | re.DOTALL) if pattern != COMMIT else None
        self.nth, self.target = nth, target
        self.seen, self.fired = 0, False
        self.lock_ids: set[int] = set()
        self._guard = threading.Lock()

    def attach(self, engine: Engine) -> ConnectionKiller:
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        return self

    def close(self) -> None:
        self.admin.dispose()

    @staticmethod
    def _thread_id(conn: Any) -> int:
        return int(conn.connection.dbapi_connection.thread_id())

    def _statement(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "GET_LOCK" in statement:
            self.lock_ids.add(self._thread_id(conn))
        if self.pattern is not None and self.pattern.search(statement):
            self._hit(conn)

    def _commit(self, conn: Any) -> None:
        if self.pattern is None:
            self._hit(conn)

    def _hit(self, conn: Any) -> None:
        with self._guard:
            if self.fired:
                return
            self.seen += 1
            if self.seen < self.nth:
                return
            self.fired = True
        victims = sorted(self.lock_ids) if self.target == "locks" else [self._thread_id(conn)]
        with self.admin.connect() as admin:
            for victim in victims:
                admin.execute(text(f"KILL CONNECTION {int(victim)}"))


def _b(name: str) -> str:
    return _t(f"mirakl_bridge_{name}")


def _t(name: str) -> str:
    """A table name in a statement (SQLAlchemy quotes identifiers only when it must)."""
    return rf"`?ps_{name}\b`?"


# (label, pattern, nth match, target, acceptance.batch_size): 10 waiting orders, one batch of 10 or
# batches of 3 (decision transaction before the OR21 calls, confirmation transaction after them)
ACCEPT_POINTS = [
    ("lock taken", r"GET_LOCK", 1, "current", 100),
    ("run row", rf"INSERT INTO {_b('task_run')}", 1, "current", 100),
    ("order rows claimed", rf"INSERT INTO {_b('order')}", 1, "current", 100),
    ("reservation, the batch's lines", rf"INSERT INTO {_b('order_line')}", 1, "current", 100),
    ("reservation, 3rd batch", rf"INSERT INTO {_b('order_line')}", 3, "current", 3),
    ("2nd commit", COMMIT, 2, "current", 100),
    ("decision commit", COMMIT, 4, "current", 100),
    ("confirmation commit of the 1st batch", COMMIT, 5, "current", 3),
    ("confirmation after OR21", rf"UPDATE {_b('order_line')} SET `?phase", 1, "current", 100),
    ("confirmation after OR21, 2nd batch", rf"UPDATE {_b('order_line')} SET `?phase", 2, "current", 3),
    ("order status, 3rd update", rf"UPDATE {_b('order')} SET `?status", 3, "current", 3),
    ("lock connection, mid-run", COMMIT, 4, "locks", 100),
]
IMPORT_POINTS = [
    ("claim", rf"INSERT INTO {_b('order')}", 2, "current"),
    ("customer", rf"INSERT INTO {_t('customer')}", 3, "current"),
    ("order row", rf"INSERT INTO {_t('orders')}", 1, "current"),
    ("order row, 4th order", rf"INSERT INTO {_t('orders')}", 4, "current"),
    ("order details", rf"INSERT INTO {_t('order_detail')}", 2, "current"),
    ("stock update", rf"UPDATE {_t('stock_available')}", 3, "current"),
    ("history", rf"INSERT INTO {_t('order_history')}", 2, "current"),
    ("marked imported", rf"UPDATE {_b('order')} SET", 2, "current"),
    ("3rd order's commit", COMMIT, 5, "current"),
    ("cursor", rf"{_b('cursor')}", 1, "current"),
    ("lock connection, mid-run", COMMIT, 3, "locks"),
]


@pytest.mark.parametrize("point", ACCEPT_POINTS, ids=[p[0] for p in ACCEPT_POINTS])
def test_accept_with_its_connection_killed_answers_every_order_once_and_never_beyond_stock(
        shop: Any, sim: MiraklSimulator, point: tuple[str, str, int, str, int]) -> None:
    label, pattern, nth, target, batch_size = point
    initial = prepare(shop, sim, waiting_orders(10, seed=400 + nth), SCARCE_STOCK)
    app, runs = make_app(shop, sim, platform={"acceptance": {"batch_size": batch_size}}), Runs()
    killer = ConnectionKiller(shop.url, pattern, nth, target=target).attach(app.engine)
    try:
        runs.run(app, "accept")
        assert killer.fired, f"kill point {label!r} was never reached"
        event.remove(app.engine, "before_cursor_execute", killer._statement)
        event.remove(app.engine, "commit", killer._commit)
        settle(app, sim, runs)
    finally:
        app.close()
        killer.close()
    assert_clean(audit(shop, sim, scenario="DB connection killed: accept", runs=runs, initial=initial,
                       extra={"point": label}))


@pytest.mark.parametrize("point", IMPORT_POINTS, ids=[p[0] for p in IMPORT_POINTS])
def test_import_with_its_connection_killed_leaves_no_half_order_and_imports_each_once(
        shop: Any, sim: MiraklSimulator, point: tuple[str, str, int, str]) -> None:
    label, pattern, nth, target = point
    initial = prepare(shop, sim, shipping_orders(8, seed=500 + nth), PLENTY_STOCK)
    app, runs = make_app(shop, sim), Runs()
    killer = ConnectionKiller(shop.url, pattern, nth, target=target).attach(app.engine)
    try:
        runs.run(app, "import")
        assert killer.fired, f"kill point {label!r} was never reached"
        event.remove(app.engine, "before_cursor_execute", killer._statement)
        event.remove(app.engine, "commit", killer._commit)
        settle(app, sim, runs, accept=False)
    finally:
        app.close()
        killer.close()
    assert_clean(audit(shop, sim, scenario="DB connection killed: import", runs=runs, initial=initial,
                       extra={"point": label}))


OFFERS_POINTS = [
    ("catalogue read", rf"SELECT .*{_t('product_shop')}", 1, "current"),
    ("pending offer state", rf"{_b('offer')}", 2, "current"),
    ("import recorded", rf"{_b('offer_import')}", 1, "current"),
    ("accepted values stored", rf"UPDATE {_b('offer')}", 1, "current"),
    ("2nd commit", COMMIT, 2, "current"),
    ("lock connection", COMMIT, 2, "locks"),
]


@pytest.mark.parametrize("point", OFFERS_POINTS, ids=[p[0] for p in OFFERS_POINTS])
def test_offers_with_its_connection_killed_still_brings_mirakl_to_the_shop_stock(
        shop: Any, sim: MiraklSimulator, point: tuple[str, str, int, str]) -> None:
    label, pattern, nth, target = point
    offers = {"offers": {"import_wait_s": 5, "poll_interval_s": 0.01}}
    app, runs = make_app(shop, sim, platform=offers), Runs()
    killer = ConnectionKiller(shop.url, pattern, nth, target=target)
    try:
        runs.run(app, "offers")  # Mirakl has every offer
        set_stock(shop.engine, shop.ids, {"MUG": 3, "SOCKS": 0, "TSHIRT-S-BLUE": 2})  # then the shop moves
        killer.attach(app.engine)
        runs.run(app, "offers")
        assert killer.fired, f"kill point {label!r} was never reached"
        event.remove(app.engine, "before_cursor_execute", killer._statement)
        event.remove(app.engine, "commit", killer._commit)
        for _ in range(2):
            sim.advance()
            assert runs.run(app, "offers").status != "failed"
    finally:
        app.close()
        killer.close()
    stock = stock_by_sku(shop.engine, shop.ids, list(PLENTY_STOCK))
    wrong = {sku: (sim.offers.get(sku, {}).get("quantity"), qty) for sku, qty in stock.items()
             if sim.offers.get(sku, {}).get("quantity") != qty}
    tally = Tally(scenario="DB connection killed: offers", runs=runs.n, orders=0, stock_drift=len(wrong),
                  failed_runs=runs.failed, details=[f"Mirakl quantity {m} != shop stock {s} for {k}"
                                                   for k, (m, s) in wrong.items()], extra={"point": label})
    record_tally(tally)
    assert_clean(tally)
