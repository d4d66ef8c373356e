"""Optional HTTP endpoint of the daemon (``[http] enabled = true``), stdlib only.

- ``GET /health``                      JSON per task; 200, or 503 when a task is stale (see bridge.health).
- ``GET /metrics``                     Prometheus text format. Token required.
- ``GET /tasks``                       the task table as JSON (as ``mirakl-bridge tasks --json``). Token required.
- ``GET|POST /tasks/<task>?platform=CODE[&force=1][&dry_run=1]``
                                       runs the task now and answers its JSON report (the original module's
                                       cron URLs). 200 for ok/partial/skipped, 500 for failed, 503 while stopping.
                                       ``platform`` may be left out when only one platform is configured.

The token goes in ``Authorization: Bearer <token>``, ``X-Bridge-Token: <token>`` or the ``token`` query
parameter; it is compared in constant time, and a missing or wrong token is a 401. Nothing is logged
but the method, the path (never the query string), the status and the duration.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import structlog

from bridge.config import TASKS
from bridge.health import health_report
from bridge.inflight import Closed, RunTracker, record_outcome, run_guarded
from bridge.jobs import runner
from bridge.jobs.report import json_default
from bridge.metrics import CONTENT_TYPE, Metrics
from bridge.schedule import task_table
from bridge.wiring import App

log = structlog.get_logger(__name__)

MAX_BODY = 64 * 1024
TRUE = frozenset({"1", "true", "yes", "on"})


class BridgeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App, *, metrics: Metrics, tracker: RunTracker,
                 stop: threading.Event, started_at: datetime) -> None:
        self.app = app
        self.metrics = metrics
        self.tracker = tracker
        self.stop = stop
        self.started_at = started_at
        self.token = app.config.http_token()
        super().__init__(address, Handler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def make_server(app: App, host: str, port: int, *, metrics: Metrics | None = None,
                tracker: RunTracker | None = None, stop: threading.Event | None = None) -> BridgeHTTPServer:
    """A bound server (port 0 = any free port); call ``serve_forever()`` in a thread."""
    if metrics is None:
        metrics = Metrics()
        metrics.attach(app)
    return BridgeHTTPServer((host, port), app, metrics=metrics, tracker=tracker or RunTracker(),
                            stop=stop or threading.Event(), started_at=app.clock())


def token_matches(supplied: str, expected: str) -> bool:
    """Constant-time comparison; an empty expected token never matches (the endpoint stays closed)."""
    ok = hmac.compare_digest(supplied.encode("utf-8"), expected.encode("utf-8"))
    return ok and bool(expected)


class Handler(BaseHTTPRequestHandler):
    server: BridgeHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "mirakl-bridge"
    sys_version = ""
    timeout = 30

    # the stdlib logs the request line, which holds the query string (and maybe the token): never
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.warning("http.bad_request", client=self.client_address[0])

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._serve()

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(413, {"error": "request body too large"})
            return
        if length > 0:
            self.rfile.read(length)
        self._serve()

    # --- routing -----------------------------------------------------------------------------------

    def _serve(self) -> None:
        started = time.monotonic()
        parts = urlsplit(self.path)
        self._path = parts.path.rstrip("/") or "/"
        self._status = 0
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            self._route(self._path, query)
        except Exception:  # noqa: BLE001 - one bad request must not take the endpoint down
            log.exception("http.error", path=self._path)
            if not self._status:
                self._json(500, {"error": "internal error"})
        finally:
            log.info("http.request", method=self.command, path=self._path, status=self._status,
                     duration_ms=round((time.monotonic() - started) * 1000, 1), client=self.client_address[0])

    def _route(self, path: str, query: dict[str, str]) -> None:
        if path == "/health" and self.command == "GET":
            healthy, body = health_report(self.server.app, self.server.app.clock(), self.server.started_at)
            if self.server.stop.is_set():
                healthy, body["status"] = False, "stopping"
            self._json(200 if healthy else 503, body)
            return
        if path not in ("/metrics", "/tasks") and not path.startswith("/tasks/"):
            self._json(404, {"error": "not found", "paths": ["/health", "/metrics", "/tasks", "/tasks/<task>"]})
            return
        if not self._authorised(query):
            self._json(401, {"error": "unauthorized: send the token as 'Authorization: Bearer <token>', "
                                      "'X-Bridge-Token: <token>' or ?token=<token>"},
                       extra={"WWW-Authenticate": 'Bearer realm="mirakl-bridge"'})
            return
        if path == "/metrics" and self.command == "GET":
            self._send(200, self.server.metrics.render(), CONTENT_TYPE)
        elif path == "/tasks" and self.command == "GET":
            self._json(200, task_table(self.server.app, self.server.app.clock()))
        elif path.startswith("/tasks/"):
            self._run_task(path.removeprefix("/tasks/"), query)
        else:
            self._json(405, {"error": "method not allowed"})

    def _authorised(self, query: dict[str, str]) -> bool:
        auth = self.headers.get("Authorization", "")
        supplied = (
            auth[7:].strip() if auth[:7].lower() == "bearer " else
            self.headers.get("X-Bridge-Token", "") or query.get("token", "")
        )
        return token_matches(supplied, self.server.token)

    def _run_task(self, task: str, query: dict[str, str]) -> None:
        app = self.server.app
        codes = app.config.codes
        code = query.get("platform") or (codes[0] if len(codes) == 1 else "")
        if task not in TASKS:
            self._json(404, {"error": f"unknown task {task!r}", "tasks": list(TASKS)})
            return
        if code not in codes:
            self._json(404, {"error": f"unknown platform {code!r}" if code else "platform=CODE is required",
                             "platforms": codes})
            return
        force, dry_run = query.get("force", "") in TRUE, query.get("dry_run", "") in TRUE
        try:
            with self.server.tracker.track(task, code, "http"):
                if self.server.stop.is_set():
                    raise Closed()
                report = self._run(app, task, code, force=force, dry_run=dry_run)
                self._json(500 if report.status == "failed" else 200, report.to_dict())
        except Closed:
            self._json(503, {"error": "the daemon is stopping; no new run starts"})

    def _run(self, app: App, task: str, code: str, *, force: bool, dry_run: bool) -> Any:
        if not force and not dry_run:
            too_soon = runner.too_soon(app, task, code, app.clock())  # same rule as run-task
            if too_soon:
                return record_outcome(app, task, code, "skipped", too_soon.replace("--force", "force=1"),
                                      trigger="http", record=False)
        return run_guarded(app, task, code, trigger="http", force=force, dry_run=dry_run, stop=self.server.stop)

    # --- answers -----------------------------------------------------------------------------------

    def _json(self, status: int, body: Any, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(body, indent=2, ensure_ascii=False, default=json_default).encode("utf-8") + b"\n"
        self._send(status, data, "application/json; charset=utf-8", extra)

    def _send(self, status: int, data: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self._status = status
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
