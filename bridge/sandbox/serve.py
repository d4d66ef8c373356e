"""Run the Mirakl simulator standalone (``python -m bridge.sandbox`` / ``mirakl-bridge sandbox mirakl``)."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.sandbox.http_util import to_json
from bridge.sandbox.mirakl_sim import MiraklSimulator
from bridge.sandbox.orders_gen import generate_orders

DEMO_SKUS = ("DEMO-MUG-350", "DEMO-TEAPOT-08", "DEMO-PLAID-GREY", "DEMO-COFFEE-1KG")


def load_orders(path: str | Path) -> list[dict[str, Any]]:
    """Orders from ``{"orders": [...]}`` (an OR11 page) or a bare list; amounts as Decimal."""
    data = json.loads(Path(path).read_text(encoding="utf-8"), parse_float=Decimal)
    orders = data.get("orders") if isinstance(data, dict) else data
    if not isinstance(orders, list) or not all(isinstance(o, dict) for o in orders):
        raise ValueError(f'{path}: expected {{"orders": [...]}} or a list of order objects')
    return orders


def dump_orders(orders: list[dict[str, Any]], path: str | Path) -> None:
    """Write orders as ``{"orders": [...]}`` with amounts as JSON numbers (for ``--orders``)."""
    Path(path).write_bytes(to_json({"orders": orders, "total_count": len(orders)}))


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8099,
    api_key: str = "sim-key",
    orders_file: str | Path | None = None,
    stop_event: threading.Event | None = None,
    demo_orders: int = 0,
    async_imports: bool = False,
) -> None:
    """Serve until ``stop_event`` is set (or Ctrl-C). Prints one line with the URL and the key.

    ``async_imports``: OF01/STO01 answer at once and the files are processed in the background
    (OF02/STO02 say WAITING/RUNNING meanwhile), as on a real Mirakl platform.
    """
    stop = stop_event or threading.Event()
    sim = MiraklSimulator(api_key=api_key, host=host, port=port, async_imports=async_imports)
    if orders_file is not None:
        sim.add_orders(load_orders(orders_file))
    if demo_orders:
        sim.add_orders(generate_orders(demo_orders, DEMO_SKUS, seed=1))
    with sim:
        print(f"Mirakl simulator listening on {sim.url} (api key: {api_key})", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
