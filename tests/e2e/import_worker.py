"""Run the import task in its own process (crash and concurrency tests).

    python tests/e2e/import_worker.py CONFIG.json [--direct] [--wait-go]

CONFIG.json is a config dict (``bridge.config.config_from_dict``); secrets come from the environment.
``--direct`` builds the TaskContext itself and calls ``bridge.jobs.import_orders.run``, bypassing
the runner's named locks, so that only the database claim keeps two processes apart.
``--wait-go`` prints ``ready`` once the app is built and waits for a ``go`` line on stdin, so that
two workers start importing at the same moment. The report is printed as one JSON line at the end.

The crash test kills this process with SIGKILL; ``BRIDGE_FAULT_POINT`` (see
``bridge.jobs.import_orders``) makes it kill itself at a chosen point.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bridge.config import config_from_dict
from bridge.jobs import import_orders
from bridge.jobs.context import TaskContext
from bridge.jobs.report import TaskReport
from bridge.jobs.runner import run_task
from bridge.logging import configure_logging
from bridge.wiring import App


def main(argv: list[str]) -> int:
    configure_logging("json", "info", stream=sys.stderr)  # stdout carries only ready + the report
    raw = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    cfg = config_from_dict(raw, os.environ)
    code = cfg.platforms[0].code
    app = App(cfg)
    app.shop  # reflect before the start signal  # noqa: B018
    if "--wait-go" in argv:
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return 3
    if "--direct" in argv:
        report = TaskReport(
            task="import", platform=code, run_id=uuid.uuid4().hex[:16], started_at=app.clock()
        )
        ctx = TaskContext(
            app=app,
            platform=cfg.platform(code),
            mirakl=app.mirakl(code),
            report=report,
            run_id=report.run_id,
            dry_run=False,
            clock=app.clock,
            stop=threading.Event(),
        )
        import_orders.run(ctx)
        report.finish(app.clock())
    else:
        report = run_task(app, "import", code, force=True)
    print(report.to_json(indent=None), flush=True)
    app.close()
    return 0 if report.status in ("ok", "partial") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
