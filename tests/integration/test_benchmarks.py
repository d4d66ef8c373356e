"""The benchmark scripts (issue 11) run end to end at a small size and their runs do what they say.

Speed is never judged here (no timed assertion): only that each script completes, and that the
counts each phase prints hold together (what the full export sent is accepted; the delta sends the
rows the script changed; the export left pending is applied by the next run).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str, server: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args, "--server", server],
                         capture_output=True, text=True, env=env, timeout=600, check=False)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    return out.stdout


def _phase(stdout: str, label: str) -> dict[str, str]:
    line = next(ln for ln in stdout.splitlines() if ln.startswith(f"{label:<10}:"))
    return dict(re.findall(r"(sent|accepted|full_sync|status) (\w+)", line))


def test_the_offers_benchmark_runs_every_phase(db_server_url: str) -> None:
    out = _run("offers_bench.py", "--products", "100", "--combinations", "2", "--repeat", "1", server=db_server_url)
    assert re.search(r"^floor \(catalogue SELECT\) +: [\d.]+ s for 200 rows", out, re.M), out
    phases = {label: _phase(out, label) for label in ("full", "unchanged", "resync", "delta 1%", "pending", "settle")}
    assert all(p["status"] == "ok" for p in phases.values()), phases
    sent = int(phases["full"]["sent"])
    assert sent > 150 and int(phases["full"]["accepted"]) == sent and phases["full"]["full_sync"] == "True"
    assert phases["unchanged"]["sent"] == "0"
    assert int(phases["resync"]["sent"]) == sent and phases["resync"]["full_sync"] == "True"
    changed = int(re.search(r"\(delta: (\d+) stock rows changed", out).group(1))  # type: ignore[union-attr]
    assert changed > 0 and int(phases["delta 1%"]["sent"]) == int(phases["delta 1%"]["accepted"]) == changed
    assert int(phases["pending"]["sent"]) == sent and phases["pending"]["accepted"] == "0"  # left pending
    assert int(phases["settle"]["accepted"]) == sent and phases["settle"]["sent"] == "0"  # applied next run
    assert "own time (wall - waiting for Mirakl to process the file)" in out
    assert "full against the packed read instead of the floor" in out


@pytest.mark.parametrize(("script", "verb"), [("accept_bench.py", "accepted"), ("import_bench.py", "imported")])
def test_the_order_benchmarks_run(db_server_url: str, script: str, verb: str) -> None:
    out = _run(script, "--orders", "20", "--repeat", "1", server=db_server_url)
    assert re.search(rf"^\w+: 20 two-line orders, 20 {verb}$", out, re.M), out
    assert "status ok" in out and re.search(r"round trips/order", out), out
