"""Task ``accept`` in batches: the same decisions and rows whatever the batch size, early stops release.

The batch records the decisions of several orders in one transaction before their OR21 calls and
confirms them in one transaction after; these tests pin what that must not change (allocation
oldest first, rows written) and what happens when a batch stops between its OR21 calls.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from accept_support import CODE, SIM_KEY, answers, line_rows, make_config, map_row, put_stock, reserved

from bridge.errors import MiraklAuthError, StopRequested
from bridge.jobs import accept
from bridge.jobs.context import TaskContext
from bridge.jobs.report import TaskReport
from bridge.jobs.runner import run_task
from bridge.sandbox import MiraklSimulator
from bridge.wiring import App, utcnow

pytestmark = pytest.mark.db

ROW_FIELDS = ("status", "mirakl_state", "error_code", "last_error", "attempts")
LINE_FIELDS = ("order_line_id", "offer_sku", "quantity", "decision", "reason", "units_reserved", "id_product",
               "id_product_attribute", "phase")


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=SIM_KEY, debit_after_polls=1000) as s:
        yield s


def key(shop: Any, ref: str) -> tuple[int, int]:
    return (shop.ids.product(ref).id_product, 0)


def ctx_for(app: App) -> TaskContext:
    return TaskContext(
        app=app,
        platform=app.config.platform(CODE),
        mirakl=app.mirakl(CODE),
        run_id=uuid.uuid4().hex[:16],
        report=TaskReport(task="accept", platform=CODE, run_id="t", started_at=utcnow()),
        dry_run=False,
        clock=utcnow,
    )


def run_interrupted(app: App, ctx: TaskContext, after_or21: Callable[[str], None], raises: type[BaseException]) -> None:
    """``accept.run(ctx)`` with ``after_or21(order_id)`` called after each OR21 the run sends; the run must
    end by raising ``raises``. The app is closed."""
    real = ctx.mirakl.accept_order

    def accept_then(order_id: str, lines: dict[str, bool]) -> str:
        result = real(order_id, lines)
        after_or21(order_id)
        return result

    ctx.mirakl.accept_order = accept_then  # type: ignore[method-assign]
    try:
        with pytest.raises(raises):
            accept.run(ctx)
    finally:
        app.close()


def snapshot(shop: Any, order_ids: list[str]) -> list[Any]:
    out = []
    for oid in order_ids:
        row = map_row(shop.engine, shop.prefix, oid)
        lines = line_rows(shop.engine, shop.prefix, oid)
        out.append((
            None if row is None else tuple(getattr(row, f) for f in ROW_FIELDS),
            [tuple(ln[f] for f in LINE_FIELDS) for ln in lines],
        ))
    return out


def _scarce_orders(sim: MiraklSimulator) -> list[dict[str, Any]]:
    """MUG 3 in stock, BOOK 1: six orders (oldest first) where later ones need what earlier ones took."""
    specs = [
        (["MUG"], [2]),  # takes 2 of 3
        (["MUG", "BOOK"], [2, 1]),  # MUG short (1 left): left as a whole, BOOK untouched
        (["BOOK"], [1]),  # takes the only BOOK
        (["MUG"], [1]),  # takes the last MUG
        (["MUG"], [1]),  # short
        (["SOCKS"], [3]),  # plenty
    ]
    return [
        sim.add_order(skus=skus, quantities=qty, created_date=f"2026-03-01T0{i}:00:00Z")
        for i, (skus, qty) in enumerate(specs)
    ]


@pytest.mark.parametrize("batch_size", [1, 2, 4, 100])
def test_every_batch_size_takes_the_same_decisions_and_writes_the_same_rows(
    shop: Any, sim: MiraklSimulator, batch_size: int
) -> None:
    put_stock(shop.engine, shop.prefix, key(shop, "MUG"), 3)
    put_stock(shop.engine, shop.prefix, key(shop, "BOOK"), 1)
    orders = _scarce_orders(sim)
    ids = [o["order_id"] for o in orders]
    app = App(make_config(shop.url, shop.prefix, sim.url, batch_size=batch_size))
    try:
        report = run_task(app, "accept", CODE, force=True)
    finally:
        app.close()

    assert report.status == "ok", report.to_json()
    assert (report.counts["accepted"], report.counts["left_pending"]) == (4, 2)
    assert [answers(sim, oid) for oid in ids] == [
        [{f"{ids[0]}-1": True}],
        [],
        [{f"{ids[2]}-1": True}],
        [{f"{ids[3]}-1": True}],
        [],
        [{f"{ids[5]}-1": True}],
    ]
    assert reserved(shop.engine, shop.prefix) == {key(shop, "MUG"): 3, key(shop, "BOOK"): 1, key(shop, "SOCKS"): 3}
    mug, book, socks = key(shop, "MUG"), key(shop, "BOOK"), key(shop, "SOCKS")
    expected_lines = {
        ids[0]: [(f"{ids[0]}-1", "MUG", 2, "accept", "in_stock", 2, mug[0], 0, "confirmed")],
        ids[2]: [(f"{ids[2]}-1", "BOOK", 1, "accept", "in_stock", 1, book[0], 0, "confirmed")],
        ids[3]: [(f"{ids[3]}-1", "MUG", 1, "accept", "in_stock", 1, mug[0], 0, "confirmed")],
        ids[5]: [(f"{ids[5]}-1", "SOCKS", 3, "accept", "in_stock", 3, socks[0], 0, "confirmed")],
    }
    got = snapshot(shop, ids)
    for oid, (row, lines) in zip(ids, got, strict=True):
        if oid in expected_lines:
            assert row == ("accepted", "WAITING_ACCEPTANCE", None, None, 0)
            assert lines == expected_lines[oid]
        else:  # left: a ``seen`` row with the reason, no line rows, no reservation
            assert row is not None and row[:3] == ("seen", "WAITING_ACCEPTANCE", "stock_shortage")
            assert "MUG: stock_shortage (wanted" in row[3]
            assert lines == []
    left = {i["order_id"]: i for i in report.items["left_pending"]}
    # the figures in the report are those of the batch's own allocation: order 1 saw 2 MUG promised
    assert [(ln["sku"], ln["reserved"], ln["available"]) for ln in left[ids[1]]["lines"]] == [
        ("MUG", 2, 1),
        ("BOOK", 0, 1),
    ]
    assert [(ln["reserved"], ln["available"]) for ln in left[ids[4]]["lines"]] == [(3, 0)]


def test_a_second_run_in_batches_answers_nothing_twice_and_decides_the_left_orders_again(
    shop: Any, sim: MiraklSimulator
) -> None:
    put_stock(shop.engine, shop.prefix, key(shop, "MUG"), 3)
    put_stock(shop.engine, shop.prefix, key(shop, "BOOK"), 1)
    orders = _scarce_orders(sim)
    app = App(make_config(shop.url, shop.prefix, sim.url, batch_size=2))
    try:
        run_task(app, "accept", CODE, force=True)
        put_stock(shop.engine, shop.prefix, key(shop, "MUG"), 6)  # restocked: 3 more
        report = run_task(app, "accept", CODE, force=True)
    finally:
        app.close()
    assert report.counts["accepted"] == 1  # order 1 wants 2 MUG + 1 BOOK: BOOK is gone, still left
    assert report.counts["left_pending"] == 1
    assert report.counts["waiting"] == 2  # the four accepted ones no longer wait on Mirakl
    assert all(len(answers(sim, o["order_id"])) <= 1 for o in orders)
    assert answers(sim, orders[4]["order_id"]) == [{f"{orders[4]['order_id']}-1": True}]
    assert reserved(shop.engine, shop.prefix)[key(shop, "MUG")] == 4


def test_a_stop_request_between_or21_calls_confirms_the_sent_orders_and_releases_the_others(
    shop: Any, sim: MiraklSimulator
) -> None:
    orders = [
        sim.add_order(skus=["SOCKS"], quantities=[1], created_date=f"2026-03-02T0{i}:00:00Z") for i in range(5)
    ]
    ids = [o["order_id"] for o in orders]
    app = App(make_config(shop.url, shop.prefix, sim.url, batch_size=100))
    ctx = ctx_for(app)
    calls: list[str] = []

    def after_or21(order_id: str) -> None:
        calls.append(order_id)
        if len(calls) == 2:
            ctx.stop.set()  # the daemon is asked to stop while the batch's third OR21 is due

    run_interrupted(app, ctx, after_or21, StopRequested)

    assert calls == ids[:2]
    assert [len(answers(sim, oid)) for oid in ids] == [1, 1, 0, 0, 0]
    for oid in ids[:2]:  # sent: confirmed before the stop went up
        assert map_row(shop.engine, shop.prefix, oid).status == "accepted"
        assert [ln["phase"] for ln in line_rows(shop.engine, shop.prefix, oid)] == ["confirmed"]
    for oid in ids[2:]:  # never sent: released, nothing reserved for them
        assert map_row(shop.engine, shop.prefix, oid).status == "seen"
        assert [ln["phase"] for ln in line_rows(shop.engine, shop.prefix, oid)] == ["failed"]
    assert reserved(shop.engine, shop.prefix) == {key(shop, "SOCKS"): 2}
    assert ctx.report.counts["released"] == 3
    assert ctx.report.counts["accepted"] == 2

    app = App(make_config(shop.url, shop.prefix, sim.url))
    try:
        report = run_task(app, "accept", CODE, force=True)
    finally:
        app.close()
    assert report.counts["accepted"] == 3
    assert report.counts.get("reconciled", 0) == 0  # nothing was left ``accepting``
    assert [len(answers(sim, oid)) for oid in ids] == [1] * 5
    assert reserved(shop.engine, shop.prefix) == {key(shop, "SOCKS"): 5}


def test_a_401_in_the_middle_of_a_batch_releases_the_orders_not_sent_and_stops_the_run(
    shop: Any, sim: MiraklSimulator
) -> None:
    orders = [
        sim.add_order(skus=["SOCKS"], quantities=[1], created_date=f"2026-03-03T0{i}:00:00Z") for i in range(4)
    ]
    ids = [o["order_id"] for o in orders]
    app = App(make_config(shop.url, shop.prefix, sim.url))
    ctx = ctx_for(app)
    run_interrupted(app, ctx, lambda _order_id: sim.fail_next(1, status=401, endpoint="OR21"),  # key revoked
                    MiraklAuthError)
    assert [len(answers(sim, oid)) for oid in ids] == [1, 0, 0, 0]
    assert map_row(shop.engine, shop.prefix, ids[0]).status == "accepted"
    assert [map_row(shop.engine, shop.prefix, oid).status for oid in ids[1:]] == ["seen"] * 3
    assert map_row(shop.engine, shop.prefix, ids[1]).error_code == "or21_failed"
    assert reserved(shop.engine, shop.prefix) == {key(shop, "SOCKS"): 1}
    assert [e["code"] for e in ctx.report.errors] == ["or21_failed"]
    assert ctx.report.counts["released"] == 2


def test_a_run_starting_while_another_is_between_its_decisions_and_its_or21_calls_gives_none_of_its_units_away(
    shop: Any, sim: MiraklSimulator
) -> None:
    """Two runs without their named locks: run A has recorded its batch (units reserved) and not sent its
    OR21 yet when run B starts. B's reconcile must not release A's orders: if it did, A's OR21 landing
    afterwards would leave an order accepted on Mirakl with no reservation, and B would give its units away."""
    put_stock(shop.engine, shop.prefix, key(shop, "MUG"), 1)
    first = sim.add_order(skus=["MUG"], quantities=[1], created_date="2026-03-04T01:00:00Z")
    app_a = App(make_config(shop.url, shop.prefix, sim.url))
    app_b = App(make_config(shop.url, shop.prefix, sim.url))
    try:
        ctx_a = ctx_for(app_a)
        gathered = accept.gather(app_a, ctx_a.platform, ctx_a.mirakl, figures=False)
        [decision] = accept._record_intended(ctx_a, gathered.orders, gathered.matches)  # A: decided, not sent
        assert map_row(shop.engine, shop.prefix, first["order_id"]).status == "accepting"

        ctx_b = ctx_for(app_b)
        accept.reconcile(ctx_b)  # B starts while A is about to send
        ctx_a.mirakl.accept_order(first["order_id"], decision.answers)  # A's OR21 lands (or finds it answered)

        later = sim.add_order(skus=["MUG"], quantities=[1], created_date="2026-03-04T02:00:00Z")
        report = run_task(app_b, "accept", CODE, force=True)
    finally:
        app_a.close()
        app_b.close()
    assert [len(answers(sim, first["order_id"])), len(answers(sim, later["order_id"]))] == [1, 0]
    assert map_row(shop.engine, shop.prefix, first["order_id"]).status == "accepted"
    assert report.counts.get("accepted", 0) == 0 and report.counts["left_pending"] == 1  # the one unit is taken
    assert reserved(shop.engine, shop.prefix) == {key(shop, "MUG"): 1}


def test_a_reconciled_order_whose_recorded_decision_is_refused_by_mirakl_is_released(
    shop: Any, sim: MiraklSimulator
) -> None:
    put_stock(shop.engine, shop.prefix, key(shop, "MUG"), 1)
    order = sim.add_order(skus=["MUG"], quantities=[1], created_date="2026-03-05T01:00:00Z")
    app = App(make_config(shop.url, shop.prefix, sim.url))
    try:
        ctx = ctx_for(app)
        gathered = accept.gather(app, ctx.platform, ctx.mirakl, figures=False)
        accept._record_intended(ctx, gathered.orders, gathered.matches)  # decided, never sent (a crash)
        assert reserved(shop.engine, shop.prefix) == {key(shop, "MUG"): 1}
        sim.fail_next(1, status=400, endpoint="OR21")
        later = ctx_for(app)
        accept.reconcile(later)
    finally:
        app.close()
    assert answers(sim, order["order_id"]) == []
    assert map_row(shop.engine, shop.prefix, order["order_id"]).status == "seen"  # decided again by a later run
    assert [ln["phase"] for ln in line_rows(shop.engine, shop.prefix, order["order_id"])] == ["failed"]
    assert reserved(shop.engine, shop.prefix) == {}
    assert [e["code"] for e in later.report.errors] == ["or21_failed"]
