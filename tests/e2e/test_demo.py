"""The README's first command: `mirakl-bridge demo` runs the four tasks on an embedded shop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_demo(*args: str) -> tuple[list[dict[str, Any]], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    res = subprocess.run([sys.executable, "-m", "bridge", "demo", *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    decoder, text, i, reports = json.JSONDecoder(), res.stdout, 0, []
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        obj, i = decoder.raw_decode(text, i)
        reports.append(obj)
    return reports, res.stderr


def check_cycle(reports: list[dict[str, Any]]) -> None:
    by_task = {r["task"]: r for r in reports}
    assert [r["task"] for r in reports] == ["offers", "accept", "import", "ship"]
    # 7 sellable SKUs in the test shop (virtual, inactive, not-for-sale, empty and duplicated SKUs excluded)
    assert by_task["offers"]["counts"]["sent"] == 7
    accept = by_task["accept"]
    assert accept["counts"]["accepted"] == 1 and accept["counts"]["left_pending"] == 2
    reasons = sorted(ln["reason"] for o in accept["items"]["left_pending"] for ln in o["lines"])
    assert reasons == ["stock_shortage", "unknown_sku"]
    imported = by_task["import"]["items"]["imported"]
    assert len(imported) == 1 and len(imported[0]["reference"]) == 9
    assert by_task["ship"]["counts"]["confirmed"] == 1
    assert all(r["status"] == "ok" for r in reports)


def test_the_demo_runs_the_whole_cycle_on_sqlite_and_keeps_a_usable_config(tmp_path: Path) -> None:
    reports, summary = run_demo("--keep", str(tmp_path))
    check_cycle(reports)
    assert "left pending: " in summary and "MUG: stock_shortage (wanted 15, available 12)" in summary
    assert (tmp_path / "demo-shop.sqlite").exists()
    env = {**os.environ, "DEMO_MIRAKL_KEY": "demo-key-not-secret"}
    res = subprocess.run([sys.executable, "-m", "bridge", "--config", str(tmp_path / "config.toml"), "check",
                          "--offline", "--json"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["prestashop_version"] == "8.1.7"


@pytest.mark.db
def test_the_demo_runs_on_mariadb_with_database_url(fresh_db_url: str) -> None:
    reports, _ = run_demo("--database-url", fresh_db_url, "--json")
    check_cycle(reports)


def test_the_demo_refuses_a_database_that_already_holds_a_shop(tmp_path: Path) -> None:
    run_demo("--keep", str(tmp_path), "--json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGE_")}
    res = subprocess.run([sys.executable, "-m", "bridge", "demo", "--keep", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, env=env)
    assert res.returncode == 2 and "already holds a PrestaShop schema" in res.stderr
