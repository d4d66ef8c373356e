"""``python -m bridge --config FILE run`` as a real process: systemd notifications, the single-instance
lock, SIGTERM during a run, a second signal, SIGKILL and restart.

Runs are started through the daemon's own HTTP trigger (schedules cannot fire faster than once a
minute; the in-process tests drive the scheduler). The simulator runs in the test process; its
``slow_next`` fault keeps a run busy long enough for a signal to land in it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.sandbox import MiraklSimulator
from tests.daemon_support import CODE, ENV, SIM_KEY, TOKEN, raw_config, task_runs, write_toml

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 90.0
FAR_AWAY = {t: "0 3 1 1 *" for t in ("offers", "accept", "import", "ship")}  # jobs exist, never fire here


def wait_for(what: str, predicate: Callable[[], Any], timeout_s: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NotifySocket:
    """What systemd would receive on $NOTIFY_SOCKET (an abstract unix datagram socket)."""

    def __init__(self) -> None:
        self.name = f"@mirakl-bridge-test-{uuid.uuid4().hex[:12]}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.name[1:])
        self.messages: list[dict[str, str]] = []

    def wait(self, key: str, timeout_s: float = WAIT_S) -> dict[str, str]:
        deadline = time.monotonic() + timeout_s
        for msg in self.messages:
            if key in msg:
                return msg
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                break
            msg = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append(msg)
            if key in msg:
                return msg
        raise AssertionError(f"no {key} notification (got {self.messages})")

    def close(self) -> None:
        self.sock.close()


class DaemonProcess:
    def __init__(self, config: Path, workdir: Path, name: str) -> None:
        self.notify = NotifySocket()
        self.log_path = workdir / f"{name}.log"
        self.err_path = workdir / f"{name}.err"
        env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT), "NOTIFY_SOCKET": self.notify.name}
        env.pop("WATCHDOG_USEC", None)
        with open(self.log_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "bridge", "--config", str(config), "run"],
                                         cwd=ROOT, env=env, stdout=out, stderr=err)

    def ready(self) -> DaemonProcess:
        try:
            self.notify.wait("READY")
        except AssertionError:
            raise AssertionError(f"daemon not ready; exit={self.proc.poll()} stderr={self.stderr()[-2000:]}"
                                 f" log={self.log()[-2000:]}") from None
        return self

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self) -> int:
        return self.proc.wait(timeout=WAIT_S)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT_S)
        self.notify.close()


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=SIM_KEY, debit_after_polls=1000) as s:
        yield s


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Callable[[Path, str], DaemonProcess]]:
    started: list[DaemonProcess] = []

    def start(config: Path, name: str = "daemon") -> DaemonProcess:
        d = DaemonProcess(config, tmp_path, f"{name}{len(started)}")
        started.append(d)
        return d

    yield start
    for d in started:
        d.close()


def config_file(tmp_path: Path, shop: Any, sim: MiraklSimulator, raw: dict[str, Any] | None = None) -> tuple[Path, str]:
    port = free_port()
    raw = raw or raw_config(shop.url, shop.prefix, sim.url, schedule=FAR_AWAY)
    raw["http"] = {"enabled": True, "bind": "127.0.0.1", "port": port}
    raw["daemon"] = {**raw.get("daemon", {}), "min_manual_interval_s": 0, "stop_timeout_s": 30}
    raw["logging"] = {"format": "json", "level": "info"}
    return write_toml(raw, tmp_path / "config.toml"), f"http://127.0.0.1:{port}"


def trigger(url: str, task: str, platform: str = CODE) -> requests.Response:
    return requests.post(f"{url}/tasks/{task}", params={"platform": platform},
                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=WAIT_S)


class Background:
    """An HTTP trigger in a thread (its answer arrives once the run ends)."""

    def __init__(self, url: str, task: str, platform: str = CODE) -> None:
        self.response: requests.Response | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._go, args=(url, task, platform), daemon=True)
        self.thread.start()

    def _go(self, url: str, task: str, platform: str) -> None:
        try:
            self.response = trigger(url, task, platform)
        except BaseException as exc:  # noqa: BLE001 - reported by join()
            self.error = exc

    def join(self) -> requests.Response | None:
        self.thread.join(WAIT_S)
        return self.response


def test_ready_is_notified_a_second_daemon_exits_3_and_sigterm_stops_with_0(tmp_path, shop, sim, daemons) -> None:
    config, url = config_file(tmp_path, shop, sim)
    first = daemons(config).ready()
    assert requests.get(f"{url}/health", timeout=30).status_code == 200

    second = daemons(config, "second")
    assert second.wait() == 3
    assert "another daemon is already running for this shop database" in second.stderr()
    assert any(e.get("event") == "daemon.already_running" for e in second.events())

    first.signal(signal.SIGTERM)
    assert first.wait() == 0
    assert first.notify.wait("STOPPING")["STOPPING"] == "1"
    events = [e.get("event") for e in first.events()]
    assert "daemon.started" in events and "daemon.stopping" in events and "daemon.stopped" in events


def test_sigterm_during_a_run_lets_it_commit_the_order_in_hand_and_report_partial(tmp_path, shop, sim,
                                                                                  daemons) -> None:
    orders = [sim.add_order(skus=["MUG"], quantities=[1], created_date=f"2026-01-05T0{i}:00:00Z") for i in range(3)]
    sim.slow_next(1, delay_s=3.0, endpoint="OR21")
    config, url = config_file(tmp_path, shop, sim)
    d = daemons(config).ready()

    call = Background(url, "accept")
    wait_for("the first OR21", lambda: sim.requests_to("OR21"))
    d.signal(signal.SIGTERM)
    response = call.join()
    assert d.wait() == 0

    assert response is not None and response.status_code == 200, call.error
    report = response.json()
    assert report["status"] == "partial" and "stopped" in report["reason"]
    assert report["counts"]["accepted"] == 1
    assert [o["order_id"] for o in orders if sim.decisions.get(o["order_id"])] == [orders[0]["order_id"]]
    runs = task_runs(shop.engine, shop.prefix)
    assert [(r["task"], r["trigger"], r["status"]) for r in runs] == [("accept", "http", "partial")]


def test_a_second_signal_exits_at_once_with_130(tmp_path, shop, sim, daemons) -> None:
    sim.add_order(skus=["MUG"], quantities=[1])
    sim.slow_next(1, delay_s=30.0, endpoint="OR11")
    config, url = config_file(tmp_path, shop, sim)
    d = daemons(config).ready()
    Background(url, "accept")
    wait_for("the OR11 call", lambda: sim.requests_to("OR11"))
    d.signal(signal.SIGTERM)
    d.notify.wait("STOPPING")
    d.signal(signal.SIGTERM)
    assert d.wait() == 130
    assert "second signal" in d.stderr()


def test_a_killed_daemon_restarts_closes_the_interrupted_run_and_does_not_accept_twice(tmp_path, shop, sim,
                                                                                       daemons) -> None:
    orders = [sim.add_order(skus=["MUG"], quantities=[1], created_date=f"2026-01-05T0{i}:00:00Z") for i in range(3)]
    sim.slow_next(1, delay_s=2.0, endpoint="OR21")
    config, url = config_file(tmp_path, shop, sim)
    first = daemons(config).ready()
    Background(url, "accept")
    wait_for("the first OR21", lambda: sim.requests_to("OR21"))
    first.signal(signal.SIGKILL)
    assert first.wait() == -signal.SIGKILL
    # Mirakl applies the call the killed process never saw answered
    wait_for("Mirakl to apply the first acceptance", lambda: sim.decisions.get(orders[0]["order_id"]))
    assert [r["status"] for r in task_runs(shop.engine, shop.prefix)] == ["running"]

    second = daemons(config, "restarted").ready()
    rerun = trigger(url, "accept")
    second.signal(signal.SIGTERM)
    assert second.wait() == 0

    assert rerun.status_code == 200 and rerun.json()["status"] == "ok", rerun.text
    runs = task_runs(shop.engine, shop.prefix)
    assert [(r["status"], r["error"]) for r in runs][0] == ("failed", "interrupted (process stopped during the run)")
    assert runs[1]["status"] == "ok"
    # every order answered exactly once on Mirakl, the first one included
    assert {o["order_id"]: len(sim.decisions.get(o["order_id"], [])) for o in orders} == {
        o["order_id"]: 1 for o in orders}


def test_sigterm_during_an_import_leaves_no_partial_order_and_the_restart_imports_the_rest_once(
    tmp_path, shop, daemons, monkeypatch
) -> None:
    from sqlalchemy import text

    from tests.e2e import import_support as imp
    from tests.invariants import order_invariants

    imp.set_stock(shop.engine, shop.ids, {sku: 500 for sku in imp.SKUS})
    orders = imp.recent_orders(40, seed=8)  # enough for the signal to land mid-run
    with MiraklSimulator(api_key=imp.API_KEY) as sim:
        sim.add_orders(orders)
        raw = imp.config_dict(shop.url, sim.url, carrier_reference=shop.ids.carriers["colissimo"].id_reference)
        raw["platforms"][0]["schedule"] = dict(FAR_AWAY)
        config, url = config_file(tmp_path, shop, sim, raw)
        for key, value in imp.ENV.items():
            monkeypatch.setenv(key, value)  # the daemon process inherits the API key variable
        first = daemons(config).ready()

        def imported() -> int:
            with shop.engine.connect() as conn:
                return int(conn.execute(text(
                    f"SELECT COUNT(*) FROM `{shop.prefix}mirakl_bridge_order` WHERE `status` = 'imported'"
                )).scalar() or 0)

        call = Background(url, "import", imp.CODE)
        wait_for("the first imported order", imported)
        first.signal(signal.SIGTERM)
        response = call.join()
        assert first.wait() == 0
        assert response is not None and response.status_code == 200, call.error
        report = response.json()
        assert report["status"] == "partial" and "stopped" in report["reason"], report
        done = imported()
        assert 0 < done < len(orders), done

        with shop.engine.connect() as conn:
            # no partial order: every PrestaShop order is a whole imported order, nothing dangles
            assert sum(imp.ps_orders_by_mirakl_id(conn).values()) == done
            assert all(n == 0 for n in imp.orphan_counts(conn).values()), imp.orphan_counts(conn)
            for row in imp.map_rows(conn).values():
                if row["status"] == "imported":
                    assert order_invariants(conn, shop.prefix, row["id_order"]) == []

        second = daemons(config, "restarted").ready()
        rerun = trigger(url, "import", imp.CODE)
        second.signal(signal.SIGTERM)
        assert second.wait() == 0
    assert rerun.json()["status"] == "ok", rerun.text
    with shop.engine.connect() as conn:
        assert imp.ps_orders_by_mirakl_id(conn) == {o["order_id"]: 1 for o in orders}
        assert all(n == 0 for n in imp.orphan_counts(conn).values())
