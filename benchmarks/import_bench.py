"""Benchmark of the ``import`` task: K two-line orders in SHIPPING become PrestaShop orders, one run.

    PYTHONPATH=. python benchmarks/import_bench.py [--orders 1000] [--products 2000] [--repeat 3]
        [--server mysql+pymysql://root@127.0.0.1:3306/] [--keep]

Each repetition uses a fresh database and simulator (see ``orders_common``): every order is a new
customer with two addresses, one transaction per order (claim, PrestaShop rows, stock, mark
imported). Prints orders/s with and without the time spent in Mirakl calls (OR11 pages), peak RSS,
SQL statements and round trips per order, at the database's default durability.
"""

from __future__ import annotations

try:
    from benchmarks import orders_common
except ImportError:  # run as a script
    import orders_common  # type: ignore[no-redef]

if __name__ == "__main__":
    orders_common.main("import", "SHIPPING", __doc__, __file__, "imported")
