"""Benchmark of the ``accept`` task: K two-line orders waiting for acceptance, one run.

    PYTHONPATH=. python benchmarks/accept_bench.py [--orders 1000] [--products 2000] [--repeat 3]
        [--server mysql+pymysql://root@127.0.0.1:3306/] [--keep]

Each repetition uses a fresh database and simulator (see ``orders_common``). Prints orders/s with and
without the time spent in Mirakl calls (OR11 pages, one OR21 per order), peak RSS, SQL statements and
round trips per order. The database keeps its default durability (one commit = one log flush).
"""

from __future__ import annotations

try:
    from benchmarks import orders_common
except ImportError:  # run as a script
    import orders_common  # type: ignore[no-redef]

if __name__ == "__main__":
    orders_common.main("accept", "WAITING_ACCEPTANCE", __doc__, __file__, "accepted")
