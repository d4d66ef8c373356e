"""The bridge works with exactly the GRANTs documented in docs/security.md, and no more.

The ``limited_user`` fixture creates a MariaDB user and runs the GRANT statements parsed from the
document on the fresh test database; this test then creates the bridge tables and runs every task
as that user. If a task needs a privilege the document does not list, an order is held or a run
fails here, and the document has to be fixed.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from bridge.config import config_from_dict
from bridge.migrate import current_revision, head_revision, upgrade
from bridge.mirakl.client import MiraklClient
from bridge.sandbox.mirakl_sim import MiraklSimulator
from bridge.shop.db import make_engine
from bridge.wiring import App
from tests.e2e.import_support import ENV
from tests.reliability.harness import (
    SCARCE_STOCK,
    Runs,
    audit,
    prepare,
    raw_config,
    short_sleep,
    waiting_orders,
)

pytestmark = pytest.mark.db


def _drop_bridge_tables(shop: Any) -> None:
    with shop.engine.begin() as conn:
        names = [r[0] for r in conn.execute(text("SHOW TABLES LIKE :p"), {"p": f"{shop.prefix}mirakl_bridge%"})]
        for name in names:
            conn.execute(text(f"DROP TABLE `{name}`"))


def test_migrate_and_every_task_run_as_a_user_with_only_the_documented_grants(
        shop: Any, sim: MiraklSimulator, limited_user: Any) -> None:
    _drop_bridge_tables(shop)  # migrate creates them as the limited user (CREATE, INDEX)
    engine = make_engine(limited_user.url)
    try:
        upgrade(engine, shop.prefix)
        assert current_revision(engine, shop.prefix) == head_revision()
    finally:
        engine.dispose()
    initial = prepare(shop, sim, waiting_orders(8, seed=900), SCARCE_STOCK)
    raw = raw_config(shop, sim.url, platform={"offers": {"import_wait_s": 5, "poll_interval_s": 0.01},
                                              "ship": {"sync_cancellations": True}})
    raw["shop"]["database_url"] = limited_user.url
    app = App(config_from_dict(raw, ENV), mirakl_factory=lambda p: MiraklClient(p, sleep=short_sleep))
    runs = Runs()
    try:
        for task in ("offers", "accept"):
            report = runs.run(app, task)
            assert report.status == "ok", report.to_json()
        sim.advance()
        report = runs.run(app, "import")
        assert report.status == "ok" and report.counts.get("imported"), report.to_json()
        cancelled = report.items["imported"][0]["order_id"]
        sim.cancel_line(cancelled, sim.orders[cancelled]["order_lines"][0]["order_line_id"])
        report = runs.run(app, "ship")
        assert report.status in ("ok", "partial") and not report.errors, report.to_json()
    finally:
        app.close()
    tally = audit(shop, sim, scenario="Least-privilege DB user", runs=runs, initial=initial, record=False)
    # a cancelled line gives its stock back in PrestaShop: only the duplicate/lost/partial checks apply
    assert (tally.duplicates, tally.lost, tally.partial, tally.oversold) == (0, 0, 0, 0), tally.summary()


def test_the_documented_user_cannot_drop_or_empty_a_prestashop_table(shop: Any, limited_user: Any) -> None:
    engine = make_engine(limited_user.url)
    try:
        for stmt in (f"DROP TABLE `{shop.prefix}orders`", f"TRUNCATE TABLE `{shop.prefix}customer`",
                     f"DELETE FROM `{shop.prefix}orders`", f"ALTER TABLE `{shop.prefix}product` ADD `x` INT",
                     f"CREATE TABLE `{shop.prefix}other` (`id` INT)"):
            with pytest.raises((OperationalError, ProgrammingError)) as denied, engine.begin() as conn:
                conn.execute(text(stmt))
            assert denied.value.orig.args[0] in (1142, 1044), (stmt, denied.value)
    finally:
        engine.dispose()
    assert all(" DROP" not in g and "ALL PRIVILEGES" not in g for g in limited_user.grants)
