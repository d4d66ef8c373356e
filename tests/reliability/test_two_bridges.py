"""Two bridges on one shop: a second daemon, manual runs and HTTP triggers racing the daemon, and
bridges whose named locks are gone (a cut lock connection) running side by side.
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
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bridge.sandbox.mirakl_sim import MiraklSimulator
from tests.daemon_support import write_toml
from tests.e2e.import_support import ENV
from tests.reliability.harness import (
    SCARCE_STOCK,
    Runs,
    assert_clean,
    audit,
    make_app,
    prepare,
    raw_config,
    settle,
    waiting_orders,
)

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("crash_worker.py")
TOKEN = "two-bridges-token-8c1f"
SAFETY_TIMEOUT_S = 120


def _env() -> dict[str, str]:
    return {**os.environ, **ENV, "BRIDGE_HTTP_TOKEN": TOKEN, "PYTHONPATH": str(ROOT)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _daemon_config(shop: Any, sim: MiraklSimulator, path: Path, port: int) -> Path:
    raw = raw_config(shop, sim.url, platform={"schedule": {t: "" for t in ("offers", "accept", "import", "ship")}})
    raw["http"] = {"enabled": True, "port": port}
    raw["daemon"] = {"min_manual_interval_s": 0, "stop_timeout_s": 30}
    return write_toml(raw, path)


def _start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "bridge", "--config", str(config), "run"], cwd=ROOT,
                                env=_env(), stdout=out, stderr=subprocess.STDOUT)


def _wait_http(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SAFETY_TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the daemon exited with {proc.returncode}"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # 503 (nothing ran yet) is an answer too
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the daemon's HTTP endpoint never answered")


def _trigger(port: int, task: str, out: list[str]) -> None:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/tasks/{task}?force=1",
                                 headers={"Authorization": f"Bearer {TOKEN}"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=SAFETY_TIMEOUT_S) as answer:
            out.append(json.loads(answer.read())["status"])
    except urllib.error.HTTPError as exc:
        out.append(json.loads(exc.read()).get("status", f"http {exc.code}"))


def _worker(task: str, config: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(WORKER), task, str(config), *extra], cwd=ROOT, env=_env(),
                            text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def _status(stdout: str) -> str:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1])["status"] if lines else "no report"


def test_a_second_daemon_refuses_to_start_and_manual_runs_racing_the_daemon_duplicate_nothing(
        shop: Any, sim: MiraklSimulator, tmp_path: Path) -> None:
    orders = waiting_orders(16, seed=700)
    initial = prepare(shop, sim, orders[:8], SCARCE_STOCK)
    port_a, port_b = _free_port(), _free_port()
    config_a = _daemon_config(shop, sim, tmp_path / "a.toml", port_a)
    config_b = _daemon_config(shop, sim, tmp_path / "b.toml", port_b)
    worker_config = tmp_path / "worker.json"
    worker_config.write_text(json.dumps(raw_config(shop, sim.url)), encoding="utf-8")
    runs = Runs()
    first = _start_daemon(config_a, tmp_path / "a.log")
    try:
        _wait_http(port_a, first)
        second = subprocess.run([sys.executable, "-m", "bridge", "--config", str(config_b), "run"], cwd=ROOT,
                                env=_env(), capture_output=True, text=True, timeout=SAFETY_TIMEOUT_S, check=False)
        assert second.returncode == 3, second.stderr[-2000:]
        assert "another daemon is already running" in second.stderr
        for round_no in range(3):
            if round_no == 1:
                sim.add_orders(orders[8:])
            statuses: list[str] = []
            threads = [threading.Thread(target=_trigger, args=(port_a, task, statuses)) for task in ("accept", "import")]
            workers = [_worker(task, worker_config) for task in ("accept", "import", "accept")]
            for t in threads:
                t.start()
            for t in threads:
                t.join(SAFETY_TIMEOUT_S)
            statuses += [_status(w.communicate(timeout=SAFETY_TIMEOUT_S)[0]) for w in workers]
            for s in statuses:
                runs.note(s)
            assert "failed" not in statuses, statuses
            sim.advance()
        first.send_signal(signal.SIGKILL)
        first.wait(SAFETY_TIMEOUT_S)
        runs.note("killed")
        # the lock died with the first daemon's connection: the second one starts now
        second_daemon = _start_daemon(config_b, tmp_path / "b.log")
        try:
            _wait_http(port_b, second_daemon)
            statuses = []
            _trigger(port_b, "import", statuses)
            runs.note(statuses[0])
        finally:
            second_daemon.send_signal(signal.SIGTERM)
            assert second_daemon.wait(SAFETY_TIMEOUT_S) == 0
    finally:
        if first.poll() is None:
            first.kill()
    app = make_app(shop, sim)
    try:
        settle(app, sim, runs)
    finally:
        app.close()
    assert_clean(audit(shop, sim, scenario="Two bridges: daemon + manual runs + HTTP", runs=runs, initial=initial))


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_bridges_running_side_by_side_without_their_named_locks_never_accept_beyond_stock(
        shop: Any, sim: MiraklSimulator, tmp_path: Path, seed: int) -> None:
    """What a bridge whose lock connection was cut does: the database row locks alone keep them apart."""
    initial = prepare(shop, sim, waiting_orders(24, seed=800 + seed), SCARCE_STOCK)
    config = tmp_path / "worker.json"
    config.write_text(json.dumps(raw_config(shop, sim.url)), encoding="utf-8")
    runs = Runs()
    for task in ("accept", "import"):
        workers = [_worker(task, config, "--direct", "--wait-go") for _ in range(3)]
        for w in workers:
            assert w.stdout is not None and w.stdout.readline().strip() == "ready"
        for w in workers:
            assert w.stdin is not None
            w.stdin.write("go\n")
            w.stdin.flush()
        for w in workers:
            runs.note(_status(w.communicate(timeout=SAFETY_TIMEOUT_S)[0]))
        sim.advance()
    app = make_app(shop, sim)
    try:
        settle(app, sim, runs)
    finally:
        app.close()
    assert_clean(audit(shop, sim, scenario="Two bridges: no named locks (lock connection cut)", runs=runs,
                       initial=initial, extra={"seed": seed}))
