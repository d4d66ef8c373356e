"""The HTTP endpoint against the test shop (MariaDB) and the Mirakl simulator: token, trigger URLs,
health with a controlled clock, Prometheus metrics."""

from __future__ import annotations

import time

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests
from structlog.testing import capture_logs

from bridge import httpd
from bridge.httpd import BridgeHTTPServer, make_server
from bridge.jobs import runner
from bridge.sandbox import MiraklSimulator
from bridge.wiring import App
from daemon_support import CODE, SIM_KEY, TOKEN, make_app, task_runs

pytestmark = pytest.mark.db

ONLY_ACCEPT = {"offers": "", "accept": "0 * * * *", "import": "", "ship": ""}


@pytest.fixture(autouse=True)
def _token_in_environment(monkeypatch) -> None:
    # Config.http_token() reads the variable named by http.token_env from the process environment
    monkeypatch.setenv("BRIDGE_HTTP_TOKEN", TOKEN)


@pytest.fixture
def sim() -> Iterator[MiraklSimulator]:
    with MiraklSimulator(api_key=SIM_KEY, debit_after_polls=1000) as s:
        yield s


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def serve(app: App) -> tuple[BridgeHTTPServer, str]:
    server = make_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.port}"


@pytest.fixture
def endpoint(shop, sim) -> Iterator[tuple[App, str]]:
    app = make_app(shop, sim.url, http={"enabled": True})
    server, url = serve(app)
    try:
        yield app, url
    finally:
        server.shutdown()
        server.server_close()
        app.close()


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class TestToken:
    def test_a_trigger_url_without_the_token_is_refused_and_runs_nothing(self, endpoint, shop, sim) -> None:
        _app, url = endpoint
        order = sim.add_order(skus=["MUG"], quantities=[1])
        for kwargs in ({}, {"headers": bearer("wrong-token")}, {"params": {"token": "wrong"}},
                       {"headers": {"X-Bridge-Token": ""}}):
            res = requests.get(f"{url}/tasks/accept", params={"platform": CODE, **kwargs.pop("params", {})},
                               timeout=30, **kwargs)
            assert res.status_code == 401
            assert "unauthorized" in res.json()["error"]
            assert res.headers["WWW-Authenticate"].startswith("Bearer")
        assert task_runs(shop.engine, shop.prefix) == []
        assert sim.requests_to("OR11") == [] and sim.decisions.get(order["order_id"]) is None

    def test_with_the_token_the_task_runs_and_answers_its_json_report(self, endpoint, shop, sim) -> None:
        _app, url = endpoint
        order = sim.add_order(skus=["MUG"], quantities=[1])
        res = requests.post(f"{url}/tasks/accept", params={"platform": CODE}, headers=bearer(), timeout=60)
        assert res.status_code == 200, res.text
        report = res.json()
        assert (report["task"], report["platform"], report["status"]) == ("accept", CODE, "ok")
        assert report["counts"]["accepted"] == 1
        assert [d["order_lines"][0]["accepted"] for d in sim.decisions[order["order_id"]]] == [True]
        runs = task_runs(shop.engine, shop.prefix)
        assert [(r["task"], r["trigger"], r["status"]) for r in runs] == [("accept", "http", "ok")]
        assert runs[0]["report"]["run_id"] == report["run_id"]

    def test_the_token_is_also_accepted_in_x_bridge_token_and_in_the_query(self, endpoint) -> None:
        _app, url = endpoint
        a = requests.get(f"{url}/tasks/accept", params={"platform": CODE}, headers={"X-Bridge-Token": TOKEN},
                         timeout=60)
        b = requests.get(f"{url}/tasks/accept", params={"platform": CODE, "token": TOKEN}, timeout=60)
        assert (a.status_code, b.status_code) == (200, 200)
        assert a.json()["status"] == b.json()["status"] == "ok"

    def test_the_comparison_is_constant_time(self, endpoint, monkeypatch) -> None:
        _app, url = endpoint
        seen: list[tuple[bytes, bytes]] = []
        real = httpd.hmac.compare_digest

        def spy(a: bytes, b: bytes) -> bool:
            seen.append((a, b))
            return real(a, b)

        monkeypatch.setattr(httpd.hmac, "compare_digest", spy)
        requests.get(f"{url}/tasks/accept", params={"platform": CODE}, headers=bearer("guess"), timeout=30)
        assert seen == [(b"guess", TOKEN.encode())]

    def test_the_token_and_the_query_string_are_never_logged(self, endpoint) -> None:
        _app, url = endpoint
        with capture_logs() as logs:
            requests.get(f"{url}/tasks/accept", params={"platform": CODE, "token": TOKEN}, timeout=60)
            requests.get(f"{url}/tasks/accept", params={"platform": CODE, "token": "not-the-token"}, timeout=60)
            # the server writes its line after the answer is sent: wait (bounded) for both lines
            deadline = time.monotonic() + 10
            while sum(e["event"] == "http.request" for e in logs) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
        http_lines = [e for e in logs if e["event"] == "http.request"]
        # each line is written once its answer is sent: compare without order
        assert sorted((e["path"], e["status"]) for e in http_lines) == [("/tasks/accept", 200), ("/tasks/accept", 401)]
        assert TOKEN not in repr(logs) and "not-the-token" not in repr(logs) and "platform=" not in repr(logs)


class TestTriggerUrls:
    def test_unknown_task_or_platform_is_404(self, endpoint) -> None:
        _app, url = endpoint
        a = requests.get(f"{url}/tasks/stock", params={"platform": CODE}, headers=bearer(), timeout=30)
        b = requests.get(f"{url}/tasks/accept", params={"platform": "nope"}, headers=bearer(), timeout=30)
        assert (a.status_code, b.status_code) == (404, 404)
        assert b.json()["platforms"] == [CODE]

    def test_with_one_platform_the_platform_parameter_may_be_left_out(self, endpoint) -> None:
        _app, url = endpoint
        res = requests.get(f"{url}/tasks/accept", headers=bearer(), timeout=60)
        assert res.status_code == 200 and res.json()["platform"] == CODE

    def test_a_run_too_soon_after_the_last_is_skipped_unless_forced(self, shop, sim) -> None:
        app = make_app(shop, sim.url, http={"enabled": True}, daemon={"min_manual_interval_s": 3600})
        server, url = serve(app)
        try:
            first = requests.get(f"{url}/tasks/accept", headers=bearer(), timeout=60).json()
            second = requests.get(f"{url}/tasks/accept", headers=bearer(), timeout=60).json()
            forced = requests.get(f"{url}/tasks/accept", params={"force": "1"}, headers=bearer(), timeout=60).json()
        finally:
            server.shutdown()
            server.server_close()
            app.close()
        assert first["status"] == "ok"
        assert second["status"] == "skipped" and "too soon" in second["reason"] and "force=1" in second["reason"]
        assert forced["status"] == "ok"
        assert [r["status"] for r in task_runs(shop.engine, shop.prefix)] == ["ok", "ok"]

    def test_a_task_whose_module_is_missing_is_a_recorded_failed_run_with_the_reason(
        self, endpoint, shop, monkeypatch
    ) -> None:
        _app, url = endpoint
        monkeypatch.setitem(runner.TASK_MODULES, "ship", "bridge.jobs.not_installed_here")
        res = requests.get(f"{url}/tasks/ship", headers=bearer(), timeout=30)
        assert res.status_code == 500
        report = res.json()
        assert report["status"] == "failed"
        assert "task 'ship' is not available" in report["reason"]
        assert "bridge.jobs.not_installed_here" in report["reason"]
        runs = task_runs(shop.engine, shop.prefix)
        assert [(r["task"], r["status"], r["trigger"]) for r in runs] == [("ship", "failed", "http")]
        # the endpoint still serves the other tasks
        assert requests.get(f"{url}/tasks/accept", headers=bearer(), timeout=60).json()["status"] == "ok"


class TestHealth:
    def start(self, shop, sim, clock: Clock) -> tuple[App, BridgeHTTPServer, str]:
        app = make_app(shop, sim.url, clock=clock, http={"enabled": True}, schedule=ONLY_ACCEPT,
                       alerts={"accept_after_min": 180})
        server, url = serve(app)
        return app, server, url

    def record_success(self, app: App, at: datetime) -> None:
        row = app.state.start_run(platform=CODE, task="accept", run_id="r1", trigger="schedule", started_at=at)
        app.state.finish_run(row, finished_at=at + timedelta(seconds=3), status="ok", duration_s=3.0,
                             report={"status": "ok"}, error=None)

    def test_health_is_503_once_a_task_is_overdue_for_longer_than_its_alert_threshold(self, shop, sim) -> None:
        # last success 10:05 UTC; hourly accept is next due 11:00; threshold 180 min -> stale after 14:00
        clock = Clock(datetime(2026, 3, 2, 10, 5, tzinfo=timezone.utc))
        app, server, url = self.start(shop, sim, clock)
        try:
            self.record_success(app, datetime(2026, 3, 2, 10, 5, tzinfo=timezone.utc))
            clock.now = datetime(2026, 3, 2, 13, 59, tzinfo=timezone.utc)
            fresh = requests.get(f"{url}/health", timeout=30)
            clock.now = datetime(2026, 3, 2, 14, 1, tzinfo=timezone.utc)
            stale = requests.get(f"{url}/health", timeout=30)
        finally:
            server.shutdown()
            server.server_close()
            app.close()
        assert fresh.status_code == 200 and fresh.json()["status"] == "ok"
        assert stale.status_code == 503
        body = stale.json()
        assert body["status"] == "stale" and body["stale"] == [f"{CODE}/accept"]
        accept = next(t for t in body["tasks"] if t["task"] == "accept")
        assert accept["last_success"] == "2026-03-02T11:05:00+01:00"  # shown in daemon.timezone (Paris)
        assert accept["next_run"] == "2026-03-02T16:00:00+01:00"  # now 14:01 UTC = 15:01 Paris
        assert accept["due_since"] == "2026-03-02T12:00:00+01:00"
        offers = next(t for t in body["tasks"] if t["task"] == "offers")
        assert offers["enabled"] is False and offers["stale"] is False

    def test_a_task_that_never_succeeded_is_counted_from_the_daemon_start(self, shop, sim) -> None:
        clock = Clock(datetime(2026, 3, 2, 10, 5, tzinfo=timezone.utc))  # started: next due 11:00 UTC
        app, server, url = self.start(shop, sim, clock)
        try:
            clock.now = datetime(2026, 3, 2, 13, 30, tzinfo=timezone.utc)
            fresh = requests.get(f"{url}/health", timeout=30).status_code
            clock.now = datetime(2026, 3, 2, 14, 30, tzinfo=timezone.utc)
            stale = requests.get(f"{url}/health", timeout=30).status_code
        finally:
            server.shutdown()
            server.server_close()
            app.close()
        assert (fresh, stale) == (200, 503)

    def test_health_needs_no_token(self, endpoint) -> None:
        _app, url = endpoint
        assert requests.get(f"{url}/health", timeout=30).status_code in (200, 503)


class TestMetrics:
    def test_metrics_need_the_token_and_expose_every_family(self, endpoint, sim) -> None:
        _app, url = endpoint
        sim.add_order(skus=["MUG"], quantities=[1])
        requests.get(f"{url}/tasks/accept", headers=bearer(), timeout=60)
        assert requests.get(f"{url}/metrics", timeout=30).status_code == 401
        res = requests.get(f"{url}/metrics", headers=bearer(), timeout=30)
        assert res.status_code == 200 and res.headers["Content-Type"].startswith("text/plain")
        text = res.text
        assert 'mirakl_bridge_task_runs_total{platform="mkp",status="ok",task="accept"} 1.0' in text
        assert 'mirakl_bridge_orders_total{outcome="accepted",platform="mkp"} 1.0' in text
        assert 'mirakl_bridge_task_duration_seconds_count{platform="mkp",task="accept"} 1.0' in text
        assert 'mirakl_bridge_task_last_success_timestamp_seconds{platform="mkp",task="accept"}' in text
        assert 'mirakl_bridge_mirakl_requests_total{endpoint="OR11",platform="mkp",status="200"}' in text
        assert 'mirakl_bridge_mirakl_requests_total{endpoint="OR21",platform="mkp",status="204"} 1.0' in text \
            or 'mirakl_bridge_mirakl_requests_total{endpoint="OR21",platform="mkp",status="200"} 1.0' in text
        for family in ("mirakl_bridge_offers_total", "mirakl_bridge_task_missed_total",
                       "mirakl_bridge_mirakl_request_duration_seconds"):
            assert f"# TYPE {family}" in text
