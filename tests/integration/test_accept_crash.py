"""A process killed between OR21 and its record: the reservation holds, the re-run settles, no second OR21."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

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
)

from bridge.faults import FAULT_ENV
from bridge.jobs.accept import FAULT_AFTER_OR21
from bridge.jobs.runner import run_task
from bridge.sandbox import MiraklSimulator
from bridge.wiring import App

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import json, os
from bridge.config import config_from_dict
from bridge.jobs.runner import run_task
from bridge.wiring import App
cfg = config_from_dict(json.loads(os.environ["TEST_ACCEPT_CONFIG"]), os.environ)
report = run_task(App(cfg), "accept", os.environ["TEST_ACCEPT_PLATFORM"], force=True)
print(report.to_json())
"""


def run_child(shop, sim, *, fault: str | None, **acceptance) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    env.update(
        PYTHONPATH=str(ROOT),
        TEST_MIRAKL_KEY=SIM_KEY,
        TEST_ACCEPT_PLATFORM=CODE,
        TEST_ACCEPT_CONFIG=json.dumps(raw_config(shop.url, shop.prefix, {CODE: sim.url}, **acceptance)),
    )
    if fault:
        env[FAULT_ENV] = fault
    return subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_crash_after_or21_keeps_the_reservation_and_the_rerun_records_acceptance_without_resending(
    shop,
) -> None:
    with MiraklSimulator(api_key=SIM_KEY, debit_after_polls=1000) as sim:
        first = sim.add_order(skus=["MUG"], quantities=[2], created_date="2026-01-05T08:00:00Z")
        second = sim.add_order(skus=["SOCKS"], quantities=[1], created_date="2026-01-05T09:00:00Z")
        mug = (shop.ids.product("MUG").id_product, 0)

        crashed = run_child(shop, sim, fault=FAULT_AFTER_OR21)

        assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]  # killed at the fault point
        assert answers(sim, first["order_id"]) == [{f"{first['order_id']}-1": True}]  # Mirakl got it
        assert answers(sim, second["order_id"]) == []  # the process died before the next order's OR21
        for order in (first, second):  # one batch: both decisions were recorded before the first OR21
            row = map_row(shop.engine, shop.prefix, order["order_id"])
            assert row is not None and row.status == "accepting"
            assert [ln["phase"] for ln in line_rows(shop.engine, shop.prefix, order["order_id"])] == ["intended"]
        # between the crash and the re-run the units of both are still counted against the stock
        socks = (shop.ids.product("SOCKS").id_product, 0)
        assert reserved(shop.engine, shop.prefix) == {mug: 2, socks: 1}

        app = App(make_config(shop.url, shop.prefix, sim.url))
        report = run_task(app, "accept", CODE, force=True)
        app.close()

        assert report.status == "ok", report.to_json()
        # the first is recorded as Mirakl has it (accepted), the second (still waiting) sent with its recorded decision
        assert report.counts["reconciled"] == 2
        assert answers(sim, first["order_id"]) == [{f"{first['order_id']}-1": True}]  # still exactly one OR21
        assert answers(sim, second["order_id"]) == [{f"{second['order_id']}-1": True}]
        row = map_row(shop.engine, shop.prefix, first["order_id"])
        assert row.status == "accepted"
        assert [
            (ln["decision"], ln["reason"], ln["phase"], ln["units_reserved"])
            for ln in line_rows(shop.engine, shop.prefix, first["order_id"])
        ] == [("accept", "in_stock", "confirmed", 2)]
        assert reserved(shop.engine, shop.prefix) == {mug: 2, socks: 1}


def test_a_crash_in_the_middle_of_a_batch_s_or21_calls_answers_nothing_twice_and_oversells_nothing(
    shop,
) -> None:
    mug = (shop.ids.product("MUG").id_product, 0)
    with MiraklSimulator(api_key=SIM_KEY, debit_after_polls=1000) as sim:
        put_stock(shop.engine, shop.prefix, mug, 3)
        orders = [
            sim.add_order(skus=["MUG"], quantities=[1], created_date=f"2026-01-06T0{i}:00:00Z") for i in range(4)
        ]
        ids = [o["order_id"] for o in orders]

        crashed = run_child(shop, sim, fault=f"{FAULT_AFTER_OR21}:2", batch_size=10)  # after the 2nd OR21

        assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
        assert [len(answers(sim, oid)) for oid in ids] == [1, 1, 0, 0]
        statuses = [map_row(shop.engine, shop.prefix, oid).status for oid in ids]
        assert statuses == ["accepting", "accepting", "accepting", "seen"]  # the 4th was left: no stock
        assert reserved(shop.engine, shop.prefix) == {mug: 3}  # the whole batch's decisions hold the stock

        app = App(make_config(shop.url, shop.prefix, sim.url, batch_size=10))
        report = run_task(app, "accept", CODE, force=True)
        app.close()

        assert report.status == "ok", report.to_json()
        # 2 settled as accepted, the 3rd (never sent, still waiting on Mirakl) sent with its recorded
        # decision (its units stayed reserved), never released to be decided again
        assert report.counts["reconciled"] == 3
        assert "accepted" not in report.counts and report.counts["left_pending"] == 1
        assert sorted((i["order_id"], i["status"]) for i in report.items["reconciled"]) == sorted(
            (oid, "accepted") for oid in ids[:3]
        )
        assert [answers(sim, oid) for oid in ids] == [[{f"{oid}-1": True}] for oid in ids[:3]] + [[]]
        assert [map_row(shop.engine, shop.prefix, oid).status for oid in ids] == ["accepted"] * 3 + ["seen"]
        assert reserved(shop.engine, shop.prefix) == {mug: 3}  # nothing beyond the stock


def test_without_the_fault_variable_the_same_child_runs_to_the_end(shop) -> None:
    with MiraklSimulator(api_key=SIM_KEY, debit_after_polls=1000) as sim:
        o = sim.add_order(skus=["MUG"], quantities=[1])
        done = run_child(shop, sim, fault=None)
        assert done.returncode == 0, done.stderr[-2000:]
        report = json.loads(done.stdout[done.stdout.index("{\n") :])
        assert report["counts"]["accepted"] == 1
        assert map_row(shop.engine, shop.prefix, o["order_id"]).status == "accepted"
