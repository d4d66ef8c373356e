"""Benchmark of the ``offers`` task against the floor, on a generated catalogue (fresh database + simulator).

    PYTHONPATH=. python benchmarks/offers_bench.py [--products 40000] [--combinations 5] [--repeat 3]
        [--server mysql+pymysql://root@127.0.0.1:3306/] [--keep]

Catalogue: ``--products`` × ``--combinations`` offers (``bridge.testshop.bulk.generate_catalog``: two
shops sharing stock, three tax countries, ~10 % of products with specific prices). Each repetition:

- ``floor``: the raw streamed SELECTs of the same columns with nothing computed (driver-level
  unbuffered cursor, no SQLAlchemy result processing): the catalogue query (``catalog_select``), plus
  the offer-state digests the delta needs. Measured before the first run (state empty) and again before
  the delta runs (state filled). For reference, not as the floor: the same catalogue read with its
  numbers packed in one text by the server (``packed_select``, what the task reads on MariaDB/MySQL);
- ``full``: first run, every offer new (complete price algorithm, CSV, OF01 upload, OF02, state);
- ``unchanged``: second run, nothing changed (no call);
- ``resync``: the periodic full resync of a running shop (state holding every offer, ``full`` forced
  by forgetting when the last one ran): every line sent, only changed lines written (none here);
- ``delta 1%``: the stock of 1 % of the combinations changed, then a run (those lines sent);
- ``pending``: a first full export again (state emptied), to a Mirakl still processing the file when the
  run ends (the simulator holds the import; no OF02 wait): the lines are recorded as pending, as happens
  when a real platform takes longer than ``import_wait_s``; ``settle``: the next run once the import is
  done (applies its outcome, then finds nothing to send).

Each phase runs in its own process (peak RSS is the phase's own). Prints wall time, offers/s, peak
RSS, time spent in Mirakl calls, and the ratio bridge / floor of the same repetition. The simulator
runs in this process and, like Mirakl, answers an OF01 upload at once and processes the file in
its own thread (``--sync-imports``: inside the upload request); the bridge waits for it with OF02.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

try:
    from benchmarks import common
except ImportError:  # run as a script
    import common  # type: ignore[no-redef]


def phase_prepare(url: str, products: str, combinations: str) -> dict[str, Any]:
    from bridge.shop.db import make_engine
    from bridge.testshop.bulk import generate_catalog

    t0 = time.perf_counter()
    common.build_shop(url)
    engine = make_engine(url)
    try:
        t1 = time.perf_counter()
        stats = generate_catalog(engine, int(products), float(combinations), prefix=common.PREFIX)
        generated = time.perf_counter() - t1
    finally:
        engine.dispose()
    common.analyze(url)
    return {"offers": stats.offers, "products": stats.products, "specific_prices": stats.specific_prices,
            "priorities": stats.priorities, "generate_s": generated, "total_s": time.perf_counter() - t0}


def _raw_stream(engine: Any, sql: str) -> tuple[int, float]:
    """Rows and seconds of one SELECT through an unbuffered driver cursor, rows discarded."""
    raw = engine.raw_connection()
    try:
        if engine.dialect.name in ("mysql", "mariadb"):
            import pymysql.cursors  # type: ignore[import-untyped]

            cur = raw.driver_connection.cursor(pymysql.cursors.SSCursor)
        else:
            cur = raw.cursor()
        t0 = time.perf_counter()
        cur.execute(sql)
        n = 0
        while True:
            rows = cur.fetchmany(2000)
            if not rows:
                break
            n += len(rows)
        elapsed = time.perf_counter() - t0
        cur.close()
        return n, elapsed
    finally:
        raw.close()


def phase_floor(url: str) -> dict[str, Any]:
    from sqlalchemy import select

    from bridge.shop.catalog import catalog_select, packed_select
    from bridge.shop.shop import Shop
    from bridge.state.offers import OfferStateRepo

    shop = Shop.connect(url, common.PREFIX, 1)
    try:
        def sql(stmt: Any) -> str:
            return str(stmt.compile(dialect=shop.engine.dialect, compile_kwargs={"literal_binds": True}))

        o = OfferStateRepo(shop.engine, common.PREFIX).offer
        rows, catalogue_s = _raw_stream(shop.engine, sql(catalog_select(shop.tables, shop.context)))
        states, state_s = _raw_stream(shop.engine, sql(select(o.c.sku, o.c.hash, o.c.status)
                                                       .where(o.c.platform == common.CODE)))
        # not the floor (the server computes the packing): the same read as the bridge makes it, for reference
        _, packed_s = _raw_stream(shop.engine, sql(packed_select(shop.tables, shop.context)))
    finally:
        shop.dispose()
    return {"rows": rows, "catalogue_s": catalogue_s, "state_rows": states, "state_s": state_s,
            "packed_s": packed_s, "wall_s": catalogue_s + state_s, "peak_rss_mb": common.peak_rss_mb()}


def phase_run(url: str, sim_url: str, mode: str = "auto") -> dict[str, Any]:
    """One ``offers`` run; ``mode`` ``full``: forget when the last full resync ran (so this run is one);
    ``nowait``: no OF02 wait (``import_wait_s = 0``: the lines are recorded as pending, as when Mirakl
    takes longer than the wait)."""
    from importlib import import_module

    from sqlalchemy import delete

    from bridge.jobs.offers import FULL_CURSOR
    from bridge.jobs.runner import TASK_MODULES, run_task
    from bridge.state.tables import bridge_tables

    app = common.app_for(url, sim_url, offers={"import_wait_s": 0 if mode == "nowait" else 300, "poll_interval_s": 0.05})
    app.shop  # noqa: B018 - reflection and shop context are start-up costs, not the run's
    import_module(TASK_MODULES["offers"])  # so is importing the task's modules (a daemon has them loaded)
    app.mirakl(common.CODE)  # and the platform's client (created once, kept by the daemon between runs)
    mirakl = {"calls": 0, "seconds": 0.0}

    def hook(_code: str, _endpoint: str, _status: int | None, duration_s: float) -> None:
        mirakl["calls"] += 1
        mirakl["seconds"] += duration_s

    app.request_hooks.append(hook)
    if mode == "full":
        cursor = bridge_tables(common.PREFIX).cursor
        with app.engine.begin() as conn:
            conn.execute(delete(cursor).where(cursor.c.platform == common.CODE, cursor.c.name == FULL_CURSOR))
    counter = common.SqlCounter().attach(app.engine)
    t0, c0 = time.perf_counter(), time.process_time()
    report = run_task(app, "offers", common.CODE)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    app.close()
    return {"wall_s": wall, "cpu_s": cpu, "full_sync": report.extra.get("full_sync"), "peak_rss_mb": common.peak_rss_mb(), "status": report.status, "counts": report.counts,
            "reason": report.reason, "mirakl_s": mirakl["seconds"], "mirakl_calls": mirakl["calls"],
            "mirakl_wait_s": report.extra.get("mirakl_wait_s", 0.0),
            "statements": counter.statements, "round_trips": counter.round_trips}


def phase_touch(url: str, percent: str) -> dict[str, Any]:
    """Stock +1 on ``percent`` % of the combinations (every ``100/percent``-th id)."""
    from sqlalchemy import text

    from bridge.shop.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            res = conn.execute(text(f"UPDATE `{common.PREFIX}stock_available` SET quantity = quantity + 1 "
                                    "WHERE id_product_attribute <> 0 AND MOD(id_product_attribute, :m) = 0"),
                               {"m": round(100 / float(percent))})
    finally:
        engine.dispose()
    return {"rows_changed": res.rowcount}


def phase_reset(url: str) -> dict[str, Any]:
    """Forget what Mirakl has (the next run is a first, full run)."""
    from sqlalchemy import delete

    from bridge.shop.db import make_engine
    from bridge.state.tables import bridge_tables

    engine = make_engine(url)
    t = bridge_tables(common.PREFIX)
    try:
        with engine.begin() as conn:
            for table in (t.offer, t.offer_import, t.cursor):
                conn.execute(delete(table))
    finally:
        engine.dispose()
    return {}


PHASES = {"prepare": phase_prepare, "floor": phase_floor, "run": phase_run, "touch": phase_touch,
          "reset": phase_reset}


def measure(url: str, repeat: int, *, sync_imports: bool = False) -> dict[str, list[dict[str, Any]]]:
    """``sync_imports``: the simulator checks an OF01 file inside the upload request (the default: after
    answering it, in its own thread, as Mirakl does; either way on the same cores as the bridge)."""
    from bridge.sandbox import MiraklSimulator

    out: dict[str, list[dict[str, Any]]] = {k: [] for k in ("floor", "full", "floor_state", "unchanged", "resync",
                                                             "delta", "pending", "settle")}
    with MiraklSimulator(api_key=common.KEY, import_polls=0, async_imports=not sync_imports) as sim:
        for i in range(repeat):
            common.run_phase(__file__, "reset", url)
            out["floor"].append(common.run_phase(__file__, "floor", url))
            out["full"].append(common.run_phase(__file__, "run", url, sim.url))
            out["floor_state"].append(common.run_phase(__file__, "floor", url))
            out["unchanged"].append(common.run_phase(__file__, "run", url, sim.url))
            out["resync"].append(common.run_phase(__file__, "run", url, sim.url, "full"))
            touched = common.run_phase(__file__, "touch", url, "1")
            delta = common.run_phase(__file__, "run", url, sim.url)
            delta["rows_changed"] = touched["rows_changed"]
            out["delta"].append(delta)
            # a first export to a Mirakl slower than the wait (real platforms take minutes for such a file):
            # the lines recorded as pending, then the next run, once the import is done, applies its outcome
            common.run_phase(__file__, "reset", url)
            sim.hold_imports(True)
            try:
                out["pending"].append(common.run_phase(__file__, "run", url, sim.url, "nowait"))
            finally:
                sim.hold_imports(False)
            sim.wait_imports(600)
            out["settle"].append(common.run_phase(__file__, "run", url, sim.url))
            print(f"  repetition {i + 1}/{repeat}: floor {out['floor'][-1]['wall_s']:.2f} s, "
                  f"full {out['full'][-1]['wall_s']:.2f} s, floor+state {out['floor_state'][-1]['wall_s']:.2f} s, "
                  f"unchanged {out['unchanged'][-1]['wall_s']:.2f} s, resync {out['resync'][-1]['wall_s']:.2f} s, delta {delta['wall_s']:.2f} s, "
                  f"full left pending {out['pending'][-1]['wall_s']:.2f} s, then settled {out['settle'][-1]['wall_s']:.2f} s", flush=True)
    return out


def report(out: dict[str, list[dict[str, Any]]]) -> None:
    f0, f1 = out["floor"], out["floor_state"]
    print(f"floor (catalogue SELECT)        : {common.spread([r['wall_s'] for r in f0])} s for {f0[0]['rows']} rows, "
          f"peak RSS {max(r['peak_rss_mb'] for r in f0):.0f} MB")
    print(f"floor (catalogue + state SELECT): {common.spread([r['wall_s'] for r in f1])} s "
          f"({f1[0]['state_rows']} state rows)")
    print(f"reference: the catalogue SELECT with its numbers packed in one text by the server (the bridge's read, "
          f"not the floor): {common.spread([r['packed_s'] for r in f0])} s")
    for label, key, floors in (("full", "full", f0), ("unchanged", "unchanged", f1), ("resync", "resync", f1),
                               ("delta 1%", "delta", f1), ("pending", "pending", f0), ("settle", "settle", f1)):
        runs = out[key]
        walls = [r["wall_s"] for r in runs]
        ratios = [r["wall_s"] / f["wall_s"] for r, f in zip(runs, floors, strict=True)]
        n = runs[0]["counts"].get("catalogue", 0)
        mirakl = [r["mirakl_s"] for r in runs]
        cpu = [r["cpu_s"] for r in runs]
        own = [r["wall_s"] - r["mirakl_wait_s"] for r in runs]
        own_ratios = [o / f["wall_s"] for o, f in zip(own, floors, strict=True)]
        print(f"{label:<10}: {common.spread(walls)} s wall ({common.spread(cpu)} s CPU), {n / min(walls):,.0f} offers/s, peak RSS "
              f"{max(r['peak_rss_mb'] for r in runs):.0f} MB, {common.spread(ratios)}x floor "
              f"(per repetition {', '.join(f'{x:.2f}' for x in ratios)}; median {common.median(ratios):.2f}x), "
              f"Mirakl calls {common.spread(mirakl)} s, without them {common.spread([w - m for w, m in zip(walls, mirakl, strict=True)])} s; "
              f"own time (wall - waiting for Mirakl to process the file) {common.spread(own)} s, "
              f"{', '.join(f'{x:.2f}' for x in own_ratios)}x floor (median {common.median(own_ratios):.2f}x); "
              f"sent {runs[0]['counts'].get('sent', 0)}, accepted {runs[0]['counts'].get('accepted', 0)}, full_sync {runs[0]['full_sync']}, status {runs[0]['status']}, "
              f"{runs[0]['statements']} SQL statements")
    full = out["full"]
    vs_packed = [r["wall_s"] / f["packed_s"] for r, f in zip(full, f0, strict=True)]
    own_vs_packed = [(r["wall_s"] - r["mirakl_wait_s"]) / f["packed_s"] for r, f in zip(full, f0, strict=True)]
    print(f"full against the packed read instead of the floor: {', '.join(f'{x:.2f}' for x in vs_packed)}x "
          f"(median {common.median(vs_packed):.2f}x); own time {', '.join(f'{x:.2f}' for x in own_vs_packed)}x "
          f"(median {common.median(own_vs_packed):.2f}x)")
    print(f"(delta: {out['delta'][0]['rows_changed']} stock rows changed; pending: a first full export to a Mirakl "
          "still processing the file when the run ends (no OF02 wait), lines recorded as pending; settle: the next "
          "run once the import is done, which applies its outcome, then finds nothing to send)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--products", type=int, default=40_000)
    ap.add_argument("--combinations", type=float, default=5.0, help="combinations per product (0-16)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--server", default=None, help="server URL (default: bridge.testshop.dbserver's chain)")
    ap.add_argument("--keep", action="store_true", help="keep the database")
    ap.add_argument("--sync-imports", action="store_true",
                    help="the simulator checks each OF01 file inside the upload request (before: the default)")
    ap.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        common.phase_main(PHASES, args.phase)
        return
    with common.scratch_database(common.server_url(args.server), "mb_bench_offers", keep=args.keep) as url:
        common.print_machine(url)
        prep = common.run_phase(__file__, "prepare", url, str(args.products), str(args.combinations))
        print(f"catalogue: {prep['offers']} offers ({prep['products']} products), {prep['specific_prices']} specific "
              f"prices, {prep['priorities']} priority rows; generated in {prep['generate_s']:.1f} s")
        out = measure(url, args.repeat, sync_imports=args.sync_imports)
        report(out)
        common.print_machine(url)


if __name__ == "__main__":
    sys.exit(main())
