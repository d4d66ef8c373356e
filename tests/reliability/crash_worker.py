"""Run one task in its own process and optionally SIGKILL it at a chosen database event.

    python tests/reliability/crash_worker.py TASK CONFIG.json [--kill-after-commit N [--then M]]
                                             [--direct] [--wait-go]

TASK is ``accept`` or ``import``; CONFIG.json a config dict (secrets from the environment). The import
run is delegated to ``tests/e2e/import_worker.py`` (the import tests' own worker), and the bridge's
fault points still work (``BRIDGE_FAULT_POINT=accept.after_or21``, ``import.after_write:N``,
``import.before_commit:N``).

``--kill-after-commit N --then M`` adds random kill points without touching the bridge: an SQLAlchemy
event listener counts the process's COMMITs and, M statements after the N-th one (M = 0: right
before the next statement), sends SIGKILL to the process itself. A point past the end of the run is
never reached: the process then exits normally, and the test sees it.

``--direct`` calls the task function without the runner's named locks (what a bridge whose lock
connection was cut does); ``--wait-go`` prints ``ready`` and waits for ``go`` on stdin, so that
several workers start at the same moment (as in ``import_worker.py``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import event
from sqlalchemy.engine import Engine


class KillPoint:
    def __init__(self, commits: int, then: int) -> None:
        self.commits, self.then = commits, then
        self.seen_commits, self.after = 0, -1

    def on_commit(self, _conn: Any) -> None:
        self.seen_commits += 1
        if self.seen_commits == self.commits:
            self.after = 0

    def on_statement(self, *_args: Any) -> None:
        if self.after < 0:
            return
        if self.after >= self.then:
            os.kill(os.getpid(), signal.SIGKILL)
        self.after += 1


def main(argv: list[str]) -> int:
    task, config = argv[0], argv[1]
    if "--kill-after-commit" in argv:
        n = int(argv[argv.index("--kill-after-commit") + 1])
        m = int(argv[argv.index("--then") + 1]) if "--then" in argv else 0
        point = KillPoint(n, m)
        event.listen(Engine, "commit", point.on_commit)
        event.listen(Engine, "before_cursor_execute", point.on_statement)
    if task == "import":
        from tests.e2e import import_worker

        return import_worker.main([config, *(a for a in argv[2:] if a in ("--direct", "--wait-go"))])
    import threading
    import uuid

    from bridge.config import config_from_dict
    from bridge.jobs.context import TaskContext
    from bridge.jobs.report import TaskReport
    from bridge.jobs.runner import run_task, task_function
    from bridge.wiring import App

    cfg = config_from_dict(json.loads(Path(config).read_text(encoding="utf-8")), os.environ)
    app = App(cfg)
    code = cfg.platforms[0].code
    app.shop  # reflect before the start signal  # noqa: B018
    if "--wait-go" in argv:
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return 3
    if "--direct" in argv:
        report = TaskReport(task=task, platform=code, run_id=uuid.uuid4().hex[:16], started_at=app.clock())
        ctx = TaskContext(app=app, platform=cfg.platform(code), mirakl=app.mirakl(code), report=report,
                          run_id=report.run_id, dry_run=False, clock=app.clock, stop=threading.Event())
        task_function(task)(ctx)
        report.finish(app.clock())
    else:
        report = run_task(app, task, code, force=True)
    print(report.to_json(indent=None), flush=True)
    app.close()
    return 0 if report.status in ("ok", "partial") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
