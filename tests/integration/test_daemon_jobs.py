"""The daemon in-process against the test shop and the simulator: jobs, isolation, stop.

Schedules cannot be faster than one minute (config validation), so jobs are fired with
``Daemon.fire_now`` (APScheduler ``next_run_time=now``): the real scheduler, executor and job
wrapper run the real tasks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bridge.config import config_from_dict
from bridge.daemon import EXIT_ALREADY_RUNNING, EXIT_OK, Daemon
from bridge.jobs import runner
from bridge.sandbox import MiraklSimulator
from bridge.wiring import App
from daemon_support import CODE, ENV, SIM_KEY, make_app, raw_config, task_runs

pytestmark = pytest.mark.db

WAIT_S = 60.0


def wait_for(what: str, predicate: Callable[[], Any], timeout_s: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class InThread:
    """A Daemon run in a thread (no signal handlers there); ``stop()`` sets its stop event."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.stop_event = threading.Event()
        self.hard_exits: list[int] = []
        self.daemon = Daemon(app, stop_event=self.stop_event, hard_exit=self.hard_exits.append)
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.code = self.daemon.run()

    def __enter__(self) -> InThread:
        self.thread.start()
        wait_for("the daemon to be ready", lambda: self.daemon.ready.is_set() or self.code is not None)
        return self

    def stop(self) -> int | None:
        self.stop_event.set()
        self.thread.join(WAIT_S)
        assert not self.thread.is_alive(), "the daemon did not stop"
        return self.code

    def __exit__(self, *exc: object) -> None:
        if self.thread.is_alive():
            self.stop()
        self.app.close()


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=SIM_KEY, debit_after_polls=1000) as s:
        yield s


def runs_of(shop: Any, task: str, platform: str = CODE) -> list[dict[str, Any]]:
    return [r for r in task_runs(shop.engine, shop.prefix) if r["task"] == task and r["platform"] == platform]


def finished(shop: Any, task: str, platform: str = CODE) -> list[dict[str, Any]]:
    return [r for r in runs_of(shop, task, platform) if r["status"] != "running"]


def test_each_task_and_platform_is_one_cron_job_with_coalesce_max_instances_and_misfire_grace(shop, sim) -> None:
    app = make_app(shop, sim.url, schedule={"ship": ""}, daemon={"misfire_grace_s": 600, "timezone": "Europe/Paris"})
    with InThread(app) as d:
        jobs = {j.id: j for j in d.daemon.scheduler.get_jobs()}
        assert sorted(jobs) == ["accept:mkp", "import:mkp", "offers:mkp"]
        for job in jobs.values():
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 600)
            assert str(job.trigger.timezone) == "Europe/Paris"
        offers = {f.name: str(f) for f in jobs["offers:mkp"].trigger.fields}
        assert (offers["minute"], offers["hour"], offers["day_of_week"]) == ("0", "*", "mon,tue,wed,thu,fri")
        assert {f.name: str(f) for f in jobs["import:mkp"].trigger.fields}["minute"] == "20"
        assert d.stop() == EXIT_OK
    assert d.hard_exits == []


def test_a_scheduled_run_executes_the_real_task_and_is_recorded_with_its_report(shop, sim) -> None:
    order = sim.add_order(skus=["MUG"], quantities=[1])
    with InThread(make_app(shop, sim.url)) as d:
        d.daemon.fire_now("accept", CODE)
        run = wait_for("the accept run", lambda: finished(shop, "accept"))[0]
        assert d.stop() == EXIT_OK
    assert (run["trigger"], run["status"]) == ("schedule", "ok")
    assert run["report"]["counts"]["accepted"] == 1
    assert [d["order_lines"][0]["accepted"] for d in sim.decisions[order["order_id"]]] == [True]


def test_a_failing_platform_does_not_stop_the_other_platform(shop, sim) -> None:
    raw = raw_config(shop.url, shop.prefix, sim.url)
    bad = dict(raw["platforms"][0], code="bad", api_key_env="BAD_KEY")
    raw["platforms"].append(bad)
    app = App(config_from_dict(raw, {**ENV, "BAD_KEY": "not-the-simulator-key"}))
    order = sim.add_order(skus=["MUG"], quantities=[1])
    with InThread(app) as d:
        d.daemon.fire_now("accept", "bad")
        d.daemon.fire_now("accept", CODE)
        wait_for("both accept runs", lambda: finished(shop, "accept", "bad") and finished(shop, "accept"))
        # the failing platform keeps its job for the next time
        assert d.daemon.scheduler.get_job("accept:bad") is not None
        assert d.stop() == EXIT_OK
    assert finished(shop, "accept", "bad")[0]["status"] == "failed"
    assert "API key" in finished(shop, "accept", "bad")[0]["error"]
    assert finished(shop, "accept")[0]["status"] == "ok"
    assert sim.decisions[order["order_id"]]


def test_a_task_whose_module_is_missing_is_a_failed_run_and_the_daemon_goes_on(shop, sim, monkeypatch) -> None:
    monkeypatch.setitem(runner.TASK_MODULES, "ship", "bridge.jobs.not_installed_here")
    with InThread(make_app(shop, sim.url)) as d:
        d.daemon.fire_now("ship", CODE)
        ship = wait_for("the ship run", lambda: finished(shop, "ship"))[0]
        d.daemon.fire_now("accept", CODE)
        accept = wait_for("the accept run", lambda: finished(shop, "accept"))[0]
        assert d.stop() == EXIT_OK
    assert ship["status"] == "failed" and "task 'ship' is not available" in ship["error"]
    assert ship["report"]["reason"] == ship["error"]
    assert accept["status"] == "ok"


def test_a_stop_during_a_run_ends_it_between_orders_as_partial_and_the_daemon_exits_0(shop, sim) -> None:
    orders = [sim.add_order(skus=["MUG"], quantities=[1], created_date=f"2026-01-05T0{i}:00:00Z") for i in range(3)]
    sim.slow_next(1, delay_s=2.0, endpoint="OR21")  # the first answer takes a while: the stop lands in it
    with InThread(make_app(shop, sim.url)) as d:
        d.daemon.fire_now("accept", CODE)
        wait_for("the first OR21", lambda: sim.requests_to("OR21"))
        assert d.stop() == EXIT_OK
    assert d.hard_exits == []
    run = finished(shop, "accept")[0]
    assert run["status"] == "partial" and "stopped" in run["report"]["reason"]
    assert run["report"]["counts"].get("accepted") == 1  # the order in flight was finished and committed
    answered = [o["order_id"] for o in orders if sim.decisions.get(o["order_id"])]
    assert answered == [orders[0]["order_id"]]


def test_no_new_run_starts_once_the_daemon_is_stopping(shop, sim) -> None:
    sim.add_order(skus=["MUG"], quantities=[1])
    sim.slow_next(1, delay_s=2.0, endpoint="OR11")
    with InThread(make_app(shop, sim.url)) as d:
        d.daemon.fire_now("accept", CODE)
        wait_for("the first OR11", lambda: sim.requests_to("OR11"))
        d.stop_event.set()
        d.daemon._job("import", CODE)  # what a job firing now would do
        assert d.stop() == EXIT_OK
    assert runs_of(shop, "import") == []


def test_a_second_daemon_on_the_same_shop_database_exits_3(shop, sim, capsys) -> None:
    with InThread(make_app(shop, sim.url)) as first:
        second_app = make_app(shop, sim.url)
        try:
            code = Daemon(second_app).run()
        finally:
            second_app.close()
        assert code == EXIT_ALREADY_RUNNING
        assert first.stop() == EXIT_OK
    assert "another daemon is already running for this shop database" in capsys.readouterr().err


def test_runs_left_running_by_a_killed_daemon_are_closed_as_failed_at_start(shop, sim) -> None:
    app = make_app(shop, sim.url)
    app.state.start_run(platform=CODE, task="import", run_id="killed", trigger="schedule", started_at=app.clock())
    with InThread(app) as d:
        assert d.stop() == EXIT_OK
    run = runs_of(shop, "import")[0]
    assert run["status"] == "failed" and "interrupted" in run["error"]


def test_a_lost_database_lock_stops_the_daemon_with_exit_1(shop, sim, monkeypatch) -> None:
    from sqlalchemy import text

    from bridge import daemon as daemon_module

    monkeypatch.setattr(daemon_module, "LOCK_CHECK_S", 0.2)
    with InThread(make_app(shop, sim.url)) as d:
        with shop.engine.connect() as conn:
            holder = conn.execute(text("SELECT IS_USED_LOCK(:n)"), {"n": d.daemon.lock_name}).scalar()
            assert holder is not None
            conn.execute(text("KILL :id"), {"id": int(holder)})  # as a database restart would
        d.thread.join(WAIT_S)
        assert d.code == 1


def test_the_four_real_tasks_run_as_scheduled_jobs_from_offers_to_ship(shop, sim) -> None:
    from tests.e2e.import_support import one_order

    carrier = shop.ids.carriers["colissimo"].id_reference
    app = make_app(shop, sim.url, orders={"carriers": {"STD": carrier}})
    with InThread(app) as d:
        d.daemon.fire_now("offers", CODE)
        offers = wait_for("the offers run", lambda: finished(shop, "offers"))[0]
        order = one_order(["MUG"], [1], seed=5, state="WAITING_ACCEPTANCE")  # not shipped to Italy (no 22 % tax)
        sim.add_orders([order])
        d.daemon.fire_now("accept", CODE)
        accept = wait_for("the accept run", lambda: finished(shop, "accept"))[0]
        sim.advance()  # Mirakl debits the customer: the order goes to SHIPPING
        d.daemon.fire_now("import", CODE)
        imported = wait_for("the import run", lambda: finished(shop, "import"))[0]
        d.daemon.fire_now("ship", CODE)
        ship = wait_for("the ship run", lambda: finished(shop, "ship"))[0]
        assert d.stop() == EXIT_OK
    assert [r["trigger"] for r in (offers, accept, imported, ship)] == ["schedule"] * 4
    assert offers["status"] in ("ok", "partial") and sim.uploads, offers["report"]
    assert accept["status"] == "ok" and accept["report"]["counts"]["accepted"] == 1
    assert imported["status"] == "ok", imported["report"]
    assert [i["order_id"] for i in imported["report"]["items"]["imported"]] == [order["order_id"]]
    assert ship["status"] == "ok", ship["report"]  # not shipped in PrestaShop yet: nothing to confirm
