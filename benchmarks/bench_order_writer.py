"""Throughput of OrderWriter.prepare + write: two-line orders, one transaction each, one process.

    PYTHONPATH=. python benchmarks/bench_order_writer.py [orders] [database-server-url]

Creates a throw-away database with the seeded test shop (MariaDB on 127.0.0.1 by default), imports
``orders`` two-line orders and prints orders/s. Target: >= 100 orders/s on 2 cores.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid

import structlog

from bridge.shop.db import make_engine
from bridge.shop.order_writer import OrderWriter
from bridge.shop.shop import Shop
from bridge.state.tables import bridge_tables
from bridge.testshop import dbserver
from bridge.testshop.seed import build_test_shop
from tests.order_samples import NOW, line, order, platform


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    server = sys.argv[2] if len(sys.argv) > 2 else "mysql+pymysql://root@127.0.0.1:3306/"
    name = f"mb_bench_{uuid.uuid4().hex[:8]}"
    url = dbserver.create_database(server, name)
    engine = make_engine(url)
    try:
        build_test_shop(engine, prefix="ps_")
        bridge_tables("ps_").metadata.create_all(engine)
        shop = Shop.from_engine(engine, "ps_", 1)
        writer, plat = OrderWriter(shop), platform()
        orders = [order(f"BENCH{i}-A", line("TSHIRT-M-RED", 1, "26.40", shipping="4.90"), line("MUG", 2, "9.90"),
                        customer_id=f"BC{i % 50}") for i in range(count)]
        started, cpu = time.perf_counter(), time.process_time()
        for mo in orders:
            with engine.begin() as conn:
                writer.write(conn, writer.prepare(conn, mo, plat), flag_out_of_stock=True, now=NOW)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(f"{count} orders in {elapsed:.2f} s: {count / elapsed:.0f} orders/s "
              f"({cpu / count * 1000:.1f} ms of bridge CPU per order)")
    finally:
        engine.dispose()
        dbserver.drop_database(server, name)


if __name__ == "__main__":
    main()
