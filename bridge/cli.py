"""Command line: ``mirakl-bridge [--config FILE] COMMAND ...`` (also ``python -m bridge``).

Exit codes: 0 success (a task report ok/partial/skipped), 1 failure (report failed, check failed),
2 usage or configuration error (argparse's own usage errors included). No traceback for user errors.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from bridge import __version__
from bridge.config import TASKS, Config, load_config, resolve_config_path
from bridge.errors import BridgeError, ConfigError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mirakl-bridge",
        description="PrestaShop database <-> Mirakl marketplaces: offers, acceptance, order import, shipping.",
    )
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--config", metavar="FILE", help="config file (default: $BRIDGE_CONFIG, else ./config.toml)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    c = sub.add_parser("check", help="validate the config, the shop database and each platform's API key")
    c.add_argument("--json", action="store_true", help="machine-readable output")
    c.add_argument("--offline", action="store_true", help="do not call the Mirakl API")

    sub.add_parser("migrate", help="create or upgrade the bridge's own tables")

    r = sub.add_parser("run-task", help="run one task once and print its JSON report")
    r.add_argument("task", choices=TASKS)
    r.add_argument("--platform", required=True, metavar="CODE")
    r.add_argument("--dry-run", action="store_true", help="compute and report, change nothing")
    r.add_argument("--force", action="store_true", help="run even if the last run was too recent")

    sub.add_parser("run", help="the daemon: run every task on its schedule")

    t = sub.add_parser("tasks", help="schedules, next and last runs of every task")
    t.add_argument("--json", action="store_true")

    sub.add_parser("crontab", help="print crontab lines calling run-task (for system cron users)")

    o = sub.add_parser("orders", help="support tools for orders")
    osub = o.add_subparsers(dest="orders_command", required=True, metavar="ACTION")
    op = osub.add_parser("pending", help="orders waiting for acceptance and what the next run would decide")
    op.add_argument("--platform", required=True, metavar="CODE")
    op.add_argument("--json", action="store_true")
    os_ = osub.add_parser("show", help="one order: Mirakl side, PrestaShop side, attempts")
    os_.add_argument("mirakl_id")
    os_.add_argument("--platform", required=True, metavar="CODE")
    os_.add_argument("--json", action="store_true")
    orr = osub.add_parser("retry", help="retry a held order at the next import run")
    orr.add_argument("mirakl_id")
    orr.add_argument("--platform", required=True, metavar="CODE")

    s = sub.add_parser("sandbox", help="local test doubles")
    ssub = s.add_subparsers(dest="sandbox_command", required=True, metavar="WHAT")
    sm = ssub.add_parser("mirakl", help="run the Mirakl simulator on loopback")
    sm.add_argument("--port", type=int, default=8099)
    sm.add_argument("--host", default="127.0.0.1")
    sm.add_argument("--orders", metavar="FILE.json", help="orders to serve (OR11 shape)")
    sm.add_argument("--api-key", default="sim-key")
    sm.add_argument("--async-imports", action="store_true",
                    help="process OF01/STO01 files after answering the upload, as Mirakl does")

    d = sub.add_parser("demo", help="run offers -> accept -> import -> ship on an embedded demo shop")
    d.add_argument("--keep", metavar="DIR", help="keep the demo database and a matching config.toml here")
    d.add_argument("--database-url", help="run the demo on this MariaDB/MySQL database instead of SQLite")
    d.add_argument("--json", action="store_true", help="print only the JSON reports")
    return p


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help/--version exit 0
        return int(exc.code or 0)
    try:
        return _dispatch(args, out, err)
    except ConfigError as exc:
        for line in exc.errors:
            print(f"config error: {line}", file=err)
        return EXIT_USAGE
    except BridgeError as exc:
        from bridge.logging import scrub

        print(f"error: {scrub(str(exc))}", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def _load(args: argparse.Namespace, err: TextIO) -> Config:
    path = resolve_config_path(args.config, os.environ)
    cfg = load_config(path)
    for w in cfg.warnings:
        print(f"config warning: {w}", file=err)
    from bridge.logging import configure_logging

    # logs go to stderr for commands whose stdout is a report; the daemon logs to stdout
    stream = out_stream_for(args, err)
    configure_logging(cfg.logging.format, cfg.logging.level, stream=stream)
    return cfg


def out_stream_for(args: argparse.Namespace, err: TextIO) -> TextIO:
    return sys.stdout if args.command == "run" else err


def _dispatch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    cmd = args.command
    if cmd == "sandbox":
        from bridge.sandbox.serve import serve

        serve(host=args.host, port=args.port, api_key=args.api_key, orders_file=args.orders,
              async_imports=args.async_imports)
        return EXIT_OK
    if cmd == "demo":
        from bridge.demo import run_demo

        return run_demo(keep=args.keep, database_url=args.database_url, json_only=args.json, out=out, err=err)

    cfg = _load(args, err)
    from bridge.wiring import App

    app = App(cfg)
    try:
        return _dispatch_app(args, app, cfg, out, err)
    finally:
        app.close()


def _dispatch_app(args: argparse.Namespace, app: Any, cfg: Config, out: TextIO, err: TextIO) -> int:
    cmd = args.command
    if cmd == "check":
        from bridge.check import run_check

        return run_check(app, as_json=args.json, offline=args.offline, out=out)
    if cmd == "migrate":
        from bridge.migrate import upgrade

        before, after = upgrade(app.engine, app.prefix)
        print(f"bridge tables: {before or 'none'} -> {after}" if before != after else f"bridge tables: up to date ({after})",
              file=out)
        return EXIT_OK
    if cmd == "run-task":
        from bridge.jobs.progress import Progress
        from bridge.jobs.runner import run_task

        cfg.platform(args.platform)  # ConfigError (exit 2) for an unknown code
        report = run_task(app, args.task, args.platform, dry_run=args.dry_run, force=args.force,
                          trigger="manual", progress=Progress(err))
        print(report.to_json(), file=out)
        return EXIT_FAILED if report.status == "failed" else EXIT_OK
    if cmd == "run":
        from bridge.daemon import run_daemon

        return int(run_daemon(app))
    if cmd == "tasks":
        from bridge.schedule import cmd_tasks

        return int(cmd_tasks(app, args.json, out))
    if cmd == "crontab":
        from bridge.schedule import cmd_crontab

        return int(cmd_crontab(cfg, cfg.source_path, out))
    if cmd == "orders":
        return _orders(args, app, cfg, out)
    raise AssertionError(f"unhandled command {cmd}")


def _orders(args: argparse.Namespace, app: Any, cfg: Config, out: TextIO) -> int:
    cfg.platform(args.platform)
    if args.orders_command == "pending":
        from bridge.support.pending import cmd_orders_pending

        return int(cmd_orders_pending(app, args.platform, args.json, out))
    if args.orders_command == "show":
        from bridge.support.orders import cmd_orders_show

        return int(cmd_orders_show(app, args.platform, args.mirakl_id, args.json, out))
    from bridge.support.orders import cmd_orders_retry

    return int(cmd_orders_retry(app, args.platform, args.mirakl_id, out))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
