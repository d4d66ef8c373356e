"""``python -m bridge.sandbox --port 8099 [--orders FILE.json] [--api-key KEY] [--async-imports]``."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from bridge.sandbox.serve import serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bridge.sandbox", description="Run the Mirakl simulator.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8099, help="TCP port (default 8099; 0 = any free port)")
    parser.add_argument("--api-key", default="sim-key", help="API key expected in Authorization")
    parser.add_argument("--orders", default=None, help='JSON file: {"orders": [...]} or a list of orders')
    parser.add_argument("--demo-orders", type=int, default=0, help="also generate N demo orders")
    parser.add_argument(
        "--async-imports",
        action="store_true",
        help="answer OF01/STO01 at once and process the files in the background (WAITING/RUNNING)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    serve(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        orders_file=args.orders,
        stop_event=stop,
        demo_orders=args.demo_orders,
        async_imports=args.async_imports,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
