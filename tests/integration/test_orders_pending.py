"""``orders pending``: the next run's decisions with their figures, read-only."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from accept_support import CODE, SIM_KEY, answers, make_config, map_row, put_stock

from bridge.jobs.runner import run_task
from bridge.sandbox import MiraklSimulator
from bridge.support.pending import cmd_orders_pending, human_duration, pending_orders
from bridge.wiring import App

pytestmark = pytest.mark.db

NOW = datetime(2026, 1, 10, 12, 30, tzinfo=UTC)


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=SIM_KEY, debit_after_polls=1000) as s:
        yield s


def test_pending_shows_per_line_figures_the_next_decision_and_the_wait_without_writing(shop, sim) -> None:
    mug = shop.ids.product("MUG").id_product
    put_stock(shop.engine, shop.prefix, (mug, 0), 3)
    old = sim.add_order(skus=["MUG"], quantities=[2], created_date="2026-01-10T10:00:00Z")
    new = sim.add_order(skus=["MUG", "NO-SUCH"], quantities=[2, 1], created_date="2026-01-10T12:00:00Z")
    app = App(make_config(shop.url, shop.prefix, sim.url))
    try:
        got = pending_orders(app, CODE, NOW)
    finally:
        app.close()
    assert [(o["order_id"], o["next_run"], o["reasons"], o["waited_s"], o["waited"]) for o in got] == [
        (old["order_id"], "accept", [], 9000, "2 h 30 min"),
        (new["order_id"], "leave", ["stock_shortage", "unknown_sku"], 1800, "30 min"),
    ]
    # by hand: 3 MUG; the older order takes 2, so the newer one sees 2 reserved and 1 available
    assert [
        (ln["sku"], ln["wanted"], ln["stock"], ln["reserved"], ln["available"], ln["decision"], ln["reason"])
        for ln in got[1]["lines"]
    ] == [
        ("MUG", 2, 3, 2, 1, "leave", "stock_shortage"),
        ("NO-SUCH", 1, 0, 0, 0, "leave", "unknown_sku"),
    ]
    assert answers(sim, old["order_id"]) == [] and sim.requests_to("OR21") == []
    assert map_row(shop.engine, shop.prefix, old["order_id"]) is None


def test_pending_matches_what_the_run_then_does(shop, sim) -> None:
    put_stock(shop.engine, shop.prefix, (shop.ids.product("BOOK").id_product, 0), 2)
    a = sim.add_order(skus=["BOOK"], quantities=[2], created_date="2026-01-10T09:00:00Z")
    b = sim.add_order(skus=["BOOK"], quantities=[1], created_date="2026-01-10T09:30:00Z")
    app = App(make_config(shop.url, shop.prefix, sim.url, on_shortage="refuse"))
    try:
        predicted = {o["order_id"]: o["next_run"] for o in pending_orders(app, CODE, NOW)}
        report = run_task(app, "accept", CODE, force=True)
    finally:
        app.close()
    assert predicted == {a["order_id"]: "accept", b["order_id"]: "refuse"}
    assert [i["order_id"] for i in report.items["accepted"]] == [a["order_id"]]
    assert [i["order_id"] for i in report.items["refused"]] == [b["order_id"]]


def test_the_command_prints_a_table_or_json(shop, sim) -> None:
    o = sim.add_order(skus=["SOCKS"], quantities=[4])
    app = App(make_config(shop.url, shop.prefix, sim.url, stock_buffer=1))
    try:
        text_out, json_out = io.StringIO(), io.StringIO()
        assert cmd_orders_pending(app, CODE, False, text_out) == 0
        assert cmd_orders_pending(app, CODE, True, json_out) == 0
    finally:
        app.close()
    text = text_out.getvalue()
    assert "1 order(s) waiting for acceptance" in text and "stock buffer=1" in text
    assert f"{o['order_id']}  created" in text and "-> next run: accept (in_stock)" in text
    assert "line" in text and "available" in text
    assert any(
        ln.split()[1:] == ["SOCKS", "4", "40", "0", "39", "accept", "in_stock"] for ln in text.splitlines()
    )
    data = json.loads(json_out.getvalue())
    assert data["policy"] == {
        "on_shortage": "leave",
        "partial": False,
        "on_unknown_sku": "leave",
        "stock_buffer": 1,
    }
    assert data["orders"][0]["lines"][0]["available"] == 39


def test_an_order_being_answered_is_listed_as_such(shop, sim) -> None:
    o = sim.add_order(skus=["MUG"], quantities=[1])
    from bridge.state import orders as omap
    from bridge.state.tables import bridge_tables

    with shop.engine.begin() as conn:
        omap.insert_order(
            conn, bridge_tables(shop.prefix), CODE, o["order_id"], status=omap.ACCEPTING, now=NOW
        )
    app = App(make_config(shop.url, shop.prefix, sim.url))
    try:
        [got] = pending_orders(app, CODE, NOW)
    finally:
        app.close()
    assert (got["order_id"], got["next_run"], got["bridge_status"]) == (
        o["order_id"],
        "reconcile",
        "accepting",
    )


@pytest.mark.parametrize(("seconds", "text"), [(59, "0 min"), (3660, "1 h 01 min"), (90000, "1 d 1 h")])
def test_waiting_times_read_like_a_person_would_say_them(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text
