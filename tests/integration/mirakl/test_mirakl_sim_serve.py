"""``python -m bridge.sandbox`` serves the simulator standalone; a plain HTTP client can list orders."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bridge.sandbox import generate_orders
from bridge.sandbox.serve import dump_orders

REPO = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_python_m_bridge_sandbox_serves_orders_from_a_file(tmp_path: Path) -> None:
    orders_file = tmp_path / "orders.json"
    dump_orders(generate_orders(3, ["A", "B"], seed=9), orders_file)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bridge.sandbox",
            "--port",
            str(port),
            "--api-key",
            "demo-key-1",
            "--orders",
            str(orders_file),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner and "demo-key-1" in banner
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/orders?max=100", headers={"Authorization": "demo-key-1"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = json.loads(resp.read())
        assert resp.status == 200
        assert body["total_count"] == 3
        assert isinstance(body["orders"][0]["price"], (int, float))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
