"""``mirakl-bridge demo``: the whole cycle on an embedded shop, with no configuration.

Builds the project's PrestaShop test shop on SQLite (or on ``--database-url``), starts the Mirakl
simulator on a free loopback port with three sample orders (one that fits stock, one short of stock,
one with an unknown SKU), then runs offers -> accept -> import -> ship once, printing each JSON report
and a short human summary. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import inspect, select, update

from bridge.config import Config, config_from_dict
from bridge.jobs.progress import Progress
from bridge.jobs.report import TaskReport

DEMO_KEY = "demo-key-not-secret"
DEMO_CODE = "demo"
PREFIX = "ps_"


def run_demo(*, keep: str | None, database_url: str | None, json_only: bool, out: TextIO, err: TextIO) -> int:
    from bridge.logging import configure_logging

    configure_logging("console", "warning", stream=err)
    for noisy in ("apscheduler", "alembic", "bridge"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    workdir = Path(keep).resolve() if keep else Path(tempfile.mkdtemp(prefix="mirakl-bridge-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite:///{workdir / 'demo-shop.sqlite'}"
    say: Callable[[str], None] = (lambda _m: None) if json_only else (lambda m: print(m, file=err))
    try:
        reports, summary = _run(url, workdir, keep is not None, say, err)
    except DemoError as exc:
        print(f"demo: {exc}", file=err)
        return 2
    for report in reports:
        print(report.to_json(), file=out)
    if not json_only:
        print("\n" + "\n".join(summary), file=err)
    return 1 if any(r.status == "failed" for r in reports) else 0


class DemoError(Exception):
    pass


def _run(url: str, workdir: Path, keep: bool, say: Callable[[str], None], err: TextIO
         ) -> tuple[list[TaskReport], list[str]]:
    from bridge import migrate
    from bridge.jobs.runner import run_task
    from bridge.sandbox.mirakl_sim import MiraklSimulator
    from bridge.shop.db import make_engine
    from bridge.testshop.seed import build_test_shop
    from bridge.wiring import App

    engine = make_engine(url)
    if inspect(engine).has_table(f"{PREFIX}orders"):
        raise DemoError(f"{_safe(url)} already holds a PrestaShop schema; the demo needs an empty database")
    say(f"1/6 building the demo shop in {_safe(url)}")
    ids = build_test_shop(engine, prefix=PREFIX)
    migrate.upgrade(engine, PREFIX)
    engine.dispose()
    reports: list[TaskReport] = []
    with MiraklSimulator(api_key=DEMO_KEY) as sim:
        orders = _sample_orders(sim, ids)
        cfg = demo_config(url, sim.url)
        app = App(cfg)
        try:
            progress = Progress(err)
            for step, task in ((2, "offers"), (3, "accept")):
                say(f"{step}/6 {task}")
                reports.append(run_task(app, task, DEMO_CODE, force=True, progress=progress))
            sim.advance()  # the marketplace debits the customers of accepted orders: they reach SHIPPING
            say("4/6 import")
            reports.append(run_task(app, "import", DEMO_CODE, force=True, progress=progress))
            shipped = _ship_in_prestashop(app, ids, orders["fits"])
            say("5/6 the merchant ships an order in PrestaShop" + (f" (id_order {shipped})" if shipped else ""))
            say("6/6 ship")
            reports.append(run_task(app, "ship", DEMO_CODE, force=True, progress=progress))
        finally:
            app.close()
    if keep:
        _write_config(workdir, url)
    return reports, _summary(reports, orders, workdir if keep else None)


def demo_config(url: str, api_url: str) -> Config:
    raw: dict[str, Any] = {
        "shop": {"database_url": url, "table_prefix": PREFIX, "id_shop": 1},
        "logging": {"format": "console", "level": "warning"},
        "daemon": {"min_manual_interval_s": 0},
        "platforms": [{
            "code": DEMO_CODE, "label": "Demo marketplace", "api_url": api_url, "api_key_env": "DEMO_MIRAKL_KEY",
            "offers": {"leadtime_to_ship_days": 2, "import_wait_s": 10, "poll_interval_s": 0.05},
            "orders": {"carriers": {"STD": 1}, "default_carrier_reference": 1},
            "ship": {"carriers": {"1": "COLISSIMO"}},
        }],
    }
    return config_from_dict(raw, {"DEMO_MIRAKL_KEY": DEMO_KEY})


def _sample_orders(sim: Any, ids: Any) -> dict[str, str]:
    tshirt = ids.products["TSHIRT"].combinations["TSHIRT-M-RED"]
    mug = ids.products["MUG"]
    mug_stock = ids.initial_stock[(mug.id_product, 0)]
    fits = sim.add_order(skus=[tshirt.reference, "SOCKS"], quantities=[2, 1], countries=("FRA",))
    short = sim.add_order(skus=["MUG"], quantities=[mug_stock + 3], countries=("FRA",))
    unknown = sim.add_order(skus=["NO-SUCH-SKU"], quantities=[1], countries=("FRA",))
    return {"fits": fits["order_id"], "short": short["order_id"], "unknown": unknown["order_id"]}


def _ship_in_prestashop(app: Any, ids: Any, mirakl_order_id: str) -> int | None:
    """What the merchant does in the back office: state 'Shipped' and a tracking number."""
    from bridge.shop.order_state import change_state
    from bridge.state.tables import bridge_tables

    t = bridge_tables(app.prefix)
    with app.engine.begin() as conn:
        id_order = conn.execute(select(t.order.c.id_order).where(
            t.order.c.platform == DEMO_CODE, t.order.c.mirakl_order_id == mirakl_order_id)).scalar()
        if not id_order:
            return None
        change_state(conn, app.shop, int(id_order), ids.order_states["PS_OS_SHIPPING"], datetime.now(timezone.utc))
        oc = app.shop.tables["order_carrier"]
        conn.execute(update(oc).where(oc.c.id_order == id_order).values(tracking_number="6A12345678901"))
    return int(id_order)


def _summary(reports: list[TaskReport], orders: dict[str, str], kept: Path | None) -> list[str]:
    by_task = {r.task: r for r in reports}
    lines = ["Summary"]
    offers = by_task.get("offers")
    if offers:
        c = offers.counts
        lines.append(f"  offers  [{offers.status}] {c.get('sent', 0)} offers sent to Mirakl out of "
                     f"{c.get('catalogue', c.get('catalog', '?'))} catalogue lines; "
                     f"{c.get('excluded', 0)} excluded (inactive, not for sale, virtual, duplicate or empty SKU)")
    accept = by_task.get("accept")
    if accept:
        lines.append(f"  accept  [{accept.status}] accepted {accept.counts.get('accepted', 0)}, "
                     f"refused {accept.counts.get('refused', 0)}, left pending {accept.counts.get('left_pending', 0)}")
        for item in accept.items.get("left_pending", []):
            why = ", ".join(
                f"{ln['sku']}: {ln['reason']} (wanted {ln['wanted']}, available {ln['available']})"
                for ln in item.get("lines", []) if ln.get("decision") != "accept"
            )
            lines.append(f"          left pending: {item.get('order_id')}: {why}")
    imp = by_task.get("import")
    if imp:
        lines.append(f"  import  [{imp.status}] imported {imp.counts.get('imported', 0)}, "
                     f"held {imp.counts.get('held', 0)}")
        for item in imp.items.get("held", []):
            lines.append(f"          held: {item.get('order_id')}: {item.get('code')} {item.get('message', '')}")
        for item in imp.items.get("imported", []):
            lines.append(f"          {item.get('order_id')} -> PrestaShop order {item.get('id_order')} "
                         f"reference {item.get('reference')}")
    ship = by_task.get("ship")
    if ship:
        lines.append(f"  ship    [{ship.status}] shipping confirmed on Mirakl {ship.counts.get('confirmed', 0)}, "
                     f"waiting for tracking {ship.counts.get('waiting_for_tracking', 0)}")
    lines.append(f"  sample orders: fits stock {orders['fits']}, short of stock {orders['short']}, "
                 f"unknown SKU {orders['unknown']}")
    if kept:
        lines.append(f"  kept: {kept} (config.toml + demo database); try: mirakl-bridge --config "
                     f"{kept / 'config.toml'} tasks")
    return lines


def _write_config(workdir: Path, url: str) -> None:
    text = f"""# Written by `mirakl-bridge demo --keep`. The simulator of the demo has stopped: start one with
#   mirakl-bridge sandbox mirakl --port 8099 --api-key {DEMO_KEY}
# and export DEMO_MIRAKL_KEY={DEMO_KEY} before running tasks against it.
[shop]
database_url = {json.dumps(url)}
table_prefix = "{PREFIX}"
id_shop = 1

[logging]
format = "console"
level = "info"

[[platforms]]
code = "{DEMO_CODE}"
label = "Demo marketplace"
api_url = "http://127.0.0.1:8099"
api_key_env = "DEMO_MIRAKL_KEY"

[platforms.orders.carriers]
STD = 1

[platforms.ship.carriers]
1 = "COLISSIMO"
"""
    path = workdir / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


def _safe(url: str) -> str:
    from bridge.config import redacted_url

    return redacted_url(url)
