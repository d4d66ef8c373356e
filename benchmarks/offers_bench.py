"""Benchmark of the ``offers`` task on a generated catalogue (fresh MariaDB database + simulator).

    PYTHONPATH=. python benchmarks/offers_bench.py [N_OFFERS=50000] [--server mysql+pymysql://root@127.0.0.1:3306]

Phases, each measured in its own subprocess so that peak RSS belongs to that phase only (the
simulator runs in this orchestrating process):

- floor: the raw streamed SELECT of the catalogue columns (what any exporter must at least read);
- full: first run, every offer new (complete price algorithm, CSV, OF01, OF02, state writes);
- unchanged: second run, nothing changed (no call);
- delta: 1 % of the stock rows changed, then a run.

Prints wall time, offers/s, peak RSS and the ratio of each run to the floor.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

KEY = "bench-key-0123456789"
PREFIX = "ps_"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _app(url: str, sim_url: str) -> Any:
    from bridge.config import config_from_dict
    from bridge.wiring import App

    raw = {"shop": {"database_url": url, "table_prefix": PREFIX}, "daemon": {"min_manual_interval_s": 0},
           "platforms": [{"code": "bench", "api_url": sim_url, "api_key_env": "BENCH_KEY", "read_timeout_s": 120,
                          "offers": {"import_wait_s": 60, "poll_interval_s": 0.05}}]}
    return App(config_from_dict(raw, {"BENCH_KEY": KEY}))


def phase_prepare(url: str, n_offers: int) -> dict[str, Any]:
    from bridge.shop.db import make_engine
    from bridge.state.tables import bridge_tables
    from bridge.testshop.bulk import generate_catalog
    from bridge.testshop.seed import build_test_shop

    engine = make_engine(url)
    t0 = time.perf_counter()
    build_test_shop(engine, prefix=PREFIX, products=False)
    bridge_tables(PREFIX).metadata.create_all(engine)
    stats = generate_catalog(engine, n_offers // 4, 4.0, prefix=PREFIX)
    from sqlalchemy import text

    with engine.begin() as conn:  # the generator leaves products at PrestaShop's default active = 0
        for table in ("product", "product_shop"):
            conn.execute(text(f"UPDATE `{PREFIX}{table}` SET active = 1"))
    engine.dispose()
    return {"offers": stats.offers, "specific_prices": stats.specific_prices, "seconds": time.perf_counter() - t0}


def phase_floor(url: str) -> dict[str, Any]:
    from bridge.shop.catalog import stream_catalog
    from bridge.shop.shop import Shop

    shop = Shop.connect(url, PREFIX, 1)
    t0 = time.perf_counter()
    rows = 0
    with shop.engine.connect() as conn:
        for chunk in stream_catalog(conn, shop.tables, shop.context):
            rows += len(chunk)
    return {"rows": rows, "wall_s": time.perf_counter() - t0, "peak_rss_mb": _peak_rss_mb()}


def phase_run(url: str, sim_url: str) -> dict[str, Any]:
    from bridge.jobs.runner import run_task

    app = _app(url, sim_url)
    app.shop  # noqa: B018 - reflection and context are start-up costs, not the run's
    t0 = time.perf_counter()
    report = run_task(app, "offers", "bench")
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "peak_rss_mb": _peak_rss_mb(), "status": report.status, "counts": report.counts,
            "reason": report.reason}


def phase_touch(url: str, percent: int) -> dict[str, Any]:
    from sqlalchemy import text

    from bridge.shop.db import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        res = conn.execute(text(f"UPDATE `{PREFIX}stock_available` SET quantity = quantity + 1 "
                                "WHERE MOD(id_stock_available, :m) = 0"), {"m": 100 // percent})
    engine.dispose()
    return {"rows_changed": res.rowcount}


def _sub(*args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--phase", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("offers", nargs="?", type=int, default=50_000)
    ap.add_argument("--server", default="mysql+pymysql://root@127.0.0.1:3306")
    ap.add_argument("--keep", action="store_true", help="keep the database")
    ap.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        kind, *rest = args.phase
        fn = {"prepare": lambda: phase_prepare(rest[0], int(rest[1])), "floor": lambda: phase_floor(rest[0]),
              "run": lambda: phase_run(rest[0], rest[1]), "touch": lambda: phase_touch(rest[0], int(rest[1]))}[kind]
        print(json.dumps(fn(), default=str))
        return

    from bridge.sandbox import MiraklSimulator
    from bridge.testshop import dbserver

    name = dbserver.new_database_name("mb_bench")
    url = dbserver.create_database(args.server, name)
    try:
        prep = _sub("prepare", url, str(args.offers))
        print(f"catalogue: {prep['offers']} offers, {prep['specific_prices']} specific prices "
              f"(generated in {prep['seconds']:.1f} s)")
        floor = _sub("floor", url)
        print(f"floor     : {floor['wall_s']:.2f} s for {floor['rows']} rows, peak RSS {floor['peak_rss_mb']:.0f} MB")
        with MiraklSimulator(api_key=KEY, import_polls=0) as sim:
            results = {"full": _sub("run", url, sim.url), "unchanged": _sub("run", url, sim.url)}
            touched = _sub("touch", url, "1")
            results["delta 1%"] = _sub("run", url, sim.url)
        for label, r in results.items():
            n = r["counts"].get("catalogue", 0)
            print(f"{label:<10}: {r['wall_s']:.2f} s wall, {n / r['wall_s']:,.0f} offers/s, peak RSS "
                  f"{r['peak_rss_mb']:.0f} MB, {r['wall_s'] / floor['wall_s']:.2f}x floor, status {r['status']}, "
                  f"sent {r['counts'].get('sent', 0)}")
        print(f"(delta: {touched['rows_changed']} stock rows changed)")
    finally:
        if not args.keep:
            dbserver.drop_database(args.server, name)


if __name__ == "__main__":
    main()
