"""Task ``import`` end to end: simulator (real HTTP) -> run_task -> PrestaShop test shop (real MariaDB).

Expected values are computed here from the generated order dicts, never by the code under test.
"""

from __future__ import annotations

import copy
import io
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bridge.cli import main as cli_main
from bridge.jobs.import_orders import CATCHUP_CURSOR, CURSOR
from bridge.jobs.report import TaskReport
from bridge.jobs.runner import run_task
from bridge.sandbox.mirakl_sim import MiraklSimulator
from bridge.support.orders import cmd_orders_retry, cmd_orders_show
from bridge.wiring import App
from tests.e2e.import_support import (
    API_KEY,
    CODE,
    SKUS,
    live_units,
    make_config,
    map_rows,
    one_order,
    orphan_counts,
    ps_orders_by_mirakl_id,
    recent_orders,
    set_stock,
    stock_by_sku,
)
from tests.invariants import order_invariants

pytestmark = pytest.mark.db


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=API_KEY) as s:
        yield s


def _app(shop: Any, sim: MiraklSimulator, **orders: Any) -> App:
    cfg = make_config(
        shop.url, sim.url, carrier_reference=shop.ids.carriers["colissimo"].id_reference, **orders
    )
    return App(cfg)


def _run(app: App, *, dry_run: bool = False) -> TaskReport:
    return run_task(app, "import", CODE, force=True, dry_run=dry_run)


def _plenty_of_stock(shop: Any) -> dict[str, int]:
    set_stock(shop.engine, shop.ids, {sku: 500 for sku in SKUS})
    return stock_by_sku(shop.engine, shop.ids, SKUS)


def _imported_ids(report: TaskReport) -> set[str]:
    return {i["order_id"] for i in report.items.get("imported", [])}


def _add(sim: MiraklSimulator, skus: list[str], quantities: list[int], *, seed: int) -> dict[str, Any]:
    order = one_order(skus, quantities, seed=seed, prices={sku: Decimal("12.50") for sku in skus})
    sim.add_orders([order])
    return order


# --- the happy path -------------------------------------------------------------------------------


def test_shipping_orders_become_prestashop_orders_that_satisfy_the_invariants(
    shop: Any, sim: MiraklSimulator
) -> None:
    before = _plenty_of_stock(shop)
    orders = recent_orders(12, seed=11, currencies=("EUR", "EUR", "USD", "GBP"))
    sim.add_orders(orders)
    app = _app(shop, sim)
    try:
        report = _run(app)
    finally:
        app.close()
    assert report.status == "ok", report.to_json()
    assert _imported_ids(report) == {o["order_id"] for o in orders}
    with shop.engine.connect() as conn:
        assert ps_orders_by_mirakl_id(conn) == {o["order_id"]: 1 for o in orders}
        rows = map_rows(conn)
        for o in orders:
            row = rows[o["order_id"]]
            assert row["status"] == "imported" and row["id_order"] and row["reference"]
            assert order_invariants(conn, shop.prefix, row["id_order"]) == []
        assert all(n == 0 for n in orphan_counts(conn).values()), orphan_counts(conn)
    units = live_units(orders)
    assert stock_by_sku(shop.engine, shop.ids, SKUS) == {sku: before[sku] - units[sku] for sku in SKUS}


def _hostile_order(seed: int) -> dict[str, Any]:
    """One MUG line twice (two lines of one product), 0 € shipping, GBP, hostile names, no phone/company."""
    order = recent_orders(1, seed=seed, skus=["MUG"], lines=(1, 1), currencies=("GBP",))[0]
    first = order["order_lines"][0]
    first["shipping_price"], first["shipping_taxes"] = Decimal(0), []
    first["total_price"] = first["price"]
    second = {**copy.deepcopy(first), "order_line_id": f"{order['order_id']}-2", "order_line_index": 2}
    order["order_lines"] = [first, second]
    order["price"] = first["price"] + second["price"]
    order["shipping_price"], order["total_price"] = Decimal(0), order["price"]
    names = {"firstname": "Zoë 🌸", "lastname": "O'Brien \\ Nguyễn"}
    order["customer"].update(customer_id="CUST-HOSTILE", **names)
    for kind in ("billing_address", "shipping_address"):
        order["customer"][kind].update(
            company=None,
            phone=None,
            phone_secondary=None,
            country="France",
            country_iso_code="FRA",
            zip_code="42000",
            city="Saint-Étienne",
            street_1="12 chemin du Moulin à Vent, résidence " + "Les Jardins de l'Observatoire " * 6,
            **names,
        )
    return order


def test_hostile_names_two_lines_of_one_product_free_shipping_and_a_foreign_currency_import_intact(
    shop: Any, sim: MiraklSimulator
) -> None:
    _plenty_of_stock(shop)
    order = _hostile_order(seed=21)
    sim.add_orders([order])
    app = _app(shop, sim)
    try:
        report = _run(app)
    finally:
        app.close()
    assert _imported_ids(report) == {order["order_id"]}, report.to_json()
    with shop.engine.connect() as conn:
        row = map_rows(conn)[order["order_id"]]
        assert order_invariants(conn, shop.prefix, row["id_order"]) == []
        o = (
            conn.execute(
                text(
                    "SELECT c.firstname, c.lastname, cu.iso_code, a.address1, a.phone, a.company, o.total_shipping, "
                    "o.total_paid_tax_incl FROM ps_orders o JOIN ps_customer c ON c.id_customer = o.id_customer "
                    "JOIN ps_currency cu ON cu.id_currency = o.id_currency "
                    "JOIN ps_address a ON a.id_address = o.id_address_delivery WHERE o.id_order = :i"
                ),
                {"i": row["id_order"]},
            )
            .mappings()
            .one()
        )
        units = conn.execute(
            text("SELECT SUM(product_quantity) FROM ps_order_detail WHERE id_order = :i"),
            {"i": row["id_order"]},
        ).scalar()
    assert o["iso_code"] == "GBP"
    assert o["firstname"] == "Zoë 🌸"
    assert o["lastname"] in ("O'Brien \\ Nguyễn", "O'Brien Nguyễn")  # PrestaShop's name rule may drop the \\
    assert o["address1"].startswith("12 chemin du Moulin à Vent") and len(o["address1"]) <= 128
    assert not o["company"]
    assert Decimal(o["total_shipping"]) == 0
    assert Decimal(o["total_paid_tax_incl"]).quantize(Decimal("0.01")) == order["total_price"]
    assert int(units) == 2 * int(order["order_lines"][0]["quantity"])


# --- idempotence ----------------------------------------------------------------------------------


def test_running_twice_imports_nothing_twice(shop: Any, sim: MiraklSimulator) -> None:
    _plenty_of_stock(shop)
    orders = recent_orders(6, seed=12)
    sim.add_orders(orders)
    app = _app(shop, sim)
    try:
        first = _run(app)
        stock_after_first = stock_by_sku(shop.engine, shop.ids, SKUS)
        app.state.set_cursor(
            CODE, CATCHUP_CURSOR, datetime(2000, 1, 1, tzinfo=timezone.utc), datetime.now(timezone.utc)
        )  # force the catch-up pass too
        second = _run(app)
    finally:
        app.close()
    assert first.counts.get("imported") == 6
    assert second.counts.get("imported", 0) == 0
    assert second.counts.get("skipped") == 6
    assert second.extra["window"]["kind"] == "catchup"
    with shop.engine.connect() as conn:
        assert ps_orders_by_mirakl_id(conn) == {o["order_id"]: 1 for o in orders}
    assert stock_by_sku(shop.engine, shop.ids, SKUS) == stock_after_first


def test_orders_not_yet_paid_are_not_imported(shop: Any, sim: MiraklSimulator) -> None:
    _plenty_of_stock(shop)
    waiting = sim.add_order(skus=["MUG"], state="WAITING_ACCEPTANCE")
    debit = sim.add_order(skus=["SOCKS"], state="WAITING_DEBIT_PAYMENT")
    app = _app(shop, sim)
    try:
        report = _run(app)
    finally:
        app.close()
    assert report.counts.get("imported", 0) == 0
    with shop.engine.connect() as conn:
        assert map_rows(conn) == {}
        assert ps_orders_by_mirakl_id(conn) == {}
    assert {waiting["order_id"], debit["order_id"]}.isdisjoint(_imported_ids(report))


def test_only_live_lines_are_imported(shop: Any, sim: MiraklSimulator) -> None:
    before = _plenty_of_stock(shop)
    order = _add(sim, ["MUG", "SOCKS"], [2, 3], seed=31)
    sim.cancel_line(order["order_id"], order["order_lines"][1]["order_line_id"])
    app = _app(shop, sim)
    try:
        report = _run(app)
    finally:
        app.close()
    assert _imported_ids(report) == {order["order_id"]}
    with shop.engine.connect() as conn:
        row = map_rows(conn)[order["order_id"]]
        lines = conn.execute(
            text("SELECT product_reference, product_quantity FROM ps_order_detail WHERE id_order = :i"),
            {"i": row["id_order"]},
        ).all()
        assert order_invariants(conn, shop.prefix, row["id_order"]) == []
    assert [(r[0], int(r[1])) for r in lines] == [("MUG", 2)]
    after = stock_by_sku(shop.engine, shop.ids, ["MUG", "SOCKS"])
    assert after == {"MUG": before["MUG"] - 2, "SOCKS": before["SOCKS"]}


# --- held orders ----------------------------------------------------------------------------------


def test_an_unknown_sku_holds_the_order_until_the_mapping_is_fixed_and_retried(
    shop: Any, sim: MiraklSimulator
) -> None:
    _plenty_of_stock(shop)
    order = _add(sim, ["MUG", "NEW-KETTLE"], [1, 1], seed=32)
    oid = order["order_id"]
    app = _app(shop, sim)
    try:
        first = _run(app)
        assert first.status == "partial"
        assert [(h["order_id"], h["code"]) for h in first.items["held"]] == [(oid, "unknown_sku")]
        assert "NEW-KETTLE" in first.items["held"][0]["message"]
        with shop.engine.connect() as conn:
            assert ps_orders_by_mirakl_id(conn) == {}
            row = map_rows(conn)[oid]
            assert (row["status"], row["error_code"], row["attempts"]) == ("held", "unknown_sku", 1)
            assert all(n == 0 for n in orphan_counts(conn).values())

        second = _run(app)  # retry not due yet (30 min back-off), nothing changed on Mirakl
        assert second.counts.get("held_waiting") == 1 and not second.items.get("imported")

        with shop.engine.begin() as conn:  # the merchant fixes the mapping: the socks get the SKU
            conn.execute(
                text("UPDATE ps_product SET reference = 'NEW-KETTLE' WHERE id_product = :i"),
                {"i": shop.ids.products["SOCKS"].id_product},
            )
        out = io.StringIO()
        assert cmd_orders_retry(app, CODE, oid, out) == 0
        assert "due now" in out.getvalue()
        third = _run(app)
        assert _imported_ids(third) == {oid}, third.to_json()

        out = io.StringIO()
        assert cmd_orders_show(app, CODE, oid, True, out) == 0
        shown = json.loads(out.getvalue())
    finally:
        app.close()
    with shop.engine.connect() as conn:
        row = map_rows(conn)[oid]
        assert row["status"] == "imported" and row["error_code"] is None
        assert ps_orders_by_mirakl_id(conn) == {oid: 1}
        assert order_invariants(conn, shop.prefix, row["id_order"]) == []
    assert shown["mirakl"]["state"] == "SHIPPING"
    assert shown["prestashop"]["id_order"] == row["id_order"]
    assert shown["bridge"]["status"] == "imported" and shown["bridge"]["attempts"] == 1
    assert [h["outcome"] for h in shown["history"]] == [["imported"], ["held"]]


def test_an_unmapped_country_holds_the_order_with_an_error_naming_it(shop: Any, sim: MiraklSimulator) -> None:
    _plenty_of_stock(shop)
    order = recent_orders(1, seed=22, skus=["MUG"], lines=(1, 1))[0]
    for kind in ("billing_address", "shipping_address"):
        order["customer"][kind].update(country="Schweiz", country_iso_code="CHE")
    sim.add_orders([order])
    app = _app(shop, sim)
    try:
        report = _run(app)
        out = io.StringIO()
        assert cmd_orders_show(app, CODE, order["order_id"], False, out) == 0
    finally:
        app.close()
    held = report.items["held"]
    assert [(h["order_id"], h["code"]) for h in held] == [(order["order_id"], "unknown_country")]
    assert "CHE" in held[0]["message"] or "Schweiz" in held[0]["message"]
    assert "status held" in out.getvalue() and "unknown_country" in out.getvalue()
    with shop.engine.connect() as conn:
        assert ps_orders_by_mirakl_id(conn) == {}
        assert all(n == 0 for n in orphan_counts(conn).values())


# --- stock shortage -------------------------------------------------------------------------------


def test_a_shortage_with_on_shortage_import_imports_flags_and_reports_it(
    shop: Any, sim: MiraklSimulator
) -> None:
    set_stock(shop.engine, shop.ids, {"MUG": 1})
    order = _add(sim, ["MUG"], [3], seed=33)
    app = _app(shop, sim, on_shortage="import", flag_out_of_stock=True)
    try:
        report = _run(app)
    finally:
        app.close()
    imported = report.items["imported"]
    assert [i["order_id"] for i in imported] == [order["order_id"]]
    assert imported[0]["shortages"] == [{"sku": "MUG", "wanted": 3, "available": 1}]
    assert report.counts.get("imported_short") == 1
    with shop.engine.connect() as conn:
        row = map_rows(conn)[order["order_id"]]
        states = [
            r[0]
            for r in conn.execute(
                text(
                    "SELECT id_order_state FROM ps_order_history WHERE id_order = :i ORDER BY id_order_history"
                ),
                {"i": row["id_order"]},
            )
        ]
        assert order_invariants(conn, shop.prefix, row["id_order"]) == []
    assert states[-1] == shop.ids.order_states["PS_OS_OUTOFSTOCK_PAID"]
    assert stock_by_sku(shop.engine, shop.ids, ["MUG"]) == {"MUG": 1 - 3}


def test_a_shortage_with_on_shortage_hold_holds_then_imports_once_stock_is_back(
    shop: Any, sim: MiraklSimulator
) -> None:
    set_stock(shop.engine, shop.ids, {"MUG": 1})
    order = _add(sim, ["MUG"], [3], seed=34)
    oid = order["order_id"]
    app = _app(shop, sim, on_shortage="hold")
    try:
        first = _run(app)
        assert [(h["order_id"], h["code"]) for h in first.items["held"]] == [(oid, "stock_shortage")]
        with shop.engine.connect() as conn:
            assert ps_orders_by_mirakl_id(conn) == {}
            assert map_rows(conn)[oid]["status"] == "held"
        assert stock_by_sku(shop.engine, shop.ids, ["MUG"]) == {"MUG": 1}
        set_stock(shop.engine, shop.ids, {"MUG": 10})
        second = _run(app)  # a shortage hold is due at the next run
    finally:
        app.close()
    assert _imported_ids(second) == {oid}
    with shop.engine.connect() as conn:
        assert ps_orders_by_mirakl_id(conn) == {oid: 1}
    assert stock_by_sku(shop.engine, shop.ids, ["MUG"]) == {"MUG": 7}


# --- cursor ---------------------------------------------------------------------------------------


def _cursor(app: App, name: str) -> datetime | None:
    return app.state.get_cursor(CODE, name)


def test_the_cursor_moves_to_the_last_update_seen_after_the_orders_are_committed(
    shop: Any, sim: MiraklSimulator
) -> None:
    _plenty_of_stock(shop)
    orders = recent_orders(4, seed=13)
    sim.add_orders(orders)
    latest = max(datetime.fromisoformat(o["last_updated_date"]) for o in orders)
    app = _app(shop, sim)
    try:
        assert _cursor(app, CURSOR) is None
        report = _run(app)
        assert report.extra["window"]["kind"] == "first_run"
        assert _cursor(app, CURSOR) == latest
        assert _cursor(app, CATCHUP_CURSOR) is not None
        second = _run(app)
    finally:
        app.close()
    assert second.extra["window"]["kind"] == "incremental"
    assert datetime.fromisoformat(second.extra["window"]["since"]) == latest - timedelta(minutes=120)


def test_a_failed_page_fetch_leaves_the_cursor_where_it_was(shop: Any, sim: MiraklSimulator) -> None:
    _plenty_of_stock(shop)
    sim.add_orders(recent_orders(3, seed=14))
    app = _app(shop, sim)
    try:
        sim.fail_next(50, status=503)
        report = _run(app)
        assert report.status == "failed"
        assert _cursor(app, CURSOR) is None and _cursor(app, CATCHUP_CURSOR) is None
        sim.clear_faults()
        again = _run(app)
    finally:
        app.close()
    assert again.counts.get("imported") == 3


def test_an_unparseable_order_is_reported_held_and_keeps_the_others_going(
    shop: Any, sim: MiraklSimulator
) -> None:
    _plenty_of_stock(shop)
    good = recent_orders(2, seed=15)
    bad = recent_orders(1, seed=16)[0]
    bad["order_lines"][0]["quantity"] = "three"
    sim.add_orders([*good, bad])
    app = _app(shop, sim)
    try:
        report = _run(app)
        cursor = _cursor(app, CURSOR)
    finally:
        app.close()
    assert _imported_ids(report) == {o["order_id"] for o in good}
    assert [e["ref"] for e in report.errors] == [f"order {bad['order_id']}"]
    assert report.status == "partial"
    with shop.engine.connect() as conn:
        row = map_rows(conn)[bad["order_id"]]
    assert (row["status"], row["error_code"]) == ("held", "invalid_payload")
    assert cursor is not None  # held with a retry date: the cursor may pass it


def test_a_dry_run_writes_nothing(shop: Any, sim: MiraklSimulator) -> None:
    before = _plenty_of_stock(shop)
    orders = recent_orders(3, seed=17)
    sim.add_orders(orders)
    app = _app(shop, sim)
    try:
        report = _run(app, dry_run=True)
        cursor = _cursor(app, CURSOR)
    finally:
        app.close()
    assert {i["order_id"] for i in report.items["would_import"]} == {o["order_id"] for o in orders}
    assert cursor is None
    with shop.engine.connect() as conn:
        assert map_rows(conn) == {} and ps_orders_by_mirakl_id(conn) == {}
    assert stock_by_sku(shop.engine, shop.ids, SKUS) == before


def test_orders_retry_refuses_an_order_that_is_not_held(shop: Any, sim: MiraklSimulator) -> None:
    app = _app(shop, sim)
    try:
        out = io.StringIO()
        assert cmd_orders_retry(app, CODE, "NOPE-1", out) == 1
        assert "unknown" in out.getvalue()
        out = io.StringIO()
        assert cmd_orders_show(app, CODE, "NOPE-1", False, out) == 1
    finally:
        app.close()


# --- catch-up, stop, cancelled held orders, CLI ---------------------------------------------------


def test_an_order_missed_by_the_overlap_is_imported_by_the_daily_catch_up(
    shop: Any, sim: MiraklSimulator
) -> None:
    _plenty_of_stock(shop)
    sim.add_orders(recent_orders(2, seed=61, hours_ago=1))
    late = recent_orders(1, seed=62, hours_ago=30)[0]  # updated long before the cursor: beyond the overlap
    app = _app(shop, sim)
    try:
        _run(app)
        sim.add_orders([late])  # appears late in the SHIPPING list (e.g. an operator-side delay)
        incremental = _run(app)
        assert incremental.extra["window"]["kind"] == "incremental"
        assert not incremental.items.get("imported")
        yesterday = datetime.now(timezone.utc) - timedelta(days=1, minutes=1)
        app.state.set_cursor(CODE, CATCHUP_CURSOR, yesterday, datetime.now(timezone.utc))
        catchup = _run(app)
    finally:
        app.close()
    assert catchup.extra["window"]["kind"] == "catchup"
    assert _imported_ids(catchup) == {late["order_id"]}


def test_a_stop_request_leaves_the_cursor_and_the_orders_untouched(shop: Any, sim: MiraklSimulator) -> None:
    _plenty_of_stock(shop)
    sim.add_orders(recent_orders(3, seed=63))
    stop = threading.Event()
    stop.set()
    app = _app(shop, sim)
    try:
        report = run_task(app, "import", CODE, force=True, stop=stop)
        cursor = _cursor(app, CURSOR)
    finally:
        app.close()
    assert report.status == "partial" and "stopped" in report.reason
    assert cursor is None
    with shop.engine.connect() as conn:
        assert ps_orders_by_mirakl_id(conn) == {}


def test_a_held_order_cancelled_on_mirakl_is_dropped_at_its_retry(shop: Any, sim: MiraklSimulator) -> None:
    _plenty_of_stock(shop)
    order = _add(sim, ["MUG", "NEW-KETTLE"], [1, 1], seed=64)
    oid = order["order_id"]
    app = _app(shop, sim)
    try:
        _run(app)
        for line in order["order_lines"]:
            sim.cancel_line(oid, line["order_line_id"])
        assert cmd_orders_retry(app, CODE, oid, io.StringIO()) == 0
        report = _run(app)
    finally:
        app.close()
    assert [d["order_id"] for d in report.items["dropped"]] == [oid]
    with shop.engine.connect() as conn:
        assert map_rows(conn)[oid]["status"] == "cancelled"
        assert ps_orders_by_mirakl_id(conn) == {}


def test_the_cli_shows_an_imported_order_from_all_three_sides(
    shop: Any, sim: MiraklSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plenty_of_stock(shop)
    order = _add(sim, ["SOCKS"], [2], seed=65)
    app = _app(shop, sim)
    try:
        _run(app)
    finally:
        app.close()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[shop]\ndatabase_url = "{shop.url}"\n\n[[platforms]]\ncode = "{CODE}"\napi_url = "{sim.url}"\n'
        f'api_key_env = "SIM_MIRAKL_KEY"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SIM_MIRAKL_KEY", API_KEY)
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(
        ["--config", str(config), "orders", "show", order["order_id"], "--platform", CODE],
        stdout=out,
        stderr=err,
    )
    text_out = out.getvalue()
    assert code == 0, err.getvalue()
    assert f"Order {order['order_id']} on {CODE}" in text_out
    assert "state SHIPPING" in text_out and "2 x SOCKS" in text_out
    assert "status imported" in text_out and "id_order" in text_out
    assert "History (newest first)" in text_out
