"""Shared set-up of the order benchmarks (``accept_bench.py``, ``import_bench.py``).

A generated catalogue (stock raised so that no line is short), ``K`` two-line Mirakl orders over its
combination references in the simulator, and one run of the task in its own process with:
orders/s over the whole run and without the time spent in Mirakl calls (the client's request hook
times every HTTP call), peak RSS, and SQL statements / round trips per order (a SQLAlchemy
``before_cursor_execute`` counter; round trips also count commits, rollbacks, pool resets and the
pool's pre-ping at each checkout), and the process's CPU time (less noisy than wall time on a shared machine).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

try:
    from benchmarks import common
except ImportError:  # run as a script
    import common  # type: ignore[no-redef]

STOCK = 1_000_000


def phase_prepare(url: str, products: str) -> dict[str, Any]:
    from sqlalchemy import text

    from bridge.shop.db import make_engine
    from bridge.testshop.bulk import generate_catalog

    common.build_shop(url)
    engine = make_engine(url)
    try:
        generate_catalog(engine, int(products), 4.0, prefix=common.PREFIX)
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE `{common.PREFIX}stock_available` SET quantity = :q, physical_quantity = :q"),
                         {"q": STOCK})
            skus = list(conn.execute(text(f"SELECT reference FROM `{common.PREFIX}product_attribute` "
                                          "ORDER BY id_product_attribute")).scalars())
            carrier = conn.execute(text(f"SELECT id_reference FROM `{common.PREFIX}carrier` WHERE deleted = 0 "
                                        "ORDER BY id_carrier LIMIT 1")).scalar_one()
    finally:
        engine.dispose()
    common.analyze(url)
    return {"skus": skus, "carrier_reference": int(carrier)}


def orders_for(k: int, skus: list[str], *, state: str, seed: int = 7) -> list[dict[str, Any]]:
    """``k`` two-line EUR orders, created over the last days (inside the first import window), none to
    Italy (the test shop has no 22 % tax: such orders would rightly be held)."""
    from bridge.sandbox.orders_gen import generate_orders

    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=7 * (2 * k + 20))
    made = generate_orders(2 * k + 20, skus, seed=seed, state=state, start=start, lines=(2, 2))
    kept = [o for o in made if o["customer"]["shipping_address"]["country_iso_code"] != "ITA"]
    if len(kept) < k:
        raise RuntimeError("not enough non-Italian orders generated")
    return kept[-k:]


def phase_run(task: str, url: str, sim_url: str, carrier_reference: str) -> dict[str, Any]:
    from importlib import import_module

    from sqlalchemy import event

    from bridge.jobs.runner import TASK_MODULES, run_task

    app = common.app_for(url, sim_url, orders={"carriers": {"STD": int(carrier_reference)}})
    app.shop  # noqa: B018 - reflection and shop context are start-up costs, not the run's
    import_module(TASK_MODULES[task])  # so is importing the task's modules (a daemon has them loaded)
    app.mirakl(common.CODE)  # and the platform's client (created once, kept by the daemon between runs)
    mirakl = {"calls": 0, "seconds": 0.0}

    def hook(_code: str, _endpoint: str, _status: int | None, duration_s: float) -> None:
        mirakl["calls"] += 1
        mirakl["seconds"] += duration_s

    app.request_hooks.append(hook)
    counter = common.SqlCounter().attach(app.engine)
    pings = {"n": 0}  # pool_pre_ping: a checkout pings the server (a round trip no cursor event sees)
    if app.engine.pool._pre_ping:  # the pool's own setting
        event.listen(app.engine.pool, "checkout", lambda *_: pings.__setitem__("n", pings["n"] + 1))
    t0, c0 = time.perf_counter(), time.process_time()
    report = run_task(app, task, common.CODE)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    app.close()
    return {"wall_s": wall, "peak_rss_mb": common.peak_rss_mb(), "status": report.status, "counts": report.counts,
            "reason": report.reason, "errors": report.errors[:3], "mirakl_s": mirakl["seconds"],
            "mirakl_calls": mirakl["calls"], "statements": counter.statements,
            "round_trips": counter.round_trips + pings["n"], "pings": pings["n"], "cpu_s": cpu,
            "by_verb": counter.by_verb}


def main(task: str, state: str, doc: str, script: str, done_key: str,
         before: Callable[[Any], None] | None = None) -> None:
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--orders", type=int, default=1000, help="K orders (two lines each)")
    ap.add_argument("--products", type=int, default=2000, help="catalogue products (4 combinations each)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--server", default=None)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--phase", nargs="+", help="(internal)")
    args = ap.parse_args()
    if args.phase:
        common.phase_main({"prepare": phase_prepare, "run": lambda *a: phase_run(task, *a)}, args.phase)
        return
    from bridge.sandbox import MiraklSimulator

    server = common.server_url(args.server)
    runs = []
    for i in range(args.repeat):
        with common.scratch_database(server, f"mb_bench_{task}", keep=args.keep) as url:
            if i == 0:
                common.print_machine(url)
            prep = common.run_phase(script, "prepare", url, str(args.products))
            with MiraklSimulator(api_key=common.KEY) as sim:
                sim.add_orders(orders_for(args.orders, prep["skus"], state=state, seed=7 + i))
                if before is not None:
                    before(sim)
                r = common.run_phase(script, "run", url, sim.url, str(prep["carrier_reference"]))
            runs.append(r)
            done = r["counts"].get(done_key, 0)
            print(f"  repetition {i + 1}/{args.repeat}: {r['wall_s']:.2f} s (CPU {r['cpu_s']:.2f} s), {done} {done_key}, Mirakl "
                  f"{r['mirakl_s']:.2f} s in {r['mirakl_calls']} calls, status {r['status']} {r['errors'] or ''}",
                  flush=True)
    k = args.orders
    walls = [r["wall_s"] for r in runs]
    local = [r["wall_s"] - r["mirakl_s"] for r in runs]
    r0 = runs[0]
    print(f"{task}: {k} two-line orders, {r0['counts'].get(done_key, 0)} {done_key}")
    print(f"  wall           : {common.spread(walls)} s -> {k / min(walls):,.0f} orders/s")
    print(f"  without Mirakl : {common.spread(local)} s -> {k / min(local):,.0f} orders/s "
          f"(Mirakl calls {common.spread([r['mirakl_s'] for r in runs])} s, {r0['mirakl_calls']} calls)")
    print(f"  CPU (process)  : {common.spread([r['cpu_s'] for r in runs])} s -> {1000 * min(r['cpu_s'] for r in runs) / k:.2f} "
          "ms/order")
    print(f"  peak RSS       : {max(r['peak_rss_mb'] for r in runs):.0f} MB")
    print(f"  SQL            : {r0['statements'] / k:.1f} statements/order, {r0['round_trips'] / k:.1f} round "
          f"trips/order ({r0['statements']} statements, {r0['round_trips']} round trips incl. {r0['pings']} pool pings; "
          f"by verb {r0['by_verb']})")
