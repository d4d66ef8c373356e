"""Task ``accept`` against the test shop (MariaDB) and the Mirakl simulator (real HTTP)."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from accept_support import (
    CODE,
    SIM_KEY,
    answers,
    line_rows,
    make_config,
    map_row,
    put_stock,
    raw_config,
    reserved,
    stock_of,
)
from structlog.testing import capture_logs

from bridge.config import config_from_dict
from bridge.jobs import accept, accept_plan
from bridge.jobs.context import TaskContext
from bridge.jobs.report import TaskReport
from bridge.jobs.runner import run_task
from bridge.sandbox import MiraklSimulator
from bridge.sandbox.orders_gen import generate_orders
from bridge.wiring import App, utcnow

pytestmark = pytest.mark.db


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=SIM_KEY, debit_after_polls=1000) as s:
        yield s


def app_for(shop: Any, sim: MiraklSimulator, **acceptance: Any) -> App:
    return App(make_config(shop.url, shop.prefix, sim.url, **acceptance))


def run(shop: Any, sim: MiraklSimulator, **acceptance: Any) -> TaskReport:
    app = app_for(shop, sim, **acceptance)
    try:
        return run_task(app, "accept", CODE, force=True)
    finally:
        app.close()


def key(shop: Any, ref: str) -> tuple[int, int]:
    if ref.startswith("TSHIRT-"):
        p = shop.ids.product("TSHIRT")
        return (p.id_product, p.combinations[ref].id_product_attribute)
    return (shop.ids.product(ref).id_product, 0)


def items(report: TaskReport, kind: str) -> dict[str, dict[str, Any]]:
    return {i["order_id"]: i for i in report.items.get(kind, [])}


class TestEnoughStock:
    def test_an_order_within_stock_is_accepted_on_mirakl_and_recorded_with_its_reservation(
        self, shop, sim
    ) -> None:
        o = sim.add_order(skus=["MUG", "TSHIRT-S-RED"], quantities=[2, 3])
        report = run(shop, sim)
        assert report.status == "ok", report.to_json()
        assert report.counts["accepted"] == 1
        assert answers(sim, o["order_id"]) == [{f"{o['order_id']}-1": True, f"{o['order_id']}-2": True}]
        row = map_row(shop.engine, shop.prefix, o["order_id"])
        assert row is not None and row.status == "accepted" and row.accepted_at is not None
        lines = line_rows(shop.engine, shop.prefix, o["order_id"])
        assert [(ln["decision"], ln["reason"], ln["units_reserved"], ln["phase"]) for ln in lines] == [
            ("accept", "in_stock", 2, "confirmed"),
            ("accept", "in_stock", 3, "confirmed"),
        ]
        # seeded stock MUG 12, TSHIRT-S-RED 3: nothing imported yet, so these units are reserved
        assert reserved(shop.engine, shop.prefix) == {key(shop, "MUG"): 2, key(shop, "TSHIRT-S-RED"): 3}

    def test_a_second_run_does_not_answer_the_order_again(self, shop, sim) -> None:
        o = sim.add_order(skus=["MUG"], quantities=[1])
        run(shop, sim)
        report = run(shop, sim)
        assert len(answers(sim, o["order_id"])) == 1
        assert report.counts.get("accepted", 0) == 0

    def test_one_structured_event_per_decision_carries_the_figures(self, shop, sim) -> None:
        o = sim.add_order(skus=["BOOK"], quantities=[2])
        with capture_logs() as logs:
            run(shop, sim)
        [event] = [e for e in logs if e["event"] == "order.accepted"]
        assert event["order_id"] == o["order_id"]
        assert event["lines"] == [
            {
                "order_line_id": f"{o['order_id']}-1",
                "sku": "BOOK",
                "id_product": key(shop, "BOOK")[0],
                "id_product_attribute": 0,
                "wanted": 2,
                "stock": 7,
                "reserved": 0,
                "available": 7,
                "decision": "accept",
                "reason": "in_stock",
            }
        ]

    def test_dry_run_decides_but_neither_calls_mirakl_nor_writes(self, shop, sim) -> None:
        o = sim.add_order(skus=["MUG"], quantities=[1])
        app = app_for(shop, sim)
        report = run_task(app, "accept", CODE, dry_run=True)
        app.close()
        assert report.counts["accepted"] == 1
        assert answers(sim, o["order_id"]) == []
        assert map_row(shop.engine, shop.prefix, o["order_id"]) is None


class TestShortage:
    def _short_order(self, shop, sim) -> dict[str, Any]:
        put_stock(shop.engine, shop.prefix, key(shop, "BOOK"), 1)
        return sim.add_order(skus=["MUG", "BOOK"], quantities=[1, 2])

    def test_leave_does_not_answer_and_reserves_nothing(self, shop, sim) -> None:
        o = self._short_order(shop, sim)
        report = run(shop, sim)
        assert answers(sim, o["order_id"]) == []
        left = items(report, "left_pending")[o["order_id"]]
        assert left["reasons"] == ["stock_shortage"]
        assert [
            (ln["sku"], ln["wanted"], ln["stock"], ln["available"], ln["decision"]) for ln in left["lines"]
        ] == [("MUG", 1, 12, 12, "leave"), ("BOOK", 2, 1, 1, "leave")]
        row = map_row(shop.engine, shop.prefix, o["order_id"])
        assert row is not None and row.status == "seen" and row.error_code == "stock_shortage"
        assert reserved(shop.engine, shop.prefix) == {}
        assert sim.orders[o["order_id"]]["order_state"] == "WAITING_ACCEPTANCE"

    def test_a_left_order_is_accepted_once_stock_arrives(self, shop, sim) -> None:
        o = self._short_order(shop, sim)
        run(shop, sim)
        put_stock(shop.engine, shop.prefix, key(shop, "BOOK"), 2)
        report = run(shop, sim)
        assert report.counts["accepted"] == 1
        assert answers(sim, o["order_id"]) == [{f"{o['order_id']}-1": True, f"{o['order_id']}-2": True}]

    def test_refuse_refuses_every_line(self, shop, sim) -> None:
        o = self._short_order(shop, sim)
        report = run(shop, sim, on_shortage="refuse")
        assert answers(sim, o["order_id"]) == [{f"{o['order_id']}-1": False, f"{o['order_id']}-2": False}]
        assert items(report, "refused")[o["order_id"]]["reasons"] == ["stock_shortage"]
        assert map_row(shop.engine, shop.prefix, o["order_id"]).status == "refused"
        assert sim.orders[o["order_id"]]["order_state"] == "REFUSED"
        assert reserved(shop.engine, shop.prefix) == {}

    def test_partial_accepts_the_servable_line_and_refuses_the_other(self, shop, sim) -> None:
        o = self._short_order(shop, sim)
        report = run(shop, sim, partial=True)
        assert answers(sim, o["order_id"]) == [{f"{o['order_id']}-1": True, f"{o['order_id']}-2": False}]
        assert report.counts["partially_accepted"] == 1
        assert map_row(shop.engine, shop.prefix, o["order_id"]).status == "accepted"
        assert reserved(shop.engine, shop.prefix) == {key(shop, "MUG"): 1}

    def test_the_stock_buffer_is_kept_back(self, shop, sim) -> None:
        o = sim.add_order(skus=["BOOK"], quantities=[6])  # stock 7, buffer 2 -> 5 available
        report = run(shop, sim, stock_buffer=2)
        assert items(report, "left_pending")[o["order_id"]]["lines"][0]["available"] == 5

    def test_a_product_orderable_out_of_stock_is_accepted_and_its_units_reserved(self, shop, sim) -> None:
        from bridge.testshop.schema import cached_metadata

        mug = key(shop, "MUG")
        put_stock(shop.engine, shop.prefix, mug, 0)
        sa = cached_metadata(shop.prefix).tables[shop.prefix + "stock_available"]
        with shop.engine.begin() as conn:
            conn.execute(sa.update().where(sa.c.id_product == mug[0]).values(out_of_stock=1))
        o = sim.add_order(skus=["MUG"], quantities=[2])
        report = run(shop, sim)
        assert answers(sim, o["order_id"]) == [{f"{o['order_id']}-1": True}]
        assert items(report, "accepted")[o["order_id"]]["lines"][0]["reason"] == "backorder"
        assert reserved(shop.engine, shop.prefix) == {mug: 2}


class TestCompetition:
    def test_two_orders_competing_for_the_last_unit_the_oldest_gets_it(self, shop, sim) -> None:
        put_stock(shop.engine, shop.prefix, key(shop, "MUG"), 1)
        newer = sim.add_order(skus=["MUG"], quantities=[1], created_date="2026-01-10T10:05:00Z")
        older = sim.add_order(skus=["MUG"], quantities=[1], created_date="2026-01-10T10:00:00Z")
        report = run(shop, sim, on_shortage="refuse")
        assert answers(sim, older["order_id"]) == [{f"{older['order_id']}-1": True}]
        assert answers(sim, newer["order_id"]) == [{f"{newer['order_id']}-1": False}]
        refused = items(report, "refused")[newer["order_id"]]["lines"][0]
        assert (refused["stock"], refused["reserved"], refused["available"]) == (1, 1, 0)

    def test_units_accepted_on_another_platform_are_not_offered_again(self, shop) -> None:
        put_stock(shop.engine, shop.prefix, key(shop, "MUG"), 3)
        with MiraklSimulator(api_key=SIM_KEY) as sim1, MiraklSimulator(api_key=SIM_KEY) as sim2:
            first = sim1.add_order(skus=["MUG"], quantities=[2])
            second = sim2.add_order(skus=["MUG"], quantities=[2])
            cfg = config_from_dict(
                raw_config(shop.url, shop.prefix, {"one": sim1.url, "two": sim2.url}),
                {"TEST_MIRAKL_KEY": SIM_KEY},
            )
            app = App(cfg)
            run_task(app, "accept", "one", force=True)
            report = run_task(app, "accept", "two", force=True)
            app.close()
            assert answers(sim1, first["order_id"]) == [{f"{first['order_id']}-1": True}]
            assert answers(sim2, second["order_id"]) == []
        left = items(report, "left_pending")[second["order_id"]]["lines"][0]
        assert (left["stock"], left["reserved"], left["available"]) == (3, 2, 1)

    def test_two_processes_running_accept_at_once_answer_each_order_once(self, shop, sim) -> None:
        orders = [sim.add_order(skus=["MUG"], quantities=[1]) for _ in range(6)]
        reports: list[TaskReport] = []

        def one_run() -> None:
            app = app_for(shop, sim)
            reports.append(run_task(app, "accept", CODE, force=True))
            app.close()

        threads = [threading.Thread(target=one_run) for _ in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert all(len(answers(sim, o["order_id"])) == 1 for o in orders)
        assert sum(r.counts.get("accepted", 0) for r in reports) == 6

    def test_a_process_holding_a_stale_plan_does_not_answer_an_order_already_answered(
        self, shop, sim
    ) -> None:
        # the runner's named locks keep two runs apart; below them, the order-map row lock decides
        o = sim.add_order(skus=["MUG"], quantities=[1])
        app1, app2 = app_for(shop, sim), app_for(shop, sim)
        ctx1, ctx2 = _ctx(app1), _ctx(app2)
        g1 = accept_plan.gather(app1, ctx1.platform, ctx1.mirakl)
        g2 = accept_plan.gather(app2, ctx2.platform, ctx2.mirakl)
        [p1], [p2] = accept_plan.plan(g1, ctx1.platform), accept_plan.plan(g2, ctx2.platform)
        accept.apply_one(ctx1, p1, g1.matches)
        accept.apply_one(ctx2, p2, g2.matches)
        app1.close()
        app2.close()
        assert len(answers(sim, o["order_id"])) == 1
        assert ctx2.report.counts == {"already_answered": 1}


class TestMultishop:
    def test_a_shop_sharing_stock_with_its_group_is_checked_against_the_group_row(
        self, multishop, sim
    ) -> None:
        mug = key(multishop, "MUG")
        put_stock(multishop.engine, multishop.prefix, mug, 1)  # the shared row (id_shop 0, group 1)
        first = sim.add_order(skus=["MUG"], quantities=[1], created_date="2026-01-10T10:00:00Z")
        second = sim.add_order(skus=["MUG"], quantities=[1], created_date="2026-01-10T11:00:00Z")
        report = run(multishop, sim)
        assert answers(sim, first["order_id"]) == [{f"{first['order_id']}-1": True}]
        assert answers(sim, second["order_id"]) == []
        left = items(report, "left_pending")[second["order_id"]]["lines"][0]
        assert (left["stock"], left["reserved"], left["available"]) == (1, 1, 0)


class TestLinesSharingAProduct:
    def test_two_lines_on_one_product_are_counted_together(self, shop, sim) -> None:
        put_stock(shop.engine, shop.prefix, key(shop, "MUG"), 3)
        o = sim.add_order(skus=["MUG", "MUG"], quantities=[2, 2])
        report = run(shop, sim, on_shortage="refuse")
        assert answers(sim, o["order_id"]) == [{f"{o['order_id']}-1": False, f"{o['order_id']}-2": False}]
        assert [ln["reason"] for ln in items(report, "refused")[o["order_id"]]["lines"]] == [
            "order_incomplete",
            "stock_shortage",
        ]

    def test_two_lines_on_one_product_that_fit_reserve_their_sum(self, shop, sim) -> None:
        put_stock(shop.engine, shop.prefix, key(shop, "MUG"), 4)
        sim.add_order(skus=["MUG", "MUG"], quantities=[2, 2])
        run(shop, sim)
        assert reserved(shop.engine, shop.prefix) == {key(shop, "MUG"): 4}


class TestUnknownSku:
    def test_an_unknown_sku_leaves_the_order_by_default(self, shop, sim) -> None:
        o = sim.add_order(skus=["MUG", "NO-SUCH-SKU"], quantities=[1, 1])
        report = run(shop, sim)
        assert answers(sim, o["order_id"]) == []
        assert items(report, "left_pending")[o["order_id"]]["reasons"] == ["unknown_sku"]

    def test_an_ambiguous_sku_is_refused_when_configured(self, shop, sim) -> None:
        o = sim.add_order(skus=["MUG", "DUP"], quantities=[1, 1])
        report = run(shop, sim, on_unknown_sku="refuse", partial=True)
        assert answers(sim, o["order_id"]) == [{f"{o['order_id']}-1": True, f"{o['order_id']}-2": False}]
        assert items(report, "accepted")[o["order_id"]]["reasons"] == ["ambiguous_sku"]


class TestDecidedElsewhere:
    def test_an_order_accepted_in_the_back_office_before_the_run_is_not_touched(self, shop, sim) -> None:
        o = sim.add_order(skus=["MUG"], quantities=[1])
        sim.set_state(o["order_id"], "WAITING_DEBIT_PAYMENT")
        report = run(shop, sim)
        assert answers(sim, o["order_id"]) == []
        assert report.counts.get("accepted", 0) == 0
        assert map_row(shop.engine, shop.prefix, o["order_id"]) is None

    def test_an_order_accepted_in_the_back_office_during_the_run_is_recorded_as_mirakl_has_it(
        self, shop, sim
    ) -> None:
        o = sim.add_order(skus=["MUG", "BOOK"], quantities=[1, 2])
        app = app_for(shop, sim)
        ctx = _ctx(app)
        g = accept_plan.gather(app, ctx.platform, ctx.mirakl)
        [planned] = accept_plan.plan(g, ctx.platform)
        sim.set_state(o["order_id"], "WAITING_DEBIT_PAYMENT")  # the operator answers first
        accept.apply_one(ctx, planned, g.matches)
        app.close()
        assert answers(sim, o["order_id"]) == []
        assert ctx.report.counts["already_decided"] == 1
        row = map_row(shop.engine, shop.prefix, o["order_id"])
        assert row.status == "accepted" and row.mirakl_state == "WAITING_DEBIT_PAYMENT"
        lines = line_rows(shop.engine, shop.prefix, o["order_id"])
        assert [(ln["decision"], ln["reason"], ln["phase"]) for ln in lines] == [
            ("accept", "decided_elsewhere", "confirmed")
        ] * 2
        # accepted on Mirakl, not imported: its units count against the stock
        assert reserved(shop.engine, shop.prefix) == {key(shop, "MUG"): 1, key(shop, "BOOK"): 2}


class TestMiraklFailures:
    def test_a_429_during_or21_is_retried_and_the_order_accepted_once(self, shop, sim) -> None:
        o = sim.add_order(skus=["MUG"], quantities=[1])
        sim.fail_next(1, status=429, retry_after=0, endpoint="OR21")
        report = run(shop, sim)
        assert report.status == "ok"
        assert len(sim.requests_to("OR21")) == 2
        assert answers(sim, o["order_id"]) == [{f"{o['order_id']}-1": True}]
        assert map_row(shop.engine, shop.prefix, o["order_id"]).status == "accepted"

    def test_429_beyond_the_retry_budget_releases_the_reservation_and_the_next_run_accepts(
        self, shop, sim
    ) -> None:
        o = sim.add_order(skus=["MUG"], quantities=[1])
        sim.fail_next(3, status=429, retry_after=0, endpoint="OR21")
        report = run(shop, sim)
        assert report.status == "partial"
        assert [e["code"] for e in report.errors] == ["or21_failed"]
        assert map_row(shop.engine, shop.prefix, o["order_id"]).status == "seen"
        assert [ln["phase"] for ln in line_rows(shop.engine, shop.prefix, o["order_id"])] == ["failed"]
        assert reserved(shop.engine, shop.prefix) == {}
        report = run(shop, sim)
        assert report.counts["accepted"] == 1
        assert answers(sim, o["order_id"]) == [{f"{o['order_id']}-1": True}]

    def test_a_5xx_after_mirakl_applied_the_acceptance_is_verified_not_resent(self, shop, sim) -> None:
        o = sim.add_order(skus=["MUG"], quantities=[1])
        sim.fail_after_apply_next(1, endpoint="OR21")
        report = run(shop, sim)
        assert answers(sim, o["order_id"]) == [{f"{o['order_id']}-1": True}]
        assert map_row(shop.engine, shop.prefix, o["order_id"]).status == "accepted"
        assert report.status == "ok"

    def test_an_invalid_order_payload_is_reported_by_order_id_and_the_rest_goes_on(self, shop, sim) -> None:
        good = sim.add_order(skus=["MUG"], quantities=[1])
        bad = sim.add_order(skus=["SOCKS"], quantities=[1], currency_iso_code=None)
        report = run(shop, sim)
        assert answers(sim, good["order_id"]) == [{f"{good['order_id']}-1": True}]
        assert [e["ref"] for e in report.errors] == [f"order {bad['order_id']}"]
        assert report.status == "partial"


class TestReportMatchesDatabase:
    def test_stock_and_reserved_figures_in_the_report_are_the_database_figures(self, shop, sim) -> None:
        put_stock(shop.engine, shop.prefix, key(shop, "SOCKS"), 9)
        a = sim.add_order(
            skus=["SOCKS", "TSHIRT-M-RED"], quantities=[4, 1], created_date="2026-02-01T08:00:00Z"
        )
        b = sim.add_order(skus=["SOCKS"], quantities=[3], created_date="2026-02-01T09:00:00Z")
        c = sim.add_order(skus=["SOCKS"], quantities=[5], created_date="2026-02-01T10:00:00Z")
        report = run(shop, sim, stock_buffer=1)
        socks, tshirt = key(shop, "SOCKS"), key(shop, "TSHIRT-M-RED")
        # by hand: SOCKS 9 in stock, buffer 1; a takes 4 (reserved 0 -> avail 8), b takes 3 (reserved 4 ->
        # avail 4), c wants 5 (reserved 7 -> avail 1) and is left
        expect = {
            (a["order_id"], "SOCKS"): (9, 0, 8),
            (a["order_id"], "TSHIRT-M-RED"): (10, 0, 9),
            (b["order_id"], "SOCKS"): (9, 4, 4),
            (c["order_id"], "SOCKS"): (9, 7, 1),
        }
        got = {
            (i["order_id"], ln["sku"]): (ln["stock"], ln["reserved"], ln["available"])
            for kind in ("accepted", "left_pending")
            for i in report.items.get(kind, [])
            for ln in i["lines"]
        }
        assert got == expect
        assert stock_of(shop.engine, shop.prefix, socks) == 9
        assert stock_of(shop.engine, shop.prefix, tshirt) == 10
        assert reserved(shop.engine, shop.prefix) == {socks: 7, tshirt: 1}
        stored = sum(
            ln["units_reserved"]
            for o in (a, b, c)
            for ln in line_rows(shop.engine, shop.prefix, o["order_id"])
        )
        assert stored == 8


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_stock_and_orders_never_accept_beyond_stock(shop, seed: int) -> None:
    rng = random.Random(seed)
    refs = ["MUG", "SOCKS", "BOOK", "TSHIRT-S-BLUE", "TSHIRT-S-RED"]
    stock = {ref: rng.randint(0, 6) for ref in refs}
    for ref, qty in stock.items():
        put_stock(shop.engine, shop.prefix, key(shop, ref), qty)
    buffer = rng.randint(0, 1)
    with MiraklSimulator(api_key=SIM_KEY, debit_after_polls=1000) as sim:
        orders = generate_orders(12, refs, seed=seed, lines=(1, 3))
        sim.add_orders(orders)
        run(
            shop,
            sim,
            stock_buffer=buffer,
            on_shortage=rng.choice(["leave", "refuse"]),
            partial=rng.random() < 0.5,
        )
        accepted: dict[str, int] = {}
        for o in orders:
            qty_of = {ln["order_line_id"]: (ln["offer_sku"], ln["quantity"]) for ln in o["order_lines"]}
            for body in sim.decisions.get(o["order_id"], []):
                for ln in body["order_lines"]:
                    if ln["accepted"]:
                        sku, qty = qty_of[ln["id"]]
                        accepted[sku] = accepted.get(sku, 0) + qty
    for sku, units in accepted.items():
        assert units <= max(0, stock[sku] - buffer), (sku, units, stock[sku])
    assert reserved(shop.engine, shop.prefix) == {key(shop, s): n for s, n in accepted.items() if n}


def _ctx(app: App) -> TaskContext:
    platform = app.config.platform(CODE)
    return TaskContext(
        app=app,
        platform=platform,
        mirakl=app.mirakl(CODE),
        run_id=uuid.uuid4().hex[:16],
        report=TaskReport(task="accept", platform=CODE, run_id="t", started_at=utcnow()),
        dry_run=False,
        clock=utcnow,
    )
